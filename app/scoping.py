"""Estate scoping: which rows a signed-in user may see, as one SQL condition per table.

Every estate-bound table reaches an estate through its foreign keys (a charge through its unit or
lease, an allocation through its payment, an owner through the units he owns); the condition is
derived from those keys here, once, so the list, count, details, edit, delete, actions, pickers,
exports, reports and downloads all ask the same question. Admins and managers see every estate;
everyone else sees the estates bound to their account (or all, when 全部项目 is ticked).

A row that links to no estate at all (a call about no unit, a department, the service catalogue)
is office-wide and visible to everyone who may read its table.
"""
from __future__ import annotations

from functools import lru_cache

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import and_, event, exists, false, inspect, or_, select
from sqlalchemy.orm import Session, with_loader_criteria

ALL_ESTATE_ROLES = frozenset({"admin", "manager"})
"""Roles that see every estate whatever their binding."""

DIRECT = ("estate", "building", "unit", "lease", "leasable_asset")
"""Tables whose key ties a row to one estate (the first links a row's scope follows)."""

NEVER_SCOPED = frozenset({"department", "app_user", "service_item", "saved_view", "audit_log", "number_sequence"})
"""Office-wide tables and tables scoped by their own rule (saved views per user, the audit log per record)."""


def user_estates(user) -> frozenset | None:
    """The estate ids `user` may see; None means every estate."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.role in ALL_ESTATE_ROLES or getattr(user, "all_estates", False):
        return None
    return frozenset(e.id for e in user.estates)


def current_estates() -> frozenset | None:
    """The current user's estates, read once per request."""
    if not has_request_context():
        return None
    if "estate_scope" not in g:
        g.estate_scope = user_estates(current_user)
    return g.estate_scope


def _links(model) -> tuple:
    """The foreign keys a row's estate is read through: (column attribute, target model), best first.
    Direct keys (unit, building, lease...) suffice when one of them is required; otherwise the owner and
    then the parent records (an allocation's payment) count too, any one of them in scope sufficing."""
    mapper = inspect(model)
    by_tier = {1: [], 2: [], 3: []}
    for rel in mapper.relationships:
        if rel.direction.name != "MANYTOONE":
            continue
        target = rel.mapper.class_
        name = target.__tablename__
        if name in NEVER_SCOPED or target is model or not hasattr(target, "__admin__"):
            continue
        column = next(iter(rel.local_columns))
        tier = 1 if name in DIRECT else 2 if name == "owner" else 3
        if all(c is not column for c, _t in by_tier[tier]):
            by_tier[tier].append((column, target))
    links = []
    for tier in (1, 2, 3):
        links += by_tier[tier]
        if links and any(not c.nullable for c, _t in links):
            break
    return tuple(links)


@lru_cache(maxsize=None)
def is_scoped(model) -> bool:
    """Whether rows of `model` belong to estates at all."""
    from schema.people import Owner
    from schema.property import Estate

    if model.__tablename__ in NEVER_SCOPED:
        return False
    return model in (Estate, Owner) or bool(_links(model))


def condition(model, estates, _depth: int = 0, core: bool = False):
    """SQL condition: the row of `model` is visible to a user who sees `estates` (None: all).

    The row's own columns are the mapped attributes (so the ORM adapts the condition to aliases and
    joined loads); the subqueries are plain Core (`core=True`), so the session hook below never
    re-scopes them (an owner's "owns no unit yet" must see all his ownerships, not only the visible ones)."""
    from schema.people import Owner, Ownership
    from schema.property import Building, Estate, Unit

    if estates is None or not is_scoped(model):
        return None
    ids = sorted(estates)
    table, mapper = model.__table__, inspect(model)

    def col(column):
        return column if core else mapper.get_property_by_column(column).class_attribute

    buildings = Building.__table__
    if model is Estate:
        return col(table.c.id).in_(ids) if ids else false()
    if model is Building:
        return col(table.c.estate_id).in_(ids) if ids else false()
    if model is Unit:
        return col(table.c.building_id).in_(
            select(buildings.c.id).where(buildings.c.estate_id.in_(ids)).correlate(None))
    if model is Owner:  # owns a unit in scope, or owns none yet (a new owner being registered)
        owns = Ownership.__table__.alias()
        owned = select(owns.c.id).where(owns.c.owner_id == col(table.c.id)).correlate_except(owns)
        return or_(exists(owned.where(owns.c.unit_id.in_(_ids_in(Unit, estates)))), ~exists(owned))
    if "estate_id" in table.c:
        column = table.c.estate_id
        return or_(col(column).in_(ids), col(column).is_(None)) if column.nullable else col(column).in_(ids)
    links = _links(model)
    if _depth > 4:
        return false()
    parts = [col(column).in_(_ids_in(target, estates, _depth + 1)) for column, target in links]
    if all(column.nullable for column, _t in links):  # linked to nothing: office-wide
        parts.append(and_(*[col(column).is_(None) for column, _t in links]))
    return or_(*parts)


def _ids_in(model, estates, depth: int = 0):
    """SELECT id FROM model WHERE it is in scope, in plain Core (a subquery for IN)."""
    cond = condition(model, estates, depth, core=True)
    stmt = select(model.__table__.c.id).correlate(None)  # self-contained, even inside a query on `model`
    return stmt.where(cond) if cond is not None else stmt


def scope_query(query, model, estates=None, *, current: bool = True):
    """`query` (ORM Query or select()) restricted to the rows of `model` the user may see."""
    cond = condition(model, current_estates() if current else estates)
    if cond is None:
        return query
    return query.filter(cond) if hasattr(query, "filter") else query.where(cond)


def visible(model, record_id) -> bool:
    """May the current user see row `record_id` of `model`?"""
    from app.extensions import db

    cond = condition(model, current_estates())
    if cond is None:
        return db.session.get(model, record_id) is not None
    return db.session.execute(select(model.id).where(model.id == record_id, cond)).first() is not None


def get_visible(model, record_id):
    """The row if the current user may see it, else None (prefills, page arguments)."""
    from app.extensions import db

    if record_id is None:
        return None
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        return None
    if not 0 < record_id <= 2**31 - 1 or not visible(model, record_id):
        return None
    return db.session.get(model, record_id)


def audit_condition(estates):
    """The audit rows a user may read: those of records in scope, per scoped table."""
    from schema import REGISTRY
    from schema.org import AuditLog

    if estates is None:
        return None
    parts = [and_(AuditLog.table_name == m.__tablename__, AuditLog.record_id.in_(_ids_in(m, estates)))
             for m in REGISTRY if is_scoped(m)]
    return or_(*parts) if parts else false()


# ---------------------------------------------------------------- every ORM query of a request

@lru_cache(maxsize=64)
def _criteria(estates: frozenset) -> tuple:
    """with_loader_criteria options restricting every scoped table to `estates`."""
    from schema import REGISTRY

    return tuple(with_loader_criteria(model, condition(model, estates), include_aliases=True)
                 for model in REGISTRY if is_scoped(model))


def _scope_select(state) -> None:
    """Session hook: an ORM SELECT run for a signed-in, estate-bound user reads only their estates'
    rows wherever a scoped table appears (dashboards, reports, prints, domain lookups), so a page
    written tomorrow is scoped without remembering to be. Relationship and column loads of rows
    already in hand are left alone; `execution_options(estate_scope=False)` opts a statement out."""
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    if state.execution_options.get("estate_scope") is False or not has_request_context():
        return
    user = g.get("_login_user")  # set once Flask-Login has loaded the user: its own query is never scoped
    if user is None or not getattr(user, "is_authenticated", False):
        return
    estates = current_estates()
    if estates is not None:
        state.statement = state.statement.options(*_criteria(estates))


def init_app(app) -> None:
    if not event.contains(Session, "do_orm_execute", _scope_select):
        event.listen(Session, "do_orm_execute", _scope_select)
