"""Hardening: security headers and a nonce-based CSP on every response, no inline handlers in any page,
cookie flags, an idle session lifetime, a logout that really ends the session, login throttling that
holds across app instances, the password policy, and CSRF on every POST route."""
from __future__ import annotations

import html as htmllib
import re
import time
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from app import clock, create_app, passwords
from app.extensions import db
from schema import REGISTRY

from .conftest import PASSWORD, Browser, wipe
from .security_figures import record

pytestmark = pytest.mark.security

_ROUTES_APP = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
GET_ROUTES = sorted(r.rule for r in _ROUTES_APP.url_map.iter_rules() if "GET" in r.methods and not r.arguments)
POST_RULES = sorted((r for r in _ROUTES_APP.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule)
"""Read from a throwaway app at collection time, so a route added anywhere is checked here."""

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{16,})'")
HANDLER = re.compile(r"""[\s"'/]on[a-z]+\s*=|javascript:""", re.I)
INLINE = re.compile(r"<(script|style)\b([^>]*)>", re.I)
EXTERNAL = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", re.I)
THROTTLED = "登录失败次数过多,请15分钟后再试"


def directives(resp) -> dict:
    csp = resp.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: " ".join(d.split()[1:]) for d in csp.split(";") if d.strip()}


def assert_secure_headers(resp, static=False):
    d = directives(resp)
    assert d["default-src"] == "'self'"
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{16,}'", d["script-src"]), d["script-src"]
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{16,}'", d["style-src"]), d["style-src"]
    assert d["style-src-attr"] == "'unsafe-inline'"
    assert d["img-src"] == "'self' data:"
    assert (d["object-src"], d["base-uri"], d["form-action"], d["frame-ancestors"]) == \
        ("'none'", "'self'", "'self'", "'none'")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin")
    cache = resp.headers.get("Cache-Control", "")
    assert ("no-store" not in cache) if static else ("no-store" in cache), (resp.request.path, cache)


def assert_clean_page(resp):
    """No inline handler or javascript: URL; every inline <script>/<style> carries this response's nonce."""
    page = resp.get_data(as_text=True)
    nonce = NONCE.search(resp.headers["Content-Security-Policy"]).group(1)
    found = [m.group(0) for m in HANDLER.finditer(htmllib.unescape(page))]
    assert not found, (resp.request.path, found[:5])
    for m in INLINE.finditer(page):
        if m.group(1).lower() == "script" and "src=" in m.group(2):
            continue
        assert f'nonce="{nonce}"' in m.group(2), (resp.request.path, m.group(0))
    assert not EXTERNAL.search(page), (resp.request.path, EXTERNAL.search(page).group(0))
    return page


@pytest.fixture
def admin(login):
    return login("admin")


@pytest.fixture(scope="module")
def twin(app):
    """A second app instance on the same database, as a second gunicorn worker would be."""
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"]})

    @other.route("/_probe")
    def probe():
        return "x", 200, {"Cache-Control": "public, max-age=60", "X-Frame-Options": "SAMEORIGIN"}

    yield other
    with other.app_context():
        db.engine.dispose()


# -- headers ----------------------------------------------------------------------------------

@pytest.fixture(scope="class")
def swept(app):
    """An admin logged in once for the whole route sweep; the tables are wiped when the class ends."""
    from schema.org import AppUser

    with app.app_context():
        user = AppUser(username="admin", display_name="测试admin", role="admin", active=True)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.session.remove()
    yield Browser(app).login("admin")
    wipe(app)


@pytest.mark.shared_data
class TestEveryGetRoute:
    """One login for the whole sweep (a login per route would cost minutes)."""

    @pytest.mark.parametrize("url", GET_ROUTES)
    def test_headers_and_a_clean_page(self, swept, url):
        resp = swept.get(url)
        assert_secure_headers(resp, static=url.startswith(("/static/", "/admin/static/")))
        if resp.mimetype == "text/html":
            assert_clean_page(resp)


def test_headers_on_each_kind_of_response(browser, admin, record_ids):
    assert_secure_headers(browser.get("/login"))                              # anonymous page
    assert_secure_headers(browser.get("/admin/"))                             # redirect to login
    assert_secure_headers(admin.get("/admin/owner/"))                         # list
    assert_secure_headers(admin.get(f"/admin/owner/details/?id={record_ids['owner']}"))
    export = admin.get("/admin/owner/export/xlsx/")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    assert_secure_headers(export)
    missing = admin.get("/admin/no-such-page/")
    assert missing.status_code == 404
    assert_secure_headers(missing)
    for url in ("/static/propdesk.css", "/static/propdesk_csp.js",
                "/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css"):
        resp = admin.get(url)
        assert resp.status_code == 200
        assert_secure_headers(resp, static=True)


def test_headers_a_view_set_itself_are_kept(twin):
    resp = twin.test_client().get("/_probe")
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in resp.headers


def test_nonce_is_on_every_inline_script_and_new_each_request(admin, record_ids):
    seen = set()
    for url in ("/admin/", "/admin/import/", "/admin/monthly_report/", "/admin/survey/stats/",
                f"/admin/payment/new/?unit={record_ids['unit']}", f"/admin/household/?unit={record_ids['unit']}"):
        resp = admin.get(url)
        assert resp.status_code == 200, url
        page = assert_clean_page(resp)
        nonce = NONCE.search(resp.headers["Content-Security-Policy"]).group(1)
        seen.add(nonce)
        if url == "/admin/":
            assert page.count(f'nonce="{nonce}"') >= 2  # the charts' inline script and style
    assert len(seen) == 6
    first, second = (NONCE.search(admin.get("/admin/").headers["Content-Security-Policy"]).group(1) for _ in "12")
    assert first != second


def test_pages_with_records_have_no_inline_handlers(admin, record_ids):
    """Details, edit and create of every entity (forms, inline rows, widgets) and the print pages."""
    urls = []
    for model in REGISTRY:
        table = model.__tablename__
        urls += [f"/admin/{table}/details/?id={record_ids[table]}", f"/admin/{table}/edit/?id={record_ids[table]}",
                 f"/admin/{table}/new/"]
    urls += [f"/admin/work_order/print/?id={record_ids['work_order']}",
             f"/admin/payment/receipt/?id={record_ids['payment']}", "/admin/monthly_report/print/",
             f"/admin/unit/delete/?id={record_ids['unit']}"]
    rendered = 0
    for url in urls:
        resp = admin.get(url)
        assert resp.status_code in (200, 302, 403), (url, resp.status_code)
        assert_secure_headers(resp)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            assert_clean_page(resp)
            rendered += 1
    assert rendered > 2 * len(REGISTRY)
    form = admin.get("/admin/release_slip/new/").get_data(as_text=True)
    assert 'data-inline-field="items"' in form and "propdesk_csp.js" in form
    receipt = admin.get(f"/admin/payment/receipt/?id={record_ids['payment']}").get_data(as_text=True)
    assert "data-print" in receipt and "propdesk_csp.js" in receipt
    listing = admin.get("/admin/work_order/").get_data(as_text=True)
    assert 'class="dropdown-item filter"' in listing and 'data-action="' in listing


# -- session ----------------------------------------------------------------------------------

def _session_cookie(resp) -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookie_flags_and_lifetime(app, browser, users):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)
    browser.get("/login")
    resp = browser.post("/login", {"username": "admin", "password": PASSWORD})
    cookie = _session_cookie(resp)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    expires = datetime.strptime(re.search(r"Expires=([^;]+)", cookie).group(1), "%a, %d %b %Y %H:%M:%S GMT")
    assert abs((expires - datetime.utcnow()) - timedelta(hours=8)) < timedelta(minutes=2)


def test_secure_cookie_in_production_but_not_under_debug(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    prod = create_app({"SQLALCHEMY_DATABASE_URI": url, "PROPDESK_PRODUCTION": True, "TESTING": False})
    debug = create_app({"SQLALCHEMY_DATABASE_URI": url, "PROPDESK_PRODUCTION": True, "DEBUG": True})
    flag = create_app({"SQLALCHEMY_DATABASE_URI": url, "SESSION_COOKIE_SECURE": True, "TESTING": True})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert debug.config["SESSION_COOKIE_SECURE"] is False
    assert flag.config["SESSION_COOKIE_SECURE"] is True
    resp = prod.test_client().get("/login")
    assert "Secure" in _session_cookie(resp)
    for other in (prod, debug, flag):
        with other.app_context():
            db.engine.dispose()


def test_idle_session_expires_and_activity_renews_it(app, login, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    b = login("frontdesk")
    shift = {"s": 0}
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) + shift["s"])
    shift["s"] = 7 * 3600 + 50 * 60
    assert b.get("/admin/").status_code == 200          # 7h50 idle: still in, and the cookie is renewed
    shift["s"] *= 2
    assert b.get("/admin/").status_code == 200          # 15h40 since login, 7h50 idle
    shift["s"] += 8 * 3600 + 60
    resp = b.get("/admin/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_logout_ends_the_session_for_a_replayed_cookie(app, login):
    b = login("frontdesk")
    old = b.client.get_cookie("session").value
    replay = app.test_client()
    replay.set_cookie("session", old)
    assert replay.get("/admin/").status_code == 200     # the copy works while the session is open
    assert b.get("/logout").status_code == 302
    assert b.get("/admin/").status_code == 200          # GET /logout does not log out (CSRF-safe)
    assert b.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", old)
    resp = replay.get("/admin/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert b.get("/admin/").status_code == 302
    b.login("frontdesk")                                  # logging in again works
    assert b.get("/admin/").status_code == 200


def _user_id(app, username):
    from schema.org import AppUser

    with app.app_context():
        return db.session.execute(db.select(AppUser.id).filter_by(username=username)).scalar_one()


class _FormValues(HTMLParser):
    """The values a browser would submit from a page's form fields (checked boxes, selected options)."""

    def __init__(self):
        super().__init__()
        self.values, self._select = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "file"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.setdefault(a["name"], []).append(a.get("value") or "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values.setdefault(self._select, []).append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def _user_form(b, user_id, **changes) -> MultiDict:
    parser = _FormValues()
    parser.feed(b.get(f"/admin/app_user/edit/?id={user_id}").get_data(as_text=True))
    data = MultiDict([(k, v) for k, vs in parser.values.items() for v in vs if k not in changes])
    for k, v in changes.items():
        data[k] = v
    return data


def test_password_change_by_admin_ends_the_users_sessions(app, login):
    clerk, admin = login("frontdesk"), login("admin")
    clerk_id, admin_id = _user_id(app, "frontdesk"), _user_id(app, "admin")
    resp = admin.post(f"/admin/app_user/edit/?id={clerk_id}",
                      _user_form(admin, clerk_id, new_password="Neues-Passw0rt"))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert clerk.get("/admin/").status_code == 302
    Browser(app).login("frontdesk", "Neues-Passw0rt")
    old_admin = admin.client.get_cookie("session").value
    resp = admin.post(f"/admin/app_user/edit/?id={admin_id}",
                      _user_form(admin, admin_id, new_password="Anderes-Passw0rt"))
    assert resp.status_code == 302
    assert admin.get("/admin/").status_code == 200      # the admin's own session follows the change
    replay = app.test_client()
    replay.set_cookie("session", old_admin)
    assert replay.get("/admin/").status_code == 302     # a copy of the cookie from before does not
    from schema.org import AuditLog

    with app.app_context():
        trail = " ".join(c or "" for c in db.session.scalars(db.select(AuditLog.changes)))
    assert "session_token" not in trail and "******" in trail


# -- throttling -------------------------------------------------------------------------------

def _attempt(app_or_browser, username, password, address):
    b = app_or_browser if isinstance(app_or_browser, Browser) else Browser(app_or_browser)
    if b.token is None:
        b.get("/login")
    return b.post("/login", {"username": username, "password": password}, environ_base={"REMOTE_ADDR": address})


def _frozen(monkeypatch, start):
    now = {"t": start}
    monkeypatch.setattr(clock, "now", lambda: now["t"])
    return now


def test_five_failures_lock_the_username_for_15_minutes(app, users, monkeypatch):
    now = _frozen(monkeypatch, datetime(2026, 11, 27, 9, 0, 0))
    for i in range(5):
        assert _attempt(app, "admin", "wrong-password", f"10.0.0.{i}").status_code == 200
        now["t"] += timedelta(minutes=1)
    refused = _attempt(app, "admin", PASSWORD, "10.9.9.9")       # right password, fresh address
    assert refused.status_code == 429 and THROTTLED in refused.get_data(as_text=True)
    assert _attempt(app, "manager", PASSWORD, "10.0.0.1").status_code == 302  # others are not locked
    now["t"] = datetime(2026, 11, 27, 9, 4, 0) + timedelta(minutes=14, seconds=59)
    assert _attempt(app, "admin", PASSWORD, "10.9.9.9").status_code == 429
    now["t"] = datetime(2026, 11, 27, 9, 4, 0) + timedelta(minutes=15)
    assert _attempt(app, "admin", PASSWORD, "10.9.9.9").status_code == 302


def test_five_failures_from_one_address_lock_that_address(app, users, monkeypatch):
    _frozen(monkeypatch, datetime(2026, 11, 27, 9, 0, 0))
    for name in ("ghost1", "ghost2", "ghost3", "manager", "leasing"):
        _attempt(app, name, "wrong-password", "192.0.2.7")
    refused = _attempt(app, "frontdesk", PASSWORD, "192.0.2.7")
    assert refused.status_code == 429 and THROTTLED in refused.get_data(as_text=True)
    assert _attempt(app, "frontdesk", PASSWORD, "192.0.2.8").status_code == 302
    forged = Browser(app)
    forged.get("/login")
    resp = forged.post("/login", {"username": "frontdesk", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "192.0.2.7"}, headers={"X-Forwarded-For": "198.51.100.1"})
    assert resp.status_code == 429                      # X-Forwarded-For is not trusted by default


def test_success_resets_the_username_count(app, users, monkeypatch):
    now = _frozen(monkeypatch, datetime(2026, 11, 27, 9, 0, 0))
    for round_ in range(2):
        for i in range(4):
            assert _attempt(app, "leasing", "wrong-password", f"10.1.{round_}.{i}").status_code == 200
            now["t"] += timedelta(seconds=30)
        assert _attempt(app, "leasing", PASSWORD, f"10.2.{round_}.1").status_code == 302


def test_throttling_holds_across_two_app_instances(app, twin, users, monkeypatch):
    _frozen(monkeypatch, datetime(2026, 11, 27, 9, 0, 0))
    for i in range(5):
        _attempt(app if i % 2 else twin, "supervisor", "wrong-password", f"10.3.0.{i}")
    assert _attempt(app, "supervisor", PASSWORD, "10.3.1.1").status_code == 429
    assert _attempt(twin, "supervisor", PASSWORD, "10.3.1.2").status_code == 429


def test_trusted_proxy_setting_reads_the_forwarded_address(app, users):
    proxied = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                          "PROPDESK_TRUSTED_PROXIES": 1})
    b = Browser(proxied)
    b.get("/login")
    b.post("/login", {"username": "nobody", "password": "x"}, environ_base={"REMOTE_ADDR": "127.0.0.1"},
           headers={"X-Forwarded-For": "203.0.113.9"})
    from schema.security import LoginAttempt

    with proxied.app_context():
        assert db.session.scalars(db.select(LoginAttempt.address)).all() == ["203.0.113.9"]
        db.engine.dispose()


def test_old_attempts_are_pruned(app, users, monkeypatch):
    from schema.security import LoginAttempt

    now = _frozen(monkeypatch, datetime(2026, 11, 27, 9, 0, 0))
    with app.app_context():
        db.session.add_all([LoginAttempt(at=now["t"] - timedelta(days=2), username="x", address="1.1.1.1"),
                            LoginAttempt(at=now["t"] - timedelta(hours=2), username="x", address="1.1.1.1")])
        db.session.commit()
    _attempt(app, "admin", PASSWORD, "1.1.1.2")
    with app.app_context():
        ages = sorted(now["t"] - at for at in db.session.scalars(db.select(LoginAttempt.at)))
        db.session.remove()
    assert ages == [timedelta(0), timedelta(hours=2)]


# -- passwords --------------------------------------------------------------------------------

@pytest.mark.parametrize("password,username,messages", [
    ("Short-1a", "", ["密码至少10位"]),
    ("lowercase-only-7", "", []),
    ("alllowercaseonly", "", ["密码须包含小写字母、大写字母、数字、符号中的至少3类"]),
    ("ALLUPPER-12345", "", []),
    ("Zhangwei-2026", "zhangwei", ["密码不能包含用户名"]),
    ("Secret-2026", "li", []),
    ("P@ssw0rd123", "", ["密码过于常见,容易被猜中,请换一个"]),
    ("propdesk123", "", ["密码须包含小写字母、大写字母、数字、符号中的至少3类", "密码过于常见,容易被猜中,请换一个"]),
    ("abc", "abc", ["密码至少10位", "密码须包含小写字母、大写字母、数字、符号中的至少3类", "密码不能包含用户名"]),
    (PASSWORD, "admin", []),
])
def test_password_policy(password, username, messages):
    assert passwords.problems(password, username) == messages


def test_demo_and_test_passwords_pass_the_policy():
    from seed.demo import DEMO_ACCOUNTS

    for username, _label, password in DEMO_ACCOUNTS:
        assert passwords.problems(password, username) == []


def test_user_form_and_cli_refuse_a_weak_password(app, admin):
    from schema.org import AppUser

    resp = admin.post("/admin/app_user/new/", {"username": "zhangwei", "display_name": "张伟", "role": "frontdesk",
                                               "active": "y", "new_password": "zhangwei2026"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "密码不能包含用户名" in page and "至少3类" in page
    result = app.test_cli_runner().invoke(args=["create-user", "wang", "--role", "frontdesk", "--password",
                                                "password123"])
    assert result.exit_code != 0 and "密码过于常见" in result.output
    with app.app_context():
        assert db.session.execute(db.select(AppUser).filter(AppUser.username.in_(["zhangwei", "wang"]))).first() is None


# -- CSRF -------------------------------------------------------------------------------------

def _fingerprint(app) -> tuple:
    """Rows per table and the sum of every row version: any insert, delete or edit changes it."""
    with app.app_context():
        tables = db.metadata.sorted_tables
        parts = [f"(SELECT COUNT(*) FROM {t.name})" for t in tables]
        parts += [f"(SELECT COALESCE(SUM(version), 0) FROM {t.name})" for t in tables if "version" in t.c]
        row = tuple(db.session.execute(text("SELECT " + ", ".join(parts))).one())
        db.session.remove()
    return row


def test_login_is_csrf_protected(app, browser, users):
    from schema.security import LoginAttempt

    resp = browser.post("/login", {"username": "admin", "password": PASSWORD}, csrf=False)
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert browser.get("/admin/").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(LoginAttempt)) == 0


def _sample_url(rule) -> str:
    values = {name: (1 if type(conv).__name__ in ("IntegerConverter", "FloatConverter") else "delete")
              for name, conv in rule._converters.items()}
    return rule.build(values)[1]


def test_every_post_route_refuses_a_post_without_csrf_token(app, admin, record_ids):
    before = _fingerprint(app)
    checked = []
    for rule in POST_RULES:
        url = _sample_url(rule)
        resp = admin.post(url, {"id": "1", "rowid": "1", "action": "delete", "confirm": "1", "name": "x",
                                "url": "/admin/", "password": PASSWORD, "username": "admin"}, csrf=False)
        assert resp.status_code == 400, (url, resp.status_code)
        assert _fingerprint(app) == before, url
        checked.append(url)
    assert admin.get("/admin/").status_code == 200       # the session was never touched
    record("hardening", routes_checked=len(GET_ROUTES), post_routes=len(checked))
