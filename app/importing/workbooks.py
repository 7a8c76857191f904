"""The xlsx files the import page hands out: a template per kind, and the error report (the uploaded sheet
back, its bad cells filled red with the message as a comment, plus a 错误说明 column and a 错误清单 sheet)."""
from __future__ import annotations

import io
import os
import tempfile
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter

from .engine import REPORT_COLUMN, Outcome, Sheet
from .kinds import KINDS

OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
TEMPLATE_ROWS = 100_000
"""Rows the template's text formats and drop-downs cover."""


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))


def template_xlsx(kind: str) -> bytes:
    """Headers, one example row, drop-downs for choice columns, and a 说明 sheet with every column's rule."""
    importer = KINDS[kind]()
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, **OPTIONS})
    ws = book.add_worksheet(importer.title)
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    head_req = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_color": "#C00000"})
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    example = book.add_format({"font_color": "#808080", "italic": True})
    example_text = book.add_format({"font_color": "#808080", "italic": True, "num_format": "@"})
    example_day = book.add_format({"font_color": "#808080", "italic": True, "num_format": "yyyy-mm-dd"})
    for col, f in enumerate(importer.fields):
        width = min(max(_width(f.header), _width(f.example or ""), 8) + 4, 40)
        ws.set_column(col, col, width, text if f.as_text else (day if f.type == "date" else None))
        ws.write_string(0, col, f.header, head_req if f.required else head)
        ws.write_comment(0, col, f.describe(), {"x_scale": 2, "y_scale": 1.5})
        if f.example is not None:
            value = f.read(f.example)
            if f.type == "date":
                ws.write_datetime(1, col, datetime.combine(value, datetime.min.time()), example_day)
            elif f.type in ("int", "decimal") and not f.as_text:
                ws.write_number(1, col, float(value), example)
            else:
                ws.write_string(1, col, str(f.example), example_text if f.as_text else example)
        if f.type == "choice":
            ws.data_validation(1, col, TEMPLATE_ROWS, col, {
                "validate": "list", "source": [m.label for m in f.choices], "error_type": "warning",
                "error_message": "请从下拉列表中选择"})
        elif f.type == "bool":
            ws.data_validation(1, col, TEMPLATE_ROWS, col, {"validate": "list", "source": ["是", "否"],
                                                           "error_type": "warning"})
    ws.freeze_panes(1, 0)

    notes = book.add_worksheet("说明")
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    notes.set_column(0, 0, 22)
    notes.set_column(1, 1, 80)
    notes.set_column(2, 2, 24)
    lines = [f"{importer.title}导入模板", importer.notes_text,
             "第1行为表头,请勿修改;第2行为示例(灰色),导入前请删除或改为真实数据。",
             "红色表头为必填列;选项列请从下拉列表中选择;日期填写如 2024-03-01。",
             "上传后先预检:所有行都通过校验才能导入,导入在一个事务中完成,要么全部成功,要么全部不导入。"]
    r = 0
    for line in lines:
        if line:
            notes.write_string(r, 0, line, bold if r == 0 else None)
            r += 1
    r += 1
    for col, label in enumerate(("列名", "填写要求", "示例")):
        notes.write_string(r, col, label, head)
    for f in importer.fields:
        r += 1
        notes.write_string(r, 0, f.header + (" *" if f.required else ""), bold if f.required else None)
        notes.write_string(r, 1, f.describe(), wrap)
        notes.write_string(r, 2, "" if f.example is None else str(f.example))
    book.close()
    return buf.getvalue()


def _write_value(ws, r, c, value, fmt, day_fmt, dt_fmt):
    if value is None:
        if fmt is not None:
            ws.write_blank(r, c, None, fmt)
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, (int, float, Decimal)):
        ws.write_number(r, c, float(value), fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(r, c, value, dt_fmt if fmt is None else fmt)
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime.combine(value, datetime.min.time()), day_fmt if fmt is None else fmt)
    else:
        ws.write_string(r, c, str(value), fmt)


def error_report(path, outcome: Outcome) -> str:
    """The uploaded sheet with bad cells red and commented, every message again in a 错误说明 column and
    a 错误清单 sheet; returns the path of a temporary xlsx (the caller deletes it). Written row by row in
    XlsxWriter's constant-memory mode, so a large file costs little memory."""
    by_row: dict[int, list] = defaultdict(list)
    for issue in outcome.issues:
        by_row[issue.row].append(issue)
    fd, out = tempfile.mkstemp(suffix=".xlsx", prefix="import-report-")
    os.close(fd)
    sheet = Sheet(path)
    try:
        book = xlsxwriter.Workbook(out, {"constant_memory": True, **OPTIONS})
        ws = book.add_worksheet((sheet.name or outcome.title)[:31])
        red = {"bg_color": "#FFC7CE", "font_color": "#9C0006", "border": 1, "border_color": "#C00000"}
        fmts = {"bad": book.add_format(red), "bad_day": book.add_format({**red, "num_format": "yyyy-mm-dd"}),
                "day": book.add_format({"num_format": "yyyy-mm-dd"}),
                "stamp": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
                "note": book.add_format({"font_color": "#9C0006"}),
                "head": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})}
        col = outcome.report_column
        ws.set_column(col, col, 60)
        for number, values in sheet.rows():
            if number == outcome.header_row:
                for c, value in enumerate(values):
                    if c != col:
                        _write_value(ws, number - 1, c, value, fmts["head"], None, None)
                ws.write_string(number - 1, col, REPORT_COLUMN, fmts["head"])
            else:
                _emit(ws, number - 1, values, by_row.get(number), col, fmts)
        ws.freeze_panes(outcome.header_row, 0)

        listing = book.add_worksheet("错误清单")
        for c, label in enumerate(("行", "列", "值", "问题")):
            listing.write_string(0, c, label, fmts["head"])
        listing.set_column(0, 0, 8)
        listing.set_column(1, 2, 20)
        listing.set_column(3, 3, 70)
        for r, issue in enumerate(outcome.issues, start=1):
            listing.write_number(r, 0, issue.row)
            listing.write_string(r, 1, issue.header or "—")
            listing.write_string(r, 2, issue.value)
            listing.write_string(r, 3, issue.message)
        book.close()
    except BaseException:
        os.unlink(out)
        raise
    finally:
        sheet.close()
    return out


def _emit(ws, r, values, issues, report_col, fmts):
    """One data row: values as uploaded (an old 错误说明 cleared), bad cells red with a comment."""
    marked: dict[int, list[str]] = {}
    for issue in issues or ():
        if issue.column is not None:
            marked.setdefault(issue.column, []).append(issue.message)
    for c, value in enumerate(values):
        if c == report_col:
            continue
        messages = marked.get(c)
        if messages:
            bad = fmts["bad_day"] if isinstance(value, (date, datetime)) else fmts["bad"]
            _write_value(ws, r, c, value, bad, fmts["day"], fmts["stamp"])
            ws.write_comment(r, c, ";".join(messages), {"x_scale": 2})
        elif value is not None:
            _write_value(ws, r, c, value, None, fmts["day"], fmts["stamp"])
    for c, messages in sorted(marked.items()):  # a blank required cell beyond the row's last value
        if c >= len(values):
            ws.write_blank(r, c, None, fmts["bad"])
            ws.write_comment(r, c, ";".join(messages), {"x_scale": 2})
    if issues:
        text = ";".join(f"{i.header}:{i.message}" if i.header else i.message for i in issues)
        ws.write_string(r, report_col, text, fmts["note"])
