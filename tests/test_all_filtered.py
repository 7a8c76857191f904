"""Batch actions on every row the list's filters match (not only the ticked rows of one page): the confirm
page states the count, the batch runs in one transaction and is audited."""
from html import unescape

from app.extensions import db
from schema.org import AuditLog
from schema.people import Resident
from schema.work_orders import WorkOrder

from . import factories


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def orders(app, n_leaks=25, n_other=5, status="pending"):
    with app.app_context():
        dept = factories.department(name="工程维修部")
        unit = factories.unit()
        for i in range(n_leaks):
            factories.work_order(unit=unit, description=f"卫生间漏水{i}", status=status)
        for i in range(n_other):
            factories.work_order(unit=unit, description=f"门锁损坏{i}", status=status)
        db.session.commit()
        return dept.id


def test_the_list_offers_all_filtered_rows_with_their_count(login, app):
    orders(app)
    html = text_of(login("frontdesk").get("/admin/work_order/?search=漏水"))
    assert 'id="all-filtered"' in html and 'data-count="25"' in html and "propdesk_actions.js" in html


def test_a_confirm_action_runs_on_every_filtered_row(login, app):
    dept_id = orders(app)
    desk = login("frontdesk")
    resp = desk.post("/admin/work_order/action/?search=漏水", {"action": "dispatch", "all_filtered": "1",
                                                              "url": "/admin/work_order/?search=漏水"})
    assert resp.status_code == 302 and "all=1" in resp.location and "search=" in resp.location
    page = text_of(desk.get(resp.location))
    assert "全部 25 条记录" in page
    done = desk.post(resp.location, {"department_id": dept_id})
    assert done.status_code == 302
    with app.app_context():
        statuses = {o.description[:5]: o.status for o in db.session.query(WorkOrder)}
        assert db.session.query(WorkOrder).filter_by(status="dispatched").count() == 25
        assert all(s == "pending" for d, s in statuses.items() if d.startswith("门锁"))
        assert db.session.query(AuditLog).filter_by(table_name="work_order", action="派工").count() == 25


def test_a_simple_action_on_all_rows_is_all_or_nothing(login, app):
    orders(app, n_leaks=3, n_other=0, status="dispatched")
    with app.app_context():
        factories.work_order(description="卫生间漏水待派", status="pending")
        db.session.commit()
    crew = login("maintenance")
    resp = crew.post("/admin/work_order/action/?search=漏水", {"action": "accept", "all_filtered": "1",
                                                               "url": "/admin/work_order/?search=漏水"})
    assert "全部撤销" in text_of(crew.get(resp.location))
    with app.app_context():
        assert db.session.query(WorkOrder).filter_by(status="accepted").count() == 0
    # once the last one is dispatched too, all four are signed for together
    with app.app_context():
        db.session.query(WorkOrder).filter_by(status="pending").update({"status": "dispatched"})
        db.session.commit()
    crew.post("/admin/work_order/action/?search=漏水", {"action": "accept", "all_filtered": "1"})
    with app.app_context():
        assert db.session.query(WorkOrder).filter_by(status="accepted").count() == 4
        notes = {a.note for a in db.session.query(AuditLog).filter_by(table_name="work_order", action="签领")}
        assert notes == {"全部筛选结果 4 条"}


def test_delete_on_all_filtered_rows_deletes_only_those(login, app):
    with app.app_context():
        unit = factories.unit()
        for name in ("王一", "王二", "李三"):
            factories.resident(unit=unit, name=name)
        db.session.commit()
    admin = login("admin")
    admin.post("/admin/resident/action/?search=王", {"action": "delete", "all_filtered": "1"})
    with app.app_context():
        assert [r.name for r in db.session.query(Resident)] == ["李三"]
