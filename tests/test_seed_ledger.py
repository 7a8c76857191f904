"""The demo ledger (seed/ledger_demo.py, loaded by seed.demo.load): arrears in every bucket whenever the demo
is loaded, leases of every kind and state, dunning with broken promises, voided entries, and books that add up."""
from __future__ import annotations

import re

import pytest
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import clock
from app.arrears import BUCKET_KEYS, arrears_rows, arrears_totals
from app.extensions import db
from app.leasing import ending_soon
from app.ledger import charge_status
from app.validators import check_credit_code, check_phone, check_resident_id
from schema.dunning import Dunning
from schema.leasing import LeasableAsset, Lease
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.org import AuditLog
from seed.demo import load
from tests.conftest import wipe

LEDGER_TABLES = (Charge, Payment, PaymentAllocation, LeasableAsset, Lease, Dunning)
pytestmark = pytest.mark.shared_data  # one demo load for the module (it takes seconds), read-only tests


@pytest.fixture(scope="module")
def seeded(app):
    with app.app_context():
        counts = load()
        yield counts
        db.session.remove()
    wipe(app)


def test_arrears_fill_every_bucket_with_dunning_and_broken_promises(seeded):
    counts = seeded
    for model in LEDGER_TABLES:
        n = db.session.scalar(select(func.count()).select_from(model))
        assert counts[model.__tablename__] == n > 0, model.__tablename__

    today = clock.today()
    units = arrears_totals("unit", today)
    assert all(units[k] > 0 for k in BUCKET_KEYS), units["buckets"]
    leases = arrears_totals("lease", today)
    assert sum(leases[k] > 0 for k in BUCKET_KEYS[1:]) >= 3, leases["buckets"]

    unit_rows = arrears_rows("unit", today)
    lease_rows = arrears_rows("lease", today)
    assert sum(r["broken_promise"] for r in unit_rows) >= 3
    assert sum(r["broken_promise"] for r in lease_rows) >= 1

    dunnings = db.session.scalars(select(Dunning)).all()
    dunned_units = {d.unit_id for d in dunnings if d.unit_id}
    dunned_leases = {d.lease_id for d in dunnings if d.lease_id}
    assert 12 <= len(dunned_units) <= 18 and 3 <= len(dunned_leases) <= 5
    assert {d.method for d in dunnings} == {"phone", "visit"}
    assert any(d.promised_date and d.promised_date > today for d in dunnings)
    for d in dunnings:
        assert d.staff.username == "leasing"
        assert Dunning.check({"unit": d.unit, "lease": d.lease, "at": d.at, "promised_date": d.promised_date}) == {}
        assert d.at.date() < today
        assert d.charges, d.payer_name
        for c in d.charges:
            assert (c.unit_id, c.lease_id) == (d.unit_id, d.lease_id)
            assert c.due_date < d.at.date() and c.status != "void"


def test_voided_entries_have_reasons_and_audit_rows(seeded):
    duplicates = db.session.scalars(select(Charge).where(Charge.status == "void",
                                                         Charge.void_reason.contains("重复计费"))).all()
    assert len(duplicates) >= 2
    assert all(c.amount_paid == 0 and c.balance == 0 for c in duplicates)
    payments = db.session.scalars(select(Payment).where(Payment.status == "void")).all()
    assert len(payments) == 2 and all(p.void_reason for p in payments)

    voids = db.session.execute(select(AuditLog.table_name, AuditLog.record_id, AuditLog.note)
                               .where(AuditLog.action == "作废")).all()
    voided = {(t, r) for t, r, _ in voids}
    assert {("charge", c.id) for c in duplicates} <= voided
    assert {("payment", p.id) for p in payments} <= voided
    notes = {note for _, _, note in voids}
    assert {c.void_reason for c in duplicates} <= notes and {p.void_reason for p in payments} <= notes

    for p in payments:  # each wrong receipt was re-entered with the right amount
        again = db.session.scalars(select(Payment).where(Payment.note.contains(p.receipt_no))).one()
        assert again.status == "valid" and again.amount != p.amount
        assert {a.charge_id for a in again.allocations} == {a.charge_id for a in p.allocations}
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.username != "seed")) == 0


def test_leases_cover_every_kind_and_state(seeded):
    today = clock.today()
    assets = db.session.scalars(select(LeasableAsset)).all()
    kinds = Counter(a.kind for a in assets)
    assert 4 <= kinds["ad"] <= 6 and 4 <= kinds["warehouse"] <= 6 and kinds["venue"] == 3
    prefix = {"ad": "GG", "warehouse": "CK", "venue": "CD"}
    for a in assets:
        assert re.fullmatch(prefix[a.kind] + r"-\d{2}", a.code) and a.list_price > 0 and a.name
    assert {"会所多功能厅", "中心广场"} <= {a.name for a in assets if a.kind == "venue"}

    leases = db.session.scalars(select(Lease)).all()
    assert {lease.asset.kind for lease in leases} == {"ad", "warehouse", "venue"}
    statuses = Counter(lease.status for lease in leases)
    assert statuses["negotiating"] == 1 and statuses["terminated"] >= 1
    assert any(ending_soon(lease) for lease in leases)
    assert {lease.billing_cycle for lease in leases} == {"month", "quarter", "year"}
    assert len({lease.contract_no for lease in leases}) == len(leases)
    for lease in leases:
        assert re.fullmatch(r"ZL\d{4}-\d{3}", lease.contract_no), lease.contract_no
        assert check_phone(lease.tenant_phone) is None and lease.negotiation_notes
        if lease.tenant_company:
            assert check_credit_code(lease.tenant_id_number) is None
        else:
            assert check_resident_id(lease.tenant_id_number) is None
        if lease.status == "negotiating":
            assert lease.signed_date is None and not lease.charges
        else:
            assert today - timedelta(days=365) <= lease.signed_date < today
            assert any(c.kind == "rent" for c in lease.charges)
        if lease.status in ("signed", "active"):
            assert lease.asset.status == "leased"
    venue_fees = [c for lease in leases for c in lease.charges if c.kind == "venue_fee"]
    assert venue_fees and all(c.lease.asset.kind == "venue" and c.lease.venue_fee == c.amount for c in venue_fees)
    terminated = next(lease for lease in leases if lease.status == "terminated")
    assert any(c.status == "void" and c.void_reason.startswith("合同终止") for c in terminated.charges)


def test_books_add_up_and_receipts_are_numbered(seeded):
    today = clock.today()
    payments = db.session.scalars(select(Payment)).all()
    allocated = defaultdict(Decimal)
    valid_paid = defaultdict(Decimal)
    status = {p.id: p.status for p in payments}
    for payment_id, charge_id, amount in db.session.execute(
            select(PaymentAllocation.payment_id, PaymentAllocation.charge_id, PaymentAllocation.amount)):
        allocated[payment_id] += amount
        if status[payment_id] == "valid":
            valid_paid[charge_id] += amount

    for p in payments:
        assert allocated[p.id] <= p.amount, p.receipt_no
        assert re.fullmatch(r"SK\d{8}-\d{4}", p.receipt_no), p.receipt_no
        assert p.receipt_no[2:10] == f"{p.paid_at:%Y%m%d}" and p.paid_at.date() < today
        assert p.clerk.username in ("leasing", "frontdesk")
    assert len({p.receipt_no for p in payments}) == len(payments)
    assert {p.method for p in payments} >= {"wechat", "alipay", "cash", "bank"}

    charges = db.session.scalars(select(Charge)).all()
    for c in charges:
        if c.status != "void":
            assert c.amount_paid == valid_paid[c.id], c
            assert c.status == charge_status(c.amount, c.amount_paid), c
    assert {c.status for c in charges} == {"unpaid", "partial", "paid", "void"}

    fees = Counter(c.period for c in charges if c.kind == "mgmt_fee" and c.status != "void" and c.bill_key)  # monthly billing, not move-in prepayments
    assert len(fees) == 12 and f"{today:%Y-%m}" in fees
    assert all(150 <= n <= 190 for n in fees.values()), fees
    per_payment = Counter(payment_id for payment_id, in db.session.execute(select(PaymentAllocation.payment_id)))
    assert max(per_payment.values()) >= 6  # someone paid half a year or more at once
