"""Department checks and their slips (内部协调单 / 不合格单), and the daily patrol that raises them.

The manual (监督和协调部门的工作; 日常巡查): a failure is written up to the department's supervisor with a
deadline, rectified, and re-checked; a failed re-check reopens the slip with a new deadline.
已开单 → 已整改 → 复查合格 / 复查不合格 (→ 已整改 again). A patrol failure raises a 不合格单 to the
department responsible for that item in one step.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import String, case, cast, func, select

from . import clock
from .actors import code_of, username_of
from .audit import audit_context
from .extensions import db
from .numbering import next_number

PASSED, OPEN, RECTIFIED, RECHECK_PASSED, RECHECK_FAILED = (
    "passed", "open", "rectified", "recheck_passed", "recheck_failed")
OPEN_STATES = (OPEN, RECHECK_FAILED)
PREFIXES = {"nonconformance": "BH", "coordination": "XT"}
PATROL_ITEMS = {  # patrol field -> (check item, department responsible)
    "hygiene": ("patrol_hygiene", "保洁部"),
    "facilities": ("patrol_facilities", "工程维修部"),
    "bulletin": ("patrol_bulletin", "客户服务中心"),
    "security": ("patrol_security", "秩序维护部"),
}


class SupervisionError(ValueError):
    """A check or slip step refused, with a Chinese message for the user."""


def _status_label(status) -> str:
    from schema.supervision import SlipStatus

    return SlipStatus.label_of(status)


def raise_slip(check, *, kind, deadline: datetime, user=None) -> None:
    """Write a failed check up as a slip to its department's supervisor, numbered BH…/XT… by day."""
    kind = code_of(kind)
    if kind not in PREFIXES:
        raise SupervisionError("请选择单据类型(内部协调单或不合格单)")
    if deadline is None:
        raise SupervisionError("请填写整改期限")
    if deadline <= check.checked_at:
        raise SupervisionError("整改期限须晚于检查时间")
    if not (check.findings or "").strip():
        raise SupervisionError("请填写不合格情况")
    check.passed = False
    check.slip_kind = kind
    check.deadline = deadline
    check.supervisor_name = check.department.supervisor_name if check.department else None
    check.number = next_number(PREFIXES[kind], check.checked_at.date())
    check.status = OPEN


def record_check(*, department, item, checker, passed: bool, findings=None, slip_kind=None, deadline=None,
                 at: datetime | None = None, patrol=None, user=None, note=None):
    """One check of a department; a failure raises its slip at once."""
    from schema.supervision import DeptCheck

    if department is None:
        raise SupervisionError("请选择被检查部门")
    check = DeptCheck(department=department, item=code_of(item), checker=checker, passed=bool(passed),
                      findings=(findings or "").strip() or None, checked_at=at or clock.now(),
                      status=PASSED, note=note)
    with audit_context(db.session, action="部门检查" if passed else "开具不合格单", username=username_of(user)):
        if not passed:
            raise_slip(check, kind=slip_kind or "nonconformance", deadline=deadline, user=user)
        check.patrol = patrol
        db.session.add(check)
        db.session.flush()
    return check


def rectify(check, *, note: str, user, at: datetime | None = None) -> None:
    """The department reports the slip rectified."""
    if check.status not in OPEN_STATES:
        raise SupervisionError(f"该单处于“{_status_label(check.status)}”,不能登记整改")
    if not (note or "").strip():
        raise SupervisionError("请填写整改情况")
    with audit_context(db.session, action="整改", username=username_of(user)):
        check.status = RECTIFIED
        check.rectified_at = at or clock.now()
        check.rectification = note.strip()
        db.session.flush()


def recheck(check, *, passed: bool, note: str, user, at: datetime | None = None,
            new_deadline: datetime | None = None) -> None:
    """复查: passed closes the slip; failed reopens it with a new deadline."""
    if check.status != RECTIFIED:
        raise SupervisionError(f"该单处于“{_status_label(check.status)}”,整改完成后才能复查")
    if not (note or "").strip():
        raise SupervisionError("请填写复查情况")
    at = at or clock.now()
    if not passed and (new_deadline is None or new_deadline <= at):
        raise SupervisionError("复查不合格须重新填写晚于复查时间的整改期限")
    with audit_context(db.session, action="复查合格" if passed else "复查不合格", note=note.strip(),
                       username=username_of(user)):
        check.rechecked_at, check.rechecked_by, check.recheck_note = at, username_of(user), note.strip()
        if passed:
            check.status = RECHECK_PASSED
        else:
            check.status = RECHECK_FAILED
            check.deadline = new_deadline
            check.reopen_count = (check.reopen_count or 0) + 1
        db.session.flush()


def is_overdue(check, now: datetime | None = None) -> bool:
    """An open slip past its rectification deadline."""
    return check.status in OPEN_STATES and check.deadline is not None and check.deadline < (now or clock.now())


def overdue_condition(now: datetime):
    from schema.supervision import DeptCheck

    return DeptCheck.status.in_(OPEN_STATES) & (DeptCheck.deadline < now)


def failures(patrol) -> list[str]:
    """The patrol fields that failed, in the patrol's order."""
    return [name for name in PATROL_ITEMS if getattr(patrol, f"{name}_ok") is False]


def raise_patrol_slips(patrol, *, deadline: datetime, user=None):
    """Each failed patrol item becomes a 不合格单 to the department responsible, in one step."""
    from schema.org import Department

    failed = [name for name in failures(patrol) if not any(s.item == PATROL_ITEMS[name][0] for s in patrol.slips)]
    if not failed:
        raise SupervisionError("该巡查没有待开单的不合格项")
    names = {PATROL_ITEMS[name][1] for name in failed}
    departments = {d.name: d for d in db.session.execute(select(Department).where(Department.name.in_(names))).scalars()}
    if missing := sorted(names - set(departments)):
        raise SupervisionError(f"未登记部门:{'、'.join(missing)}")
    slips = []
    for name in failed:
        item, dept_name = PATROL_ITEMS[name]
        department = departments[dept_name]
        slips.append(record_check(department=department, item=item, checker=patrol.patroller, passed=False,
                                  findings=f"{patrol.building} 巡查:{getattr(patrol, f'{name}_note') or '不合格'}",
                                  slip_kind="nonconformance", deadline=deadline, at=patrol.at, patrol=patrol,
                                  user=user))
    return slips


def counts_by_department_month(since: date, until: date) -> list[tuple[str, str, int, int]]:
    """(department, yyyy-mm, slips raised, of which still open) for slips raised in [since, until]."""
    from schema.org import Department
    from schema.supervision import DeptCheck

    month = func.substr(cast(DeptCheck.checked_at, String), 1, 7)
    stmt = (select(Department.name, month.label("month"), func.count(),
                   func.sum(case((DeptCheck.status.in_(OPEN_STATES), 1), else_=0)))
            .join(Department, Department.id == DeptCheck.department_id)
            .where(DeptCheck.slip_kind.is_not(None),
                   DeptCheck.checked_at >= datetime.combine(since, datetime.min.time()),
                   DeptCheck.checked_at <= datetime.combine(until, time.max))
            .group_by(Department.name, month).order_by(Department.name, month))
    return [(name, m, int(n), int(o or 0)) for name, m, n, o in db.session.execute(stmt)]
