"""Call-log rules (来电记录): answer on the spot or leave a callback contact, the status a call gets,
referral to a work order (转维修工单) or a complaint (转投诉) through their own flows, each at most once,
the follow-up that closes a call, and the form check."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.calls import (
    CallError,
    check_call,
    complete_followup,
    log_call,
    status_for,
    to_complaint,
    to_work_order,
)
from app.extensions import db
from schema.complaints import CallLog, Complaint
from schema.org import AuditLog
from schema.work_orders import WorkOrder

from . import factories as f

T = datetime(2026, 11, 20, 10, 0)


def pending_call(**kw):
    return log_call(caller=kw.pop("caller", "王五"), content=kw.pop("content", "厨房水管漏水"), answered=False,
                    callback=kw.pop("callback", "13800001111"), taken_by="frontdesk", at=kw.pop("at", T), **kw)


def audit(call, action):
    return db.session.scalars(select(AuditLog).where(AuditLog.table_name == "call_log",
                                                     AuditLog.record_id == call.id, AuditLog.action == action)).all()


# ---------------------------------------------------------------- the manual's rule


@pytest.mark.parametrize("answered, answer, callback, message", [
    (True, "物业费按每平米2.5元", None, None),
    (True, "已告知停水时间", "13800001111", None),
    (False, None, "13800001111", None),
    (False, "", " 3栋1201 王先生 ", None),
    (False, None, None, "未能当场答复的来电须留下回复联系方式"),
    (False, "稍后回复", "   ", "未能当场答复的来电须留下回复联系方式"),
    (True, None, "13800001111", "当场答复的来电须记录答复内容"),
    (True, "  ", None, "当场答复的来电须记录答复内容"),
])
def test_check_call_answer_or_callback(answered, answer, callback, message):
    assert check_call(answered, answer, callback) == message


@pytest.mark.parametrize("data, errors", [
    ({}, {}),
    ({"caller": "王五"}, {}),
    ({"answered": True, "answer": "已答复"}, {}),
    ({"answered": False, "callback": "13800001111"}, {}),
    ({"answered": False, "callback": ""}, {"callback": "未能当场答复的来电须留下回复联系方式"}),
    ({"answered": False}, {"callback": "未能当场答复的来电须留下回复联系方式"}),
    ({"answered": None, "answer": "已答复"}, {"callback": "未能当场答复的来电须留下回复联系方式"}),
    ({"answered": True, "answer": " ", "callback": "13800001111"}, {"answer": "当场答复的来电须记录答复内容"}),
    ({"answered": True}, {"answer": "当场答复的来电须记录答复内容"}),
])
def test_call_log_form_check_names_the_missing_field(data, errors):
    assert CallLog.check(data) == errors


# ---------------------------------------------------------------- logging


def test_answered_call_is_logged_as_answered(ctx):
    unit = f.unit()
    call = log_call(caller=" 王五 ", content=" 询问物业费标准 ", identity="resident", unit=unit, phone="13800001111",
                    answered=True, answer="每平米2.5元", taken_by="frontdesk", at=T)
    db.session.commit()

    call = db.session.get(CallLog, call.id)
    assert call.status == "answered" and call.answered is True
    assert call.caller == "王五" and call.content == "询问物业费标准"
    assert call.identity == "resident" and call.unit_id == unit.id and call.phone == "13800001111"
    assert call.answer == "每平米2.5元" and call.callback is None
    assert call.at == T and call.taken_by == "frontdesk"


def test_unanswered_call_with_callback_is_pending(ctx):
    dept = f.department()
    call = pending_call(department=dept)
    assert call.status == "pending" and call.answered is False
    assert call.callback == "13800001111" and call.answer is None and call.department is dept


@pytest.mark.parametrize("kw, message", [
    ({"caller": "", "content": "漏水"}, "请填写来电人和来电内容"),
    ({"caller": "王五", "content": "  "}, "请填写来电人和来电内容"),
    ({"caller": None, "content": "漏水"}, "请填写来电人和来电内容"),
    ({"caller": "王五", "content": "漏水", "answered": False}, "未能当场答复的来电须留下回复联系方式"),
    ({"caller": "王五", "content": "漏水", "answered": False, "callback": " "}, "未能当场答复的来电须留下回复联系方式"),
    ({"caller": "王五", "content": "漏水", "answered": True}, "当场答复的来电须记录答复内容"),
    ({"caller": "王五", "content": "漏水"}, "当场答复的来电须记录答复内容"),  # answered by default
])
def test_log_call_refusals_write_nothing(ctx, kw, message):
    with pytest.raises(CallError, match=message):
        log_call(at=T, **kw)
    assert db.session.scalars(select(CallLog)).all() == []


@pytest.mark.parametrize("status, answered, expected", [
    ("answered", True, "answered"),
    ("answered", False, "pending"),
    ("pending", True, "answered"),
    ("pending", False, "pending"),
    (None, False, "pending"),
    ("referred", True, "referred"),
    ("referred", False, "referred"),
    ("closed", False, "closed"),
    ("closed", True, "closed"),
])
def test_status_for_keeps_referred_and_closed_and_otherwise_follows_answered(status, answered, expected):
    assert status_for(CallLog(status=status, answered=answered)) == expected


# ---------------------------------------------------------------- 转维修工单


def test_to_work_order_opens_a_call_sourced_order_and_links_it(ctx):
    unit, dept = f.unit(), f.department(name="工程维修部")
    call = pending_call(unit=unit, phone="13800001111", department=dept)
    order = to_work_order(call, user="frontdesk", category="leak", at=T + timedelta(minutes=5))
    db.session.commit()

    call = db.session.get(CallLog, call.id)
    order = db.session.get(WorkOrder, order.id)
    assert call.work_order_id == order.id and call.status == "referred"
    assert order.source == "call" and order.status == "pending" and order.category == "leak"
    assert order.number == "WX20261120-0001" and order.created_at == T + timedelta(minutes=5)
    assert order.description == "厨房水管漏水" and order.unit_id == unit.id
    assert order.reporter == "王五" and order.reporter_phone == "13800001111"
    assert order.department_id == dept.id and order.created_by == "frontdesk"
    rows = audit(call, "转维修工单")
    assert len(rows) == 1 and rows[0].note == "WX20261120-0001"


def test_to_work_order_department_argument_wins_over_the_calls(ctx):
    call = pending_call(department=f.department())
    other = f.department(name="绿化部")
    order = to_work_order(call, user="frontdesk", department=other, at=T)
    assert order.department is other


def test_to_work_order_refusal_from_the_work_order_flow_leaves_the_call_as_it_was(ctx):
    from app.workorders import WorkOrderError

    call = pending_call()
    with pytest.raises(WorkOrderError, match="请选择维修类别"):
        to_work_order(call, user="frontdesk", category="bogus", at=T)
    assert call.status == "pending" and call.work_order is None
    assert audit(call, "转维修工单") == []


def test_a_call_becomes_a_work_order_only_once(ctx):
    call = pending_call()
    to_work_order(call, user="frontdesk", at=T)
    db.session.commit()

    with pytest.raises(CallError, match="该来电已转维修工单 WX20261120-0001"):
        to_work_order(call, user="frontdesk", at=T)
    assert len(db.session.scalars(select(WorkOrder)).all()) == 1


def test_a_closed_call_cannot_be_referred(ctx):
    call = pending_call()
    complete_followup(call, result="已电话告知", user="frontdesk", at=T)
    with pytest.raises(CallError, match="该来电已回访完成"):
        to_work_order(call, user="frontdesk")
    with pytest.raises(CallError, match="该来电已回访完成"):
        to_complaint(call, user="frontdesk")
    assert call.status == "closed" and call.work_order is None and call.complaints == []
    assert db.session.scalars(select(WorkOrder)).all() == []
    assert db.session.scalars(select(Complaint)).all() == []


# ---------------------------------------------------------------- 转投诉


def test_to_complaint_registers_a_phone_complaint_linked_to_the_call(ctx):
    unit = f.unit()
    call = log_call(caller="王五", content="保洁员态度差", unit=unit, phone="13800001111", answered=True,
                    answer="已记录,将转主管处理", taken_by="frontdesk", at=T)
    complaint = to_complaint(call, user="frontdesk", at=T + timedelta(minutes=5))
    db.session.commit()

    complaint = db.session.get(Complaint, complaint.id)
    call = db.session.get(CallLog, call.id)
    assert complaint.call_log_id == call.id and call.complaints == [complaint]
    assert complaint.channel == "phone" and complaint.number == "TS20261120-0001"
    assert complaint.complainant == "王五" and complaint.content == "保洁员态度差"
    assert complaint.phone == "13800001111" and complaint.unit_id == unit.id
    assert complaint.received_at == T + timedelta(minutes=5) and complaint.created_by == "frontdesk"
    assert complaint.status == "registered"
    assert call.status == "referred"
    rows = audit(call, "转投诉")
    assert len(rows) == 1 and rows[0].note == "TS20261120-0001"


def test_to_complaint_with_the_nature_known_classifies_it(ctx):
    call = pending_call(content="物业乱收费")
    complaint = to_complaint(call, user="frontdesk", kind="valid", category="charges", at=T)
    assert complaint.status == "classified" and (complaint.kind, complaint.category) == ("valid", "charges")


def test_a_call_becomes_a_complaint_only_once(ctx):
    call = pending_call()
    to_complaint(call, user="frontdesk", at=T)
    db.session.commit()
    db.session.expire_all()  # the link is read back from the database

    call = db.session.get(CallLog, call.id)
    with pytest.raises(CallError, match="该来电已转投诉 TS20261120-0001"):
        to_complaint(call, user="frontdesk", at=T)
    assert len(db.session.scalars(select(Complaint)).all()) == 1


def test_a_call_may_be_referred_both_to_repair_and_to_complaint(ctx):
    call = pending_call()
    order = to_work_order(call, user="frontdesk", at=T)
    complaint = to_complaint(call, user="frontdesk", at=T)
    assert call.work_order is order and call.complaints == [complaint] and call.status == "referred"


# ---------------------------------------------------------------- follow-up


@pytest.mark.parametrize("result", [None, "", "   "])
def test_followup_needs_a_result(ctx, result):
    call = pending_call()
    with pytest.raises(CallError, match="请填写回访结果"):
        complete_followup(call, result=result, user="frontdesk")
    assert call.status == "pending" and call.followup_at is None


def test_followup_closes_the_call_once(ctx):
    call = pending_call()
    to_work_order(call, user="frontdesk", at=T)
    complete_followup(call, result="  维修完成,业主满意 ", user="frontdesk", at=T + timedelta(days=1))
    db.session.commit()

    call = db.session.get(CallLog, call.id)
    assert call.status == "closed" and status_for(call) == "closed"
    assert call.followup_at == T + timedelta(days=1) and call.followup_by == "frontdesk"
    assert call.followup_result == "维修完成,业主满意"
    assert len(audit(call, "回访完成")) == 1

    with pytest.raises(CallError, match="该来电已回访完成"):
        complete_followup(call, result="再次回访", user="supervisor", at=T + timedelta(days=2))
    assert call.followup_result == "维修完成,业主满意" and call.followup_by == "frontdesk"
