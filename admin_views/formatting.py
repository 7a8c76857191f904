"""How values read: one place for list, details and export formats (money, dates, enums)."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import inspect

from schema.spec import info_of, label_of

DATE_FMT = "%Y-%m-%d"
DATETIME_FMT = "%Y-%m-%d %H:%M"


def money(value) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


def fmt_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FMT)
    return value.strftime(DATE_FMT)


def fmt_bool(value) -> str:
    return "" if value is None else ("是" if value else "否")


def parse_when(text):
    """A datetime from a datetime-local input; empty means now (the office clock)."""
    from app import clock
    from app.validators import check_date_range

    if not text:
        return clock.now()
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("时间格式不正确") from exc
    problem = check_date_range(when)
    if problem:
        raise ValueError(problem)
    return when


def field_kind(model, name: str) -> str:
    """The kind of a spec column: relation, choice, money, date, datetime, bool, number, text."""
    attr = _attr(model, name)
    if not hasattr(attr, "columns"):
        return "relation"
    info = info_of(attr)
    if info.get("choices"):
        return "choice"
    if info.get("fmt") in ("money", "area"):
        return "money"
    if info.get("fmt") == "changes":
        return "changes"
    py = _python_type(attr.columns[0])
    return {datetime: "datetime", date: "date", bool: "bool", Decimal: "money", int: "number", float: "number"}.get(py, "text")


def _attr(model, name):
    mapper = inspect(model)
    return mapper.relationships[name] if name in mapper.relationships else mapper.column_attrs[name]


def _python_type(column):
    try:
        return column.type.python_type
    except NotImplementedError:
        return str


def display(model, name: str, value) -> str:
    """Plain-text display of a value (details, csv, print)."""
    kind = field_kind(model, name)
    if value is None:
        return ""
    if kind == "choice":
        return gettext(info_of(_attr(model, name))["choices"].label_of(value))
    if kind == "money":
        return money(value)
    if kind in ("date", "datetime"):
        return fmt_date(value)
    if kind == "bool":
        return gettext(fmt_bool(value))
    if kind == "changes":
        return changes_text(value)
    return str(value)


def changes_text(raw: str | None, table: str | None = None) -> str:
    """An audit row's changes as `字段: 旧 → 新` lines, labelled when the table is known."""
    if not raw:
        return ""
    try:
        changes = json.loads(raw)
    except ValueError:
        return raw
    from schema import REGISTRY

    model = next((m for m in REGISTRY if m.__tablename__ == table), None)
    lines = []
    for key, (old, new) in changes.items():
        try:
            label = label_of(model, key) if model else key
        except Exception:  # noqa: BLE001 - a field since removed keeps its raw name
            label = key
        if model is not None and key in inspect(model).column_attrs:
            old, new = (info_of(_attr(model, key)).get("choices").label_of(v)
                        if info_of(_attr(model, key)).get("choices") else v for v in (old, new))
        lines.append(f"{label}: {'' if old is None else old} → {'' if new is None else new}")
    return "\n".join(lines)


def html_changes(view, context, obj, name):
    return Markup("<br>".join(escape(line) for line in changes_text(obj.changes, obj.table_name).split("\n")))
