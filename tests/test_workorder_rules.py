"""Work-order rules: the status flow, follow-up deadlines (2 days; leak 3 days after the leak test),
follow-up sending an order back, numbering, audit rows, overdue lists and the follow-up rates."""
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import select

from app.extensions import db
from app.workorders import (
    FOLLOWUP_DAYS, TRANSITIONS, WorkOrderError, accept, available_actions, can_transition, close, complete,
    dispatch, followup_due, followup_rates, is_overdue, open_work_order, pending_followups_query,
    record_followup, start,
)
from schema.org import AuditLog
from schema.work_orders import WorkOrder, WorkOrderStatus
from tests import factories

D = Decimal
T0 = datetime(2026, 11, 2, 9, 0)
STATUSES = [s.value for s in WorkOrderStatus]
ALLOWED = {
    ("pending", "dispatched"), ("pending", "closed"),
    ("dispatched", "accepted"), ("dispatched", "closed"),
    ("accepted", "in_progress"), ("accepted", "closed"),
    ("in_progress", "done"),
    ("done", "visited"), ("done", "dispatched"),
}


def new_order(category="other", at=T0, department=True, **kw):
    return open_work_order(source=kw.pop("source", "repair"), description=kw.pop("description", "厨房水龙头漏水"),
                           unit=kw.pop("unit", None) or factories.unit(), category=category,
                           department=factories.department() if department is True else department,
                           created_by="frontdesk", at=at, **kw)


def to_done(category="other", at=T0, completed=None, leak_test_at=None, **kw):
    """An order opened at `at`, dispatched/accepted/started an hour apart, completed at `completed`."""
    o = new_order(category, at=at, **kw)
    dispatch(o, "frontdesk", at=at + timedelta(hours=1))
    accept(o, "maintenance", at=at + timedelta(hours=2))
    start(o, "maintenance", at=at + timedelta(hours=3))
    complete(o, "maintenance", at=completed or at + timedelta(hours=5), leak_test_at=leak_test_at)
    return o


def audit_actions(order):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == "work_order",
                                                            AuditLog.record_id == order.id)
                              .order_by(AuditLog.id)).all()


# ---------------------------------------------------------------- transitions


def test_transition_table_is_the_manuals_flow():
    assert set(TRANSITIONS) == set(STATUSES)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED
    assert TRANSITIONS["visited"] == () and TRANSITIONS["closed"] == ()


@pytest.mark.parametrize("current, target", list(product(STATUSES, STATUSES)))
def test_every_pair(current, target):
    assert can_transition(current, target) is ((current, target) in ALLOWED)
    assert can_transition(WorkOrderStatus(current), WorkOrderStatus(target)) is ((current, target) in ALLOWED)


def test_unknown_status_refused():
    assert not can_transition("bogus", "dispatched")
    assert not can_transition("pending", "bogus")


STEPS = {
    "dispatched": lambda o: dispatch(o, "frontdesk"),
    "accepted": lambda o: accept(o, "maintenance"),
    "in_progress": lambda o: start(o, "maintenance"),
    "done": lambda o: complete(o, "maintenance", leak_test_at=None),
    "visited": lambda o: record_followup(o, "frontdesk", method="phone", satisfied=True, result="满意"),
    "closed": lambda o: close(o, "supervisor", "重复报修"),
}


@pytest.mark.parametrize("current, target", [(c, t) for c, t in product(STATUSES, STEPS)
                                             if (c, t) not in ALLOWED])
def test_step_functions_refuse_invalid_transitions(ctx, current, target):
    o = new_order()
    o.status = current
    db.session.flush()
    with pytest.raises(WorkOrderError) as err:
        STEPS[target](o)
    assert str(err.value) == (f"工单状态为「{WorkOrderStatus.label_of(current)}」,"
                              f"不能执行「{WorkOrderStatus.label_of(target)}」")
    assert o.status == current


@pytest.mark.parametrize("current, target", sorted(ALLOWED))
def test_step_functions_allow_valid_transitions(ctx, current, target):
    o = new_order()
    o.status = current
    o.completed_at, o.followup_due = T0, T0 + timedelta(days=2)
    db.session.flush()
    if (current, target) == ("done", "dispatched"):  # only through a follow-up that found problems
        with pytest.raises(WorkOrderError, match="须先回访"):
            dispatch(o, "frontdesk")
        record_followup(o, "frontdesk", method="visit", satisfied=False, result="仍漏水", problems="接口仍渗水")
    else:
        STEPS[target](o)
    assert o.status == target


def test_available_actions():
    assert available_actions("pending") == ["dispatch", "close"]
    assert available_actions("dispatched") == ["accept", "close"]
    assert available_actions("accepted") == ["start", "close"]
    assert available_actions("in_progress") == ["complete"]
    assert available_actions("done") == ["followup"]
    assert available_actions("visited") == [] and available_actions("closed") == []


# ---------------------------------------------------------------- deadlines


def test_followup_days():
    assert FOLLOWUP_DAYS == {"safety": 2, "leak": 3, "other": 2}


def test_followup_due_safety_and_other_two_days_after_completion():
    done = datetime(2026, 11, 27, 16, 30)
    assert followup_due("safety", done) == datetime(2026, 11, 29, 16, 30)
    assert followup_due("other", done) == datetime(2026, 11, 29, 16, 30)
    assert followup_due("other", datetime(2026, 12, 30, 10, 0)) == datetime(2027, 1, 1, 10, 0)


def test_followup_due_leak_three_days_after_the_leak_test():
    done = datetime(2026, 11, 27, 16, 30)
    test = datetime(2026, 11, 26, 9, 15)
    assert followup_due("leak", done, test) == datetime(2026, 11, 29, 9, 15)
    assert followup_due("leak", done, test) != done + timedelta(days=3)
    with pytest.raises(WorkOrderError, match="渗漏水维修须先记录试漏时间"):
        followup_due("leak", done)


def test_complete_sets_the_deadline(ctx):
    o = to_done("safety", completed=datetime(2026, 11, 2, 15, 0))
    assert (o.status, o.completed_by) == ("done", "maintenance")
    assert o.completed_at == datetime(2026, 11, 2, 15, 0)
    assert o.followup_due == datetime(2026, 11, 4, 15, 0)
    leak = to_done("leak", completed=datetime(2026, 11, 3, 17, 0), leak_test_at=datetime(2026, 11, 3, 12, 0))
    assert leak.leak_test_at == datetime(2026, 11, 3, 12, 0)
    assert leak.followup_due == datetime(2026, 11, 6, 12, 0)


def test_complete_refuses_a_leak_without_leak_test(ctx):
    o = new_order("leak")
    dispatch(o, "frontdesk", at=T0)
    accept(o, "maintenance", at=T0)
    start(o, "maintenance", at=T0 + timedelta(hours=1))
    with pytest.raises(WorkOrderError, match="渗漏水维修须先记录试漏时间"):
        complete(o, "maintenance", at=T0 + timedelta(hours=4))
    with pytest.raises(WorkOrderError, match="试漏时间不能晚于完工时间"):
        complete(o, "maintenance", at=T0 + timedelta(hours=4), leak_test_at=T0 + timedelta(hours=5))
    with pytest.raises(WorkOrderError, match="试漏时间不能早于开始处理时间"):
        complete(o, "maintenance", at=T0 + timedelta(hours=4), leak_test_at=T0)
    assert o.status == "in_progress" and o.completed_at is None
    complete(o, "maintenance", at=T0 + timedelta(hours=4), leak_test_at=T0 + timedelta(hours=4))
    assert o.followup_due == T0 + timedelta(days=3, hours=4)


# ---------------------------------------------------------------- opening and the steps


def test_open_numbers_by_day(ctx):
    a = new_order(at=datetime(2026, 11, 27, 8, 0))
    b = new_order(at=datetime(2026, 11, 27, 18, 0))
    c = new_order(at=datetime(2026, 11, 28, 8, 0))
    db.session.commit()
    assert (a.number, b.number, c.number) == ("WX20261127-0001", "WX20261127-0002", "WX20261128-0001")
    assert a.status == "pending" and a.created_at == datetime(2026, 11, 27, 8, 0) and a.created_by == "frontdesk"


def test_open_checks(ctx):
    with pytest.raises(WorkOrderError, match="请填写问题描述"):
        open_work_order(source="call", description="  ")
    with pytest.raises(WorkOrderError, match="请选择工单来源"):
        open_work_order(source="email", description="灯不亮")
    with pytest.raises(WorkOrderError, match="请选择维修类别"):
        open_work_order(source="call", description="灯不亮", category="misc")
    o = open_work_order(source="call", description="灯不亮", reporter="张三", reporter_phone="13800138000")
    assert o.category == "other" and o.unit is None and o.number.startswith("WX")


def test_dispatch_requires_a_department(ctx):
    o = new_order(department=None)
    with pytest.raises(WorkOrderError, match="请选择负责部门"):
        dispatch(o, "frontdesk")
    dept = factories.department()
    dispatch(o, "frontdesk", department=dept, at=T0)
    assert (o.status, o.department, o.dispatched_at, o.dispatched_by) == ("dispatched", dept, T0, "frontdesk")
    o2 = new_order()  # the department chosen when opening
    dispatch(o2, "frontdesk")
    assert o2.status == "dispatched" and o2.dispatched_at is not None


def test_the_whole_flow_stamps_and_audits(ctx):
    o = to_done(completed=datetime(2026, 11, 2, 14, 0))
    record_followup(o, "frontdesk", method="phone", satisfied=True, result="业主表示满意",
                    at=datetime(2026, 11, 3, 10, 0))
    db.session.commit()
    o = db.session.get(WorkOrder, o.id)
    assert o.status == "visited"
    assert (o.dispatched_at, o.dispatched_by) == (T0 + timedelta(hours=1), "frontdesk")
    assert (o.accepted_at, o.accepted_by) == (T0 + timedelta(hours=2), "maintenance")
    assert o.started_at == T0 + timedelta(hours=3)
    assert (o.completed_at, o.completed_by) == (datetime(2026, 11, 2, 14, 0), "maintenance")
    assert (o.followup_method, o.followup_at, o.followup_by) == ("phone", datetime(2026, 11, 3, 10, 0), "frontdesk")
    assert o.satisfied is True and o.followup_result == "业主表示满意" and o.problems_found is None
    assert audit_actions(o) == ["开单", "派工", "签领", "开始处理", "完工", "回访"]
    rows = db.session.scalars(select(AuditLog).where(AuditLog.table_name == "work_order",
                                                     AuditLog.record_id == o.id).order_by(AuditLog.id)).all()
    assert [r.username for r in rows] == ["frontdesk", "frontdesk", "maintenance", "maintenance", "maintenance",
                                          "frontdesk"]


def test_close_needs_a_reason(ctx):
    o = new_order()
    with pytest.raises(WorkOrderError, match="请填写关闭原因"):
        close(o, "supervisor", " ")
    close(o, "supervisor", "业主已自行修复", at=T0)
    db.session.commit()
    assert o.status == "closed" and o.close_reason == "业主已自行修复"
    row = db.session.scalars(select(AuditLog).where(AuditLog.record_id == o.id, AuditLog.action == "关闭")).one()
    assert row.username == "supervisor" and row.note.startswith("业主已自行修复")


def test_followup_checks(ctx):
    o = to_done()
    with pytest.raises(WorkOrderError, match="请选择回访方式"):
        record_followup(o, "frontdesk", method="email", satisfied=True, result="满意")
    with pytest.raises(WorkOrderError, match="请填写回访结果"):
        record_followup(o, "frontdesk", method="visit", satisfied=True, result="  ")
    assert o.status == "done" and o.followup_at is None


def test_followup_with_problems_goes_back_and_gets_a_new_deadline(ctx):
    o = to_done("safety", completed=datetime(2026, 11, 2, 14, 0))
    assert o.followup_due == datetime(2026, 11, 4, 14, 0)
    record_followup(o, "frontdesk", method="visit", satisfied=False, result="门禁仍时好时坏",
                    problems="门禁读卡器接触不良", at=datetime(2026, 11, 3, 10, 0))
    db.session.commit()
    assert o.status == "dispatched"
    assert o.problems_found == "门禁读卡器接触不良"
    assert (o.followup_at, o.followup_method, o.satisfied) == (datetime(2026, 11, 3, 10, 0), "visit", False)
    assert o.completed_at is None and o.followup_due is None
    assert not is_overdue(o, datetime(2026, 12, 1))

    accept(o, "maintenance", at=datetime(2026, 11, 5, 9, 0))
    start(o, "maintenance", at=datetime(2026, 11, 5, 10, 0))
    complete(o, "maintenance", at=datetime(2026, 11, 6, 11, 0))
    assert o.followup_due == datetime(2026, 11, 8, 11, 0)
    assert o.problems_found == "门禁读卡器接触不良"  # history kept
    record_followup(o, "frontdesk", method="phone", satisfied=True, result="已修好", at=datetime(2026, 11, 7, 9, 0))
    db.session.commit()
    assert o.status == "visited" and o.followup_at == datetime(2026, 11, 7, 9, 0)
    assert audit_actions(o).count("回访") == 2 and audit_actions(o).count("完工") == 2


# ---------------------------------------------------------------- overdue and the 待回访 list


def test_is_overdue(ctx):
    o = to_done(completed=datetime(2026, 11, 2, 14, 0))  # due 11-04 14:00
    assert not is_overdue(o, datetime(2026, 11, 4, 14, 0))
    assert is_overdue(o, datetime(2026, 11, 4, 14, 1))
    record_followup(o, "frontdesk", method="phone", satisfied=True, result="满意", at=datetime(2026, 11, 5, 9, 0))
    assert not is_overdue(o, datetime(2026, 11, 5, 10, 0))
    assert not is_overdue(new_order(), datetime(2030, 1, 1))


def test_pending_followups_order(ctx):
    now = datetime(2026, 11, 10, 12, 0)
    late = to_done(completed=datetime(2026, 11, 7, 9, 0))  # due 11-09 09:00: overdue
    later = to_done(completed=datetime(2026, 11, 6, 9, 0))  # due 11-08 09:00: most overdue
    soon = to_done(completed=datetime(2026, 11, 9, 9, 0))  # due 11-11 09:00
    leak = to_done("leak", completed=datetime(2026, 11, 9, 18, 0), leak_test_at=datetime(2026, 11, 9, 17, 0))
    visited = to_done(completed=datetime(2026, 11, 1, 9, 0))
    record_followup(visited, "frontdesk", method="phone", satisfied=True, result="满意")
    new_order()
    db.session.commit()
    rows = db.session.scalars(pending_followups_query(now)).all()
    assert [r.id for r in rows] == [later.id, late.id, soon.id, leak.id]
    assert [is_overdue(r, now) for r in rows] == [True, True, False, False]


# ---------------------------------------------------------------- follow-up rates


def rated_fixture():
    """In November: 5 completed, 4 followed up, 3 of them on time; plus noise outside the figures."""
    dept = factories.department()
    orders = [to_done(completed=datetime(2026, 11, d, 10, 0), department=dept) for d in (2, 3, 4, 5, 6)]
    for o, days in zip(orders[:4], (1, 2, 1, 3)):  # 2 days allowed: the last one is late
        record_followup(o, "frontdesk", method="phone", satisfied=True, result="满意",
                        at=o.completed_at + timedelta(days=days))
    # outside November
    old = to_done(completed=datetime(2026, 10, 31, 23, 59), department=dept)
    record_followup(old, "frontdesk", method="phone", satisfied=True, result="满意",
                    at=datetime(2026, 11, 1, 9, 0))
    to_done(completed=datetime(2026, 12, 1, 0, 0), department=dept)
    # sent back at follow-up and not completed again: not counted
    back = to_done(completed=datetime(2026, 11, 8, 10, 0), department=dept)
    record_followup(back, "frontdesk", method="visit", satisfied=False, result="未修好", problems="仍渗水",
                    at=datetime(2026, 11, 9, 10, 0))
    # sent back, completed again, not yet followed up: completed but not followed up
    again = to_done(completed=datetime(2026, 11, 10, 10, 0), department=factories.department())
    record_followup(again, "frontdesk", method="visit", satisfied=False, result="未修好", problems="仍有异响",
                    at=datetime(2026, 11, 11, 10, 0))
    accept(again, "maintenance", at=datetime(2026, 11, 12, 9, 0))
    start(again, "maintenance", at=datetime(2026, 11, 12, 10, 0))
    complete(again, "maintenance", at=datetime(2026, 11, 12, 11, 0))
    db.session.commit()
    return dept, orders, again


def test_followup_rates_exact(ctx):
    dept, orders, again = rated_fixture()
    r = followup_rates([WorkOrder.department_id == dept.id], date(2026, 11, 1), date(2026, 11, 30))
    assert r == {"completed": 5, "followed_up": 4, "on_time": 3,
                 "follow_up_rate": D("80.0"), "on_time_rate": D("75.0")}
    whole = followup_rates(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert (whole["completed"], whole["followed_up"], whole["on_time"]) == (6, 4, 3)
    assert whole["follow_up_rate"] == D("66.7") and whole["on_time_rate"] == D("75.0")
    # a single clause, a list view's select, datetime bounds
    assert followup_rates(WorkOrder.department_id == dept.id, date(2026, 11, 1), date(2026, 11, 30)) == r
    view = select(WorkOrder).where(WorkOrder.department_id == dept.id).order_by(WorkOrder.created_at.desc())
    assert followup_rates(view, date(2026, 11, 1), date(2026, 11, 30)) == r
    assert followup_rates([WorkOrder.department_id == dept.id], datetime(2026, 11, 1),
                          datetime(2026, 11, 6, 10, 0))["completed"] == 5
    assert followup_rates([WorkOrder.department_id == dept.id], datetime(2026, 11, 1),
                          datetime(2026, 11, 6, 9, 59))["completed"] == 4
    # unbounded: October's order too (followed up on time) and December's
    assert followup_rates([WorkOrder.department_id == dept.id])["completed"] == 7


def test_followup_rates_empty(ctx):
    assert followup_rates(start=date(2026, 1, 1), end=date(2026, 1, 31)) == {
        "completed": 0, "followed_up": 0, "on_time": 0, "follow_up_rate": None, "on_time_rate": None}
    to_done(completed=datetime(2026, 1, 5, 10, 0))
    r = followup_rates(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert r["follow_up_rate"] == D("0.0") and r["on_time_rate"] is None
