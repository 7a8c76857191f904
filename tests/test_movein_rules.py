"""Move-in rules (为业主办理入住服务): required documents by way of handling (本人/委托/单位), documents
found by owner or by unit, every completion check, completing (unit 已入住 + handover date), and the
management fee collected at move-in (charge + receipt + allocation)."""
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.ledger import LedgerError
from app.movein import (
    REQUIRED_DOCUMENTS, MoveInError, collect_move_in_fee, complete_move_in, completion_problems,
    missing_documents, required_document_labels,
)
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.occupancy import MoveIn
from schema.org import AppUser, AuditLog
from schema.property import Unit
from tests import factories

D = Decimal
T0 = datetime(2026, 11, 27, 10, 30)
BASE_LABELS = ["身份证复印件", "入住通知单", "房屋买卖契约"]


def move_in(kind="owner", *, unit=None, owner=None, **kw):
    m = MoveIn(unit=unit or factories.unit(status="vacant"), owner=owner or factories.owner(), handler_kind=kind,
               handled_at=T0, **kw)
    if kind == "proxy":
        m.proxy_name, m.proxy_id_number = "李四", factories.resident_id()
    db.session.add(m)
    return m


def file_documents(m, types=None, link="owner"):
    for doc_type in types if types is not None else REQUIRED_DOCUMENTS[m.handler_kind]:
        d = factories.document(doc_type=doc_type, title=doc_type, owner=m.owner, unit=m.unit)
        if link == "unit":
            d.owner = None
        elif link == "owner":
            d.unit = None


def ready(kind="owner", collect=True, **kw) -> MoveIn:
    """A move-in with everything done (documents, forms, keys, handbook, drawings, readings, fee)."""
    m = move_in(kind, **{"registration_form_signed": True, "agreements_signed": True, "keys_count": 3,
                         "handbook_given": True, "drawings_given": True, "water_reading": D("12.00"),
                         "electricity_reading": D("356.50"), "gas_reading": D("8.20"), "readings_confirmed": True,
                         **kw})
    file_documents(m)
    db.session.flush()
    if collect:
        collect_move_in_fee(m, D("671.25"), "cash", months=3, at=T0)
    return m


def actions(table, record_id):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == table,
                                                            AuditLog.record_id == record_id)
                              .order_by(AuditLog.id)).all()


# ---------------------------------------------------------------- required documents


def test_required_documents_per_kind():
    assert REQUIRED_DOCUMENTS == {
        "owner": ("id_copy", "movein_notice", "purchase_contract"),
        "proxy": ("id_copy", "movein_notice", "purchase_contract", "power_of_attorney", "proxy_id_copy"),
        "company": ("id_copy", "movein_notice", "purchase_contract", "company_proof", "proxy_id_copy"),
    }


@pytest.mark.parametrize("kind, labels", [
    ("owner", BASE_LABELS),
    ("proxy", BASE_LABELS + ["委托书", "受托人身份证复印件"]),
    ("company", BASE_LABELS + ["单位证明", "经办人身份证明"]),
])
def test_nothing_on_file_misses_every_required_document(ctx, kind, labels):
    m = move_in(kind)
    assert missing_documents(m) == labels
    assert required_document_labels(m) == labels


@pytest.mark.parametrize("link", ["owner", "unit", "both"])
def test_documents_count_by_owner_or_by_unit(ctx, link):
    m = move_in("proxy")
    file_documents(m, ["id_copy", "purchase_contract", "proxy_id_copy"], link=link)
    db.session.commit()
    assert missing_documents(m) == ["入住通知单", "委托书"]


def test_documents_of_another_owner_and_unit_do_not_count(ctx):
    m = move_in()
    factories.document(doc_type="id_copy", unit=factories.unit())  # someone else's, elsewhere
    factories.document(doc_type="movein_notice", owner=m.owner, unit=factories.unit())  # same owner counts
    d = factories.document(doc_type="purchase_contract", unit=m.unit)  # other owner, same unit counts
    assert d.owner is not m.owner
    db.session.commit()
    assert missing_documents(m) == ["身份证复印件"]


def test_other_document_types_do_not_count(ctx):
    m = move_in()
    file_documents(m, ["other", "agreement", "registration_form"])
    assert missing_documents(m) == BASE_LABELS


# ---------------------------------------------------------------- completion problems


def test_ready_move_in_has_no_problems(ctx):
    for kind in ("owner", "proxy", "company"):
        assert completion_problems(ready(kind)) == []


def test_missing_documents_in_one_problem(ctx):
    m = move_in("company")
    file_documents(m, ["movein_notice", "purchase_contract", "company_proof"])
    assert completion_problems(m)[0] == "缺少资料:身份证复印件、经办人身份证明"


def test_new_move_in_lists_every_problem_in_order(ctx):
    m = move_in()
    assert completion_problems(m) == [
        "缺少资料:身份证复印件、入住通知单、房屋买卖契约", "未填写住户登记表", "未签订相关协议", "未移交钥匙",
        "未发放住户手册", "未发放水电图", "水电燃气读数未经业主确认", "未收取物业管理费"]


@pytest.mark.parametrize("field, value, problem", [
    ("registration_form_signed", False, "未填写住户登记表"),
    ("agreements_signed", False, "未签订相关协议"),
    ("keys_count", 0, "未移交钥匙"),
    ("handbook_given", False, "未发放住户手册"),
    ("drawings_given", False, "未发放水电图"),
    ("readings_confirmed", False, "水电燃气读数未经业主确认"),
    ("water_reading", None, "水电燃气读数未经业主确认"),
    ("electricity_reading", None, "水电燃气读数未经业主确认"),
    ("gas_reading", None, "水电燃气读数未经业主确认"),
])
def test_each_problem(ctx, field, value, problem):
    m = ready()
    setattr(m, field, value)
    assert completion_problems(m) == [problem]
    with pytest.raises(MoveInError, match=problem):
        complete_move_in(m, at=T0)


def test_fee_not_collected(ctx):
    m = ready(collect=False)
    assert completion_problems(m) == ["未收取物业管理费"]


def test_zero_readings_are_readings(ctx):
    m = ready(water_reading=D("0"), electricity_reading=D("0"), gas_reading=D("0"))
    assert completion_problems(m) == []


def test_refusal_joins_every_problem(ctx):
    m = ready(collect=False)
    m.keys_count = 0
    with pytest.raises(MoveInError) as exc:
        complete_move_in(m, at=T0)
    assert str(exc.value) == "未移交钥匙；未收取物业管理费"
    assert m.status == "open" and m.completed_at is None and m.unit.status == "vacant"


# ---------------------------------------------------------------- completing


def test_complete_sets_unit_occupied_and_handover_date(ctx, users):
    m = ready()
    user = db.session.execute(select(AppUser).filter_by(username="frontdesk")).scalar_one()
    complete_move_in(m, user, at=T0)
    db.session.commit()
    mid, uid = m.id, m.unit_id
    db.session.expire_all()
    m, unit = db.session.get(MoveIn, mid), db.session.get(Unit, uid)
    assert (m.status, m.completed_at) == ("completed", T0)
    assert (unit.status, unit.handover_date) == ("occupied", T0.date())
    assert "完成入住" in actions("move_in", mid) and "完成入住" in actions("unit", uid)
    log = db.session.execute(select(AuditLog).filter_by(table_name="move_in", record_id=mid, action="完成入住")) \
        .scalar_one()
    assert log.username == "frontdesk"


def test_complete_keeps_an_existing_handover_date(ctx):
    m = ready(unit=factories.unit(status="vacant", handover_date=date(2026, 6, 30)))
    complete_move_in(m, "frontdesk", at=T0)
    assert (m.unit.status, m.unit.handover_date) == ("occupied", date(2026, 6, 30))


def test_complete_defaults_to_the_office_clock(ctx, monkeypatch):
    from app import clock

    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 1, 9, 0))
    m = ready()
    complete_move_in(m)
    assert m.completed_at == datetime(2026, 12, 1, 9, 0) and m.unit.handover_date == date(2026, 12, 1)


def test_complete_refuses_twice(ctx):
    m = ready()
    complete_move_in(m, at=T0)
    db.session.commit()
    with pytest.raises(MoveInError, match="^该入住已办理完成$"):
        complete_move_in(m, at=datetime(2026, 11, 28, 9, 0))
    assert m.completed_at == T0


# ---------------------------------------------------------------- the fee


def test_collect_fee_creates_charge_payment_and_allocation(ctx, users):
    m = ready(collect=False)
    clerk = db.session.execute(select(AppUser).filter_by(username="leasing")).scalar_one()
    payment = collect_move_in_fee(m, "671.25", "wechat", months=3, clerk=clerk, at=T0)
    db.session.commit()
    mid, pid = m.id, payment.id
    db.session.expire_all()
    m, payment = db.session.get(MoveIn, mid), db.session.get(Payment, pid)
    assert m.fee_payment_id == pid
    assert payment.receipt_no == "SK20261127-0001"
    assert (payment.amount, payment.method, payment.paid_at, payment.status) == (D("671.25"), "wechat", T0, "valid")
    assert (payment.unit_id, payment.owner_id, payment.payer_name, payment.clerk_id) == \
        (m.unit_id, m.owner_id, "张三", clerk.id)
    charge = db.session.execute(select(Charge)).scalar_one()
    assert (charge.kind, charge.unit_id, charge.owner_id, charge.payer_name) == \
        ("mgmt_fee", m.unit_id, m.owner_id, "张三")
    assert (charge.period, charge.due_date, charge.amount) == ("入住预收3个月", T0.date(), D("671.25"))
    assert (charge.amount_paid, charge.status) == (D("671.25"), "paid")
    alloc = db.session.execute(select(PaymentAllocation)).scalar_one()
    assert (alloc.payment_id, alloc.charge_id, alloc.amount) == (pid, charge.id, D("671.25"))
    assert completion_problems(m) == []
    assert "收取入住物业费" in actions("move_in", mid)
    assert "收取入住物业费" in actions("charge", charge.id) and "收取入住物业费" in actions("payment", pid)


def test_collect_fee_default_one_month(ctx):
    m = ready(collect=False)
    collect_move_in_fee(m, D("223.75"), "cash", at=T0)
    assert db.session.execute(select(Charge.period)).scalar_one() == "入住预收1个月"


def test_collect_fee_only_settles_its_own_charge(ctx):
    m = ready(collect=False)
    old = factories.charge(unit=m.unit, owner=m.owner, due_date=date(2026, 1, 31))
    collect_move_in_fee(m, D("100"), "cash", at=T0)
    assert (old.amount_paid, old.status) == (D("0"), "unpaid")


def test_collect_fee_refuses_twice(ctx):
    m = ready()
    db.session.commit()
    receipt = m.fee_payment.receipt_no
    with pytest.raises(MoveInError, match=f"^该入住已收取物业管理费,收据号 {receipt}$"):
        collect_move_in_fee(m, D("100"), "cash", at=T0)
    assert db.session.query(Payment).count() == 1 and db.session.query(Charge).count() == 1


@pytest.mark.parametrize("amount", [0, "0.00", -5, "0.004"])
def test_collect_fee_refuses_non_positive_amounts(ctx, amount):
    m = ready(collect=False)
    with pytest.raises(MoveInError, match="物业管理费金额必须大于0"):
        collect_move_in_fee(m, amount, "cash", at=T0)
    assert m.fee_payment is None and db.session.query(Charge).count() == 0


@pytest.mark.parametrize("months", [0, -1, 1.5, "3"])
def test_collect_fee_refuses_bad_months(ctx, months):
    with pytest.raises(MoveInError, match="预收月数须为正整数"):
        collect_move_in_fee(ready(collect=False), D("100"), "cash", months=months, at=T0)


@pytest.mark.parametrize("method", ["bitcoin", None, ""])
def test_collect_fee_refuses_an_unknown_method_before_writing(ctx, method):
    m = ready(collect=False)
    with pytest.raises(MoveInError, match="收款方式不正确"):
        collect_move_in_fee(m, D("100"), method, at=T0)
    assert db.session.query(Charge).count() == 0


def test_collect_fee_bad_amount_text_is_a_ledger_refusal(ctx):
    with pytest.raises(LedgerError, match="金额格式不正确"):
        collect_move_in_fee(ready(collect=False), "abc", "cash", at=T0)


def test_prepaid_months_are_not_billed_again(ctx):
    """The move-in's 入住预收3个月 covers its month and the next two: monthly billing leaves the unit out
    for those months (the fee would otherwise be charged twice) and bills it again after them."""
    from app.billing import bill_month, prepaid_span

    m = ready()  # T0's month and the two after, prepaid
    m.unit.status = "occupied"  # billable
    db.session.commit()
    first, last = prepaid_span(T0.date(), 3)
    charge = db.session.scalars(select(Charge).where(Charge.unit_id == m.unit_id)).one()
    assert (charge.period_start, charge.period_end) == (first, last) and first.day == 1
    covered = [(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1) for k in range(4)]
    for year, month in covered[:3]:
        bill_month(year, month, unit_ids=[m.unit_id])
    assert db.session.scalar(select(func.count()).select_from(Charge).where(Charge.unit_id == m.unit_id)) == 1
    bill_month(*covered[3], unit_ids=[m.unit_id])  # the fourth month is billed as usual
    assert db.session.scalar(select(func.count()).select_from(Charge).where(Charge.unit_id == m.unit_id)) == 2
    assert prepaid_span(date(2026, 11, 20), 3) == (date(2026, 11, 1), date(2027, 1, 31))
    assert prepaid_span(date(2026, 12, 5), 1) == (date(2026, 12, 1), date(2026, 12, 31))
