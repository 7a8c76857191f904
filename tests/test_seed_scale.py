"""`flask seed-scale` (seed/scale.py): a coherent city-scale dataset written by bulk inserts.

One generation of 300 units for the module (read-only tests after it): proportions, valid identity
numbers and phones, document numbers unique and in the app's formats, a ledger whose charges agree with
their allocations, every foreign key resolving, the status flows' timestamps, the search tables rebuilt,
the app's own numbering continuing after the generated numbers, the CLI refusing a non-empty database,
and the admin lists rendering on the data."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app import clock
from app.billing import bill_key
from app.custody import fee_factor
from app.extensions import db
from app.ledger import charge_status, mgmt_fee_amount
from app.numbering import next_number
from app.validators import check_credit_code, check_phone, check_resident_id
from app.workorders import followup_due
from schema import (
    CallLog,
    Charge,
    Complaint,
    DeptCheck,
    Document,
    Dunning,
    Lease,
    MoveIn,
    Owner,
    Ownership,
    Payment,
    PaymentAllocation,
    ReleaseItem,
    ReleaseSlip,
    RenovationPermit,
    Resident,
    ServiceOrder,
    Survey,
    Unit,
    Visitor,
    WorkerPass,
    WorkOrder,
)
from schema.ledger import NumberSequence
from seed.demo import DEMO_PASSWORD
from seed.scale import COLUMNS, _Scale, generate, summary

from .conftest import Browser, wipe

pytestmark = pytest.mark.shared_data  # one generation for the module; the tests only read it

UNITS = 300


@pytest.fixture(scope="module")
def seeded(app):
    with app.app_context():  # not kept pushed: requests must get their own context (and CSRF token)
        counts = generate(UNITS, progress=False)
        db.session.remove()
    yield counts
    wipe(app)


def n(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def scalars(stmt) -> list:
    return db.session.execute(stmt).scalars().all()


# ---------------------------------------------------------------- volumes


def test_counts_match_the_database_and_scale_with_the_units(seeded, ctx):
    for table, rows in seeded.items():
        assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) == rows, table
    assert set(seeded) == set(COLUMNS)
    assert all(seeded[t] >= 1 for t in COLUMNS), [t for t in COLUMNS if seeded[t] < 1]
    assert seeded["unit"] == UNITS

    def ratio(table):
        return seeded[table] / UNITS

    assert 1.1 <= ratio("owner") <= 1.3
    assert ratio("ownership") >= ratio("owner") - 0.01
    assert 1.3 <= ratio("resident") <= 1.8
    mgmt = n(Charge, Charge.kind == "mgmt_fee", Charge.bill_key.is_not(None))
    assert 8.5 <= mgmt / UNITS <= 12
    assert 0.75 <= seeded["payment"] / seeded["charge"] <= 0.97
    assert seeded["payment_allocation"] == seeded["payment"]
    assert ratio("work_order") == 2 and ratio("call_log") == 3 and ratio("complaint") == 1
    assert ratio("release_slip") == 0.2 and 1 <= seeded["release_item"] / seeded["release_slip"] <= 3
    assert ratio("visitor") == 0.5 and ratio("followup_visit") == 0.5 and ratio("move_in") == 0.2
    assert 0.45 <= ratio("document") <= 0.9
    assert 0.02 <= ratio("dunning") <= 0.05
    assert ratio("leasable_asset") == 0.05 and 0.04 <= ratio("lease") <= 0.06
    assert n(Charge, Charge.kind == "rent") >= 10 * n(Lease, Lease.status != "negotiating")


def test_summary_lists_every_table_and_the_rate(seeded):
    out = summary(seeded, 2.0)
    assert all(table in out for table in seeded)
    assert f"{sum(seeded.values()):,}" in out and "行/秒" in out


def test_the_same_seed_gives_the_same_rows(app):
    """Generation alone (rows hashed instead of written) is deterministic for a seed; only the staff
    accounts' password hash is not (set_password salts it)."""

    class Digest:
        def __init__(self):
            self.h = hashlib.sha256()
            self.counts = {}
            self.bar = None

        def write(self, name, rows, drop_indexes=True):
            salted = COLUMNS[name].index("password_hash") if name == "app_user" else None
            for row in rows:
                if salted is not None:
                    row = row[:salted] + row[salted + 1:]
                self.h.update(repr(row).encode())

        def call(self, fn):
            pass

    def digest(seed):
        writer = Digest()
        _Scale(120, seed, writer, {"department": [], "app_user": [], "number_sequence": {}}).run()
        return writer.h.hexdigest()

    with app.app_context():
        assert digest(7) == digest(7) != digest(8)


# ---------------------------------------------------------------- people


def test_identity_numbers_and_phones_are_valid(seeded, ctx):
    owners = db.session.execute(select(Owner.kind, Owner.id_type, Owner.id_number, Owner.phone, Owner.name,
                                       Owner.contact_person)).all()
    for kind, id_type, number, phone, name, contact in owners:
        assert not Owner.check({"kind": kind, "id_type": id_type, "id_number": number, "contact_person": contact})
        assert (check_credit_code if kind == "company" else check_resident_id)(number) is None, number
        assert check_phone(phone) is None, phone
    kinds = Counter(kind for kind, *_ in owners)
    assert 0.01 <= kinds["company"] / len(owners) <= 0.1
    numbers = [
        *scalars(select(Resident.id_number)), *scalars(select(ReleaseSlip.id_number)),
        *scalars(select(Visitor.id_number)), *scalars(select(WorkerPass.id_number)),
        *scalars(select(RenovationPermit.proxy_id_number).where(RenovationPermit.proxy_id_number.is_not(None))),
        *scalars(select(MoveIn.proxy_id_number).where(MoveIn.proxy_id_number.is_not(None))),
    ]
    bad = [x for x in numbers if check_resident_id(x)]
    assert not bad, bad[:5]
    for number in scalars(select(Lease.tenant_id_number)):
        assert check_resident_id(number) is None or check_credit_code(number) is None, number
    phones = [p for model, column in ((Resident, Resident.phone), (Visitor, Visitor.phone), (Lease, Lease.tenant_phone),
                                      (Complaint, Complaint.phone), (CallLog, CallLog.phone),
                                      (WorkOrder, WorkOrder.reporter_phone), (ReleaseSlip, ReleaseSlip.phone),
                                      (ServiceOrder, ServiceOrder.phone))
              for p in scalars(select(column).where(column.is_not(None)))]
    bad = [p for p in phones if check_phone(p)]
    assert not bad, bad[:5]
    assert len(set(scalars(select(Owner.id_number)))) == len(owners)
    names = scalars(select(Resident.name))
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name) for name in names)


def test_units_owners_and_residents_fit_together(seeded, ctx):
    units = db.session.execute(select(Unit.id, Unit.status, Unit.area, Unit.fee_rate, Unit.handover_date,
                                      Unit.usage)).all()
    statuses = Counter(u.status for u in units)
    assert statuses["occupied"] > UNITS / 2 and statuses["vacant"] >= 1
    assert all(Decimal(50) <= u.area <= Decimal(160) and Decimal("2.5") <= u.fee_rate <= Decimal("4.5")
               for u in units)
    assert {u.usage for u in units} <= {"residence", "shop"}
    owned = set(scalars(select(Ownership.unit_id)))
    assert {u.id for u in units if u.status != "vacant"} <= owned
    assert all(u.handover_date is not None for u in units if u.status != "vacant")
    lived_in = set(scalars(select(Resident.unit_id)))
    assert lived_in <= {u.id for u in units if u.status == "occupied"}
    shares = db.session.execute(select(Ownership.unit_id, func.sum(Ownership.share), func.count())
                                .group_by(Ownership.unit_id)).all()
    assert all(total == 100 and 1 <= count <= 2 for _, total, count in shares)


# ---------------------------------------------------------------- numbers


NUMBERED = (  # (model, number column, date column the number's day comes from, prefixes)
    (Payment, Payment.receipt_no, Payment.paid_at, ("SK",)),
    (WorkOrder, WorkOrder.number, WorkOrder.created_at, ("WX",)),
    (Complaint, Complaint.number, Complaint.received_at, ("TS",)),
    (ReleaseSlip, ReleaseSlip.number, ReleaseSlip.issued_at, ("FX",)),
    (RenovationPermit, RenovationPermit.number, RenovationPermit.approved_at, ("ZX",)),
    (ServiceOrder, ServiceOrder.number, ServiceOrder.booked_at, ("FW",)),
    (DeptCheck, DeptCheck.number, DeptCheck.checked_at, ("BH", "XT")),
)


@pytest.mark.parametrize("model, column, when, prefixes", NUMBERED, ids=[m.__tablename__ for m, *_ in NUMBERED])
def test_document_numbers_are_unique_in_the_apps_format_and_in_time_order(seeded, ctx, model, column, when,
                                                                          prefixes):
    rows = db.session.execute(select(column, when).where(column.is_not(None)).order_by(when, model.id)).all()
    assert rows, model.__tablename__
    numbers = [number for number, _ in rows]
    assert len(set(numbers)) == len(numbers)
    today = clock.today()
    last: dict[tuple, int] = {}
    for number, at in rows:
        m = re.fullmatch(r"([A-Z]{2})(\d{8})-(\d{4})", number)
        assert m and m.group(1) in prefixes, number
        assert m.group(2) == f"{at:%Y%m%d}" and at.date() < today, (number, at)
        key = (m.group(1), m.group(2))
        assert int(m.group(3)) > last.get(key, 0), number  # numbered in time order within the day
        last[key] = int(m.group(3))
    sequences = {(s.prefix, s.day): s.last for s in db.session.scalars(select(NumberSequence))}
    assert all(sequences[key] >= seq for key, seq in last.items())


def test_worker_passes_and_contracts_are_numbered(seeded, ctx):
    passes = db.session.execute(select(WorkerPass.pass_no, RenovationPermit.number)
                                .join(RenovationPermit, RenovationPermit.id == WorkerPass.permit_id)).all()
    assert passes and all(re.fullmatch(re.escape(permit) + r"-\d{2}", pass_no) for pass_no, permit in passes)
    contracts = scalars(select(Lease.contract_no))
    assert len(set(contracts)) == len(contracts) and all(re.fullmatch(r"ZL\d{4}-\d{3,}", c) for c in contracts)


def test_the_apps_numbering_continues_after_the_generated_numbers(seeded, ctx):
    try:
        receipts = set(scalars(select(Payment.receipt_no)))
        busiest = db.session.execute(select(NumberSequence.day, NumberSequence.last)
                                     .where(NumberSequence.prefix == "SK")
                                     .order_by(NumberSequence.last.desc()).limit(1)).one()
        day = datetime.strptime(busiest.day, "%Y%m%d").date()
        issued = next_number("SK", day)
        assert issued not in receipts and issued.endswith(f"-{busiest.last + 1:04d}")
        today = next_number("SK")
        assert today not in receipts and today == f"SK{clock.today():%Y%m%d}-0001"
        orders = set(scalars(select(WorkOrder.number)))
        wx_day = date.fromisoformat(str(db.session.scalar(select(func.max(WorkOrder.created_at))))[:10])
        assert next_number("WX", wx_day) not in orders
    finally:
        db.session.rollback()


# ---------------------------------------------------------------- the ledger


def test_charges_agree_with_their_allocations(seeded, ctx):
    allocated = dict(db.session.execute(select(PaymentAllocation.charge_id, func.sum(PaymentAllocation.amount))
                                        .group_by(PaymentAllocation.charge_id)).all())
    charges = db.session.execute(select(Charge.id, Charge.amount, Charge.amount_paid, Charge.status)).all()
    statuses = Counter()
    for cid, amount, paid, status in charges:
        assert paid == Decimal(str(allocated.get(cid, 0))).quantize(Decimal("0.01")), cid
        assert status == charge_status(amount, paid, voided=status == "void"), cid
        assert amount > 0 and (status != "void" or paid == 0)
        statuses[status] += 1
    assert statuses["paid"] > statuses["unpaid"] > 0 and statuses["partial"] >= 1
    paid_share = n(Charge, Charge.kind == "mgmt_fee", Charge.status == "paid") / n(Charge, Charge.kind == "mgmt_fee")
    assert 0.75 <= paid_share <= 0.95
    payments = db.session.execute(select(Payment.id, Payment.amount, func.sum(PaymentAllocation.amount))
                                  .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
                                  .group_by(Payment.id, Payment.amount)).all()
    assert len(payments) == n(Payment)
    assert all(amount == Decimal(str(total)).quantize(Decimal("0.01")) for _, amount, total in payments)


def test_monthly_fees_follow_the_billing_rules(seeded, ctx):
    rows = db.session.execute(select(Charge, Unit).join(Unit, Unit.id == Charge.unit_id)
                              .where(Charge.bill_key.is_not(None))).all()
    today = clock.today()
    for charge, unit in rows:
        assert charge.bill_key == bill_key(unit.id, charge.period)
        assert charge.amount == mgmt_fee_amount(unit.area, unit.fee_rate, fee_factor(unit.status))
        assert charge.due_date == charge.period_end < date(today.year, today.month, 1)
        assert unit.status in ("occupied", "custody", "renovating")
        assert charge.owner_id is not None and charge.payer_name
    owner_names = dict(db.session.execute(select(Owner.id, Owner.name)).all())
    assert all(charge.payer_name == owner_names[charge.owner_id] for charge, _ in rows)
    paid = db.session.execute(select(Payment.paid_at, Payment.unit_id, Payment.lease_id)).all()
    assert all(at.date() < today and (unit is None) != (lease is None) for at, unit, lease in paid)


def test_dunning_chases_overdue_charges(seeded, ctx):
    for dunning in db.session.scalars(select(Dunning)):
        assert not Dunning.check({"unit": dunning.unit, "lease": dunning.lease, "at": dunning.at,
                                  "promised_date": dunning.promised_date})
        assert dunning.charges
        assert all(c.due_date < dunning.at.date() and (c.unit_id == dunning.unit_id if dunning.unit_id
                                                      else c.lease_id == dunning.lease_id) for c in dunning.charges)


# ---------------------------------------------------------------- integrity and rules


def test_every_foreign_key_resolves(seeded, ctx):
    for table in db.metadata.sorted_tables:
        if table.name not in COLUMNS:
            continue
        for fk in table.foreign_keys:
            parent = fk.column.table
            dangling = db.session.scalar(text(
                f"SELECT count(*) FROM {table.name} c WHERE c.{fk.parent.name} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {parent.name} p WHERE p.{fk.column.name} = c.{fk.parent.name})"))
            assert dangling == 0, f"{table.name}.{fk.parent.name} -> {parent.name}"
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
    assert n(Charge, Charge.unit_id.not_in(select(Unit.id))) == 0


def test_work_orders_carry_the_times_their_status_implies(seeded, ctx):
    orders = scalars(select(WorkOrder))
    assert {"visited", "done", "closed"} <= {o.status for o in orders}
    now = clock.now()
    for o in orders:
        steps = [o.created_at, o.dispatched_at, o.accepted_at, o.started_at, o.completed_at, o.followup_at]
        assert all(t is None or t <= now for t in steps), o.number
        if o.status == "pending":
            assert o.dispatched_at is None
        if o.status in ("done", "visited"):
            assert o.created_at <= o.dispatched_at <= o.accepted_at <= o.started_at <= o.completed_at
            assert o.department_id and o.completed_by
            assert o.followup_due == followup_due(o.category, o.completed_at, o.leak_test_at)
            assert (o.leak_test_at is not None) == (o.category == "leak")
        if o.status == "visited":
            assert o.followup_at and o.followup_by and o.followup_result and o.satisfied is not None
        if o.status == "closed":
            assert o.close_reason and o.completed_at is None
        if o.status == "dispatched" and o.problems_found:  # sent back by its follow-up
            assert o.completed_at is None and o.followup_due is None and o.dispatched_at == o.followup_at


def test_calls_and_complaints_follow_their_flows(seeded, ctx):
    for call in db.session.scalars(select(CallLog)):
        assert not CallLog.check({"answered": call.answered, "answer": call.answer, "callback": call.callback})
        if call.status == "closed":
            assert call.followup_at and call.followup_result
        if call.work_order_id:
            assert call.status in ("referred", "closed") and call.work_order.source == "call"
    for c in db.session.scalars(select(Complaint)):
        assert not Complaint.check({"kind": c.kind, "category": c.category})
        order = ["registered", "classified", "assigned", "on_site", "visited"].index(c.status)
        assert (c.classified_at is not None) == (order >= 1) and (c.assigned_at is not None) == (order >= 2)
        if order >= 2:
            assert c.department_id and c.supervisor_name and c.assigned_at >= c.classified_at
            if c.kind == "communication":
                assert c.identity_checked
        if order == 4:
            assert c.followup_at >= c.onsite_at >= c.assigned_at and c.satisfied is not None
        if c.call_log_id:
            assert c.channel == "phone" and c.call_log.status == "referred"
        if c.escalated:
            assert c.kind == "valid" and c.escalated_from in ("help", "inquiry", "venting") and c.escalation_reason


def test_release_slips_record_each_step(seeded, ctx):
    slips = scalars(select(ReleaseSlip))
    assert {"issued", "released"} & {s.status for s in slips}
    for s in slips:
        assert s.items and all(i.quantity > 0 for i in s.items)
        if s.status in ("issued", "released"):
            assert s.number and s.issued_at and s.issued_by and s.id_checked
            assert s.applicant_is_owner or s.owner_confirmed
            assert s.arrears_at_issue == 0 or s.override_by
        if s.status == "released":
            assert s.guard and s.released_at >= s.issued_at
        if s.status == "refused":
            assert s.number is None and s.arrears_at_issue > 0 and s.refused_reason.startswith("该房屋欠费")
        if s.status == "draft":
            assert s.number is None and s.issued_at is None
    assert n(ReleaseItem) >= len(slips)


def test_renovation_permits_and_unit_statuses_agree(seeded, ctx):
    permits = scalars(select(RenovationPermit))
    running = {p.unit_id for p in permits if p.status == "in_progress"}
    assert running == set(scalars(select(Unit.id).where(Unit.status == "renovating")))
    for p in permits:
        assert not RenovationPermit.check({"planned_start": p.planned_start, "planned_end": p.planned_end,
                                           "applicant_kind": p.applicant_kind, "proxy_name": p.proxy_name,
                                           "proxy_id_number": p.proxy_id_number})
        approved = p.status in ("approved", "in_progress", "completed")
        assert (p.number is not None) == approved and (p.approved_at is not None) == approved
        if approved:
            on_file = set(scalars(select(Document.doc_type).where(Document.unit_id == p.unit_id)))
            assert p.agreement_signed and p.rules_acknowledged and p.plan_reviewed_at <= p.approved_at
            if p.structural or p.added_load:
                assert "alteration_approval" in on_file
            if p.applicant_kind == "proxy":
                assert {"power_of_attorney", "proxy_id_copy"} <= on_file
        if p.waste_fee_paid:
            assert p.waste_fee_payment.amount == p.waste_fee
    for m in scalars(select(MoveIn)):
        assert not MoveIn.check({"handler_kind": m.handler_kind, "proxy_name": m.proxy_name,
                                 "proxy_id_number": m.proxy_id_number, "keys_count": m.keys_count})
        if m.status == "completed":
            assert m.fee_payment_id and m.completed_at >= m.handled_at and m.unit.handover_date is not None
    for s in scalars(select(Survey)):
        assert not Survey.check({k: getattr(s, k) for k in ("distributed_on", "collected_on", "score_service",
                                                              "score_cleaning", "score_security",
                                                              "score_maintenance", "score_greening")})
    for v in scalars(select(Visitor)):
        assert not Visitor.check({"unit": v.unit, "visited_department": v.visited_department,
                                  "time_in": v.time_in, "time_out": v.time_out})


def test_search_tables_are_rebuilt_and_their_triggers_back(seeded, ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 search tables are SQLite's")
    from app.fulltext import indexed_models
    from schema import REGISTRY

    for model in indexed_models(REGISTRY):
        table = model.__tablename__
        assert (db.session.scalar(text(f"SELECT count(*) FROM {table}_fts_docsize"))
                == db.session.scalar(text(f"SELECT count(*) FROM {table}"))), table
        triggers = scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t")
                           .bindparams(t=table))
        assert len(triggers) == 3, table


# ---------------------------------------------------------------- the command and the panel


def test_cli_refuses_a_database_that_holds_units(seeded, app):
    result = app.test_cli_runner().invoke(args=["seed-scale", "--units", "200", "--quiet"])
    assert result.exit_code != 0
    assert "已有房屋数据" in result.output
    with app.app_context():
        assert n(Unit) == UNITS


@pytest.mark.parametrize("table", ("charge", "payment", "work_order", "call_log", "owner", "unit"))
def test_admin_lists_render_on_the_generated_data(seeded, app, table):
    browser = Browser(app).login("admin", DEMO_PASSWORD)
    resp = browser.get(f"/admin/{table}/")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


def test_list_search_finds_generated_owners(seeded, app):
    with app.app_context():
        name = db.session.scalar(select(Owner.name).where(Owner.kind == "person").order_by(Owner.id).limit(1))
    browser = Browser(app).login("admin", DEMO_PASSWORD)
    resp = browser.get(f"/admin/owner/?search={name}")
    assert resp.status_code == 200 and name in resp.get_data(as_text=True)
