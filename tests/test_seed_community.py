"""The demo follow-up visits, surveys, bulletin board, community events and services (seed/community_demo.py,
loaded by seed.demo.load): visits done, planned, overdue and cancelled in every recent month, two survey years,
boards due for replacement, events in every status, service orders in every status with their receipts, and a
monthly report with numbers in it — all written through the panel's own rules, by "seed"."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from app import clock, community, storage, visits
from app.extensions import db
from app.monthly_report import build, previous_month
from schema.community import BulletinPost, CommunityEvent, EventStatus, PostCategory
from schema.documents import Document
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.org import AuditLog
from schema.services import OrderStatus, ServiceItem, ServiceOrder
from schema.visits import FollowupVisit, Survey, VisitResult, VisitStatus
from schema.work_orders import WorkOrder
from seed.demo import load
from tests.conftest import wipe

pytestmark = pytest.mark.shared_data  # one demo load for the module (it takes seconds), read-only tests

TABLES = (FollowupVisit, Survey, BulletinPost, CommunityEvent, ServiceItem, ServiceOrder, Document, Charge, Payment,
          PaymentAllocation)


@pytest.fixture(scope="module")
def seeded(app):
    with app.app_context():
        counts = load()
        yield counts
        db.session.remove()
    wipe(app)


def rows(model, *where):
    return db.session.scalars(select(model).where(*where).order_by(model.id)).all()


def test_counts_match_the_database_and_the_trail_is_the_seeds(seeded):
    for model in TABLES:
        n = db.session.scalar(select(func.count()).select_from(model))
        assert seeded[model.__tablename__] == n > 0, model.__tablename__
    assert 130 <= seeded["followup_visit"] <= 180 and seeded["service_order"] == 40
    assert seeded["community_event"] == 6 and seeded["service_item"] == 8 and 12 <= seeded["bulletin_post"] <= 16
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.username != "seed")) == 0
    actions = set(db.session.scalars(select(AuditLog.action).distinct()))
    assert {"计划回访", "登记回访", "取消回访", "问题转维修工单", "撤下宣传内容", "批准活动方案", "活动布置完成", "活动举办",
            "活动归档", "预约服务", "安排服务", "重新安排服务", "业主验收", "验收不合格", "收取便民服务费", "取消服务订单",
            "补录经办人"} <= actions


# ---------------------------------------------------------------- visits


def test_visits_planned_done_cancelled_and_overdue(seeded):
    today, now = clock.today(), clock.now()
    all_ = rows(FollowupVisit)
    assert {v.status for v in all_} == {m.value for m in VisitStatus}
    assert {v.method for v in all_} == {"phone", "visit"}
    overdue = db.session.scalars(visits.overdue_visits_query(today)).all()
    assert 5 <= len(overdue) <= 15 and all(visits.visit_overdue(v, today) for v in overdue)
    assert all(today - timedelta(days=95) <= v.planned_date <= today + timedelta(days=14) for v in all_)
    assert sum(v.status == "planned" and v.planned_date >= today for v in all_) >= 10
    for v in all_:
        assert v.staff and v.unit is not None
        assert v.owner is None or v.owner in [o.owner for o in v.unit.ownerships]
        if v.status == "done":
            assert v.content and v.result and v.planned_date - timedelta(days=3) <= v.visited_at.date()
            assert now - timedelta(days=100) < v.visited_at < now
        else:
            assert v.visited_at is None and v.result is None
        if v.status == "cancelled":
            assert "取消原因" in v.note
    results = Counter(v.result for v in all_ if v.status == "done")
    assert set(results) == {m.value for m in VisitResult}
    assert results["satisfied"] > results["fair"] + results["unsatisfied"]


def test_visits_done_in_each_recent_month(seeded):
    today = clock.today()
    last = previous_month(today)
    before = previous_month(today.replace(day=1) - timedelta(days=1))
    done = Counter((v.visited_at.year, v.visited_at.month) for v in rows(FollowupVisit, FollowupVisit.status == "done"))
    for month in (last, before):
        assert done[month] >= 15, (month, done)
    methods = Counter((v.visited_at.year, v.visited_at.month, v.method) for v in rows(FollowupVisit) if v.visited_at)
    assert all(methods[(*last, m)] and methods[(*before, m)] for m in ("phone", "visit")), methods


def test_repair_visits_match_the_work_orders(seeded):
    for o in rows(WorkOrder, WorkOrder.unit_id.is_not(None), WorkOrder.status == "visited"):
        [v] = rows(FollowupVisit, FollowupVisit.work_order_id == o.id)
        assert v.status == "done" and v.visited_at == o.followup_at and v.method == o.followup_method
        assert (v.result != "unsatisfied") == o.satisfied and v.content == o.followup_result
    for o in rows(WorkOrder, WorkOrder.unit_id.is_not(None), WorkOrder.status == "done"):
        [v] = rows(FollowupVisit, FollowupVisit.work_order_id == o.id)
        assert v.status == "planned" and v.planned_date == o.followup_due.date()
    raised = rows(FollowupVisit, FollowupVisit.raised_work_order_id.is_not(None))
    assert len(raised) >= 3
    for v in raised:
        assert v.problems and v.raised_work_order.unit_id == v.unit_id
        assert v.visited_at <= v.raised_work_order.created_at or v.work_order_id == v.raised_work_order_id
    waiting = [v for v in rows(FollowupVisit, FollowupVisit.status == "done") if v.problems and not v.raised_work_order]
    assert waiting  # problems found, some still to be turned into a work order or handled by another department


# ---------------------------------------------------------------- surveys


def test_surveys_for_last_year_and_this_year(seeded):
    years = sorted({s.year for s in rows(Survey)})
    assert len(years) == 2 and years[1] == years[0] + 1 and years[1] >= clock.today().year - 1
    for year, low, high in ((years[0], 84, 92), (years[1], 76, 84)):
        stats = visits.survey_stats(year)
        assert stats["distributed"] >= 140 and low <= stats["collection_rate"] <= high, (year, stats)
        assert all(3.5 <= v <= 4.8 for v in stats["averages"].values()), stats["averages"]
        assert len(stats["buildings"]) == 8
    scores = Counter(getattr(s, name) for s in rows(Survey) for name in visits.SCORES if s.collected_on)
    assert scores[5] + scores[4] > 4 * (scores[3] + scores[2] + scores[1]) and scores[2] and scores[3]
    for s in rows(Survey):
        assert Survey.check({c: getattr(s, c) for c in ("distributed_on", "collected_on", *visits.SCORES)}) == {}
        assert s.collected_on is None or s.distributed_on <= s.collected_on <= clock.today()
        assert s.unit.handover_date <= s.distributed_on
    assert sum(bool(s.suggestions) for s in rows(Survey)) >= 40


# ---------------------------------------------------------------- bulletin board and events


def test_bulletin_boards_with_posts_due(seeded):
    today = clock.today()
    posts = rows(BulletinPost)
    assert 4 <= len({p.board for p in posts}) <= 5 and {p.category for p in posts} == {m.value for m in PostCategory}
    assert 2 <= len(community.boards_due(today)) <= 3
    by_board = defaultdict(list)
    for p in posts:
        by_board[p.board].append(p)
        assert p.posted_on <= today and (p.removed_on is None or p.posted_on <= p.removed_on <= today)
    for board_posts in by_board.values():
        board_posts.sort(key=lambda p: p.posted_on)
        assert [p.removed_on is None for p in board_posts] == [False] * (len(board_posts) - 1) + [True]
        assert all(a.removed_on == b.posted_on for a, b in pairwise(board_posts))
    assert any(not community.post_due(p, today) and p.removed_on is None for p in posts)


def test_events_in_every_status_archived_with_records(seeded):
    now = clock.now()
    events = rows(CommunityEvent)
    assert Counter(e.status for e in events) == {"planning": 1, "approved": 1, "set_up": 1, "held": 1, "archived": 2}
    assert len({e.theme for e in events}) == len(events)
    for e in events:
        assert e.start_at < e.end_at and e.budget > 0 and e.planned_headcount > 0 and e.schedule and e.staff_roles
        held = e.status in ("held", "archived")
        assert (e.start_at < now) == held and (e.actual_cost is not None) == held == (e.summary is not None)
        assert (e.approved_by in ("manager", "supervisor")) == (e.status != "planning")
        docs = community.event_documents(e)
        assert bool(docs) == (e.status == "archived") and (e.archived_at is not None) == (e.status == "archived")
        for d in docs:
            data = storage.path_for(d.sha256).read_bytes()
            assert len(data) == d.size and storage.sniff(data[:4096], data[-4096:])[0] == d.content_type
            assert d.received_on <= e.archived_at.date() and d.clerk.username == "frontdesk"
    costs = [(e.budget, e.actual_cost) for e in events if e.actual_cost is not None]
    assert len(costs) == 3 and all(abs(a - b) <= b * Decimal("0.2") for b, a in costs)
    assert {EventStatus.label_of(e.status) for e in events} >= {"已归档", "策划"}


# ---------------------------------------------------------------- services


def test_service_items_and_orders_in_every_status(seeded):
    items = rows(ServiceItem)
    unpublished = [i for i in items if not i.published]
    assert len(unpublished) == 1 and not rows(ServiceOrder, ServiceOrder.item_id == unpublished[0].id)
    assert all(i.department is not None and i.price > 0 for i in items)
    orders = rows(ServiceOrder)
    assert {o.status for o in orders} == {m.value for m in OrderStatus}
    per_day = defaultdict(list)
    now = clock.now()
    for o in sorted(orders, key=lambda o: (o.booked_at, o.id)):
        assert re.fullmatch(r"FW\d{8}-\d{4}", o.number) and o.number[2:10] == f"{o.booked_at:%Y%m%d}"
        per_day[o.number[:10]].append(int(o.number[-4:]))
        assert o.booked_at < now and o.booked_by in ("frontdesk", "supervisor") and o.agreed_time > o.booked_at
        assert o.owner in [w.owner for w in o.unit.ownerships] and o.fee > 0
        if o.status in ("scheduled", "accepted", "rejected", "charged"):
            assert o.staff and o.scheduled_by in ("maintenance", "supervisor") and o.scheduled_at >= o.booked_at
        if o.status in ("accepted", "rejected", "charged"):
            assert o.scheduled_at < o.done_at < now and o.acceptance_note
            assert o.accepted == (o.status != "rejected")
        if o.status == "cancelled":
            assert "取消原因" in o.note
    assert all(seq == list(range(1, len(seq) + 1)) for seq in per_day.values()), per_day
    assert any(o.status == "booked" and o.agreed_time > now for o in orders)


def test_charged_orders_have_a_service_fee_and_a_receipt(seeded):
    charged = rows(ServiceOrder, ServiceOrder.status == "charged")
    assert len(charged) >= 15
    today = clock.today()
    for o in charged:
        pay = o.payment
        assert pay.amount == o.fee and pay.status == "valid" and pay.clerk.username == "frontdesk"
        assert re.fullmatch(r"SK\d{8}-\d{4}", pay.receipt_no) and pay.paid_at >= o.done_at
        assert pay.paid_at.date() < today
        [allocation] = pay.allocations
        assert allocation.charge.kind == "service_fee" and allocation.charge.status == "paid"
        assert o.number in allocation.charge.period
    # each service receipt comes after the day's earlier receipts, so the day's numbers follow the clock
    for o in charged:
        day = o.payment.receipt_no[:10]
        earlier = [p for p in rows(Payment, Payment.receipt_no.like(f"{day}-%")) if p.receipt_no < o.payment.receipt_no]
        assert all(p.paid_at <= o.payment.paid_at for p in earlier), o.payment.receipt_no


# ---------------------------------------------------------------- the monthly report


def test_the_monthly_report_for_last_month_has_numbers(seeded):
    year, month = previous_month(clock.today())
    sections = {s["key"]: s for s in build(year, month)}
    assert sections["visits"]["total"][-1] >= 15
    assert sections["complaints"]["total"][2] > 0 and sections["calls"]["total"][1] > 0
    assert sections["fees"]["rows"] and sections["fees"]["total"][2] > 0
    before = previous_month(clock.today().replace(day=1) - timedelta(days=1))
    assert {s["key"]: s for s in build(*before)}["visits"]["total"][-1] >= 15
