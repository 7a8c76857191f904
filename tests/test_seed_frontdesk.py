"""The demo front desk (seed/frontdesk_demo.py, loaded by seed.demo.load): calls answered and waiting for a
callback, complaints in every step and category, release slips refused for arrears and overridden by the
supervisor, visitors in the building now — all written through the panel's own rules."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.arrears import arrears_for_unit
from app.complaints import awaiting_followup_query
from app.extensions import db
from app.release import unit_owner_ids
from app.validators import check_phone, check_resident_id
from schema.complaints import (
    KIND_CATEGORIES,
    CallerIdentity,
    CallLog,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
)
from schema.org import AuditLog
from schema.release import ReleaseItem, ReleaseSlip, SlipStatus
from schema.visitors import Visitor
from schema.work_orders import WorkOrder
from seed.demo import load
from seed.frontdesk_demo import CALLS, NEW_CALL_ORDERS, NEW_ORDER_CALLS
from tests.conftest import wipe

pytestmark = pytest.mark.shared_data  # one demo load for the module (it takes seconds), read-only tests

TABLES = (CallLog, Complaint, ReleaseSlip, ReleaseItem, Visitor, WorkOrder)


@pytest.fixture(scope="module")
def seeded(app):
    with app.app_context():
        counts = load()
        yield counts
        db.session.remove()
    wipe(app)


def rows(model, *order):
    return db.session.scalars(select(model).order_by(*(order or (model.id,)))).all()


def audit(action: str, table: str) -> list[AuditLog]:
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action, AuditLog.table_name == table)).all()


def test_counts_match_the_database_and_the_trail_is_the_seeds(seeded):
    for model in TABLES:
        n = db.session.scalar(select(func.count()).select_from(model))
        assert seeded[model.__tablename__] == n > 0, model.__tablename__
    assert seeded["call_log"] == CALLS
    assert seeded["complaint"] == 40
    assert 28 <= seeded["release_slip"] <= 32
    assert seeded["release_item"] >= 3 * seeded["release_slip"]
    assert seeded["visitor"] == 60
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.username != "seed")) == 0
    actions = set(db.session.scalars(select(AuditLog.action).distinct()))
    assert {"登记投诉", "定性", "核实身份", "派部门", "现场处理", "回访", "升级为有效投诉", "转维修工单", "转投诉",
            "回访完成", "拒开放行条", "欠费放行审批", "业主电话确认", "开具放行条", "已放行", "作废",
            "补录经办人"} <= actions


def test_every_time_lies_in_the_past(seeded):
    now = clock.now()
    for model, columns in ((Complaint, ("received_at", "classified_at", "assigned_at", "onsite_at", "followup_at",
                                        "escalated_at")),
                           (CallLog, ("at", "followup_at")),
                           (ReleaseSlip, ("created_at", "refused_at", "override_at", "owner_confirmed_at",
                                          "issued_at", "released_at", "voided_at")),
                           (Visitor, ("time_in", "time_out"))):
        for obj in rows(model):
            stamps = [getattr(obj, c) for c in columns if getattr(obj, c) is not None]
            assert all(now - timedelta(days=95) < t < now for t in stamps), (model.__tablename__, obj.id)


# ---------------------------------------------------------------- complaints


def test_complaints_in_every_status_kind_and_category(seeded):
    complaints = rows(Complaint)
    statuses = Counter(c.status for c in complaints)
    assert set(statuses) == {m.value for m in ComplaintStatus}
    assert all(n >= 3 for n in statuses.values()), statuses
    assert {c.kind for c in complaints if c.kind} == {"valid", "communication"}
    assert {c.category for c in complaints if c.category} == {m.value for m in ComplaintCategory}
    assert len({c.channel for c in complaints}) >= 3
    for c in complaints:
        assert re.search(r"[\u4e00-\u9fff]{6}", c.content) and c.complainant and c.created_by
        assert c.phone is None or check_phone(c.phone) is None
        if c.status == "registered":
            assert c.kind is None and c.classified_at is None
            continue
        assert c.category in KIND_CATEGORIES[c.kind] and c.classified_by and c.classified_at >= c.received_at
        if c.kind == "communication":
            assert c.identity_checked and c.identity_note
        if c.status in ("assigned", "on_site", "visited"):
            assert c.department is not None and c.supervisor_name == c.department.supervisor_name
            assert c.assigned_at >= c.classified_at
        if c.status in ("on_site", "visited"):
            assert c.handling and c.onsite_at >= c.assigned_at
        if c.status == "visited":
            assert c.followup_at > c.onsite_at and c.followup_result and c.followup_by
            assert c.satisfied is not None
        else:
            assert c.followup_at is None


def test_complaint_numbers_follow_the_clock(seeded):
    complaints = rows(Complaint, Complaint.received_at, Complaint.number)
    assert len({c.number for c in complaints}) == len(complaints)
    per_day = defaultdict(list)
    for c in complaints:
        assert re.fullmatch(r"TS\d{8}-\d{4}", c.number) and c.number[2:10] == f"{c.received_at:%Y%m%d}"
        per_day[c.number[2:10]].append(int(c.number[-4:]))
    assert all(seq == list(range(1, len(seq) + 1)) for seq in per_day.values()), per_day


def test_complaints_awaiting_follow_up(seeded):
    waiting = db.session.scalars(awaiting_followup_query()).all()
    assert len(waiting) >= 3
    assert all(c.status == "on_site" and c.followup_at is None and c.onsite_at < clock.now() for c in waiting)


def test_escalated_complaints_keep_their_reason(seeded):
    escalated = [c for c in rows(Complaint) if c.escalated]
    assert len(escalated) >= 3
    rows_ = audit("升级为有效投诉", "complaint")
    assert len(rows_) == len(escalated)
    notes = {r.record_id: r.note for r in rows_}
    for c in escalated:
        assert c.kind == "valid" and c.category in KIND_CATEGORIES["valid"]
        assert c.escalated_from in KIND_CATEGORIES["communication"]
        assert c.escalation_reason and notes[c.id] == c.escalation_reason
        assert c.escalated_by == "supervisor" and c.escalated_at >= c.classified_at
        assert c.identity_checked
    assert any(c.status == "visited" for c in escalated)


# ---------------------------------------------------------------- calls


def test_calls_answered_or_waiting_for_a_callback(seeded):
    calls = rows(CallLog)
    assert {c.identity for c in calls} == {m.value for m in CallerIdentity}
    answered = [c for c in calls if c.answered]
    assert 0.5 <= len(answered) / len(calls) <= 0.7
    for c in calls:
        assert c.caller and re.search(r"[\u4e00-\u9fff]{4}", c.content) and c.taken_by
        if c.answered:
            assert c.answer and not c.callback
        else:
            assert c.callback and not c.answer
    status = Counter(c.status for c in calls)
    assert status["pending"] >= 3 and status["answered"] >= 30 and status["referred"] >= 5
    closed = [c for c in calls if c.status == "closed"]
    assert 30 <= len(closed) <= 50
    assert all(c.followup_at > c.at and c.followup_result and c.followup_by for c in closed)
    assert all(c.followup_at is None for c in calls if c.status != "closed")


def test_calls_turned_into_work_orders_and_complaints(seeded):
    calls = rows(CallLog)
    to_orders = [c for c in calls if c.work_order is not None]
    assert len(to_orders) >= 12
    assert len({c.work_order_id for c in to_orders}) == len(to_orders)
    for c in to_orders:
        o = c.work_order
        assert o.source == "call" and o.description == c.content and o.reporter == c.caller
        assert c.at < o.created_at and c.status in ("referred", "closed")
    linked = {c.work_order_id for c in to_orders}
    orders = rows(WorkOrder)
    assert all(o.id in linked for o in orders if o.source == "call")
    assert len(audit("转维修工单", "call_log")) == len(to_orders)
    new = {content for content, _ in NEW_ORDER_CALLS}
    opened = [c for c in to_orders if c.content in new]  # opened by to_work_order; the rest the occupancy demo's
    assert len(opened) == NEW_CALL_ORDERS
    for c in opened:
        assert c.work_order.created_by == c.taken_by and c.work_order.department.name == "工程维修部"
        assert c.work_order.status in ("pending", "dispatched") and not c.answered

    to_complaints = [c for c in calls if c.complaints]
    assert len(to_complaints) >= 8
    for c in to_complaints:
        (complaint,) = c.complaints
        assert complaint.channel == "phone" and complaint.complainant == c.caller and complaint.content == c.content
        assert c.at <= complaint.received_at and c.status in ("referred", "closed")


# ---------------------------------------------------------------- release slips


def test_release_slips_in_every_status_with_realistic_items(seeded):
    slips = rows(ReleaseSlip)
    status = Counter(s.status for s in slips)
    assert set(status) == {m.value for m in SlipStatus}
    assert status["released"] >= 15 and status["void"] == 2 and status["draft"] >= 2 and status["refused"] >= 1
    items = " ".join(i.description for s in slips for i in s.items)
    assert "沙发" in items and "冰箱" in items and "纸箱" in items
    for s in slips:
        assert s.items and all(i.quantity > 0 and i.measure for i in s.items)
        assert check_resident_id(s.id_number) is None and s.reason and s.created_by
        if s.status in ("issued", "released", "void"):
            assert s.number and s.issued_by and s.id_checked and s.issued_at >= s.created_at
            assert s.applicant_is_owner == (s.id_number in unit_owner_ids(s.unit))
            if not s.applicant_is_owner:
                owners = {o.owner.name for o in s.unit.ownerships}
                assert s.owner_confirmed and s.owner_confirmed_by in owners and s.owner_confirm_phone
                assert s.owner_confirmed_at <= s.issued_at
        else:
            assert s.number is None and s.issued_at is None
        if s.status == "released":
            assert s.guard and s.released_at > s.issued_at
        if s.status == "void":
            assert s.void_reason and s.voided_by and s.voided_at > s.issued_at
    numbers = [s.number for s in slips if s.number]
    assert len(set(numbers)) == len(numbers)
    for s in slips:
        if s.number:
            assert re.fullmatch(r"FX\d{8}-\d{4}", s.number) and s.number[2:10] == f"{s.issued_at:%Y%m%d}"
    owners = [s for s in slips if s.status == "released" and s.relation == "owner"]
    assert len(owners) >= 8 and all(s.applicant_is_owner for s in owners)
    assert sum(1 for s in slips if s.status == "released" and not s.applicant_is_owner) >= 3


def test_release_refused_for_arrears_and_overridden_by_the_supervisor(seeded):
    slips = rows(ReleaseSlip)
    refused = [s for s in slips if s.refused_at is not None]
    assert len(refused) >= 3
    for s in refused:
        assert "欠费" in s.refused_reason
        assert arrears_for_unit(s.unit_id, s.refused_at.date())["overdue"] > 0
    overridden = [s for s in refused if s.override_by]
    assert len(overridden) >= 2
    approvals = audit("欠费放行审批", "release_slip")
    assert {r.record_id for r in approvals} == {s.id for s in overridden}
    notes = {r.record_id: r.note for r in approvals}
    for s in overridden:
        assert s.override_by == "supervisor" and s.override_reason and notes[s.id] == s.override_reason
        assert s.refused_at < s.override_at < s.issued_at and s.status in ("issued", "released")
        assert s.arrears_at_issue > 0
    assert any(s.status == "refused" and not s.override_by for s in refused)
    assert all(s.arrears_at_issue == 0 for s in slips if s.number and not s.override_by)


# ---------------------------------------------------------------- visitors


def test_visitors_some_still_in_the_building(seeded):
    visitors = rows(Visitor)
    now = clock.now()
    inside = [v for v in visitors if v.time_out is None]
    assert len(inside) >= 3
    assert all(now - timedelta(hours=24) < v.time_in < now for v in inside)
    assert any(v.unit is not None for v in visitors) and any(v.visited_department is not None for v in visitors)
    for v in visitors:
        assert v.unit is not None or v.visited_department is not None
        assert v.notified_department is not None and v.purpose and v.host and v.registered_by
        assert check_resident_id(v.id_number) is None and check_phone(v.phone) is None
        if v.time_out is not None:
            assert v.time_in < v.time_out < now
    assert len({v.id_number for v in visitors}) == len(visitors)
