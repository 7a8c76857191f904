"""The audit trail: every flush of a registered entity writes audit_log rows in the same transaction."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from . import clock

OPERATIONS = {"insert": "新增", "update": "修改", "delete": "删除"}
SKIP = {"version", "session_token"}


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _ids(objs) -> list:
    return sorted(inspect(o).identity[0] if inspect(o).identity else getattr(o, "id", None) for o in objs)


def _links(state, op: str) -> dict:
    """{relationship: [old ids, new ids]} for the many-to-many collections the flush writes (an account's
    estates, a dunning's charges): their association rows are written with the record. Only collections
    loaded on this side are read; a backref's unloaded collection would give a partial list."""
    out = {}
    for rel in state.mapper.relationships:
        if rel.secondary is None or rel.viewonly or rel.key not in state.dict:
            continue
        hist = state.attrs[rel.key].history
        old = _ids(list(hist.unchanged) + list(hist.deleted))
        new = _ids(list(hist.unchanged) + list(hist.added))
        if op == "insert":
            old = []
        elif op == "delete":
            new = []
        if old != new:
            out[rel.key] = [old, new]
    return out


def _changes(obj, op: str) -> dict:
    """{field: [old, new]} for the mapped columns and many-to-many links the flush touches."""
    state = inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in SKIP or key == "password_hash":
            continue
        hist = state.attrs[key].history
        if op == "insert":
            new = getattr(obj, key)
            if new is not None and key != "id":
                out[key] = [None, _plain(new)]
        elif op == "delete":
            old = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            if old is not None and key != "id":
                out[key] = [_plain(old), None]
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                out[key] = [_plain(old), _plain(new)]
    if op == "update" and "password_hash" in [k for k in state.attrs.keys()]:
        if state.attrs["password_hash"].history.has_changes():
            out["password"] = ["******", "******"]
    out.update(_links(state, op))
    return out


def _actor():
    ctx = {}
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        ctx = {"user_id": current_user.id, "username": current_user.username}
    return ctx


@contextmanager
def audit_context(session: Session, action: str | None = None, note: str | None = None, username: str | None = None):
    """Label the writes inside with an action name and a reason (e.g. 作废, 原因)."""
    saved = dict(session.info.get("audit", {}))
    session.info["audit"] = {**saved, **{k: v for k, v in
                             {"action": action, "note": note, "username": username}.items() if v}}
    try:
        yield
    finally:
        session.info["audit"] = saved


def audited(obj) -> bool:
    return getattr(type(obj), "__admin__", None) is not None and type(obj).__tablename__ != "audit_log"


def init_audit() -> None:
    """Listen on Flask-SQLAlchemy's session class; ids exist in after_flush and history is intact."""
    from flask_sqlalchemy.session import Session as FlaskSession

    if not event.contains(FlaskSession, "after_flush", _write):
        event.listen(FlaskSession, "after_flush", _write)
    from .deletion import install_ledger_guard

    install_ledger_guard()  # financial rows are voided (with an audit row), never deleted


def _write(session, flush_context):
    from schema.org import AuditLog

    rows = []
    ctx = session.info.get("audit", {})
    actor = _actor()
    now = clock.now()
    for op, objs in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objs:
            if not audited(obj):
                continue
            changes = _changes(obj, op)
            if op == "update" and not changes and not (
                    ctx.get("action") and session.is_modified(obj, include_collections=False)):
                continue
            rows.append({
                "at": now,
                "user_id": actor.get("user_id"),
                "username": actor.get("username") or ctx.get("username") or "system",
                "operation": OPERATIONS[op],
                "table_name": type(obj).__tablename__,
                "record_id": inspect(obj).identity[0] if inspect(obj).identity else getattr(obj, "id", None),
                "action": ctx.get("action"),
                "changes": json.dumps(changes, ensure_ascii=False, default=str) if changes else None,
                "note": ctx.get("note"),
            })
    if rows:
        session.connection().execute(AuditLog.__table__.insert(), rows)
