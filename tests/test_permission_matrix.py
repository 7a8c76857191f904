"""Every route of the app's URL map × every role × (anonymous, a record in the user's estate, a record
of another estate): the expected answer is read from the specs (roles per permission and per action,
each page's roles), never from the code under test. Any leak fails; the suite reports its cells.

- anonymous: a redirect to /login whose `next` is this same-site path, on every route;
- a role without the permission: 403, whatever the record;
- a role with it, naming a record of its own estate: the page (200) or its redirect (302);
- a role with it, naming another estate's record: 404 (admins and managers see every estate).
POST-only routes are checked for the refusals only (anonymous, 403, 404): running them would write.
"""
import io
import os
from urllib.parse import parse_qs, urlsplit

import pytest

from admin_views.generic import VIEW_PERMISSIONS, SchemaView
from admin_views.pages import RolePage
from app import scoping
from schema.spec import ROLES

from .conftest import ARTIFACTS, ESTATE_A_USERS, Browser
from .security_figures import record

pytestmark = pytest.mark.security

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

USER_OF = {role: ESTATE_A_USERS.get(role, role) for role in ROLES}
"""The signed-in user per role: estate-A users for the bound roles, the all-estates admin and manager."""
PUBLIC = {"static", "auth.login", "auth.logout", "auth.set_language", "root", "admin.static"}
"""Routes open to everyone (the login page, assets, the language switch)."""
RECORD_PARAM = {"household.index": "unit"}
"""Pages outside the generated views that name a record, and their parameter (by unit)."""
NEEDS_RECORD = {"saved_view.open_view"}
"""Routes that open one record and answer 404 when named none (here: a user's own saved view)."""
OWN_RULES = {"saved_view", "audit_log"}
"""Tables whose rows follow their own visibility rule (a user's saved views; the audit rows of records in
scope, tests/test_scoping.py): checked here for permissions only."""


def admin_views(app) -> dict:
    admin = app.extensions["propdesk_admin"]
    return {view.endpoint: view for view in admin._views}


def permission(view, method: str, variable: str | None, kind: str | None = None):
    """What a route needs, from the declarations: the spec's roles for SchemaView routes, the page's
    roles for the others. Returns the roles allowed."""
    if isinstance(view, SchemaView):
        spec = view.spec
        if method == "confirm_view":
            return frozenset(spec.actions.get(variable, ()))
        if method == "ajax_lookup":
            return spec.roles.create | spec.roles.edit
        perm = {**VIEW_PERMISSIONS, **view.extra_permissions}.get(method)
        if perm is None:
            return frozenset()
        if perm.startswith("action:"):
            return frozenset(spec.actions.get(perm.split(":", 1)[1], ()))
        return frozenset(getattr(spec.roles, perm))
    if isinstance(view, RolePage):
        if kind is not None:  # an import kind: create on every table it writes
            from app.importing.engine import KINDS

            for model in KINDS[kind].models:
                view_roles = frozenset(view.roles) & model.__admin__.roles.create
                view = type("Kind", (), {"roles": view_roles})
        return frozenset(view.roles)
    return frozenset(ROLES)  # the home page: every signed-in role


def routes(app):
    """(rule, view, method, variables) for every admin route, path variables filled from the view."""
    views = admin_views(app)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.endswith(".static"):
            continue
        endpoint, _, method = rule.endpoint.rpartition(".")
        view = views.get(endpoint)
        assert view is not None, f"{rule.rule}: a route outside the admin must be declared public or checked"
        if "action_name" in rule.arguments:
            for name in getattr(view, "confirm_actions", {}):
                yield rule, view, method, {"action_name": name}
        elif "export_type" in rule.arguments:
            for kind in ("xlsx", "csv"):
                yield rule, view, method, {"export_type": kind}
        elif "kind" in rule.arguments:  # import templates, one per kind
            from app.importing.engine import KINDS

            for kind in KINDS:
                yield rule, view, method, {"kind": kind}
        else:
            assert not rule.arguments, f"{rule.rule}: fill its path variables here"
            yield rule, view, method, {}


def record_args(view, method, ids: dict) -> dict:
    """The query arguments naming this view's record in one world (None: the route names none)."""
    if isinstance(view, SchemaView):
        table = view.model.__tablename__
        if table not in ids or table in OWN_RULES:
            return {}
        args = {"id": ids[table], "ids": ids[table]}
        if method == "ajax_lookup":
            refs = list(view._form_ajax_refs or {})
            args.update({"name": refs[0], "query": ""} if refs else {})
        return args
    param = RECORD_PARAM.get(f"{view.endpoint}.{method}")
    return {param: ids["unit"]} if param else {}


def test_every_route_every_role_every_scope(app, estate_worlds):
    a, b = estate_worlds
    with app.app_context():  # the documents carry a stored file, so their download answers
        from app import storage
        from app.extensions import db
        from schema.documents import Document

        for world in (a, b):
            meta = storage.store(io.BytesIO(PNG), "scan.png")
            doc = db.session.get(Document, world["document"])
            doc.sha256, doc.size, doc.content_type, doc.filename = (meta["sha256"], meta["size"],
                                                                     meta["content_type"], meta["filename"])
        db.session.commit()
    clients = {role: Browser(app).login(user) for role, user in USER_OF.items()}
    anonymous = Browser(app)  # not signed in; its POSTs carry a CSRF token, so they reach the login check
    cells = leaks = 0
    problems = []
    for rule, view, method, variables in routes(app):
        path = rule.build(variables, append_unknown=False)[1]
        get = "GET" in rule.methods
        allowed = permission(view, method, variables.get("action_name"), variables.get("kind"))
        in_scope, out_scope = record_args(view, method, a), record_args(view, method, b)
        names_record = bool(in_scope) and (not isinstance(view, SchemaView) or scoping.is_scoped(view.model))

        resp = anonymous.get(path, query_string=in_scope) if get else anonymous.post(path, in_scope)
        cells += 1
        location = resp.headers.get("Location", "")
        nxt = parse_qs(urlsplit(location).query).get("next", [""])[0]
        if resp.status_code != 302 or urlsplit(location).path != "/login" or not nxt.startswith(path):
            problems.append(f"anonymous {rule.rule}: {resp.status_code} {location}")

        for role, client in clients.items():
            bound = role in ESTATE_A_USERS
            for scope, args in (("in", in_scope), ("out", out_scope)):
                if scope == "out" and not names_record:
                    continue
                if get:
                    resp = client.get(path, query_string=args)
                else:
                    resp = client.post(path, {**args, "rowid": args.get("id", "")})
                cells += 1
                code = resp.status_code
                if role not in allowed:
                    expected = (403,)
                elif scope == "out" and bound:
                    expected = (404,)
                elif not get:
                    continue  # permitted POSTs are the domain suites' business (they write)
                elif method == "ajax_lookup" and not view._form_ajax_refs:
                    expected = (404,)  # no picker on this form: nothing to look up
                elif f"{view.endpoint}.{method}" in NEEDS_RECORD and not args:
                    expected = (404,)
                else:
                    expected = (200, 302)
                if code not in expected:
                    leaks += code in (200, 302)
                    problems.append(f"{role} {scope} {'GET' if get else 'POST'} {path}?{args}: {code}, want {expected}")
    record("permission matrix", cells=cells, routes=sum(1 for _ in routes(app)), roles=len(ROLES), leaks=leaks)
    with open(os.path.join(ARTIFACTS, "permission-matrix-problems.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(problems))
    assert not problems, f"{len(problems)} of {cells} cells wrong:\n" + "\n".join(problems[:60])
