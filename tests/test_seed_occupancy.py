"""The demo move-ins, inspections, work orders and custody (seed/occupancy_demo.py, loaded by seed.demo.load):
every work-order status with follow-ups both overdue and still due, move-ins done and still missing documents,
a re-inspection coming up, and custody alerts — all written through the panel's own rules."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock, storage
from app.custody import PATROL_OVERDUE, alerting_custody_ids, custody_alert_map, custody_alerts
from app.extensions import db
from app.movein import completion_problems, missing_documents, required_documents
from app.workorders import FOLLOWUP_DAYS, is_overdue
from schema.custody import Custody, CustodyPatrol
from schema.documents import Document
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.occupancy import Inspection, InspectionItem, MoveIn
from schema.org import AuditLog
from schema.people import Owner, Ownership, Resident
from schema.property import UnitStatus
from schema.work_orders import WorkOrder, WorkOrderCategory, WorkOrderSource, WorkOrderStatus
from seed.demo import load
from tests.conftest import wipe

pytestmark = pytest.mark.shared_data  # one demo load for the module (it takes seconds), read-only tests

TABLES = (MoveIn, Inspection, InspectionItem, WorkOrder, Custody, CustodyPatrol,
          Owner, Ownership, Resident, Document, Charge, Payment, PaymentAllocation)


@pytest.fixture(scope="module")
def seeded(app):
    with app.app_context():
        counts = load()
        yield counts
        db.session.remove()
    wipe(app)


def orders() -> list[WorkOrder]:
    return db.session.scalars(select(WorkOrder).order_by(WorkOrder.number)).all()


def test_counts_match_the_database_and_the_trail_is_the_seeds(seeded):
    for model in TABLES:
        n = db.session.scalar(select(func.count()).select_from(model))
        assert seeded[model.__tablename__] == n > 0, model.__tablename__
    assert 10 <= seeded["move_in"] <= 14
    assert 7 <= seeded["inspection"] <= 10
    assert 55 <= seeded["work_order"] <= 65
    assert seeded["custody"] == db.session.scalar(
        select(func.count()).select_from(Custody))
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.username != "seed")) == 0
    actions = set(db.session.scalars(select(AuditLog.action).distinct()))
    assert {"开单", "派工", "签领", "开始处理", "完工", "回访", "关闭", "完成入住", "收取入住物业费",
            "开始验收", "生成维修工作单", "安排复验", "业主签字确认"} <= actions


# ---------------------------------------------------------------- work orders


def test_work_orders_cover_every_status_source_and_category(seeded):
    rows = orders()
    assert {o.status for o in rows} == {m.value for m in WorkOrderStatus}
    assert {o.source for o in rows} == {m.value for m in WorkOrderSource}
    assert {o.category for o in rows} == {m.value for m in WorkOrderCategory}
    statuses = Counter(o.status for o in rows)
    assert all(n >= 3 for n in statuses.values()), statuses
    assert {"工程维修部", "秩序维护部"} <= {o.department.name for o in rows if o.department}
    assert len({o.number for o in rows}) == len(rows)
    now = clock.now()
    for o in rows:
        assert re.fullmatch(r"WX\d{8}-\d{4}", o.number) and o.number[2:10] == f"{o.created_at:%Y%m%d}"
        assert now - timedelta(days=92) <= o.created_at < now, o.number
        assert re.search(r"[\u4e00-\u9fff]{4}", o.description)
        assert o.created_by
        stamps = [o.created_at, o.dispatched_at, o.accepted_at, o.started_at, o.leak_test_at, o.completed_at]
        stamps = [t for t in stamps if t is not None]
        assert all(t < now for t in stamps), o.number
        if o.status != "pending":
            assert o.department is not None, o.number
        if o.status in ("accepted", "in_progress", "done", "visited"):
            assert o.dispatched_at <= o.accepted_at and o.dispatched_by and o.accepted_by, o.number
        if o.status in ("in_progress", "done", "visited"):
            assert o.accepted_at <= o.started_at, o.number
        if o.status == "closed":
            assert o.close_reason and o.completed_at is None
    texts = " ".join(o.description for o in rows)
    assert "楼道灯" in texts and "渗水" in texts and "门禁" in texts


def test_follow_ups_overdue_and_still_due(seeded):
    now = clock.now()
    done = [o for o in orders() if o.status == "done"]
    overdue = [o for o in done if is_overdue(o)]
    assert len(overdue) >= 3 and all(o.followup_due < now for o in overdue)
    ahead = [o for o in done if not is_overdue(o)]
    assert len(ahead) >= 3 and all(o.followup_due > now for o in ahead)
    for o in done:
        assert o.completed_by and o.followup_at is None


def test_follow_ups_mostly_on_time_a_few_late_and_one_sent_back(seeded):
    rows = orders()
    visited = [o for o in rows if o.status == "visited"]
    late = [o for o in visited if o.followup_at > o.followup_due]
    assert 1 <= len(late) <= len(visited) // 4, (len(late), len(visited))
    for o in visited:
        assert o.completed_at < o.followup_at < clock.now()
        assert o.followup_method in ("visit", "phone") and o.followup_result and o.followup_by
        assert o.satisfied is not None and not o.problems_found
    sent_back = [o for o in rows if o.problems_found]
    assert len(sent_back) == 1
    o = sent_back[0]
    assert o.status == "dispatched" and o.followup_at and o.completed_at is None and o.followup_due is None
    assert o.satisfied is False


def test_leak_orders_have_leak_tests_and_three_day_deadlines(seeded):
    rows = orders()
    for o in rows:
        if o.status in ("done", "visited"):
            if o.category == "leak":
                assert o.leak_test_at is not None, o.number
                assert o.started_at <= o.leak_test_at <= o.completed_at
                assert o.followup_due == o.leak_test_at + timedelta(days=3), o.number
            else:
                assert o.leak_test_at is None
                assert o.followup_due == o.completed_at + timedelta(days=FOLLOWUP_DAYS[o.category])
    assert any(o.category == "leak" and o.status == "visited" for o in rows)


# ---------------------------------------------------------------- move-ins


def test_move_ins_completed_and_open(seeded):
    move_ins = db.session.scalars(select(MoveIn).order_by(MoveIn.handled_at)).all()
    completed = [m for m in move_ins if m.status == "completed"]
    still_open = [m for m in move_ins if m.status == "open"]
    assert len(completed) >= 8 and len(still_open) == 2
    kinds = Counter(m.handler_kind for m in completed)
    assert kinds["proxy"] >= 1 and kinds["company"] >= 1 and kinds["owner"] >= 6
    today = clock.today()
    for m in completed:
        assert missing_documents(m) == [] and completion_problems(m) == []
        payment = m.fee_payment
        assert payment is not None and re.fullmatch(r"SK\d{8}-\d{4}", payment.receipt_no)
        assert payment.status == "valid" and payment.clerk.username == "frontdesk"
        assert payment.paid_at.date() < today and payment.unit_id == m.unit_id
        charges = [a.charge for a in payment.allocations]
        assert len(charges) == 1 and charges[0].period.startswith("入住预收") and charges[0].status == "paid"
        assert 2 <= m.keys_count <= 4 and m.readings_confirmed
        assert m.unit.status == UnitStatus.occupied and m.unit.handover_date == m.completed_at.date()
        assert m.handled_at <= m.completed_at < clock.now()
        assert m.unit.residents and m.owner in [o.owner for o in m.unit.ownerships]
        if m.handler_kind == "proxy":
            assert m.proxy_name and m.proxy_id_number
        if m.handler_kind == "company":
            assert m.owner.kind == "company"
    for m in still_open:
        assert missing_documents(m), m.unit
        assert m.fee_payment is None and m.completed_at is None and m.note
        assert m.unit.status == UnitStatus.vacant


def test_move_in_documents_have_real_files(seeded):
    for m in db.session.scalars(select(MoveIn)):
        docs = db.session.scalars(select(Document).where(Document.ref_table == "move_in",
                                                         Document.ref_id == m.id)).all()
        assert {d.doc_type for d in docs} <= set(required_documents(m))
        for d in docs:
            assert d.owner_id == m.owner_id and d.unit_id == m.unit_id and d.clerk.username == "frontdesk"
            data = storage.path_for(d.sha256).read_bytes()
            assert len(data) == d.size and storage.sniff(data[:4096], data[-4096:])[0] == d.content_type


# ---------------------------------------------------------------- inspections


def test_inspections_signed_rectifying_and_a_reinspection(seeded):
    inspections = db.session.scalars(select(Inspection).order_by(Inspection.id)).all()
    status = Counter(i.status for i in inspections)
    assert status["signed"] >= 4 and status["rectifying"] == 1 and status["reinspection"] == 1
    for i in inspections:
        if i.status == "signed":
            assert i.signed_at and all(item.passed is True for item in i.items) and len(i.items) == 35
            assert i.water_reading is not None and i.electricity_reading is not None

    first = next(i for i in inspections if i.status == "reinspection")
    again = next(i for i in inspections if i.previous_id == first.id)
    assert again.status == "in_progress" and again.unit_id == first.unit_id and again.owner_id == first.owner_id
    assert again.agreed_time == first.agreed_time > clock.now()
    assert first.notified_department.name == again.notified_department.name == "工程维修部"
    failed = [item for item in first.items if item.passed is False]
    assert failed and all(item.description for item in failed)
    assert sorted((x.room, x.item) for x in failed) == sorted((x.room, x.item) for x in again.items)
    assert all(item.passed is None for item in again.items)
    repaired = [item.work_order for item in failed]
    assert all(o is not None and o.source == "inspection" and o.status in ("done", "visited") for o in repaired)

    rectifying = next(i for i in inspections if i.status == "rectifying")
    failed = [item for item in rectifying.items if item.passed is False]
    assert failed and all(item.work_order is not None for item in failed)
    assert any(item.work_order.status not in ("done", "visited") for item in failed)
    for item in failed:
        if "渗" in item.description or "漏" in item.description:
            assert item.work_order.category == "leak"


# ---------------------------------------------------------------- custody


def test_custody_agreements_readings_and_patrols(seeded):
    custodies = db.session.scalars(select(Custody)).all()
    assert len(custodies) >= 5
    today = clock.today()
    for c in custodies:
        assert c.unit.status == UnitStatus.custody
        assert c.agreement.doc_type == "custody_agreement" and c.agreement.unit_id == c.unit_id
        assert storage.path_for(c.agreement.sha256).is_file()
        assert c.water_start is not None and c.electricity_start is not None
        assert c.start_date < today and (c.end_date is None or c.end_date > today)
        kinds = Counter(p.kind for p in c.patrols)
        assert kinds["weekly"] >= 4
        assert all(p.at < clock.now() for p in c.patrols)
    assert any(Counter(p.kind for p in c.patrols)["before_rain"] and Counter(p.kind for p in c.patrols)["after_rain"]
               for c in custodies)
    assert db.session.scalar(select(func.count()).select_from(CustodyPatrol)) > 5 * len(custodies)


def test_custody_alerts_one_usage_and_a_patrol_overdue(seeded):
    alerts = custody_alert_map()
    usage = {cid for cid, texts in alerts.items() if any(t != PATROL_OVERDUE for t in texts)}
    overdue = {cid for cid, texts in alerts.items() if PATROL_OVERDUE in texts}
    assert len(usage) == 1 and overdue
    assert alerting_custody_ids() == usage | overdue
    (cid,) = usage
    c = db.session.get(Custody, cid)
    texts = custody_alerts(c)
    assert texts == alerts[cid] and any("超过托管上限" in t for t in texts)
    last = max(c.patrols, key=lambda p: p.at)
    assert last.findings and last.owner_notified
    for cid in overdue:
        c = db.session.get(Custody, cid)
        assert (clock.today() - max(p.at for p in c.patrols).date()).days > 7
