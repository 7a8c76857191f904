"""Work orders through the panel: each step an action stamping who and when, invalid steps refused,
the 待回访 queue with deadlines, the rates on the list; custody alerts on the list and details."""
from datetime import datetime, timedelta
from decimal import Decimal

from app import clock
from app.extensions import db
from schema.work_orders import WorkOrder

from . import factories


def new_order(login, app, category="other"):
    with app.app_context():
        unit = factories.unit()
        dept = factories.department(name="工程维修部")
        db.session.commit()
        unit_id, dept_id = unit.id, dept.id
    b = login("frontdesk")
    resp = b.post("/admin/work_order/new/", {"source": "repair", "unit": unit_id, "reporter": "张三",
                                             "reporter_phone": "13800138000", "category": category,
                                             "description": "卫生间天花板渗水", "department": dept_id})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    with app.app_context():
        order = db.session.query(WorkOrder).one()
        assert order.number.startswith("WX") and order.status == "pending" and order.created_by == "frontdesk"
        return order.id, dept_id


def test_a_leak_repair_runs_to_followed_up(login, app):
    oid, dept_id = new_order(login, app, category="leak")
    desk, crew = login("frontdesk"), login("maintenance")
    assert desk.post(f"/admin/work_order/confirm/dispatch/?ids={oid}", {"ids": oid, "department_id": dept_id}).status_code == 302
    # maintenance cannot dispatch, the front desk cannot sign for the work
    assert crew.post("/admin/work_order/action/", {"action": "dispatch", "rowid": oid}).status_code == 403
    assert desk.post("/admin/work_order/action/", {"action": "accept", "rowid": oid}).status_code == 403
    crew.post("/admin/work_order/action/", {"action": "accept", "rowid": oid})
    crew.post("/admin/work_order/action/", {"action": "start", "rowid": oid})
    test_at = (clock.now() + timedelta(minutes=30)).replace(second=0)
    done_at = test_at + timedelta(minutes=30)
    html = crew.post(f"/admin/work_order/confirm/complete/?ids={oid}",
                     {"ids": oid, "at": f"{done_at:%Y-%m-%dT%H:%M}"}).get_data(as_text=True)
    assert "试漏时间" in html  # a leak repair needs its leak test time
    done = crew.post(f"/admin/work_order/confirm/complete/?ids={oid}",
                     {"ids": oid, "at": f"{done_at:%Y-%m-%dT%H:%M}", "leak_test_at": f"{test_at:%Y-%m-%dT%H:%M}"})
    assert done.status_code == 302
    with app.app_context():
        order = db.session.get(WorkOrder, oid)
        assert order.status == "done" and order.accepted_by == "maintenance" and order.completed_by == "maintenance"
        assert order.followup_due == test_at + timedelta(days=3)  # 3 days after the leak test, not completion
        factories.work_order(status="done", completed_at=clock.now() - timedelta(days=5),
                                    followup_due=clock.now() - timedelta(days=3), description="楼道灯不亮")
        db.session.commit()
    queue = desk.get("/admin/work_order/followups/").get_data(as_text=True)
    assert f"{test_at + timedelta(days=3):%Y-%m-%d %H:%M}" in queue
    assert queue.index("楼道灯不亮") < queue.index("卫生间天花板渗水")  # overdue first
    assert queue.count('class="table-danger overdue"') == 1
    resp = desk.post(f"/admin/work_order/confirm/followup/?ids={oid}",
                     {"ids": oid, "method": "phone", "satisfied": "1", "result": "已不再渗水,业主满意"})
    assert resp.status_code == 302
    with app.app_context():
        order = db.session.get(WorkOrder, oid)
        assert order.status == "visited" and order.followup_by == "frontdesk" and order.satisfied is True


def test_invalid_step_is_refused_with_a_message(login, app):
    oid, _ = new_order(login, app)
    crew = login("maintenance")
    html = crew.post("/admin/work_order/action/", {"action": "start", "rowid": oid}, follow_redirects=True).get_data(as_text=True)
    assert "不能执行" in html
    with app.app_context():
        assert db.session.get(WorkOrder, oid).status == "pending"


def test_list_shows_followup_rates_for_the_filtered_rows_and_this_month_unfiltered(login, app, monkeypatch):
    now = datetime(2026, 11, 27, 10, 0)
    monkeypatch.setattr(clock, "now", lambda: now)
    monkeypatch.setattr(clock, "today", lambda: now.date())
    with app.app_context():
        for i, (followed, on_time) in enumerate([(True, True), (True, False), (False, False)]):
            done_at = now - timedelta(days=10 + i)
            due = done_at + timedelta(days=2)
            factories.work_order(status="visited" if followed else "done", completed_at=done_at, followup_due=due,
                                 reporter="回访甲",
                                 followup_at=(due - timedelta(hours=1) if on_time else due + timedelta(days=1)) if followed else None)
        factories.work_order(status="done", completed_at=datetime(2026, 10, 3, 9, 0), reporter="回访乙")  # last month
        db.session.commit()
    b = login("supervisor")
    html = b.get("/admin/work_order/?search=回访甲").get_data(as_text=True)
    assert "当前筛选:已完成 3 张,已回访 2 张,回访率 66.7%" in html and "按时回访率 50.0%" in html
    html = b.get("/admin/work_order/").get_data(as_text=True)  # unfiltered: this month's completions only
    assert "本月(11月):已完成 3 张,已回访 2 张,回访率 66.7%" in html
    html = b.get("/admin/work_order/?search=回访").get_data(as_text=True)
    assert "当前筛选:已完成 4 张,已回访 2 张,回访率 50.0%" in html


def test_custody_alerts_show_on_list_and_details(login, app):
    today = clock.today()
    with app.app_context():
        over = factories.custody(start_date=today - timedelta(days=30), water_start=Decimal("100"))
        factories.custody_patrol(custody=over, at=datetime.combine(today - timedelta(days=1), datetime.min.time()),
                                 water_reading=Decimal("106.5"), electricity_reading=Decimal("3401"))
        factories.custody(start_date=today - timedelta(days=20))  # never patrolled
        quiet = factories.custody(start_date=today - timedelta(days=3))
        db.session.commit()
        over_id, quiet_id = over.id, quiet.id
    b = login("frontdesk")
    html = b.get("/admin/custody/").get_data(as_text=True)
    assert "用水 6.50 吨,超过托管上限 5" in html and "超过7天未巡查" in html
    assert "有 2 户托管房屋需要处理" in html
    details = b.get(f"/admin/custody/details/?id={over_id}").get_data(as_text=True)
    assert "巡查记录" in details and "106.50" in details and "超过托管上限" in details
    assert "超过托管上限" not in b.get(f"/admin/custody/details/?id={quiet_id}").get_data(as_text=True)
