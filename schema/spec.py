"""The declaration surface: labels on columns, one AdminSpec per entity, validated at start-up.

A model says everything the panel needs to know about it here; admin_views/ only reads it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, Numeric, String, Text, UniqueConstraint, inspect
from sqlalchemy.orm import mapped_column, relationship

ROLES = ("admin", "manager", "supervisor", "frontdesk", "leasing", "maintenance")
ROLE_LABELS = {
    "admin": "系统管理员",
    "manager": "管理处主任",
    "supervisor": "主管",
    "frontdesk": "前台客服",
    "leasing": "招租收费员",
    "maintenance": "工程维修",
}
PERMISSIONS = ("read", "create", "edit", "delete", "export")
ALL = frozenset(ROLES)
OFFICE = frozenset({"admin", "supervisor", "frontdesk"})
READERS_EXPORT = frozenset({"admin", "manager", "supervisor"})


class Choice(str, enum.Enum):
    """A stored code with its Chinese label: `vacant = "vacant", "空置"`."""

    def __new__(cls, code: str, label: str):
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.label = label
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def label_of(cls, code) -> str:
        try:
            return cls(code).label
        except ValueError:
            return "" if code is None else str(code)


def col(label: str, *args, choices: type[Choice] | None = None, fmt: str | None = None,
        validators: tuple = (), help: str | None = None, **kw):
    """A mapped column carrying its Chinese label and admin metadata in `info`."""
    info = {"label": label, "choices": choices, "fmt": fmt, "validators": tuple(validators), "help": help}
    if choices is not None and not args:
        args = (String(max(len(m.value) for m in choices) + 8),)
    return mapped_column(*args, info=info, **kw)


def rel(label: str, *args, **kw):
    """A relationship carrying its Chinese label."""
    return relationship(*args, info={"label": label}, **kw)


def money(label: str, **kw):
    """Money in yuan: Numeric(12,2), never float."""
    kw.setdefault("default", Decimal("0.00"))
    return col(label, Numeric(12, 2), fmt="money", **kw)


@dataclass(frozen=True)
class Roles:
    """Which roles hold each permission; anything not listed is denied."""

    read: frozenset = ALL
    create: frozenset = frozenset({"admin"})
    edit: frozenset = frozenset({"admin"})
    delete: frozenset = frozenset({"admin"})
    export: frozenset = READERS_EXPORT

    def allows(self, perm: str, roles) -> bool:
        return bool(frozenset(getattr(self, perm)) & frozenset(roles))


def roles(**kw) -> Roles:
    return Roles(**{k: frozenset(v) for k, v in kw.items()})


@dataclass(frozen=True)
class AdminSpec:
    """How one entity appears in the panel."""

    menu: str
    """Menu label (Chinese)."""
    category: str
    """Menu category (Chinese)."""
    list: tuple = ()
    """Columns in the list, in order; relationship names show the related record as a link."""
    search: tuple = ()
    """Plain columns the search box matches: codes by prefix, the rest anywhere (app/fulltext.py)."""
    codes: tuple = ()
    """Search columns that are document numbers or codes, matched by prefix through their index
    (columns validated as phone or ID numbers always are); the others match anywhere."""
    filters: tuple = ()
    """Columns and relationships offered as filters."""
    export: tuple | None = None
    """Export columns; defaults to `list`."""
    details: tuple | None = None
    """Details columns; defaults to every column and many-to-one relationship."""
    form: tuple | None = None
    """Editable fields; defaults to every column but keys and the version."""
    edit: tuple | None = None
    """Fields still editable after creation (e.g. only notes on financial rows); defaults to `form`."""
    sort: tuple = ("id", True)
    """Default sort: (column, descending), or several such pairs; `rel.column` sorts by a related column."""
    title: str = "name"
    """Column that names a record in links, pickers and related-record filters."""
    title_joins: tuple = ()
    """Relationships the record's name reads (e.g. a unit's building), loaded with it."""
    large: bool = False
    """Foreign keys to this entity use an ajax picker instead of a full select."""
    roles: Roles = field(default_factory=Roles)
    """Roles per permission."""
    actions: dict = field(default_factory=dict)
    """Custom action name -> roles that may run it."""
    inline: tuple = ()
    """One-to-many children edited inside this record's form (e.g. a slip's item lines) and listed
    on its details page; each child's own spec gives the fields."""
    page_size: int = 20

    def sort_order(self) -> tuple:
        return (self.sort,) if isinstance(self.sort[0], str) else tuple(self.sort)


class SpecError(ValueError):
    """A spec names something its model does not have."""


def info_of(attr) -> dict:
    """`info` of a column property (held by its Column) or of a relationship."""
    return attr.columns[0].info if hasattr(attr, "columns") else attr.info


def _fields(model) -> dict:
    mapper = inspect(model)
    out = {c.key: c for c in mapper.column_attrs}
    out.update({r.key: r for r in mapper.relationships})
    return out


def validate_spec(model) -> None:
    """Fail loudly on any unknown name in a model's spec."""
    spec: AdminSpec = model.__admin__
    fields = _fields(model)
    name = model.__tablename__

    def check(kind, names):
        for n in names or ():
            if n not in fields:
                raise SpecError(f"{name}.__admin__.{kind}: unknown column {n!r}")

    for kind in ("list", "search", "filters", "export", "details", "form", "edit"):
        check(kind, getattr(spec, kind))
    check("sort", tuple(name.split(".")[0] for name, _desc in spec.sort_order()))
    if spec.title not in fields and not hasattr(model, spec.title):
        raise SpecError(f"{name}.__admin__.title: unknown column {spec.title!r}")
    for n in spec.inline:
        rel_ = fields.get(n)
        if rel_ is None or hasattr(rel_, "columns") or rel_.direction.name != "ONETOMANY":
            raise SpecError(f"{name}.__admin__.inline: {n!r} is not a one-to-many relationship")
    for n in spec.search:
        if n in fields and not hasattr(fields[n], "columns"):
            raise SpecError(f"{name}.__admin__.search: {n!r} is not a plain column")
    for n in spec.codes:
        if n not in spec.search:
            raise SpecError(f"{name}.__admin__.codes: {n!r} is not a search column")
    for perm in PERMISSIONS:
        unknown = set(getattr(spec.roles, perm)) - set(ROLES)
        if unknown:
            raise SpecError(f"{name}.__admin__.roles.{perm}: unknown roles {sorted(unknown)}")
    for act, who in spec.actions.items():
        unknown = set(who) - set(ROLES)
        if unknown:
            raise SpecError(f"{name}.__admin__.actions[{act!r}]: unknown roles {sorted(unknown)}")
    for key, attr in fields.items():
        if not hasattr(attr, "columns") and attr.direction.name != "MANYTOONE":
            continue  # collections (backrefs) are shown from the other side
        if "label" not in info_of(attr) and key not in ("id",) and not key.endswith("_id"):
            raise SpecError(f"{name}.{key} has no label")


def search_kinds(model) -> dict[str, str]:
    """Search column -> "prefix" (the spec's `codes`, and columns validated as phone, ID or
    credit-code numbers: matched from the start through their index) or "text" (matched anywhere)."""
    spec = model.__admin__
    mapper = inspect(model)
    out = {}
    for name in spec.search:
        checks = {v.check.__name__ for v in info_of(mapper.column_attrs[name]).get("validators", ())
                  if getattr(v, "check", None)}
        code = name in spec.codes or bool(checks & {"check_phone", "check_resident_id", "check_credit_code"})
        out[name] = "prefix" if code else "text"
    return out


def title_path(model, name: str) -> str | None:
    """`building.name` for a many-to-one relationship whose target names itself by a column."""
    rel_ = inspect(model).relationships[name]
    target = rel_.mapper.class_
    title = target.__admin__.title if getattr(target, "__admin__", None) else "id"
    return f"{name}.{title}" if title in inspect(target).column_attrs else None


def sortable_columns(model) -> list:
    """What a list sorts by: its plain columns but free text, and the titles of its many-to-one links
    as (relationship, "relationship.column")."""
    mapper = inspect(model)
    out = []
    for name in model.__admin__.list:
        if name in mapper.column_attrs:
            if not isinstance(mapper.column_attrs[name].columns[0].type, Text):
                out.append(name)
        elif name in mapper.relationships and mapper.relationships[name].direction.name == "MANYTOONE" \
                and title_path(model, name):
            out.append((name, title_path(model, name)))
    return out


def read_columns(model) -> list:
    """Every column a list of this model filters or sorts on (the foreign key and the target's
    title column for a link) or searches by prefix: each must lead an index (`add_spec_indexes`)."""
    mapper = inspect(model)
    spec = model.__admin__
    out = []

    def via(rel_name, column_name=None):
        rel_ = mapper.relationships[rel_name]
        out.extend(rel_.local_columns)
        path = column_name or (title_path(model, rel_name) or "").partition(".")[2]
        if path:
            out.append(rel_.mapper.class_.__table__.c[path])

    for name in spec.filters:
        if name in mapper.relationships:
            via(name)
        else:
            out.append(mapper.column_attrs[name].columns[0])
    for name, kind in search_kinds(model).items():
        if kind == "prefix":  # searched by an index range
            out.append(mapper.column_attrs[name].columns[0])
    for item in sortable_columns(model):
        if isinstance(item, tuple):
            via(item[0])
        else:
            out.append(mapper.column_attrs[item].columns[0])
    for path, _desc in spec.sort_order():
        if "." in path:
            rel_name, column_name = path.split(".")
            via(rel_name, column_name)
        else:
            out.append(mapper.column_attrs[path].columns[0])
    return out


def leading_columns(table) -> set:
    """Columns that lead an index, a unique constraint or the primary key of `table`."""
    lead = {list(table.primary_key.columns)[0]} if table.primary_key.columns else set()
    lead |= {list(ix.columns)[0] for ix in table.indexes if list(ix.columns)}
    lead |= {list(c.columns)[0] for c in table.constraints if isinstance(c, UniqueConstraint) and list(c.columns)}
    return lead


def paired_columns(model) -> list[tuple]:
    """(filter column, default sort column) pairs of a large table: a choice or yes/no filter matches
    a large share of the rows, so its page is read in list order through one (filter, sort) index
    instead of sorting every match."""
    spec = model.__admin__
    mapper = inspect(model)
    first, _desc = spec.sort_order()[0]
    if not spec.large or "." in first:
        return []
    sort_column = mapper.column_attrs[first].columns[0]
    out = []
    for name in spec.filters:
        if name in mapper.column_attrs:
            column = mapper.column_attrs[name].columns[0]
            if (info_of(mapper.column_attrs[name]).get("choices") or isinstance(column.type, Boolean)) \
                    and column is not sort_column:
                out.append((column, sort_column))
    return out


def add_spec_indexes(registry) -> None:
    """Index every column a spec filters or sorts on that no index leads yet, and each paired_columns
    pair of the large tables (the migrations carry them)."""
    for model in registry:
        for column in read_columns(model):
            table = column.table
            if column not in leading_columns(table) and not column.unique:
                Index(f"ix_{table.name}_{column.name}", column)
        for column, sort_column in paired_columns(model):
            table = column.table
            name = f"ix_{table.name}_{column.name}__{sort_column.name}"
            if name not in {ix.name for ix in table.indexes}:
                Index(name, column, sort_column)


def label_of(model, key: str) -> str:
    """Chinese label of a column or relationship."""
    if key == "id":
        return "编号"
    attr = _fields(model).get(key)
    if attr is None:
        raise SpecError(f"{model.__tablename__}: unknown column {key!r}")
    return info_of(attr).get("label") or key


__all__ = [
    "ALL", "OFFICE", "READERS_EXPORT", "ROLES", "ROLE_LABELS", "PERMISSIONS", "AdminSpec", "Choice",
    "Roles", "SpecError", "col", "info_of", "rel", "money", "roles", "validate_spec", "label_of", "title_path",
    "sortable_columns", "read_columns", "search_kinds", "leading_columns", "add_spec_indexes", "paired_columns",
    "Boolean", "Date", "DateTime", "Integer", "Numeric", "String", "Text",
]
