"""Streaming exports: xlsx through XlsxWriter's constant-memory mode, csv with a BOM.

Rows come from the same query the list shows (search, filters, sort), read in batches.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date, datetime

import xlsxwriter
from flask import Response, stream_with_context
from flask_babel import gettext
from sqlalchemy import Float, String, case, cast, func, inspect, literal, type_coerce
from sqlalchemy.orm import aliased, joinedload

from app.storage import content_disposition
from schema.spec import info_of

from .formatting import display, field_kind

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 60


def neutralise(text: str) -> str:
    """Prefix a quote so spreadsheet programs never evaluate a cell as a formula."""
    return "'" + text if text and text.startswith(DANGEROUS) else text


def _neutral(expr):
    """SQL: prefix a quote to text that a spreadsheet would read as a formula (see `neutralise`)."""
    return case((func.substr(expr, 1, 1).in_(DANGEROUS), literal("'") + expr), else_=expr)


def _sql_name(model, rel, joins: list):
    """SQL for str(related record) when the target names itself the generic way (Entity.__str__: its
    title_joins' titles, then its title); None when its __str__ is its own."""
    from schema.base import Entity

    target = rel.mapper.class_
    spec = getattr(target, "__admin__", None)
    if spec is None or target.__str__ is not Entity.__str__:
        return None
    alias = aliased(target)
    joins.append((alias, getattr(model, rel.key).of_type(alias)))
    parts = []
    for j in spec.title_joins:
        inner_rel = inspect(target).relationships[j]
        inner = aliased(inner_rel.mapper.class_)
        joins.append((inner, getattr(alias, j).of_type(inner)))
        parts.append(func.coalesce(cast(getattr(inner, inner_rel.mapper.class_.__admin__.title), String), ""))
    parts.append(func.coalesce(cast(getattr(alias, spec.title), String), ""))
    name = parts[0]
    for part in parts[1:]:
        name = name + part
    fallback = literal("#") + cast(alias.id, String)
    return case((alias.id.is_(None), None), else_=_neutral(func.coalesce(func.nullif(name, ""), fallback)))


def _sql_value(model, name, kind, dialect: str, for_csv: bool):
    """SQL for what the export writes in one plain column: choices as their label and text neutralised
    by the database; for xlsx numbers and dates typed, for csv everything as its text."""
    column = getattr(model, name)
    if kind == "choice":
        labels = {code: gettext(label) for code, label in info_of(inspect(model).column_attrs[name])["choices"].choices()}
        return case(labels, value=column, else_=_neutral(column))  # a code its choices do not know is data
    if kind == "bool":
        return case((column.is_(True), gettext("是")), (column.is_(False), gettext("否")))
    if kind == "money":
        if not for_csv:
            return type_coerce(column, Float)
        return func.printf("%.2f", column) if dialect == "sqlite" else func.to_char(column, "FM999999999990.00")
    if kind == "datetime" and for_csv:
        return func.substr(column, 1, 16) if dialect == "sqlite" else func.to_char(column, "YYYY-MM-DD HH24:MI")
    if kind == "date" and for_csv and dialect == "sqlite":
        return type_coerce(column, String)  # stored as YYYY-MM-DD text: no need to parse it
    if kind in ("number", "date", "datetime"):
        return column
    return _neutral(cast(column, String) if kind != "text" else column)


class RelatedNames:
    """id -> str(related record) for a link whose target names itself in Python (its own __str__):
    loaded a batch of ids at a time and remembered (bounded by the distinct records, not the rows)."""

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


def export_values(model, columns, session, query, for_csv: bool = False, batch: int = 2000):
    """The export's rows, read through Core in batches: the database formats choices, yes/no, links
    (joined, named in SQL) and text, so a row goes to the writer as it comes. `query` is the list's
    ORM query (search, filters, sort). Links whose target names itself in Python, and audit changes,
    are filled in here a batch at a time."""
    mapper = inspect(model)
    dialect = session.get_bind().dialect.name
    selected, joins, python = [], [], {}
    for i, name in enumerate(columns):
        kind = field_kind(model, name)
        if name in mapper.relationships:
            rel = mapper.relationships[name]
            sql = _sql_name(model, rel, joins)
            if sql is None:
                python[i] = ("relation", RelatedNames(session, rel.mapper.class_))
                sql = getattr(model, next(iter(rel.local_columns)).key)
            selected.append(sql)
        elif kind == "changes":
            python[i] = ("changes", None)
            selected.append(getattr(model, name))
        else:
            selected.append(_sql_value(model, name, kind, dialect, for_csv))
    query = query.with_entities(*(expr.label(f"c{i}") for i, expr in enumerate(selected)))
    for alias, path in joins:
        query = query.outerjoin(alias, path)
    # Core execution: the rows are plain tuples of columns, nothing for the ORM to load
    result = session.connection().execute(query.statement.execution_options(yield_per=batch))
    patched = sorted(python)
    for chunk in result.partitions(batch):
        if not patched:
            yield from chunk
            continue
        for i in patched:
            names = python[i][1]
            if names is not None:
                names.load(row[i] for row in chunk)
        for row in chunk:
            if all(row[i] is None for i in patched):
                yield row
                continue
            row = list(row)
            for i in patched:
                if row[i] is not None:
                    names = python[i][1]
                    row[i] = names.names.get(row[i]) if names is not None else \
                        neutralise(display(model, columns[i], row[i]))
            yield row


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
    """A model list as xlsx; `rows` is a callable returning export_values (queried where it is read)."""
    kinds = [field_kind(model, c) for c in columns]
    return table_xlsx_response(labels, kinds, rows(), filename, sheet)


def table_xlsx_response(labels, kinds, values, filename: str, sheet: str) -> Response:
    """Write rows of typed values to a temporary file in constant memory, then stream it in chunks.

    kinds: per column "money", "date", "datetime" (formatted through the column's format) or anything
    else; values: iterable of rows whose text is already neutralised (export_values, or the caller)."""
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
        for i, (w, kind) in enumerate(zip(widths, kinds)):
            ws.set_column(i, i, min(w + 2, MAX_WIDTH), fmts.get(kind))  # unformatted cells take it
        ws.write_row(0, 0, labels, head)
        ws.freeze_panes(1, 0)
        write_row = ws.write_row
        r = 0
        for row in sample:
            r += 1
            write_row(r, 0, row)
        for row in rest:
            r += 1
            write_row(r, 0, row)
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
    """UTF-8 with BOM (Excel and WPS open it as Chinese), streamed; `rows` is a callable returning
    export_values(..., for_csv=True), whose rows are already text."""

    def stream():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(labels)
        yield "\ufeff" + buf.getvalue()
        buf.seek(0), buf.truncate()
        batch = []
        for row in rows():  # queried inside the stream, on the session its context will close
            batch.append(row)
            if len(batch) == 1000:
                writer.writerows(batch)
                batch.clear()
                yield buf.getvalue()
                buf.seek(0), buf.truncate()
        writer.writerows(batch)
        yield buf.getvalue()

    return Response(stream_with_context(stream()), headers={"Content-Disposition": content_disposition(filename),
                                       "X-Content-Type-Options": "nosniff"},
                    mimetype="text/csv; charset=utf-8")
