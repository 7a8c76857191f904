"""Concurrency (trust suite): clerks racing on one record, one payer, one day's numbers.

Every race runs on the suite's database (a SQLite file in WAL mode, or PostgreSQL) with threads in
this process, each with its own test client, and separate OS processes that build their own app on
the same database; all of them start the contested step at one barrier. Checked: exactly one edit of
a version wins and the rest are refused with the stale-version message; parallel payments never
settle a charge twice and every yuan is accounted for; human-facing numbers never repeat and have no
gaps among committed rows.
"""
from __future__ import annotations

import json
import multiprocessing
import re
import threading
import traceback
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app import ledger
from app.extensions import db
from app.numbering import next_number
from schema.property import Unit

from .conftest import Browser
from .security_figures import record, scaled

pytestmark = pytest.mark.security

THREADS = min(scaled(3), 12)
PROCESSES = min(scaled(2), 6)
BARRIER_TIMEOUT = 60
DAY0 = date(2026, 11, 27)
FIGURES: Counter = Counter()


# ------------------------------------------------------------------ the crew: threads + processes

def _child(url, barrier, tasks, results):
    """A separate OS process: its own app on the same database, running tasks until told to stop."""
    from app import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    results.put(("ready", None))
    try:
        while (task := tasks.get()) is not None:
            name, job = task
            try:
                results.put(("ok", globals()[name](app, barrier, *job)))
            except BaseException:
                barrier.abort()
                results.put(("error", traceback.format_exc()))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


class Crew:
    """THREADS threads here and PROCESSES child processes; `run` gives each one job of a task and
    returns the results in job order (threads first), failing with the first worker's traceback."""

    def __init__(self, app, threads: int, processes: int):
        ctx = multiprocessing.get_context("spawn")
        self.app, self.threads = app, threads
        self.barrier = ctx.Barrier(threads + processes, timeout=BARRIER_TIMEOUT)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        assert url != "sqlite://" and ":memory:" not in url, "processes can only share a database file or server"
        self.children = []
        for _ in range(processes):
            tasks, results = ctx.Queue(), ctx.Queue()
            proc = ctx.Process(target=_child, args=(url, self.barrier, tasks, results), daemon=True)
            proc.start()
            self.children.append(SimpleNamespace(proc=proc, tasks=tasks, results=results))
        for child in self.children:
            assert child.results.get(timeout=120) == ("ready", None)

    @property
    def size(self) -> int:
        return self.threads + len(self.children)

    def run(self, task, jobs: list) -> list:
        assert len(jobs) == self.size
        out: list = [None] * self.size

        def in_thread(i, job):
            try:
                out[i] = ("ok", task(self.app, self.barrier, *job))
            except BaseException:
                self.barrier.abort()
                out[i] = ("error", traceback.format_exc())

        for child, job in zip(self.children, jobs[self.threads:]):
            child.tasks.put((task.__name__, job))
        workers = [threading.Thread(target=in_thread, args=(i, job)) for i, job in enumerate(jobs[:self.threads])]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for k, child in enumerate(self.children):
            out[self.threads + k] = child.results.get(timeout=180)
        errors = [detail for status, detail in out if status == "error"]
        if errors:
            self.barrier.reset()
            pytest.fail("a worker failed:\n" + errors[0])
        FIGURES["races"] += 1
        return [detail for _status, detail in out]

    def close(self) -> None:
        for child in self.children:
            child.tasks.put(None)
        for child in self.children:
            child.proc.join(timeout=30)
            if child.proc.is_alive():
                child.proc.terminate()


@pytest.fixture(scope="module")
def crew(app):
    c = Crew(app, THREADS, PROCESSES)
    yield c
    c.close()
    assert all(child.proc.exitcode == 0 for child in c.children)
    record("concurrency", parallel_edits=FIGURES["edits"], stale_refusals=FIGURES["stale"],
           parallel_payments=FIGURES["payments"], payment_refusals=FIGURES["payment_refusals"],
           numbers_issued=FIGURES["numbers"], races=FIGURES["races"], processes=PROCESSES, threads=THREADS)


@pytest.fixture
def clerks(app, users):
    """The users, each logged in once already: a user's first login issues their session token, and
    two first logins of one user at the same moment would race on it (see the report on app/auth.py)."""
    for role in ("admin", "supervisor", "leasing"):
        Browser(app).login(role)
    return users


def commit_and_close():
    """What the parent wrote must be committed and its connection returned before workers start."""
    db.session.commit()
    db.session.remove()


# ------------------------------------------------------------------ 1. parallel edits of one record

def edit_estate(app, barrier, role, estate_id, values):
    """Load the edit form, wait for everyone, then save it: (status, stale message shown, version loaded)."""
    from admin_views.generic import STALE_MESSAGE

    b = Browser(app).login(role)
    url = f"/admin/estate/edit/?id={estate_id}"
    page = b.get(url).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="row_version"[^>]*>', page)
    assert tag, page[-3000:]
    tag = tag.group(0)
    loaded = re.search(r'value="(\d+)"', tag).group(1)
    barrier.wait()
    resp = b.post(url, {**values, "row_version": loaded})
    return resp.status_code, STALE_MESSAGE in resp.get_data(as_text=True), int(loaded)


def test_parallel_edits_of_one_record_one_save_wins_per_version(app, clerks, crew):
    from schema.org import AuditLog
    from schema.property import Estate

    with app.app_context():
        estate = Estate(name="锦绣花园", address="深圳市南山区", phone="0755-26881234")
        db.session.add(estate)
        db.session.flush()
        estate_id = estate.id
        commit_and_close()
    for rnd in range(scaled(3)):
        with app.app_context():
            version = db.session.get(Estate, estate_id).version
            db.session.remove()
        jobs = [("admin" if i % 2 else "supervisor", estate_id,
                 {"name": f"锦绣花园{rnd}-{i}", "address": f"深圳市南山区{i}号", "phone": f"0755-2688{1000 + i}",
                  "note": f"第{rnd}轮 第{i}位"}) for i in range(crew.size)]
        results = crew.run(edit_estate, jobs)
        assert {loaded for _s, _stale, loaded in results} == {version}
        winners = [i for i, (status, _stale, _v) in enumerate(results) if status == 302]
        assert len(winners) == 1, results
        losers = [r for i, r in enumerate(results) if i != winners[0]]
        assert all(status == 200 and stale for status, stale, _v in losers), results
        won = jobs[winners[0]][2]
        with app.app_context():
            row = db.session.get(Estate, estate_id)
            assert (row.name, row.address, row.phone, row.note, row.version) == (
                won["name"], won["address"], won["phone"], won["note"], version + 1)
            audits = db.session.scalars(select(AuditLog).where(
                AuditLog.table_name == "estate", AuditLog.record_id == estate_id, AuditLog.operation == "修改")
                .order_by(AuditLog.id)).all()
            assert len(audits) == rnd + 1
            assert json.loads(audits[-1].changes)["name"][1] == won["name"]
            db.session.remove()
        FIGURES["edits"] += len(jobs)
        FIGURES["stale"] += len(losers)


def first_login(app, barrier, role):
    """Log in at the same moment as everyone else; True when the session then still opens a page."""
    from .conftest import PASSWORD

    b = Browser(app)
    b.get("/login")
    barrier.wait()
    assert b.post("/login", {"username": role, "password": PASSWORD}).status_code == 302
    return b.get("/admin/estate/").status_code == 200


def test_parallel_first_logins_of_one_user_all_stay_signed_in(app, users, crew):
    from sqlalchemy import update

    from schema.org import AppUser

    for _ in range(scaled(2)):
        with app.app_context():
            db.session.execute(update(AppUser).where(AppUser.username == "leasing").values(session_token=None))
            commit_and_close()
        assert crew.run(first_login, [("leasing",)] * crew.size) == [True] * crew.size


# ------------------------------------------------------------------ 2. parallel payments on one payer

def payer_with_charges(amounts):
    """A unit with its owner and open monthly fees, oldest due first; returns (unit id, owner id, name)."""
    from . import factories

    own = factories.ownership()
    for i, amount in enumerate(amounts):
        factories.charge(unit=own.unit, owner=own.owner, payer_name=own.owner.name, amount=Decimal(amount),
                         period=f"2026-{i + 1:02d}", due_date=date(2026, i + 1, 28))
    db.session.flush()
    ids = own.unit.id, own.owner.id, own.owner.name
    commit_and_close()
    return ids


def pay_in_domain(app, barrier, unit_id, amount, day, picks):
    """The clerk has the payer's open charges on screen (loaded in this session), then records the
    payment together with everyone else: ("paid", receipt no.) or ("refused", Chinese message)."""
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        on_screen = ledger.open_charges(unit_id=unit_id)
        barrier.wait()
        try:
            payment = ledger.record_payment(amount=amount, method="cash", payer_name="张三", unit=unit,
                                            paid_at=datetime.combine(day, datetime.min.time()) + timedelta(hours=10),
                                            charge_ids=picks)
            db.session.commit()
        except ledger.LedgerError as exc:
            db.session.rollback()
            return "refused", str(exc)
        assert on_screen  # held until here, as a view holds what it rendered
        return "paid", payment.receipt_no


def void_in_domain(app, barrier, payment_id):
    """A supervisor voids an earlier receipt of the payer while the others pay."""
    from schema.ledger import Payment

    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        on_screen = [a.charge for a in payment.allocations]
        barrier.wait()
        ledger.void_payment(payment, "收据填错,作废重开", SimpleNamespace(username="supervisor", id=None))
        db.session.commit()
        assert on_screen
        return "voided", payment.receipt_no


def pay_or_void(app, barrier, kind, *job):
    return (void_in_domain if kind == "void" else pay_in_domain)(app, barrier, *job)


def pay_by_form(app, barrier, unit_id, owner_id, name, amount, day, picks):
    """The payment form, opened for the payer and posted together with everyone else."""
    b = Browser(app).login("leasing")
    url = f"/admin/payment/new/?unit={unit_id}"
    assert "该缴费人的未缴费用" in b.get(url).get_data(as_text=True)
    data = {"unit": unit_id, "owner": owner_id, "payer_name": name, "amount": amount, "method": "cash",
            "paid_at": f"{day:%Y-%m-%d} 10:00:00"}
    if picks:
        data["pick"] = [str(p) for p in picks]
    barrier.wait()
    resp = b.post(url, data)
    if resp.status_code == 302:
        return "paid", None
    return "refused", resp.get_data(as_text=True)


def ledger_books(unit_id) -> dict:
    """Check the payer's ledger adds up; returns its figures for the race-specific assertions."""
    from schema.ledger import Charge, Payment, PaymentAllocation

    charges = db.session.scalars(select(Charge).where(Charge.unit_id == unit_id)
                                 .order_by(Charge.due_date, Charge.id)).all()
    everything = db.session.scalars(select(Payment).where(Payment.unit_id == unit_id)).all()
    payments = [p for p in everything if p.status == "valid"]
    allocs = db.session.scalars(select(PaymentAllocation).join(Charge).where(Charge.unit_id == unit_id)).all()
    per_charge, per_payment = defaultdict(Decimal), defaultdict(Decimal)
    for a in allocs:
        assert a.amount > 0
        per_payment[a.payment_id] += a.amount
        if a.payment.status == "valid":  # a void receipt's allocations stay as history only
            per_charge[a.charge_id] += a.amount
    for p in everything:
        assert per_payment[p.id] <= p.amount, (p.receipt_no, per_payment[p.id], p.amount)
    for c in charges:
        assert per_charge[c.id] == c.amount_paid <= c.amount, (str(c), per_charge[c.id], c.amount_paid, c.amount)
        assert c.status == ledger.charge_status(c.amount, c.amount_paid)
    credits = {p.id: p.amount - per_payment[p.id] for p in payments}
    assert sum((per_payment[p.id] for p in payments), Decimal(0)) == sum((c.amount_paid for c in charges), Decimal(0))
    # oldest due first: paid charges, then at most one partial, then unpaid ones
    states = "".join({"paid": "P", "partial": "p", "unpaid": "u"}[c.status] for c in charges)
    return {"charges": charges, "payments": payments, "credits": credits, "states": states,
            "owed": sum((c.amount for c in charges), Decimal(0)),
            "paid": sum((p.amount for p in payments), Decimal(0)),
            "settled": sum((c.amount_paid for c in charges), Decimal(0))}


def receipt_numbers_are_gap_free():
    from schema.ledger import Payment

    by_day = defaultdict(list)
    for no in db.session.scalars(select(Payment.receipt_no)):
        prefix, seq = no.rsplit("-", 1)
        by_day[prefix].append(int(seq))
    for prefix, seqs in by_day.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), (prefix, sorted(seqs))
    return sum(len(s) for s in by_day.values())


def assert_all_paid_in_turn(books, jobs_amounts):
    """Every payment went through, and together they settled oldest first exactly what they could."""
    assert len(books["payments"]) == len(jobs_amounts)
    assert books["paid"] == sum((Decimal(a) for a in jobs_amounts), Decimal(0))
    assert books["settled"] == min(books["paid"], books["owed"])
    assert re.fullmatch(r"P*p?u*", books["states"]), books["states"]
    if any(books["credits"].values()):  # a payment kept a credit only when nothing was left to settle
        assert books["states"] == "P" * len(books["charges"])
    assert sum(books["credits"].values(), Decimal(0)) == books["paid"] - books["settled"]


AMOUNTS = ("100.00", "200.00", "150.50", "80.00", "300.00")


def payment_amounts(n):
    """n payments worth about 1.2 × the open charges, so the last ones leave a credit."""
    total = sum(Decimal(a) for a in AMOUNTS) * Decimal("1.2")
    base = (total / n).quantize(Decimal("0.01"))
    return [str(base + Decimal(i) / 10) for i in range(n)]


def test_parallel_payments_in_the_domain_never_settle_a_charge_twice(app, users, crew):
    """Receipts dated on different days (backdated), so the receipt counters do not queue them."""
    for rnd in range(scaled(2)):
        with app.app_context():
            unit_id, _owner_id, _name = payer_with_charges(AMOUNTS)
        amounts = payment_amounts(crew.size)
        days = [DAY0 + timedelta(days=i % 3) for i in range(crew.size)]  # backdated receipts: other counters
        results = crew.run(pay_in_domain, [(unit_id, a, d, None) for a, d in zip(amounts, days)])
        assert [r[0] for r in results] == ["paid"] * crew.size, results
        with app.app_context():
            assert_all_paid_in_turn(ledger_books(unit_id), amounts)
            FIGURES["payments"] += crew.size
            db.session.remove()
    with app.app_context():
        assert receipt_numbers_are_gap_free() == scaled(2) * crew.size


def test_parallel_payments_picking_one_charge_settle_it_once(app, users, crew):
    from schema.ledger import Charge, Payment

    with app.app_context():
        unit_id, _owner_id, _name = payer_with_charges(AMOUNTS)
        target = db.session.scalars(select(Charge.id).where(Charge.unit_id == unit_id, Charge.period == "2026-03")).one()
        db.session.remove()
    days = [DAY0 + timedelta(days=i % 2) for i in range(crew.size)]
    results = crew.run(pay_in_domain, [(unit_id, "150.50", d, [target]) for d in days])
    paid = [r for r in results if r[0] == "paid"]
    assert len(paid) == 1, results
    assert all(status == "refused" and "已缴清,不能重复核销" in msg for status, msg in results if status != "paid")
    with app.app_context():
        books = ledger_books(unit_id)
        assert books["states"] == "uuPuu" and len(books["payments"]) == 1
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
        assert receipt_numbers_are_gap_free() == 1
    FIGURES["payments"] += crew.size
    FIGURES["payment_refusals"] += crew.size - 1


def test_parallel_payments_and_a_void_on_one_payer_keep_the_books(app, users, crew):
    from schema.ledger import Payment, PaymentAllocation

    for rnd in range(scaled(2)):
        with app.app_context():
            unit_id, _owner_id, _name = payer_with_charges(AMOUNTS)
            first = ledger.record_payment(amount="250.00", method="cash", payer_name="张三",
                                          unit=db.session.get(Unit, unit_id), paid_at=datetime(2026, 11, 20, 9, 0))
            db.session.flush()
            first_id = first.id
            commit_and_close()
        amounts = payment_amounts(crew.size)[:-1]
        days = [DAY0 + timedelta(days=i % 3) for i in range(crew.size)]
        jobs = [("pay", unit_id, a, d, None) for a, d in zip(amounts, days)]
        jobs.insert(rnd % crew.size, ("void", first_id))  # a thread in one round, a process in another
        results = crew.run(pay_or_void, jobs)
        assert sorted(r[0] for r in results) == ["paid"] * (crew.size - 1) + ["voided"], results
        with app.app_context():
            books = ledger_books(unit_id)
            assert db.session.get(Payment, first_id).status == "void"
            assert len(books["payments"]) == crew.size - 1
            assert books["paid"] == sum((Decimal(a) for a in amounts), Decimal(0))
            assert db.session.scalar(select(func.count()).select_from(PaymentAllocation)
                                     .where(PaymentAllocation.payment_id == first_id)) == 2  # kept as history
            db.session.remove()
        FIGURES["payments"] += crew.size


def test_parallel_payments_through_the_form_never_settle_a_charge_twice(app, clerks, crew):
    from schema.ledger import Charge, Payment

    rounds = scaled(2)
    for rnd in range(rounds):
        with app.app_context():
            unit_id, owner_id, name = payer_with_charges(AMOUNTS)
        amounts = payment_amounts(crew.size)
        days = [DAY0 + timedelta(days=i % 3) for i in range(crew.size)]
        results = crew.run(pay_by_form, [(unit_id, owner_id, name, a, d, None) for a, d in zip(amounts, days)])
        assert [r[0] for r in results] == ["paid"] * crew.size, [r[1][-3000:] if r[1] else r for r in results]
        with app.app_context():
            assert_all_paid_in_turn(ledger_books(unit_id), amounts)
            db.session.remove()
        FIGURES["payments"] += crew.size
    # everyone picks the same charge: one settles it, the others are told so and write nothing
    with app.app_context():
        unit_id, owner_id, name = payer_with_charges(AMOUNTS)
        target = db.session.scalars(select(Charge.id).where(Charge.unit_id == unit_id, Charge.period == "2026-02")).one()
        db.session.remove()
    days = [DAY0 + timedelta(days=i % 2) for i in range(crew.size)]
    results = crew.run(pay_by_form, [(unit_id, owner_id, name, "200.00", d, [target]) for d in days])
    assert [r[0] for r in results].count("paid") == 1, results
    assert all("已缴清,不能重复核销" in html for status, html in results if status == "refused")
    with app.app_context():
        books = ledger_books(unit_id)
        assert books["states"] == "uPuuu" and len(books["payments"]) == 1
        assert db.session.scalar(select(func.count()).select_from(Payment)) == rounds * crew.size + 1
        assert receipt_numbers_are_gap_free() == rounds * crew.size + 1
    FIGURES["payments"] += crew.size
    FIGURES["payment_refusals"] += crew.size - 1


# ------------------------------------------------------------------ 3. numbering never repeats

def draw_numbers(app, barrier, prefix, day, count):
    """Draw `count` numbers, one transaction each; every third is rolled back (a save that failed)."""
    kept, given_back = [], []
    with app.app_context():
        barrier.wait()
        for i in range(count):
            number = next_number(prefix, day)
            if i % 3 == 2:
                db.session.rollback()
                given_back.append(number)
            else:
                db.session.commit()
                kept.append(number)
    return kept, given_back


def assert_gap_free(numbers, prefix):
    assert len(set(numbers)) == len(numbers), Counter(numbers).most_common(3)
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert all(n.startswith(prefix) for n in numbers)
    assert seqs == list(range(1, len(numbers) + 1)), seqs


def test_parallel_numbers_never_repeat_and_leave_no_gaps(app, crew):
    from schema.ledger import NumberSequence

    count = scaled(6)
    for rnd in range(scaled(2)):
        day = DAY0 + timedelta(days=rnd)  # a new day: everyone races to create its counter row too
        results = crew.run(draw_numbers, [("CT", day, count)] * crew.size)
        kept = [n for k, _g in results for n in k]
        assert_gap_free(kept, f"CT{day:%Y%m%d}-")
        with app.app_context():
            last = db.session.scalars(select(NumberSequence.last).where(
                NumberSequence.prefix == "CT", NumberSequence.day == f"{day:%Y%m%d}")).one()
            assert last == len(kept)
            db.session.remove()
        FIGURES["numbers"] += sum(len(k) + len(g) for k, g in results)


def issue_slip(app, barrier, slip_id, at):
    from app.release import issue
    from schema.release import ReleaseSlip

    with app.app_context():
        slip = db.session.get(ReleaseSlip, slip_id)
        barrier.wait()
        assert issue(slip, user=SimpleNamespace(username="frontdesk", roles=frozenset({"frontdesk"})),
                     id_checked=True, at=at) is None
        db.session.commit()
        return slip.number


def approve_permit(app, barrier, permit_id, at):
    from app.renovation import approve
    from schema.renovation import RenovationPermit

    with app.app_context():
        permit = db.session.get(RenovationPermit, permit_id)
        barrier.wait()
        approve(permit, user="manager", at=at)
        db.session.commit()
        return permit.number


def test_release_slip_and_permit_numbers_never_repeat(app, crew):
    from app.release import open_slip
    from app.renovation import NOTIFIED_DEPARTMENTS, review

    from . import factories

    at = datetime(2026, 11, 27, 10, 0)
    with app.app_context():
        for name in NOTIFIED_DEPARTMENTS:
            factories.department(name=name)
        slips, permits = [], []
        for _ in range(scaled(2) * crew.size):
            own = factories.ownership()
            slips.append(open_slip(unit=own.unit, applicant=own.owner.name, id_number=own.owner.id_number,
                                   reason="搬家", items=[("旧沙发", 1)], created_by="frontdesk", at=at))
            permit = factories.renovation_permit(ownership=factories.ownership(),
                                                 agreement_signed=True, rules_acknowledged=True)
            db.session.flush()
            review(permit, user="supervisor", at=at - timedelta(hours=1))
            permits.append(permit)
        db.session.flush()
        slip_ids, permit_ids = [s.id for s in slips], [p.id for p in permits]
        commit_and_close()
    issued, approved = [], []
    for rnd in range(scaled(2)):
        part = slice(rnd * crew.size, (rnd + 1) * crew.size)
        issued += crew.run(issue_slip, [(i, at) for i in slip_ids[part]])
        approved += crew.run(approve_permit, [(i, at) for i in permit_ids[part]])
    assert_gap_free(issued, "FX20261127-")
    assert_gap_free(approved, "ZX20261127-")
    FIGURES["numbers"] += len(issued) + len(approved)
