"""Rendering shortcuts (admin_views/rendering.py): the menu cached per role, page and language never
shows one role's entries to another, and row links built from one URL keep each row's own id."""
import re

from app.extensions import db

from . import factories as f


def menu_of(html: str) -> str:
    return html.split('class="nav navbar-nav mr-auto"', 1)[1].split("navbar-right", 1)[0]


def test_menu_is_per_role_and_marks_the_page(login):
    admin, desk = login("admin"), login("frontdesk")
    admin_menu = menu_of(admin.get("/admin/owner/").get_data(as_text=True))
    desk_menu = menu_of(desk.get("/admin/owner/").get_data(as_text=True))
    assert "/admin/app_user/" in admin_menu and "/admin/app_user/" not in desk_menu
    assert "/admin/audit_log/" in admin_menu and "/admin/audit_log/" not in desk_menu
    again = menu_of(desk.get("/admin/owner/").get_data(as_text=True))  # served from the cache
    assert again == desk_menu
    other_page = menu_of(desk.get("/admin/call_log/").get_data(as_text=True))
    active = lambda menu: re.findall(r'class="[^"]*active[^"]*"[^>]*>\s*<a[^>]*href="([^"]+)"', menu)  # noqa: E731
    assert other_page != desk_menu or active(other_page) != active(desk_menu)


def test_menu_follows_the_language(login):
    b = login("admin")
    chinese = menu_of(b.get("/admin/owner/").get_data(as_text=True))
    b.get("/lang/en")
    english = menu_of(b.get("/admin/owner/").get_data(as_text=True))
    assert "业主" in chinese and "业主" not in english


def test_row_links_keep_each_rows_id(login, app):
    b = login("admin")
    with app.app_context():
        ids = []
        for i in range(3):
            o = f.owner(name=f"链接{i}", id_number=f.resident_id(serial=100 + i))
            db.session.flush()
            ids.append(o.id)
        db.session.commit()
    html = b.get("/admin/owner/").get_data(as_text=True)
    details = set(int(x) for x in re.findall(r"/admin/owner/details/\?id=(\d+)", html))
    edits = set(int(x) for x in re.findall(r"/admin/owner/edit/\?id=(\d+)", html))
    assert set(ids) <= details and set(ids) <= edits
