"""Identity, phone and amount checks: plain functions returning a Chinese message or None; and two rules on
every write, whatever makes it: no NUL character reaches the database, and no text outgrows its column."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import String, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from wtforms.validators import ValidationError

from . import clock

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?[1-9]\d{6,7}(-\d{1,6})?$")
_SERVICE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")


def resident_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID's first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def check_resident_id(value: str | None) -> str | None:
    """18-digit mainland resident ID: shape, birth date and check digit."""
    v = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return "身份证号码应为18位,前17位为数字,最后一位为数字或X"
    if v[0] == "0":
        return "身份证号码的地区码无效"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效"
    if born.year < 1900 or born > clock.today():
        return "身份证号码中的出生日期无效"
    if resident_id_check_char(v[:17]) != v[17]:
        return "身份证号码校验位不正确,请核对"
    return None


def credit_code_check_char(first17: str) -> str:
    """GB 32100 check character of a unified social credit code's first 17 characters."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str | None) -> str | None:
    """18-character unified social credit code with its check character."""
    v = (value or "").strip().upper()
    if len(v) != 18 or any(c not in _USCC_ALPHABET for c in v):
        return "统一社会信用代码应为18位数字或大写字母(不含I、O、Z、S、V)"
    if credit_code_check_char(v[:17]) != v[17]:
        return "统一社会信用代码校验位不正确,请核对"
    return None


def check_phone(value: str | None) -> str | None:
    """Mainland mobile (11 digits) or landline with area code (e.g. 0755-12345678)."""
    v = re.sub(r"[\s()()]", "", value or "")
    if _MOBILE.match(v) or _LANDLINE.match(v) or _SERVICE.match(v):
        return None
    return "电话号码格式不正确:手机号为11位(1开头),座机请带区号,如 0755-12345678"


def check_positive(value) -> str | None:
    """Strictly positive amount (areas, rates, quantities)."""
    try:
        ok = value is not None and Decimal(str(value)) > 0
    except InvalidOperation:
        ok = False
    return None if ok else "必须大于0"


def check_not_negative(value) -> str | None:
    """Zero or more (money)."""
    try:
        ok = value is None or Decimal(str(value)) >= 0
    except InvalidOperation:
        ok = False
    return None if ok else "金额不能为负数"


def check_period(start, end) -> str | None:
    """An end date may not precede its start."""
    if start and end and end < start:
        return "结束日期不能早于开始日期"
    return None


class FieldCheck:
    """WTForms validator wrapping one of the checks above (skips empty optional input)."""

    def __init__(self, check):
        self.check = check
        self.field_flags = {}

    def __call__(self, form, field):
        from wtforms.validators import StopValidation

        if field.data in (None, ""):
            return
        message = self.check(field.data)
        if message:
            raise StopValidation(message)


PHONE = FieldCheck(check_phone)
RESIDENT_ID = FieldCheck(check_resident_id)
POSITIVE = FieldCheck(check_positive)
NOT_NEGATIVE = FieldCheck(check_not_negative)


class Required:
    """Required input whose message is translated when it fires (Flask-Admin shows only str errors)."""

    field_flags = {"required": True}

    def __init__(self, template: str, label: str):
        self.template, self.label = template, label

    def __call__(self, form, field):
        from flask_babel import gettext
        from wtforms.validators import StopValidation

        raw = field.raw_data[0] if field.raw_data else None
        if raw not in (None, "", "__None") and str(raw).strip():
            return
        field.errors[:] = []
        raise StopValidation(gettext(self.template, label=gettext(self.label)))


# -- NUL ---------------------------------------------------------------------------------------------
def strip_nul(value):
    """`value` without NUL characters when it is text; anything else as it is."""
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


def _without_nul(parameters):
    """Bound parameters (a tuple or dict, or a list of them for executemany) with NUL removed from text."""
    if isinstance(parameters, dict):
        if any(isinstance(v, str) and "\x00" in v for v in parameters.values()):
            return {k: strip_nul(v) for k, v in parameters.items()}
    elif isinstance(parameters, tuple):
        if any(isinstance(v, str) and "\x00" in v for v in parameters):
            return tuple(strip_nul(v) for v in parameters)
    elif isinstance(parameters, list):
        return [_without_nul(p) for p in parameters]
    return parameters


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _strip_nul_from_statements(conn, cursor, statement, parameters, context, executemany):
    """No NUL reaches the database, whatever sent it (a form, a list filter or search, a rule, an import):
    PostgreSQL refuses NUL in text ("cannot contain NUL (0x00) characters", a 500) while SQLite stores it,
    so NUL is dropped from every bound string and both engines keep the rest of the text alike."""
    return statement, _without_nul(parameters)


STOCK_ERRORS = {"Not a valid choice": "所选的值无效,请从列表中重新选择"}
"""English messages Flask-Admin's record pickers raise untranslated (the fields look them up in WTForms'
catalog, which lacks them) -> our message; the rest of WTForms' messages arrive translated."""


def localize_errors(form) -> None:
    """Replace stock English field errors with ours, inline rows included, so every refusal reads in
    the user's language."""
    from flask_babel import gettext

    for field in form:
        for entry in getattr(field, "entries", ()):
            if hasattr(entry, "form"):
                localize_errors(entry.form)
        if isinstance(field.errors, list):
            field.errors = [gettext(STOCK_ERRORS[e]) if isinstance(e, str) and e in STOCK_ERRORS else e
                            for e in field.errors]


INT_RANGE = (-2**31, 2**31 - 1)
DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


def check_date_range(value) -> str | None:
    """A date the office could mean: a year typed as 0201 or 9999 would break date arithmetic far from
    the form (a deadline two days later, a lease billed month by month)."""
    if value is None:
        return None
    day = value.date() if hasattr(value, "date") else value
    if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        return "日期超出合理范围(应在1900年至2100年之间)"
    return None


def check_number_fits(value, column) -> str | None:
    """A number its column can hold: finite, at most Numeric(p, s)'s integer digits, a 32-bit integer.
    SQLite would store 1e20 or NaN in a money column silently; PostgreSQL refuses it mid-save."""
    from sqlalchemy import Float, Integer, Numeric

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return "请输入有效的数字"
    kind = column.type
    if isinstance(kind, Numeric) and not isinstance(kind, Float) and kind.precision:
        digits = kind.precision - (kind.scale or 0)
        if abs(Decimal(value)) >= Decimal(10) ** digits:
            return f"数值过大:整数部分最多{digits}位"
    if isinstance(kind, Integer) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return "数值超出范围"
    return None


def _required(column) -> bool:
    return not (column.nullable or column.primary_key or column.default is not None
                or column.server_default is not None)


def check_form_inputs(form, model) -> bool:
    """Refuse on the field what the field's own validators let through but the record cannot take: an id
    that matches no record in an optional picker (it would silently clear the link), a number its column
    cannot hold, a date outside DATE_RANGE, and an empty choice for a column that must have one (a choice
    field is scaffolded Optional, so leaving it out reached the database's NOT NULL). Inline rows are
    checked against their own model. False when anything is refused."""
    from flask_admin.contrib.sqla.fields import QuerySelectField
    from flask_admin.model.fields import AjaxSelectField
    from flask_babel import gettext
    from sqlalchemy import inspect

    columns = inspect(model).column_attrs
    ok = True
    for field in form:
        for entry in getattr(field, "entries", ()):
            if hasattr(entry, "form") and getattr(field, "model", None) is not None:
                ok = check_form_inputs(entry.form, field.model) and ok
        if field.errors:
            continue
        message = None
        if isinstance(field, (QuerySelectField, AjaxSelectField)) and not isinstance(field.data, list):
            raw = field.raw_data[0] if field.raw_data else None
            if raw not in (None, "", "__None") and field.data is None:
                message = gettext(STOCK_ERRORS["Not a valid choice"])
        elif field.short_name in columns and field.data in (None, "") \
                and _required(columns[field.short_name].columns[0]):
            message = gettext("请选择%(label)s", label=str(field.label.text))
        elif field.short_name in columns and isinstance(field.data, (int, Decimal)):
            message = check_number_fits(field.data, columns[field.short_name].columns[0])
        elif isinstance(field.data, date):
            message = check_date_range(field.data)
        if message:
            field.errors = list(field.errors) + [message]
            ok = False
    return ok


# -- text length ---------------------------------------------------------------------------------------
class TextTooLong(ValidationError):
    """A text longer than its column: a ValueError (rules and confirm pages show it) and a WTForms
    ValidationError (Flask-Admin flashes it), with a Chinese message naming the field."""


def check_length(label: str, value, limit: int) -> str | None:
    if isinstance(value, str) and len(value) > limit:
        return f"{label}不能超过{limit}个字(现为{len(value)}个字),请删减后重试"
    return None


@event.listens_for(Session, "before_flush")
def _refuse_overlong_text(session, flush_context, instances):
    """Forms check their own fields' lengths; text a rule, an action's reason or a confirm page writes
    does not pass through them. PostgreSQL refuses such a value with a 500 and SQLite keeps it whole:
    here every String(n) value a flush would write (all of a new record's, the changed ones of an
    edited record) is measured first, and refused with a message instead."""
    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        keys = None if obj in session.new else set(state.committed_state)
        for attr in state.mapper.column_attrs:
            column = attr.columns[0]
            if (keys is not None and attr.key not in keys) or not isinstance(column.type, String) \
                    or not column.type.length:
                continue
            message = check_length(column.info.get("label", attr.key), state.dict.get(attr.key), column.type.length)
            if message:
                raise TextTooLong(message)
