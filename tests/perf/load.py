"""`make load`: a bounded load test of PropDesk under gunicorn (2 workers) on 127.0.0.1.

For each target database (SQLite in WAL mode always; PostgreSQL with --pg URL or PROPDESK_BENCH_PG_URL):

1. prepare a fresh database: a new SQLite file in a temporary directory, or every table of the given
   PostgreSQL database dropped (schema public dropped and recreated) — then `flask db upgrade` and
   `flask seed-demo`;
2. start `gunicorn -w 2 -b 127.0.0.1:<free port> wsgi:app` with that DATABASE_URL, one SECRET_KEY
   and a temporary upload folder; its stderr goes to a log file;
3. run --users simulated users (threads, standard library only) for --seconds: each signs in through
   the real login form, then loops over a weighted mix of list pages (plain, ?search=, ?page=3),
   the global search, details pages, creating call-log and visitor records and editing its own;
4. stop gunicorn and read the database directly (SQLAlchemy, same URL): every acknowledged create
   must be there with its marker, and every acknowledged edit's last value must be stored;
5. print a table per database and write load-results.json; exit 1 on any error or lost write.

An error is: a status >= 500, a connection error or timeout, any 4xx, a create/edit answered with
the form again instead of a redirect (its error text is printed once), or a page without its marker.

    python -m tests.perf.load --seconds 60 --users 20 [--pg postgresql+psycopg://user@host/db]

WARNING: --pg wipes the given PostgreSQL database (DROP SCHEMA public CASCADE). Never point it at
a database that holds anything you need.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
DEMO_PASSWORD = "Propdesk-2026"  # seed/demo.py DEMO_PASSWORD (not imported: that would load the app here)
ROLES = ("admin", "supervisor", "frontdesk")  # all three may read every list below and create/edit calls and visitors
KINDS = ("login", "list", "search", "details", "create_form", "create", "edit_form", "edit")
MARK = "负载"  # every record this script creates carries it at the start of its title field

LIST_SEARCH = {
    "owner": ["王", "张", "李", "138"],
    "unit": ["1201", "101", "3"],
    "work_order": ["WX2026", "漏水", "维修"],
    "call_log": [MARK, "报修", "138"],
    "charge": ["物业费", "王", "2026"],
    "payment": ["SK2026", "王"],
    "visitor": [MARK, "快递", "王"],
}
GLOBAL_SEARCH = ["王", "张伟", "李", "1201", "3栋1201", "1-101", "WX2026", "SK2026", "TS2026", "5678", "138"]
CREATE_TABLES = {"call_log": "caller", "visitor": "name"}  # table -> the text field holding the marker
MIX = (("list", 40), ("search", 12), ("details", 25), ("create", 11), ("edit", 12))

_DETAILS_LINK = re.compile(r'href="/admin/(\w+)/details/\?id=(\d+)')
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ALERT = re.compile(r'<div class="alert alert-(?:danger|error|warning)[^"]*"[^>]*>(.*?)</div>', re.DOTALL)
_FIELD_ERRORS = re.compile(r'<div class="invalid-feedback">(.*?)</div>', re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def _text(html: str) -> str:
    return " ".join(unescape(_TAGS.sub(" ", html)).replace("×", " ").split())


def form_errors(html: str) -> str:
    """The flashed error messages and field errors of a re-rendered form, as one line."""
    found = [_text(m) for m in _ALERT.findall(html)]
    for block in _FIELD_ERRORS.findall(html):
        found.append(_text(block))
    return "; ".join(f for f in found if f) or "(no error text on the page)"


# -- HTML forms ------------------------------------------------------------------------------------
class FormParser(HTMLParser):
    """The forms of a page with the values a browser would submit (checked boxes, selected options,
    textarea contents without the leading newline); submit buttons are left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._textarea = None
        self._select = None
        self._option = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"attrs": a, "fields": []}
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append([name, a.get("value") or "on"])
                return
            self._form["fields"].append([name, a.get("value") or ""])
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
            self._form["fields"].append(self._textarea)
        elif tag == "select" and name:
            self._select = {"name": name, "first": None, "selected": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data
        elif self._option is not None:
            self._option["text"] += data

    def _close_option(self):
        if self._option is not None and self._select is not None:
            value = self._option["value"] if self._option["value"] is not None else self._option["text"].strip()
            if self._select["first"] is None:
                self._select["first"] = value
            if self._option["selected"]:
                self._select["selected"] = value
        self._option = None

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            value = self._textarea[1]  # the newline right after <textarea> is not part of the value
            self._textarea[1] = value.removeprefix("\r\n") if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None
        elif tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            value = self._select["selected"] if self._select["selected"] is not None else self._select["first"]
            if value is not None and self._form is not None:
                self._form["fields"].append([self._select["name"], value])
            self._select = None
        elif tag == "form":
            self._form = None


def admin_form(html: str) -> list[list[str]] | None:
    """The fields of Flask-Admin's create/edit form (class admin-form), or None."""
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if "admin-form" in (form["attrs"].get("class") or ""):
            return form["fields"]
    return None


def set_field(fields: list[list[str]], name: str, value: str) -> None:
    for f in fields:
        if f[0] == name:
            f[1] = value
            return
    fields.append([name, value])


def get_field(fields: list[list[str]], name: str) -> str | None:
    return next((v for n, v in fields if n == name), None)


# -- HTTP --------------------------------------------------------------------------------------------
class Failure(Exception):
    """One failed request: recorded as an error of its kind."""


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def location(self) -> str:
        loc = self.headers.get("Location") or ""
        parts = urlsplit(loc)
        return parts.path + (f"?{parts.query}" if parts.query else "")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: dict[str, int] = {k: 0 for k in KINDS}
        self.messages: dict[str, int] = {}

    def add(self, kind: str, ms: float | None, error: str | None = None) -> None:
        """One request of `kind` (ms None: an error found outside a request, not counted as one)."""
        with self.lock:
            if ms is not None:
                self.latency[kind].append(ms)
            if error:
                self.errors[kind] = self.errors.get(kind, 0) + 1
                key = f"{kind}: {error}"
                if key not in self.messages:
                    print(f"  ERROR {key}", file=sys.stderr, flush=True)
                self.messages[key] = self.messages.get(key, 0) + 1


class Client:
    """One browser: its own cookies; a new connection per request (gunicorn's sync workers close
    every connection); redirects are never followed."""

    def __init__(self, port: int, stats: Stats, timeout: float):
        self.port, self.stats, self.timeout = port, stats, timeout
        self.cookies: dict[str, str] = {}

    def _store_cookies(self, headers) -> None:
        for header in headers.get_all("Set-Cookie") or ():
            pair, _, rest = header.partition(";")
            name, _, value = pair.strip().partition("=")
            rest = rest.lower()
            if not value or "max-age=0" in rest or "expires=thu, 01 jan 1970" in rest:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def send(self, kind: str, method: str, path: str, form: list | None = None, expect: tuple = (200,),
             marker: str | None = None, check=None) -> Reply:
        """One timed request. Raises Failure (after recording the error) when the status is not in
        `expect`, the body lacks `marker`, or `check(reply)` returns an error text."""
        headers = {"User-Agent": "propdesk-load/1", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode([(n, v) for n, v in form]).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            reply = Reply(response.status, response.msg, raw.decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException) as exc:
            ms = (time.perf_counter() - started) * 1000
            self.stats.add(kind, ms, f"connection error {type(exc).__name__}: {exc} ({method} {path.split('?')[0]})")
            raise Failure(str(exc)) from exc
        finally:
            conn.close()
        ms = (time.perf_counter() - started) * 1000
        self._store_cookies(reply.headers)
        error = None
        where = f"{method} {path.split('?')[0]}"
        if reply.status not in expect:
            if reply.status == 200 and method == "POST":
                error = f"form re-rendered instead of a redirect ({where}): {form_errors(reply.body)}"
            elif reply.status in (301, 302, 303) and "/login" in reply.location():
                error = f"redirected to the login page: session lost ({where})"
            else:
                error = f"HTTP {reply.status} ({where})"
                if reply.status >= 400:
                    error += f": {form_errors(reply.body)[:200]}"
        elif marker is not None and marker not in reply.body:
            error = f"page without its marker {marker!r} ({where})"
        elif check is not None:
            error = check(reply)
        self.stats.add(kind, ms, error)
        if error:
            raise Failure(error)
        return reply


# -- a simulated user ----------------------------------------------------------------------------------
@dataclass
class Created:
    table: str
    id: int
    marker: str
    notes: set = field(default_factory=set)
    """The note values the database may hold: the acknowledged last one, plus the value of an edit
    whose outcome is unknown (it failed after being sent)."""
    edits: int = 0


def _id_from(location: str, table: str) -> int | None:
    parts = urlsplit(location)
    if parts.path != f"/admin/{table}/details/":
        return None
    ids = parse_qs(parts.query).get("id") or []
    return int(ids[0]) if ids and ids[0].isdigit() else None


class User(threading.Thread):
    def __init__(self, number: int, port: int, stats: Stats, deadline: float, think: float, timeout: float,
                 password: str, seed: int):
        super().__init__(name=f"user-{number}", daemon=True)
        self.number, self.deadline, self.think = number, deadline, think
        self.role = ROLES[number % len(ROLES)]
        self.password = password
        self.client = Client(port, stats, timeout)
        self.rng = random.Random(seed * 1000 + number)
        self.seen: list[tuple[str, int]] = []
        self.phones: list[str] = []
        self.created: list[Created] = []
        self.unknown: list[str] = []  # markers of creates whose outcome is unknown
        self.sequence = 0
        self.logged_in = False

    # the mix ----------------------------------------------------------------------------------------
    def run(self):
        while time.monotonic() < self.deadline:
            try:
                if not self.logged_in:
                    self.login()
                else:
                    kind = self.rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
                    if kind == "details" and not self.seen:
                        kind = "list"
                    if kind == "edit" and not self.created:
                        kind = "create"
                    getattr(self, "do_" + kind)()
            except Failure:
                time.sleep(0.2)
            except Exception as exc:  # noqa: BLE001 — a bug in this script must not pass for a quiet run
                self.client.stats.add("script", None, f"load script crashed: {type(exc).__name__}: {exc}")
                time.sleep(0.2)
            if self.think > 0:
                time.sleep(min(self.rng.uniform(0, 2 * self.think), max(0.0, self.deadline - time.monotonic())))

    def login(self):
        c = self.client
        c.cookies.clear()
        page = c.send("login", "GET", "/login", marker='name="csrf_token"')
        token = get_field(admin_form_or_first(page.body), "csrf_token")
        reply = c.send("login", "POST", "/login",
                       form=[("csrf_token", token or ""), ("username", self.role), ("password", self.password)],
                       expect=(302,))
        if not reply.location().startswith("/admin"):
            c.stats.add("login", None, f"login redirected to {reply.location()!r}")
            raise Failure("login")
        self.logged_in = True

    def remember(self, html: str) -> None:
        for table, rid in _DETAILS_LINK.findall(html):
            self.seen.append((table, int(rid)))
        self.phones.extend(_PHONE.findall(html)[:5])
        del self.seen[:-300]
        del self.phones[:-50]

    def do_list(self):
        table = self.rng.choice(list(LIST_SEARCH))
        variant = self.rng.random()
        if variant < 0.25:
            path = f"/admin/{table}/?search={quote(self.rng.choice(LIST_SEARCH[table]))}"
        elif variant < 0.40:
            path = f"/admin/{table}/?page=3"
        else:
            path = f"/admin/{table}/"
        self.remember(self.client.send("list", "GET", path, marker="model-list").body)

    def do_search(self):
        pool = GLOBAL_SEARCH + self.phones[-10:]
        query = self.rng.choice(pool)
        self.client.send("search", "GET", f"/admin/search/?q={quote(query)}", marker='id="search-page-form"')

    def do_details(self):
        table, rid = self.rng.choice(self.seen)
        self.client.send("details", "GET", f"/admin/{table}/details/?id={rid}", marker="record-links")

    def do_create(self):
        c = self.client
        table = self.rng.choice(list(CREATE_TABLES))
        page = c.send("create_form", "GET", f"/admin/{table}/new/", marker="admin-form")
        fields = admin_form(page.body)
        if not fields or not get_field(fields, "csrf_token"):
            c.stats.add("create_form", None, f"no admin form with a csrf_token on /admin/{table}/new/")
            raise Failure("form")
        self.sequence += 1
        marker = f"{MARK}{self.number}-{self.sequence}"
        note = f"{marker} 新建"
        if table == "call_log":
            for name, value in (("caller", marker), ("content", f"{marker} 来电咨询停车位"),
                                ("answered", "y"), ("answer", "已当场答复"), ("note", note)):
                set_field(fields, name, value)
        else:
            departments = re.findall(r'<select[^>]*name="visited_department"[^>]*>(.*?)</select>', page.body, re.DOTALL)
            options = [v for v in re.findall(r'<option[^>]*value="([^"]*)"', departments[0] if departments else "")
                       if v and v != "__None"]
            if not options:
                c.stats.add("create_form", None, "visitor form: no department to visit")
                raise Failure("form")
            for name, value in (("name", marker), ("purpose", f"{marker} 送快递"), ("host", "前台"),
                                ("visited_department", self.rng.choice(options)), ("note", note)):
                set_field(fields, name, value)

        def redirected_to_details(reply):
            return None if _id_from(reply.location(), table) else f"create redirected to {reply.location()!r}"

        try:
            reply = c.send("create", "POST", f"/admin/{table}/new/", form=fields, expect=(302,),
                           check=redirected_to_details)
        except Failure:
            self.unknown.append(marker)
            raise
        record = Created(table, _id_from(reply.location(), table), marker, {note})
        self.created.append(record)
        # what the browser does next: the redirect to the details page, which must show the new record
        c.send("details", "GET", f"/admin/{table}/details/?id={record.id}", marker=marker)

    def do_edit(self):
        c = self.client
        record = self.rng.choice(self.created)
        path = f"/admin/{record.table}/edit/?id={record.id}"
        page = c.send("edit_form", "GET", path, marker=record.marker)
        fields = admin_form(page.body)
        if not fields or get_field(fields, "row_version") in (None, ""):
            c.stats.add("edit_form", None, f"no admin form with row_version on {path}")
            raise Failure("form")
        current = get_field(fields, "note")
        if current not in record.notes:
            c.stats.add("edit_form", None, f"edit form shows note {current!r}, expected one of {sorted(record.notes)}")
        record.edits += 1
        note = f"{record.marker} 改{record.edits}"
        set_field(fields, "note", note)

        def redirected_to_details(reply):
            rid = _id_from(reply.location(), record.table)
            return None if rid == record.id else f"edit redirected to {reply.location()!r}"

        try:
            c.send("edit", "POST", path, form=fields, expect=(302,), check=redirected_to_details)
        except Failure:
            record.notes.add(note)  # sent but not acknowledged: either value may be stored
            raise
        record.notes = {note}
        c.send("details", "GET", f"/admin/{record.table}/details/?id={record.id}", marker=note)


def admin_form_or_first(html: str) -> list[list[str]]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms[0]["fields"] if parser.forms else []


# -- the server ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def run_cli(args: list[str], env: dict, log: Path) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ flask --app wsgi {' '.join(args)}\n".encode())
        out.flush()
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                              stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        print(tail(log, 40), file=sys.stderr)
        raise SystemExit(f"flask {' '.join(args)} failed (exit {done.returncode}); log: {log}")


def tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(text[-lines:])


class Gunicorn:
    def __init__(self, env: dict, log: Path, workers: int):
        self.env, self.log, self.workers = env, log, workers
        self.port = free_port()
        self.proc = None

    def __enter__(self):
        self._out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b", f"{HOST}:{self.port}",
             "--log-level", "info", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                print(tail(self.log, 40), file=sys.stderr)
                raise SystemExit(f"gunicorn exited with {self.proc.returncode} at start-up; log: {self.log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer /login within 60 s; log: {self.log}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master waits for its workers
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()

    def __exit__(self, *exc):
        self.stop()


def scan_log(log: Path) -> dict:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    exceptions: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Locked|Timeout)\w*): (.*)$", line.strip())
        if m:
            key = f"{m.group(1)}: {m.group(2)[:160]}"
            exceptions[key] = exceptions.get(key, 0) + 1
    return {"tracebacks": text.count("Traceback (most recent call last)"),
            "database_is_locked": text.count("database is locked"),
            "worker_timeouts": text.count("WORKER TIMEOUT"),
            "exceptions": exceptions}


# -- databases -----------------------------------------------------------------------------------------
def normalize_pg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def wipe_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    for var in ("DATABASE_URL", "PROPDESK_TEST_DATABASE_URL"):
        other = os.environ.get(var)
        if other and other.startswith("postgres") and make_url(normalize_pg(other)).database == name:
            raise SystemExit(f"refusing to wipe {name!r}: it is the database of ${var}; give --pg a scratch database")
    print(f"  wiping PostgreSQL database {name!r} (DROP SCHEMA public CASCADE)", flush=True)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '15s'"))
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            conn.execute(text("GRANT ALL ON SCHEMA public TO public"))
    finally:
        engine.dispose()


def verify(url: str, users: list[User]) -> dict:
    """Every acknowledged create is stored with its marker; every acknowledged edit's value is stored."""
    from sqlalchemy import bindparam, create_engine, text

    created = [r for u in users for r in u.created]
    out = {"created": len(created), "verified": 0, "lost": 0, "edits": sum(r.edits for r in created),
           "wrong_value": 0, "unacknowledged_creates": sum(len(u.unknown) for u in users),
           "stored_without_ack": 0, "problems": []}
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for table, column in CREATE_TABLES.items():
                records = {r.id: r for r in created if r.table == table}
                rows = {}
                if records:
                    query = text(f"SELECT id, {column}, note FROM {table} WHERE id IN :ids").bindparams(
                        bindparam("ids", expanding=True))
                    rows = {row[0]: row for row in conn.execute(query, {"ids": list(records)})}
                for rid, record in records.items():
                    row = rows.get(rid)
                    if row is None or row[1] != record.marker:
                        out["lost"] += 1
                        out["problems"].append(f"{table} #{rid} {record.marker}: "
                                               + ("missing" if row is None else f"holds {row[1]!r}"))
                    elif row[2] not in record.notes:
                        out["wrong_value"] += 1
                        out["problems"].append(f"{table} #{rid} note {row[2]!r}, expected {sorted(record.notes)}")
                    else:
                        out["verified"] += 1
                stored = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {column} LIKE :m"),
                                      {"m": MARK + "%"}).scalar_one()
                out["stored_without_ack"] += max(0, stored - len(records))
    finally:
        engine.dispose()
    return out


# -- one run -------------------------------------------------------------------------------------------
def pct(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run_target(label: str, url: str, args, workdir: Path) -> dict:
    print(f"\n== {label}: preparing {shown(url)}", flush=True)
    log = workdir / f"gunicorn-{label}.log"
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "FLASK_DEBUG")}
    env.update({"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32), "PYTHONUNBUFFERED": "1",
                "PROPDESK_UPLOAD_FOLDER": str(workdir / f"uploads-{label}")})
    prepared = time.monotonic()
    run_cli(["db", "upgrade"], env, log)
    run_cli(["seed-demo"], env, log)
    journal = None
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("sqlite:///", 1)[1]) as conn:  # a plain connection: no app pragmas
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
        print(f"  journal_mode on disk after migrate+seed: {journal}", flush=True)
    print(f"  prepared in {time.monotonic() - prepared:.1f} s; starting gunicorn -w {args.workers}", flush=True)

    stats = Stats()
    with Gunicorn(env, log, args.workers) as server:
        print(f"  gunicorn on {HOST}:{server.port}; {args.users} users for {args.seconds:g} s "
              f"(think time uniform 0..{2 * args.think:g} s)", flush=True)
        started = time.monotonic()
        deadline = started + args.seconds
        users = [User(i, server.port, stats, deadline, args.think, args.timeout, args.password, args.seed)
                 for i in range(args.users)]
        for u in users:
            u.start()
        for u in users:
            u.join(args.seconds + args.timeout * 4 + 30)
        elapsed = time.monotonic() - started
        stragglers = [u.name for u in users if u.is_alive()]
    if stragglers:
        stats.add("script", None, f"users still running after the run: {', '.join(stragglers)}")
    check = verify(url, users)
    server_log = scan_log(log)

    rows = []
    for kind in KINDS:
        lat = stats.latency[kind]
        rows.append({"kind": kind, "count": len(lat), "errors": stats.errors[kind],
                     "rps": len(lat) / elapsed, "median_ms": statistics.median(lat) if lat else None,
                     "p95_ms": pct(lat, 95)})
    everything = [ms for k in KINDS for ms in stats.latency[k]]
    total = {"kind": "total", "count": len(everything), "errors": sum(stats.errors.values()),
             "rps": len(everything) / elapsed, "median_ms": statistics.median(everything) if everything else None,
             "p95_ms": pct(everything, 95)}
    failed = bool(total["errors"] or check["lost"] or check["wrong_value"] or check["stored_without_ack"]
                  or server_log["tracebacks"] or server_log["database_is_locked"] or server_log["worker_timeouts"]
                  or not any(r["count"] for r in rows if r["kind"] == "create"))
    return {"database": label, "url": shown(url), "journal_mode": journal, "users": args.users, "workers": args.workers,
            "seconds": round(elapsed, 2), "think_s": args.think, "rows": rows, "total": total, "writes": check,
            "error_messages": stats.messages, "server_log": server_log, "log": str(log), "failed": failed}


def fmt(value, width, digits=1):
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:{width}.{digits}f}"
    return str(value).rjust(width)


def print_report(result: dict) -> None:
    title = f"{result['database']}" + (f" (journal_mode={result['journal_mode']})" if result["journal_mode"] else "")
    print(f"\n== {title}: gunicorn -w {result['workers']}, {result['users']} users, "
          f"{result['seconds']:.1f} s, think 0..{2 * result['think_s']:g} s")
    print(f"{'kind':<12}{'count':>8}{'errors':>8}{'req/s':>9}{'median ms':>11}{'p95 ms':>10}")
    for row in result["rows"] + [result["total"]]:
        if row is result["total"]:
            print("-" * 58)
        print(f"{row['kind']:<12}{fmt(row['count'], 8)}{fmt(row['errors'], 8)}{fmt(row['rps'], 9, 2)}"
              f"{fmt(row['median_ms'], 11)}{fmt(row['p95_ms'], 10)}")
    w = result["writes"]
    print(f"writes: created {w['created']}, verified {w['verified']}, lost {w['lost']}, "
          f"edits {w['edits']} (last value wrong on {w['wrong_value']} records); "
          f"creates without acknowledgement {w['unacknowledged_creates']}, "
          f"stored without acknowledgement {w['stored_without_ack']}")
    for problem in w["problems"][:20]:
        print(f"  LOST {problem}")
    s = result["server_log"]
    print(f"server log: {s['tracebacks']} tracebacks, {s['database_is_locked']} 'database is locked', "
          f"{s['worker_timeouts']} worker timeouts ({result['log']})")
    for message, n in sorted(result["error_messages"].items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {n:>5} x {message[:300]}")
    for message, n in sorted(s["exceptions"].items(), key=lambda kv: -kv[1])[:15]:
        print(f"  server {n:>3} x {message}")
    if result["failed"]:
        print(f"-- FAILED; tail of {result['log']}:")
        print(tail(Path(result["log"]), 60))
    else:
        print("-- OK: zero errors, zero lost writes")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf.load",
        description="Bounded load test: gunicorn (2 workers) on 127.0.0.1 against a fresh SQLite (WAL) database "
                    "and, with --pg, a PostgreSQL one; simulated users list, search, open, create and edit records. "
                    "Exit 1 on any error or lost write.")
    parser.add_argument("--seconds", type=float, default=60, help="length of each run (default 60)")
    parser.add_argument("--users", type=int, default=20, help="simulated users (threads; default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--think", type=float, default=0.5,
                        help="mean think time between a user's actions, uniform 0..2x (default 0.5 s; 0: none)")
    parser.add_argument("--timeout", type=float, default=30, help="per-request timeout (default 30 s)")
    parser.add_argument("--pg", default=os.environ.get("PROPDESK_BENCH_PG_URL") or None, metavar="URL",
                        help="also run on this PostgreSQL database — IT IS WIPED FIRST (default: $PROPDESK_BENCH_PG_URL)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--password", default=DEMO_PASSWORD, help="password of the demo accounts")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the users' choices")
    parser.add_argument("--json", default="load-results.json", help="results file (default ./load-results.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="propdesk-load-"))
    targets = []
    if not args.no_sqlite:
        targets.append(("sqlite", f"sqlite:///{workdir / 'load.db'}"))
    if args.pg:
        targets.append(("postgresql", normalize_pg(args.pg)))
    if not targets:
        parser.error("nothing to run: --no-sqlite without --pg")
    results = []
    for label, url in targets:
        if label == "postgresql":
            wipe_postgres(url)
        result = run_target(label, url, args, workdir)
        print_report(result)
        results.append(result)
    Path(args.json).write_text(json.dumps({"runs": results}, ensure_ascii=False, indent=2), encoding="utf-8")
    failed = any(r["failed"] for r in results)
    print(f"\nresults: {Path(args.json).resolve()}")
    if failed or args.keep:
        print(f"databases and server logs kept in {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
