"""Renovation-permit rules: the documents a permit needs on the unit's file, the approval preconditions,
the permit and pass numbers, the notices to 工程维修部 and 秩序维护部, the unit's 装修中 status while
works run, passes' validity, the waste fee into the ledger, violations, audit rows and the form checks."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.renovation import (
    NOTIFIED_DEPARTMENTS,
    RenovationError,
    approval_problems,
    approve,
    collect_waste_fee,
    complete_works,
    documents_on_file,
    missing_documents,
    note_check,
    number_passes,
    pass_expired,
    pass_problem,
    reject,
    required_documents,
    review,
    start_works,
)
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.notifications import Notification
from schema.org import AppUser, AuditLog
from schema.renovation import RenovationPermit, WorkerPass
from tests import factories

D = Decimal
T0 = datetime(2026, 11, 25, 10, 0)
NOT_REVIEWED = "装修方案尚未审核"
NOT_SIGNED = "业主尚未签订装修协议"
NOT_TOLD = "尚未告知装修时间及禁止事项"
NO_ALTERATION = "方案改动主体结构或明显增加荷载,须先取得房管部门的拆改批准书"
NO_POA = "受托人代办缺少委托书"
NO_PROXY_ID = "受托人代办缺少受托人身份证复印件"


def register_departments(*names):
    for name in names or NOTIFIED_DEPARTMENTS:
        factories.department(name=name)


def ready_permit(**kw):
    """Agreement signed and rules told: only the plan review is outstanding."""
    return factories.renovation_permit(**{"agreement_signed": True, "rules_acknowledged": True, **kw})


def on_file(permit, doc_type):
    return factories.document(doc_type=doc_type, title=doc_type, owner=permit.owner, unit=permit.unit)


def reviewed_permit(**kw):
    permit = ready_permit(**kw)
    review(permit, user="supervisor", at=T0 - timedelta(hours=1))
    return permit


def approved_permit(at=T0, departments=True, **kw):
    if departments:
        register_departments()
    permit = reviewed_permit(**kw)
    approve(permit, user="manager", at=at)
    return permit


def audit_rows(permit, action):
    return db.session.scalars(select(AuditLog).where(AuditLog.table_name == "renovation_permit",
                                                     AuditLog.record_id == permit.id, AuditLog.action == action)
                              .order_by(AuditLog.id)).all()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def frozen(monkeypatch):
    """Pin the office clock to T0."""
    monkeypatch.setattr(clock, "now", lambda: T0)
    monkeypatch.setattr(clock, "today", lambda: T0.date())
    return T0


# ---------------------------------------------------------------- documents


def test_owner_applying_for_cosmetic_works_needs_no_documents(ctx):
    permit = factories.renovation_permit()
    assert required_documents(permit) == ()
    assert missing_documents(permit) == []


def test_proxy_needs_power_of_attorney_and_proxy_id_copy(ctx):
    permit = factories.renovation_permit(applicant_kind="proxy", proxy_name="王五",
                                         proxy_id_number=factories.resident_id())
    assert required_documents(permit) == ("power_of_attorney", "proxy_id_copy")
    assert missing_documents(permit) == ["power_of_attorney", "proxy_id_copy"]
    on_file(permit, "power_of_attorney")
    assert missing_documents(permit) == ["proxy_id_copy"]
    on_file(permit, "proxy_id_copy")
    assert missing_documents(permit) == []


@pytest.mark.parametrize("flag", ["structural", "added_load"])
def test_structural_change_or_added_load_needs_the_alteration_approval(ctx, flag):
    permit = factories.renovation_permit(**{flag: True})
    assert required_documents(permit) == ("alteration_approval",)
    assert missing_documents(permit) == ["alteration_approval"]
    on_file(permit, "alteration_approval")
    assert missing_documents(permit) == []


def test_proxy_with_structural_change_needs_all_three_documents(ctx):
    permit = factories.renovation_permit(applicant_kind="proxy", structural=True, added_load=True)
    assert required_documents(permit) == ("power_of_attorney", "proxy_id_copy", "alteration_approval")
    on_file(permit, "proxy_id_copy")
    assert missing_documents(permit) == ["power_of_attorney", "alteration_approval"]


def test_documents_count_only_when_on_the_units_file(ctx):
    permit = factories.renovation_permit(applicant_kind="proxy", structural=True)
    other = factories.ownership()
    factories.document(doc_type="power_of_attorney", title="委托书", owner=permit.owner)  # owner's file, no unit
    factories.document(doc_type="alteration_approval", title="拆改批准书", owner=other.owner, unit=other.unit)
    factories.document(doc_type="id_copy", title="身份证复印件", owner=permit.owner, unit=permit.unit)
    assert documents_on_file(permit) == {"id_copy"}
    assert missing_documents(permit) == ["power_of_attorney", "proxy_id_copy", "alteration_approval"]


def test_a_document_of_another_type_does_not_stand_in(ctx):
    permit = factories.renovation_permit(structural=True)
    on_file(permit, "renovation_agreement")
    on_file(permit, "other")
    assert missing_documents(permit) == ["alteration_approval"]


# ---------------------------------------------------------------- approval problems


def test_a_fresh_application_lists_the_missing_steps_in_the_manuals_order(ctx):
    permit = factories.renovation_permit()
    assert approval_problems(permit) == [NOT_REVIEWED, NOT_SIGNED, NOT_TOLD]


def test_reviewed_signed_and_told_permit_has_no_problems(ctx):
    assert approval_problems(reviewed_permit()) == []


def test_missing_documents_are_named_in_the_problems(ctx):
    permit = factories.renovation_permit(applicant_kind="proxy", structural=True)
    assert approval_problems(permit) == [NOT_REVIEWED, NOT_SIGNED, NOT_TOLD, NO_ALTERATION, NO_POA, NO_PROXY_ID]
    on_file(permit, "power_of_attorney")
    assert approval_problems(permit) == [NOT_REVIEWED, NOT_SIGNED, NOT_TOLD, NO_ALTERATION, NO_PROXY_ID]


@pytest.mark.parametrize("field, problem", [("agreement_signed", NOT_SIGNED), ("rules_acknowledged", NOT_TOLD)])
def test_each_unticked_precondition_is_a_problem(ctx, field, problem):
    permit = reviewed_permit(**{field: False})
    assert approval_problems(permit) == [problem]


@pytest.mark.parametrize("status", ["applied", "approved", "in_progress", "completed", "rejected"])
def test_only_a_reviewed_plan_may_be_approved(ctx, status):
    permit = ready_permit(status=status)
    assert approval_problems(permit) == [NOT_REVIEWED]


# ---------------------------------------------------------------- review


def test_review_moves_applied_to_reviewed_and_stamps_it(ctx):
    permit = factories.renovation_permit()
    review(permit, user="supervisor", note="  方案可行  ", at=T0)
    assert permit.status == "reviewed"
    assert (permit.plan_reviewed_by, permit.plan_reviewed_at, permit.review_note) == ("supervisor", T0, "方案可行")


def test_review_takes_an_app_user_and_the_office_clock(ctx, users, frozen):
    permit = factories.renovation_permit()
    supervisor = db.session.scalar(select(AppUser).where(AppUser.username == "supervisor"))
    review(permit, user=supervisor)
    assert (permit.plan_reviewed_by, permit.plan_reviewed_at, permit.review_note) == ("supervisor", T0, None)
    assert audit_rows(permit, "审核方案")[-1].username == "supervisor"


def test_blank_review_note_is_stored_as_none(ctx):
    permit = factories.renovation_permit()
    review(permit, user="supervisor", note="   ", at=T0)
    assert permit.review_note is None


@pytest.mark.parametrize("status, label", [("reviewed", "已审核"), ("approved", "已批准"), ("in_progress", "施工中"),
                                           ("completed", "已完工"), ("rejected", "已驳回")])
def test_review_only_from_applied(ctx, status, label):
    permit = factories.renovation_permit(status=status)
    with pytest.raises(RenovationError, match=f"装修申请处于“{label}”,不能审核"):
        review(permit, user="supervisor", at=T0)
    assert permit.status == status and permit.plan_reviewed_at is None


# ---------------------------------------------------------------- approve


def test_approve_is_refused_with_every_problem_listed(ctx):
    register_departments()
    permit = factories.renovation_permit(structural=True)
    with pytest.raises(RenovationError) as err:
        approve(permit, user="manager", at=T0)
    assert str(err.value) == f"{NOT_REVIEWED};{NOT_SIGNED};{NOT_TOLD};{NO_ALTERATION}"
    assert (permit.status, permit.number, permit.approved_at) == ("applied", None, None)
    assert count(Notification) == 0


def test_structural_plan_is_refused_until_the_alteration_approval_is_on_the_units_file(ctx):
    register_departments()
    permit = reviewed_permit(structural=True)
    with pytest.raises(RenovationError, match="须先取得房管部门的拆改批准书"):
        approve(permit, user="manager", at=T0)
    assert permit.status == "reviewed" and permit.number is None
    factories.document(doc_type="alteration_approval", title="拆改批准书", unit=permit.unit)
    approve(permit, user="manager", at=T0)
    assert permit.status == "approved" and permit.number == "ZX20261125-0001"


def test_proxy_application_is_refused_until_both_proxy_papers_are_on_file(ctx):
    register_departments()
    permit = reviewed_permit(applicant_kind="proxy", proxy_name="王五", proxy_id_number=factories.resident_id())
    on_file(permit, "power_of_attorney")
    with pytest.raises(RenovationError, match="受托人代办缺少受托人身份证复印件"):
        approve(permit, user="manager", at=T0)
    on_file(permit, "proxy_id_copy")
    approve(permit, user="manager", at=T0)
    assert permit.status == "approved"


def test_approve_stamps_and_numbers_the_permit_by_day(ctx):
    register_departments()
    first, second, later = reviewed_permit(), reviewed_permit(), reviewed_permit()
    approve(first, user="manager", at=T0)
    approve(second, user="manager", at=T0 + timedelta(hours=3))
    approve(later, user="manager", at=datetime(2026, 11, 26, 9, 0))
    assert [first.number, second.number, later.number] == ["ZX20261125-0001", "ZX20261125-0002",
                                                            "ZX20261126-0001"]
    assert (first.status, first.approved_at, first.approved_by) == ("approved", T0, "manager")


def test_approve_defaults_to_the_office_clock(ctx, frozen):
    register_departments()
    permit = reviewed_permit()
    approve(permit, user="manager")
    assert permit.approved_at == T0 and permit.number == "ZX20261125-0001"


def test_approve_numbers_the_worker_passes_in_the_order_added(ctx):
    register_departments()
    permit = reviewed_permit()
    first = factories.worker_pass(permit=permit, name="刘工")
    second = factories.worker_pass(permit=permit, name="陈工")
    assert first.pass_no is None
    approve(permit, user="manager", at=T0)
    assert (first.pass_no, second.pass_no) == ("ZX20261125-0001-01", "ZX20261125-0001-02")


def test_approve_sends_one_notice_to_each_department(ctx):
    register_departments()
    factories.department(name="保洁部")
    permit = reviewed_permit(contractor="美家装饰", contractor_phone="13900000000")
    notices = approve(permit, user="manager", at=T0)
    db.session.commit()
    stored = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert stored == notices
    assert [n.department.name for n in stored] == ["工程维修部", "秩序维护部"]
    for n in stored:
        assert (n.source_table, n.source_id, n.created_at, n.created_by) == ("renovation_permit", permit.id, T0,
                                                                            "manager")
        assert "ZX20261125-0001" in n.subject and "2026-12-01" in n.subject
        assert "美家装饰" in n.content and "2027-01-31" in n.content
        assert n.acknowledged_at is None


@pytest.mark.parametrize("registered, missing", [((), "工程维修部、秩序维护部"), (("工程维修部",), "秩序维护部"),
                                                 (("秩序维护部",), "工程维修部")])
def test_approve_is_refused_when_a_notified_department_is_not_registered(ctx, registered, missing):
    for name in registered:
        factories.department(name=name)
    permit = reviewed_permit()
    with pytest.raises(RenovationError, match=f"未登记部门:{missing},无法发出装修通知"):
        approve(permit, user="manager", at=T0)
    assert (permit.status, permit.number) == ("reviewed", None)
    assert count(Notification) == 0


def test_approve_writes_its_audit_row(ctx):
    permit = approved_permit()
    db.session.commit()
    rows = audit_rows(permit, "批准装修")
    assert rows and rows[-1].username == "manager"
    assert rows[-1].operation == "修改" and "ZX20261125-0001" in rows[-1].changes


def test_an_approved_permit_cannot_be_approved_again(ctx):
    permit = approved_permit()
    with pytest.raises(RenovationError, match=NOT_REVIEWED):
        approve(permit, user="manager", at=T0 + timedelta(days=1))
    assert permit.number == "ZX20261125-0001"
    assert count(Notification) == 2


# ---------------------------------------------------------------- reject


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reject_needs_a_reason(ctx, reason):
    permit = factories.renovation_permit()
    with pytest.raises(RenovationError, match="请填写驳回原因"):
        reject(permit, reason=reason, user="manager")
    assert permit.status == "applied" and permit.rejected_reason is None


@pytest.mark.parametrize("status", ["applied", "reviewed"])
def test_reject_from_applied_or_reviewed_keeps_the_reason_and_audits_it(ctx, status):
    permit = factories.renovation_permit(status=status)
    reject(permit, reason="  方案拆除承重墙  ", user="manager")
    db.session.commit()
    assert (permit.status, permit.rejected_reason) == ("rejected", "方案拆除承重墙")
    rows = audit_rows(permit, "驳回装修申请")
    assert rows and rows[-1].note == "方案拆除承重墙" and rows[-1].username == "manager"


@pytest.mark.parametrize("status, label", [("approved", "已批准"), ("in_progress", "施工中"), ("completed", "已完工"),
                                           ("rejected", "已驳回")])
def test_reject_refused_once_past_review(ctx, status, label):
    permit = factories.renovation_permit(status=status)
    with pytest.raises(RenovationError, match=f"装修申请处于“{label}”,不能驳回"):
        reject(permit, reason="不符合规定", user="manager")
    assert permit.status == status and permit.rejected_reason is None


# ---------------------------------------------------------------- works and the unit's status


def test_start_works_marks_the_unit_renovating_and_remembers_its_status(ctx):
    permit = approved_permit()
    permit.unit.status = "vacant"
    start_works(permit, user="frontdesk", at=datetime(2026, 12, 1, 8, 0))
    assert (permit.status, permit.started_at) == ("in_progress", datetime(2026, 12, 1, 8, 0))
    assert (permit.unit.status, permit.unit_status_before) == ("renovating", "vacant")
    db.session.commit()
    assert audit_rows(permit, "开工")


@pytest.mark.parametrize("status, label", [("applied", "已申请"), ("reviewed", "已审核"), ("in_progress", "施工中"),
                                           ("completed", "已完工"), ("rejected", "已驳回")])
def test_start_works_only_from_approved(ctx, status, label):
    permit = factories.renovation_permit(status=status)
    with pytest.raises(RenovationError, match=f"“{label}”,不能开工"):
        start_works(permit, user="frontdesk", at=T0)
    assert permit.unit.status == "occupied" and permit.started_at is None


def test_complete_works_restores_the_units_status(ctx):
    permit = approved_permit()
    permit.unit.status = "vacant"
    start_works(permit, user="frontdesk", at=datetime(2026, 12, 1, 8, 0))
    complete_works(permit, user="frontdesk", at=datetime(2027, 1, 20, 17, 0))
    assert (permit.status, permit.completed_at) == ("completed", datetime(2027, 1, 20, 17, 0))
    assert permit.unit.status == "vacant"


def test_complete_works_defaults_to_the_office_clock(ctx, frozen):
    permit = approved_permit()
    start_works(permit, user="frontdesk")
    complete_works(permit, user="frontdesk")
    assert permit.started_at == T0 and permit.completed_at == T0
    assert permit.unit.status == "occupied"


def test_unit_stays_renovating_while_another_permit_on_it_runs(ctx):
    register_departments()
    own = factories.ownership()
    first = approved_permit(departments=False, ownership=own)
    second = approved_permit(departments=False, ownership=own)
    start_works(first, user="frontdesk", at=datetime(2026, 12, 1, 8, 0))
    start_works(second, user="frontdesk", at=datetime(2026, 12, 2, 8, 0))
    assert first.unit_status_before == "occupied"
    complete_works(second, user="frontdesk", at=datetime(2026, 12, 20, 17, 0))
    assert first.unit.status == "renovating"
    complete_works(first, user="frontdesk", at=datetime(2027, 1, 20, 17, 0))
    assert first.unit.status == "occupied"


def test_overlapping_permits_finishing_out_of_order_restore_the_original_status(ctx):
    register_departments()
    own = factories.ownership(unit=factories.unit(status="vacant"))
    first = approved_permit(departments=False, ownership=own)
    second = approved_permit(departments=False, ownership=own)
    start_works(first, user="frontdesk", at=datetime(2026, 12, 1, 8, 0))
    start_works(second, user="frontdesk", at=datetime(2026, 12, 2, 8, 0))
    complete_works(first, user="frontdesk", at=datetime(2026, 12, 20, 17, 0))
    complete_works(second, user="frontdesk", at=datetime(2027, 1, 20, 17, 0))
    assert first.unit.status == "vacant"


def test_complete_works_leaves_a_unit_whose_status_was_changed_meanwhile(ctx):
    permit = approved_permit()
    start_works(permit, user="frontdesk", at=datetime(2026, 12, 1, 8, 0))
    permit.unit.status = "custody"
    complete_works(permit, user="frontdesk", at=datetime(2027, 1, 20, 17, 0))
    assert permit.unit.status == "custody"


def test_complete_works_falls_back_to_occupied_without_a_remembered_status(ctx):
    permit = factories.renovation_permit(status="in_progress")
    permit.unit.status = "renovating"
    complete_works(permit, user="frontdesk", at=T0)
    assert permit.unit.status == "occupied"


@pytest.mark.parametrize("status, label", [("applied", "已申请"), ("reviewed", "已审核"), ("approved", "已批准"),
                                           ("completed", "已完工"), ("rejected", "已驳回")])
def test_complete_works_only_while_in_progress(ctx, status, label):
    permit = factories.renovation_permit(status=status)
    with pytest.raises(RenovationError, match=f"“{label}”,不能完工"):
        complete_works(permit, user="frontdesk", at=T0)
    assert permit.completed_at is None


# ---------------------------------------------------------------- passes


def test_pass_ending_before_it_starts_is_a_problem(ctx):
    w = factories.worker_pass(valid_from=date(2026, 12, 10), valid_to=date(2026, 12, 9))
    assert pass_problem(w) == "出入证有效期结束日期不能早于开始日期"


@pytest.mark.parametrize("valid_from, valid_to", [(date(2026, 11, 30), date(2026, 12, 31)),
                                                  (date(2026, 12, 1), date(2027, 2, 1)),
                                                  (date(2026, 11, 1), date(2027, 3, 1))])
def test_pass_outside_the_planned_period_is_a_problem(ctx, valid_from, valid_to):
    w = factories.worker_pass(valid_from=valid_from, valid_to=valid_to)
    assert pass_problem(w) == "出入证有效期须在装修工期内(2026-12-01 至 2027-01-31)"


@pytest.mark.parametrize("valid_from, valid_to", [(date(2026, 12, 1), date(2027, 1, 31)),
                                                  (date(2026, 12, 10), date(2026, 12, 10))])
def test_pass_within_the_planned_period_is_fine(ctx, valid_from, valid_to):
    assert pass_problem(factories.worker_pass(valid_from=valid_from, valid_to=valid_to)) is None


def test_pass_problem_checks_against_the_permit_given(ctx):
    permit = factories.renovation_permit(planned_start=date(2027, 3, 1), planned_end=date(2027, 3, 31))
    unsaved = WorkerPass(name="刘工", valid_from=date(2027, 2, 25), valid_to=date(2027, 3, 10))
    assert "2027-03-01 至 2027-03-31" in pass_problem(unsaved, permit)
    assert pass_problem(WorkerPass(name="刘工", valid_from=date(2027, 2, 25), valid_to=date(2027, 3, 10))) is None


def test_pass_expires_after_its_last_day(ctx):
    w = factories.worker_pass(valid_to=date(2026, 12, 31))
    assert pass_expired(w, date(2026, 12, 30)) is False
    assert pass_expired(w, date(2026, 12, 31)) is False
    assert pass_expired(w, date(2027, 1, 1)) is True
    assert pass_expired(WorkerPass(name="刘工"), date(2027, 1, 1)) is False


def test_pass_expired_defaults_to_the_office_today(ctx, monkeypatch):
    w = factories.worker_pass(valid_to=date(2026, 12, 31))
    monkeypatch.setattr(clock, "today", lambda: date(2027, 1, 1))
    assert pass_expired(w) is True
    monkeypatch.setattr(clock, "today", lambda: date(2026, 12, 31))
    assert pass_expired(w) is False


def test_passes_of_an_unapproved_permit_stay_unnumbered(ctx):
    w = factories.worker_pass()
    number_passes(w.permit)
    assert w.pass_no is None


def test_passes_added_after_approval_get_the_next_numbers(ctx):
    permit = reviewed_permit()
    first = factories.worker_pass(permit=permit, name="刘工")
    register_departments()
    approve(permit, user="manager", at=T0)
    db.session.commit()
    second = factories.worker_pass(permit=permit, name="陈工")
    third = factories.worker_pass(permit=permit, name="黄工")
    number_passes(permit)
    db.session.commit()
    assert [first.pass_no, second.pass_no, third.pass_no] == [
        "ZX20261125-0001-01", "ZX20261125-0001-02", "ZX20261125-0001-03"]


def test_pass_numbers_continue_after_the_highest_even_when_one_was_removed(ctx):
    permit = reviewed_permit()
    first = factories.worker_pass(permit=permit, name="刘工")
    second = factories.worker_pass(permit=permit, name="陈工")
    register_departments()
    approve(permit, user="manager", at=T0)
    db.session.delete(first)
    db.session.flush()
    db.session.expire(permit, ["passes"])
    late = factories.worker_pass(permit=permit, name="黄工")
    number_passes(permit)
    assert second.pass_no == "ZX20261125-0001-02"
    assert late.pass_no == "ZX20261125-0001-03"


def test_pass_is_locked_once_the_works_are_completed_or_rejected(ctx):
    w = factories.worker_pass()
    for status in ("applied", "reviewed", "approved", "in_progress"):
        w.permit.status = status
        assert w.locked_reason() is None
    for status, label in (("completed", "已完工"), ("rejected", "已驳回")):
        w.permit.status = status
        assert w.locked_reason() == w.permit.locked_reason() == f"装修申请{label},不能再修改"
    assert WorkerPass(name="刘工").locked_reason() is None


# ---------------------------------------------------------------- waste fee


def test_collect_waste_fee_charges_and_receipts_into_the_ledger(ctx):
    permit = approved_permit(waste_fee=D("300.00"))
    at = datetime(2026, 11, 27, 15, 30)
    payment = collect_waste_fee(permit, method="wechat", clerk="frontdesk", at=at)
    db.session.commit()
    assert (payment.receipt_no, payment.amount, payment.method, payment.paid_at) == (
        "SK20261127-0001", D("300.00"), "wechat", at)
    assert (payment.unit, payment.owner, payment.payer_name, payment.status) == (
        permit.unit, permit.owner, permit.owner.name, "valid")
    charge = db.session.scalar(select(Charge))
    assert (charge.kind, charge.amount, charge.amount_paid, charge.status) == ("garbage_fee", D("300.00"),
                                                                               D("300.00"), "paid")
    assert (charge.unit, charge.owner, charge.due_date) == (permit.unit, permit.owner, date(2026, 11, 27))
    assert charge.period == "装修 ZX20261125-0001"
    alloc = db.session.scalar(select(PaymentAllocation))
    assert (alloc.payment, alloc.charge, alloc.amount) == (payment, charge, D("300.00"))
    assert permit.waste_fee_paid is True and permit.waste_fee_payment is payment
    assert audit_rows(permit, "收取装修垃圾清运费")[-1].username == "frontdesk"


def test_collect_waste_fee_records_the_clerk(ctx, users):
    permit = factories.renovation_permit(waste_fee=D("150"))
    clerk = db.session.scalar(select(AppUser).where(AppUser.username == "frontdesk"))
    payment = collect_waste_fee(permit, method="cash", clerk=clerk, at=T0)
    assert payment.clerk is clerk
    assert payment.receipt_no == "SK20261125-0001"


def test_collect_waste_fee_is_refused_twice(ctx):
    permit = factories.renovation_permit(waste_fee=D("300.00"))
    first = collect_waste_fee(permit, method="cash", clerk="frontdesk", at=T0)
    with pytest.raises(RenovationError, match="装修垃圾清运费已收取"):
        collect_waste_fee(permit, method="cash", clerk="frontdesk", at=T0)
    assert permit.waste_fee_payment is first
    assert count(Charge) == 1 and count(Payment) == 1


@pytest.mark.parametrize("fee", [D("0"), D("0.00"), None])
def test_collect_waste_fee_is_refused_without_an_amount(ctx, fee):
    permit = factories.renovation_permit()
    permit.waste_fee = fee
    with pytest.raises(RenovationError, match="请先在装修申请中填写装修垃圾清运费金额"):
        collect_waste_fee(permit, method="cash", clerk="frontdesk", at=T0)
    assert permit.waste_fee_paid is not True and permit.waste_fee_payment is None
    assert count(Charge) == 0 and count(Payment) == 0


# ---------------------------------------------------------------- checks during the works


def test_a_check_finding_a_violation_marks_the_permit(ctx):
    permit = approved_permit()
    check = factories.renovation_check(permit=permit, findings="擅自拆除承重墙", violation=True)
    assert not permit.violation
    note_check(check)
    db.session.commit()
    assert db.session.get(RenovationPermit, permit.id).violation is True


def test_a_clean_check_leaves_the_permit_unmarked(ctx):
    permit = approved_permit()
    note_check(factories.renovation_check(permit=permit, violation=False))
    db.session.commit()
    assert not db.session.get(RenovationPermit, permit.id).violation


def test_a_clean_check_does_not_clear_an_earlier_violation(ctx):
    permit = approved_permit(violation=True)
    note_check(factories.renovation_check(permit=permit, violation=False))
    assert permit.violation is True


# ---------------------------------------------------------------- form checks


def test_permit_form_refuses_an_end_before_the_start():
    errors = RenovationPermit.check({"planned_start": date(2026, 12, 10), "planned_end": date(2026, 12, 9),
                                     "applicant_kind": "owner"})
    assert errors == {"planned_end": "结束日期不能早于开始日期"}
    assert RenovationPermit.check({"planned_start": date(2026, 12, 10), "planned_end": date(2026, 12, 10),
                                   "applicant_kind": "owner"}) == {}


def test_permit_form_requires_the_proxys_name_and_id_number():
    errors = RenovationPermit.check({"applicant_kind": "proxy", "proxy_name": "  ", "proxy_id_number": None})
    assert errors == {"proxy_name": "受托人代办须填写受托人姓名", "proxy_id_number": "受托人代办须填写受托人身份证号"}
    assert RenovationPermit.check({"applicant_kind": "proxy", "proxy_name": "王五",
                                   "proxy_id_number": factories.resident_id()}) == {}
    assert RenovationPermit.check({"applicant_kind": "owner"}) == {}


def test_worker_pass_form_refuses_an_end_before_the_start():
    assert WorkerPass.check({"valid_from": date(2026, 12, 10), "valid_to": date(2026, 12, 9)}) == {
        "valid_to": "结束日期不能早于开始日期"}
    assert WorkerPass.check({"valid_from": date(2026, 12, 10), "valid_to": date(2026, 12, 10)}) == {}
    assert WorkerPass.check({"valid_from": None, "valid_to": date(2026, 12, 10)}) == {}
