"""Fixtures: an app on SQLite (or PostgreSQL via PROPDESK_TEST_DATABASE_URL), clean tables per test,
one user per role, and a client that logs in through /login and sends the CSRF token."""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from schema.spec import ROLES

PASSWORD = "Test-Passw0rd!"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("propdesk")
    url = os.environ.get("PROPDESK_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "UPLOAD_FOLDER": str(tmp / "uploads"), "MAX_UPLOAD_BYTES": 200 * 1024})
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def wipe(app):
    """Empty every table a test wrote to and restart its ids.

    One probe finds the non-empty tables; only those are deleted (children first). A TRUNCATE of
    all ~60 tables cost PostgreSQL ~0.14 s per test, most of the suite's time there."""
    with app.app_context():
        db.session.rollback()
        tables = list(reversed(db.metadata.sorted_tables))
        probe = ", ".join(f"(SELECT 1 FROM {t.name} LIMIT 1) AS {t.name}" for t in tables)
        row = db.session.execute(text(f"SELECT {probe}")).one()
        used = [t for t, flag in zip(tables, row) if flag is not None]
        for table in used:
            db.session.execute(table.delete())
        if db.engine.dialect.name == "sqlite" and db.session.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            # planner statistics a bulk load left (seed-scale ANALYZEs): later tests plan on empty tables
            db.session.execute(text("DROP TABLE sqlite_stat1"))
            db.session.commit()
            db.engine.dispose()  # pooled connections keep the statistics they loaded
        if db.engine.dialect.name == "postgresql":
            for table in used:
                if "id" in table.c and table.c.id.autoincrement is not False:
                    db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"))
        db.session.commit()
        db.session.remove()


@pytest.fixture(autouse=True)
def _clean_tables(request, app):
    yield
    if request.node.get_closest_marker("shared_data") is None:
        wipe(app)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


FAST_HASH = "pbkdf2:sha256:1000"
"""Test accounts' password hash method: scrypt (the app's default) costs ~0.3 s a user, ~2 s a test for six."""


@pytest.fixture
def users(app):
    """One active user per role, named after the role, working for every estate (tests/test_scoping.py
    binds users to single estates)."""
    from werkzeug.security import generate_password_hash

    from schema.org import AppUser

    with app.app_context():
        for role in ROLES:
            db.session.add(AppUser(username=role, display_name=f"测试{role}", role=role, active=True, all_estates=True,
                                   password_hash=generate_password_hash(PASSWORD, method=FAST_HASH)))
        db.session.commit()
        db.session.remove()
    return ROLES


@pytest.fixture
def record_ids(app, users):
    """One committed record of every table (factories.one_of_each): their ids by table."""
    from . import factories

    with app.app_context():
        ids = factories.one_of_each()
        db.session.remove()
    return ids


ESTATE_A_USERS = {"frontdesk": "clerk_a", "supervisor": "sup_a", "leasing": "lease_a", "maintenance": "maint_a"}
"""Users working for estate A only, one per estate-bound role (admin and manager see every estate)."""


@pytest.fixture
def estate_worlds(app, users):
    """Two estates, A and B, with one record of every table each (factories.one_of_each), and the
    ESTATE_A_USERS: returns (ids in A, ids in B) by table."""
    from werkzeug.security import generate_password_hash

    from schema.org import AppUser
    from schema.property import Estate

    from . import factories

    with app.app_context():
        a, b = factories.one_of_each(), factories.one_of_each()
        estate_a = db.session.get(Estate, a["estate"])
        for role, name in ESTATE_A_USERS.items():
            db.session.add(AppUser(username=name, display_name=f"甲{role}", role=role, active=True, estates=[estate_a],
                                   password_hash=generate_password_hash(PASSWORD, method=FAST_HASH)))
        db.session.commit()
        db.session.remove()
    return a, b


class Browser:
    """A test client that logs in through the real form and adds the CSRF token to every POST."""

    def __init__(self, app):
        self.client = app.test_client()
        self.token = None

    def _refresh_token(self, html: str):
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        if m:
            self.token = m.group(1)

    def get(self, url, **kw):
        kw.setdefault("buffered", True)  # read and close streamed responses, as a WSGI server does
        resp = self.client.get(url, **kw)
        if resp.mimetype == "text/html":
            self._refresh_token(resp.get_data(as_text=True))
        return resp

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/login")
            data.setdefault("csrf_token", self.token)
        kw.setdefault("buffered", True)
        return self.client.post(url, data=data, **kw)

    def login(self, username, password=PASSWORD):
        self.get("/login")
        resp = self.post("/login", {"username": username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        self.get("/admin/")
        return self


@pytest.fixture
def browser(app):
    return Browser(app)


@pytest.fixture
def login(app, users):
    """login('frontdesk') -> a Browser logged in as that role."""
    return lambda role: Browser(app).login(role)


def pytest_terminal_summary(terminalreporter):
    """The trust suites' figures (tests/security_figures.py), shown even under -q."""
    from .security_figures import REPORTED

    if REPORTED:
        terminalreporter.section("security figures")
        for line in REPORTED:
            terminalreporter.write_line(line)


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")


@pytest.fixture
def live_server(app):
    from .browser_server import LiveServer

    with LiveServer(app) as server:
        yield server


@pytest.fixture
def page(live_server):
    """A Chromium page (Debian's package). Missing in CI is a failure; locally without it, a skip."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.makedirs(ARTIFACTS, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.base_url = live_server.url
        yield page
        context.close()
        browser.close()
