"""全局搜索: one box for phone numbers, names, ID numbers, units and document numbers.

`search(text, roles)` classifies the text, then asks only the tables the roles may read, each
with an equality or an index-friendly prefix range on an indexed column, at most PER_KIND rows
a kind. Plain functions: no request, no current_user (the view passes the roles).

    单号    SK20261127-0001 (or without the dash) -> exact match on that table's unique number;
            WX20261127, WX2026 ... -> prefix range on the same unique index
    电话    13800001234, 0755-26881234 -> exact match on owner, resident, lease, complaint,
            call log and visitor phones (the usual spellings of the number)
    证件    18 characters -> exact id_number on owner, resident and release slip
    后四位  1234 / 123X -> tail of owner and resident phones and ID numbers (TAILS), and room_no
    房号    3栋1201, 3-1201, 3 1201, 3栋-1201 -> building name (with or without 栋) + room_no
    其他    name prefix on owner, resident and lease tenant; contract-number prefix

Last-4 matching reads the database-generated, indexed tail columns (owner/resident `phone_tail`,
`id_tail`) named in TAILS, so it is an equality on an index like every other lookup.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from app import scoping
from app.extensions import db
from schema import (
    Building,
    CallLog,
    Complaint,
    DeptCheck,
    Lease,
    Owner,
    Ownership,
    Payment,
    ReleaseSlip,
    RenovationPermit,
    Resident,
    ServiceOrder,
    Unit,
    Visitor,
    WorkOrder,
)
from schema.spec import Choice, info_of, label_of

MIN_LENGTH = 2
MAX_LENGTH = 100
PER_KIND = 10

# -- what the text is ----------------------------------------------------------------------------
DOC_TABLES = {
    "SK": Payment.receipt_no, "WX": WorkOrder.number, "FX": ReleaseSlip.number, "TS": Complaint.number,
    "ZX": RenovationPermit.number, "FW": ServiceOrder.number, "BH": DeptCheck.number, "XT": DeptCheck.number,
}
"""Document-number prefix -> the unique column holding it (see app.numbering)."""
_DOC = re.compile(r"^(?P<prefix>SK|WX|FX|TS|ZX|FW|BH|XT)(?P<day>\d{0,8})(?P<seq>\d{0,6})$")
"""Matched against the text without spaces and dashes: WX20261127-0001, WX202611270001, WX2026."""
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")
_ID = re.compile(r"^[0-9A-Z]{17}[0-9A-Z]$")
_TAIL = re.compile(r"^\d{3}[\dX]$")
_BUILDING_WORDS = ("栋", "幢", "座", "号楼")
_UNIT_WORDS = re.compile(r"^(?P<b>[0-9A-Z]{1,10}) ?(?P<word>栋|幢|座|号楼|#) ?[-—–_/]? ?(?P<r>[0-9A-Z]{1,10})(?:室|号)?$")
_UNIT_SEP = re.compile(r"^(?P<b>\d{1,3}|[A-Z]\d{0,2}) ?[-—–_/ ] ?(?P<r>[A-Z]?\d{2,5}[A-Z]?)(?:室|号)?$")
"""Without 栋/座 the building must look like one (3, 12, A, B2), so that ZL2026-001 stays a contract."""

MODES = {
    "number": _l("按单号查找"),
    "number_prefix": _l("按单号前缀查找"),
    "phone": _l("按电话号码查找"),
    "id_number": _l("按证件号码查找"),
    "tail": _l("按后四位查找电话、证件号及房号"),
    "unit": _l("按楼栋房号查找"),
    "text": _l("按姓名或合同编号前缀查找"),
}
HINTS = {
    "empty": _l("请输入电话、姓名、证件号、房号或单号"),
    "too_short": _l("请至少输入2个字符"),
    "too_long": _l("搜索内容过长,请缩短后重试"),
}

# -- last four digits ----------------------------------------------------------------------------
TAILS = (
    (Owner, "phone", "phone_tail"),
    (Owner, "id_number", "id_tail"),
    (Resident, "phone", "phone_tail"),
    (Resident, "id_number", "id_tail"),
)
"""(model, column, indexed tail column or None): the tail column holds the last four characters of
the phone, or of the upper-cased ID number (a STORED generated column), so `tail == '1234'` reads
its index. None would fall back to LIKE '%1234', a scan: every entry here has its column."""


@dataclass(frozen=True)
class Query:
    """The classified text: `mode` (a MODES key) and the values the lookups compare with."""

    text: str
    mode: str | None = None
    hint: str | None = None
    values: tuple = ()


def normalize(raw) -> str:
    """Full-width characters folded (NFKC), control and separator characters (NUL included) turned
    into spaces, runs of spaces collapsed."""
    text = unicodedata.normalize("NFKC", str(raw or "")[: MAX_LENGTH * 4])
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)
    return " ".join(text.split())


def classify(raw) -> Query:
    text = normalize(raw)
    if not text:
        return Query(text, hint="empty")
    if len(text) < MIN_LENGTH:
        return Query(text, hint="too_short")
    if len(text) > MAX_LENGTH:
        return Query(text[:MAX_LENGTH], hint="too_long")
    upper = text.upper()
    compact = re.sub(r"[\s\-()()]", "", upper)

    if m := _DOC.match(compact):
        prefix, day, seq = m["prefix"], m["day"], m["seq"]
        if len(seq) >= 4:
            return Query(text, "number", values=(prefix, f"{prefix}{day}-{seq}"))
        return Query(text, "number_prefix", values=(prefix, f"{prefix}{day}-{seq}" if seq else f"{prefix}{day}"))
    phone = compact.removeprefix("+86")
    if len(phone) == 13 and phone.startswith("86") and _MOBILE.match(phone[2:]):
        phone = phone[2:]
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return Query(text, "phone", values=phone_spellings(phone, text))
    if len(compact) == 18 and _ID.match(compact):
        return Query(text, "id_number", values=tuple(dict.fromkeys((compact, compact[:-1] + compact[-1].lower()))))
    if _TAIL.match(upper):
        return Query(text, "tail", values=(compact,))
    if m := (_UNIT_WORDS.match(upper) or _UNIT_SEP.match(upper)):
        b, r = m["b"], m["r"]
        names = [b] + [b + w for w in _BUILDING_WORDS] + ([b + m["word"]] if m.groupdict().get("word") else [])
        return Query(text, "unit", values=(tuple(dict.fromkeys(names)), tuple(dict.fromkeys((r, r.lower())))))
    return Query(text, "text", values=(text,))


def phone_spellings(digits: str, typed: str) -> tuple:
    """The ways the same number is stored: 13800001234, 138-0000-1234, 138 0000 1234;
    075526881234, 0755-26881234 (3- and 4-digit area codes), and the text as typed."""
    out = [digits, typed]
    if _MOBILE.match(digits):
        out += [f"{digits[:3]}-{digits[3:7]}-{digits[7:]}", f"{digits[:3]} {digits[3:7]} {digits[7:]}"]
    else:
        for area in (3, 4):
            out += [f"{digits[:area]}-{digits[area:]}", f"({digits[:area]}){digits[area:]}"]
    return tuple(dict.fromkeys(out))


# -- portable, index-friendly matching ----------------------------------------------------------------
ESCAPE = "/"
"""LIKE's escape character: not a backslash, whose quoting differs between the databases."""


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE: its %, _ and / escaped with ESCAPE."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def _next_char(c: str) -> str | None:
    if "0" <= c < "9" or "A" <= c < "Z" or "a" <= c < "z" or "\u4e00" <= c < "\u9fa5":
        return chr(ord(c) + 1)
    return None


def successor(prefix: str) -> str | None:
    """A string above every string starting with `prefix` (None when there is none): the prefix cut
    after its last digit, ASCII letter or CJK ideograph that has a next one, and that character
    bumped ("WX20261129" -> "WX2026113", "张三" -> "张上").

    Digits, ASCII letters and CJK ideographs (by code point) sort alike in SQLite's binary order and
    in PostgreSQL's C, C.UTF-8, en_US and ICU root collations, so the range is exact there. A
    database collation that orders Han characters by pinyin or stroke (zh_CN) would break name
    ranges: such a database needs LIKE alone over varchar_pattern_ops indexes instead."""
    chars = list(prefix)
    while chars:
        nxt = _next_char(chars.pop())
        if nxt is not None:
            return "".join(chars) + nxt
    return None


def starts_with(column, prefix: str):
    """`column LIKE 'prefix%'` written so that a plain b-tree index serves it on both databases:
    the range `prefix <= column < successor(prefix)` is what the planner uses (LIKE alone uses no
    index on SQLite, whose LIKE ignores case, nor on PostgreSQL under a non-C collation); the LIKE,
    with %, _ and / escaped, keeps the match exact (and case-sensitive, as the range is)."""
    clauses = [column >= prefix, column.like(escape_like(prefix) + "%", escape=ESCAPE)]
    upper = successor(prefix)
    if upper is not None:
        clauses.append(column < upper)
    return and_(*clauses)


def tail_clause(model, column: str, tail: str | None, value: str):
    """One TAILS entry: the indexed tail column when it exists, else LIKE '%1234' (a scan)."""
    if tail is not None:
        return getattr(model, tail) == value
    spellings = dict.fromkeys((value, value.lower()))  # an ID's X may be stored lower-case
    return or_(*(getattr(model, column).like("%" + escape_like(v), escape=ESCAPE) for v in spellings))


def tails_of(model, value: str):
    digits_only = value.isdigit()
    return or_(*(tail_clause(m, col, tail, value) for m, col, tail in TAILS
                 if m is model and (digits_only or col != "phone")))


# -- what each kind shows ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    model: type
    fields: tuple
    """Columns or many-to-one relationships shown under the title, labelled from the schema."""
    title: str | None = None
    """Column giving the title; default str(record)."""

    @property
    def key(self) -> str:
        return self.model.__tablename__

    @property
    def label(self) -> str:
        return self.model.__admin__.menu


KINDS = (
    Kind(Unit, ("status", "area")),
    Kind(Owner, ("phone", "id_number", "contact_person")),
    Kind(Resident, ("unit", "relation", "phone", "id_number", "move_out_date")),
    Kind(Lease, ("tenant_name", "tenant_company", "tenant_phone", "status", "end_date"), title="contract_no"),
    Kind(Payment, ("payer_name", "unit", "amount", "paid_at", "status")),
    Kind(ReleaseSlip, ("unit", "applicant", "id_number", "status", "created_at")),
    Kind(WorkOrder, ("unit", "description", "status", "created_at")),
    Kind(Complaint, ("unit", "complainant", "phone", "status", "received_at")),
    Kind(RenovationPermit, ("unit", "owner", "contractor", "status")),
    Kind(ServiceOrder, ("unit", "contact", "phone", "status", "agreed_time")),
    Kind(DeptCheck, ("department", "item", "status", "checked_at")),
    Kind(CallLog, ("phone", "unit", "identity", "status")),
    Kind(Visitor, ("phone", "unit", "time_in", "time_out")),
)
KIND_OF = {k.model: k for k in KINDS}


@dataclass(frozen=True)
class Field:
    label: str
    """Schema label (a msgid)."""
    value: str
    translate: bool = False
    """The value is a choice label (a msgid) rather than data."""


@dataclass(frozen=True)
class Hit:
    table: str
    """The record's table, which is also its view's endpoint (`<table>.details_view`)."""
    id: int
    title: str
    fields: tuple = ()
    units: tuple = ()
    """(unit id, "3栋1201") of the households the record belongs to, for 一户一档."""

    @property
    def unit_id(self) -> int | None:
        return self.units[0][0] if self.units else None

    @property
    def subtitle(self) -> str:
        return " · ".join(f"{f.label}:{f.value}" for f in self.fields)


@dataclass
class Group:
    key: str
    label: str
    """The kind's menu label (a msgid)."""
    hits: list = field(default_factory=list)
    more: bool = False
    """More than PER_KIND records matched; only the first PER_KIND are listed."""


@dataclass
class Results:
    query: Query
    groups: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(g.hits) for g in self.groups)

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)


def readable(model, roles) -> bool:
    spec = getattr(model, "__admin__", None)
    return spec is not None and spec.roles.allows("read", roles)


# -- the lookups -------------------------------------------------------------------------------
def lookups(query: Query) -> list:
    """(model, where clause, order by) for each table the classified text is looked up in."""
    mode, v = query.mode, query.values
    if mode == "number":
        column = DOC_TABLES[v[0]]
        return [(column.class_, column == v[1], ())]
    if mode == "number_prefix":
        column = DOC_TABLES[v[0]]
        return [(column.class_, starts_with(column, v[1]), (column.desc(),))]
    if mode == "phone":
        return [(m, col.in_(v), (m.id.desc(),)) for m, col in (
            (Owner, Owner.phone), (Resident, Resident.phone), (Lease, Lease.tenant_phone),
            (Complaint, Complaint.phone), (CallLog, CallLog.phone), (Visitor, Visitor.phone))]
    if mode == "id_number":
        return [(m, col.in_(v), (m.id.desc(),)) for m, col in (
            (Owner, Owner.id_number), (Resident, Resident.id_number), (ReleaseSlip, ReleaseSlip.id_number))]
    if mode == "tail":
        out = [(m, tails_of(m, v[0]), (m.id.desc(),)) for m in (Owner, Resident)]
        if v[0].isdigit():
            out.insert(0, (Unit, Unit.room_no == v[0], (Unit.id,)))
        return out
    if mode == "unit":
        names, rooms = v
        buildings = select(Building.id).where(Building.name.in_(names))
        return [(Unit, and_(Unit.building_id.in_(buildings), Unit.room_no.in_(rooms)), (Unit.id,))]
    if mode == "text":
        text = v[0]
        contract = or_(*(starts_with(Lease.contract_no, t) for t in dict.fromkeys((text, text.upper()))))
        return [(Owner, starts_with(Owner.name, text), (Owner.name, Owner.id)),
                (Resident, starts_with(Resident.name, text), (Resident.name, Resident.id)),
                (Lease, or_(contract, starts_with(Lease.tenant_name, text)), (Lease.contract_no,))]
    return []


def _loads(model, fields):
    """Eager loads for the relationships a kind shows (a unit with its building)."""
    out = []
    rels = model.__mapper__.relationships
    for name in fields:
        if name in rels:
            load = joinedload(getattr(model, name))
            out.append(load.joinedload(Unit.building) if rels[name].mapper.class_ is Unit else load)
    return out


def _value(model, name, value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    label = _choice_label(model, name, value)
    if label is not None:
        return label
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _choice_label(model, name, value) -> str | None:
    """The label (a msgid) of a stored choice code, or None: for a column without choices, and for a code
    its choices do not know, which then shows as the data it is. The page translates labels with Jinja's
    `_()`, which marks its result safe markup and %-formats it: data must never go through it."""
    column = model.__mapper__.column_attrs.get(name)
    choices = info_of(column).get("choices") if column is not None else None
    if choices is None or not issubclass(choices, Choice):
        return None
    try:
        return choices(value).label
    except ValueError:
        return None


def _hit(kind: Kind, obj, units=()) -> Hit:
    fields = []
    for name in kind.fields:
        shown = _value(kind.model, name, getattr(obj, name))
        if shown is not None:
            fields.append(Field(label_of(kind.model, name), shown,
                                translate=_choice_label(kind.model, name, getattr(obj, name)) is not None))
    if kind.model is Unit:
        units = ((obj.id, str(obj)),)
    elif not units and getattr(obj, "unit_id", None) is not None:
        units = ((obj.unit_id, str(obj.unit)),)
    title = getattr(obj, kind.title) if kind.title else str(obj)
    return Hit(kind.key, obj.id, str(title), tuple(fields), tuple(units))


def _owner_units(owner_ids, estates=None) -> dict:
    """owner id -> ((unit id, "3栋1201"), ...) in the searcher's estates, primary ownership first."""
    out: dict = {}
    if not owner_ids:
        return out
    rows = db.session.execute(scoping.scope_query(
        select(Ownership.owner_id, Unit).join(Unit, Ownership.unit_id == Unit.id)
        .options(joinedload(Unit.building))
        .where(Ownership.owner_id.in_(owner_ids))
        .order_by(Ownership.owner_id, Ownership.is_primary.desc(), Unit.id), Unit, estates, current=False)).all()
    for owner_id, unit in rows:
        out.setdefault(owner_id, []).append((unit.id, str(unit)))
    return out


def _unit_owners(unit_ids) -> dict:
    """unit id -> "张三、李四"."""
    out: dict = {}
    if not unit_ids:
        return out
    rows = db.session.execute(
        select(Ownership.unit_id, Owner.name).join(Owner, Ownership.owner_id == Owner.id)
        .where(Ownership.unit_id.in_(unit_ids))
        .order_by(Ownership.unit_id, Ownership.is_primary.desc(), Owner.id)).all()
    for unit_id, name in rows:
        out.setdefault(unit_id, []).append(name)
    return {k: "、".join(v) for k, v in out.items()}


def search(raw, roles, estates=None) -> Results:
    """Everything the text finds in the tables `roles` may read, in the `estates` the searcher works for
    (None: all; app/scoping.py), grouped by kind in KINDS order."""
    query = classify(raw)
    results = Results(query)
    if query.hint is not None:
        return results
    roles = frozenset(roles)
    found: dict = {}
    for model, where, order in lookups(query):
        if not readable(model, roles):
            continue
        kind = KIND_OF[model]
        stmt = select(model).where(where).options(*_loads(model, kind.fields)).order_by(*order).limit(PER_KIND + 1)
        stmt = scoping.scope_query(stmt, model, estates, current=False)
        rows = db.session.execute(stmt).unique().scalars().all()
        if rows:
            found[model] = rows
    if not found:
        return results
    show_units = readable(Unit, roles)
    owner_units = _owner_units([o.id for o in found.get(Owner, ())[:PER_KIND]], estates) if show_units else {}
    unit_owners = (_unit_owners([u.id for u in found.get(Unit, ())[:PER_KIND]])
                   if readable(Owner, roles) else {})
    for kind in KINDS:
        rows = found.get(kind.model)
        if not rows:
            continue
        hits = []
        for obj in rows[:PER_KIND]:
            hit = _hit(kind, obj, owner_units.get(obj.id, ()) if kind.model is Owner else ())
            if kind.model is Unit and obj.id in unit_owners:
                hit = Hit(hit.table, hit.id, hit.title,
                          (Field(label_of(Ownership, "owner"), unit_owners[obj.id]),) + hit.fields, hit.units)
            if not show_units:
                hit = Hit(hit.table, hit.id, hit.title, hit.fields, ())
            hits.append(hit)
        results.groups.append(Group(kind.key, kind.label, hits, more=len(rows) > PER_KIND))
    return results
