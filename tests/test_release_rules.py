"""Release-slip rules (放行条): the arrears gate and the supervisor's written override, the owner's
phone confirmation for a non-owner applicant, ID check and items, FXyyyymmdd-nnnn numbering,
release by the guard, voiding, and the locks once a slip is issued."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.release import (
    ReleaseError,
    applicant_is_owner,
    arrears_gate,
    confirm_owner,
    issue,
    needs_owner_confirmation,
    open_slip,
    override_arrears,
    release,
    unit_overdue,
    unit_owner_ids,
    void,
)
from schema.org import AuditLog
from schema.release import ReleaseItem, ReleaseSlip
from schema.spec import ROLES

from . import factories as f

D = Decimal
T = datetime(2026, 11, 20, 10, 0)
DAY = T.date()
PAST_DUE = DAY - timedelta(days=20)

SUPERVISOR = SimpleNamespace(username="supervisor", roles=frozenset({"supervisor"}))
FRONTDESK = SimpleNamespace(username="frontdesk", roles=frozenset({"frontdesk"}))


def user(role):
    return SimpleNamespace(username=role, roles=frozenset({role}))


def owned_unit(name="张三", id_number=None):
    o = f.owner(name=name, **({"id_number": id_number} if id_number else {}))
    own = f.ownership(owner=o)
    return own.unit, o


def new_slip(unit, id_number, applicant="张三", items=(("旧沙发", 1),), at=T, **kw):
    return open_slip(unit=unit, applicant=applicant, id_number=id_number, reason="搬家", items=list(items),
                     created_by="frontdesk", at=at, **kw)


def owner_slip(at=T):
    """A slip applied for by the unit's own owner, unit paid up."""
    unit, o = owned_unit()
    return new_slip(unit, o.id_number, at=at)


def overdue(unit, amount="300.00", due=PAST_DUE, **kw):
    return f.charge(unit=unit, due_date=due, amount=D(amount), **kw)


def audit(slip, action):
    return db.session.scalars(select(AuditLog).where(AuditLog.table_name == "release_slip",
                                                     AuditLog.record_id == slip.id, AuditLog.action == action)
                              .order_by(AuditLog.id)).all()


# ---------------------------------------------------------------- application and ownership


def test_open_slip_records_a_draft_with_items_and_an_upper_cased_id(ctx):
    unit, _ = owned_unit()
    slip = new_slip(unit, "  11010519491231002x ", items=[("旧沙发", "2"), ("纸箱", 5, "箱")], phone="13800001111")
    db.session.commit()

    slip = db.session.get(ReleaseSlip, slip.id)
    assert slip.status == "draft" and slip.number is None
    assert slip.id_number == "11010519491231002X"
    assert slip.created_at == T and slip.created_by == "frontdesk"
    assert [(i.description, i.quantity, i.measure) for i in slip.items] == [("旧沙发", 2, "件"), ("纸箱", 5, "箱")]
    assert slip.owner_confirmed is False and slip.id_checked is False


def test_unit_owner_ids_are_every_owners_id_upper_cased_and_only_this_units(ctx):
    unit, _ = owned_unit(name="张三", id_number="11010519491231002x")
    second = f.owner(name="李梅")
    f.ownership(owner=second, unit=unit, is_primary=False)
    _, stranger = owned_unit(name="王五")  # owner of another unit
    db.session.flush()

    assert unit_owner_ids(unit) == {"11010519491231002X", second.id_number.upper()}
    assert stranger.id_number not in unit_owner_ids(unit)
    assert unit_owner_ids(f.unit()) == set()


def test_applicant_is_owner_matches_any_owner_of_the_unit_by_id_number(ctx):
    unit, _ = owned_unit(name="张三", id_number="11010519491231002X")
    second = f.owner(name="李梅")
    f.ownership(owner=second, unit=unit, is_primary=False)
    _, stranger = owned_unit(name="王五")

    assert applicant_is_owner(new_slip(unit, "11010519491231002x"))
    assert applicant_is_owner(new_slip(unit, second.id_number, applicant="李梅"))
    tenant = new_slip(unit, stranger.id_number, applicant="王五", relation="tenant")
    assert not applicant_is_owner(tenant)
    assert needs_owner_confirmation(tenant)


# ---------------------------------------------------------------- arrears gate


def test_unit_overdue_sums_past_due_balances_of_non_void_charges_only(ctx):
    unit, _ = owned_unit()
    overdue(unit, "300.00")
    overdue(unit, "100.00", amount_paid=D("40.00"), status="partial")       # 60 still owed
    overdue(unit, "999.00", status="void")                                  # void: never counts
    overdue(unit, "80.00", amount_paid=D("80.00"), status="paid")            # paid up
    overdue(unit, "500.00", due=DAY)                                        # due today: not yet overdue
    overdue(f.unit(), "700.00")                                             # another unit's debt
    slip = new_slip(unit, "110105194912310021")

    assert unit_overdue(slip, DAY) == D("360.00")
    assert unit_overdue(slip, DAY + timedelta(days=1)) == D("860.00")
    assert unit_overdue(new_slip(f.unit(), "110105194912310021"), DAY) == 0


def test_arrears_gate_names_the_amount_and_is_cleared_by_an_override(ctx):
    unit, o = owned_unit()
    overdue(unit, "1234.50")
    slip = new_slip(unit, o.id_number)

    message = arrears_gate(slip, DAY)
    assert "欠费 1,234.50 元" in message and "不能开具放行条" in message and "主管" in message
    override_arrears(slip, reason="业主承诺本周缴清", user=SUPERVISOR, at=T)
    assert arrears_gate(slip, DAY) is None
    assert arrears_gate(owner_slip(), DAY) is None  # paid-up unit


def test_issue_refuses_a_unit_with_overdue_charges_and_records_the_refusal(ctx):
    unit, o = owned_unit()
    overdue(unit, "300.00")
    slip = new_slip(unit, o.id_number)

    message = issue(slip, user=FRONTDESK, id_checked=True, at=T)
    db.session.commit()

    assert message is not None and "欠费 300.00 元" in message and "不能开具放行条" in message
    slip = db.session.get(ReleaseSlip, slip.id)
    assert slip.status == "refused"
    assert slip.refused_reason == message and slip.refused_at == T
    assert slip.number is None and slip.issued_at is None and slip.issued_by is None
    rows = audit(slip, "拒开放行条")
    assert len(rows) == 1
    assert rows[0].note == message and rows[0].username == "frontdesk"
    assert audit(slip, "开具放行条") == []


def test_charge_due_on_the_day_of_issue_does_not_block_the_slip(ctx):
    unit, o = owned_unit()
    overdue(unit, "300.00", due=DAY)
    slip = new_slip(unit, o.id_number)

    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is None
    assert slip.status == "issued" and slip.arrears_at_issue == 0


def test_supervisor_override_lets_the_refused_slip_issue_and_is_audited_with_the_reason(ctx):
    unit, o = owned_unit()
    overdue(unit, "300.00")
    slip = new_slip(unit, o.id_number)
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T)  # refused first

    override_arrears(slip, reason="  业主住院,家属搬运医疗床,已承诺月底缴清  ", user=SUPERVISOR,
                     at=T + timedelta(minutes=10))
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T + timedelta(minutes=20)) is None
    db.session.commit()

    slip = db.session.get(ReleaseSlip, slip.id)
    assert slip.status == "issued" and slip.number == "FX20261120-0001"
    assert slip.override_by == "supervisor"
    assert slip.override_reason == "业主住院,家属搬运医疗床,已承诺月底缴清"
    assert slip.override_at == T + timedelta(minutes=10)
    assert slip.arrears_at_issue == D("300.00")
    rows = audit(slip, "欠费放行审批")
    assert len(rows) == 1
    assert rows[0].note == "业主住院,家属搬运医疗床,已承诺月底缴清" and rows[0].username == "supervisor"


@pytest.mark.parametrize("role", ROLES)
def test_only_admin_manager_or_supervisor_may_override_arrears(ctx, role):
    unit, o = owned_unit()
    overdue(unit)
    slip = new_slip(unit, o.id_number)
    if role in {"admin", "manager", "supervisor"}:
        override_arrears(slip, reason="主管审批", user=user(role), at=T)
        assert slip.override_by == role
    else:
        with pytest.raises(ReleaseError, match="只有主管或管理处主任可以审批欠费放行"):
            override_arrears(slip, reason="主管审批", user=user(role), at=T)
        assert slip.override_by is None and slip.override_reason is None
        assert audit(slip, "欠费放行审批") == []


def test_frontdesk_override_leaves_the_slip_refused(ctx):
    unit, o = owned_unit()
    overdue(unit)
    slip = new_slip(unit, o.id_number)
    with pytest.raises(ReleaseError, match="只有主管"):
        override_arrears(slip, reason="业主说马上交", user=FRONTDESK)
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is not None
    assert slip.status == "refused"


def test_override_by_a_real_supervisor_account(ctx, users):
    from schema.org import AppUser

    supervisor = db.session.scalars(select(AppUser).where(AppUser.username == "supervisor")).one()
    frontdesk = db.session.scalars(select(AppUser).where(AppUser.username == "frontdesk")).one()
    unit, o = owned_unit()
    overdue(unit)
    slip = new_slip(unit, o.id_number)
    with pytest.raises(ReleaseError, match="只有主管"):
        override_arrears(slip, reason="急需", user=frontdesk)
    override_arrears(slip, reason="急需", user=supervisor, at=T)
    assert slip.override_by == "supervisor"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_override_needs_a_written_reason(ctx, reason):
    unit, o = owned_unit()
    overdue(unit)
    slip = new_slip(unit, o.id_number)
    with pytest.raises(ReleaseError, match="请填写欠费放行的理由"):
        override_arrears(slip, reason=reason, user=SUPERVISOR)
    assert slip.override_by is None
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is not None


# ---------------------------------------------------------------- owner confirmation


def test_non_owner_cannot_be_issued_until_an_owner_confirms_by_phone(ctx):
    unit, _ = owned_unit(name="张三")
    slip = new_slip(unit, f.resident_id(), applicant="搬家公司刘师傅", relation="agent")

    with pytest.raises(ReleaseError, match="电话联系业主"):
        issue(slip, user=FRONTDESK, id_checked=True, at=T)
    assert slip.status == "draft" and slip.number is None and audit(slip, "开具放行条") == []

    confirm_owner(slip, confirmed_by=" 张三 ", phone=" 13800001111 ", user=FRONTDESK, at=T + timedelta(minutes=5))
    assert slip.owner_confirmed is True
    assert slip.owner_confirmed_by == "张三" and slip.owner_confirm_phone == "13800001111"
    assert slip.owner_confirmed_at == T + timedelta(minutes=5)
    assert not needs_owner_confirmation(slip)
    rows = audit(slip, "业主电话确认")
    assert len(rows) == 1 and "张三" in rows[0].note and "13800001111" in rows[0].note

    assert issue(slip, user=FRONTDESK, id_checked=True, at=T + timedelta(minutes=6)) is None
    assert slip.status == "issued" and slip.applicant_is_owner is False


def test_owner_confirmation_must_come_from_one_of_the_units_owners(ctx):
    unit, _ = owned_unit(name="张三")
    f.ownership(owner=f.owner(name="李梅"), unit=unit, is_primary=False)
    owned_unit(name="王五")  # an owner, but of another unit
    slip = new_slip(unit, f.resident_id(), applicant="赵六", relation="tenant")

    with pytest.raises(ReleaseError, match="王五 不是该房屋登记的业主") as refused:
        confirm_owner(slip, confirmed_by="王五", phone="13800001111", user=FRONTDESK)
    assert "张三、李梅" in str(refused.value) or "李梅、张三" in str(refused.value)
    assert slip.owner_confirmed is False and slip.owner_confirmed_by is None
    with pytest.raises(ReleaseError, match="电话联系业主"):
        issue(slip, user=FRONTDESK, id_checked=True, at=T)

    confirm_owner(slip, confirmed_by="李梅", phone="13800001111", user=FRONTDESK)
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is None


@pytest.mark.parametrize("name, phone", [("", "13800001111"), ("张三", ""), ("  ", "  "), (None, "13800001111")])
def test_owner_confirmation_needs_name_and_phone(ctx, name, phone):
    unit, _ = owned_unit(name="张三")
    slip = new_slip(unit, f.resident_id(), applicant="赵六")
    with pytest.raises(ReleaseError, match="请填写确认的业主姓名和联系电话"):
        confirm_owner(slip, confirmed_by=name, phone=phone, user=FRONTDESK)
    assert slip.owner_confirmed is False


def test_owner_applying_in_person_needs_no_confirmation(ctx):
    slip = owner_slip()
    assert not needs_owner_confirmation(slip)
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is None
    assert slip.applicant_is_owner is True and slip.owner_confirmed is False


# ---------------------------------------------------------------- issuing and numbering


def test_issue_requires_the_id_to_have_been_checked(ctx):
    slip = owner_slip()
    with pytest.raises(ReleaseError, match="开具前须查验申请人身份证件"):
        issue(slip, user=FRONTDESK, id_checked=False, at=T)
    assert slip.status == "draft" and slip.number is None and slip.id_checked is False


def test_issue_requires_at_least_one_item(ctx):
    unit, o = owned_unit()
    slip = new_slip(unit, o.id_number, items=[])
    with pytest.raises(ReleaseError, match="请先登记放行物品"):
        issue(slip, user=FRONTDESK, id_checked=True, at=T)
    assert slip.status == "draft" and slip.number is None


def test_issued_slip_records_number_time_clerk_and_arrears(ctx):
    slip = owner_slip()
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is None
    db.session.commit()

    slip = db.session.get(ReleaseSlip, slip.id)
    assert slip.status == "issued" and slip.number == "FX20261120-0001"
    assert slip.issued_at == T and slip.issued_by == "frontdesk"
    assert slip.id_checked is True and slip.arrears_at_issue == D("0.00")
    rows = audit(slip, "开具放行条")
    assert rows and all(r.username == "frontdesk" for r in rows)
    assert any("FX20261120-0001" in (r.changes or "") for r in rows)


def test_numbers_run_per_day_and_refused_slips_take_none(ctx):
    day2 = T + timedelta(days=1)
    first, second = owner_slip(), owner_slip()
    unit, o = owned_unit()
    overdue(unit)
    refused = new_slip(unit, o.id_number)
    next_day = owner_slip(at=day2)

    assert issue(first, user=FRONTDESK, id_checked=True, at=T) is None
    assert issue(refused, user=FRONTDESK, id_checked=True, at=T + timedelta(minutes=1)) is not None
    assert issue(second, user=FRONTDESK, id_checked=True, at=T + timedelta(hours=2)) is None
    assert issue(next_day, user=FRONTDESK, id_checked=True, at=day2) is None

    assert first.number == "FX20261120-0001"
    assert second.number == "FX20261120-0002"
    assert refused.number is None
    assert next_day.number == "FX20261121-0001"


def test_a_voided_slips_number_stays_taken(ctx):
    first, second = owner_slip(), owner_slip()
    issue(first, user=FRONTDESK, id_checked=True, at=T)
    void(first, reason="物品登记错误", user=SUPERVISOR, at=T)
    issue(second, user=FRONTDESK, id_checked=True, at=T)
    assert first.number == "FX20261120-0001" and first.status == "void"
    assert second.number == "FX20261120-0002"


@pytest.mark.parametrize("status", ["issued", "released", "void"])
@pytest.mark.parametrize("action, step", [
    ("再确认", lambda s: confirm_owner(s, confirmed_by="张三", phone="13800001111", user=FRONTDESK)),
    ("审批", lambda s: override_arrears(s, reason="急需", user=SUPERVISOR)),
    ("开具", lambda s: issue(s, user=FRONTDESK, id_checked=True, at=T)),
])
def test_confirm_override_and_issue_are_refused_once_issued(ctx, status, action, step):
    from schema.release import SlipStatus

    unit, _ = owned_unit(name="张三")
    slip = f.release_slip(unit=unit, status=status, number="FX20261120-0009")
    db.session.flush()
    with pytest.raises(ReleaseError, match=f"放行条{SlipStatus.label_of(status)},不能{action}"):
        step(slip)
    assert slip.status == status and slip.number == "FX20261120-0009"
    assert slip.owner_confirmed is False and slip.override_by is None


def test_refused_slip_can_still_be_confirmed_and_overridden(ctx):
    unit, _ = owned_unit(name="张三")
    overdue(unit)
    slip = new_slip(unit, f.resident_id(), applicant="赵六")
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is not None
    confirm_owner(slip, confirmed_by="张三", phone="13800001111", user=FRONTDESK)
    override_arrears(slip, reason="主管审批", user=SUPERVISOR)
    assert issue(slip, user=FRONTDESK, id_checked=True, at=T) is None
    assert slip.status == "issued"


# ---------------------------------------------------------------- release and void


def test_release_stamps_the_guard_and_time(ctx):
    slip = owner_slip()
    issue(slip, user=FRONTDESK, id_checked=True, at=T)
    release(slip, guard="  东门岗 李保安 ", user=FRONTDESK, at=T + timedelta(hours=1))
    db.session.commit()

    slip = db.session.get(ReleaseSlip, slip.id)
    assert slip.status == "released"
    assert slip.guard == "东门岗 李保安" and slip.released_at == T + timedelta(hours=1)
    assert len(audit(slip, "已放行")) == 1


@pytest.mark.parametrize("status", ["draft", "refused", "released", "void"])
def test_only_an_issued_slip_can_be_released(ctx, status):
    slip = f.release_slip(status=status)
    db.session.flush()
    with pytest.raises(ReleaseError, match="只有已开具的放行条才能放行"):
        release(slip, guard="东门岗", at=T)
    assert slip.status == status and slip.guard is None and slip.released_at is None


@pytest.mark.parametrize("guard", [None, "", "   "])
def test_release_needs_the_guards_name(ctx, guard):
    slip = owner_slip()
    issue(slip, user=FRONTDESK, id_checked=True, at=T)
    with pytest.raises(ReleaseError, match="请填写放行门岗"):
        release(slip, guard=guard, at=T)
    assert slip.status == "issued" and slip.released_at is None


def test_void_records_reason_who_and_when_and_blocks_release(ctx):
    slip = owner_slip()
    issue(slip, user=FRONTDESK, id_checked=True, at=T)
    void(slip, reason="  业主取消搬家 ", user=SUPERVISOR, at=T + timedelta(hours=1))
    db.session.commit()

    slip = db.session.get(ReleaseSlip, slip.id)
    assert slip.status == "void" and slip.number == "FX20261120-0001"
    assert slip.void_reason == "业主取消搬家" and slip.voided_by == "supervisor"
    assert slip.voided_at == T + timedelta(hours=1)
    rows = audit(slip, "作废")
    assert len(rows) == 1 and rows[0].note == "业主取消搬家"
    with pytest.raises(ReleaseError, match="只有已开具的放行条才能放行"):
        release(slip, guard="东门岗")


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_void_needs_a_reason(ctx, reason):
    slip = owner_slip()
    with pytest.raises(ReleaseError, match="请填写作废原因"):
        void(slip, reason=reason, user=SUPERVISOR)
    assert slip.status == "draft" and slip.void_reason is None


@pytest.mark.parametrize("status", ["released", "void"])
def test_released_or_void_slips_cannot_be_voided(ctx, status):
    slip = f.release_slip(status=status)
    db.session.flush()
    with pytest.raises(ReleaseError, match="已放行或已作废的放行条不能作废"):
        void(slip, reason="重复", user=SUPERVISOR)
    assert slip.status == status and slip.void_reason is None


@pytest.mark.parametrize("status", ["draft", "refused", "issued"])
def test_unused_slips_can_be_voided(ctx, status):
    slip = f.release_slip(status=status)
    db.session.flush()
    void(slip, reason="申请人撤回", user=SUPERVISOR, at=T)
    assert slip.status == "void" and slip.void_reason == "申请人撤回"


# ---------------------------------------------------------------- locks


@pytest.mark.parametrize("status, expected", [
    ("draft", None),
    ("refused", None),
    ("issued", "放行条已开具,不能再修改;如有错误请作废后重开"),
    ("released", "放行条已放行,不能再修改;如有错误请作废后重开"),
    ("void", "放行条已作废,不能再修改;如有错误请作废后重开"),
])
def test_locked_reason_for_slip_and_its_items(ctx, status, expected):
    slip = f.release_slip(status=status, items=[("旧沙发", 1), ("冰箱", 1)])
    db.session.flush()
    assert slip.locked_reason() == expected
    assert [item.locked_reason() for item in slip.items] == [expected, expected]


def test_item_without_a_slip_is_not_locked(ctx):
    assert ReleaseItem(description="旧沙发", quantity=1).locked_reason() is None


def test_issuing_locks_a_slip_that_was_editable(ctx):
    slip = owner_slip()
    assert slip.locked_reason() is None and slip.items[0].locked_reason() is None
    issue(slip, user=FRONTDESK, id_checked=True, at=T)
    assert "不能再修改" in slip.locked_reason()
    assert slip.items[0].locked_reason() == slip.locked_reason()
