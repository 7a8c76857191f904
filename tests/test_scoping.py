"""Estate scoping: a clerk bound to estate A sees, opens, changes, exports and picks only A's rows;
B's records answer 404 wherever they are asked for by id (app/scoping.py)."""
import csv
import io
import re

import pytest

from app import scoping
from app.extensions import db
from schema import REGISTRY
from schema.org import AppUser
from schema.property import Estate

from . import factories
from .conftest import ESTATE_A_USERS, Browser

pytestmark = pytest.mark.security

TABLES = {m.__tablename__: m for m in REGISTRY}
OFFICE_WIDE = {"department", "app_user", "saved_view", "audit_log", "service_item", "bulletin_post",
               "community_event", "notification"}
"""Tables with no estate: shared by the whole office (the audit log follows its records instead)."""
SCOPED = [t for t in TABLES if t not in OFFICE_WIDE]
BOUND = ESTATE_A_USERS
"""The estate-A user of each estate-bound role (conftest's `estate_worlds`)."""


@pytest.fixture
def worlds(estate_worlds):
    return estate_worlds


def reader_of(table) -> str | None:
    """An estate-A user whose role may read `table`."""
    spec = TABLES[table].__admin__
    return next((name for role, name in BOUND.items() if role in spec.roles.read), None)


def as_user(app, name) -> Browser:
    return Browser(app).login(name)


def test_every_table_is_scoped_or_declared_office_wide():
    scoped = {t for t, m in TABLES.items() if scoping.is_scoped(m)}
    assert scoped == set(SCOPED)


@pytest.mark.parametrize("table", SCOPED)
def test_another_estates_record_is_not_found(app, worlds, table):
    a, b = worlds
    name = reader_of(table)
    assert name is not None, f"no estate-bound role reads {table}: the test would check nothing"
    user = as_user(app, name)
    spec = TABLES[table].__admin__
    role = next(r for r, n in BOUND.items() if n == name)
    assert user.get(f"/admin/{table}/details/?id={a[table]}").status_code == 200
    assert user.get(f"/admin/{table}/details/?id={b[table]}").status_code == 404
    if role in spec.roles.edit:
        assert user.get(f"/admin/{table}/edit/?id={a[table]}").status_code in (200, 302)
        assert user.get(f"/admin/{table}/edit/?id={b[table]}").status_code == 404
        assert user.post(f"/admin/{table}/edit/?id={b[table]}", {"row_version": "1"}).status_code == 404
    if role in spec.roles.delete:
        assert user.get(f"/admin/{table}/delete/?id={b[table]}").status_code == 404
        assert user.post(f"/admin/{table}/delete/", {"id": b[table], "confirm": "1"}).status_code == 404
        assert user.post(f"/admin/{table}/action/", {"action": "delete", "rowid": b[table]}).status_code == 404
    with app.app_context():
        assert db.session.get(TABLES[table], b[table]) is not None
    listing = user.get(f"/admin/{table}/").get_data(as_text=True)
    shown = set(map(int, re.findall(rf"/admin/{table}/details/\?id=(\d+)", listing)))
    assert a[table] in shown and b[table] not in shown
    if role in spec.roles.export:
        rows = list(csv.reader(io.StringIO(user.get(f"/admin/{table}/export/csv/").get_data(as_text=True))))
        with app.app_context():
            total = db.session.query(TABLES[table]).count()
        assert 1 <= len(rows) - 1 < total  # header + A's rows only


def test_actions_and_confirm_pages_refuse_another_estates_ids(app, worlds):
    a, b = worlds
    clerk = as_user(app, "clerk_a")
    assert clerk.post("/admin/visitor/action/", {"action": "check_out", "rowid": b["visitor"]}).status_code == 404
    assert clerk.post("/admin/visitor/action/",
                      {"action": "check_out", "rowid": [a["visitor"], b["visitor"]]}).status_code == 404
    assert clerk.get(f"/admin/call_log/confirm/followup/?ids={b['call_log']}").status_code == 404
    assert clerk.get(f"/admin/release_slip/print/?ids={b['release_slip']}").status_code == 404
    with app.app_context():
        from schema.visitors import Visitor

        assert db.session.get(Visitor, b["visitor"]).time_out is None


def test_pickers_offer_and_accept_only_the_users_estates(app, worlds):
    a, b = worlds
    clerk = as_user(app, "clerk_a")
    with app.app_context():
        from schema.property import Unit

        room_a = db.session.get(Unit, a["unit"]).room_no
        room_b = db.session.get(Unit, b["unit"]).room_no
    found = clerk.get(f"/admin/call_log/ajax/lookup/?name=unit&query={room_a[:2]}").get_json()
    ids = {row[0] for row in found}
    assert a["unit"] in ids and b["unit"] not in ids
    assert clerk.get(f"/admin/call_log/ajax/lookup/?name=unit&query={room_b}").get_json() == []
    with app.app_context():
        from schema.complaints import CallLog

        before = db.session.query(CallLog).count()
    form = {"at": "2026-11-27 10:00:00", "caller": "王五", "identity": "owner", "phone": "13800138000",
            "content": "厨房水管漏水", "answered": "y", "answer": "已派人", "callback": "", "note": ""}
    resp = clerk.post("/admin/call_log/new/", {**form, "unit": b["unit"]})
    assert resp.status_code == 200  # the form comes back: B's unit is not a choice for this clerk
    with app.app_context():
        assert db.session.query(CallLog).count() == before
    assert clerk.post("/admin/call_log/new/", {**form, "unit": a["unit"]}).status_code == 302
    with app.app_context():
        assert db.session.query(CallLog).count() == before + 1


def test_select_pickers_list_only_the_users_estates(app, worlds):
    a, b = worlds
    sup = as_user(app, "sup_a")
    html = sup.get("/admin/building/new/").get_data(as_text=True)
    options = set(map(int, re.findall(r'<option[^>]*value="(\d+)"', html)))
    assert a["estate"] in options and b["estate"] not in options


def test_search_household_and_downloads_stay_in_the_users_estates(app, worlds):
    a, b = worlds
    clerk = as_user(app, "clerk_a")
    with app.app_context():
        from schema.people import Owner

        phone_a = db.session.get(Owner, a["owner"]).phone
        phone_b = db.session.get(Owner, b["owner"]).phone
    assert f"/admin/owner/details/?id={a['owner']}" in clerk.get(f"/admin/search/?q={phone_a}").get_data(as_text=True)
    assert f"/admin/owner/details/?id={b['owner']}" not in clerk.get(f"/admin/search/?q={phone_b}").get_data(as_text=True)
    assert clerk.get(f"/admin/household/?unit={a['unit']}").status_code == 200
    assert clerk.get(f"/admin/household/?unit={b['unit']}").status_code == 404
    assert clerk.get(f"/admin/document/download/?id={b['document']}").status_code == 404


def test_reports_and_dashboards_count_only_the_users_estates(app, worlds):
    a, b = worlds
    with app.app_context():
        from schema.ledger import Charge

        for world in (a, b):  # an overdue charge in each estate
            db.session.get(Charge, world["charge"]).due_date = factories.date(2026, 1, 31)
        db.session.commit()
    link_a, link_b = (f"/admin/unit/details/?id={w['unit']}" for w in (a, b))
    page = as_user(app, "lease_a").get("/admin/arrears_unit/").get_data(as_text=True)
    assert link_a in page and link_b not in page
    page = Browser(app).login("admin").get("/admin/arrears_unit/").get_data(as_text=True)
    assert link_a in page and link_b in page
    home = as_user(app, "sup_a").get("/admin/").get_data(as_text=True)
    everything = Browser(app).login("manager").get("/admin/").get_data(as_text=True)
    assert tile_count(home, "arrears_unit") == 1 and tile_count(everything, "arrears_unit") == 2


def tile_count(html: str, key: str) -> int:
    """The number on the home page's dashboard tile `key`."""
    m = re.search(rf'id="tile-{key}".*?class="tile-count">\s*(\d+)', html, re.S)
    assert m, f"no {key} tile"
    return int(m.group(1))


def test_audit_log_shows_only_records_of_the_users_estates(app, worlds):
    a, b = worlds
    admin = Browser(app).login("admin")
    for world in (a, b):
        admin.post(f"/admin/estate/edit/?id={world['estate']}", {"name": f"改名{world['estate']}", "row_version": "1"})
    sup = as_user(app, "sup_a")
    html = sup.get("/admin/audit_log/?table=estate").get_data(as_text=True)
    assert f"改名{a['estate']}" in html and f"改名{b['estate']}" not in html
    everything = admin.get("/admin/audit_log/?table=estate").get_data(as_text=True)
    assert f"改名{a['estate']}" in everything and f"改名{b['estate']}" in everything


def test_orm_queries_of_a_request_are_scoped(app, worlds):
    """The session hook: a query a page writes by hand (no scope() call) still reads only A's rows."""
    a, b = worlds
    from flask_login import login_user

    from schema.ledger import Charge

    with app.test_request_context("/admin/"):
        user = db.session.execute(db.select(AppUser).filter_by(username="clerk_a")).scalar_one()
        login_user(user)
        ids = set(db.session.execute(db.select(Charge.id)).scalars())
        assert a["charge"] in ids and b["charge"] not in ids
        assert db.session.scalar(db.select(db.func.count()).select_from(Charge)) == 1
        assert db.session.get(Charge, b["charge"]) is None
        db.session.remove()


def test_a_bound_role_needs_an_estate(app, worlds):
    admin = Browser(app).login("admin")
    data = {"username": "newclerk", "display_name": "新前台", "role": "frontdesk", "active": "y",
            "new_password": "Xk9#mPq2-vL"}
    html = admin.post("/admin/app_user/new/", data).get_data(as_text=True)
    assert "请选择该用户可访问的项目" in html
    with app.app_context():
        assert db.session.execute(db.select(AppUser).filter_by(username="newclerk")).first() is None
    a, _b = worlds
    resp = admin.post("/admin/app_user/new/", {**data, "estates": str(a["estate"])})
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.execute(db.select(AppUser).filter_by(username="newclerk")).scalar_one()
        assert [e.id for e in user.estates] == [a["estate"]]
        assert scoping.user_estates(user) == frozenset({a["estate"]})


def test_admins_and_managers_see_every_estate(app, worlds):
    with app.app_context():
        for name in ("admin", "manager"):
            user = db.session.execute(db.select(AppUser).filter_by(username=name)).scalar_one()
            assert scoping.user_estates(user) is None
        unbound = AppUser(username="x", display_name="x", role="frontdesk", active=True)
        assert scoping.user_estates(unbound) == frozenset()


def test_imports_reach_only_the_users_estates(app, worlds):
    """The importer resolves estates, buildings and units through the scoped session: another estate's
    name is "not found" for a bound user, so nobody imports into an estate that is not theirs."""
    from .test_import import dry_run, issues, xlsx

    a, b = worlds
    with app.app_context():
        name_a, name_b = (db.session.get(Estate, w["estate"]).name for w in (a, b))
    sup = as_user(app, "sup_a")
    headers = ["项目", "楼栋", "房号", "建筑面积(㎡)"]
    refused = issues(dry_run(sup, "unit", xlsx(headers, [[name_b, "9栋", "101", "80"]]), "units.xlsx"))
    assert [(row, message) for row, _col, _value, message in refused] == [(2, f"找不到项目“{name_b}”")]
    assert issues(dry_run(sup, "unit", xlsx(headers, [[name_a, "9栋", "101", "80"]]), "units.xlsx")) == []
