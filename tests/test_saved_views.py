"""Saved views: a list's filters saved under a name from the list page, shared with a role, opened from the
navbar menu; others' private views stay invisible and only the author may change or delete one."""
from html import unescape

from app.extensions import db
from app.saved_views import clean_query
from schema.saved_views import SavedView

from . import factories

QUERY = "flt0_0=pending&search=%E6%BC%8F%E6%B0%B4&sort=2&desc=1&page=3&url=%2Fevil"


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def save(b, name, query=QUERY, endpoint="work_order", role=""):
    return b.post("/admin/saved_view/save/", {"endpoint": endpoint, "query": query, "name": name, "shared_role": role})


def test_only_list_arguments_are_kept():
    assert clean_query(QUERY) == "flt0_0=pending&search=%E6%BC%8F%E6%B0%B4&sort=2&desc=1"
    assert clean_query("page=2&url=x") == ""


def test_the_list_page_offers_to_save_its_current_filters(login, app):
    b = login("frontdesk")
    assert "save-view-form" not in text_of(b.get("/admin/work_order/"))  # nothing to save on a plain list
    html = text_of(b.get("/admin/work_order/?search=漏水"))
    assert "save-view-form" in html and 'name="endpoint" value="work_order"' in html


def test_a_saved_view_reopens_the_same_list(login, app):
    b = login("frontdesk")
    resp = save(b, "待派工漏水")
    assert resp.status_code == 302 and "flt0_0=pending" in resp.location
    with app.app_context():
        view = db.session.query(SavedView).one()
        assert (view.name, view.endpoint, view.shared_role) == ("待派工漏水", "work_order", None)
        assert "page=" not in view.query and "url=" not in view.query
        vid = view.id
    assert "待派工漏水" in text_of(b.get("/admin/"))  # the navbar menu 我的视图
    opened = b.get(f"/admin/saved_view/open/?id={vid}")
    assert opened.status_code == 302
    assert opened.location.startswith("/admin/work_order/?") and "search=%E6%BC%8F%E6%B0%B4" in opened.location


def test_bad_saves_are_refused_with_a_message(login, app):
    b = login("frontdesk")
    assert "请填写视图名称" in text_of(b.get(save(b, " ").location))
    assert "无需保存" in text_of(b.get(save(b, "空", query="page=2").location))
    save(b, "同名")
    assert "已有名为“同名”的视图" in text_of(b.get(save(b, "同名").location))
    assert save(b, "x", endpoint="nope").status_code == 404
    assert save(login("leasing"), "x", endpoint="app_user").status_code == 404  # a list the role cannot open
    with app.app_context():
        assert db.session.query(SavedView).count() == 1


def test_private_views_stay_private_and_shared_ones_reach_the_role(login, app):
    desk = login("frontdesk")
    save(desk, "私人")
    save(desk, "给主管", role="supervisor")
    with app.app_context():
        ids = {v.name: v.id for v in db.session.query(SavedView)}
    boss, clerk = login("supervisor"), login("leasing")
    assert "给主管" in text_of(boss.get("/admin/")) and "私人" not in text_of(boss.get("/admin/saved_view/"))
    assert boss.get(f"/admin/saved_view/open/?id={ids['私人']}").status_code == 404
    assert boss.get(f"/admin/saved_view/open/?id={ids['给主管']}").status_code == 302
    assert "给主管" not in text_of(clerk.get("/admin/saved_view/"))
    # only the author changes or deletes a shared view
    boss.post("/admin/saved_view/delete/", {"id": ids["给主管"], "url": "/admin/saved_view/", "confirm": "1"})
    with app.app_context():
        assert db.session.get(SavedView, ids["给主管"]) is not None
    assert boss.get("/admin/saved_view/open/?id=abc").status_code == 404


def test_saving_needs_no_other_permission_than_reading_the_list(login, app):
    with app.app_context():
        factories.work_order()
        db.session.commit()
    b = login("maintenance")
    assert save(b, "我的工单").status_code == 302
    with app.app_context():
        assert db.session.query(SavedView).filter_by(name="我的工单").count() == 1
