"""One import column: its header, how a cell is read (text, number, date, choice label, yes/no) and the
checks it must pass — derived from the model column's `info` (label, choices, validators) so the file is
held to the same rules as the form.

Every reader returns the typed value (None for a blank cell) or raises CellError with a Chinese message.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, inspect

from app import validators as v
from schema.spec import info_of


class CellError(ValueError):
    """A cell that cannot be read, with the Chinese reason."""


# What each shared check demands, for the template's 说明 sheet.
CHECK_RULES: dict[Callable, str] = {
    v.check_phone: "手机号11位(1开头),座机带区号,如 0755-12345678",
    v.check_resident_id: "18位居民身份证号码,出生日期和校验位须正确",
    v.check_credit_code: "18位统一社会信用代码,校验位须正确",
    v.check_positive: "须大于0",
    v.check_not_negative: "不能为负数",
}

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_TRUE = frozenset({"是", "y", "yes", "true", "1", "√", "✓"})
_FALSE = frozenset({"否", "n", "no", "false", "0", "×", "✗"})
_SPACES = re.compile(r"[\s\u3000]+")
MAX_EXACT = 10 ** 15  # Excel keeps 15 significant digits: longer numbers have already lost digits


@dataclass(eq=False)
class Field:
    """One column of an import file."""

    key: str
    """Model column or relationship name the value goes to (or an importer-specific name)."""
    header: str
    """Chinese header in the file."""
    type: str = "text"
    """text | int | decimal | date | choice | bool"""
    required: bool = False
    default: Any = None
    """Value used when the cell is blank (a choice's stored code)."""
    choices: Any = None
    """The Choice enum: the file holds the Chinese label (the stored code is accepted too)."""
    checks: tuple = ()
    """Plain check functions (value -> Chinese message or None), from the column's validators."""
    max_len: int | None = None
    places: int | None = None
    rule: str = ""
    """Extra rule for the 说明 sheet."""
    example: Any = None
    as_text: bool = False
    """Format the template column as text (ID numbers, phones, room numbers keep their digits)."""
    _labels: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if self.choices is not None:
            for m in self.choices:
                self._labels[m.label] = m.value
                self._labels[m.value] = m.value
                self._labels[m.value.lower()] = m.value

    # -- reading a cell -------------------------------------------------------------
    def read(self, raw):
        """The typed value of a cell, None when blank; CellError when unreadable."""
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = raw.strip()
            if not raw:
                return None
        return _READERS[self.type](self, raw)

    def display(self, value) -> str:
        """A parsed value as the preview shows it."""
        if value is None:
            return ""
        if self.choices is not None:
            return self.choices.label_of(value)
        if self.type == "bool":
            return "是" if value else "否"
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    def describe(self) -> str:
        """The column's rule for the template's 说明 sheet."""
        parts = ["必填" if self.required else "选填"]
        if self.type == "text" and self.max_len:
            parts.append(f"文本,最多{self.max_len}个字")
        elif self.type == "int":
            parts.append("整数")
        elif self.type == "decimal":
            parts.append(f"数字,最多{self.places}位小数" if self.places is not None else "数字")
        elif self.type == "date":
            parts.append("日期,如 2024-03-01")
        elif self.type == "choice":
            parts.append("可选值:" + "、".join(m.label for m in self.choices))
        elif self.type == "bool":
            parts.append("填 是 或 否")
        for check in self.checks:
            if CHECK_RULES.get(check):
                parts.append(CHECK_RULES[check])
        if self.rule:
            parts.append(self.rule)
        if self.default is not None and not self.required:
            parts.append(f"留空默认为 {self.display(self.default)}")
        return ";".join(parts)


def _text(f: Field, raw) -> str:
    if isinstance(raw, bool):
        raise CellError("应为文本")
    if isinstance(raw, (int, float)):
        if abs(raw) >= MAX_EXACT:
            raise CellError("数字位数过多,Excel 已丢失末尾数字:请将该列设为“文本”格式后重新填写")
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        text = str(raw)
    elif isinstance(raw, datetime):
        text = raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat(sep=" ")
    elif isinstance(raw, date):
        text = raw.isoformat()
    else:
        text = str(raw)
    if f.max_len and len(text) > f.max_len:
        raise CellError(f"不能超过{f.max_len}个字(现有{len(text)}个)")
    return text


def _int(f: Field, raw) -> int:
    if isinstance(raw, bool):
        raise CellError("应为整数")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and re.fullmatch(r"[+-]?\d{1,9}", raw):
        return int(raw)
    raise CellError("应为整数")


def _decimal(f: Field, raw) -> Decimal:
    if isinstance(raw, (bool, date, datetime)):
        raise CellError("应为数字")
    try:
        if isinstance(raw, float):
            value = Decimal(repr(raw))
            if f.places is not None:  # 0.1+0.2 from a formula: binary noise, not a third decimal
                rounded = value.quantize(Decimal(1).scaleb(-f.places))
                if abs(value - rounded) < Decimal("1e-9"):
                    value = rounded
        else:
            value = Decimal(str(raw).replace(",", "").replace(",", ""))
    except (InvalidOperation, ValueError):
        raise CellError("应为数字") from None
    if not value.is_finite():
        raise CellError("应为数字")
    if f.places is not None and value.as_tuple().exponent < -f.places:
        raise CellError(f"最多{f.places}位小数")
    return value


def _date(f: Field, raw) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if 1 <= raw < 2958466:  # an Excel serial date typed into an unformatted cell
            return (_EXCEL_EPOCH + timedelta(days=int(raw))).date()
        raise CellError("日期格式不正确,请填写如 2024-03-01")
    text = str(raw).strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if " " in text:  # "2024-03-01 00:00:00" pasted as text
        return _date(f, text.split(" ", 1)[0])
    raise CellError("日期格式不正确,请填写如 2024-03-01")


def _choice(f: Field, raw) -> str:
    text = _SPACES.sub("", str(raw))
    code = f._labels.get(text) or f._labels.get(text.lower())
    if code is None:
        raise CellError("应为以下之一:" + "、".join(m.label for m in f.choices))
    return code


def _bool(f: Field, raw) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("应填 是 或 否")


_READERS = {"text": _text, "int": _int, "decimal": _decimal, "date": _date, "choice": _choice, "bool": _bool}


def from_column(model, name: str, **overrides) -> Field:
    """A Field from a model column: its label, type, length, choices, default, required-ness and checks
    (the FieldCheck validators in `info`), as the generated form reads them."""
    attr = inspect(model).column_attrs[name]
    info = info_of(attr)
    column = attr.columns[0]
    ctype = column.type
    kw: dict[str, Any] = {"key": name, "header": info.get("label") or name}
    if info.get("choices") is not None:
        kw.update(type="choice", choices=info["choices"])
    elif isinstance(ctype, Boolean):
        kw["type"] = "bool"
    elif isinstance(ctype, (Date, DateTime)):
        kw["type"] = "date"
    elif isinstance(ctype, Integer):
        kw["type"] = "int"
    elif isinstance(ctype, Numeric):
        kw.update(type="decimal", places=ctype.scale)
    else:
        kw["type"] = "text"
        if isinstance(ctype, String) and ctype.length:
            kw["max_len"] = ctype.length
    default = column.default.arg if column.default is not None and column.default.is_scalar else None
    if default is not None:
        kw["default"] = getattr(default, "value", default)
    kw["required"] = not column.nullable and default is None and not column.primary_key
    kw["checks"] = tuple(getattr(val, "check", None) for val in info.get("validators") or ()
                         if getattr(val, "check", None) is not None)
    if info.get("help"):
        kw["rule"] = info["help"]
    return replace(Field(**kw), **overrides) if overrides else Field(**kw)


_NARROW = str.maketrans("\uff08\uff09\uff05\uff0f\uff1a", "()%/:")  # full-width brackets as the labels write them


def normalise_header(value) -> str:
    """A header cell without spaces and required-markers (`*证件号码`, `证件号码(必填)`), full-width
    brackets read as the labels' ASCII ones (`建筑面积\uff08㎡\uff09` matches `建筑面积(㎡)`)."""
    text = _SPACES.sub("", str(value or "")).translate(_NARROW)
    text = re.sub(r"\((必填|选填)\)$", "", text)
    return text.strip("*＊")


def squeeze(text: str | None) -> str:
    """Text without any whitespace (for matching 房屋 such as "3栋 1201")."""
    return _SPACES.sub("", text or "")
