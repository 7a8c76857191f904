"""Identity, phone and amount checks: plain functions returning a Chinese message or None."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

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
