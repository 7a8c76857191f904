"""Follow-up visits and the owner survey through the panel: plan, record, problems to a work order, cancel,
the overdue badge and link, the list's counts; the survey form's checks, the stats page and who may do what."""
import json
import re
from datetime import date, timedelta
from html import unescape

import pytest

from app import clock
from app.extensions import db
from schema.org import AuditLog
from schema.visits import FollowupVisit, Survey
from schema.work_orders import WorkOrder

from . import factories


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def link(html: str, label: str) -> str:
    m = re.search(r'href="([^"]+)"[^>]*>\s*' + re.escape(label) + r"\s*<", html)
    assert m, f"no link {label!r}"
    return unescape(m.group(1))


def record_links(html: str) -> str:
    return html.split('class="my-2 record-links"', 1)[1].split("</div>", 1)[0]


def summary(html: str) -> str:
    m = re.search(r'class="alert alert-info py-2 list-summary">([^<]*)<', html)
    assert m, "no summary line"
    return m.group(1).strip()


def local(when) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def make_visit(app, **kw) -> int:
    with app.app_context():
        visit = factories.followup_visit(**kw)
        db.session.commit()
        return visit.id


def record_form(vid, **kw):
    return {"ids": vid, "at": local(clock.now() - timedelta(hours=1)), "content": "电话询问维修效果",
            "problems": "", "opinion": "", "result": "satisfied", **kw}


# -- visits ------------------------------------------------------------------------------------
def test_new_plan_prefills_today_and_the_clerk(login, app):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    b = login("frontdesk")
    page = text_of(b.get("/admin/followup_visit/new/"))
    assert f'value="{clock.today().isoformat()}"' in page and 'value="测试frontdesk"' in page
    resp = b.post("/admin/followup_visit/new/", {"unit": unit_id, "owner": "", "planned_date": "2026-12-03",
                                                 "staff": "测试frontdesk", "method": "visit", "purpose": "年度走访",
                                                 "work_order": "", "note": ""})
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        visit = db.session.query(FollowupVisit).one()
        assert (visit.status, visit.planned_date, visit.method) == ("planned", date(2026, 12, 3), "visit")
        assert db.session.query(AuditLog.action).filter_by(table_name="followup_visit").scalar() == "计划回访"


def test_record_a_visit(login, app):
    vid = make_visit(app)
    b = login("frontdesk")
    links = record_links(text_of(b.get(f"/admin/followup_visit/details/?id={vid}")))
    assert "登记回访" in links and "取消回访" in links and "问题转维修工单" not in links
    resp = b.post(f"/admin/followup_visit/confirm/record/?ids={vid}", record_form(vid, content="  "))
    assert resp.status_code == 200 and "请填写回访内容" in text_of(resp)
    at = clock.now().replace(second=0) - timedelta(hours=1)
    resp = b.post(f"/admin/followup_visit/confirm/record/?ids={vid}",
                  record_form(vid, at=local(at), problems="卫生间仍有异味", opinion="通知工程部复查", result="fair"))
    assert resp.status_code == 302, text_of(resp)[-1500:]
    assert "已登记 1 次回访" in text_of(b.get(resp.location))
    with app.app_context():
        visit = db.session.get(FollowupVisit, vid)
        assert (visit.status, visit.visited_at, visit.result) == ("done", at, "fair")
        assert visit.problems == "卫生间仍有异味" and visit.opinion == "通知工程部复查"
    links = record_links(text_of(b.get(f"/admin/followup_visit/details/?id={vid}")))
    assert "问题转维修工单" in links and "登记回访" not in links and "取消回访" not in links


def test_problems_become_a_linked_work_order(login, app):
    with app.app_context():
        visit = factories.followup_visit(status="done", visited_at=clock.now(), content="上门查看",
                                         problems="阳台地漏堵塞", result="unsatisfied")
        dept = factories.department()
        db.session.commit()
        vid, dept_id = visit.id, dept.id
    b = login("frontdesk")
    resp = b.post(f"/admin/followup_visit/confirm/to_work_order/?ids={vid}",
                  {"ids": vid, "category": "leak", "department_id": dept_id})
    assert resp.status_code == 302, text_of(resp)[-1500:]
    with app.app_context():
        order = db.session.query(WorkOrder).one()
        assert db.session.get(FollowupVisit, vid).raised_work_order_id == order.id
        assert (order.source, order.category, order.department_id) == ("repair", "leak", dept_id)
        assert order.description == "阳台地漏堵塞" and order.status == "pending"
        number = order.number
    assert f"已转维修工单:{number}" in text_of(b.get(resp.location))
    again = b.post(f"/admin/followup_visit/confirm/to_work_order/?ids={vid}", {"ids": vid, "category": "other"})
    assert again.status_code == 200 and "已转维修工单" in text_of(again)
    with app.app_context():
        assert db.session.query(WorkOrder).count() == 1


def test_cancel_needs_a_reason(login, app):
    vid = make_visit(app)
    b = login("frontdesk")
    resp = b.post(f"/admin/followup_visit/confirm/cancel/?ids={vid}", {"ids": vid, "reason": ""})
    assert resp.status_code == 200 and "请填写原因" in text_of(resp)
    resp = b.post(f"/admin/followup_visit/confirm/cancel/?ids={vid}", {"ids": vid, "reason": "业主已出售房屋"})
    assert resp.status_code == 302
    with app.app_context():
        visit = db.session.get(FollowupVisit, vid)
        assert visit.status == "cancelled" and "业主已出售房屋" in visit.note


def test_overdue_plans_are_flagged_counted_and_linked(login, app):
    today = clock.today()
    with app.app_context():
        late = factories.followup_visit(planned_date=today - timedelta(days=2), staff="迟到的")
        factories.followup_visit(planned_date=today, staff="今天的")
        factories.followup_visit(planned_date=today - timedelta(days=5), status="done", method="visit",
                                 result="satisfied", visited_at=clock.now(), staff="上门的")
        factories.followup_visit(planned_date=today - timedelta(days=5), status="done", method="phone",
                                 result="unsatisfied", visited_at=clock.now(), staff="电话的")
        db.session.commit()
        late_id = late.id
    b = login("supervisor")
    page = text_of(b.get("/admin/followup_visit/"))
    assert page.count('class="badge badge-danger visit-overdue">逾期</span>') == 1
    assert summary(page) == ("当前筛选:已回访 2 次,其中上门 1、电话 1;满意 1、基本满意 0、不满意 1;逾期未回访 1")
    overdue = text_of(b.get(link(page, "逾期未回访")))
    assert "迟到的" in overdue and "今天的" not in overdue and "上门的" not in overdue
    assert f"/admin/followup_visit/details/?id={late_id}" in overdue
    assert summary(overdue).endswith("已回访 0 次,其中上门 0、电话 0;满意 0、基本满意 0、不满意 0;逾期未回访 1")


def test_leasing_and_the_manager_read_but_do_not_act(login, app):
    vid = make_visit(app)
    for role in ("leasing", "manager"):
        b = login(role)
        assert b.get("/admin/followup_visit/").status_code == 200
        assert b.get(f"/admin/followup_visit/details/?id={vid}").status_code == 200
        assert "登记回访" not in record_links(text_of(b.get(f"/admin/followup_visit/details/?id={vid}")))
        assert b.get("/admin/followup_visit/new/").status_code == 403
        assert b.post(f"/admin/followup_visit/confirm/record/?ids={vid}", record_form(vid)).status_code == 403
        assert b.get("/admin/survey/new/").status_code == 403
        assert b.get("/admin/survey/stats/").status_code == 200
    with app.app_context():
        assert db.session.get(FollowupVisit, vid).status == "planned"


# -- the survey --------------------------------------------------------------------------------
def survey_form(unit_id, **kw):
    return {"unit": unit_id, "year": "2026", "distributed_on": "2026-10-08", "collected_on": "2026-10-20",
            "score_service": "5", "score_cleaning": "4", "score_security": "", "score_maintenance": "",
            "score_greening": "", "suggestions": "", **kw}


@pytest.mark.parametrize("kw, message", [
    ({"score_service": "6"}, "评分须为1到5分"),
    ({"collected_on": ""}, "填写评分前请先填写回收日期"),
    ({"collected_on": "2026-10-01"}, "回收日期不能早于发放日期"),
])
def test_survey_form_errors(login, app, kw, message):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    b = login("frontdesk")
    resp = b.post("/admin/survey/new/", survey_form(unit_id, **kw))
    assert resp.status_code == 200 and message in text_of(resp)
    with app.app_context():
        assert db.session.query(Survey).count() == 0
    assert b.post("/admin/survey/new/", survey_form(unit_id)).status_code == 302


def test_survey_stats_page(login, app):
    with app.app_context():
        estate = factories.estate()
        a, b_ = factories.building(estate=estate, name="A栋"), factories.building(estate=estate, name="B栋")
        factories.survey(unit=factories.unit(building=a), collected_on=date(2026, 10, 20), score_service=5,
                         score_cleaning=4)
        factories.survey(unit=factories.unit(building=a), collected_on=date(2026, 10, 21), score_service=4,
                         score_cleaning=3)
        factories.survey(unit=factories.unit(building=b_))
        db.session.commit()
        b_id = b_.id
    desk = login("frontdesk")
    listing = text_of(desk.get("/admin/survey/"))
    page = text_of(desk.get(link(listing, "统计分析") + "?year=2026"))
    assert re.search(r'id="survey-distributed">3<', page) and re.search(r'id="survey-collected">2<', page)
    assert 'id="survey-rate">66.7%<' in page
    assert 'data-score="score_service">4.5<' in page and 'data-score="score_cleaning">3.5<' in page
    assert 'data-score="score_greening">—<' in page
    assert re.search(r"<th>A栋</th><td>2</td><td>2</td>\s*<td>100.0%</td>", page)
    assert re.search(r"<th>B栋</th><td>1</td><td>0</td>\s*<td>0.0%</td>", page)
    assert '<canvas id="survey-score-chart"' in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page and "new Chart(" in page
    chart = re.search(r"labels: (\[[^\]]*\]),.*?data: (\[[^\]]*\])", page, re.DOTALL)
    assert json.loads(chart.group(1)) == ["客服", "保洁", "秩序维护", "工程维修", "绿化"]
    assert json.loads(chart.group(2)) == [4.5, 3.5, None, None, None]
    only_b = text_of(desk.get(f"/admin/survey/stats/?year=2026&building_id={b_id}"))
    assert re.search(r'id="survey-distributed">1<', only_b) and "survey-score-chart" not in only_b


@pytest.mark.parametrize("query", ["year=abc", "year=99999999999999999999", "year=-1", "year=2026&building_id=x",
                                   "building_id=99999999999"])
def test_bad_stats_input_is_not_an_error(login, app, query):
    resp = login("manager").get(f"/admin/survey/stats/?{query}")
    assert resp.status_code == 200
    if query.startswith("year=") and "2026" not in query:
        assert "年度格式不正确" in text_of(resp)
