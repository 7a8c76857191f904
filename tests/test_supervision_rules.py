"""Supervision rules: department checks and their slips (内部协调单 XT… / 不合格单 BH…), rectification and
re-checks, overdue slips, the daily patrol raising slips to the departments responsible, the monthly
counts per department, and the form checks."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.supervision import (
    PATROL_ITEMS,
    SupervisionError,
    counts_by_department_month,
    failures,
    is_overdue,
    overdue_condition,
    raise_patrol_slips,
    recheck,
    record_check,
    rectify,
)
from schema.org import AppUser, AuditLog
from schema.supervision import DeptCheck, Patrol, SlipKind
from tests import factories

T0 = datetime(2026, 11, 26, 10, 0)
DEADLINE = datetime(2026, 11, 28, 18, 0)
PATROL_DEPARTMENTS = ("保洁部", "工程维修部", "客户服务中心", "秩序维护部")


def check(passed=False, department=None, at=T0, kind="nonconformance", deadline=DEADLINE,
          findings="3栋楼道有垃圾", item="hygiene", **kw):
    return record_check(department=department or factories.department(), item=item, checker="李娜", passed=passed,
                        findings=findings, slip_kind=kind, deadline=deadline, at=at, user="supervisor", **kw)


def rectified(**kw):
    slip = check(**kw)
    rectify(slip, note="已清理", user="cleaning", at=T0 + timedelta(hours=5))
    return slip


def register_patrol_departments(*skip):
    return {name: factories.department(name=name, supervisor_name=f"{name}主管")
            for name in PATROL_DEPARTMENTS if name not in skip}


def count_checks():
    return db.session.scalar(select(func.count()).select_from(DeptCheck))


def actions(record):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == "dept_check",
                                                            AuditLog.record_id == record.id)
                              .order_by(AuditLog.id)).all()


# ---------------------------------------------------------------- record_check


def test_a_passed_check_is_recorded_without_a_slip(ctx):
    c = check(passed=True, findings="  楼道整洁  ")
    db.session.commit()
    assert c.id is not None
    assert (c.passed, c.status, c.number, c.slip_kind, c.deadline, c.supervisor_name) == (
        True, "passed", None, None, None, None)
    assert (c.checked_at, c.checker, c.item, c.findings) == (T0, "李娜", "hygiene", "楼道整洁")
    assert actions(c) == ["部门检查"]


def test_a_passed_check_defaults_to_the_office_clock(ctx, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: T0)
    c = record_check(department=factories.department(), item="uniform", checker="李娜", passed=True)
    assert c.checked_at == T0 and c.findings is None


def test_a_failed_check_raises_a_nonconformance_slip_to_the_supervisor(ctx):
    dept = factories.department(name="保洁部", supervisor_name="周红")
    c = check(department=dept, findings="  3栋楼道有垃圾  ", note="拍照存档")
    db.session.commit()
    assert (c.passed, c.status, c.slip_kind, c.number) == (False, "open", "nonconformance", "BH20261126-0001")
    assert (c.supervisor_name, c.deadline, c.findings, c.note) == ("周红", DEADLINE, "3栋楼道有垃圾", "拍照存档")
    assert c.reopen_count == 0
    assert actions(c) == ["开具不合格单"]


def test_a_coordination_slip_is_numbered_xt(ctx):
    c = check(kind="coordination")
    assert (c.slip_kind, c.number, c.status) == ("coordination", "XT20261126-0001", "open")


def test_slip_kind_accepts_the_choice_member_and_defaults_to_nonconformance(ctx):
    assert check(kind=SlipKind.coordination).slip_kind == "coordination"
    assert check(kind=None).number == "BH20261126-0001"


def test_slip_numbers_run_per_kind_and_per_day_of_the_check(ctx, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 15, 9, 0))
    dept = factories.department()
    numbers = [check(department=dept, at=T0).number, check(department=dept, at=T0 + timedelta(hours=2)).number,
               check(department=dept, at=T0, kind="coordination").number,
               check(department=dept, at=datetime(2026, 11, 27, 8, 0), deadline=DEADLINE).number]
    assert numbers == ["BH20261126-0001", "BH20261126-0002", "XT20261126-0001", "BH20261127-0001"]


def test_passed_checks_take_no_number(ctx):
    dept = factories.department()
    check(department=dept, passed=True)
    assert check(department=dept).number == "BH20261126-0001"


def test_slip_without_a_department_supervisor_has_no_supervisor_name(ctx):
    assert check(department=factories.department(supervisor_name=None)).supervisor_name is None


@pytest.mark.parametrize("findings", [None, "", "   "])
def test_a_failed_check_needs_findings(ctx, findings):
    with pytest.raises(SupervisionError, match="请填写不合格情况"):
        check(findings=findings)
    assert count_checks() == 0


def test_a_failed_check_needs_a_deadline(ctx):
    with pytest.raises(SupervisionError, match="请填写整改期限"):
        check(deadline=None)
    assert count_checks() == 0


@pytest.mark.parametrize("deadline", [T0, T0 - timedelta(minutes=1), T0 - timedelta(days=3)])
def test_the_deadline_must_be_after_the_check(ctx, deadline):
    with pytest.raises(SupervisionError, match="整改期限须晚于检查时间"):
        check(deadline=deadline)
    assert count_checks() == 0


@pytest.mark.parametrize("kind", ["warning", "passed", "BH"])
def test_a_failed_check_needs_a_known_slip_kind(ctx, kind):
    with pytest.raises(SupervisionError, match="请选择单据类型"):
        check(kind=kind)
    assert count_checks() == 0


def test_a_check_needs_a_department(ctx):
    with pytest.raises(SupervisionError, match="请选择被检查部门"):
        record_check(department=None, item="hygiene", checker="李娜", passed=True, at=T0)


# ---------------------------------------------------------------- rectify


def test_rectify_an_open_slip(ctx):
    slip = check()
    rectify(slip, note="  已清理完毕  ", user="cleaning", at=T0 + timedelta(hours=3))
    db.session.commit()
    assert (slip.status, slip.rectified_at, slip.rectification) == ("rectified", T0 + timedelta(hours=3), "已清理完毕")
    assert actions(slip)[-1] == "整改"


def test_rectify_defaults_to_the_office_clock(ctx, monkeypatch):
    slip = check()
    monkeypatch.setattr(clock, "now", lambda: T0 + timedelta(days=1))
    rectify(slip, note="已清理", user="cleaning")
    assert slip.rectified_at == T0 + timedelta(days=1)


@pytest.mark.parametrize("note", ["", "  ", None])
def test_rectify_needs_a_note(ctx, note):
    slip = check()
    with pytest.raises(SupervisionError, match="请填写整改情况"):
        rectify(slip, note=note, user="cleaning", at=T0)
    assert slip.status == "open" and slip.rectified_at is None


@pytest.mark.parametrize("status, label", [("passed", "检查合格"), ("rectified", "已整改"), ("recheck_passed", "复查合格")])
def test_rectify_only_an_open_or_reopened_slip(ctx, status, label):
    slip = check()
    slip.status = status
    with pytest.raises(SupervisionError, match=f"该单处于“{label}”,不能登记整改"):
        rectify(slip, note="已清理", user="cleaning", at=T0)
    assert slip.status == status and slip.rectification is None


# ---------------------------------------------------------------- recheck


def test_a_passed_recheck_closes_the_slip(ctx, users):
    slip = rectified()
    checker = db.session.scalar(select(AppUser).where(AppUser.username == "supervisor"))
    at = T0 + timedelta(days=1)
    recheck(slip, passed=True, note="  已整改到位  ", user=checker, at=at)
    db.session.commit()
    assert (slip.status, slip.rechecked_at, slip.rechecked_by, slip.recheck_note) == (
        "recheck_passed", at, "supervisor", "已整改到位")
    assert slip.reopen_count == 0 and slip.deadline == DEADLINE
    assert actions(slip)[-1] == "复查合格"
    assert not is_overdue(slip, DEADLINE + timedelta(days=30))


def test_a_failed_recheck_reopens_the_slip_with_a_new_deadline(ctx):
    slip = rectified()
    at = T0 + timedelta(days=1)
    new_deadline = T0 + timedelta(days=3)
    recheck(slip, passed=False, note="角落仍有垃圾", user="supervisor", at=at, new_deadline=new_deadline)
    db.session.commit()
    assert (slip.status, slip.deadline, slip.reopen_count) == ("recheck_failed", new_deadline, 1)
    assert (slip.rechecked_at, slip.rechecked_by, slip.recheck_note) == (at, "supervisor", "角落仍有垃圾")
    row = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "dept_check",
                                                    AuditLog.record_id == slip.id, AuditLog.action == "复查不合格")).one()
    assert row.note == "角落仍有垃圾" and row.username == "supervisor"


def test_a_reopened_slip_can_be_rectified_and_rechecked_again(ctx):
    slip = rectified()
    recheck(slip, passed=False, note="仍不合格", user="supervisor", at=T0 + timedelta(days=1),
            new_deadline=T0 + timedelta(days=3))
    rectify(slip, note="再次清理", user="cleaning", at=T0 + timedelta(days=2))
    assert (slip.status, slip.rectification) == ("rectified", "再次清理")
    recheck(slip, passed=False, note="还是不合格", user="supervisor", at=T0 + timedelta(days=3, hours=1),
            new_deadline=T0 + timedelta(days=5))
    assert (slip.status, slip.reopen_count, slip.deadline) == ("recheck_failed", 2, T0 + timedelta(days=5))
    rectify(slip, note="彻底清理", user="cleaning", at=T0 + timedelta(days=4))
    recheck(slip, passed=True, note="合格", user="supervisor", at=T0 + timedelta(days=4, hours=2))
    assert (slip.status, slip.reopen_count) == ("recheck_passed", 2)


@pytest.mark.parametrize("new_deadline", [None, T0 + timedelta(days=1), T0 + timedelta(hours=23)])
def test_a_failed_recheck_needs_a_deadline_after_the_recheck(ctx, new_deadline):
    slip = rectified()
    with pytest.raises(SupervisionError, match="复查不合格须重新填写晚于复查时间的整改期限"):
        recheck(slip, passed=False, note="仍不合格", user="supervisor", at=T0 + timedelta(days=1),
                new_deadline=new_deadline)
    assert (slip.status, slip.reopen_count, slip.deadline, slip.rechecked_at) == ("rectified", 0, DEADLINE, None)


def test_a_failed_recheck_deadline_is_compared_with_the_office_clock(ctx, monkeypatch):
    slip = rectified()
    monkeypatch.setattr(clock, "now", lambda: T0 + timedelta(days=4))
    with pytest.raises(SupervisionError, match="晚于复查时间"):
        recheck(slip, passed=False, note="仍不合格", user="supervisor", new_deadline=T0 + timedelta(days=3))
    recheck(slip, passed=False, note="仍不合格", user="supervisor", new_deadline=T0 + timedelta(days=5))
    assert slip.rechecked_at == T0 + timedelta(days=4)


@pytest.mark.parametrize("note", ["", "   ", None])
def test_a_recheck_needs_a_note(ctx, note):
    slip = rectified()
    with pytest.raises(SupervisionError, match="请填写复查情况"):
        recheck(slip, passed=True, note=note, user="supervisor", at=T0 + timedelta(days=1))
    assert slip.status == "rectified"


@pytest.mark.parametrize("status, label", [("open", "已开单"), ("passed", "检查合格"), ("recheck_passed", "复查合格"),
                                           ("recheck_failed", "复查不合格")])
def test_recheck_only_after_rectification(ctx, status, label):
    slip = check()
    slip.status = status
    with pytest.raises(SupervisionError, match=f"该单处于“{label}”,整改完成后才能复查"):
        recheck(slip, passed=True, note="合格", user="supervisor", at=T0 + timedelta(days=1))
    assert slip.status == status and slip.rechecked_at is None


# ---------------------------------------------------------------- overdue


@pytest.mark.parametrize("status, overdue", [("open", True), ("recheck_failed", True), ("rectified", False),
                                             ("recheck_passed", False), ("passed", False)])
def test_only_open_slips_past_their_deadline_are_overdue(ctx, status, overdue):
    slip = check()
    slip.status = status
    assert is_overdue(slip, DEADLINE + timedelta(minutes=1)) is overdue
    assert is_overdue(slip, DEADLINE) is False
    assert is_overdue(slip, DEADLINE - timedelta(hours=1)) is False


def test_a_passed_check_without_deadline_is_never_overdue(ctx):
    assert is_overdue(check(passed=True), datetime(2030, 1, 1)) is False


def test_is_overdue_defaults_to_the_office_clock(ctx, monkeypatch):
    slip = check()
    monkeypatch.setattr(clock, "now", lambda: DEADLINE + timedelta(days=1))
    assert is_overdue(slip) is True
    monkeypatch.setattr(clock, "now", lambda: DEADLINE - timedelta(days=1))
    assert is_overdue(slip) is False


def test_overdue_condition_selects_the_same_slips(ctx):
    dept = factories.department()
    late_open = check(department=dept)
    late_reopened = rectified(department=dept)
    recheck(late_reopened, passed=False, note="仍不合格", user="supervisor", at=T0 + timedelta(days=1),
            new_deadline=T0 + timedelta(days=2))
    check(department=dept, deadline=datetime(2026, 12, 31, 18, 0))  # not yet due
    rectified(department=dept)  # rectified, waiting for the re-check
    closed = rectified(department=dept)
    recheck(closed, passed=True, note="合格", user="supervisor", at=T0 + timedelta(days=1))
    check(department=dept, passed=True)
    db.session.commit()
    now = datetime(2026, 12, 1, 9, 0)
    found = db.session.scalars(select(DeptCheck).where(overdue_condition(now)).order_by(DeptCheck.id)).all()
    assert found == [late_open, late_reopened]
    assert [c for c in db.session.scalars(select(DeptCheck).order_by(DeptCheck.id)) if is_overdue(c, now)] == found


# ---------------------------------------------------------------- patrols


def test_patrol_items_map_to_the_departments_responsible():
    assert PATROL_ITEMS == {"hygiene": ("patrol_hygiene", "保洁部"),
                            "facilities": ("patrol_facilities", "工程维修部"),
                            "bulletin": ("patrol_bulletin", "客户服务中心"),
                            "security": ("patrol_security", "秩序维护部")}


def test_failures_lists_the_failed_items_in_the_patrols_order(ctx):
    assert failures(factories.patrol()) == []
    p = factories.patrol(security_ok=False, hygiene_ok=False, bulletin_ok=True)
    assert failures(p) == ["hygiene", "security"]


@pytest.mark.parametrize("field", list(PATROL_ITEMS))
def test_each_failed_patrol_item_goes_to_its_department(ctx, field):
    departments = register_patrol_departments()
    item, dept_name = PATROL_ITEMS[field]
    p = factories.patrol(**{f"{field}_ok": False, f"{field}_note": "发现问题"})
    (slip,) = raise_patrol_slips(p, deadline=DEADLINE, user="supervisor")
    assert (slip.department, slip.item, slip.supervisor_name) == (departments[dept_name], item, f"{dept_name}主管")


def test_raise_patrol_slips_writes_each_failure_up_linked_to_the_patrol(ctx):
    departments = register_patrol_departments()
    p = factories.patrol(at=datetime(2026, 11, 26, 9, 0), patroller="李娜", hygiene_ok=False,
                         hygiene_note="大堂地面有污渍", security_ok=False, security_note="巡逻记录缺22点")
    slips = raise_patrol_slips(p, deadline=DEADLINE, user="supervisor")
    db.session.commit()
    assert [s.department for s in slips] == [departments["保洁部"], departments["秩序维护部"]]
    assert [s.item for s in slips] == ["patrol_hygiene", "patrol_security"]
    assert [s.number for s in slips] == ["BH20261126-0001", "BH20261126-0002"]
    for s in slips:
        assert (s.patrol, s.checker, s.checked_at, s.deadline) == (p, "李娜", datetime(2026, 11, 26, 9, 0), DEADLINE)
        assert (s.passed, s.slip_kind, s.status) == (False, "nonconformance", "open")
    assert slips[0].findings == f"{p.building} 巡查:大堂地面有污渍"
    assert slips[1].findings == f"{p.building} 巡查:巡逻记录缺22点"
    assert sorted(s.id for s in db.session.get(Patrol, p.id).slips) == sorted(s.id for s in slips)


def test_a_failure_without_a_note_is_written_up_as_unqualified(ctx):
    register_patrol_departments()
    p = factories.patrol(bulletin_ok=False)
    (slip,) = raise_patrol_slips(p, deadline=DEADLINE)
    assert slip.findings == f"{p.building} 巡查:不合格"


def test_items_already_raised_are_not_raised_twice(ctx):
    register_patrol_departments()
    p = factories.patrol(hygiene_ok=False, hygiene_note="楼道有垃圾")
    raise_patrol_slips(p, deadline=DEADLINE)
    db.session.commit()
    with pytest.raises(SupervisionError, match="该巡查没有待开单的不合格项"):
        raise_patrol_slips(p, deadline=DEADLINE)
    p.facilities_ok, p.facilities_note = False, "电梯按钮失灵"
    (slip,) = raise_patrol_slips(p, deadline=DEADLINE)
    assert slip.item == "patrol_facilities" and slip.number == "BH20261126-0002"
    assert count_checks() == 2


def test_a_patrol_with_nothing_failed_raises_nothing(ctx):
    register_patrol_departments()
    with pytest.raises(SupervisionError, match="该巡查没有待开单的不合格项"):
        raise_patrol_slips(factories.patrol(), deadline=DEADLINE)
    assert count_checks() == 0


def test_raise_patrol_slips_is_refused_when_the_department_is_not_registered(ctx):
    register_patrol_departments("客户服务中心")
    p = factories.patrol(bulletin_ok=False, bulletin_note="公告过期")
    with pytest.raises(SupervisionError, match="未登记部门:客户服务中心"):
        raise_patrol_slips(p, deadline=DEADLINE)
    db.session.rollback()
    assert count_checks() == 0


def test_raise_patrol_slips_needs_a_deadline_after_the_patrol(ctx):
    register_patrol_departments()
    p = factories.patrol(at=T0, hygiene_ok=False, hygiene_note="楼道有垃圾")
    with pytest.raises(SupervisionError, match="整改期限须晚于检查时间"):
        raise_patrol_slips(p, deadline=T0 - timedelta(hours=1))


# ---------------------------------------------------------------- counts per department and month


def test_counts_by_department_and_month(ctx):
    cleaning = factories.department(name="保洁部")
    repairs = factories.department(name="工程维修部")
    check(department=cleaning, at=datetime(2026, 10, 5, 9, 0), deadline=datetime(2026, 10, 7, 18, 0))
    rectified(department=cleaning, at=datetime(2026, 10, 20, 9, 0), deadline=datetime(2026, 10, 22, 18, 0))
    check(department=cleaning, at=datetime(2026, 11, 3, 9, 0), kind="coordination",
          deadline=datetime(2026, 11, 5, 18, 0))
    reopened = rectified(department=repairs, at=datetime(2026, 11, 10, 9, 0), deadline=datetime(2026, 11, 12, 9, 0))
    recheck(reopened, passed=False, note="仍不合格", user="supervisor", at=datetime(2026, 11, 13, 9, 0),
            new_deadline=datetime(2026, 11, 15, 9, 0))
    closed = rectified(department=repairs, at=datetime(2026, 11, 11, 9, 0), deadline=datetime(2026, 11, 12, 9, 0))
    recheck(closed, passed=True, note="合格", user="supervisor", at=datetime(2026, 11, 13, 9, 0))
    check(department=repairs, passed=True, at=datetime(2026, 11, 14, 9, 0))  # passed: no slip, not counted
    check(department=cleaning, at=datetime(2026, 9, 30, 9, 0), deadline=datetime(2026, 10, 2, 9, 0))  # before
    check(department=repairs, at=datetime(2026, 12, 1, 9, 0), deadline=datetime(2026, 12, 3, 9, 0))  # after
    db.session.commit()
    assert counts_by_department_month(date(2026, 10, 1), date(2026, 11, 30)) == [
        ("保洁部", "2026-10", 2, 1),
        ("保洁部", "2026-11", 1, 1),
        ("工程维修部", "2026-11", 2, 1),
    ]


def test_counts_include_both_ends_of_the_range(ctx):
    dept = factories.department(name="保洁部")
    check(department=dept, at=datetime(2026, 11, 1, 0, 0), deadline=datetime(2026, 11, 3, 0, 0))
    check(department=dept, at=datetime(2026, 11, 30, 18, 0), deadline=datetime(2026, 12, 2, 0, 0))
    check(department=dept, at=datetime(2026, 10, 31, 23, 59), deadline=datetime(2026, 11, 3, 0, 0))
    check(department=dept, at=datetime(2026, 12, 1, 0, 0), deadline=datetime(2026, 12, 3, 0, 0))
    db.session.commit()
    assert counts_by_department_month(date(2026, 11, 1), date(2026, 11, 30)) == [("保洁部", "2026-11", 2, 2)]


def test_counts_include_slips_raised_in_the_last_second_of_the_range(ctx):
    dept = factories.department(name="保洁部")
    check(department=dept, at=datetime(2026, 11, 30, 23, 59, 59), deadline=datetime(2026, 12, 2, 0, 0))
    check(department=dept, at=datetime(2026, 11, 30, 23, 59, 59, 500000), deadline=datetime(2026, 12, 2, 0, 0))
    db.session.commit()
    assert counts_by_department_month(date(2026, 11, 1), date(2026, 11, 30)) == [("保洁部", "2026-11", 2, 2)]


def test_counts_are_empty_without_slips(ctx):
    check(passed=True)
    db.session.commit()
    assert counts_by_department_month(date(2026, 1, 1), date(2026, 12, 31)) == []


# ---------------------------------------------------------------- form checks


def test_failed_check_form_needs_kind_deadline_and_findings():
    assert DeptCheck.check({"passed": False, "findings": "  "}) == {
        "slip_kind": "检查不合格须开具内部协调单或不合格单", "deadline": "请填写整改期限", "findings": "请填写不合格情况"}
    assert DeptCheck.check({"passed": False, "slip_kind": "coordination", "deadline": DEADLINE,
                            "findings": "岗位脱岗"}) == {}


def test_passed_check_form_needs_nothing_more():
    assert DeptCheck.check({"passed": True}) == {}


def test_patrol_form_needs_a_note_for_each_failed_item():
    assert Patrol.check({"hygiene_ok": False, "hygiene_note": " ", "facilities_ok": True, "bulletin_ok": False,
                         "bulletin_note": "公告过期", "security_ok": False}) == {
        "hygiene_note": "不合格项须填写情况说明", "security_note": "不合格项须填写情况说明"}
    assert Patrol.check({"hygiene_ok": True, "facilities_ok": True, "bulletin_ok": True, "security_ok": True}) == {}
