"""What deleting a record would do, worked out from the SQLAlchemy metadata before anything happens.

`impact(record)` looks at every table with a foreign key to the record's table (one COUNT per foreign
key, no rows loaded) and sorts the referencing rows the way the delete would actually treat them:

- **deletes**: the parent's relationship cascades ``delete`` (or the database key is ON DELETE CASCADE
  and the ORM leaves it to the database);
- **unlinks**: the ORM sets the key to NULL — a nullable key behind a one-to-many relationship on the
  parent without delete cascade (SQLAlchemy loads the children and blanks their key), the association
  rows of a many-to-many relationship (SQLAlchemy deletes them), or ON DELETE SET NULL;
- **blocks**: the delete would fail — a NOT NULL key the ORM would have to blank, or a key no
  relationship on the parent looks after (the database refuses: foreign keys are enforced on
  PostgreSQL and, by `PRAGMA foreign_keys=ON`, on SQLite). Financial rows (charges, payments,
  allocations) always block: they are voided, never orphaned.

Rows that a cascade deletes are followed in turn (their own references counted by subquery), so a
cascade that would hit a blocking grandchild blocks too. The audit trail is not a reference.

Below the screens, `install_ledger_guard()` makes the same rule hold for every ORM session — a view, a
CLI command or a script: a flush that deletes a financial row, or a row financial rows reference (the
ORM would blank their key and orphan them), and an ORM bulk DELETE of a financial table are refused.
Core statements on the bare tables (the test suite's wipe, migrations) are left alone.
"""
from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import and_, event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import UnmappedColumnError

FINANCIAL = frozenset({"charge", "payment", "payment_allocation"})
"""Tables whose rows referencing a record forbid deleting it."""
FINANCIAL_REASON = "有收费记录,不能删除"
REFERENCED_REASON = "仍引用此记录,请先删除这些记录或改为关联其他记录"
"""The two reasons (msgids; `_walk` passes the same literals to gettext for tools/i18n_msgids)."""
SKIP = frozenset({"audit_log"})
"""Tables that mention records without referencing them."""
MAX_DEPTH = 4


def _mapper_of(registry, table):
    """The mapped class persisted in `table`, if any."""
    for mapper in registry.mappers:
        if mapper.local_table is table:
            return mapper
    return None


def _menu(mapper, fallback: str) -> str:
    spec = getattr(mapper.class_, "__admin__", None) if mapper is not None else None
    return gettext(spec.menu) if spec else fallback


def _column_label(mapper, column) -> str:
    if mapper is not None:
        try:
            prop = mapper.get_property_by_column(column)
        except UnmappedColumnError:
            prop = None
        if prop is not None and prop.columns[0].info.get("label"):
            return gettext(prop.columns[0].info["label"])
    return column.info.get("label") or column.name


def _relationships_for(parent_mapper, constraint):
    """(relationship, many_to_many) on the parent that look after this foreign key when it is deleted."""
    cols = set(constraint.columns)
    out = []
    for rel in parent_mapper.relationships:
        if rel.viewonly:
            continue
        if rel.secondary is not None:
            if rel.secondary is constraint.table and any(c in cols for _p, c in rel.synchronize_pairs):
                out.append((rel, True))
        elif rel.direction.name == "ONETOMANY" and any(c in cols for _p, c in rel.synchronize_pairs):
            out.append((rel, False))
    return out


def _database_rule(constraint, nullable: bool) -> str:
    rule = (constraint.ondelete or "").upper()
    if rule == "CASCADE":
        return "deletes"
    if rule == "SET NULL" and nullable:
        return "unlinks"
    return "blocks"


def classify(parent_mapper, constraint) -> str:
    """'deletes', 'unlinks' or 'blocks': what deleting a parent row does to the rows of this foreign key
    (before the financial rule, which `impact` applies on top)."""
    nullable = all(c.nullable for c in constraint.columns)
    # passive_deletes: the ORM leaves unloaded rows to the database's ON DELETE rule
    rels = [(rel, m2m) for rel, m2m in _relationships_for(parent_mapper, constraint) if not rel.passive_deletes]
    if not rels:
        return _database_rule(constraint, nullable)
    if any(not m2m and "delete" in rel.cascade for rel, m2m in rels):
        return "deletes"
    if any(m2m for _rel, m2m in rels):
        return "unlinks"  # the ORM deletes the association rows
    return "unlinks" if nullable else "blocks"  # the ORM blanks the key; NOT NULL refuses


def _referencing(table):
    """Every foreign key constraint in the metadata that points at `table`."""
    for other in table.metadata.sorted_tables:
        if other.name in SKIP:
            continue
        for constraint in other.foreign_key_constraints:
            if constraint.referred_table is table:
                yield constraint


def _label(parent_mapper, constraint, child_mapper) -> str:
    """The referencing table's menu label; the key's label is added when the table has several keys to
    the parent (a visit's work order and the work order it raised)."""
    table = constraint.table
    if child_mapper is None:  # an association table: name it after what it links to
        for rel, m2m in _relationships_for(parent_mapper, constraint):
            if m2m:
                return _menu(rel.mapper, table.name)
    label = _menu(child_mapper, table.name)
    siblings = [c for c in table.foreign_key_constraints if c.referred_table is constraint.referred_table]
    if len(siblings) > 1:
        label = gettext("%(table)s(%(field)s)", table=label,
                        field="、".join(_column_label(child_mapper, c) for c in constraint.columns))
    return label


def _walk(session, parent_mapper, criterion, via: str, depth: int, seen: tuple, out: dict) -> None:
    """Count what references the parent rows matched by `criterion(referenced column)`."""
    parent_table = parent_mapper.local_table
    for constraint in _referencing(parent_table):
        child_table = constraint.table
        child_mapper = _mapper_of(parent_mapper.registry, child_table)
        where = and_(*[criterion(element.column)(element.parent) for element in constraint.elements])
        count = session.execute(select(func.count()).select_from(child_table).where(where)).scalar_one()
        if not count:
            continue
        kind = classify(parent_mapper, constraint)
        label = _label(parent_mapper, constraint, child_mapper)
        if via:
            label = f"{via} › {label}"
        if child_table.name in FINANCIAL:
            out["blocks"].append((label, count, gettext("有收费记录,不能删除")))
        elif kind == "blocks":
            out["blocks"].append((label, count, gettext("仍引用此记录,请先删除这些记录或改为关联其他记录")))
        elif kind == "unlinks":
            out["unlinks"].append((label, count))
        else:
            out["deletes"].append((label, count))
            if child_mapper is not None and depth < MAX_DEPTH and child_table.name not in seen:
                def child_criterion(referenced, where=where, table=child_table):
                    return lambda col: col.in_(select(referenced).select_from(table).where(where))

                _walk(session, child_mapper, child_criterion, label, depth + 1, seen + (child_table.name,), out)


def impact(record, session=None) -> dict:
    """{"blocks": [(label, count, reason)], "deletes": [(label, count)], "unlinks": [(label, count)]}
    for deleting `record`; nothing is loaded or changed."""
    state = inspect(record)
    mapper = state.mapper
    if session is None:
        from app.extensions import db

        session = state.session or db.session
    out = {"blocks": [], "deletes": [], "unlinks": []}
    if mapper.local_table.name in FINANCIAL:  # the record itself is voided, never deleted
        out["blocks"].append((_menu(mapper, mapper.local_table.name), 1, gettext("有收费记录,不能删除")))

    def root(referenced):
        value = getattr(record, mapper.get_property_by_column(referenced).key)
        return lambda col: col == value

    _walk(session, mapper, root, "", 0, (mapper.local_table.name,), out)
    return out


def is_empty(result: dict) -> bool:
    return not (result["blocks"] or result["deletes"] or result["unlinks"])


# ---------------------------------------------------------------- the guard below every screen

LEDGER_DELETE_MESSAGE = "财务记录(应收费用、收款记录、收款核销)只能作废,不能删除"


class LedgerDeleteRefused(IntegrityError):
    """A delete that would remove or orphan financial rows. An IntegrityError, so every caller that already
    turns a database refusal into a message (the views' handle_view_exception) does the same here."""

    def __init__(self, detail: str):
        super().__init__(None, None, Exception(detail))
        self.detail = detail

    def __str__(self) -> str:
        return f"{LEDGER_DELETE_MESSAGE}:{self.detail}"


def _financial_references(table):
    """Foreign keys of the financial tables that point at `table`."""
    for name in FINANCIAL:
        child = table.metadata.tables.get(name)
        if child is None:
            continue
        for constraint in child.foreign_key_constraints:
            if constraint.referred_table is table:
                yield constraint


def _refuse_deleting_ledger_rows(session, _flush_context, _instances) -> None:
    """before_flush: neither a financial row nor a row that financial rows reference may be deleted."""
    for obj in list(session.deleted):
        table = getattr(type(obj), "__table__", None)
        if table is None:
            continue
        state = inspect(obj)
        if table.name in FINANCIAL:
            raise LedgerDeleteRefused(f"{table.name} #{state.identity[0] if state.identity else '?'}")
        for constraint in _financial_references(table):
            values = [getattr(obj, state.mapper.get_property_by_column(el.column).key) for el in constraint.elements]
            where = and_(*[el.parent == value for el, value in zip(constraint.elements, values)])
            if session.connection().execute(select(1).select_from(constraint.table).where(where).limit(1)).first():
                raise LedgerDeleteRefused(f"{table.name} #{state.identity[0] if state.identity else '?'}"
                                          f" 仍被 {constraint.table.name} 引用")


def _refuse_bulk_ledger_deletes(execute_state) -> None:
    """do_orm_execute: `delete(Charge)` / `query(Payment).delete()` skip the flush; refuse them here."""
    if execute_state.is_delete and execute_state.is_orm_statement:
        mapper = execute_state.bind_mapper
        if mapper is not None and mapper.local_table.name in FINANCIAL:
            raise LedgerDeleteRefused(f"{mapper.local_table.name}(批量删除)")


def install_ledger_guard() -> None:
    """Listen on every Session (Flask-SQLAlchemy's and any a script opens); idempotent."""
    for name, fn in (("before_flush", _refuse_deleting_ledger_rows), ("do_orm_execute", _refuse_bulk_ledger_deletes)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
