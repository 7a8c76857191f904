"""Injection and escaping payloads: markup, template, SQL, spreadsheet-formula and odd-Unicode text saved into
every free-text field — through the ORM for every registered entity, and through the real create/edit forms
for a sample — then read back on every page that shows it: lists (also as the search term and as a filter
value), details, edit forms, print views, the dashboard, 一户一档, global search and the reports; and in the
xlsx/csv exports.

A page passes when it answers below 500 and no payload reaches the HTML as markup (html.parser finds no
injected <script>, no event-handler attribute and no javascript: link carrying a payload, and template
syntax stays text); an export passes when no cell is a formula or starts like one.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import openpyxl
import pytest
from sqlalchemy import String, Text, event, func, inspect, select

from admin_views.export import DANGEROUS
from app.extensions import db
from schema import REGISTRY
from schema.org import AppUser, AuditLog
from schema.spec import info_of, search_kinds

from . import factories
from .security_figures import record, scaled

pytestmark = pytest.mark.security

PAYLOADS = [
    ("script", "<script>window.__xss=1</script>"),
    ("img_onerror", '"><img src=x onerror="window.__xss=1">'),
    ("attr_break", "' onmouseover='window.__xss=1"),
    ("js_url", "javascript:window.__xss=1"),
    ("svg_onload", "<svg onload=window.__xss=1>"),
    ("jinja_expr", "{{7*7}}"),
    ("jinja_config", "{{config}}"),
    ("jinja_block", "{% for x in 'AB' %}SSTI-{{ x }}{% endfor %}{{ 7*'7' }}"),
    ("sql_drop", "'; DROP TABLE unit;--"),
    ("sql_or", '" OR 1=1 --'),
    ("percent", "%"),
    ("underscore", "_"),
    ("backslash", "\\"),
    ("formula_eq", "=1+1"),
    ("formula_plus", "+1+1"),
    ("formula_minus", "-1+1"),
    ("formula_at", "@SUM(A1)"),
    ("formula_link", '=HYPERLINK("http://x","y")'),
    ("formula_tab", "\t=1+1"),
    ("formula_cr", "\r=1+1"),
    ("rtl", "\u202egpj.exe"),
    ("long", "长文本" * 3334),
    ("nul", "a\x00b"),
    ("emoji", "😀👨\u200d👩\u200d👧"),
    ("rare_cjk", "𠀀𪚥𰻞"),
    ("combining", "e\u0301\u0302\u0303 Z\u0336\u0335"),
]
"""(name, text): every payload goes into every free-text field of every entity."""
TEXT = dict(PAYLOADS)
MARKUP = ("script", "img_onerror", "attr_break", "js_url", "svg_onload", "jinja_config", "jinja_block")
"""Payloads that would become markup or template output. Every payload is on the list pages, in the global
search and in the exports; the records of two (<, >, " and ' between them) also have their details, edit and
print pages rendered under `make test`, the others' join under make test-security."""
SQL_META = ("sql_drop", "sql_or", "percent", "underscore", "backslash")
CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?$")

FIGURES = {"renders": 0, "exports": 0, "posts": 0}
"""Counted across this module's tests; the last test records them."""


# -- what a page may not contain ---------------------------------------------------------------------------
class _Markup(HTMLParser):
    """Collects markup a payload would have produced: a <script> whose code is the payload, an event-handler
    attribute or a javascript: URL carrying it."""

    URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self._script = [], False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and "__xss" in value:
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
            if name in self.URL_ATTRS and "__xss" in value and \
                    re.sub(r"[\x00-\x20]", "", value).lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
        self._script = tag == "script"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script and data.lstrip().startswith("window.__xss"):
            self.problems.append(f"<script>{data[:60]!r}")


def markup_problems(html: str, secret: str) -> list[str]:
    """What in `html` a payload turned into markup or template output."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    problems = parser.problems
    for raw in ("<script>window.__xss", 'onerror="window.__xss', "<svg onload=", "onmouseover='window.__xss"):
        if raw in html:
            problems.append(f"raw {raw!r}")
    if secret in html or "&lt;Config {" in html or "<Config {" in html:
        problems.append("{{config}} evaluated")
    if "SSTI-A" in html or "7777777" in html:
        problems.append("{% for %} or {{ }} evaluated")
    return problems


class Pages:
    """GETs pages as one user and remembers every failure: a 5xx, an exception, or a payload as markup."""

    def __init__(self, browser, app):
        self.browser, self.failures = browser, []
        self.secret = app.config["SECRET_KEY"]

    def get(self, url, ok=(200,)):
        try:
            resp = self.browser.get(url)
        except Exception as exc:  # noqa: BLE001 - TESTING re-raises what would be a 500
            self.failures.append(f"{url[:160]}: {type(exc).__name__}: {str(exc)[:200]}")
            return None
        FIGURES["renders"] += 1
        if resp.status_code not in ok + (302,):  # a redirect: a locked record, a refused print
            self.failures.append(f"{url[:160]}: HTTP {resp.status_code}")
        elif resp.status_code not in ok:
            return resp
        if resp.mimetype == "text/html":
            for problem in markup_problems(resp.get_data(as_text=True), self.secret):
                self.failures.append(f"{url[:160]}: {problem}")
        return resp

    def check(self):
        assert not self.failures, f"{len(self.failures)} failures:\n" + "\n".join(self.failures[:40])


# -- the fields ---------------------------------------------------------------------------------------------
def free_text(model) -> list[tuple[str, int | None]]:
    """(column, String length or None) of the free text a user or a rule writes: String/Text columns without
    choices or a format check (phone, ID number), not generated, not the password hash."""
    out = []
    for attr in inspect(model).column_attrs:
        column, info = attr.columns[0], info_of(attr)
        if not isinstance(column.type, (String, Text)) or column.computed is not None:
            continue
        if info.get("choices") or info.get("validators") or attr.key == "password_hash":
            continue
        out.append((attr.key, getattr(column.type, "length", None)))
    return out


def fit(text: str, length: int | None) -> str:
    return text[:length] if length else text


def stored(text: str) -> str:
    """What the database holds for `text`: NUL characters never reach it (app.validators)."""
    return text.replace("\x00", "")


def kept(sent: str, got) -> bool:
    """A posted text was saved as typed: NUL aside, and but for the surrounding blanks some rules trim."""
    return got in (stored(sent), stored(sent).strip())


def seed(app) -> dict[str, dict]:
    """One record of every table per payload (factories.one_of_each), each with the payload in every free-text
    field; slips issued and permits approved so their print views render. {payload name: {table: id}}."""
    graphs = {}
    with app.app_context():
        for i, (name, text) in enumerate(PAYLOADS):
            ids = factories.one_of_each()
            with db.session.no_autoflush:
                for model in REGISTRY:
                    if model in (AppUser, AuditLog):
                        continue
                    row = db.session.get(model, ids[model.__tablename__])
                    for key, length in free_text(model):
                        setattr(row, key, fit(text, length))
                db.session.get(_model("release_slip"), ids["release_slip"]).status = "issued"
                db.session.get(_model("renovation_permit"), ids["renovation_permit"]).status = "approved"
            user = AppUser(username=fit(text, 50), display_name=fit(text, 50), role="frontdesk", password_hash="-")
            log = AuditLog(at=datetime(2026, 11, 27, 9, 0), username=fit(text, 50), operation=fit(text, 10),
                           table_name=fit(text, 40), record_id=1, action=fit(text, 50), changes=text, note=text)
            db.session.add_all([user, log])
            db.session.commit()
            graphs[name] = {**ids, "app_user": user.id, "audit_log": log.id}
    return graphs


def _model(table):
    return next(m for m in REGISTRY if m.__tablename__ == table)


def _view(app, table):
    return next(v for v in app.extensions["propdesk_admin"]._views if getattr(v, "endpoint", None) == table)


def _may(model, perm) -> bool:
    return model.__admin__.roles.allows(perm, {"admin"})


# -- exports ------------------------------------------------------------------------------------------------
def formula_problems(value, where: str) -> list[str]:
    """A text cell a spreadsheet would evaluate: it starts with = + - @ tab or CR and is not a plain number."""
    if isinstance(value, str) and value.startswith(DANGEROUS) and not NUMBER.match(value):
        return [f"{where}: {value[:40]!r}"]
    return []


def check_xlsx(data: bytes, where: str) -> tuple[list[str], list]:
    problems, texts = [], []
    book = openpyxl.load_workbook(io.BytesIO(data))
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    problems.append(f"{where}!{cell.coordinate}: formula {cell.value!r}")
                problems += formula_problems(cell.value, f"{where}!{cell.coordinate}")
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    return problems, texts


def check_csv(data: bytes, where: str) -> tuple[list[str], list]:
    problems, texts = [], []
    for r, row in enumerate(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))):
        for c, value in enumerate(row):
            problems += formula_problems(value, f"{where}[{r},{c}]")
            texts.append(value)
    return problems, texts


def neutralised(text: str) -> str:
    """How an export writes a payload: a formula-looking text behind a quote (admin_views/export.py)."""
    return "'" + text if text.startswith(DANGEROUS) else text


def export_all(b, app, tables, search: str | None = None) -> list[str]:
    """Export every list (xlsx and csv); every payload that fits must come out neutralised, nothing as a formula."""
    problems = []
    for model in tables:
        table = model.__tablename__
        if not _may(model, "export"):
            continue
        for kind in ("xlsx", "csv"):
            url = f"/admin/{table}/export/{kind}/" + (f"?search={quote(search)}" if search else "")
            resp = b.get(url)
            FIGURES["exports"] += 1
            if resp.status_code != 200:
                problems.append(f"{url}: HTTP {resp.status_code}")
                continue
            found, texts = (check_xlsx if kind == "xlsx" else check_csv)(resp.data, url)
            problems += found
            if search is None:
                exported = set(texts)
                for name in ("formula_eq", "formula_link", "formula_tab", "formula_at"):
                    cols = [n for n in _view(app, table).column_export_list if n in dict(free_text(model))]
                    for col in cols:
                        want = neutralised(stored(fit(TEXT[name], dict(free_text(model))[col])))
                        if want not in exported:
                            problems.append(f"{url}: {name} in {col} not exported as {want[:30]!r}")
    return problems


# -- forms --------------------------------------------------------------------------------------------------
class _Form(HTMLParser):
    """The values a browser submits from the page's admin form; a field rendered twice (the same element id:
    see test_an_edit_form_renders_each_field_once) counts once."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.fields, self._in, self._select, self._options, self._textarea = {}, False, None, [], None
        self.ids, self.repeated = set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "admin-form" in (a.get("class") or ""):
            self._in = True
        if not self._in:
            return
        if tag in ("input", "select", "textarea") and a.get("id"):
            if a["id"] in self.ids:
                self.repeated.append(a["id"])
                return
            self.ids.add(a["id"])
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file", "reset"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.setdefault(name, []).append(a.get("value") or ("y" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._options = (name, "multiple" in a), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in = False
        elif tag == "textarea":
            if self._textarea:
                value = self.fields[self._textarea][0]  # HTML drops the newline that opens a textarea
                self.fields[self._textarea][0] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None
        elif tag == "select" and self._select:
            name, multiple = self._select
            chosen = [v for v, sel in self._options if sel]
            self.fields[name] = chosen if (chosen or multiple) else [v for v, _sel in self._options[:1]]
            self._select = None


def form_values(html: str) -> dict:
    parser = _Form()
    parser.feed(html)
    return {k: (v if len(v) > 1 else v[0]) for k, v in parser.fields.items() if v}


def field_errors(html: str) -> str:
    return " ".join(re.findall(r'class="(?:invalid-feedback|help-block form-text text-danger)"[^>]*>\s*(?:<ul>)?(.*?)</',
                               html, re.DOTALL))


def checked_fields(app, model, record_id) -> set[str]:
    """Free-text columns the model's cross-field rules (Entity.check) refuse a payload in: an owner's ID number,
    a lease's tenant ID number; read off a valid record with the payload put in."""
    with app.app_context():
        row = db.session.get(model, record_id)
        mapper = inspect(model)
        data = {a.key: getattr(row, a.key) for a in mapper.column_attrs}
        data.update({r.key: getattr(row, r.key) for r in mapper.relationships if r.direction.name == "MANYTOONE"})
        return {k for k, _length in free_text(model) if k in model.check({**data, k: TEXT["sql_drop"]})}


def form_text_fields(model, values: dict, checked=()) -> dict[str, tuple[type, str, int | None]]:
    """Form field name -> (model, column, length) for the unchecked free text in a posted form, inline rows too."""
    out = {n: (model, n, length) for n, length in free_text(model) if n in values and n not in checked}
    for rel_name in model.__admin__.inline:
        child = inspect(model).relationships[rel_name].mapper.class_
        for key in values:
            m = re.fullmatch(rf"{rel_name}-(\d+)-(\w+)", key)
            if m and m[2] in dict(free_text(child)):
                out[key] = (child, m[2], dict(free_text(child))[m[2]])
    return out


def validated_fields(model, values: dict, checked=()) -> list[str]:
    """Form fields with a format: a validator on the column (phone, ID number) or a cross-field rule."""
    return [a.key for a in inspect(model).column_attrs if a.key in values and isinstance(a.columns[0].type, String)
            and (info_of(a).get("validators") or a.key in checked)]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + b"\x00" * 64
CREATE_EXTRA = {
    "owner": {"id_number": factories.resident_id},  # unique
    "survey": {"year": "2025"},  # one survey per unit and year: the sample's is 2026
    "charge": {"unit": "{unit}", "amount": "100.00", "period": "2026-12"},
    "payment": {"unit": "{unit}", "amount": "100.00"},
    "app_user": {"new_password": "Inj3ction-Passw0rd!"},
    "renovation_permit": {"unit": "{unit}", "owner": "{owner}"},
    "service_order": {"unit": "{unit}"},
}
"""Create-form values the sample record's edit form cannot give (fields locked after creation, unique pairs)."""


# -- the guard that makes SQLite refuse NUL as PostgreSQL does ---------------------------------------------------
@pytest.fixture
def nul_guard(app):
    """Every statement whose bound strings still carry NUL (PostgreSQL refuses them: a 500 there)."""
    seen = []

    def check(conn, cursor, statement, parameters, context, executemany):
        rows = parameters if executemany or isinstance(parameters, list) else [parameters]
        for row in rows or ():
            values = row.values() if isinstance(row, dict) else row
            if any(isinstance(v, str) and "\x00" in v for v in values or ()):
                seen.append(statement[:120])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", check)
    yield seen
    event.remove(engine, "before_cursor_execute", check)


# -- tests --------------------------------------------------------------------------------------------------------
def test_nul_is_stripped_before_any_statement(app, login, nul_guard):
    """Through the ORM, a form, a list filter and the search box alike, no NUL reaches the database."""
    with app.app_context():
        unit = factories.unit(note="a\x00b")
        db.session.commit()
        unit_id = unit.id
        db.session.expire_all()
        assert db.session.get(_model("unit"), unit_id).note == "ab"
    b = login("admin")
    html = b.get(f"/admin/unit/edit/?id={unit_id}").get_data(as_text=True)
    values = form_values(html)
    resp = b.post(f"/admin/unit/edit/?id={unit_id}", {**values, "note": "备\x00注", "room_no": "9\x0001"})
    assert resp.status_code == 302, field_errors(resp.get_data(as_text=True))
    with app.app_context():
        row = db.session.get(_model("unit"), unit_id)
        assert (row.note, row.room_no) == ("备注", "901")
    view = _view(app, "unit")
    text_filters = [(i, f) for i, f in enumerate(view._filters) if type(f).__name__ in ("FilterLike", "LiteralLike")]
    assert text_filters
    index, flt = text_filters[0]
    assert b.get(f"/admin/unit/?flt0_{view.get_filter_arg(index, flt)}=9%0001").status_code == 200
    assert b.get("/admin/unit/?search=9%0001").status_code == 200
    assert b.get("/admin/search/?q=%00%00%E5%BC%A0").status_code == 200
    assert nul_guard == []


def _post(b, url, values):
    try:
        resp = b.post(url, values)
    except Exception as exc:  # noqa: BLE001 - TESTING re-raises what would be a 500
        return None, f"{url}: {type(exc).__name__}: {str(exc)[:200]}"
    FIGURES["posts"] += 1
    return resp, None


def _stored_values(app, fields: dict, table: str, record_id: int) -> dict:
    """Form field -> the value now stored for it (an inline row's by its position)."""
    out = {}
    with app.app_context():
        row = db.session.get(_model(table), record_id)
        for name, (_model_, column, _length) in fields.items():
            m = re.fullmatch(r"(\w+)-(\d+)-(\w+)", name)
            target = getattr(row, m[1])[int(m[2])] if m else row
            out[name] = getattr(target, column)
    return out


def test_payloads_posted_through_the_forms_are_stored_verbatim_and_shown_escaped(app, login):
    """Each entity's real edit form (and create form) posted as a browser would, the payloads in every free-text
    field: saved as typed (NUL aside), then its details page and list show them as text."""
    with app.app_context():
        ids = factories.one_of_each()
    b = login("admin")
    pages, failures = Pages(b, app), []
    names = [n for n in TEXT if n != "long"]  # an overlong text is refused: see the next test
    for i, model in enumerate(REGISTRY):
        table = model.__tablename__
        if not _may(model, "edit"):
            continue
        url = f"/admin/{table}/edit/?id={ids[table]}"
        checked = checked_fields(app, model, ids[table])
        for name in rotation(i * 2, scaled(2), names):
            values = form_values(b.get(url).get_data(as_text=True))
            fields = form_text_fields(model, values, checked)
            if not fields:
                break
            sent = {f: fit(TEXT[name], length) for f, (_m, _c, length) in fields.items()}
            resp, error = _post(b, url, {**values, **sent})
            if error or resp.status_code != 302:
                failures.append(error or f"{url} {name}: HTTP {resp.status_code} "
                                         f"{field_errors(resp.get_data(as_text=True))[:200]}")
                continue
            got = _stored_values(app, fields, table, ids[table])
            failures += [f"{url} {name}: {f} stored {got[f]!r:.60}" for f in fields if not kept(sent[f], got[f])]
            pages.get(f"/admin/{table}/details/?id={ids[table]}")
        if _may(model, "create") and fields:
            # the payload after the edits': unlike the sample's last one, so unique names do not collide
            failures += _create(b, app, pages, model, ids, rotation(i * 2 + scaled(2), 1, names)[0], checked)
    pages.get("/admin/")
    pages.check()
    assert not failures, "\n".join(failures[:40])


def _create(b, app, pages, model, ids, name, checked) -> list[str]:
    """The create form filled as the sample record's edit form shows it, the free text replaced by a payload."""
    table = model.__tablename__
    template = form_values(b.get(f"/admin/{table}/edit/?id={ids[table]}").get_data(as_text=True))
    fresh = form_values(b.get(f"/admin/{table}/new/").get_data(as_text=True))
    values = {k: template.get(k, v) for k, v in fresh.items() if k not in ("row_version", "csrf_token")}
    values.update({k: v() if callable(v) else v.format(**ids) for k, v in CREATE_EXTRA.get(table, {}).items()})
    fields = form_text_fields(model, values, checked)
    sent = {f: fit(TEXT[name], length) for f, (_m, _c, length) in fields.items()}
    if table == "document":  # the upload's file name is text the user chose too
        sent["upload"] = (io.BytesIO(PNG), TEXT[name][:100] + ".png")
    with app.app_context():
        before = db.session.execute(select(func.max(model.id))).scalar()
    resp, error = _post(b, f"/admin/{table}/new/", {**values, **sent})
    if error or resp.status_code != 302:
        html = resp.get_data(as_text=True) if resp is not None else ""
        flashed = re.findall(r'class="alert alert-danger[^"]*">.*?</button>\s*(.*?)\s*</div>', html, re.DOTALL)
        return [error or f"{table} create {name}: HTTP {resp.status_code} {field_errors(html)[:200]} {flashed}"]
    with app.app_context():
        new_id = db.session.execute(select(func.max(model.id))).scalar()
    if new_id == before:
        return [f"{table} create {name}: nothing saved"]
    problems = []
    if sent.pop("upload", None):  # the download names the file safely whatever its name was
        resp = b.get(f"/admin/document/download/?id={new_id}")
        disposition = resp.headers.get("Content-Disposition", "")
        if resp.status_code != 200 or not disposition.startswith("attachment;") or re.search(r"[\r\n\x00]", disposition):
            problems.append(f"document download {name}: HTTP {resp.status_code} {disposition!r:.80}")
    got = _stored_values(app, fields, table, new_id)
    pages.get(f"/admin/{table}/details/?id={new_id}")
    return problems + [f"{table} create {name}: {f} stored {got[f]!r:.60}" for f in fields if not kept(sent[f], got[f])]


def _unchanged(app, table, record_id, before: dict) -> list[str]:
    with app.app_context():
        row = db.session.get(_model(table), record_id)
        return [f"{table}.{k} changed to {getattr(row, k)!r:.40}" for k, v in before.items() if getattr(row, k) != v]


def _snapshot(app, table, record_id, keys) -> dict:
    with app.app_context():
        row = db.session.get(_model(table), record_id)
        return {k: getattr(row, k) for k in keys if k in inspect(_model(table)).column_attrs}


def test_format_checked_fields_refuse_payloads_with_a_chinese_message(app, login):
    """Phone and ID-number fields (and fields a cross-field rule checks) answer a payload with a Chinese message
    on the field: no 500, nothing saved."""
    with app.app_context():
        ids = factories.one_of_each()
    b = login("admin")
    failures, tried = [], 0
    for i, model in enumerate(REGISTRY):
        table = model.__tablename__
        if not _may(model, "edit"):
            continue
        url = f"/admin/{table}/edit/?id={ids[table]}"
        values = form_values(b.get(url).get_data(as_text=True))
        for j, field in enumerate(validated_fields(model, values, checked_fields(app, model, ids[table]))):
            for name in rotation(i + j * 7, scaled(2)):
                if not stored(TEXT[name]).strip():
                    continue
                before = _snapshot(app, table, ids[table], values)
                resp, error = _post(b, url, {**values, field: TEXT[name]})
                tried += 1
                html = resp.get_data(as_text=True) if resp is not None else ""
                message = field_errors(html)
                if error or resp.status_code != 200 or not CJK.search(message):
                    failures.append(error or f"{table}.{field} {name}: HTTP {resp.status_code} {message[:100]!r}")
                failures += markup_problems(html, app.config["SECRET_KEY"]) + _unchanged(app, table, ids[table], before)
    assert tried >= 20
    assert not failures, "\n".join(failures[:40])


def test_overlong_text_is_refused_with_a_chinese_message_not_a_500(app, login):
    """10,000 characters in every String(n) field of each edit form: each field says so in Chinese, nothing is
    saved; Text fields keep them. A confirm page's reason and a rule's write are refused alike."""
    from app.validators import TextTooLong

    with app.app_context():
        ids = factories.one_of_each()
    b = login("admin")
    long, failures, fields_tried = TEXT["long"], [], 0
    for model in REGISTRY:
        table = model.__tablename__
        if not _may(model, "edit"):
            continue
        url = f"/admin/{table}/edit/?id={ids[table]}"
        values = form_values(b.get(url).get_data(as_text=True))
        bounded = {f: length for f, (_m, _c, length) in form_text_fields(model, values).items() if length}
        if not bounded:
            continue
        before = _snapshot(app, table, ids[table], values)
        resp, error = _post(b, url, {**values, **{f: long for f in bounded}})
        fields_tried += len(bounded)
        if error or resp.status_code != 200:
            failures.append(error or f"{table}: HTTP {resp.status_code}")
            continue
        html = resp.get_data(as_text=True)
        errors = dict(re.findall(r'id="(\w[\w-]*)"[^>]*>(?:(?!id=").)*?class="form-text text-danger[^"]*">\s*<li>(.*?)</li>',
                                 html, re.DOTALL))
        failures += [f"{table}.{f}: {errors.get(f, 'no message')!r}" for f in bounded
                     if not CJK.search(errors.get(f, "")) or str(bounded[f]) not in errors.get(f, "")]
        failures += _unchanged(app, table, ids[table], before)
    assert fields_tried >= 50
    assert not failures, "\n".join(failures[:40])

    slip = ids["release_slip"]
    html = b.post(f"/admin/release_slip/confirm/void/?ids={slip}", {"ids": str(slip), "reason": long}).get_data(as_text=True)
    assert "作废原因不能超过200个字" in html
    assert _unchanged(app, "release_slip", slip, {"status": "draft", "void_reason": None}) == []
    with app.app_context(), pytest.raises(TextTooLong, match="房号不能超过20个字"):
        db.session.get(_model("unit"), ids["unit"]).room_no = long
        db.session.flush()


def test_an_edit_form_renders_each_field_once(app, login):
    """A field rendered twice is posted twice by the browser: a date then reads "2026-12-01 2026-12-01"."""
    with app.app_context():
        ids = factories.one_of_each()
    b = login("admin")
    repeated = {}
    for model in REGISTRY:
        table = model.__tablename__
        if _may(model, "edit") and model.__admin__.inline:
            parser = _Form()
            parser.feed(b.get(f"/admin/{table}/edit/?id={ids[table]}").get_data(as_text=True))
            if parser.repeated:
                repeated[table] = parser.repeated
    assert repeated == {}


def test_codes_outside_their_choices_show_as_text_and_export_neutralised(app, login):
    """A choice column holding a code its choices do not know (an old import, a hand-edited row) shows as the
    data it is: not as markup through the template's `_()` (global search), not as a formula in an export."""
    with app.app_context():
        units = [factories.unit(room_no="7788", status=fit(TEXT[name], 18)) for name in
                 ("script", "img_onerror", "percent", "formula_eq", "formula_at", "jinja_block")]
        db.session.commit()
        unit_ids = [u.id for u in units]
    b = login("admin")
    pages = Pages(b, app)
    resp = pages.get("/admin/search/?q=7788")
    assert resp is not None and resp.status_code == 200
    assert resp.get_data(as_text=True).count('class="list-group-item') >= len(unit_ids)
    pages.get("/admin/unit/")
    pages.get(f"/admin/unit/details/?id={unit_ids[0]}")
    pages.check()
    problems, texts = check_xlsx(b.get("/admin/unit/export/xlsx/").data, "unit.xlsx")
    csv_problems, csv_texts = check_csv(b.get("/admin/unit/export/csv/").data, "unit.csv")
    assert problems + csv_problems == []
    assert "'=1+1" in texts and "'@SUM(A1)" in csv_texts


def test_messages_that_echo_input_are_escaped(app, login):
    """Flash and error messages quoting what the user typed (a saved view's name, a refused duplicate, a bad
    month) show it as text."""
    b = login("frontdesk")
    pages = Pages(b, app)
    for name in MARKUP[:scaled(3)]:
        text = TEXT[name][:50]
        for expect in ("已保存视图", "已有名为"):  # saved, then refused as a duplicate
            resp = b.post("/admin/saved_view/save/", {"endpoint": "owner", "query": "search=%3Cb%3E", "name": text})
            assert resp.status_code == 302
            page = pages.get(resp.headers["Location"])
            assert page is not None and expect in page.get_data(as_text=True)
        pages.get(f"/admin/monthly_report/?month={quote(text)}", ok=(400, 403))
    supervisor = Pages(login("supervisor"), app)
    resp = supervisor.get(f"/admin/monthly_report/?month={quote(TEXT['script'])}", ok=(400,))
    assert resp.status_code == 400 and CJK.search(resp.get_data(as_text=True))
    pages.check()
    supervisor.check()


@pytest.mark.parametrize("name", MARKUP)
def test_the_markup_check_sees_each_payload_unescaped(app, name):
    """The page check of this suite finds each markup payload when a page carries it raw (or, for a javascript:
    URL, as a link), and not when it carries it escaped (a text node, a double- or single-quoted attribute)."""
    from markupsafe import escape

    text, secret = TEXT[name], app.config["SECRET_KEY"]
    if name.startswith("jinja"):
        with app.app_context():
            from flask import render_template_string

            raw = render_template_string(f"<p>{text}</p>")
    elif name == "js_url":  # escaping does not defuse a URL: the check looks at where a payload lands
        raw = f'<a href="{escape(text)}">x</a>'
    else:
        raw = f'<div><p>{text}</p><a href="/x?q={text}">x</a><span title=\'{text}\'>y</span></div>'
    assert markup_problems(raw, secret)
    safe = f'<div><p>{escape(text)}</p><a href="/x?q={escape(text)}">x</a><span title=\'{escape(text)}\'>y</span></div>'
    assert markup_problems(safe, secret) == []


def _ids_on_list(html: str, table: str) -> set[int]:
    return {int(i) for i in re.findall(rf'/admin/{table}/details/\?id=(\d+)', html)}


def _matches(value, term: str, kind: str) -> bool:
    """The list search's rule for one term and column (app/fulltext.py): codes by prefix, text anywhere,
    ASCII case-insensitively as LIKE compares."""
    if value is None:
        return False
    value = str(value)
    if kind == "prefix":
        return value.startswith((term, term.upper()))
    return term.lower() in value.lower()


def expected_search(app, model, search: str) -> set[int]:
    """Ids whose search columns hold every term of `search` literally."""
    kinds = search_kinds(model)
    terms = [t for t in (re.sub(r"[\x00-\x1f\x7f]", "", w).strip() for w in search.split()) if t]
    with app.app_context():
        rows = db.session.execute(select(model.id, *(getattr(model, n) for n in kinds))).all()
    return {row[0] for row in rows
            if all(any(_matches(v, t, k) for v, k in zip(row[1:], kinds.values())) for t in terms)}


def rotation(i: int, n: int, names=None) -> list[str]:
    """n payload names starting at the i-th, wrapping: spread over the entities, every payload gets its turn."""
    names = names or [name for name, _text in PAYLOADS]
    return [names[(i + k) % len(names)] for k in range(min(n, len(names)))]


def list_pages(pages, app) -> list[str]:
    """Every list (two pages: one row per payload), searched for payloads (SQL metacharacters must match
    literally) and filtered by them: every filter of a list at once, and text filters one by one."""
    wrong = []
    for i, model in enumerate(REGISTRY):
        table, view = model.__tablename__, _view(app, model.__tablename__)
        pages.get(f"/admin/{table}/")
        pages.get(f"/admin/{table}/?page=1")
        if model.__admin__.search:
            # alternately an SQL metacharacter and any payload (both, and more, under make test-security)
            both = rotation(i // 2, scaled(1), list(SQL_META)) + rotation(i // 2, scaled(1))
            for name in both if scaled(1) > 1 else both[i % 2:i % 2 + 1]:
                resp = pages.get(f"/admin/{table}/?search={quote(TEXT[name])}")
                if name in SQL_META and resp is not None and resp.status_code == 200:
                    want = expected_search(app, model, TEXT[name])
                    got = _ids_on_list(resp.get_data(as_text=True), table)
                    if len(want) <= view.page_size and got != want:
                        wrong.append(f"{table} search {TEXT[name]!r}: listed {sorted(got)}, holding it {sorted(want)}")
        filters = list(enumerate(view._filters or ()))
        if filters:  # each filter with a payload, all at once: parsed, applied and echoed in the page
            names = rotation(i, len(filters)) * (len(filters) // len(PAYLOADS) + 1)
            args = {f"flt{n}_{view.get_filter_arg(index, flt)}": TEXT[names[n]] for n, (index, flt) in enumerate(filters)}
            pages.get(f"/admin/{table}/?{urlencode(args)}")
        likes = [(index, flt) for index, flt in filters if type(flt).__name__ == "FilterLike"]
        for (index, flt), name in zip(likes[:scaled(1) - 1], rotation(i * 3, scaled(1))):  # make test-security
            pages.get(f"/admin/{table}/?{urlencode({f'flt0_{view.get_filter_arg(index, flt)}': TEXT[name]})}")
    return wrong


def record_pages(pages, graphs, details: list[str], edits: list[str]):
    """Details (and for `edits` the edit forms) of every entity, print views, 一户一档 and the global search."""
    for name in details:
        ids = graphs[name]
        for model in REGISTRY:
            table = model.__tablename__
            pages.get(f"/admin/{table}/details/?id={ids[table]}")
            if name in edits and _may(model, "edit"):
                pages.get(f"/admin/{table}/edit/?id={ids[table]}")
        pages.get(f"/admin/work_order/print/?id={ids['work_order']}")
        pages.get(f"/admin/payment/receipt/?id={ids['payment']}")
        pages.get(f"/admin/household/?unit={ids['unit']}")
    pages.get("/admin/release_slip/print/?ids=" + ",".join(str(g["release_slip"]) for g in graphs.values()))
    pages.get("/admin/renovation_permit/print/?ids=" + ",".join(str(g["renovation_permit"]) for g in graphs.values()))
    for _name, text in PAYLOADS:  # as typed (mostly no match), and a name's first characters (its records found)
        pages.get(f"/admin/search/?q={quote(text)}")
        pages.get(f"/admin/search/?q={quote(stored(text)[:4])}")


def report_pages(pages, b) -> list[str]:
    """Reports, statistics and the arrears pages over the payload rows; their xlsx exports hold no formula."""
    for url in ("/admin/monthly_report/?month=2026-11", "/admin/monthly_report/print/?month=2026-11",
                "/admin/arrears_unit/", "/admin/arrears_lease/", "/admin/survey/stats/?year=2026",
                "/admin/dept_check/stats/", "/admin/work_order/followups/", "/admin/import/",
                "/admin/audit_log/?table=unit&record=1"):
        pages.get(url)
    for _name, text in PAYLOADS[:scaled(8)]:
        pages.get(f"/admin/monthly_report/?month={quote(text)}", ok=(200, 400))
        pages.get(f"/admin/monthly_report/print/?month={quote(text)}", ok=(200, 400))
        pages.get(f"/admin/arrears_unit/?payer={quote(text)}&order={quote(text)}")
    problems = []
    for url in ("/admin/monthly_report/export/?month=2026-11", "/admin/arrears_unit/export/",
                "/admin/arrears_lease/export/"):
        resp = b.get(url)
        FIGURES["exports"] += 1
        assert resp.status_code == 200, url
        problems += check_xlsx(resp.data, url)[0]
    return problems


def test_stored_payloads_are_escaped_on_every_page_and_neutralised_in_exports(app, login):
    """The heart of the suite: one record of every table per payload, every free-text field holding it."""
    graphs = seed(app)
    b = login("admin")
    pages = Pages(b, app)
    wrong_search = list_pages(pages, app)
    details = list(dict.fromkeys(("img_onerror", "attr_break") + MARKUP + tuple(TEXT)))[:scaled(2)]
    record_pages(pages, graphs, details, edits=details[:scaled(1)])
    export_problems = report_pages(pages, b)
    pages.get("/admin/")
    for role in ("frontdesk", "leasing", "supervisor", "manager", "maintenance")[:scaled(2)]:
        other = Pages(login(role), app)
        other.get("/admin/")
        pages.failures += other.failures
    export_problems += export_all(b, app, REGISTRY)
    searchable = [m for m in REGISTRY if m.__admin__.search]
    for i, name in enumerate(("formula_eq", "formula_tab", "percent")[:scaled(1)]):
        export_problems += export_all(b, app, searchable[i::max(1, len(searchable) // scaled(3))], TEXT[name])
    pages.check()
    assert not wrong_search, "\n".join(wrong_search)
    assert not export_problems, f"{len(export_problems)} export problems:\n" + "\n".join(export_problems[:40])
    fields = sum(len(free_text(m)) for m in REGISTRY)
    record("injection", payloads=len(PAYLOADS), fields=fields, stored=fields * len(PAYLOADS),
           renders=FIGURES["renders"], exports=FIGURES["exports"], posts=FIGURES["posts"])
