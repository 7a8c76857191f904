"""Complaint rules (投诉): TSyyyymmdd-nnnn numbering, the nature and its categories, identity check for
communication complaints, the department and its supervisor, on-site handling, the follow-up visit,
the status order 已登记 → 已定性 → 已派部门 → 现场处理 → 已回访, escalation to a valid complaint,
the awaiting-follow-up list, the counts by category and the form check."""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product

import pytest
from sqlalchemy import select

from app.complaints import (
    TRANSITIONS,
    ComplaintError,
    assign,
    awaiting_followup_query,
    classify,
    counts_by_category,
    escalate,
    handle_on_site,
    record_followup,
    register,
    verify_identity,
)
from app.extensions import db
from schema.complaints import (
    KIND_CATEGORIES,
    Complaint,
    ComplaintCategory,
    ComplaintKind,
    ComplaintStatus,
)
from schema.org import AuditLog

from . import factories as f

T = datetime(2026, 11, 20, 9, 30)
ALL_CATEGORIES = [c.value for c in ComplaintCategory]


def new(at=T, **kw):
    return register(complainant=kw.pop("complainant", "李四"), content=kw.pop("content", "楼道卫生差"),
                    created_by="frontdesk", at=at, **kw)


def classified(kind="valid", category="cleaning", at=T):
    return new(at=at, kind=kind, category=category)


def assigned(kind="valid", category="cleaning", at=T, department=None):
    c = classified(kind, category, at=at)
    if kind == "communication":
        verify_identity(c, note="核对业主姓名与房号", user="frontdesk")
    assign(c, department=department or f.department(supervisor_name="王主管"), user="frontdesk",
           at=at + timedelta(hours=1))
    return c


def on_site(kind="valid", category="cleaning", at=T):
    c = assigned(kind, category, at=at)
    handle_on_site(c, handling="已安排保洁员清扫楼道", user="supervisor", at=at + timedelta(hours=2))
    return c


def visited(kind="valid", category="cleaning", at=T):
    c = on_site(kind, category, at=at)
    record_followup(c, result="投诉人表示满意", satisfied=True, user="frontdesk", at=at + timedelta(days=1))
    return c


def actions(complaint):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == "complaint",
                                                            AuditLog.record_id == complaint.id)
                              .order_by(AuditLog.id)).all()


def audit(complaint, action):
    return db.session.scalars(select(AuditLog).where(AuditLog.table_name == "complaint",
                                                     AuditLog.record_id == complaint.id,
                                                     AuditLog.action == action)).all()


# ---------------------------------------------------------------- registration


def test_register_records_and_numbers_per_day(ctx):
    unit = f.unit()
    first = register(complainant="  李四 ", content=" 楼道卫生差 ", channel="visit", phone="13800001111", unit=unit,
                     created_by="frontdesk", at=T)
    second = new(at=T + timedelta(hours=3))
    next_day = new(at=T + timedelta(days=1))
    db.session.commit()

    first = db.session.get(Complaint, first.id)
    assert first.number == "TS20261120-0001"
    assert second.number == "TS20261120-0002"
    assert next_day.number == "TS20261121-0001"
    assert first.status == "registered" and first.kind is None and first.category is None
    assert first.complainant == "李四" and first.content == "楼道卫生差"
    assert first.channel == "visit" and first.phone == "13800001111" and first.unit_id == unit.id
    assert first.received_at == T and first.created_by == "frontdesk"
    assert audit(first, "登记投诉")[0].username == "frontdesk"


@pytest.mark.parametrize("complainant, content", [("", "楼道卫生差"), ("李四", ""), ("  ", "  "), (None, "楼道卫生差")])
def test_register_needs_complainant_and_content(ctx, complainant, content):
    with pytest.raises(ComplaintError, match="请填写投诉人和投诉内容"):
        register(complainant=complainant, content=content, at=T)
    assert db.session.scalars(select(Complaint)).all() == []


def test_register_with_nature_known_is_classified_at_once(ctx):
    c = new(kind=ComplaintKind.valid, category=ComplaintCategory.vehicle)
    assert c.status == "classified"
    assert c.kind == "valid" and c.category == "vehicle"
    assert c.classified_at == T and c.classified_by == "frontdesk"
    assert actions(c) == ["登记投诉", "定性"]


def test_register_refuses_a_category_that_does_not_fit_the_nature(ctx):
    with pytest.raises(ComplaintError, match="请选择与投诉性质相符的类别"):
        new(kind="valid", category="venting")


# ---------------------------------------------------------------- classification


def test_kind_categories_are_the_manuals_lists():
    assert set(KIND_CATEGORIES) == {k.value for k in ComplaintKind}
    assert set(KIND_CATEGORIES["valid"]) == {"cleaning", "vehicle", "charges", "maintenance", "violation"}
    assert set(KIND_CATEGORIES["communication"]) == {"help", "inquiry", "venting"}
    assert sorted(KIND_CATEGORIES["valid"] + KIND_CATEGORIES["communication"]) == sorted(ALL_CATEGORIES)


@pytest.mark.parametrize("kind, category", list(product(["valid", "communication"], ALL_CATEGORIES)))
def test_classify_category_must_belong_to_the_kind(ctx, kind, category):
    c = new()
    if category in KIND_CATEGORIES[kind]:
        classify(c, kind=kind, category=category, user="frontdesk", at=T)
        assert (c.status, c.kind, c.category) == ("classified", kind, category)
    else:
        with pytest.raises(ComplaintError, match="请选择与投诉性质相符的类别"):
            classify(c, kind=kind, category=category, user="frontdesk", at=T)
        assert (c.status, c.kind, c.category) == ("registered", None, None)


@pytest.mark.parametrize("kind, category, message", [
    (None, "cleaning", "请选择投诉性质"),
    ("", "cleaning", "请选择投诉性质"),
    ("valid", None, "请选择与投诉性质相符的类别"),
    ("bogus", "help", "请选择与投诉性质相符的类别"),
])
def test_classify_needs_a_kind_and_a_fitting_category(ctx, kind, category, message):
    c = new()
    with pytest.raises(ComplaintError, match=message):
        classify(c, kind=kind, category=category, user="frontdesk")
    assert c.status == "registered" and c.kind is None


def test_classified_complaint_may_be_rejudged_before_assignment_but_not_after(ctx):
    c = classified("valid", "cleaning")
    classify(c, kind="communication", category="inquiry", user="supervisor", at=T + timedelta(minutes=5))
    assert (c.kind, c.category, c.classified_by) == ("communication", "inquiry", "supervisor")

    d = assigned()
    with pytest.raises(ComplaintError, match="投诉处于“已派部门”,不能转为“已定性”"):
        classify(d, kind="valid", category="vehicle", user="frontdesk")
    assert (d.status, d.category) == ("assigned", "cleaning")


# ---------------------------------------------------------------- identity and assignment


@pytest.mark.parametrize("note", [None, "", "   "])
def test_verify_identity_needs_a_note(ctx, note):
    c = classified("communication", "help")
    with pytest.raises(ComplaintError, match="请填写身份核实情况"):
        verify_identity(c, note=note, user="frontdesk")
    assert c.identity_checked is False and c.identity_note is None


def test_verify_identity_records_how_and_is_audited(ctx):
    c = classified("communication", "help")
    verify_identity(c, note="  核对业主姓名与房号 ", user="frontdesk")
    assert c.identity_checked is True and c.identity_note == "核对业主姓名与房号"
    assert audit(c, "核实身份")[0].note == "核对业主姓名与房号"


def test_assign_needs_a_department(ctx):
    c = classified()
    with pytest.raises(ComplaintError, match="请选择责任部门"):
        assign(c, department=None, user="frontdesk")
    assert c.status == "classified" and c.department is None


def test_communication_complaint_needs_identity_checked_before_assignment(ctx):
    dept = f.department(supervisor_name="王主管")
    c = classified("communication", "venting")
    with pytest.raises(ComplaintError, match="沟通性投诉须先核实投诉人身份"):
        assign(c, department=dept, user="frontdesk")
    assert c.status == "classified" and c.department is None

    verify_identity(c, note="核对业主姓名与房号", user="frontdesk")
    assign(c, department=dept, user="frontdesk", at=T)
    assert c.status == "assigned"


def test_valid_complaint_is_assigned_without_identity_check(ctx):
    c = classified("valid", "charges")
    assign(c, department=f.department(supervisor_name="王主管"), user="frontdesk", at=T)
    assert c.status == "assigned" and c.identity_checked is False


def test_assign_defaults_the_supervisor_to_the_departments(ctx):
    dept = f.department(name="保洁部", supervisor_name="陈主管")
    c = classified()
    assign(c, department=dept, user="frontdesk", at=T + timedelta(hours=1))
    db.session.commit()

    c = db.session.get(Complaint, c.id)
    assert c.status == "assigned" and c.department_id == dept.id
    assert c.supervisor_name == "陈主管" and c.assigned_at == T + timedelta(hours=1)
    assert audit(c, "派部门")[0].note == "保洁部"


def test_assign_named_supervisor_wins_over_the_departments(ctx):
    c = classified()
    assign(c, department=f.department(supervisor_name="陈主管"), supervisor_name="  刘副主管 ", user="frontdesk")
    assert c.supervisor_name == "刘副主管"


@pytest.mark.parametrize("dept_supervisor", [None, ""])
def test_assign_refused_when_no_supervisor_is_known(ctx, dept_supervisor):
    dept = f.department(name="秩序维护部", supervisor_name=dept_supervisor)
    c = classified()
    with pytest.raises(ComplaintError, match="秩序维护部未登记部门主管"):
        assign(c, department=dept, supervisor_name="  ", user="frontdesk")
    assert c.status == "classified" and c.supervisor_name is None
    assign(c, department=dept, supervisor_name="赵主管", user="frontdesk")
    assert c.supervisor_name == "赵主管"


def test_reassigning_to_another_department_is_allowed_before_handling(ctx):
    c = assigned()
    other = f.department(name="工程部", supervisor_name="孙工")
    assign(c, department=other, user="supervisor", at=T + timedelta(hours=3))
    assert c.status == "assigned" and c.department is other and c.supervisor_name == "孙工"


# ---------------------------------------------------------------- on site and follow-up


@pytest.mark.parametrize("handling", [None, "", "  "])
def test_on_site_handling_needs_what_was_done(ctx, handling):
    c = assigned()
    with pytest.raises(ComplaintError, match="请填写现场处理情况"):
        handle_on_site(c, handling=handling, user="supervisor", at=T + timedelta(hours=2))
    assert c.status == "assigned" and c.onsite_at is None


def test_on_site_time_cannot_be_before_assignment(ctx):
    c = assigned()  # assigned at T + 1h
    with pytest.raises(ComplaintError, match="现场处理时间不能早于派部门时间"):
        handle_on_site(c, handling="已清扫", user="supervisor", at=T + timedelta(minutes=59))
    assert c.status == "assigned" and c.onsite_at is None
    handle_on_site(c, handling=" 已清扫 ", user="supervisor", at=T + timedelta(hours=1))
    assert c.status == "on_site" and c.onsite_at == T + timedelta(hours=1) and c.handling == "已清扫"


@pytest.mark.parametrize("result", [None, "", "  "])
def test_followup_needs_a_result(ctx, result):
    c = on_site()
    with pytest.raises(ComplaintError, match="请填写回访结果"):
        record_followup(c, result=result, satisfied=True, user="frontdesk")
    assert c.status == "on_site" and c.followup_at is None


def test_full_flow_records_each_step_and_audits_it(ctx):
    c = on_site("communication", "help")
    record_followup(c, result=" 已解决,投诉人满意 ", satisfied=1, user="frontdesk", at=T + timedelta(days=1))
    db.session.commit()

    c = db.session.get(Complaint, c.id)
    assert c.status == "visited"
    assert c.followup_at == T + timedelta(days=1) and c.followup_by == "frontdesk"
    assert c.followup_result == "已解决,投诉人满意" and c.satisfied is True
    assert actions(c) == ["登记投诉", "定性", "核实身份", "派部门", "现场处理", "回访"]


def test_transition_table_is_the_manuals_order():
    order = [s.value for s in ComplaintStatus]
    assert order == ["registered", "classified", "assigned", "on_site", "visited"]
    forward = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert forward == {("registered", "classified"), ("classified", "assigned"), ("classified", "classified"),
                       ("assigned", "on_site"), ("assigned", "assigned"), ("on_site", "visited")}


def test_followup_on_a_registered_complaint_is_refused(ctx):
    c = new()
    with pytest.raises(ComplaintError, match="投诉处于“已登记”,不能转为“已回访”"):
        record_followup(c, result="满意", satisfied=True, user="frontdesk")
    assert c.status == "registered" and c.followup_at is None and c.satisfied is None


@pytest.mark.parametrize("stage, step, current, target", [
    ("registered", "assign", "已登记", "已派部门"),
    ("registered", "on_site", "已登记", "现场处理"),
    ("classified", "on_site", "已定性", "现场处理"),
    ("classified", "followup", "已定性", "已回访"),
    ("assigned", "followup", "已派部门", "已回访"),
    ("on_site", "classify", "现场处理", "已定性"),
    ("on_site", "assign", "现场处理", "已派部门"),
    ("visited", "followup", "已回访", "已回访"),
    ("visited", "on_site", "已回访", "现场处理"),
])
def test_steps_out_of_order_are_refused(ctx, stage, step, current, target):
    c = {"registered": new, "classified": classified, "assigned": assigned, "on_site": on_site,
         "visited": visited}[stage]()
    later = T + timedelta(days=2)
    run = {
        "classify": lambda: classify(c, kind="valid", category="vehicle", user="frontdesk", at=later),
        "assign": lambda: assign(c, department=f.department(), user="frontdesk", at=later),
        "on_site": lambda: handle_on_site(c, handling="处理", user="supervisor", at=later),
        "followup": lambda: record_followup(c, result="满意", satisfied=True, user="frontdesk", at=later),
    }[step]
    with pytest.raises(ComplaintError, match=f"投诉处于“{current}”,不能转为“{target}”"):
        run()
    assert c.status == stage


# ---------------------------------------------------------------- escalation


@pytest.mark.parametrize("make", [new, lambda: classified("valid", "cleaning")])
def test_only_communication_complaints_can_be_escalated(ctx, make):
    c = make()
    before = (c.status, c.kind, c.category)
    with pytest.raises(ComplaintError, match="只有沟通性投诉可以升级为有效投诉"):
        escalate(c, category="charges", reason="处理不当", user="supervisor")
    assert (c.status, c.kind, c.category) == before and c.escalated is False


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_escalation_needs_a_reason(ctx, reason):
    c = visited("communication", "venting")
    with pytest.raises(ComplaintError, match="请填写升级原因"):
        escalate(c, category="charges", reason=reason, user="supervisor")
    assert c.kind == "communication" and c.escalated is False and c.status == "visited"


@pytest.mark.parametrize("category", [None, "help", "inquiry", "venting", "bogus"])
def test_escalation_category_must_be_a_valid_complaint_category(ctx, category):
    c = visited("communication", "venting")
    with pytest.raises(ComplaintError, match="请选择与投诉性质相符的类别"):
        escalate(c, category=category, reason="处理不当", user="supervisor")
    assert c.kind == "communication" and c.category == "venting" and c.escalated is False


def test_escalation_makes_a_valid_complaint_back_at_classified_and_is_audited(ctx):
    c = visited("communication", "venting")
    escalate(c, category=ComplaintCategory.charges, reason="  回访发现属乱收费,沟通处理不当 ", user="supervisor",
             at=T + timedelta(days=3))
    db.session.commit()

    c = db.session.get(Complaint, c.id)
    assert c.escalated is True and c.escalated_from == "venting"
    assert c.kind == "valid" and c.category == "charges" and c.status == "classified"
    assert c.escalation_reason == "回访发现属乱收费,沟通处理不当"
    assert c.escalated_at == T + timedelta(days=3) and c.escalated_by == "supervisor"
    rows = audit(c, "升级为有效投诉")
    assert len(rows) == 1
    assert rows[0].note == "回访发现属乱收费,沟通处理不当" and rows[0].username == "supervisor"

    # the valid complaint goes through a department again
    assign(c, department=f.department(supervisor_name="财务主管"), user="frontdesk", at=T + timedelta(days=3, hours=1))
    assert c.status == "assigned" and c.supervisor_name == "财务主管"
    with pytest.raises(ComplaintError, match="只有沟通性投诉可以升级为有效投诉"):
        escalate(c, category="violation", reason="再升级", user="supervisor")


# ---------------------------------------------------------------- lists and counts


def test_awaiting_followup_lists_only_on_site_complaints_oldest_handling_first(ctx):
    later = on_site(at=T + timedelta(days=2))
    earlier = on_site(at=T)
    middle = on_site(at=T + timedelta(days=1))
    visited(at=T - timedelta(days=5))
    assigned(at=T - timedelta(days=6))
    classified(at=T - timedelta(days=7))
    new(at=T - timedelta(days=8))
    db.session.commit()

    rows = db.session.scalars(awaiting_followup_query()).all()
    assert [c.id for c in rows] == [earlier.id, middle.id, later.id]
    assert {c.status for c in rows} == {"on_site"}


def test_counts_by_category_groups_kind_and_category_and_honours_conditions(ctx):
    for _ in range(3):
        classified("valid", "cleaning")
    classified("valid", "vehicle")
    classified("communication", "inquiry", at=T + timedelta(days=10))
    new()
    new()
    db.session.commit()

    counts = sorted(counts_by_category(), key=lambda row: (row[0] or "", row[1] or ""))
    assert counts == [(None, None, 2), ("communication", "inquiry", 1), ("valid", "cleaning", 3),
                      ("valid", "vehicle", 1)]
    in_range = counts_by_category([Complaint.received_at < T + timedelta(days=1), Complaint.kind.is_not(None)])
    assert sorted(in_range) == [("valid", "cleaning", 3), ("valid", "vehicle", 1)]
    assert counts_by_category([Complaint.kind == "communication"]) == [("communication", "inquiry", 1)]


# ---------------------------------------------------------------- form check


@pytest.mark.parametrize("data, errors", [
    ({}, {}),
    ({"kind": "valid"}, {}),
    ({"kind": "valid", "category": "cleaning"}, {}),
    ({"kind": "communication", "category": "venting"}, {}),
    ({"category": "cleaning"}, {"kind": "选择类别前请先选择投诉性质"}),
    ({"kind": "", "category": "help"}, {"kind": "选择类别前请先选择投诉性质"}),
    ({"kind": "valid", "category": "help"}, {"category": "求助型不属于有效投诉"}),
    ({"kind": "communication", "category": "charges"}, {"category": "乱收费不属于沟通性投诉"}),
])
def test_complaint_form_check(data, errors):
    assert Complaint.check(data) == errors
