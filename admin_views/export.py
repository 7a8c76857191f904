"""Streaming exports: xlsx through XlsxWriter's constant-memory mode, csv with a BOM.

Rows come from the same query the list shows (search, filters, sort), read in batches.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import xlsxwriter
from flask import Response, stream_with_context

from sqlalchemy import inspect
from sqlalchemy.orm import joinedload

from .formatting import display, field_kind, fmt_date

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60


def neutralise(text: str) -> str:
    """Prefix a quote so spreadsheet programs never evaluate a cell as a formula."""
    return "'" + text if text and text.startswith(DANGEROUS) else text


def content_disposition(filename: str) -> str:
    """RFC 6266/5987: an ASCII fallback plus the readable UTF-8 name."""
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    ascii_name = ascii_name.lstrip("_") or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _cell_writer(model, name, kind):
    """value -> what the export writes for one column: numbers and dates typed, the rest neutralised text."""
    if kind in ("number", "date", "datetime"):
        return lambda v: v
    if kind == "money":
        return lambda v: None if v is None else float(v)
    if kind == "choice":
        labels = {}

        def choice(v):
            if v is None:
                return None
            if v not in labels:
                labels[v] = neutralise(display(model, name, v))
            return labels[v]
        return choice
    if kind == "relation":
        return lambda v: v  # already the related record's name (neutralised by RelatedNames)
    return lambda v: None if v is None else neutralise(display(model, name, v) if kind in ("bool", "changes") else str(v))


class RelatedNames:
    """id -> str(related record) for one many-to-one column, loaded a batch of ids at a time and
    remembered (bounded by the number of distinct related records, not by the rows exported)."""

    def __init__(self, session, target):
        self.session, self.target, self.names = session, target, {}
        spec = getattr(target, "__admin__", None)
        self.joins = [joinedload(getattr(target, j)) for j in (spec.title_joins if spec else ())]

    def load(self, ids) -> None:
        missing = [i for i in set(ids) if i is not None and i not in self.names]
        for start in range(0, len(missing), 900):
            known = set(self.session.identity_map.keys())
            objs = self.session.query(self.target).options(*self.joins).filter(
                self.target.id.in_(missing[start:start + 900])).all()
            for obj in objs:
                self.names[obj.id] = neutralise(str(obj))
            for obj in objs:  # keep the session small; records it held before stay
                if inspect(obj).identity_key not in known:
                    self.session.expunge(obj)

    def __call__(self, i):
        return None if i is None else self.names.get(i)


def typed_rows(model, columns, session, query, batch: int = 2000):
    """The export's rows as lists of typed values, read through Core in batches: plain columns as
    stored, links as the related record's name. `query` is the list's ORM query (search, filters, sort)."""
    mapper = inspect(model)
    selected, cells, related = [], [], {}
    for name in columns:
        kind = field_kind(model, name)
        if name in mapper.relationships:
            rel = mapper.relationships[name]
            fk = next(iter(rel.local_columns))
            selected.append(getattr(model, fk.key))
            related[len(cells)] = RelatedNames(session, rel.mapper.class_)
            cells.append(related[len(cells)])
        else:
            selected.append(getattr(model, name))
            cells.append(_cell_writer(model, name, kind))
    result = session.execute(query.with_entities(*selected).statement.execution_options(yield_per=batch))
    for chunk in result.partitions(batch):
        for index, names in related.items():
            names.load(row[index] for row in chunk)
        for row in chunk:
            yield [cell(v) for cell, v in zip(cells, row)]


def _width(value) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, (int, float)):
        return len(f"{value:,.2f}")
    text = str(value).split("\n")[0]
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def xlsx_response(model, columns, labels, rows, filename: str, sheet: str) -> Response:
    """A model list as xlsx; `rows` is a callable returning typed_rows (queried where it is read)."""
    kinds = [field_kind(model, c) for c in columns]
    return table_xlsx_response(labels, kinds, rows(), filename, sheet)


def table_xlsx_response(labels, kinds, values, filename: str, sheet: str) -> Response:
    """Write rows of typed values to a temporary file in constant memory, then stream it in chunks.

    kinds: per column "money", "date", "datetime", "number" or text; values: iterable of lists."""
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
        ws = book.add_worksheet(sheet[:31])
        head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        fmts = {"money": book.add_format({"num_format": "0.00"}),
                "date": book.add_format({"num_format": "yyyy-mm-dd"}),
                "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"})}
        widths = [max(_width(label), 6) for label in labels]
        sample, rest = [], iter(values)
        for row in rest:
            sample.append(row)
            if len(sample) >= 200:
                break
        for row in sample:
            widths = [max(w, _width(v)) for w, v in zip(widths, row)]
        for i, w in enumerate(widths):
            ws.set_column(i, i, min(w + 2, MAX_WIDTH))
        ws.write_row(0, 0, labels, head)
        ws.freeze_panes(1, 0)
        r = 0

        def emit(row):
            nonlocal r
            r += 1
            for ci, (v, k) in enumerate(zip(row, kinds)):
                if v is None:
                    continue
                if k in fmts and not isinstance(v, str):
                    if k == "money":
                        ws.write_number(r, ci, float(v), fmts[k])
                    else:
                        ws.write_datetime(r, ci, v, fmts[k])
                elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                    ws.write_number(r, ci, float(v))
                else:
                    ws.write_string(r, ci, neutralise(str(v)))

        for row in sample:
            emit(row)
        for row in rest:
            emit(row)
        ws.autofilter(0, 0, max(r, 1), len(labels) - 1)
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
        "Content-Disposition": content_disposition(filename),
        "Content-Length": str(os.path.getsize(path)),
        "X-Content-Type-Options": "nosniff",
    }, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def csv_response(model, columns, labels, rows, filename: str) -> Response:
    """UTF-8 with BOM (Excel and WPS open it as Chinese), streamed in batches; `rows` as for xlsx."""
    kinds = [field_kind(model, c) for c in columns]
    texts = [_csv_text(k) for k in kinds]

    def stream():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(labels)
        yield "\ufeff" + buf.getvalue()
        n = 0
        buf.seek(0), buf.truncate()
        for row in rows():  # queried inside the stream, on the session its context will close
            writer.writerow([t(v) for t, v in zip(texts, row)])
            n += 1
            if n % 500 == 0:
                yield buf.getvalue()
                buf.seek(0), buf.truncate()
        yield buf.getvalue()

    return Response(stream_with_context(stream()), headers={"Content-Disposition": content_disposition(filename),
                                       "X-Content-Type-Options": "nosniff"},
                    mimetype="text/csv; charset=utf-8")


def _csv_text(kind):
    """A typed export value as csv text: money with two decimals, dates as the list shows them."""
    if kind == "money":
        return lambda v: "" if v is None else f"{v:,.2f}"
    if kind in ("date", "datetime"):
        return lambda v: fmt_date(v)
    return lambda v: "" if v is None else str(v)
