"""Audit completeness: every write the panel can make leaves audit_log rows that account for it.

The walk is driven by the app itself: the POST routes of its url_map, the SchemaViews registered on the
Admin, each view's @actions and confirm actions. For each write the database is read before and after
(every audited table and every many-to-many table), and the difference is checked against the audit rows
the request wrote: each inserted row has a 新增 row whose values, replayed with later 修改 rows, give the
row as stored; each changed column of an updated row appears in a 修改 row with its old and new value;
each deleted row has a 删除 row with its old values; each many-to-many link added or removed shows in
the changes of one of the two records; every audit row names the signed-in user. A POST route or action
the walk does not cover fails `test_every_post_route_and_action_is_walked`.
"""
from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import pytest
from sqlalchemy import Date, String, Text, func, inspect, select, text
from werkzeug.security import generate_password_hash

from app import clock, community, deletion
from app.extensions import db
from schema import REGISTRY
from schema.org import AppUser, AuditLog
from schema.spec import ROLES, info_of

from . import factories
from .conftest import PASSWORD, Browser
from .security_figures import record, scaled

pytestmark = pytest.mark.security

SKIP_COLUMNS = {"id", "version", "password_hash", "session_token"}
"""Not compared: keys, the optimistic-lock counter, and credentials the audit leaves out on purpose (a password
change shows as "password": ******; the session token is rotated by a plain UPDATE, never stored in a log)."""
EXCLUDED_POST_ROUTES = {
    "auth.login": "signs in: logs the attempt in login_attempt (a security log of its own, like audit_log) and "
                  "issues the session token; no business row",
    "auth.logout": "signs out: rotates the session token (a credential) and clears the cookie; no business row",
}
"""POST routes that write no business row, each with the reason."""
HAND_WRITTEN_ROUTES = ("charge.bill_view", "inspection.items_view", "saved_view.save_view", "import.upload",
                       "import.commit")
"""POST routes outside the generic create/edit/delete/action/confirm set; each has a walk below."""
SCHEMA_ROUTES = ("create_view", "edit_view", "delete_view", "action_view", "confirm_view", "ajax_update")
NO_WRITE_ACTIONS = {
    ("release_slip", "print"): "opens the print page",
    ("renovation_permit", "print"): "opens the print page",
}
"""Actions that only redirect; the walk checks that they write nothing."""
FIGURES = {"routes": set(), "actions": set(), "writes_checked": 0}


# -- the app's write surface ----------------------------------------------------------------------
def admin_views(app):
    return app.extensions["propdesk_admin"]._views


def schema_views(app):
    return {v.endpoint: v for v in admin_views(app) if hasattr(v, "spec")}


def view_of(app, endpoint):
    return schema_views(app)[endpoint]


def post_endpoints(app) -> set[str]:
    return {r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint != "static"}


def audited_tables():
    return [m.__table__ for m in REGISTRY if m.__tablename__ != "audit_log"]


def compared_columns(table) -> list[str]:
    return [c.name for c in table.columns if c.name not in SKIP_COLUMNS and c.computed is None]


def associations() -> list[tuple]:
    """(secondary table, table of this side, this side's column, other side's column, relationship key)."""
    out = []
    for model in REGISTRY:
        for rel in inspect(model).relationships:
            if rel.secondary is not None:
                out.append((rel.secondary, model.__tablename__, rel.synchronize_pairs[0][1].name,
                            rel.secondary_synchronize_pairs[0][1].name, rel.key))
    return out


# -- reading the database around a write ------------------------------------------------------------
def snapshot(app) -> dict:
    """Every row of every audited and many-to-many table (one probe skips the empty ones), and the last audit id."""
    tables = audited_tables() + sorted({a[0] for a in associations()}, key=lambda t: t.name)
    with app.app_context():
        probe = ", ".join(f"(SELECT 1 FROM {t.name} LIMIT 1) AS {t.name}" for t in tables)
        flags = db.session.execute(text(f"SELECT {probe}")).one()
        data = {}
        for table, used in zip(tables, flags):
            rows = db.session.execute(select(table)).mappings() if used is not None else []
            if "id" in table.c:
                data[table.name] = {row["id"]: dict(row) for row in rows}
            else:
                data[table.name] = {tuple(sorted(row.items())) for row in rows}
        mark = db.session.scalar(select(func.coalesce(func.max(AuditLog.id), 0)))
        db.session.remove()
    return {"rows": data, "mark": mark}


def audits_since(app, mark: int) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.id > mark).order_by(AuditLog.id)).all()
        out = [{"id": r.id, "user_id": r.user_id, "username": r.username, "operation": r.operation,
                "table": r.table_name, "record": r.record_id, "action": r.action,
                "changes": json.loads(r.changes) if r.changes else {}} for r in rows]
        db.session.remove()
    return out


def same(stored, audited) -> bool:
    """A stored value and its JSON form in the audit row (dates as ISO text, money as text)."""
    if stored is None or audited is None:
        return stored is None and audited is None
    if isinstance(stored, bool) or isinstance(audited, bool):
        return isinstance(stored, bool) and isinstance(audited, bool) and stored == audited
    if isinstance(stored, (int, float, Decimal)):
        try:
            return Decimal(str(stored)) == Decimal(str(audited))
        except InvalidOperation:
            return False
    if isinstance(stored, datetime):
        try:
            return stored == datetime.fromisoformat(str(audited))
        except ValueError:
            return False
    if isinstance(stored, date):
        return stored.isoformat() == str(audited)
    return str(stored) == str(audited)


def check_audited(before: dict, after: dict, audits: list[dict], user: tuple[int, str]) -> int:
    """Every difference between the snapshots is accounted for by the audit rows; returns the rows checked."""
    problems = [f"audit #{a['id']} {a['table']}#{a['record']} recorded as {a['username']!r}/{a['user_id']}"
                for a in audits if (a["user_id"], a["username"]) != user]
    trail = defaultdict(list)
    for a in audits:
        trail[(a["table"], a["record"])].append(a)
    checked = 0
    for table in audited_tables():
        name, columns = table.name, compared_columns(table)
        old, new = before["rows"][name], after["rows"][name]
        for rid in sorted(new.keys() - old.keys()):
            checked += 1
            rows = trail[(name, rid)]
            if not rows or rows[0]["operation"] != "新增":
                problems.append(f"{name}#{rid} inserted without a 新增 audit row")
                continue
            replay = {}
            for a in rows:
                replay.update({k: v[1] for k, v in a["changes"].items()})
            for c in columns:
                if not same(new[rid][c], replay.get(c)):
                    problems.append(f"{name}#{rid}.{c}: stored {new[rid][c]!r}, audit says {replay.get(c)!r}")
        for rid in sorted(old.keys() - new.keys()):
            checked += 1
            rows = [a for a in trail[(name, rid)] if a["operation"] == "删除"]
            if not rows:
                problems.append(f"{name}#{rid} deleted without a 删除 audit row")
                continue
            for c in columns:
                if old[rid][c] is not None and not same(old[rid][c], rows[-1]["changes"].get(c, [None])[0]):
                    problems.append(f"{name}#{rid}.{c}: was {old[rid][c]!r}, 删除 row says "
                                    f"{rows[-1]['changes'].get(c)!r}")
        for rid in sorted(old.keys() & new.keys()):
            changed = [c for c in columns if not same(old[rid][c], new[rid][c]) and
                       not (old[rid][c] is not None and new[rid][c] is not None and old[rid][c] == new[rid][c])]
            if not changed:
                continue
            checked += 1
            rows = [a for a in trail[(name, rid)] if a["operation"] == "修改"]
            if not rows:
                problems.append(f"{name}#{rid} changed {changed} without a 修改 audit row")
                continue
            for c in changed:
                mentions = [a["changes"][c] for a in rows if c in a["changes"]]
                if not mentions:
                    problems.append(f"{name}#{rid}.{c} changed {old[rid][c]!r} → {new[rid][c]!r}, not in the audit")
                elif not (same(old[rid][c], mentions[0][0]) and same(new[rid][c], mentions[-1][1])):
                    problems.append(f"{name}#{rid}.{c} changed {old[rid][c]!r} → {new[rid][c]!r}, "
                                    f"audit says {mentions[0][0]!r} → {mentions[-1][1]!r}")
    sides = defaultdict(list)
    for secondary, side, mine, other, key in associations():
        sides[secondary].append((side, mine, other, key))
    for secondary, ways in sides.items():
        was, now = before["rows"][secondary.name], after["rows"][secondary.name]
        for links, index, verb in ((now - was, 1, "added"), (was - now, 0, "removed")):
            for link in links:
                values = dict(link)
                if not any(key in a["changes"] and values[other] in (a["changes"][key][index] or [])
                           for side, mine, other, key in ways for a in trail[(side, values[mine])]):
                    problems.append(f"{secondary.name} link {values} {verb} without an audit row naming it")
    for secondary in {a[0] for a in associations()}:
        checked += len(before["rows"][secondary.name] ^ after["rows"][secondary.name])
    assert not problems, "\n".join(problems)
    return checked


def written(before: dict, after: dict) -> bool:
    return before["rows"] != after["rows"]


# -- the walker ------------------------------------------------------------------------------------
@pytest.fixture
def staff(app, users):
    """The user ids by role (conftest's `users`: all estates, cheap password hashes)."""
    with app.app_context():
        staff = Staff({u.username: u.id for u in db.session.scalars(select(AppUser))})
        db.session.remove()
    return staff


class Staff(dict):
    """User ids by role, and the walkers signed in as them during one test."""

    def __init__(self, ids):
        super().__init__(ids)
        self.walkers = {}


class Walker:
    """A signed-in client that reads the database around each request and checks the audit trail."""

    def __init__(self, app, staff, role):
        self.app, self.role, self.user = app, role, (staff[role], role)
        self.browser = Browser(app)
        self.browser.get("/login")
        assert self.browser.post("/login", {"username": role, "password": PASSWORD}).status_code == 302
        self.browser.get("/admin/search/")  # a light page: the new session's CSRF token (Browser.login reads the dashboard)

    def write(self, method, url, data=None, expect=(302,), writes=True, **kw):
        """Run one request; `writes`: True (must write, audited), False (must write nothing), None (either)."""
        before = snapshot(self.app)
        resp = self.browser.post(url, data, **kw) if method == "POST" else self.browser.get(url, **kw)
        after = snapshot(self.app)
        assert resp.status_code in expect, (url, resp.status_code, self.flashes(resp))
        audits = audits_since(self.app, before["mark"])
        if writes is False:
            assert not written(before, after) and not audits, (url, "wrote", audits[:5])
        else:
            if writes:
                assert written(before, after), (url, "wrote nothing", self.flashes(resp))
            FIGURES["writes_checked"] += check_audited(before, after, audits, self.user)
        endpoint = self.endpoint(url)
        if method == "POST" and endpoint:
            FIGURES["routes"].add(endpoint)
        return resp

    def endpoint(self, url):
        adapter = self.app.url_map.bind("localhost")
        try:
            return adapter.match(url.split("?")[0], method="POST")[0]
        except Exception:  # noqa: BLE001 - a GET-only URL
            return None

    def flashes(self, resp) -> str:
        """The messages a refused request shows (its page, or the page it redirects to)."""
        import re
        from html import unescape

        html = resp.get_data(as_text=True)
        if resp.status_code == 302 and resp.location:
            html = self.browser.get(resp.location).get_data(as_text=True)
        found = re.findall(r'class="[^"]*(?:alert|invalid-feedback|help-block|text-danger)[^"]*"[^>]*>(.*?)</', html,
                           re.DOTALL)
        return " | ".join(unescape(re.sub(r"<[^>]+>", "", f)).strip() for f in found if f.strip())[:1500]


def walker(app, staff, role="admin") -> Walker:
    """One signed-in walker per role and test."""
    if role not in staff.walkers:
        staff.walkers[role] = Walker(app, staff, role)
    return staff.walkers[role]


def in_app(app, fn):
    """Run `fn` in an app context and commit; what it returns, with records replaced by their ids."""
    with app.app_context():
        out = fn()
        db.session.commit()
        result = _ids(out)
        db.session.remove()
    return result


def _ids(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_ids(v) for v in value)
    if isinstance(value, dict):
        return {k: _ids(v) for k, v in value.items()}
    return value.id if hasattr(value, "__table__") else value


# -- building records and their forms ----------------------------------------------------------------
def make(table: str, bare: bool = False):
    """One record of `table` in its first state, built with tests/factories.py; `bare`: nothing of its own
    refers to it (a record to delete)."""
    from schema.ledger import PaymentAllocation

    if table == "leasable_asset":
        return factories.asset()
    if table == "app_user":
        user = AppUser(username=f"user{factories.mobile()[-6:]}", display_name="新同事", role="frontdesk",
                       active=True, password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
        if hasattr(AppUser, "estates"):  # the estates it works for: many-to-many links written with it
            user.estates = [factories.estate()]
        db.session.add(user)
        return user
    if table == "payment_allocation":
        c = factories.charge()
        alloc = PaymentAllocation(payment=factories.payment(unit=c.unit), charge=c, amount=Decimal("100.00"))
        db.session.add(alloc)
        return alloc
    if table == "release_item":
        return factories.release_slip().items[0]
    if table == "inspection_item":
        return factories.inspection().items[0]
    if table == "inspection" and bare:  # its checklist items block deleting it (they are never orphaned)
        from schema.occupancy import Inspection

        record = Inspection(unit=factories.unit(), inspected_at=clock.now(), inspector="王工")
        db.session.add(record)
        return record
    if table == "audit_log":
        factories.estate()
        db.session.flush()
        return db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).one()
    if table == "saved_view":
        return factories.saved_view(user=db.session.scalars(select(AppUser).where(AppUser.username == "admin")).one())
    if table == "dunning":  # a dunning chases the unit's overdue charges: the m2m links are part of the write
        c = factories.charge(due_date=clock.today() - timedelta(days=40))
        return factories.dunning(unit=c.unit)
    if table == "payment":  # a payment settles the unit's open charge: allocation and charge change too
        c = factories.charge()
        return factories.payment(unit=c.unit)
    return getattr(factories, table)()


def form_fields(app, view, create: bool) -> list[str]:
    with app.test_request_context():
        form_class = view._create_form_class if create else view._edit_form_class
        return list(form_class()._fields)


def fmt(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "y" if value else None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def form_data(view, record, fields: list[str], create: bool) -> dict:
    """What a clerk would post to save `record` through this form: its values, related records by id."""
    mapper = inspect(type(record))
    data = {}
    for name in fields:
        if name == "row_version":
            data[name] = "" if create else str(record.version)
        elif name == "upload":
            continue
        elif name == "new_password":
            data[name] = "Neu-Passw0rd!" if create else ""
        elif name in mapper.relationships:
            rel = mapper.relationships[name]
            if rel.direction.name == "MANYTOONE":
                related = getattr(record, name)
                if related is not None:
                    data[name] = str(related.id)
            elif rel.secondary is not None:
                data[name] = [str(o.id) for o in getattr(record, name)]
            else:  # an inline list
                child_spec = rel.mapper.class_.__admin__
                for i, child in enumerate(getattr(record, name)):
                    if not create:
                        data[f"{name}-{i}-id"] = str(child.id)
                    for f in child_spec.form or ():
                        if f in rel.mapper.column_attrs and fmt(getattr(child, f)) is not None:
                            data[f"{name}-{i}-{f}"] = fmt(getattr(child, f))
        elif name in mapper.column_attrs:
            value = fmt(getattr(record, name))
            if value is not None:
                data[name] = value
    return data


def edit_change(model, fields: list[str], record) -> tuple[str, str, object]:
    """(field, posted text, new stored value): a free-text field (a note, preferably) gets 改 in front; a form
    without free text moves a date one day on."""
    mapper = inspect(model)
    texts, dates = [], []
    for name in fields:
        if name not in mapper.column_attrs:
            continue
        column, info = mapper.column_attrs[name].columns[0], info_of(mapper.column_attrs[name])
        if info.get("choices") or info.get("validators") or column.unique or column.computed is not None:
            continue
        if isinstance(column.type, (String, Text)):
            texts.append(name)
        elif isinstance(column.type, Date) and getattr(record, name) is not None:
            dates.append(name)
    preferred = [n for n in texts if n in ("note", "notes", "description", "findings", "summary")]
    if preferred or texts:
        name = (preferred or texts)[0]
        length = getattr(mapper.column_attrs[name].columns[0].type, "length", None) or 200
        new = ("改" + (getattr(record, name) or ""))[:length]
        return name, new, new
    name = dates[0]
    new = getattr(record, name) - timedelta(days=1)
    return name, new.isoformat(), new


def remove_template(record) -> None:
    """Delete a template record (and rows built with it that point at it) below the ORM, unaudited, so its
    unique values are free for the form that creates the same record again."""
    table = record.__table__
    for other in db.metadata.sorted_tables:
        for fk in other.foreign_key_constraints:
            if fk.referred_table is table and other.name != "audit_log":
                column = next(iter(fk.columns))
                db.session.execute(other.delete().where(column == record.id))
    db.session.execute(table.delete().where(table.c.id == record.id))


def role_for(spec, perm: str) -> str | None:
    holders = getattr(spec.roles, perm)
    return "admin" if "admin" in holders else (sorted(holders)[0] if holders else None)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# -- 1. the route inventory -------------------------------------------------------------------------
def test_every_post_route_and_action_is_walked(app):
    """A POST route or an action the walk below does not cover fails here."""
    views = schema_views(app)
    covered = {f"{ep}.{route}" for ep in views for route in SCHEMA_ROUTES} | set(HAND_WRITTEN_ROUTES)
    missing = post_endpoints(app) - covered - set(EXCLUDED_POST_ROUTES)
    assert not missing, f"POST routes the audit walk does not cover: {sorted(missing)}"
    stale = (set(HAND_WRITTEN_ROUTES) | set(EXCLUDED_POST_ROUTES)) - post_endpoints(app)
    assert not stale, f"listed routes that no longer exist: {sorted(stale)}"
    actions = {(ep, name) for ep, v in views.items() for name in {*v._actions_data, *v.confirm_actions}
               if name != "delete"}
    unwalked = actions - set(SCENARIOS) - set(NO_WRITE_ACTIONS)
    assert not unwalked, f"actions without an audit walk: {sorted(unwalked)}"
    assert not set(SCENARIOS) - actions, sorted(set(SCENARIOS) - actions)


# -- 2. create, edit, delete through every generated view --------------------------------------------
TABLES = [m.__tablename__ for m in REGISTRY]


@pytest.mark.parametrize("table", TABLES)
def test_create_edit_delete_are_audited(app, staff, table):
    view = view_of(app, table)
    spec, model = view.spec, view.model
    creator, editor, deleter = (role_for(spec, p) for p in ("create", "edit", "delete"))
    create_fields, edit_fields = form_fields(app, view, True), form_fields(app, view, False)

    def setup():
        subject, spare = make(table, bare=True), make(table, bare=True)
        db.session.flush()
        template = None
        values = {}
        if creator:
            template = make(table)
            db.session.flush()
            values = form_data(view, template, create_fields, create=True)
            remove_template(template)
        return {"subject": subject, "spare": spare, "values": values}

    ids = in_app(app, setup)
    admin = walker(app, staff)
    base = f"/admin/{table}"

    # create
    if creator:
        w = walker(app, staff, creator)
        data, kw = dict(ids["values"]), {}
        if "upload" in create_fields:
            data["upload"] = (io.BytesIO(PDF), "资料.pdf")
            kw["content_type"] = "multipart/form-data"
        w.write("POST", f"{base}/new/", data, **kw)
    else:
        admin.write("POST", f"{base}/new/", {}, expect=(403,), writes=False)

    # edit one free-text field: the audit row carries [old, new]
    sid = ids["subject"]
    if editor:
        with app.app_context():
            record = db.session.get(model, sid)
            data = form_data(view, record, edit_fields, create=False)
            field, posted, new = edit_change(model, edit_fields, record)
            old = getattr(record, field)
            db.session.remove()
        data[field] = posted
        mark = snapshot(app)["mark"]
        walker(app, staff, editor).write("POST", f"{base}/edit/?id={sid}", data)
        changed = [a["changes"][field] for a in audits_since(app, mark)
                   if (a["table"], a["record"], a["operation"]) == (table, sid, "修改") and field in a["changes"]]
        assert changed and same(old, changed[0][0]) and same(new, changed[-1][1]), (field, old, new, changed)
    else:
        admin.write("POST", f"{base}/edit/?id={sid}", {"row_version": "1"}, expect=(403,), writes=False)

    # delete: through the preview's confirm, and the list's batch action
    if deleter:
        w = walker(app, staff, deleter)
        w.write("GET", f"{base}/delete/?id={sid}", expect=(200,), writes=False)
        w.write("POST", f"{base}/delete/", {"id": sid, "url": f"{base}/"}, writes=False)  # opens the preview
        w.write("POST", f"{base}/delete/", {"id": sid, "confirm": "1", "url": f"{base}/"})
        w.write("POST", f"{base}/action/", {"action": "delete", "rowid": ids["spare"], "url": f"{base}/"})
    else:
        admin.write("GET", f"{base}/delete/?id={sid}", expect=(403,), writes=False)
        admin.write("POST", f"{base}/delete/", {"id": sid, "confirm": "1"}, expect=(403,), writes=False)
        admin.write("POST", f"{base}/action/", {"action": "delete", "rowid": sid}, expect=(403,), writes=False)

    # no view edits in the list: the x-editable endpoint writes nothing for anyone; nor does an unknown action
    target = ids["spare"] if not deleter else sid
    admin.write("POST", f"{base}/ajax/update/", {"list_form_pk": target, "note": "x"}, expect=(403, 404),
                writes=False)
    admin.write("POST", f"{base}/confirm/no_such_action/?ids={target}", {"ids": target, "reason": "x"},
                expect=(403, 404), writes=False)


# -- 3. every @action and confirm action -------------------------------------------------------------
BATCH = scaled(2)
"""Records per direct action: after the first one's commit the others are expired, as in a real batch."""
SCENARIOS: dict = {}
"""(endpoint, action) -> fn(n) building n records the action applies to, returning (records, form fields)."""


def scenario(endpoint, *names):
    def register(fn):
        for name in names:
            SCENARIOS[(endpoint, name)] = fn
        return fn
    return register


def local(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def dept(name=None):
    existing = db.session.scalars(select(factories.Department).where(factories.Department.name == name)).first() \
        if name else None
    return existing or factories.department(**({"name": name} if name else {}))


@scenario("bulletin_post", "take_down")
def _posts(name, n):
    return [factories.bulletin_post() for _ in range(n)], {}


@scenario("community_event", "approve", "set_up", "hold", "archive")
def _events(name, n):
    status = {"approve": "planning", "set_up": "approved", "hold": "set_up", "archive": "held"}[name]
    start = clock.now() - timedelta(days=1)
    events = [factories.community_event(status=status, start_at=start, end_at=start + timedelta(hours=3))
              for _ in range(n)]
    db.session.flush()
    if name == "archive":
        for e in events:
            factories.document(ref_table=community.EVENT_TABLE, ref_id=e.id, doc_type="other", title="活动照片")
    fields = {"approve": {"note": "同意"}, "hold": {"headcount": "60", "cost": "2800.00", "summary": "顺利举办"}}
    return events, fields.get(name, {})


@scenario("complaint", "classify", "verify", "assign", "on_site", "followup", "escalate")
def _complaints(name, n):
    d = dept()
    now = clock.now()
    states = {
        "classify": {}, "verify": {},
        "assign": {"kind": "valid", "category": "cleaning", "status": "classified"},
        "on_site": {"kind": "valid", "category": "cleaning", "status": "assigned", "department": d,
                    "supervisor_name": "陈主管"},
        "followup": {"kind": "valid", "category": "cleaning", "status": "on_site", "department": d,
                     "supervisor_name": "陈主管", "onsite_at": now - timedelta(hours=2), "handling": "已清理"},
        "escalate": {"kind": "communication", "category": "venting", "status": "classified"},
    }
    records = [factories.complaint(**states[name]) for _ in range(n)]
    db.session.flush()
    fields = {"classify": {"category": "cleaning"}, "verify": {"note": "核对业主姓名与房号"},
              "assign": {"department_id": d.id, "supervisor": ""},
              "on_site": {"at": local(now), "handling": "与保洁主管到现场清理"},
              "followup": {"at": local(now), "satisfied": "1", "result": "投诉人表示满意"},
              "escalate": {"category": "maintenance", "reason": "电梯多次故障未修"}}
    return records, fields[name]


@scenario("call_log", "to_work_order", "to_complaint", "followup")
def _calls(name, n):
    d = dept()
    records = [factories.call_log(unit=factories.unit()) for _ in range(n)]
    db.session.flush()
    return records, {"to_work_order": {"category": "leak", "department_id": d.id}, "to_complaint": {"category": ""},
                     "followup": {"result": "已电话告知维修时间"}}[name]


@scenario("lease", "sign", "terminate")
def _leases(name, n):
    """Signing writes the rent charges; terminating voids the rent after the day it ends."""
    from app import leasing

    leases = [factories.lease() for _ in range(n)]
    if name == "terminate":
        db.session.flush()
        for lease in leases:
            leasing.sign_lease(lease, date(2026, 1, 1))
    return leases, {"on": clock.today().isoformat(), "reason": "提前退租"}


@scenario("charge", "void")
def _charges(name, n):
    return [factories.charge() for _ in range(n)], {"reason": "重复计费"}


@scenario("payment", "void")
def _payments(name, n):
    from schema.ledger import PaymentAllocation

    out = []
    for _ in range(n):
        c = factories.charge(amount_paid=Decimal("100.00"), status="partial")
        p = factories.payment(unit=c.unit)
        db.session.add(PaymentAllocation(payment=p, charge=c, amount=Decimal("100.00")))
        out.append(p)
    return out, {"reason": "收据填错"}


def ready_move_in():
    """A move-in with every document, item and reading in place and its fee collected."""
    from app import movein

    own = factories.ownership(unit=factories.unit(status="vacant"))
    for code in ("id_copy", "movein_notice", "purchase_contract"):
        factories.document(doc_type=code, title=code, owner=own.owner, unit=own.unit)
    m = factories.move_in(unit=own.unit, owner=own.owner, registration_form_signed=True, agreements_signed=True,
                          keys_count=2, handbook_given=True, drawings_given=True, water_reading="12",
                          electricity_reading="345", gas_reading="6", readings_confirmed=True)
    db.session.flush()
    movein.collect_move_in_fee(m, Decimal("223.75"), "cash")
    return m


@scenario("move_in", "complete", "collect_fee")
def _move_ins(name, n):
    if name == "complete":
        return [ready_move_in() for _ in range(n)], {}
    return [factories.move_in() for _ in range(n)], {"amount": "223.75", "months": "1", "method": "cash"}


@scenario("inspection", "work_orders", "reinspect", "sign")
def _inspections(name, n):
    d = dept("工程维修部")
    out = []
    for _ in range(n):
        i = factories.inspection()
        if name == "sign":
            i.items[1].passed = True
        else:
            i.items[1].passed, i.items[1].description = False, "卫生间防水层渗漏"
        if name == "reinspect":
            i.status = "rectifying"
            i.items[1].work_order = factories.work_order(unit=i.unit, status="done", category="leak")
        out.append(i)
    db.session.flush()
    return out, {"agreed_time": local(clock.now() + timedelta(days=2)), "department_id": d.id}


def _slip_unit(overdue=False):
    own = factories.ownership()
    if overdue:
        factories.charge(unit=own.unit, owner=own.owner, due_date=clock.today() - timedelta(days=40))
    return own


@scenario("release_slip", "confirm_owner", "override", "issue", "release", "void", "print")
def _slips(name, n):
    out, own = [], None
    for _ in range(n):
        own = _slip_unit(overdue=name == "override")
        kw = {"unit": own.unit, "id_number": own.owner.id_number, "applicant": own.owner.name}
        if name == "confirm_owner":
            kw.update(applicant="搬家公司王师傅", relation="agent", id_number=factories.resident_id())
        if name in ("release", "void", "print"):
            kw.update(status="issued", number=f"FX20261127-{factories.mobile()[-4:]}", issued_at=clock.now())
        out.append(factories.release_slip(**kw))
    fields = {"confirm_owner": {"confirmed_by": own.owner.name, "phone": own.owner.phone, "at": local(clock.now())},
              "override": {"reason": "业主已承诺本周缴清"}, "issue": {"id_checked": "1"},
              "release": {"guard": "门岗老刘", "at": local(clock.now())}, "void": {"reason": "物品清单登记错误"}}
    return out, fields.get(name, {})


@scenario("renovation_permit", "review", "approve", "reject", "start", "complete", "collect_fee", "print")
def _permits(name, n):
    for d in ("工程维修部", "秩序维护部"):
        dept(d)
    status = {"review": "applied", "approve": "reviewed", "reject": "applied", "start": "approved",
              "complete": "in_progress", "collect_fee": "applied", "print": "approved"}[name]
    out = []
    for _ in range(n):
        kw = {"status": status, "agreement_signed": True, "rules_acknowledged": True, "waste_fee": Decimal("300.00")}
        if status in ("approved", "in_progress"):
            kw.update(number=f"ZX20261127-{factories.mobile()[-4:]}", approved_at=clock.now())
        if status == "in_progress":
            kw.update(started_at=clock.now() - timedelta(days=1), unit_status_before="occupied")
        out.append(factories.renovation_permit(**kw))
    return out, {"review": {"note": "方案可行"}, "reject": {"reason": "方案不全"},
                 "collect_fee": {"method": "cash"}}.get(name, {})


@scenario("dept_check", "rectify", "recheck")
def _slip_checks(name, n):
    status = "open" if name == "rectify" else "rectified"
    return ([factories.dept_check(status=status) for _ in range(n)],
            {"rectify": {"note": "已清理", "at": local(clock.now())},
             "recheck": {"passed": "1", "note": "复查合格"}}[name])


@scenario("patrol", "raise_slips")
def _patrols(name, n):
    dept("保洁部")
    return ([factories.patrol(at=clock.now() - timedelta(hours=1), hygiene_ok=False, hygiene_note="楼道有垃圾")
             for _ in range(n)], {"deadline": local(clock.now() + timedelta(days=3))})


@scenario("notification", "acknowledge")
def _notices(name, n):
    return [factories.notification() for _ in range(n)], {}


@scenario("followup_visit", "record", "to_work_order", "cancel")
def _visits(name, n):
    d = dept()
    db.session.flush()
    kw = {"status": "done", "problems": "墙面仍有渗水", "visited_at": clock.now() - timedelta(hours=1),
          "content": "电话回访", "result": "unsatisfied"} if name == "to_work_order" else {}
    fields = {"record": {"at": local(clock.now()), "content": "电话回访维修情况", "problems": "", "opinion": "",
                         "result": "satisfied"},
              "to_work_order": {"category": "leak", "department_id": d.id}, "cancel": {"reason": "业主已搬离"}}
    return [factories.followup_visit(**kw) for _ in range(n)], fields[name]


@scenario("service_order", "schedule", "accept", "charge", "cancel")
def _orders(name, n):
    kw = {"schedule": {}, "cancel": {},
          "accept": {"status": "scheduled", "staff": "王师傅", "scheduled_at": clock.now() - timedelta(hours=2)},
          "charge": {"status": "accepted", "accepted": True, "staff": "王师傅",
                     "scheduled_at": clock.now() - timedelta(hours=2)}}[name]
    fields = {"schedule": {"staff": "王师傅", "at": local(clock.now() + timedelta(days=2))},
              "accept": {"accepted": "1", "note": "干净"}, "charge": {"method": "cash"}, "cancel": {"reason": "业主取消"}}
    return [factories.service_order(**kw) for _ in range(n)], fields[name]


@scenario("visitor", "check_out")
def _visitors(name, n):
    return [factories.visitor() for _ in range(n)], {}


@scenario("work_order", "dispatch", "accept", "start", "complete", "followup", "close")
def _work_orders(name, n):
    d = dept()
    db.session.flush()
    now = clock.now()
    kw = {"dispatch": {}, "close": {},
          "accept": {"status": "dispatched", "department": d, "dispatched_at": now - timedelta(hours=3)},
          "start": {"status": "accepted", "department": d, "accepted_at": now - timedelta(hours=2)},
          "complete": {"status": "in_progress", "department": d, "started_at": now - timedelta(hours=1)},
          "followup": {"status": "done", "department": d, "completed_at": now - timedelta(hours=1),
                       "followup_due": now + timedelta(days=2)}}[name]
    fields = {"dispatch": {"department_id": d.id}, "complete": {"at": local(now), "leak_test_at": ""},
              "followup": {"method": "phone", "satisfied": "1", "result": "业主满意", "problems": ""},
              "close": {"reason": "业主已自行修好"}}
    return [factories.work_order(**kw) for _ in range(n)], fields.get(name, {})


@pytest.mark.parametrize("endpoint,name", sorted(SCENARIOS))
def test_action_is_audited(app, staff, endpoint, name):
    """Direct actions run on BATCH records (the later ones expired by the first one's commit, as in a real batch);
    an action that opens its confirm page writes nothing; the confirm page writes, audited."""
    view = view_of(app, endpoint)
    w = walker(app, staff, role_for_action(view, name))
    build = SCENARIOS[(endpoint, name)]
    base = f"/admin/{endpoint}"
    if name in view._actions_data:
        ids, _fields = in_app(app, lambda: build(name, BATCH))
        before = snapshot(app)
        resp = w.browser.post(f"{base}/action/", {"action": name, "rowid": ids, "url": f"{base}/"})
        after = snapshot(app)
        assert resp.status_code == 302, resp.status_code
        FIGURES["routes"].add(f"{endpoint}.action_view")
        redirect_only = "/confirm/" in resp.location or (endpoint, name) in NO_WRITE_ACTIONS
        if redirect_only:
            assert not written(before, after) and not audits_since(app, before["mark"])
        else:
            assert written(before, after), w.flashes(resp)
            FIGURES["writes_checked"] += check_audited(before, after, audits_since(app, before["mark"]), w.user)
    if name in view.confirm_actions:
        ids, fields = in_app(app, lambda: build(name, 1))
        joined = ",".join(map(str, ids))
        w.write("GET", f"{base}/confirm/{name}/?ids={joined}", expect=(200,), writes=False)
        w.write("POST", f"{base}/confirm/{name}/?ids={joined}", {"ids": joined, "reason": "审计测试", **fields})
    FIGURES["actions"].add((endpoint, name))


def role_for_action(view, name) -> str:
    holders = view.spec.actions.get(name) or view.spec.roles.delete
    return "admin" if "admin" in holders else sorted(holders)[0]


# -- 4. the hand-written write routes ------------------------------------------------------------------
def test_month_billing_is_audited(app, staff):
    in_app(app, lambda: [factories.unit(status="occupied") for _ in range(3)])
    w = walker(app, staff, "leasing")
    w.write("POST", "/admin/charge/bill/", {"month": clock.today().strftime("%Y-%m"), "building_id": ""})


def test_inspection_items_are_audited(app, staff):
    iid, items = in_app(app, lambda: (lambda i: (i, list(i.items)))(factories.inspection()))
    data = {f"passed_{items[0]}": "1", f"passed_{items[1]}": "0", f"desc_{items[1]}": "卫生间地面渗水"}
    walker(app, staff, "maintenance").write("POST", f"/admin/inspection/items/?id={iid}", {"id": iid, **data})


def test_saving_a_list_view_is_audited(app, staff):
    w = walker(app, staff, "frontdesk")
    w.write("POST", "/admin/saved_view/save/", {"endpoint": "work_order", "query": "flt0_status_equals=pending",
                                                "name": "待派工单", "shared_role": "frontdesk"})


IMPORTS = {
    "owner": lambda t: (t.OWNER_HEADERS, t.owner_rows(), lambda app: None),
    "unit": lambda t: (t.UNIT_HEADERS, [[None, "3栋", "1202", 12, 89.5, "住宅", "空置", 2.5, date(2024, 3, 1), "备注"],
                                        [None, "5栋", "101", 1, "120.00", "商铺", "已入住", None, None, None]],
                       lambda app: t.place(app, with_owner=False)),
    "opening_balance": lambda t: (t.OPENING_HEADERS,
                                  [[None, "3栋1201", None, None, "物业管理费", None, None, None, None,
                                    date(2026, 1, 31), 1234.5, "旧系统结转"]],
                                  lambda app: t.place(app)),
}


@pytest.mark.parametrize("kind", sorted(IMPORTS))
def test_excel_import_is_audited(app, staff, kind):
    """The importer inserts with Core (no ORM flush): each row it writes still has its full 新增 row."""
    from . import test_import as t

    headers, rows, prepare = IMPORTS[kind](t)
    prepare(app)
    w = walker(app, staff, "admin")
    w.write("POST", "/admin/import/upload/", {"kind": kind, "file": (io.BytesIO(t.xlsx(headers, rows)), "导入.xlsx")},
            content_type="multipart/form-data", writes=False)
    resp = w.write("POST", "/admin/import/commit/", expect=(200,))
    assert "已导入" in resp.get_data(as_text=True)


# -- 5. who: each role's writes carry its own name ----------------------------------------------------
@pytest.mark.parametrize("role,endpoint,name", [
    ("frontdesk", "call_log", "followup"), ("supervisor", "complaint", "escalate"), ("leasing", "charge", "void"),
    ("maintenance", "work_order", "start"), ("manager", "renovation_permit", "approve"),
])
def test_each_role_is_named_in_its_audit_rows(app, staff, role, endpoint, name):
    w = walker(app, staff, role)
    ids, fields = in_app(app, lambda: SCENARIOS[(endpoint, name)](name, 1))
    joined = ",".join(map(str, ids))
    if name in view_of(app, endpoint).confirm_actions:
        w.write("POST", f"/admin/{endpoint}/confirm/{name}/?ids={joined}", {"ids": joined, "reason": "核实", **fields})
    else:
        w.write("POST", f"/admin/{endpoint}/action/", {"action": name, "rowid": ids})
    with app.app_context():
        names = set(db.session.scalars(select(AuditLog.username).where(AuditLog.table_name == endpoint,
                                                                       AuditLog.record_id == ids[0],
                                                                       AuditLog.operation == "修改")))
    assert names == {role}


# -- 6. financial rows are voided, never deleted ----------------------------------------------------
FINANCIAL_TABLES = sorted(deletion.FINANCIAL)


def ledger_rows():
    """A charge partly settled by a payment (one allocation), on a unit with an owner, taken by admin."""
    from schema.ledger import PaymentAllocation

    own = factories.ownership()
    clerk = db.session.scalars(select(AppUser).where(AppUser.username == "admin")).one()
    c = factories.charge(unit=own.unit, owner=own.owner, amount_paid=Decimal("100.00"), status="partial")
    p = factories.payment(unit=own.unit, owner=own.owner, clerk=clerk)
    a = PaymentAllocation(payment=p, charge=c, amount=Decimal("100.00"))
    db.session.add(a)
    return {"charge": c, "payment": p, "payment_allocation": a, "unit": own.unit, "owner": own.owner}


def test_no_role_holds_delete_on_financial_tables():
    for model in REGISTRY:
        if model.__tablename__ in deletion.FINANCIAL:
            assert model.__admin__.roles.delete == frozenset(), model.__tablename__
            assert "delete" not in model.__admin__.actions, model.__tablename__


@pytest.mark.parametrize("role", ROLES)
def test_every_delete_route_of_financial_rows_answers_403(app, staff, role):
    ids = in_app(app, ledger_rows)
    w = walker(app, staff, role)
    for table in FINANCIAL_TABLES:
        rid, base = ids[table], f"/admin/{table}"
        w.write("GET", f"{base}/delete/?id={rid}", expect=(403,), writes=False)
        w.write("POST", f"{base}/delete/", {"id": rid, "url": f"{base}/"}, expect=(403,), writes=False)
        w.write("POST", f"{base}/delete/", {"id": rid, "confirm": "1", "url": f"{base}/"}, expect=(403,), writes=False)
        w.write("POST", f"{base}/action/", {"action": "delete", "rowid": rid, "url": f"{base}/"}, expect=(403,),
                writes=False)
        w.write("POST", f"{base}/confirm/delete/?ids={rid}", {"ids": rid, "reason": "x"}, expect=(403, 404),
                writes=False)


def test_voiding_is_the_way_and_keeps_every_row(app, staff):
    """What a clerk does instead of deleting: void the receipt, then the charge; all three rows stay."""
    from schema.ledger import Charge, Payment, PaymentAllocation

    ids = in_app(app, ledger_rows)
    w = walker(app, staff, "leasing")
    w.write("POST", f"/admin/payment/confirm/void/?ids={ids['payment']}", {"ids": ids["payment"], "reason": "收据填错"})
    w.write("POST", f"/admin/charge/confirm/void/?ids={ids['charge']}", {"ids": ids["charge"], "reason": "重复计费"})
    with app.app_context():
        assert db.session.get(Payment, ids["payment"]).status == "void"
        charge = db.session.get(Charge, ids["charge"])
        assert (charge.status, charge.amount_paid) == ("void", Decimal("0.00"))
        assert db.session.get(PaymentAllocation, ids["payment_allocation"]) is not None
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.table_name.in_(("charge", "payment")),
                                                                       AuditLog.username == "leasing")))
        assert actions == {"作废"}


def test_the_orm_refuses_to_delete_financial_rows_in_any_session(app, staff):
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from schema.ledger import Charge, Payment, PaymentAllocation

    ids = in_app(app, ledger_rows)
    models = {"charge": Charge, "payment": Payment, "payment_allocation": PaymentAllocation}
    with app.app_context():
        for table, model in models.items():
            db.session.delete(db.session.get(model, ids[table]))
            with pytest.raises(deletion.LedgerDeleteRefused, match="只能作废,不能删除"):
                db.session.flush()
            db.session.rollback()
            with pytest.raises(deletion.LedgerDeleteRefused):
                db.session.execute(delete(model).where(model.id == ids[table]))
            db.session.rollback()
            with pytest.raises(deletion.LedgerDeleteRefused):
                db.session.query(model).filter(model.id == ids[table]).delete()
            db.session.rollback()
            with Session(db.engine) as script:  # a script's own session, not Flask-SQLAlchemy's
                script.delete(script.get(model, ids[table]))
                with pytest.raises(deletion.LedgerDeleteRefused):
                    script.commit()
        assert [db.session.scalar(select(func.count()).select_from(m)) for m in models.values()] == [1, 1, 1]
        # the refusal is an IntegrityError: the views' handler turns it into their message, never a 500
        from sqlalchemy.exc import IntegrityError

        assert issubclass(deletion.LedgerDeleteRefused, IntegrityError)
        db.session.remove()


@pytest.mark.parametrize("parent", ["unit", "owner", "lease", "app_user", "payment", "charge"])
def test_a_record_financial_rows_point_at_is_blocked_never_cascaded(app, staff, parent):
    """Each foreign key of the financial tables: the preview blocks the parent with the ledger's reason, nothing
    financial is listed as deleted or unlinked, and the ORM refuses the delete (it would blank their key)."""
    from schema.ledger import Charge, Payment, PaymentAllocation

    def setup():
        rows = ledger_rows()
        rows["lease"] = factories.lease()
        factories.charge(lease=rows["lease"], kind="rent", unit=None)
        rows["app_user"] = db.session.scalars(select(AppUser).where(AppUser.username == "admin")).one()
        return rows

    ids = in_app(app, setup)
    model = next(m for m in REGISTRY if m.__tablename__ == parent)
    menus = {m.__admin__.menu for m in (Charge, Payment, PaymentAllocation)}
    with app.app_context():
        record = db.session.get(model, ids[parent])
        impact = deletion.impact(record)
        assert any(reason == deletion.FINANCIAL_REASON for _label, _n, reason in impact["blocks"]), impact
        assert not [label for label, _n in impact["deletes"] + impact["unlinks"]
                    if any(menu in label for menu in menus)], impact
        before = {m: db.session.scalar(select(func.count()).select_from(m)) for m in (Charge, Payment, PaymentAllocation)}
        db.session.delete(record)
        with pytest.raises(deletion.LedgerDeleteRefused):
            db.session.flush()
        db.session.rollback()
        assert before == {m: db.session.scalar(select(func.count()).select_from(m))
                          for m in (Charge, Payment, PaymentAllocation)}
        assert db.session.scalar(select(func.count()).select_from(Charge).where(Charge.unit_id.is_(None),
                                                                                Charge.lease_id.is_(None))) == 0
        db.session.remove()
    if parent not in deletion.FINANCIAL and role_for(model.__admin__, "delete"):
        w = walker(app, staff, role_for(model.__admin__, "delete"))
        w.write("POST", f"/admin/{parent}/delete/", {"id": ids[parent], "confirm": "1", "url": f"/admin/{parent}/"},
                writes=False)
        preview = w.browser.get(f"/admin/{parent}/delete/?id={ids[parent]}").get_data(as_text=True)
        assert deletion.FINANCIAL_REASON in preview


def test_the_test_suites_core_wipe_still_empties_financial_tables(app, staff):
    from schema.ledger import Charge, Payment, PaymentAllocation

    in_app(app, ledger_rows)
    from .conftest import wipe

    wipe(app)
    with app.app_context():
        assert [db.session.scalar(select(func.count()).select_from(m)) for m in (Charge, Payment, PaymentAllocation)] \
            == [0, 0, 0]


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    if FIGURES["writes_checked"]:
        record("audit", routes=len(FIGURES["routes"]), actions=len(FIGURES["actions"]),
               writes_checked=FIGURES["writes_checked"], batch=BATCH)
