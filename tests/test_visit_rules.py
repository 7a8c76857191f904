"""Follow-up visit rules (走回访): plans, 计划中 → 已回访 / 已取消, problems back to maintenance as a repair
order, a linked repair followed up with its visit, plans for repairs awaiting follow-up, the visit counts;
and the survey's figures (collection rate, averages per dimension, per building) against a hand count."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.visits import (
    VisitError,
    cancel_visit,
    overdue_visits_query,
    plan_repair_followups,
    plan_visit,
    problem_to_work_order,
    record_visit,
    survey_errors,
    survey_stats,
    visit_counts,
    visit_overdue,
)
from schema.org import AuditLog
from schema.visits import FollowupVisit
from schema.work_orders import WorkOrder

from . import factories as f

pytestmark = pytest.mark.usefixtures("ctx")


def actions(visit) -> list[str]:
    return db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == "followup_visit",
                                                            AuditLog.record_id == visit.id)
                              .order_by(AuditLog.id)).all()


def earlier(**kw):
    return clock.now().replace(second=0) - timedelta(**kw)


def record(visit, **kw):
    args = {"at": earlier(hours=1), "content": "询问维修效果", "problems": None, "opinion": None,
            "result": "satisfied", "user": "frontdesk", **kw}
    return record_visit(visit, **args)


# -- plans -------------------------------------------------------------------------------------
def test_plan_visit_starts_planned_and_is_audited():
    unit = f.unit()
    visit = plan_visit(unit=unit, planned_date=date(2026, 12, 1), staff=" 李娜 ", method="visit",
                       purpose="年度走访", user="frontdesk")
    assert visit.id and visit.status == "planned" and visit.staff == "李娜" and visit.method == "visit"
    assert actions(visit) == ["计划回访"]


@pytest.mark.parametrize("kw, message", [
    ({"unit": None}, "请选择房屋"),
    ({"planned_date": None}, "请填写计划日期"),
    ({"staff": "  "}, "请填写回访人"),
    ({"method": "email"}, "请选择回访方式"),
])
def test_plan_visit_refusals(kw, message):
    args = {"unit": f.unit(), "planned_date": date(2026, 12, 1), "staff": "李娜", "method": "phone", **kw}
    with pytest.raises(VisitError, match=message):
        plan_visit(**args)
    assert db.session.query(FollowupVisit).count() == 0


# -- recording ---------------------------------------------------------------------------------
def test_record_visit_moves_planned_to_done():
    visit = f.followup_visit()
    at = earlier(hours=2)
    record(visit, at=at, content=" 电话回访维修效果 ", problems="  ", opinion="继续关注", result="fair")
    assert visit.status == "done" and visit.visited_at == at and visit.content == "电话回访维修效果"
    assert visit.problems is None and visit.opinion == "继续关注" and visit.result == "fair"
    assert "登记回访" in actions(visit)


@pytest.mark.parametrize("kw, message", [
    ({"content": " "}, "请填写回访内容"),
    ({"result": None}, "请选择回访结果"),
    ({"result": "great"}, "请选择回访结果"),
])
def test_record_visit_needs_content_and_result(kw, message):
    visit = f.followup_visit()
    with pytest.raises(VisitError, match=message):
        record(visit, **kw)
    assert visit.status == "planned"


def test_record_visit_refuses_a_future_time():
    visit = f.followup_visit()
    with pytest.raises(VisitError, match="不能晚于当前时间"):
        record(visit, at=clock.now() + timedelta(hours=2))


@pytest.mark.parametrize("status, label", [("done", "已回访"), ("cancelled", "已取消")])
def test_record_visit_refused_once_done_or_cancelled(status, label):
    visit = f.followup_visit(status=status)
    with pytest.raises(VisitError, match=label):
        record(visit)


def test_a_linked_repair_is_followed_up_with_the_visit():
    order = f.work_order(status="done", completed_at=earlier(days=1), followup_due=earlier(days=-1))
    visit = f.followup_visit(unit=order.unit, work_order=order, method="visit")
    record(visit, result="unsatisfied", content="上门查看")
    assert order.status == "visited" and order.followup_method == "visit" and order.satisfied is False
    assert order.followup_result == "不满意:上门查看" and order.followup_by == "frontdesk"
    assert visit.raised_work_order is None


def test_problems_found_send_the_linked_repair_back_to_maintenance():
    order = f.work_order(status="done", completed_at=earlier(days=1), followup_due=earlier(days=-1))
    visit = f.followup_visit(unit=order.unit, work_order=order)
    record(visit, problems="仍有渗水")
    assert order.status == "dispatched" and order.problems_found == "仍有渗水"
    assert visit.raised_work_order is order
    with pytest.raises(VisitError, match=f"已转维修工单 {order.number}"):
        problem_to_work_order(visit, user="frontdesk")


def test_a_linked_repair_not_awaiting_follow_up_is_left_alone():
    order = f.work_order(status="in_progress")
    visit = f.followup_visit(unit=order.unit, work_order=order)
    record(visit, problems="进度慢")
    assert order.status == "in_progress" and visit.raised_work_order is None


# -- problems to a work order ------------------------------------------------------------------
def test_problems_become_a_repair_work_order():
    own = f.ownership()
    dept = f.department()
    visit = f.followup_visit(unit=own.unit, owner=own.owner)
    record(visit, problems="阳台排水不畅")
    order = problem_to_work_order(visit, user="frontdesk", category="leak", department=dept)
    assert visit.raised_work_order is order
    assert order.number.startswith("WX") and order.source == "repair" and order.status == "pending"
    assert order.description == "阳台排水不畅" and order.unit is own.unit and order.category == "leak"
    assert order.department is dept and order.reporter == own.owner.name and order.created_by == "frontdesk"
    assert "问题转维修工单" in actions(visit)
    with pytest.raises(VisitError, match="已转维修工单"):
        problem_to_work_order(visit, user="frontdesk")
    assert db.session.query(WorkOrder).count() == 1


def test_no_work_order_without_problems_or_before_the_visit():
    visit = f.followup_visit()
    with pytest.raises(VisitError, match="请先登记回访"):
        problem_to_work_order(visit, user="frontdesk")
    record(visit)
    with pytest.raises(VisitError, match="未发现问题"):
        problem_to_work_order(visit, user="frontdesk")
    assert db.session.query(WorkOrder).count() == 0


# -- cancelling --------------------------------------------------------------------------------
def test_cancel_needs_a_reason_and_keeps_it():
    visit = f.followup_visit(note="业主白天不在家")
    with pytest.raises(VisitError, match="请填写取消原因"):
        cancel_visit(visit, reason=" ", user="frontdesk")
    cancel_visit(visit, reason="业主已搬离", user="frontdesk")
    assert visit.status == "cancelled" and visit.note == "业主白天不在家\n取消原因:业主已搬离"
    assert db.session.scalar(select(AuditLog.note).where(AuditLog.action == "取消回访")) == "业主已搬离"
    with pytest.raises(VisitError, match="已取消"):
        cancel_visit(visit, reason="再次取消", user="frontdesk")


def test_a_done_visit_cannot_be_cancelled():
    visit = f.followup_visit()
    record(visit)
    with pytest.raises(VisitError, match="已回访"):
        cancel_visit(visit, reason="误登记", user="frontdesk")


# -- plans for repairs, counts, overdue --------------------------------------------------------
def test_repairs_awaiting_follow_up_get_one_plan_each():
    due = earlier(days=-2)
    waiting = f.work_order(status="done", completed_at=earlier(hours=3), followup_due=due)
    f.work_order(status="visited")
    planned = plan_repair_followups(staff="李娜", user="frontdesk")
    assert [(v.work_order, v.unit, v.planned_date, v.status) for v in planned] == [
        (waiting, waiting.unit, due.date(), "planned")]
    assert planned[0].purpose == f"维修回访 {waiting.number}"
    assert plan_repair_followups(staff="李娜") == []
    cancel_visit(planned[0], reason="改期", user="frontdesk")
    assert len(plan_repair_followups(staff="李娜")) == 1  # a cancelled plan does not count


def test_visit_counts_by_method_result_and_overdue():
    today = clock.today()
    for method, result in [("visit", "satisfied"), ("phone", "satisfied"), ("phone", "unsatisfied")]:
        record(f.followup_visit(method=method), result=result)
    f.followup_visit(planned_date=today - timedelta(days=1))
    f.followup_visit(planned_date=today)
    f.followup_visit(planned_date=today - timedelta(days=3), status="cancelled")
    db.session.flush()
    assert visit_counts(today=today) == {"done": 3, "visit": 1, "phone": 2, "satisfied": 2, "fair": 0,
                                         "unsatisfied": 1, "overdue": 1}
    assert visit_counts([FollowupVisit.method == "visit"], today)["done"] == 1


def test_overdue_helpers_agree():
    today = clock.today()
    late = f.followup_visit(planned_date=today - timedelta(days=1))
    on_time = f.followup_visit(planned_date=today)
    db.session.flush()
    assert visit_overdue(late, today) and not visit_overdue(on_time, today)
    assert db.session.scalars(overdue_visits_query(today)).all() == [late]


# -- the survey --------------------------------------------------------------------------------
def test_survey_errors():
    assert survey_errors({"score_service": 6, "collected_on": date(2026, 10, 9)}) == {"score_service": "评分须为1到5分"}
    assert survey_errors({"score_service": 4}) == {"collected_on": "填写评分前请先填写回收日期"}
    assert survey_errors({"distributed_on": date(2026, 10, 8), "collected_on": date(2026, 10, 1)}) == {
        "collected_on": "回收日期不能早于发放日期"}


SCORES = ("score_service", "score_cleaning", "score_security", "score_maintenance", "score_greening")


def survey_fixture():
    """Building A: 3 forms out, 2 back; building B: 2 out, 1 back; one 2025 form that must not count."""
    estate = f.estate()
    a, b = f.building(estate=estate, name="A栋"), f.building(estate=estate, name="B栋")
    back = date(2026, 10, 20)

    def form(building, scores=None, year=2026):
        values = dict(zip(SCORES, scores)) if scores else {}
        return f.survey(unit=f.unit(building=building), year=year, collected_on=back if scores else None, **values)

    form(a, (5, 4, 3, 4, 5))
    form(a, (4, 4, 2, 3, None))
    form(a)
    form(b, (3, 5, 4, 2, 4))
    form(b)
    form(a, (1, 1, 1, 1, 1), year=2025)
    db.session.flush()
    return a, b


def averages(*values):
    return dict(zip(SCORES, (None if v is None else Decimal(v) for v in values)))


def test_survey_stats_for_the_year_and_per_building():
    a, _b = survey_fixture()
    stats = survey_stats(2026)
    assert (stats["distributed"], stats["collected"], stats["collection_rate"]) == (5, 3, Decimal("60.0"))
    # service (5+4+3)/3, cleaning 13/3 = 4.33, security 9/3, maintenance 9/3, greening (5+4)/2 (blank skipped)
    assert stats["averages"] == averages("4.0", "4.3", "3.0", "3.0", "4.5")
    rows = {r["name"]: r for r in stats["buildings"]}
    assert [r["name"] for r in stats["buildings"]] == ["A栋", "B栋"]
    assert (rows["A栋"]["id"], rows["A栋"]["distributed"], rows["A栋"]["collected"]) == (a.id, 3, 2)
    assert rows["A栋"]["collection_rate"] == Decimal("66.7")
    assert rows["A栋"]["averages"] == averages("4.5", "4.0", "2.5", "3.5", "5.0")
    assert (rows["B栋"]["distributed"], rows["B栋"]["collected"], rows["B栋"]["collection_rate"]) == (
        2, 1, Decimal("50.0"))
    assert rows["B栋"]["averages"] == averages("3.0", "5.0", "4.0", "2.0", "4.0")


def test_survey_stats_for_one_building_and_an_empty_year():
    _a, b = survey_fixture()
    only_b = survey_stats(2026, building_id=b.id)
    assert (only_b["distributed"], only_b["collected"], only_b["collection_rate"]) == (2, 1, Decimal("50.0"))
    assert [r["id"] for r in only_b["buildings"]] == [b.id]
    empty = survey_stats(2030)
    assert (empty["distributed"], empty["collected"], empty["collection_rate"]) == (0, 0, None)
    assert empty["averages"] == averages(None, None, None, None, None) and empty["buildings"] == []
