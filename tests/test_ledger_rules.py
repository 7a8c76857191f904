"""Ledger rules: receipt numbering, allocation oldest-due first, voiding with reasons, 大写金额."""
from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.custody import CUSTODY_FEE_FACTOR, fee_factor
from app.extensions import db
from app.ledger import (LedgerError, allocate, amount_in_words, charge_form_errors, charge_status,
                        mgmt_fee_amount, money, open_charges, record_payment, recompute_charge, void_charge,
                        void_payment)
from app.numbering import next_number
from schema.leasing import LeasableAsset, Lease
from schema.ledger import Charge, NumberSequence, Payment, PaymentAllocation
from schema.org import AuditLog

from . import factories as f

D = Decimal


def charge(unit=None, lease=None, amount="100.00", due=date(2026, 1, 31), kind="mgmt_fee", period="2026-01", **kw):
    c = Charge(kind=kind, unit=unit, lease=lease, payer_name=kw.pop("payer_name", "张三"), period=period,
               due_date=due, amount=D(amount), amount_paid=D("0.00"), status="unpaid", **kw)
    db.session.add(c)
    return c


def lease(**kw) -> Lease:
    asset = LeasableAsset(kind="venue", code=f"CD-{datetime.now().timestamp()}", name="东门场地",
                          list_price=D("3000.00"))
    row = Lease(**{"asset": asset, "contract_no": f"HT-{datetime.now().timestamp()}", "tenant_name": "王五",
                   "tenant_phone": f.mobile(), "start_date": date(2026, 1, 1), "end_date": date(2026, 12, 31),
                   "rent": D("3000.00"), "deposit": D("0.00"), "venue_fee": D("0.00"), **kw})
    db.session.add_all([asset, row])
    return row


# ---------------------------------------------------------------- numbering

def test_numbers_run_per_prefix_per_day(ctx):
    day = date(2026, 11, 27)
    assert next_number("SK", day) == "SK20261127-0001"
    assert next_number("SK", day) == "SK20261127-0002"
    assert next_number("CJ", day) == "CJ20261127-0001"
    assert next_number("SK", date(2026, 11, 28)) == "SK20261128-0001"
    assert next_number("SK", day) == "SK20261127-0003"
    db.session.commit()
    rows = {(r.prefix, r.day): r.last for r in db.session.execute(select(NumberSequence)).scalars()}
    assert rows == {("SK", "20261127"): 3, ("CJ", "20261127"): 1, ("SK", "20261128"): 1}


def test_number_defaults_to_office_today(ctx, monkeypatch):
    from app import clock

    monkeypatch.setattr(clock, "today", lambda: date(2027, 1, 5))
    assert next_number("SK") == "SK20270105-0001"


def test_rolled_back_transaction_gives_its_number_back(ctx):
    day = date(2026, 11, 27)
    assert next_number("SK", day) == "SK20261127-0001"
    db.session.commit()
    assert next_number("SK", day) == "SK20261127-0002"
    db.session.rollback()
    assert next_number("SK", day) == "SK20261127-0002"


def test_numbers_never_repeat_across_concurrent_sessions(app):
    """Several threads, each with its own session and transaction, take numbers at once."""
    day, got, errors = date(2026, 11, 27), [], []

    def worker():
        try:
            with app.app_context():
                for _ in range(10):
                    got.append(next_number("SK", day))
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(got) == 40 and len(set(got)) == 40
    assert sorted(got) == [f"SK20261127-{i:04d}" for i in range(1, 41)]


# ---------------------------------------------------------------- small rules

def test_money_rounds_half_up():
    assert money("2.345") == D("2.35")
    assert money(D("2.344")) == D("2.34")
    assert money(0.1) == D("0.10")
    assert money(3) == D("3.00")
    assert money("-1.005") == D("-1.01")


def test_charge_status():
    assert charge_status(D("100"), D("0")) == "unpaid"
    assert charge_status(D("100"), D("0.01")) == "partial"
    assert charge_status(D("100"), D("99.99")) == "partial"
    assert charge_status(D("100"), D("100.00")) == "paid"
    assert charge_status(D("100"), D("120")) == "paid"
    assert charge_status(D("100"), D("100"), voided=True) == "void"


def test_mgmt_fee_amount_rounding():
    assert mgmt_fee_amount(D("89.50"), D("2.50")) == D("223.75")
    assert mgmt_fee_amount(D("89.50"), D("2.50"), D("0.70")) == D("156.63")  # 156.625 rounds up
    assert mgmt_fee_amount(D("120.35"), D("1.80")) == D("216.63")  # 216.63
    assert mgmt_fee_amount(D("0.01"), D("0.50")) == D("0.01")  # 0.005 rounds up
    assert mgmt_fee_amount(D("0.01"), D("0.40")) == D("0.00")  # 0.004 rounds down
    assert mgmt_fee_amount(D("100"), D("0")) == D("0.00")
    assert mgmt_fee_amount(D("57.30"), D("3.10"), CUSTODY_FEE_FACTOR) == D("124.34")  # 124.341


def test_fee_factor():
    assert CUSTODY_FEE_FACTOR == D("0.70")
    assert fee_factor("custody") == D("0.70")
    for status in ("occupied", "renovating", "vacant"):
        assert fee_factor(status) == D("1.00")


def test_charge_form_errors(ctx):
    u, ls = f.unit(), lease()
    ok = dict(kind="mgmt_fee", unit=u, owner=None, lease=None, payer_name="张三", period="2026-11",
              period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), due_date=date(2026, 11, 30),
              amount=D("223.75"))
    assert charge_form_errors(ok) == {}
    assert charge_form_errors({**ok, "unit": None}) == {"unit": "请选择房屋或租赁合同"}
    assert charge_form_errors({**ok, "lease": ls}) == {"unit": "房屋费用和租赁费用不能同时选择"}
    assert charge_form_errors({**ok, "kind": "rent"}) == {"lease": "租金和场地管理费须关联租赁合同"}
    assert charge_form_errors({**ok, "kind": "venue_fee"}) == {"lease": "租金和场地管理费须关联租赁合同"}
    assert charge_form_errors({**ok, "kind": "rent", "unit": None, "lease": ls}) == {}
    assert charge_form_errors({**ok, "period_end": date(2026, 10, 31)}) == {"period_end": "结束日期不能早于开始日期"}
    assert charge_form_errors({**ok, "period_end": date(2026, 11, 1)}) == {}
    assert charge_form_errors({**ok, "amount": D("0")}) == {"amount": "应收金额必须大于0"}
    assert charge_form_errors({**ok, "amount": D("-5")}) == {"amount": "应收金额必须大于0"}
    assert Charge.check({**ok, "unit": None, "amount": D("0")}) == {"unit": "请选择房屋或租赁合同",
                                                                   "amount": "应收金额必须大于0"}


@pytest.mark.parametrize("amount, words", [
    ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
    ("100", "壹佰元整"),
    ("1005.30", "壹仟零伍元叁角整"),
    ("0.05", "伍分"),
    ("100000", "壹拾万元整"),
    ("10010000.01", "壹仟零壹万元零壹分"),
    ("0", "零元整"),
    ("0.50", "伍角整"),
    ("0.56", "伍角陆分"),
    ("1000.05", "壹仟元零伍分"),
    ("101", "壹佰零壹元整"),
    ("110.01", "壹佰壹拾元零壹分"),
    ("100010", "壹拾万零壹拾元整"),
    ("10001000", "壹仟万壹仟元整"),
    ("10100000", "壹仟零壹拾万元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("1000000001", "壹拾亿零壹元整"),
    ("223.75", "贰佰贰拾叁元柒角伍分"),
    ("156.63", "壹佰伍拾陆元陆角叁分"),
    ("9999999999.99", "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("-12.50", "负壹拾贰元伍角整"),
    ("2.345", "贰元叁角伍分"),  # rounded half-up to 2.35 first
])
def test_amount_in_words(amount, words):
    assert amount_in_words(D(amount)) == words


def test_amount_in_words_accepts_int():
    assert amount_in_words(0) == "零元整"
    assert amount_in_words(20) == "贰拾元整"


# ---------------------------------------------------------------- allocation

@pytest.fixture
def three(ctx):
    """A unit owing three charges, due Jan, Feb, Mar (created out of order)."""
    u = f.unit()
    mar = charge(u, amount="300.00", due=date(2026, 3, 31), period="2026-03")
    jan = charge(u, amount="100.00", due=date(2026, 1, 31), period="2026-01")
    feb = charge(u, amount="200.00", due=date(2026, 2, 28), period="2026-02")
    db.session.commit()
    return u, jan, feb, mar


def test_open_charges_oldest_due_first(three):
    u, jan, feb, mar = three
    assert [c.id for c in open_charges(unit_id=u.id)] == [jan.id, feb.id, mar.id]
    assert open_charges() == []
    assert open_charges(unit_id=f.unit().id) == []


def test_partial_payment_settles_oldest_first(three):
    u, jan, feb, mar = three
    p = record_payment(amount=D("250.00"), method="cash", payer_name="张三", unit=u,
                       paid_at=datetime(2026, 11, 27, 10, 30))
    db.session.commit()
    assert p.receipt_no == "SK20261127-0001"
    assert (jan.amount_paid, jan.status) == (D("100.00"), "paid")
    assert (feb.amount_paid, feb.status) == (D("150.00"), "partial")
    assert (mar.amount_paid, mar.status) == (D("0.00"), "unpaid")
    assert feb.balance == D("50.00")
    allocs = {a.charge_id: a.amount for a in db.session.execute(select(PaymentAllocation)).scalars()}
    assert allocs == {jan.id: D("100.00"), feb.id: D("150.00")}
    assert [c.id for c in open_charges(unit_id=u.id)] == [feb.id, mar.id]

    p2 = record_payment(amount="350", method="wechat", payer_name="张三", unit=u, paid_at=datetime(2026, 11, 27, 11))
    db.session.commit()
    assert p2.receipt_no == "SK20261127-0002"
    assert (feb.status, mar.status, mar.amount_paid) == ("paid", "paid", D("300.00"))
    assert open_charges(unit_id=u.id) == []


def test_overpayment_leaves_credit(three):
    u, jan, feb, mar = three
    p = Payment(receipt_no="X1", unit=u, payer_name="张三", amount=D("650.50"), method="bank",
                paid_at=datetime(2026, 11, 27, 9))
    db.session.add(p)
    db.session.flush()
    assert allocate(p) == D("50.50")
    db.session.commit()
    assert [c.status for c in (jan, feb, mar)] == ["paid", "paid", "paid"]
    assert sum(a.amount for a in p.allocations) == D("600.00")
    assert allocate(p) == D("50.50")  # nothing left to settle, nothing allocated twice


def test_picked_charges_in_given_order_capped_at_balance(three):
    u, jan, feb, mar = three
    record_payment(amount=D("350.00"), method="cash", payer_name="张三", unit=u,
                       charge_ids=[mar.id, feb.id], paid_at=datetime(2026, 11, 27, 9))
    db.session.commit()
    assert (jan.amount_paid, jan.status) == (D("0.00"), "unpaid")
    assert (mar.amount_paid, mar.status) == (D("300.00"), "paid")
    assert (feb.amount_paid, feb.status) == (D("50.00"), "partial")
    p2 = Payment(receipt_no="X2", unit=u, payer_name="张三", amount=D("500.00"), method="cash",
                 paid_at=datetime(2026, 11, 27, 9))
    db.session.add(p2)
    assert allocate(p2, [feb.id]) == D("350.00")  # capped at feb's 150 balance
    assert feb.status == "paid" and jan.status == "unpaid"


def test_picked_charge_refusals(three):
    u, jan, feb, mar = three
    other = charge(f.unit(), amount="80.00")
    voided = charge(u, amount="10.00")
    db.session.commit()
    void_charge(voided, "重复录入")
    db.session.commit()

    def pay(ids):
        return record_payment(amount=D("100"), method="cash", payer_name="张三", unit=u, charge_ids=ids,
                              paid_at=datetime(2026, 11, 27, 9))

    with pytest.raises(LedgerError, match="已作废"):
        pay([voided.id])
    db.session.rollback()
    with pytest.raises(LedgerError, match="不属于该缴费人"):
        pay([jan.id, other.id])
    db.session.rollback()
    pay([jan.id])
    db.session.commit()
    with pytest.raises(LedgerError, match="已缴清"):
        pay([jan.id])
    db.session.rollback()
    assert isinstance(LedgerError("x"), ValueError)
    assert db.session.query(Payment).count() == 1
    assert (other.amount_paid, jan.amount_paid) == (D("0.00"), D("100.00"))


def test_lease_payment_settles_lease_charges(ctx):
    ls = lease()
    rent = charge(lease=ls, kind="rent", amount="3000.00", due=date(2026, 11, 5), payer_name="王五")
    db.session.commit()
    p = record_payment(amount="3000", method="alipay", payer_name="", lease=ls, paid_at=datetime(2026, 11, 27, 9))
    db.session.commit()
    assert p.payer_name == "王五" and rent.status == "paid"


def test_record_payment_unwraps_the_current_user_proxy(ctx, users):
    from werkzeug.local import LocalProxy

    from schema.org import AppUser

    u = f.unit()
    clerk = db.session.execute(select(AppUser).filter_by(username="frontdesk")).scalar_one()
    p = record_payment(amount="10", method="cash", payer_name="张三", unit=u, clerk=LocalProxy(lambda: clerk),
                       paid_at=datetime(2026, 11, 27, 9), note="现金")
    db.session.commit()
    assert p.clerk is clerk and p.clerk_id == clerk.id and p.status == "valid"


def test_record_payment_validation(ctx):
    u = f.unit()
    with pytest.raises(LedgerError, match="收款金额必须大于0"):
        record_payment(amount=D("0"), method="cash", payer_name="张三", unit=u)
    with pytest.raises(LedgerError, match="收款金额必须大于0"):
        record_payment(amount=D("-3"), method="cash", payer_name="张三", unit=u)
    with pytest.raises(LedgerError, match="请选择房屋或租赁合同"):
        record_payment(amount=D("10"), method="cash", payer_name="张三")


# ---------------------------------------------------------------- voiding

def test_void_charge_with_payment_is_refused(three):
    u, jan, feb, mar = three
    record_payment(amount=D("50"), method="cash", payer_name="张三", unit=u, paid_at=datetime(2026, 11, 27, 9))
    db.session.commit()
    with pytest.raises(LedgerError, match="该费用已有收款,请先作废对应的收款记录"):
        void_charge(jan, "录错金额")
    with pytest.raises(LedgerError, match="请填写作废原因"):
        void_charge(feb, "  ")
    db.session.rollback()
    assert jan.status == "partial" and feb.status == "unpaid"


def test_void_charge_writes_reason_to_audit_log(three, users):
    from schema.org import AppUser

    u, jan, feb, mar = three
    clerk = db.session.execute(select(AppUser).filter_by(username="leasing")).scalar_one()
    void_charge(mar, "业主已退房,费用录重", user=clerk)
    db.session.commit()
    assert (mar.status, mar.void_reason, mar.balance) == ("void", "业主已退房,费用录重", D("0"))
    log = db.session.execute(select(AuditLog).filter_by(table_name="charge", record_id=mar.id, action="作废")) \
        .scalar_one()
    assert log.note == "业主已退房,费用录重" and log.operation == "修改" and log.username == "leasing"
    assert '"void"' in log.changes
    with pytest.raises(LedgerError, match="已作废"):
        void_charge(mar, "再次作废")
    assert [c.id for c in open_charges(unit_id=u.id)] == [jan.id, feb.id]


def test_void_payment_restores_charges(three):
    u, jan, feb, mar = three
    first = record_payment(amount=D("120.00"), method="cash", payer_name="张三", unit=u,
                           paid_at=datetime(2026, 11, 27, 9))
    second = record_payment(amount=D("250.00"), method="cash", payer_name="张三", unit=u,
                            paid_at=datetime(2026, 11, 27, 10))
    db.session.commit()
    assert [(c.amount_paid, c.status) for c in (jan, feb, mar)] == [
        (D("100.00"), "paid"), (D("200.00"), "paid"), (D("70.00"), "partial")]

    void_payment(second, "收据打印错误")
    db.session.commit()
    assert (second.status, second.void_reason) == ("void", "收据打印错误")
    assert [(c.amount_paid, c.status) for c in (jan, feb, mar)] == [
        (D("100.00"), "paid"), (D("20.00"), "partial"), (D("0.00"), "unpaid")]
    assert db.session.query(PaymentAllocation).count() == 4  # history kept
    log = db.session.execute(select(AuditLog).filter_by(table_name="payment", record_id=second.id,
                                                        action="作废")).scalar_one()
    assert log.note == "收据打印错误"

    with pytest.raises(LedgerError, match="已作废"):
        void_payment(second, "again")
    with pytest.raises(LedgerError, match="请填写作废原因"):
        void_payment(first, "")

    void_payment(first, "退款")
    db.session.commit()
    assert [(c.amount_paid, c.status) for c in (jan, feb, mar)] == [
        (D("0.00"), "unpaid"), (D("0.00"), "unpaid"), (D("0.00"), "unpaid")]
    void_charge(jan, "免收")  # no valid payment left on it
    db.session.commit()
    recompute_charge(jan)
    assert jan.status == "void"
    with pytest.raises(LedgerError, match="已作废"):
        allocate(first)
