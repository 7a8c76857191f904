"""Repair work orders (维修工作单): the status flow, the follow-up deadlines and the follow-up rates.

The customer-service manual (走回访): 对维修服务回访处理率达 100%。属安全设施维修的 2 天内回访;
房屋渗漏水项目维修的,试漏后 3 天内回访;其他维修项目 2 天内回访。回访可上门或电话回访。
回访中发现问题及时通知维修人员整改。

Plain functions on the current session: they add and flush but never commit; the caller commits.
Each step stamps who (a username string) and when (`at`, default the office clock) and writes its
audit rows under a Chinese action name (派工, 签领, 开始处理, 完工, 回访, 关闭).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.sql import Select

from . import clock
from .audit import audit_context
from .extensions import db
from .actors import code_of as _code, username_of as _username

PENDING, DISPATCHED, ACCEPTED, IN_PROGRESS, DONE, VISITED, CLOSED = (
    "pending", "dispatched", "accepted", "in_progress", "done", "visited", "closed")

TRANSITIONS: dict[str, tuple[str, ...]] = {
    PENDING: (DISPATCHED, CLOSED),
    DISPATCHED: (ACCEPTED, CLOSED),
    ACCEPTED: (IN_PROGRESS, CLOSED),
    IN_PROGRESS: (DONE,),
    DONE: (VISITED, DISPATCHED),  # done -> dispatched: a problem found at follow-up goes back to maintenance
    VISITED: (),
    CLOSED: (),
}

# The admin actions (WorkOrder.__admin__.actions) and the status each one leads to.
ACTION_TARGETS: dict[str, str] = {
    "dispatch": DISPATCHED, "accept": ACCEPTED, "start": IN_PROGRESS, "complete": DONE,
    "followup": VISITED, "close": CLOSED,
}
ACTION_LABELS: dict[str, str] = {
    "dispatch": "派工", "accept": "签领", "start": "开始处理", "complete": "完工", "followup": "回访", "close": "关闭",
}

FOLLOWUP_DAYS = {"safety": 2, "leak": 3, "other": 2}
PERCENT = Decimal("0.1")


class WorkOrderError(ValueError):
    """A work-order operation refused, with a Chinese message for the user."""


# ---------------------------------------------------------------- helpers





def _label(status) -> str:
    from schema.work_orders import WorkOrderStatus

    return WorkOrderStatus.label_of(_code(status))


def can_transition(current, target) -> bool:
    return _code(target) in TRANSITIONS.get(_code(current), ())


def available_actions(status) -> list[str]:
    """The admin actions a work order in `status` offers, in flow order ("dispatch" only from pending:
    a completed order goes back to maintenance through a follow-up that found problems)."""
    status = _code(status)
    out = [a for a, target in ACTION_TARGETS.items() if can_transition(status, target)]
    if status == DONE:
        out.remove("dispatch")
    return out


def _check(order, target) -> None:
    if not can_transition(order.status, target):
        raise WorkOrderError(f"工单状态为「{_label(order.status)}」,不能执行「{_label(target)}」")


# ---------------------------------------------------------------- deadlines


def followup_due(category, completed_at: datetime | None, leak_test_at: datetime | None = None) -> datetime:
    """The follow-up deadline: safety/other 2 days after completion, leak 3 days after the leak test."""
    category = _code(category)
    if category not in FOLLOWUP_DAYS:
        raise WorkOrderError("请选择维修类别")
    if category == "leak":
        if leak_test_at is None:
            raise WorkOrderError("渗漏水维修须先记录试漏时间")
        return leak_test_at + timedelta(days=FOLLOWUP_DAYS["leak"])
    if completed_at is None:
        raise WorkOrderError("工单尚未完工")
    return completed_at + timedelta(days=FOLLOWUP_DAYS[category])


def is_overdue(order, now: datetime | None = None) -> bool:
    """Completed, not yet followed up, and past its follow-up deadline."""
    if _code(order.status) != DONE or order.followup_due is None:
        return False
    return (now or clock.now()) > order.followup_due


# ---------------------------------------------------------------- opening


def open_work_order(*, source, description, unit=None, reporter=None, reporter_phone=None, category="other",
                    department=None, created_by=None, at: datetime | None = None):
    """A new work order in status 待派工, numbered WX<yyyymmdd>-nnnn by its day."""
    from schema.work_orders import WorkOrder, WorkOrderCategory, WorkOrderSource

    if _code(source) not in {m.value for m in WorkOrderSource}:
        raise WorkOrderError("请选择工单来源")
    if _code(category) not in {m.value for m in WorkOrderCategory}:
        raise WorkOrderError("请选择维修类别")
    description = (description or "").strip()
    if not description:
        raise WorkOrderError("请填写问题描述")
    at = at or clock.now()
    who = _username(created_by)
    with audit_context(db.session, action="开单", username=who):
        order = WorkOrder(
            number=next_number_for(at.date()), source=_code(source), description=description,
            reporter=(reporter or "").strip() or None, reporter_phone=(reporter_phone or "").strip() or None,
            category=_code(category), status=PENDING, created_at=at, created_by=who,
        )
        _set_unit(order, unit)
        _set_department(order, department)
        db.session.add(order)
        db.session.flush()
    return order


def next_number_for(day: date) -> str:
    from .numbering import next_number

    return next_number("WX", day)


def _set_unit(order, unit) -> None:
    if unit is None:
        return
    if isinstance(unit, int):
        order.unit_id = unit
    else:
        order.unit = unit


def _set_department(order, department) -> None:
    if department is None:
        return
    if isinstance(department, int):
        order.department_id = department
    else:
        order.department = department


# ---------------------------------------------------------------- the steps


def dispatch(order, user, department=None, at: datetime | None = None):
    """派工: to the given department, or the one already on the order."""
    if _code(order.status) == DONE:
        raise WorkOrderError("已完成的工单须先回访;回访发现问题时自动重新派工")
    _check(order, DISPATCHED)
    if department is None and order.department is None and order.department_id is None:
        raise WorkOrderError("请选择负责部门")
    who = _username(user)
    with audit_context(db.session, action="派工", username=who):
        _set_department(order, department)
        order.status = DISPATCHED
        order.dispatched_at = at or clock.now()
        order.dispatched_by = who
        db.session.flush()
    return order


def accept(order, user, at: datetime | None = None):
    """签领: the maintenance worker takes the order."""
    _check(order, ACCEPTED)
    who = _username(user)
    with audit_context(db.session, action="签领", username=who):
        order.status = ACCEPTED
        order.accepted_at = at or clock.now()
        order.accepted_by = who
        db.session.flush()
    return order


def start(order, user, at: datetime | None = None):
    """开始处理 (the audit row records who)."""
    _check(order, IN_PROGRESS)
    who = _username(user)
    with audit_context(db.session, action="开始处理", username=who):
        order.status = IN_PROGRESS
        order.started_at = at or clock.now()
        db.session.flush()
    return order


def complete(order, user, at: datetime | None = None, leak_test_at: datetime | None = None):
    """完工: sets the completion and the follow-up deadline; a leak repair needs its leak-test time."""
    _check(order, DONE)
    at = at or clock.now()
    category = _code(order.category)
    if category == "leak" and leak_test_at is None:
        raise WorkOrderError("渗漏水维修须先记录试漏时间")
    if leak_test_at is not None:
        if leak_test_at > at:
            raise WorkOrderError("试漏时间不能晚于完工时间")
        if order.started_at is not None and leak_test_at < order.started_at:
            raise WorkOrderError("试漏时间不能早于开始处理时间")
    due = followup_due(category, at, leak_test_at)
    who = _username(user)
    with audit_context(db.session, action="完工", username=who):
        order.status = DONE
        order.completed_at = at
        order.completed_by = who
        order.leak_test_at = leak_test_at
        order.followup_due = due
        db.session.flush()
    return order


def record_followup(order, user, *, method, satisfied: bool, result: str, problems: str | None = None,
                    at: datetime | None = None):
    """回访 (上门 or 电话). Problems found send the order back to maintenance (已派工): the follow-up is
    kept for history, the completion and deadline are cleared so the next completion sets a new one."""
    from schema.work_orders import FollowupMethod

    _check(order, VISITED)
    if _code(method) not in {m.value for m in FollowupMethod}:
        raise WorkOrderError("请选择回访方式")
    result = (result or "").strip()
    if not result:
        raise WorkOrderError("请填写回访结果")
    problems = (problems or "").strip() or None
    at = at or clock.now()
    who = _username(user)
    with audit_context(db.session, action="回访", note=problems, username=who):
        order.followup_method = _code(method)
        order.followup_at = at
        order.followup_by = who
        order.satisfied = bool(satisfied)
        order.followup_result = result
        if problems:
            order.problems_found = problems
            order.status = DISPATCHED
            order.dispatched_at = at
            order.dispatched_by = who
            order.completed_at = None
            order.followup_due = None
        else:
            order.status = VISITED
        db.session.flush()
    return order


def close(order, user, reason: str, at: datetime | None = None):
    """关闭 before any work is done (待派工/已派工/已签领); the reason is required."""
    _check(order, CLOSED)
    reason = (reason or "").strip()
    if not reason:
        raise WorkOrderError("请填写关闭原因")
    who = _username(user)
    stamp = (at or clock.now()).strftime("%Y-%m-%d %H:%M")
    # no closed_at/closed_by columns: who is the audit row's username, when is in its note
    with audit_context(db.session, action="关闭", note=f"{reason}(关闭时间 {stamp})", username=who):
        order.status = CLOSED
        order.close_reason = reason
        db.session.flush()
    return order


# ---------------------------------------------------------------- lists and figures


def pending_followups_query(now: datetime | None = None) -> Select:
    """待回访: completed orders, the overdue first, then by deadline (earliest first)."""
    from schema.work_orders import WorkOrder

    now = now or clock.now()
    overdue_first = case((WorkOrder.followup_due < now, 0), else_=1)
    no_due_last = case((WorkOrder.followup_due.is_(None), 1), else_=0)
    return (select(WorkOrder)
            .where(WorkOrder.status == DONE)
            .order_by(overdue_first, no_due_last, WorkOrder.followup_due, WorkOrder.id))


def _bounds(start, end) -> tuple[datetime | None, datetime | None, bool]:
    """(lower, upper, upper_inclusive): a date end means the whole day."""
    lower = start if isinstance(start, datetime) or start is None else datetime.combine(start, time())
    if end is None:
        return lower, None, True
    if isinstance(end, datetime):
        return lower, end, True
    return lower, datetime.combine(end + timedelta(days=1), time()), False


def _where_list(where) -> list:
    from schema.work_orders import WorkOrder

    if where is None:
        return []
    if isinstance(where, Select):  # a list view's query: keep its rows (joins included)
        return [WorkOrder.id.in_(where.with_only_columns(WorkOrder.id).order_by(None))]
    if isinstance(where, (list, tuple, set)):
        return [w for w in where if w is not None]
    return [where]


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT, rounding=ROUND_HALF_UP)


def followup_rates(where=None, start=None, end=None) -> dict:
    """回访处理率 and 按时回访率 of the orders completed in [start, end] (by completed_at), one SQL aggregate.

    `where`: None, a where-clause, a list of them, or a list view's select (its rows are kept).
    completed: orders whose completed_at is in the period; followed_up: of those, followed up after this
    completion (status 已回访); on_time: of those, followup_at <= followup_due.
    Rates are Decimal percents with 1 place (80.0), None when there is nothing to divide by.
    """
    from schema.work_orders import WorkOrder

    conditions = [WorkOrder.completed_at.is_not(None), *_where_list(where)]
    lower, upper, inclusive = _bounds(start, end)
    if lower is not None:
        conditions.append(WorkOrder.completed_at >= lower)
    if upper is not None:
        conditions.append(WorkOrder.completed_at <= upper if inclusive else WorkOrder.completed_at < upper)

    followed = and_(WorkOrder.status == VISITED, WorkOrder.followup_at.is_not(None))
    on_time = and_(followed, WorkOrder.followup_due.is_not(None), WorkOrder.followup_at <= WorkOrder.followup_due)
    row = db.session.execute(
        select(func.count(WorkOrder.id),
               func.coalesce(func.sum(case((followed, 1), else_=0)), 0),
               func.coalesce(func.sum(case((on_time, 1), else_=0)), 0))
        .where(*conditions)
    ).one()
    completed, followed_up, in_time = (int(v or 0) for v in row)
    return {
        "completed": completed,
        "followed_up": followed_up,
        "on_time": in_time,
        "follow_up_rate": _percent(followed_up, completed),
        "on_time_rate": _percent(in_time, followed_up),
    }
