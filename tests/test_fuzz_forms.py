"""Fuzzed forms (issue 10, item 5): Hypothesis posts valid and hostile form data, as the admin, to every
create and edit form, confirm page, batch action, delete page and hand-written POST endpoint the Admin
has. Every example must answer below 500; a refusal must say why in Chinese and write nothing; an
accepted example must have written exactly the intended row, with its audit rows.

The forms are read from the views themselves (the WTForms form each view builds, its confirm fields,
its actions, its exposed POST routes), so a new entity, field or action is fuzzed without a test edit;
`test_every_post_route_is_fuzzed` fails when a POST route appears that no target here covers.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html import unescape

import pytest
from flask_admin.contrib.sqla.fields import InlineModelFormList, QuerySelectField
from flask_admin.model.fields import AjaxSelectField
from flask_login import login_user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Date, DateTime, Integer, Numeric, String, inspect, text
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    FileField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import Length

from app.extensions import db
from app.validators import credit_code_check_char, resident_id_check_char
from schema import REGISTRY
from schema.spec import ROLES

from . import factories
from .security_figures import record, scaled

pytestmark = pytest.mark.security

FUZZ = settings(max_examples=scaled(5), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
"""Five examples per target (a form, a confirm page, a view's batch actions, an endpoint; ~200 of them)
under `make test`, about a minute of CPU on SQLite; fifty each under `make test-security`."""

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
GENERIC = {"创建记录失败。", "保存记录失败。"}
"""Flask-Admin's own flash on any invalid form: it names no reason, so it does not count as one."""
INTERNALS = re.compile(r"sqlite3|psycopg|Traceback|\(Background on this error|[A-Za-z]+Error\b|"
                       r"Not a valid|This field is required|Invalid Choice|^(创建|保存|更新|删除)记录失败。\S")
"""Raw exception or stock English validation text in a message (Flask-Admin appends str(exception) to its
"创建记录失败。" when a save raises): the refusal is not the app's own."""
ENDPOINTS = [m.__tablename__ for m in REGISTRY]
FIGURES = {"forms": 0, "actions": 0, "endpoints": 0, "examples": 0, "inputs": 0, "accepted": 0, "refused": 0}


# -- generated values -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """An existing record of `table` in the current dataset; its id is looked up when posted."""

    table: str


@dataclass(frozen=True)
class Version:
    """The edited record's row_version plus `delta` (0 current, -1 stale)."""

    delta: int


@dataclass(frozen=True)
class Upload:
    """A file part: (content, filename)."""

    content: bytes
    filename: str


@dataclass
class Spec:
    """One input of a form: its posted name, kind, limits, choices and what it refers to."""

    name: str
    kind: str
    column: str | None = None
    max_len: int | None = None
    choices: tuple = ()
    target: str | None = None
    check: str | None = None
    sub: list = field(default_factory=list)


@st.composite
def resident_ids(draw):
    """18-digit resident IDs with a real region, birth date and check digit (app/validators.py)."""
    born = draw(st.dates(date(1940, 1, 1), date(2005, 12, 31)))
    body = f"{draw(st.sampled_from(['440305', '110101', '310104']))}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return body + resident_id_check_char(body)


@st.composite
def credit_codes(draw):
    """Unified social credit codes with their GB 32100 check character."""
    body = "91440300" + draw(st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
    return body + credit_code_check_char(body)


PHONES = st.one_of(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.just("0755-26881234"))
HOSTILE_TEXT = [
    "", " ", "\t\n ", "\x00", "a\x00b", "<script>alert(1)</script>", "' OR '1'='1' --", "{{7*7}}", "%s%n",
    "\u202e反向", "😀𠀀𝔘", "__None", "null", "字" * 100_000, "a" * 100_000,
]
HOSTILE_NUMBERS = [
    "", " ", "-1", "-0.01", "0", "1e309", "-1e309", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e-30",
    "99999999999999999999", "2147483648", "-2147483649", "9223372036854775808", "12345678901.23", "1.005",
    "1,000", "abc", "0x10", "١٢٣", "1_000", "--1", "+5", " 7 ", "1E+5",
]
HOSTILE_DATES = ["", " ", "2026-02-30", "0000-00-00", "99999-01-01", "0001-01-01", "9999-12-31", "2026-13-01",
                 "2026/11/27", "26-11-27", "today", "1899-12-31", "2026-11-27T10:00", "2026-11-27 10:00:00"]
HOSTILE_DATETIMES = ["", " ", "2026-02-30 10:00:00", "0000-00-00 00:00:00", "99999-01-01 00:00:00",
                     "0001-01-01 00:00:00", "9999-12-31 23:59:59", "2026-11-27 25:61:00", "2026-11-27",
                     "2026-11-27T10:00", "now", "1899-12-31 23:59:59"]
HOSTILE_IDS = ["", " ", "0", "-1", "2147483648", "99999999999999999999", "abc", "1.5", "__None", "1 OR 1=1",
               "9999"]
HOSTILE_CHOICES = ["", "zzz", "__None", "VOID", " paid", "已作废", "0"]
HOSTILE_VERSIONS = [Version(-1), Version(1), "", "abc", "-1", "99999999999999999999", "1.0"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HOSTILE_FILES = [Upload(b"", "empty.pdf"), Upload(b"MZ\x90\x00" * 64, "setup.exe"), Upload(PDF, "../../etc/passwd"),
                 Upload(b"<svg onload=alert(1)>", "x.svg"), Upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300_000, "大.png")]


def valid_values(spec: Spec):
    """Values a clerk could type into this input."""
    kind = spec.kind
    if kind == "text":
        if spec.check == "check_phone":
            return PHONES
        if spec.check == "check_resident_id" or spec.name.endswith("id_number"):
            return st.one_of(resident_ids(), credit_codes()) if spec.name == "id_number" else resident_ids()
        if spec.check in ("check_positive", "check_not_negative"):
            return st.decimals(1, 9999, places=2).map(str)
        size = min(spec.max_len or 12, 12)
        return st.text(st.characters(categories=("Lo", "Lu", "Ll", "Nd")), min_size=1, max_size=size)
    if kind == "password":
        return st.text(st.characters(categories=("Lu", "Ll", "Nd")), min_size=8, max_size=20)
    if kind == "int":
        return st.integers(1, 300).map(str)
    if kind == "decimal":
        return st.decimals(Decimal("0.01"), Decimal(99999), places=2).map(str)
    if kind == "date":
        return st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(date.isoformat)
    if kind == "datetime":
        return st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)).map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"))
    if kind == "local":
        return st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))
    if kind == "bool":
        return st.sampled_from(["y", None])
    if kind == "choice":
        return st.sampled_from(spec.choices or ("",))
    if kind == "relation":
        return st.just(Ref(spec.target))
    if kind == "version":
        return st.just(Version(0))
    if kind == "file":
        return st.sampled_from([Upload(PDF, "合同.pdf"), None])
    if kind == "ids":
        return st.just(Ref(spec.target))
    raise AssertionError(kind)


def hostile_values(spec: Spec):
    """Values no form would send: empty, malformed, out of range, unknown codes, huge, repeated."""
    kind = spec.kind
    base = {"text": HOSTILE_TEXT, "password": HOSTILE_TEXT, "int": HOSTILE_NUMBERS, "decimal": HOSTILE_NUMBERS,
            "date": HOSTILE_DATES, "datetime": HOSTILE_DATETIMES, "local": HOSTILE_DATETIMES + HOSTILE_DATES,
            "bool": ["0", "false", "\x00", "是"], "choice": HOSTILE_CHOICES, "relation": HOSTILE_IDS,
            "version": HOSTILE_VERSIONS, "file": HOSTILE_FILES, "ids": HOSTILE_IDS + ["1,,2", ",", "1,abc"]}[kind]
    over = [st.text(min_size=1, max_size=30)]
    if spec.max_len:
        over.append(st.just("长" * (spec.max_len + 1)))
    return st.one_of(st.sampled_from(base), *over) if kind in ("text", "password") else st.sampled_from(base)


@st.composite
def form_data(draw, specs: list[Spec], extras: tuple = ()):
    """[(name, value)] for a form: every input valid, one input hostile, or each input at random;
    sometimes a key repeated (a list where a scalar is expected) and keys the form does not have."""
    mode = draw(st.sampled_from(["valid", "valid", "one", "any"]))
    bad = draw(st.sampled_from([s.name for s in specs])) if specs and mode == "one" else None
    pairs = []
    for spec in specs:
        if spec.kind == "inline":
            for i in range(draw(st.integers(0 if mode == "any" else 1, 2))):
                sub = [Spec(**{**s.__dict__, "name": f"{spec.name}-{i}-{s.name}"}) for s in spec.sub if s.name != "id"]
                pairs += draw(form_data(sub))
                if mode == "any" and draw(st.booleans()):
                    pairs.append((f"{spec.name}-{i}-id", draw(st.sampled_from(HOSTILE_IDS + [Ref(spec.target)]))))
            continue
        hostile = spec.name == bad or (mode == "any" and draw(st.booleans()))
        if hostile and draw(st.integers(0, 5)) == 0:
            continue  # left out of the post altogether
        value = draw(hostile_values(spec) if hostile else valid_values(spec))
        if value is None:
            continue
        pairs.append((spec.name, value))
        if hostile and draw(st.integers(0, 4)) == 0:  # the same key again: a list instead of a scalar
            pairs.append((spec.name, draw(hostile_values(spec))))
    if mode == "any" and extras:
        for name in draw(st.lists(st.sampled_from(extras), max_size=3, unique=True)):
            pairs.append((name, "987654" if name == "id" else "HACKED"))
    return pairs


# -- reading the forms off the views ---------------------------------------------------------------------
def _kind(f) -> str | None:
    for cls, kind in ((InlineModelFormList, "inline"), (FileField, "file"), (BooleanField, "bool"),
                      (HiddenField, "version"), (PasswordField, "password"), (DecimalField, "decimal"),
                      (IntegerField, "int"), (DateField, "date"), (DateTimeField, "datetime"),
                      (QuerySelectField, "relation"), (AjaxSelectField, "relation"), (SelectField, "choice"),
                      (StringField, "text")):
        if isinstance(f, cls):
            return kind
    return None


def specs_of(form, model) -> list[Spec]:
    """The inputs of a WTForms form as the view built it: kind, length limit, choices, related table."""
    mapper = inspect(model)
    out = []
    for f in form:
        kind = _kind(f)
        if kind is None or f.short_name == "csrf_token":
            continue
        spec = Spec(f.short_name, kind, column=f.short_name if f.short_name in mapper.column_attrs else None)
        spec.max_len = next((v.max for v in f.validators if isinstance(v, Length) and v.max > 0), None)
        spec.check = next((v.check.__name__ for v in f.validators if hasattr(v, "check")), None)
        if kind == "choice":
            spec.choices = tuple(str(c[0]) for c in f.choices or ())
        if kind == "relation" or kind == "inline":
            rel = mapper.relationships[f.short_name]
            spec.target = rel.mapper.class_.__tablename__
            spec.column = f.short_name if rel.direction.name == "MANYTOONE" else None
        if kind == "inline":
            entry = f.entries[0] if f.entries else f.append_entry()
            spec.sub = specs_of(entry.form, mapper.relationships[f.short_name].mapper.class_)
        out.append(spec)
    return out


def extras_of(model, specs) -> tuple:
    """Columns the form does not offer: posting them must not set them (no mass assignment)."""
    names = {s.name for s in specs}
    return tuple(c.key for c in inspect(model).column_attrs if c.key not in names and c.key != "password_hash")


def confirm_specs(fields: list[dict], reason: bool) -> list[Spec]:
    kinds = {"select": "choice", "textarea": "text", "text": "text", "number": "decimal", "date": "date",
             "datetime-local": "local"}
    out = [Spec(f["name"], kinds[f.get("type") or "text"],
                choices=tuple(str(v) for v, _label in f.get("options") or ())) for f in fields]
    return out + ([Spec("reason", "text")] if reason else [])


# -- the harness ---------------------------------------------------------------------------------------------
def _texts(fragments) -> list[str]:
    """The visible text of HTML fragments (tags, entities and the alerts' close button dropped)."""
    texts = (" ".join(unescape(re.sub(r"<[^>]+>", " ", f)).replace("×", " ").split()) for f in fragments)
    return [t for t in texts if t]


ERROR_HTML = re.compile(
    r'<div class="invalid-feedback">(.*?)</div>|<div class="alert alert-danger[^"]*"[^>]*>(.*?)</div>'
    r'|<div class="text-danger small">(.*?)</div>|<div class="alert alert-warning"><h4>(.*?)</div>', re.DOTALL)


class Fuzzer:
    """The logged-in admin's client, the dataset, snapshots and the verdict on each example."""

    def __init__(self, app, browser):
        from schema.org import AppUser

        self.app, self.b = app, browser
        with app.app_context():
            stored = [c for c in AppUser.__table__.c if c.computed is None]
            self.users = [dict(r._mapping) for r in db.session.execute(db.select(*stored))]
            self.admin_id = next(u["id"] for u in self.users if u["username"] == "admin")
            self.tables = [t for t in db.metadata.sorted_tables]
        self.ids = {}
        self.rows = None
        self.dirty = True
        cells = []
        for t in self.tables:
            cells.append(f"(SELECT count(*) FROM {t.name})")
            if "version" in t.c:
                cells.append(f"(SELECT coalesce(sum(version), 0) FROM {t.name})")
            if "id" in t.c:
                cells.append(f"(SELECT coalesce(max(id), 0) FROM {t.name})")
        self.snapshot_sql = text("SELECT " + ", ".join(cells))

    # data
    def fresh(self):
        """Back to the one_of_each dataset (and the users as the fixture made them) when the last target
        wrote: built through the factories once, then restored row by row from a copy (~30 ms)."""
        if not self.dirty:
            return
        from schema.org import AppUser

        with self.app.app_context():
            users = AppUser.__table__
            db.session.execute(users.update().values(department_id=None))  # users point at departments
            for table in reversed(self.tables):
                if table.name != "app_user":
                    db.session.execute(table.delete())
            db.session.execute(users.delete())  # everything that refers to a user is gone by now
            db.session.execute(users.insert(), self.users)
            if self.rows is None:
                db.session.commit()
                self.ids = factories.one_of_each()
                self.ids["app_user"] = next(u["id"] for u in self.users if u["username"] == "frontdesk")
                self.rows = {t.name: [dict(r._mapping) for r in db.session.execute(
                    t.select().with_only_columns(*(c for c in t.c if c.computed is None)))]
                    for t in self.tables if t.name != "app_user"}
            else:
                for table in self.tables:
                    if self.rows.get(table.name):
                        db.session.execute(table.insert(), self.rows[table.name])
                if db.engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
                    for table in self.tables:
                        if "id" in table.c and table.c.id.autoincrement is not False:
                            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                                    f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"))
            db.session.commit()
            db.session.remove()
        self.dirty = False

    def snapshot(self) -> tuple:
        with self.app.app_context():
            row = tuple(db.session.execute(self.snapshot_sql).one())
            db.session.remove()
            return row

    def counts(self, snap) -> dict:
        out, i = {}, 0
        for t in self.tables:
            out[t.name] = snap[i]
            i += 1 + ("version" in t.c) + ("id" in t.c)
        return out

    def changed(self, before, after) -> list[str]:
        """Tables whose count, version sum or top id differ between two snapshots."""
        out, i = [], 0
        for t in self.tables:
            width = 1 + ("version" in t.c) + ("id" in t.c)
            if before[i:i + width] != after[i:i + width]:
                out.append(t.name)
            i += width
        return out

    def version(self, table, record_id):
        with self.app.app_context():
            v = db.session.execute(text(f"SELECT version FROM {table} WHERE id = :id"), {"id": record_id}).scalar()
            db.session.remove()
            return v

    def resolve(self, value, table=None, record_id=None):
        if isinstance(value, Ref):
            return str(self.ids.get(value.table, 987654))
        if isinstance(value, Version):
            if table is None:  # a create form's row_version is empty
                return ""
            return str((self.version(table, record_id) or 0) + value.delta)
        if isinstance(value, Upload):
            return (io.BytesIO(value.content), value.filename)
        return value

    # requests
    def post(self, url, pairs, table=None, record_id=None):
        data = MultiDict([(k, self.resolve(v, table, record_id)) for k, v in pairs])
        data.add("csrf_token", self.b.token)
        FIGURES["inputs"] += len(pairs)
        FIGURES["examples"] += 1
        return self.b.client.post(url, data=data, buffered=True)

    def flashes(self) -> list[tuple[str, str]]:
        with self.b.client.session_transaction() as sess:
            return [(c, str(m)) for c, m in sess.pop("_flashes", [])]

    def judge(self, resp, before, what, check_accepted=None, done=None, bookkeeping=()):
        """The verdict on one example: no 500; a refusal names its reason in Chinese and wrote nothing;
        anything written was audited, and an accepted create/edit wrote what was posted. `done` marks
        a page that reports success itself (the import's streamed result) instead of redirecting;
        `bookkeeping` names tables the endpoint writes whatever the outcome (failed logins)."""
        status = resp.status_code
        assert status < 500, f"{what}: HTTP {status}"
        leftover = self.flashes()
        after = self.snapshot()
        wrote = bool(set(self.changed(before, after)) - set(bookkeeping))
        flashed_errors = [m for c, m in leftover if c in ("error", "danger")]
        html = resp.get_data(as_text=True) if resp.mimetype == "text/html" else ""
        redirect = status in (301, 302, 303) or bool(done and done in html)
        if redirect and (wrote or not flashed_errors):
            if wrote:
                grown = self.counts(after)["audit_log"] - self.counts(before)["audit_log"]
                assert grown > 0, f"{what}: wrote without an audit row"
                self.dirty = True
            if check_accepted:
                check_accepted(before, after)
            FIGURES["accepted"] += 1
            return "accepted"
        found = _texts(x for m in ERROR_HTML.findall(html) for x in m if x) + flashed_errors
        reasons = [m for m in found if m not in GENERIC]
        assert not wrote, f"{what}: refused ({reasons or status}) but wrote {self.changed(before, after)}"
        assert reasons, f"{what}: refused (HTTP {status}) without saying why"
        for message in reasons:
            assert CJK.search(message), f"{what}: refusal not in Chinese: {message!r}"
            assert not INTERNALS.search(message), f"{what}: refusal shows internals: {message[:300]!r}"
        FIGURES["refused"] += 1
        return "refused"


@pytest.fixture
def fuzzer(app, login):
    return Fuzzer(app, login("admin"))


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    if FIGURES["examples"]:
        record("fuzz", **FIGURES)


def _view(app, endpoint):
    return next(v for v in app.extensions["propdesk_admin"]._views if v.endpoint == endpoint)


def _in_request(fz, url):
    """A request context as the logged-in admin, to build forms and confirm fields the way the view does."""
    from schema.org import AppUser

    ctx = fz.app.test_request_context(url)
    ctx.push()
    login_user(db.session.get(AppUser, fz.admin_id))
    return ctx


# -- the targets of one view ---------------------------------------------------------------------------------
def _row(fz, table, record_id) -> dict | None:
    with fz.app.app_context():
        row = db.session.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": record_id}).mappings().first()
        db.session.remove()
        return dict(row) if row else None


def _stored_matches(model, column, stored, posted) -> bool:
    """Does the stored value hold what a valid input said (after the parsing the field does)?"""
    col = model.__table__.c[column]
    if posted in ("", "__None"):
        return True
    try:
        if isinstance(col.type, Numeric):
            step = Decimal(1).scaleb(-(col.type.scale or 0))
            return stored is not None and Decimal(str(stored)).quantize(step) == Decimal(posted).quantize(step)
        if isinstance(col.type, Integer):
            return stored == int(posted)
        if isinstance(col.type, DateTime):
            return stored is not None and str(stored)[:16] == posted.replace("T", " ")[:16]
        if isinstance(col.type, Date):
            return str(stored) == posted
    except (InvalidOperation, ValueError):
        return True
    return stored is not None and str(stored).strip().upper() == str(posted).strip().upper()


DERIVED = {("dept_check", "slip_kind"): "a passed check raises no slip, so its slip fields are dropped",
           ("dept_check", "deadline"): "the same"}
"""Inputs a domain rule may legitimately store differently from what was posted, and why."""


def _check_row(fz, model, record_id, pairs, specs, extras, what):
    """The record holds each single valid value posted, none of the extra keys, and fits its columns."""
    table = model.__tablename__
    row = _row(fz, table, record_id)
    assert row is not None, f"{what}: accepted but record {record_id} is missing"
    posted = MultiDict(pairs)
    by_name = {s.name: s for s in specs}
    for name in posted:
        spec = by_name.get(name)
        values = posted.getlist(name)
        if spec is None or spec.column is None or len(values) != 1 or spec.kind in ("bool", "version", "file"):
            continue
        value = fz.resolve(values[0])
        column = spec.column if spec.kind != "relation" else next(iter(
            inspect(model).relationships[spec.column].local_columns)).key
        if (table, name) in DERIVED:
            continue
        if spec.kind == "relation":
            assert value in ("", "__None") or str(row[column]) == value, \
                f"{what}: {name} stored {row[column]!r}, posted {value!r}"
        elif valid_input(spec, value):
            assert _stored_matches(model, column, row[column], value), \
                f"{what}: {name} stored {row[column]!r}, posted {value!r}"
    for name in extras:
        if name in posted and name in row:
            assert str(row[name]) != posted[name], f"{what}: {name} was set from a key the form does not offer"
    for column in model.__table__.c:
        value = row[column.key]
        if isinstance(column.type, String) and column.type.length and isinstance(value, str):
            assert len(value) <= column.type.length, \
                f"{what}: {column.key} holds {len(value)} chars > {column.type.length}"


def valid_input(spec, value) -> bool:
    """Is `value` one a clerk could have typed (so it must be stored as posted)?"""
    if not isinstance(value, str) or value.strip() != value or not value:
        return False
    if spec.kind == "text":
        return bool(value) and not any(ord(c) < 32 for c in value) and len(value) <= (spec.max_len or 10 ** 9)
    return True


def fuzz_create(fz, view):
    model = view.model
    ctx = _in_request(fz, f"/admin/{view.endpoint}/new/")
    try:
        specs = specs_of(view.create_form(), model)
    finally:
        ctx.pop()
    extras = extras_of(model, specs)
    table = model.__tablename__
    fz.fresh()
    FIGURES["forms"] += 1

    @FUZZ
    @given(form_data(specs, extras))
    def run(pairs):
        before = fz.snapshot()
        what = f"create {table} {pairs!r}"[:2000]

        def accepted(before, after):
            b, a = fz.counts(before), fz.counts(after)
            assert a[table] == b[table] + 1, f"{what}: {a[table] - b[table]} {table} rows written"
            with fz.app.app_context():
                new_id = db.session.execute(text(f"SELECT max(id) FROM {table}")).scalar()
                audited = db.session.execute(text(
                    "SELECT count(*) FROM audit_log WHERE table_name = :t AND record_id = :r AND operation = '新增'"),
                    {"t": table, "r": new_id}).scalar()
                db.session.remove()
            assert audited == 1, f"{what}: new {table} #{new_id} has {audited} insert audit rows"
            _check_row(fz, model, new_id, pairs, specs, extras, what)
            for spec in specs:
                if spec.kind == "inline":  # one child row per posted line, no more, no less
                    lines = {k.split("-")[1] for k, _v in pairs if k.startswith(f"{spec.name}-")}
                    grown = a[spec.target] - b[spec.target]
                    assert grown == len(lines), f"{what}: {len(lines)} {spec.name} lines posted, {grown} stored"

        fz.judge(fz.post(f"/admin/{view.endpoint}/new/", pairs), before, what, accepted)

    run()


def fuzz_edit(fz, view):
    model = view.model
    table = model.__tablename__
    fz.fresh()
    record_id = fz.ids[table]
    ctx = _in_request(fz, f"/admin/{view.endpoint}/edit/?id={record_id}")
    try:
        specs = specs_of(view.edit_form(obj=view.get_one(str(record_id))), model)
    finally:
        ctx.pop()
    extras = extras_of(model, specs)
    FIGURES["forms"] += 1

    @FUZZ
    @given(form_data(specs, extras), st.sampled_from([[], [("_continue_editing", "保存并继续编辑")]]))
    def run(pairs, button):
        pairs = pairs + button
        before = fz.snapshot()
        what = f"edit {table} #{record_id} {pairs!r}"[:2000]
        version = fz.version(table, record_id)

        def accepted(before, after):
            b, a = fz.counts(before), fz.counts(after)
            assert a[table] == b[table], f"{what}: the edit changed the number of {table} rows"
            if fz.version(table, record_id) != version:
                with fz.app.app_context():
                    audited = db.session.execute(text(
                        "SELECT count(*) FROM audit_log WHERE table_name = :t AND record_id = :r AND operation = '修改'"),
                        {"t": table, "r": record_id}).scalar()
                    db.session.remove()
                assert audited >= 1, f"{what}: edited without an update audit row"
            _check_row(fz, model, record_id, pairs, specs, extras, what)

        fz.judge(fz.post(f"/admin/{view.endpoint}/edit/?id={record_id}", pairs, table, record_id), before,
                 what, accepted)

    run()


def _make_applicable(fz, view, name):
    """Put the dataset's record in a status the action applies to (a work order must be in progress to
    be completed), so examples reach the rule behind the form and not only the status check."""
    record = view.get_one(str(fz.ids[view.model.__tablename__]))
    status = inspect(view.model).column_attrs.get("status")
    choices = status is not None and status.columns[0].info.get("choices")
    if view.action_applies(name, record) or not choices:
        return
    for code, _label in choices.choices():
        record.status = code
        if view.action_applies(name, record):
            db.session.commit()
            fz.dirty = True
            return
    db.session.rollback()


def fuzz_confirm(fz, view, name):
    title, _method, *rest = view.confirm_actions[name]
    table = view.model.__tablename__
    fz.fresh()
    ctx = _in_request(fz, f"/admin/{view.endpoint}/confirm/{name}/?ids={fz.ids[table]}")
    try:
        _make_applicable(fz, view, name)
        specs = confirm_specs(view.confirm_fields(name), rest[0] if rest else True)
    finally:
        ctx.pop()
    specs.append(Spec("ids", "ids", target=table))
    FIGURES["actions"] += 1

    @FUZZ
    @given(form_data(specs))
    def run(pairs):
        before = fz.snapshot()
        fz.judge(fz.post(f"/admin/{view.endpoint}/confirm/{name}/", pairs), before,
                 f"confirm {table}.{name} ({title}) {pairs!r}"[:2000])

    run()


def fuzz_batch(fz, view):
    """POST /action/: every action this view lists, with row ids valid and not, or all filtered rows."""
    table = view.model.__tablename__
    fz.fresh()
    ctx = _in_request(fz, f"/admin/{view.endpoint}/")
    try:
        names = tuple(n for n, _label in view._actions if view.is_action_allowed(n))
    finally:
        ctx.pop()
    if not names:
        return
    FIGURES["actions"] += len(names)
    specs = [Spec("action", "choice", choices=names), Spec("rowid", "relation", target=table)]

    @FUZZ
    @given(form_data(specs), st.lists(st.sampled_from([Ref(table)] + HOSTILE_IDS), max_size=2),
           st.sampled_from([None, None, "1"]))
    def run(pairs, more_ids, everything):
        pairs = pairs + [("rowid", v) for v in more_ids] + ([("all_filtered", everything)] if everything else [])
        before = fz.snapshot()
        fz.judge(fz.post(f"/admin/{view.endpoint}/action/", pairs), before, f"action {table} {pairs!r}"[:2000])

    run()


def fuzz_delete(fz, view):
    table = view.model.__tablename__
    fz.fresh()
    FIGURES["forms"] += 1
    specs = [Spec("id", "relation", target=table), Spec("confirm", "choice", choices=("1",))]

    @FUZZ
    @given(form_data(specs))
    def run(pairs):
        before = fz.snapshot()
        fz.judge(fz.post(f"/admin/{view.endpoint}/delete/", pairs), before, f"delete {table} {pairs!r}"[:2000])

    run()


def fuzz_ajax_update(fz, view):
    """List-editing is off everywhere: the route refuses any post without touching data."""
    table = view.model.__tablename__
    specs = [Spec("list_form_pk", "relation", target=table), Spec("name", "text", column="name")]

    @FUZZ
    @given(form_data(specs))
    def run(pairs):
        before = fz.snapshot()
        fz.judge(fz.post(f"/admin/{view.endpoint}/ajax/update/", pairs), before, f"ajax_update {table} {pairs!r}")

    run()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_fuzz_view(app, fuzzer, endpoint):
    """Create and edit forms, confirm pages, batch actions and the delete page of one registered view."""
    view = _view(app, endpoint)
    spec = view.spec
    if "admin" in spec.roles.create:
        fuzz_create(fuzzer, view)
    if "admin" in spec.roles.edit:
        fuzz_edit(fuzzer, view)
    for name in view.confirm_actions:
        if "admin" in spec.actions.get(name, ()):
            fuzz_confirm(fuzzer, view, name)
    fuzz_batch(fuzzer, view)
    if "admin" in spec.roles.delete:
        fuzz_delete(fuzzer, view)
    if "admin" in spec.roles.edit:
        fuzz_ajax_update(fuzzer, view)
    for fuzz in HAND_WRITTEN.get(endpoint, {}).values():
        fuzz(fuzzer, view)


# -- hand-written POST endpoints -------------------------------------------------------------------------------
def fuzz_bill(fz, view):
    """月度计费: a month and an optional building."""
    fz.fresh()
    FIGURES["endpoints"] += 1
    specs = [Spec("month", "choice", choices=("2026-11", "2026-01", "2025-12")),
             Spec("building_id", "relation", target="building")]

    @FUZZ
    @given(form_data(specs), st.sampled_from(["", "9999-99", "2026-1", "202611", "0000-00", "2026-11-01", "十一月"]))
    def run(pairs, month):
        pairs = pairs + ([("month", month)] if month and not any(k == "month" for k, _v in pairs) else [])
        before = fz.snapshot()
        fz.judge(fz.post("/admin/charge/bill/", pairs), before, f"bill {pairs!r}")

    run()


def fuzz_inspection_items(fz, view):
    """逐项登记: a verdict and a description per checklist item."""
    fz.fresh()
    FIGURES["endpoints"] += 1
    with fz.app.app_context():
        items = [i for (i,) in db.session.execute(text("SELECT id FROM inspection_item WHERE inspection_id = :i"),
                                                  {"i": fz.ids["inspection"]})]
        db.session.remove()
    specs = [s for i in items for s in (Spec(f"passed_{i}", "choice", choices=("1", "0")),
                                        Spec(f"desc_{i}", "text", max_len=200))]

    @FUZZ
    @given(form_data(specs), st.sampled_from([Ref("inspection")] + HOSTILE_IDS))
    def run(pairs, record):
        before = fz.snapshot()
        url = f"/admin/inspection/items/?id={fz.resolve(record)}"
        fz.judge(fz.post(url, pairs), before, f"items {url} {pairs!r}")

    run()


def fuzz_save_view(fz, view):
    """保存视图: a list endpoint, its query string, a name and a role to share with."""
    fz.fresh()
    FIGURES["endpoints"] += 1
    specs = [Spec("endpoint", "choice", choices=("work_order", "unit", "charge")),
             Spec("query", "choice", choices=("flt0_status_equals=done", "search=张", "")),
             Spec("name", "text", max_len=100), Spec("shared_role", "choice", choices=("",) + ROLES)]

    @FUZZ
    @given(form_data(specs))
    def run(pairs):
        before = fz.snapshot()
        fz.judge(fz.post("/admin/saved_view/save/", pairs), before, f"save_view {pairs!r}")

    run()


HAND_WRITTEN = {"charge": {"bill_view": fuzz_bill}, "inspection": {"items_view": fuzz_inspection_items},
                "saved_view": {"save_view": fuzz_save_view}}
"""Exposed POST routes a view adds beyond Flask-Admin's, by endpoint, and how each is fuzzed."""


CELLS = st.one_of(st.sampled_from(HOSTILE_TEXT[:13] + HOSTILE_NUMBERS + HOSTILE_DATES),
                  st.sampled_from([None, -1, 0, 10 ** 20, 1.5, -0.01, datetime(1900, 1, 1), datetime(9999, 12, 31)]),
                  st.text(max_size=30))


@st.composite
def workbooks(draw, templates: dict):
    """An upload for the import: a kind's own template (its example row is valid), the template with
    cells replaced or its row repeated, or a file that is no workbook at all."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    kind = draw(st.sampled_from(sorted(templates)))
    mode = draw(st.sampled_from(["template", "cells", "cells", "garbage"]))
    if mode == "garbage":
        return [("kind", kind), ("file", draw(st.sampled_from(HOSTILE_FILES)))]
    book = openpyxl.load_workbook(io.BytesIO(templates[kind]))
    sheet = book.worksheets[0]
    if mode == "cells":
        for column in range(1, sheet.max_column + 1):
            if draw(st.integers(0, 2)) == 0:
                value = draw(CELLS)
                sheet.cell(2, column).value = ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
        for row in range(3, 3 + draw(st.integers(0, 2))):
            for column in range(1, sheet.max_column + 1):
                sheet.cell(row, column).value = sheet.cell(2, column).value
    out = io.BytesIO()
    book.save(out)
    kinds = [kind] if draw(st.integers(0, 5)) else [draw(st.sampled_from(HOSTILE_CHOICES))]
    return [("kind", k) for k in kinds] + [("file", Upload(out.getvalue(), "导入.xlsx"))]


def test_fuzz_import(app, fuzzer):
    """数据导入: upload templates with fuzzed cells (and files that are not workbooks), commit what passes."""
    from app.importing import KINDS, template_xlsx

    fuzzer.fresh()
    FIGURES["endpoints"] += 2
    with app.app_context():
        templates = {kind: template_xlsx(kind) for kind in KINDS}

    @FUZZ
    @given(workbooks(templates))
    def run(pairs):
        before = fuzzer.snapshot()
        what = f"import upload {pairs!r}"[:600]
        if fuzzer.judge(fuzzer.post("/admin/import/upload/", pairs), before, what) == "accepted":
            before = fuzzer.snapshot()
            fuzzer.judge(fuzzer.post("/admin/import/commit/", []), before, f"import commit of {what}",
                         done='id="import-done"')

    run()


def test_fuzz_login(app, users):
    """/login takes any username and password without a 500; wrong ones are refused in Chinese."""
    from .conftest import PASSWORD, Browser

    FIGURES["endpoints"] += 2
    fz = Fuzzer(app, Browser(app))
    fz.b.get("/login")
    specs = [Spec("username", "choice", choices=ROLES), Spec("password", "choice", choices=(PASSWORD, "wrong-pass"))]

    @FUZZ
    @given(form_data(specs))
    def run(pairs):
        fz.b.get("/login")  # a fresh CSRF token: logging in and out clears the session
        before = fz.snapshot()
        resp = fz.post("/login", pairs)
        posted = MultiDict(pairs)
        good = posted.get("username") in ROLES and posted.get("password") == PASSWORD
        assert (resp.status_code == 302) == good or resp.status_code == 429, f"login {pairs!r}: HTTP {resp.status_code}"
        if not good:
            fz.judge(resp, before, f"login {pairs!r}", bookkeeping=("login_attempt",))
            return
        fz.flashes()
        fz.b.get("/admin/")
        fz.judge(fz.post("/logout", []), fz.snapshot(), "logout", bookkeeping=("app_user", "login_attempt"))

    run()


def test_every_post_route_is_fuzzed(app):
    """Each POST route of each Admin view is one of the targets above, so none escapes the fuzzer."""
    covered = {"create_view", "edit_view", "delete_view", "action_view", "confirm_view", "ajax_update"}
    seen = set()
    for view in app.extensions["propdesk_admin"]._views:
        for _url, name, methods in getattr(view, "_urls", ()):
            if "POST" not in (methods or ()):
                continue
            seen.add((view.endpoint, name))
            if view.endpoint == "import":
                assert name in ("upload", "commit"), f"import.{name}: a POST route no fuzz target covers"
            else:
                assert view.endpoint in ENDPOINTS, f"{view.endpoint}.{name}: a POST route of a view the fuzzer skips"
                assert name in covered or name in HAND_WRITTEN.get(view.endpoint, {}), \
                    f"{view.endpoint}.{name}: a POST route no fuzz target covers"
    assert {("charge", "bill_view"), ("inspection", "items_view"), ("saved_view", "save_view"),
            ("import", "upload"), ("unit", "create_view")} <= seen
    assert {(e, r) for e, routes in HAND_WRITTEN.items() for r in routes} <= seen, "HAND_WRITTEN names a route gone"
