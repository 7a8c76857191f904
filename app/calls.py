"""The call log (来电记录): record, answer or leave a callback contact, refer, follow up.

The manual (前台操作, 接听电话): 报出管理处名称;询问身份;倾听;记录;当场答复或留下联系方式;
转交相关部门;跟进回复. A call becomes a repair through the one work-order flow (转维修工单) or a
complaint through the complaint flow (转投诉); neither is a second copy of those procedures.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime

from . import clock, complaints, workorders
from .actors import code_of, username_of
from .audit import audit_context
from .extensions import db

ANSWERED, PENDING, REFERRED, CLOSED = "answered", "pending", "referred", "closed"


class CallError(ValueError):
    """A call-log step refused, with a Chinese message for the user."""


def check_call(answered: bool, answer: str | None, callback: str | None) -> str | None:
    """The manual's rule: answer on the spot, or take a contact for the callback."""
    if not answered and not (callback or "").strip():
        return "未能当场答复的来电须留下回复联系方式"
    if answered and not (answer or "").strip():
        return "当场答复的来电须记录答复内容"
    return None


def status_for(call) -> str:
    """answered/pending from the call itself; referred and closed are set by their steps."""
    if call.status in (REFERRED, CLOSED):
        return call.status
    return ANSWERED if call.answered else PENDING


def log_call(*, caller, content, identity="owner", unit=None, phone=None, answered=True, answer=None,
             callback=None, department=None, taken_by=None, at: datetime | None = None, note=None):
    from schema.complaints import CallLog

    if not (caller or "").strip() or not (content or "").strip():
        raise CallError("请填写来电人和来电内容")
    message = check_call(answered, answer, callback)
    if message:
        raise CallError(message)
    call = CallLog(at=at or clock.now(), caller=caller.strip(), identity=code_of(identity), unit=unit,
                   phone=phone or None, content=content.strip(), answered=bool(answered), answer=answer or None,
                   callback=callback or None, department=department, taken_by=username_of(taken_by), note=note)
    call.status = status_for(call)
    db.session.add(call)
    db.session.flush()
    return call


def to_work_order(call, *, user, category="other", department=None, at: datetime | None = None):
    """转维修工单: open a work order (source 来电) for the call and link them."""
    if call.work_order_id is not None:
        raise CallError(f"该来电已转维修工单 {call.work_order.number}")
    if call.status == CLOSED:
        raise CallError("该来电已回访完成")
    order = workorders.open_work_order(
        source="call", description=call.content, unit=call.unit, reporter=call.caller,
        reporter_phone=call.phone, category=category, department=department or call.department,
        created_by=user, at=at)
    with audit_context(db.session, action="转维修工单", note=order.number, username=username_of(user)):
        call.work_order = order
        call.status = REFERRED
        db.session.flush()
    return order


def to_complaint(call, *, user, kind=None, category=None, at: datetime | None = None):
    """转投诉: register a complaint from the call (channel 来电) and link them."""
    if call.complaints:
        raise CallError(f"该来电已转投诉 {call.complaints[0].number}")
    if call.status == CLOSED:
        raise CallError("该来电已回访完成")
    complaint = complaints.register(complainant=call.caller, content=call.content, channel="phone",
                                    phone=call.phone, unit=call.unit, kind=kind, category=category,
                                    call_log=call, created_by=user, at=at)
    with audit_context(db.session, action="转投诉", note=complaint.number, username=username_of(user)):
        call.status = REFERRED
        db.session.flush()
    return complaint


def complete_followup(call, *, result: str, user, at: datetime | None = None) -> None:
    """回访完成: the caller was called back and told the outcome."""
    if call.status == CLOSED:
        raise CallError("该来电已回访完成")
    if not (result or "").strip():
        raise CallError("请填写回访结果")
    with audit_context(db.session, action="回访完成", username=username_of(user)):
        call.status = CLOSED
        call.followup_at = at or clock.now()
        call.followup_by = username_of(user)
        call.followup_result = result.strip()
        db.session.flush()
