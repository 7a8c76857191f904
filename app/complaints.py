"""Complaints (投诉): registration, the nature, the department, on-site handling, the follow-up visit.

The manual (前台操作, 投诉处理): 记录投诉内容;判断投诉性质;找到责任部门;与部门主管一起到现场,由主管
主导处理;回访。沟通性投诉还须确认投诉人身份并查询其缴费情况。Each step is a status:
已登记 → 已定性 → 已派部门 → 现场处理 → 已回访. A communication complaint that was mishandled can be
escalated to a valid one with a written reason (升级为有效投诉); it then goes back to 已定性 for a
department to handle it.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from . import clock
from .actors import code_of, username_of
from .audit import audit_context
from .extensions import db
from .numbering import next_number

PREFIX = "TS"
REGISTERED, CLASSIFIED, ASSIGNED, ON_SITE, VISITED = "registered", "classified", "assigned", "on_site", "visited"
TRANSITIONS = {
    REGISTERED: (CLASSIFIED,),
    CLASSIFIED: (ASSIGNED, CLASSIFIED),
    ASSIGNED: (ON_SITE, ASSIGNED),
    ON_SITE: (VISITED,),
    VISITED: (),
}


class ComplaintError(ValueError):
    """A complaint step refused, with a Chinese message for the user."""


def _categories(kind) -> tuple:
    from schema.complaints import KIND_CATEGORIES

    return KIND_CATEGORIES.get(code_of(kind), ())


def _move(complaint, target: str) -> None:
    from schema.complaints import ComplaintStatus

    if target not in TRANSITIONS.get(complaint.status, ()):
        raise ComplaintError(f"投诉处于“{ComplaintStatus.label_of(complaint.status)}”,不能转为"
                             f"“{ComplaintStatus.label_of(target)}”")
    complaint.status = target


def check_classification(kind, category) -> None:
    if not kind:
        raise ComplaintError("请选择投诉性质")
    if code_of(category) not in _categories(kind):
        raise ComplaintError("请选择与投诉性质相符的类别")


def register(*, complainant, content, channel="phone", phone=None, unit=None, kind=None, category=None,
             call_log=None, created_by=None, at: datetime | None = None, note=None):
    """Record a complaint, numbered TSyyyymmdd-nnnn; judged at once when the nature is already known."""
    from schema.complaints import Complaint

    if not (complainant or "").strip() or not (content or "").strip():
        raise ComplaintError("请填写投诉人和投诉内容")
    if category and not kind:
        raise ComplaintError("请选择投诉性质")
    if kind:
        check_classification(kind, category)
    at = at or clock.now()
    who = username_of(created_by)
    with audit_context(db.session, action="登记投诉", username=who):
        complaint = Complaint(number=next_number(PREFIX, at.date()), received_at=at, channel=code_of(channel),
                              complainant=complainant.strip(), phone=phone or None, unit=unit,
                              content=content.strip(), status=REGISTERED, call_log=call_log, created_by=who,
                              note=note)
        db.session.add(complaint)
        db.session.flush()
    if kind:
        classify(complaint, kind=kind, category=category, user=created_by, at=at)
    return complaint


def classify(complaint, *, kind, category, user, at: datetime | None = None) -> None:
    """Judge the nature (有效/沟通性) and its category; a judged complaint may be re-judged before handling."""
    check_classification(kind, category)
    with audit_context(db.session, action="定性", username=username_of(user)):
        _move(complaint, CLASSIFIED)
        complaint.kind, complaint.category = code_of(kind), code_of(category)
        complaint.classified_at, complaint.classified_by = at or clock.now(), username_of(user)
        db.session.flush()


def verify_identity(complaint, *, note: str, user) -> None:
    """Record how the complainant's identity was confirmed (required for communication complaints)."""
    if not (note or "").strip():
        raise ComplaintError("请填写身份核实情况(如:核对业主姓名与房号)")
    with audit_context(db.session, action="核实身份", note=note.strip(), username=username_of(user)):
        complaint.identity_checked = True
        complaint.identity_note = note.strip()
        db.session.flush()


def assign(complaint, *, department, user, supervisor_name=None, at: datetime | None = None) -> None:
    """Send the complaint to the responsible department and name the supervisor who leads the handling."""
    if department is None:
        raise ComplaintError("请选择责任部门")
    if complaint.kind == "communication" and not complaint.identity_checked:
        raise ComplaintError("沟通性投诉须先核实投诉人身份")
    supervisor = (supervisor_name or "").strip() or department.supervisor_name
    if not supervisor:
        raise ComplaintError(f"{department.name}未登记部门主管,请填写现场负责的主管")
    with audit_context(db.session, action="派部门", note=department.name, username=username_of(user)):
        _move(complaint, ASSIGNED)
        complaint.department = department
        complaint.supervisor_name = supervisor
        complaint.assigned_at = at or clock.now()
        db.session.flush()


def handle_on_site(complaint, *, handling: str, user, at: datetime | None = None) -> None:
    """The supervisor's on-site handling (time and what was done)."""
    if not (handling or "").strip():
        raise ComplaintError("请填写现场处理情况")
    at = at or clock.now()
    if complaint.assigned_at and at < complaint.assigned_at:
        raise ComplaintError("现场处理时间不能早于派部门时间")
    with audit_context(db.session, action="现场处理", username=username_of(user)):
        _move(complaint, ON_SITE)
        complaint.onsite_at = at
        complaint.handling = handling.strip()
        db.session.flush()


def record_followup(complaint, *, result: str, satisfied: bool, user, at: datetime | None = None) -> None:
    """The follow-up visit that closes the complaint."""
    if not (result or "").strip():
        raise ComplaintError("请填写回访结果")
    at = at or clock.now()
    if complaint.onsite_at and at < complaint.onsite_at:
        raise ComplaintError("回访时间不能早于现场处理时间")
    with audit_context(db.session, action="回访", username=username_of(user)):
        _move(complaint, VISITED)
        complaint.followup_at = at
        complaint.followup_by = username_of(user)
        complaint.followup_result = result.strip()
        complaint.satisfied = bool(satisfied)
        db.session.flush()


def escalate(complaint, *, category, reason: str, user, at: datetime | None = None) -> None:
    """升级为有效投诉: a mishandled communication complaint becomes a valid one; the reason is kept and audited."""
    if complaint.kind != "communication":
        raise ComplaintError("只有沟通性投诉可以升级为有效投诉")
    if not (reason or "").strip():
        raise ComplaintError("请填写升级原因")
    check_classification("valid", category)
    with audit_context(db.session, action="升级为有效投诉", note=reason.strip(), username=username_of(user)):
        complaint.escalated = True
        complaint.escalated_from = complaint.category
        complaint.escalation_reason = reason.strip()
        complaint.escalated_at = at or clock.now()
        complaint.escalated_by = username_of(user)
        complaint.kind, complaint.category = "valid", code_of(category)
        complaint.status = CLASSIFIED
        db.session.flush()


def awaiting_followup_query():
    """Complaints handled on site and not yet visited back, oldest handling first."""
    from schema.complaints import Complaint

    return select(Complaint).where(Complaint.status == ON_SITE).order_by(Complaint.onsite_at)


def counts_by_category(conditions=()) -> list[tuple[str | None, str | None, int]]:
    """(kind, category, count) for the complaints matching `conditions`, unjudged ones as (None, None)."""
    from schema.complaints import Complaint

    stmt = (select(Complaint.kind, Complaint.category, func.count())
            .where(*conditions).group_by(Complaint.kind, Complaint.category))
    return [tuple(row) for row in db.session.execute(stmt)]
