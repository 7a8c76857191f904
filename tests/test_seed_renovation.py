"""The demo renovation permits and quality supervision (seed/renovation_demo.py, loaded by seed.demo.load):
permits in every status with their passes, checks, waste fees and notices; department checks and patrols
whose slips are in every state, some overdue, some patrol failures still waiting to be raised."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from app import clock, renovation, storage, supervision
from app.extensions import db
from app.validators import check_phone, check_resident_id
from schema.documents import Document
from schema.ledger import Charge, Payment
from schema.notifications import Notification
from schema.org import AuditLog
from schema.property import Building
from schema.renovation import (
    PermitStatus,
    RenovationCheck,
    RenovationPermit,
    WorkerPass,
)
from schema.supervision import DeptCheck, Patrol, SlipStatus
from seed.demo import load
from seed.renovation_demo import PERMITS, REJECTION
from tests.conftest import wipe

pytestmark = pytest.mark.shared_data  # one demo load for the module (it takes seconds), read-only tests

TABLES = (RenovationPermit, WorkerPass, RenovationCheck, Notification, DeptCheck, Patrol, Document, Charge, Payment)
RUNNING = ("approved", "in_progress", "completed")


@pytest.fixture(scope="module")
def seeded(app):
    with app.app_context():
        counts = load()
        yield counts
        db.session.remove()
    wipe(app)


def rows(model, *where):
    return db.session.scalars(select(model).where(*where).order_by(model.id)).all()


def permits(*statuses) -> list[RenovationPermit]:
    return rows(RenovationPermit, RenovationPermit.status.in_(statuses or [m.value for m in PermitStatus]))


def slips() -> list[DeptCheck]:
    return rows(DeptCheck, DeptCheck.slip_kind.is_not(None))


def test_counts_match_the_database_and_the_trail_is_the_seeds(seeded):
    for model in TABLES:
        n = db.session.scalar(select(func.count()).select_from(model))
        assert seeded[model.__tablename__] == n > 0, model.__tablename__
    assert seeded["renovation_permit"] == len(PERMITS) == 14
    assert seeded["notification"] == 2 * len(permits(*RUNNING))
    assert 40 <= seeded["patrol"] <= 100 and 60 <= seeded["dept_check"] <= 200
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.username != "seed")) == 0
    actions = set(db.session.scalars(select(AuditLog.action).distinct()))
    assert {"审核方案", "批准装修", "驳回装修申请", "开工", "完工", "收取装修垃圾清运费", "部门检查", "开具不合格单",
            "整改", "复查合格", "复查不合格", "签收", "补录经办人"} <= actions


def test_every_time_lies_in_the_past(seeded):
    now = clock.now()
    for model, columns in ((RenovationPermit, ("applied_at", "plan_reviewed_at", "approved_at", "started_at",
                                               "completed_at")),
                           (DeptCheck, ("checked_at", "rectified_at", "rechecked_at")),
                           (Patrol, ("at",)), (Notification, ("created_at", "acknowledged_at"))):
        for obj in rows(model):
            stamps = [getattr(obj, c) for c in columns if getattr(obj, c) is not None]
            assert all(now - timedelta(days=100) < t < now for t in stamps), (model.__tablename__, obj.id)
    assert all(c.checked_on < clock.today() for c in rows(RenovationCheck))


# ---------------------------------------------------------------- renovation permits


def test_permits_in_every_status_with_realistic_plans(seeded):
    all_ = permits()
    assert Counter(p.status for p in all_) == {"applied": 2, "reviewed": 2, "approved": 2, "in_progress": 4,
                                                "completed": 3, "rejected": 1}
    assert len({p.unit_id for p in all_}) == len(all_)
    for p in all_:
        assert len(re.findall(r"[\u4e00-\u9fff]", p.plan_summary)) >= 12 and p.contractor.endswith(("公司", "服务部"))
        assert check_phone(p.contractor_phone) is None and 300 <= p.waste_fee <= 800
        assert p.planned_start < p.planned_end and p.owner in [o.owner for o in p.unit.ownerships]
        assert p.applied_by in ("frontdesk", "supervisor") and p.rules_acknowledged
        if p.applicant_kind == "proxy":
            assert p.proxy_name and check_resident_id(p.proxy_id_number) is None and check_phone(p.proxy_phone) is None
        if p.status != "applied":
            assert p.plan_reviewed_by == "supervisor" and p.plan_reviewed_at >= p.applied_at
        if p.status in RUNNING:
            assert re.fullmatch(r"ZX\d{8}-\d{4}", p.number) and p.number[2:10] == f"{p.approved_at:%Y%m%d}"
            assert p.approved_by in ("supervisor", "manager") and p.approved_at > p.plan_reviewed_at
            assert renovation.missing_documents(p) == []
        else:
            assert p.number is None and p.approved_at is None
    assert sum(p.applicant_kind == "proxy" for p in all_) >= 3
    assert not any(p.structural for p in all_ if "非承重墙" in p.plan_summary)
    assert all(p.structural for p in all_ if "承重墙" in p.plan_summary.replace("非承重墙", "") or "阁楼" in p.plan_summary)
    rejected = permits("rejected")[0]
    assert rejected.rejected_reason == REJECTION


def test_a_structural_plan_waits_for_its_alteration_approval(seeded):
    waiting = [p for p in permits("reviewed") if p.structural]
    assert len(waiting) == 1
    assert renovation.missing_documents(waiting[0]) == ["alteration_approval"]
    assert any("拆改批准书" in problem for problem in renovation.approval_problems(waiting[0]))
    assert "拆改批准书" in waiting[0].review_note
    ready = [p for p in permits("reviewed") if not p.structural]
    assert ready and renovation.approval_problems(ready[0]) == []  # the other waits only for the approval
    approved_structural = [p for p in permits(*RUNNING) if p.structural]
    assert len(approved_structural) >= 2
    for p in approved_structural:
        doc = db.session.scalars(select(Document).where(Document.unit_id == p.unit_id,
                                                        Document.doc_type == "alteration_approval")).one()
        assert doc.ref_table == "renovation_permit" and doc.ref_id == p.id and doc.received_on <= p.approved_at.date()


def test_proxy_papers_and_agreements_are_on_the_units_file_with_real_files(seeded):
    docs = rows(Document, Document.ref_table == "renovation_permit")
    kinds = Counter(d.doc_type for d in docs)
    assert kinds["power_of_attorney"] >= 3 and kinds["proxy_id_copy"] >= 2 and kinds["renovation_agreement"] >= 9
    for d in docs:
        permit = db.session.get(RenovationPermit, d.ref_id)
        assert d.unit_id == permit.unit_id and d.owner_id == permit.owner_id and d.clerk.username == "frontdesk"
        data = storage.path_for(d.sha256).read_bytes()
        assert len(data) == d.size and storage.sniff(data[:4096], data[-4096:])[0] == d.content_type
    # one proxy application still lacks the agent's ID copy: the details page offers its upload
    assert any(renovation.missing_documents(p) == ["proxy_id_copy"] for p in permits("applied"))


def test_running_works_mark_their_units_and_completed_ones_give_them_back(seeded):
    for p in permits("in_progress"):
        assert p.unit.status == "renovating" and p.unit_status_before == "occupied"
        assert p.approved_at < p.started_at and p.started_at.date() == p.planned_start < p.planned_end
    for p in permits("completed"):
        assert p.unit.status == "occupied" and p.started_at < p.completed_at
    for p in permits("applied", "reviewed", "approved", "rejected"):
        assert p.started_at is None
    assert all(p.planned_start > clock.today() for p in permits("approved"))


def test_worker_passes_are_numbered_valid_and_one_has_expired(seeded):
    for p in permits(*RUNNING):
        assert 2 <= len(p.passes) <= 5
        numbers = sorted(w.pass_no for w in p.passes)
        assert numbers == [f"{p.number}-{i:02d}" for i in range(1, len(numbers) + 1)]
    unnumbered = [w for p in permits("reviewed") for w in p.passes]
    assert unnumbered and all(w.pass_no is None for w in unnumbered)
    for w in rows(WorkerPass):
        assert check_resident_id(w.id_number) is None and check_phone(w.phone) is None
        assert renovation.pass_problem(w) is None
    assert any(renovation.pass_expired(w) for p in permits("in_progress") for w in p.passes)
    assert any(not renovation.pass_expired(w) for p in permits("in_progress") for w in p.passes)
    assert len({w.id_number for w in rows(WorkerPass)}) == len(rows(WorkerPass))


def test_checks_every_few_days_and_a_violation(seeded):
    for p in permits("in_progress", "completed"):
        days = sorted(c.checked_on for c in p.checks)
        assert days and days[0] >= p.started_at.date()
        assert all((b - a).days <= 6 for a, b in pairwise(days))
        if p.status == "completed":
            assert days[-1] == p.completed_at.date()
    flagged = [p for p in permits() if p.violation]
    assert len(flagged) == 1 and flagged[0].status == "in_progress"
    bad = [c for c in rows(RenovationCheck) if c.violation]
    assert len(bad) == 1 and bad[0].permit is flagged[0] and bad[0].action_taken


def test_waste_fees_are_in_the_ledger(seeded):
    running = permits(*RUNNING)
    paid = [p for p in running if p.waste_fee_paid]
    assert len(paid) >= len(running) - 2 and len(paid) < len(running)  # one still to collect
    assert not any(p.waste_fee_paid for p in permits("applied", "reviewed", "rejected"))
    for p in paid:
        pay = p.waste_fee_payment
        assert pay.amount == p.waste_fee and pay.status == "valid" and pay.clerk.username == "frontdesk"
        assert pay.paid_at.date() == p.approved_at.date() and pay.method in ("wechat", "alipay", "cash", "bank")
        [allocation] = pay.allocations
        charge = allocation.charge
        assert charge.kind == "garbage_fee" and charge.status == "paid" and charge.amount == p.waste_fee
    fees = db.session.scalars(select(Charge).where(Charge.kind == "garbage_fee", Charge.period.like("装修 ZX%"))).all()
    assert len(fees) == len(paid) and sum(c.amount for c in fees) == sum((p.waste_fee for p in paid), Decimal(0))


def test_notices_per_approved_permit_some_acknowledged(seeded):
    notices = defaultdict(list)
    for n in rows(Notification, Notification.source_table == "renovation_permit"):
        notices[n.source_id].append(n)
    for p in permits(*RUNNING):
        got = notices[p.id]
        assert sorted(n.department.name for n in got) == sorted(renovation.NOTIFIED_DEPARTMENTS)
        assert all(n.created_at == p.approved_at and n.created_by == p.approved_by and p.number in n.subject
                   for n in got)
    signed = [n for ns in notices.values() for n in ns if n.acknowledged_at]
    assert 0 < len(signed) < sum(map(len, notices.values()))
    assert all(n.acknowledged_at > n.created_at and n.acknowledged_by in ("maintenance", "supervisor") for n in signed)


# ---------------------------------------------------------------- department checks and patrols


def test_department_checks_over_three_months_mostly_passed(seeded):
    checks = rows(DeptCheck, DeptCheck.patrol_id.is_(None))
    assert {c.department.name for c in checks} == {"秩序维护部", "工程维修部", "保洁部", "绿化部"}
    assert min(c.checked_at for c in checks) < clock.now() - timedelta(days=80)
    assert 0.6 <= sum(c.passed for c in checks) / len(checks) <= 0.85
    assert len({c.item for c in checks}) >= 8
    for c in checks:
        assert len(re.findall(r"[\u4e00-\u9fff]", c.findings)) >= 6 and c.checker in ("李娜", "刘洋")
        assert c.passed == (c.status == "passed") == (c.slip_kind is None)


def test_slips_in_every_state_numbered_by_day_and_some_overdue(seeded):
    found = slips()
    assert {c.status for c in rows(DeptCheck)} == {m.value for m in SlipStatus}
    assert {c.slip_kind for c in found} == {"coordination", "nonconformance"}
    per_day = defaultdict(list)
    for c in sorted(found, key=lambda c: (c.checked_at, c.id)):
        assert re.fullmatch(r"(BH|XT)\d{8}-\d{4}", c.number) and c.number[2:10] == f"{c.checked_at:%Y%m%d}"
        assert c.number.startswith({"nonconformance": "BH", "coordination": "XT"}[c.slip_kind])
        assert c.deadline > c.checked_at and c.supervisor_name == c.department.supervisor_name
        per_day[c.number[:10]].append(int(c.number[-4:]))
        if c.status != "open":
            assert c.checked_at < c.rectified_at and c.rectification
        if c.status in ("recheck_passed", "recheck_failed"):
            assert c.rectified_at < c.rechecked_at and c.rechecked_by in ("supervisor", "manager") and c.recheck_note
        if c.status == "recheck_failed" or c.reopen_count:
            assert c.reopen_count >= 1
    assert all(seq == list(range(1, len(seq) + 1)) for seq in per_day.values()), per_day
    now = clock.now()
    overdue = [c for c in found if supervision.is_overdue(c, now)]
    assert any(c.status == "open" for c in overdue) and any(c.status == "recheck_failed" for c in overdue)
    assert any(c.status in supervision.OPEN_STATES and not supervision.is_overdue(c, now) for c in found)
    assert any(c.status == "recheck_passed" and c.reopen_count for c in found)


def test_patrols_every_few_days_per_building_with_raised_and_unraised_failures(seeded):
    patrols = rows(Patrol)
    by_building = defaultdict(list)
    for p in patrols:
        by_building[p.building_id].append(p.at)
    assert set(by_building) == set(db.session.scalars(select(Building.id)))
    for times in by_building.values():
        times.sort()
        assert times[0] < clock.now() - timedelta(days=25)
        assert all((b.date() - a.date()).days <= 5 for a, b in pairwise(times))
    items = [(p, name) for p in patrols for name in supervision.PATROL_ITEMS]
    failed = [(p, name) for p, name in items if not getattr(p, f"{name}_ok")]
    assert 0.08 <= len(failed) / len(items) <= 0.25
    assert all(getattr(p, f"{name}_note") for p, name in failed)
    raised = [p for p in patrols if supervision.failures(p) and p.slips]
    waiting = [p for p in patrols if supervision.failures(p) and not p.slips]
    assert len(raised) > 2 * len(waiting) > 0
    for p in raised:
        assert {s.item for s in p.slips} == {supervision.PATROL_ITEMS[n][0] for n in supervision.failures(p)}
        for s in p.slips:
            assert s.department.name == dict(supervision.PATROL_ITEMS.values())[s.item]
            assert s.checked_at == p.at and s.checker == p.patroller and str(p.building) in s.findings
    assert len({s.status for p in raised for s in p.slips}) >= 3
