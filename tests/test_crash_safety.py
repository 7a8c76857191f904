"""Crash safety: a real server process (gunicorn, or `flask bill-month`) is SIGKILLed at a random moment
while it bills a month or commits an Excel import; afterwards the SQLite file is sound (integrity_check,
foreign_key_check) and the work is all or nothing — its rows and their audit rows are all there or none.

Each run works on a fresh copy of one seeded SQLite file (WAL, as the app configures it). The schema comes
from create_all, like the rest of the suite: the migrations trail the models while the estate-scoping work is
in progress. The full counts come from one run to completion; each killed run waits until the work has
visibly started (the WAL grows, or the import's streamed page says it is writing) and then kills the server's
whole process group after a random delay within the time the complete run took.
"""
from __future__ import annotations

import codecs
import http.cookiejar
import io
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import insert, make_url, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app import create_app
from app.extensions import db

from . import factories
from .security_figures import record, scaled

pytestmark = pytest.mark.security

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
UNITS = 4200
"""Billable units: three of bill_month's insert batches (a commit between them would show), about two
seconds of work — long enough to be killed in the middle."""
IMPORT_ROWS = 2000
IMPORT_BATCH = 250
"""The import server's IMPORT_BATCH: eight batches, so a commit between batches would show."""
PERIOD = "2026-12"
PASSWORD = "Crash-Passw0rd!"
WAL_STARTED = 32 * 1024
"""WAL growth past this many bytes means the billing transaction is writing (its pages spill to the WAL)."""
RNG = random.Random(int.from_bytes(os.urandom(4), "big"))
FIGURES = {"runs": 0, "killed_mid_work": 0, "completed_before_kill": 0, "integrity_ok": 0}
"""killed_mid_work: runs whose kill left no row of the work (it had started writing, never committed)."""


@pytest.fixture(scope="module", autouse=True)
def crash_figures():
    yield FIGURES
    if FIGURES["runs"] or FIGURES.get("postgresql_runs"):
        record("crash", **FIGURES)


# -- the seeded database --------------------------------------------------------------------------
def seed(url: str) -> None:
    """Schema, one estate of UNITS billable units with one owner each, and an admin account."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.drop_all()
        db.create_all()
        tables = db.metadata.tables
        buildings = UNITS // 100
        rows = {
            "estate": [{"id": 1, "version": 1, "name": "崩溃测试花园"}],
            "building": [{"id": b, "version": 1, "estate_id": 1, "name": f"{b}栋"} for b in range(1, buildings + 1)],
            "unit": [{"id": i, "version": 1, "building_id": i % buildings + 1, "room_no": str(100 + i // buildings),
                      "area": Decimal("88.50"), "usage": "residence", "status": ("occupied", "custody")[i % 7 == 0],
                      "fee_rate": Decimal("2.50")} for i in range(1, UNITS + 1)],
            "owner": [{"id": i, "version": 1, "kind": "person", "name": f"业主{i}", "id_type": "resident_id",
                       "id_number": f"SEED{i:014d}", "phone": f"139{i:08d}"} for i in range(1, UNITS + 1)],
            "ownership": [{"id": i, "version": 1, "owner_id": i, "unit_id": i, "is_primary": True}
                          for i in range(1, UNITS + 1)],
        }
        for name, values in rows.items():
            db.session.execute(insert(tables[name]), values)
        from schema.org import AppUser

        admin = AppUser(username="admin", display_name="管理员", role="admin", active=True)
        admin.set_password(PASSWORD)
        db.session.add(admin)
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash") / "base.db"
    seed(f"sqlite:///{path}")
    assert not Path(f"{path}-wal").exists()  # one self-contained file to copy per run
    return path


def owners_xlsx(rows: int) -> bytes:
    """An owner import sheet of valid, distinct owners."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("业主")
    ws.append(["类别", "姓名/单位名称", "证件类型", "证件号码", "联系电话", "单位联系人", "通讯地址", "备注"])
    for i in range(rows):
        born = (date(1960, 1, 1) + timedelta(days=i // 900)).strftime("%Y%m%d")
        ws.append(["个人", f"导入业主{i}", "居民身份证", factories.resident_id(born=born, serial=i % 900 + 1),
                   f"137{i:08d}", None, None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- processes ------------------------------------------------------------------------------------
@dataclass
class Run:
    """One copy of the database and the environment a process serving it gets."""

    folder: Path

    @property
    def db(self) -> Path:
        return self.folder / "propdesk.db"

    @property
    def env(self) -> dict:
        return {**os.environ, "DATABASE_URL": f"sqlite:///{self.db}", "SECRET_KEY": "crash-safety",
                "PROPDESK_UPLOAD_FOLDER": str(self.folder / "uploads"), "PYTHONUNBUFFERED": "1"}

    def wal(self) -> int:
        try:
            return os.path.getsize(f"{self.db}-wal")
        except FileNotFoundError:
            return 0


def fresh_run(base: Path, tmp_path: Path, name: str) -> Run:
    run = Run(tmp_path / name)
    run.folder.mkdir()
    shutil.copyfile(base, run.db)
    return run


def spawn(args: list[str], run: Run, log: str) -> subprocess.Popen:
    """A process in its own group, so SIGKILL reaches gunicorn's master and worker alike."""
    return subprocess.Popen(args, cwd=ROOT, env=run.env, start_new_session=True,
                            stdout=open(run.folder / log, "wb"), stderr=subprocess.STDOUT)


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving the run's database, and a logged-in admin session on it."""

    def __init__(self, run: Run, app: str = "wsgi:app"):
        self.run, self.port = run, free_port()
        self.proc = spawn([str(GUNICORN), "-w", "1", "-b", f"127.0.0.1:{self.port}", "--timeout", "600", app],
                          run, "server.log")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = None
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.log()
            try:
                self.get("/login")
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start: " + self.log()
                time.sleep(0.1)
        self.post("/login", {"username": "admin", "password": PASSWORD})

    def log(self) -> str:
        return (self.run.folder / "server.log").read_text(errors="replace")[-3000:]

    def _open(self, path, data=None, content_type=None, timeout=120):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data)
        if content_type:
            req.add_header("Content-Type", content_type)
        return self.opener.open(req, timeout=timeout)

    def get(self, path) -> str:
        with self._open(path) as resp:
            html = resp.read().decode()
        if m := re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html):
            self.token = m.group(1)
        return html

    def post(self, path, fields, **kw):
        body = urllib.parse.urlencode({**fields, "csrf_token": self.token}).encode()
        return self._open(path, body, "application/x-www-form-urlencoded", **kw)

    def upload(self, path, fields, name, data):
        values = {**fields, "csrf_token": self.token,
                  "file": FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")}
        boundary, body = encode_multipart(values)
        return self._open(path, body, f"multipart/form-data; boundary={boundary}")


class Request(threading.Thread):
    """One long request read to its end in the background; `seen` is set once `marker` has arrived."""

    def __init__(self, send, marker: str | None = None):
        super().__init__(daemon=True)
        self.send, self.marker = send, marker
        self.seen, self.done = threading.Event(), threading.Event()
        self.body, self.error = "", None
        self.start()

    def run(self):
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            with self.send() as resp:
                while chunk := resp.read1(65536):
                    self.body += decoder.decode(chunk)
                    if self.marker and self.marker in self.body:
                        self.seen.set()
            self.done.set()
        except Exception as exc:  # noqa: BLE001 - the server being killed mid-answer is the point
            self.error = exc


def wait_for(condition, finished, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and not finished():
        assert time.monotonic() < deadline, "the work never started"
        time.sleep(0.003)


def time_to_commit(started, finished, committed) -> float:
    """A run to completion: seconds from the work visibly starting until all of its rows are visible
    (not just the first: were the work committed in parts, the kills must be able to land between them)."""
    wait_for(started, finished)
    began = time.monotonic()
    while not committed() and not finished():
        assert time.monotonic() - began < 300, "the reference run never committed"
        time.sleep(0.01)
    return time.monotonic() - began


def kill_during(proc, started, finished, window: float) -> float:
    """Wait for the work to start, then SIGKILL the process group after a random delay within `window`."""
    wait_for(started, finished)
    delay = RNG.uniform(0, window)
    until = time.monotonic() + delay
    while time.monotonic() < until and not finished():
        time.sleep(0.002)
    kill(proc)
    return delay


# -- after a crash --------------------------------------------------------------------------------
def count(path: Path, sql: str) -> int:
    """A reader's view of the file (WAL: it never blocks the writer)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def inspect_db(path: Path, sql_count: str, sql_audit: str) -> tuple[int, int]:
    """Open the file as the next process would (SQLite recovers from the WAL), check it; (rows, audit rows)."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return conn.execute(sql_count).fetchone()[0], conn.execute(sql_audit).fetchone()[0]
    finally:
        conn.close()


BILLED = f"SELECT count(*) FROM charge WHERE period = '{PERIOD}' AND kind = 'mgmt_fee'"
BILL_AUDIT = "SELECT count(*) FROM audit_log WHERE action = '月度计费' AND table_name = 'charge'"
IMPORTED = "SELECT count(*) FROM owner WHERE name LIKE '导入业主%'"
IMPORT_AUDIT = "SELECT count(*) FROM audit_log WHERE action = 'Excel导入' AND table_name = 'owner'"


def narrowed(window: float, delay: float, rows: int) -> float:
    """A run this one finished before its kill: aim the next kills earlier (the machine is faster now)."""
    return window if rows == 0 else min(window, delay) / 2


def tally(rows: int, integrity: bool = True) -> None:
    FIGURES["runs"] += 1
    FIGURES["integrity_ok"] += integrity
    FIGURES["killed_mid_work" if rows == 0 else "completed_before_kill"] += 1


# -- the tests ------------------------------------------------------------------------------------
def test_connections_use_wal_and_enforce_foreign_keys(base):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{base}"})
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(Exception, match="FOREIGN KEY"):
            conn.exec_driver_sql("INSERT INTO ownership (version, owner_id, unit_id, is_primary) "
                                 "VALUES (1, 1, 999999, 1)")
        conn.rollback()
        db.engine.dispose()
    assert base.read_bytes()[18:20] == b"\x02\x02"  # WAL is recorded in the file itself


def bill_command(run: Run) -> tuple[subprocess.Popen, object, object]:
    """`flask bill-month`; (process, has the work started, has it finished)."""
    proc = spawn([sys.executable, "-m", "flask", "--app", "wsgi", "bill-month", PERIOD], run, "bill.log")
    return proc, lambda: run.wal() > WAL_STARTED, lambda: proc.poll() is not None


def bill_form(run: Run) -> tuple[subprocess.Popen, object, object]:
    """The panel's 月度计费 form on gunicorn; (server process, has the work started, has it finished)."""
    server = Server(run)
    server.get("/admin/charge/bill/")
    baseline = run.wal()
    request = Request(lambda: server.post("/admin/charge/bill/", {"month": PERIOD, "building_id": ""}, timeout=600))
    return server.proc, lambda: run.wal() > baseline + WAL_STARTED, request.done.is_set


def test_billing_killed_mid_month_is_all_or_nothing(base, tmp_path):
    reference = fresh_run(base, tmp_path, "reference")
    proc, started, finished = bill_command(reference)
    window = time_to_commit(started, finished, lambda: count(reference.db, BILLED) >= UNITS)
    assert proc.wait(300) == 0, (reference.folder / "bill.log").read_text()
    full, audited = inspect_db(reference.db, BILLED, BILL_AUDIT)
    assert full == UNITS and audited == full

    outcomes = []
    for n in range(scaled(3)):
        run = fresh_run(base, tmp_path, f"run{n}")
        how = ("command", "form")[n % 2]
        proc, started, finished = (bill_command if how == "command" else bill_form)(run)
        delay = kill_during(proc, started, finished, window)
        rows, audit = inspect_db(run.db, BILLED, BILL_AUDIT)
        outcomes.append((how, round(delay, 3), rows))
        assert rows in (0, full), outcomes
        assert audit == rows, outcomes  # the audit trail went with the charges
        tally(rows)
        window = narrowed(window, delay, rows)
    assert any(rows == 0 for _how, _d, rows in outcomes), f"no kill landed inside the transaction: {outcomes}"


def test_import_killed_mid_commit_is_all_or_nothing(base, tmp_path):
    sheet = owners_xlsx(IMPORT_ROWS)

    def start(run: Run) -> tuple[Server, Request]:
        """Log in, upload the sheet (the dry run), then post the commit and read its streamed page."""
        server = Server(run, f"app:create_app({{'IMPORT_BATCH': {IMPORT_BATCH}}})")
        server.get("/admin/import/")
        with server.upload("/admin/import/upload/", {"kind": "owner"}, "业主.xlsx", sheet) as resp:
            assert resp.url.endswith("/admin/import/preview/"), resp.read().decode()[:2000]
        preview = server.get("/admin/import/preview/")
        assert 'id="import-commit"' in preview, preview[:3000]
        return server, Request(lambda: server.post("/admin/import/commit/", {}, timeout=600),
                               marker=f"正在写入 0 / {IMPORT_ROWS}")

    reference = fresh_run(base, tmp_path, "reference")
    server, request = start(reference)
    window = time_to_commit(request.seen.is_set, request.done.is_set,
                            lambda: count(reference.db, IMPORTED) >= IMPORT_ROWS)
    request.join(600)
    assert f"已导入业主 {IMPORT_ROWS} 条" in request.body, (request.error, server.log())
    kill(server.proc)
    full, audited = inspect_db(reference.db, IMPORTED, IMPORT_AUDIT)
    assert full == IMPORT_ROWS and audited == full

    outcomes = []
    for n in range(scaled(3)):
        run = fresh_run(base, tmp_path, f"run{n}")
        server, request = start(run)
        delay = kill_during(server.proc, request.seen.is_set, request.done.is_set, window)
        rows, audit = inspect_db(run.db, IMPORTED, IMPORT_AUDIT)
        outcomes.append((round(delay, 3), rows))
        assert rows in (0, full), outcomes
        assert audit == rows, outcomes
        tally(rows)
        window = narrowed(window, delay, rows)
    assert any(rows == 0 for _d, rows in outcomes), f"no kill landed inside the transaction: {outcomes}"


# -- PostgreSQL -----------------------------------------------------------------------------------
def _postgres_url() -> str | None:
    url = os.environ.get("PROPDESK_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    return make_url(url).set(database="propdesk_crash").render_as_string(hide_password=False)


@pytest.mark.skipif(_postgres_url() is None,
                    reason="runs only with PROPDESK_TEST_DATABASE_URL=postgresql+psycopg://... (on propdesk_crash)")
def test_billing_killed_on_postgresql_is_all_or_nothing(tmp_path):
    import psycopg

    url = make_url(_postgres_url())
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'propdesk_crash'").fetchone():
            conn.execute("CREATE DATABASE propdesk_crash")
    seed(url.render_as_string(hide_password=False))
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    app_name = f"propdesk_crash_{os.getpid()}"
    env = {**Run(tmp_path).env, "DATABASE_URL": url.update_query_dict({"application_name": app_name})
           .render_as_string(hide_password=False)}

    def bill() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "bill-month", PERIOD], cwd=ROOT,
                                env=env, start_new_session=True, stdout=open(tmp_path / "bill.log", "ab"),
                                stderr=subprocess.STDOUT)

    with psycopg.connect(libpq, autocommit=True) as watch:
        def writing() -> bool:  # the billing transaction gets an id when it writes its first row
            return bool(watch.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND backend_xid "
                                      "IS NOT NULL", (app_name,)).fetchone())

        def billed() -> int:
            return watch.execute(BILLED).fetchone()[0]

        proc = bill()
        window = time_to_commit(writing, lambda: proc.poll() is not None, lambda: billed() >= UNITS)
        assert proc.wait(300) == 0, (tmp_path / "bill.log").read_text()
        full = billed()
        assert full == UNITS and watch.execute(BILL_AUDIT).fetchone()[0] == full
        watch.execute(f"DELETE FROM charge WHERE period = '{PERIOD}'")  # back to before the month was billed
        watch.execute("DELETE FROM audit_log WHERE action = '月度计费'")

        proc = bill()
        kill_during(proc, writing, lambda: proc.poll() is not None, window)
        deadline = time.monotonic() + 60
        while watch.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s", (app_name,)).fetchone():
            assert time.monotonic() < deadline, "the killed client's backend did not end"
            time.sleep(0.05)
        rows = billed()
        assert rows in (0, full) and watch.execute(BILL_AUDIT).fetchone()[0] == rows
    FIGURES["postgresql_runs"] = FIGURES.get("postgresql_runs", 0) + 1
    FIGURES["postgresql_killed_mid_work"] = FIGURES.get("postgresql_killed_mid_work", 0) + (rows == 0)
