"""The month-end statistics report (月度统计): a page with tables and Chart.js charts, an xlsx export with
one sheet per section, and a printable page. Supervisors, the manager and the admin may open it."""
from __future__ import annotations

import os
import re
import tempfile

import xlsxwriter
from flask import (
    Response,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_admin import expose
from flask_babel import gettext

from app import clock, monthly_report

from . import export as exporting
from .pages import RolePage

ROLES = frozenset({"admin", "manager", "supervisor"})
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _month_from_request() -> tuple[tuple[int, int] | None, str, str | None]:
    """((year, month) or None, the month for the picker, an error message or None).

    No month (or an empty one) means last month; a bad one is an error shown on the page (the picker
    then offers last month)."""
    default = monthly_report.previous_month(clock.today())
    raw = (request.args.get("month") or "").strip()
    if not raw:
        return default, monthly_report.month_label(*default), None
    try:
        ym = monthly_report.parse_month(raw)
    except monthly_report.ReportError as err:  # the picker offers last month again
        return None, monthly_report.month_label(*default), gettext(str(err))
    return ym, monthly_report.month_label(*ym), None


def _sheet_names(sections) -> list[str]:
    """Excel sheet names: no []:*?/\\, at most 31 characters, unique."""
    names, seen = [], set()
    for i, section in enumerate(sections, 1):
        name = _SHEET_FORBIDDEN.sub("_", str(section["title"])).strip("'")[:31] or f"Sheet{i}"
        base, n = name, 2
        while name.lower() in seen:
            suffix = f"({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        seen.add(name.lower())
        names.append(name)
    return names


def workbook_response(sections, filename: str, heading: str) -> Response:
    """The sections as an xlsx, one sheet each (header, rows, 合计, then the note), written in constant
    memory to a temporary file and streamed."""
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
        head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        title = book.add_format({"bold": True, "font_size": 13})
        numbers = {"money": "#,##0.00", "percent": "0.0", "int": "0"}
        fmts = {k: book.add_format({"num_format": n}) for k, n in numbers.items()}
        fmts["text"] = None
        bold = {k: book.add_format({"bold": True, "top": 1, **({"num_format": n} if n else {})})
                for k, n in {**numbers, "text": None}.items()}
        for section, name in zip(sections, _sheet_names(sections)):
            ws = book.add_worksheet(name)
            labels, kinds = section["headers"], section["kinds"]
            rows = section["rows"] + ([section["total"]] if section["total"] else [])
            widths = [max(exporting._width(str(v)) for v in [label] + [r[i] for r in rows])
                      for i, label in enumerate(labels)]
            for i, w in enumerate(widths):
                ws.set_column(i, i, min(max(w, 6) + 2, exporting.MAX_WIDTH))
            ws.write_string(0, 0, f"{heading} · {section['title']}", title)
            ws.write_row(1, 0, labels, head)
            ws.freeze_panes(2, 0)
            r = 1
            for ri, row in enumerate(rows):
                r += 1
                is_total = section["total"] is not None and ri == len(rows) - 1
                for ci, (value, kind) in enumerate(zip(row, kinds)):
                    fmt = (bold if is_total else fmts)[kind if kind in numbers else "text"]
                    if value is None or value == "":
                        if is_total:
                            ws.write_blank(r, ci, None, fmt)
                        continue
                    if kind in numbers and not isinstance(value, str):
                        ws.write_number(r, ci, float(value), fmt)
                    else:
                        ws.write_string(r, ci, exporting.neutralise(str(value)), fmt)
            if not rows:
                r += 1
                ws.write_string(r, 0, gettext("本月无记录"))
            if section.get("note"):
                ws.write_string(r + 2, 0, exporting.neutralise(str(section["note"])))
        book.close()
    except Exception:
        os.unlink(path)
        raise

    def stream():
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(64 * 1024):
                    yield chunk
        finally:
            os.unlink(path)

    return Response(stream(), headers={
        "Content-Disposition": exporting.content_disposition(filename),
        "Content-Length": str(os.path.getsize(path)),
        "X-Content-Type-Options": "nosniff",
    }, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class MonthlyReportView(RolePage):
    """/ the page, /export/ the xlsx, /print/ the printable page; ?month=YYYY-MM (default: last month)."""

    roles = ROLES

    def _page(self, month_text, error=None, sections=(), status=200):
        return self.render("admin/monthly_report.html", month=month_text, error=error, sections=sections,
                           chart_js=url_for("static", filename="vendor/chartjs/chart.umd.min.js")), status

    @expose("/")
    def index(self):
        ym, text, error = _month_from_request()
        if ym is None:
            return self._page(text, error, status=400)
        return self._page(text, sections=monthly_report.build(*ym))

    @expose("/export/")
    def export(self):
        ym, text, error = _month_from_request()
        if ym is None:
            return self._page(text, error, status=400)
        sections = monthly_report.build(*ym)
        heading = gettext("月度统计报表") + " " + text
        return workbook_response(sections, f"月度统计_{text}.xlsx", heading)

    @expose("/print/")
    def print_view(self):
        ym, text, error = _month_from_request()
        sections = monthly_report.build(*ym) if ym is not None else []
        html = render_template("print/monthly_report.html", month=text, error=error, sections=sections,
                               estate=current_app.config.get("ESTATE_NAME", ""), printed_at=clock.now())
        return html, (400 if error else 200)
