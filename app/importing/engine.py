"""Reading an uploaded sheet, validating every row (the dry run), and the all-or-nothing commit.

Both steps are generators yielding progress events `(phase, done, total)` and returning their result, so a
streamed page can report progress while tests and scripts simply drain them (`run()`).

The commit re-validates the stored file inside the transaction that writes it, inserts with SQLAlchemy
Core in batches (`INSERT ... RETURNING id`, SQLite ≥ 3.35 and PostgreSQL alike) and writes one audit_log
row per created record itself (operation 新增, action Excel导入, the changes JSON app.audit writes, the
file name and row number as the note), because Core inserts bypass the ORM flush that audits forms.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import openpyxl
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

from app import clock
from app.audit import OPERATIONS, _actor, _plain
from app.extensions import db

from .cells import CellError, normalise_header
from .kinds import KINDS, Importer, RowErrors

log = logging.getLogger(__name__)

ACTION = "Excel导入"
REPORT_COLUMN = "错误说明"
"""The extra column of the error report; ignored when a corrected report is uploaded again."""
PREVIEW_ROWS = 20
PROGRESS_EVERY = 1000
HEADER_SEARCH_ROWS = 10


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not xlsx, empty, wrong headers...): a Chinese message."""


@dataclass
class Issue:
    row: int
    """Excel row number (1-based, as Excel shows it)."""
    column: int | None
    """0-based column index in the uploaded sheet, None for a row-level problem."""
    header: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "header": self.header, "value": self.value,
                "message": self.message}


@dataclass
class Outcome:
    kind: str
    title: str
    rows: int = 0
    """Non-blank data rows."""
    issues: list[Issue] = field(default_factory=list)
    error_rows: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preview_headers: list[str] = field(default_factory=list)
    preview: list[list[str]] = field(default_factory=list)
    records: list[tuple[int, dict]] = field(default_factory=list, repr=False)
    importer: Importer | None = field(default=None, repr=False)
    header_row: int = 1
    report_column: int = 0
    """Where the error report writes 错误说明: after the last header, or over an old 错误说明 column."""

    @property
    def valid(self) -> int:
        return self.rows - self.error_rows

    @property
    def ok(self) -> bool:
        return self.rows > 0 and not self.issues

    def summary(self, max_issues: int = 500) -> dict:
        """JSON-able, for the preview page (the records are not kept)."""
        return {"kind": self.kind, "title": self.title, "rows": self.rows, "valid": self.valid,
                "error_rows": self.error_rows, "error_count": len(self.issues),
                "issues": [i.as_dict() for i in self.issues[:max_issues]], "warnings": self.warnings,
                "notes": self.notes, "preview_headers": self.preview_headers, "preview": self.preview}


def importer_for(kind: str) -> Importer:
    cls = KINDS.get(kind)
    if cls is None:
        raise ImportFileError("未知的导入类型")
    return cls()


def run(steps):
    """Drain a step generator; its return value."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


# ---------------------------------------------------------------- the sheet


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _blank(row) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in row)


class Sheet:
    """The first worksheet of an xlsx file, read once in openpyxl's streaming (read-only) mode."""

    def __init__(self, path):
        self.path = path
        try:
            self.book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:  # noqa: BLE001 - not a zip, not a workbook, encrypted, broken XML: all mean "unreadable"
            raise ImportFileError("无法读取该文件:请上传用 Excel 或 WPS 保存的 .xlsx 文件(不支持 .xls、.csv 或加密文件)") from None
        sheets = self.book.worksheets
        ws = sheets[0] if sheets else None
        if ws is None or not hasattr(ws, "iter_rows"):
            self.close()
            raise ImportFileError("文件中没有工作表")
        self.name = ws.title
        try:
            ws.reset_dimensions()  # some programs write a wrong <dimension>: read every row there is
        except AttributeError:
            pass
        self.ws = ws

    def rows(self):
        """(Excel row number, tuple of values), blank rows included so numbers stay right."""
        number = 0
        try:
            for number, values in enumerate(self.ws.iter_rows(values_only=True), start=1):
                yield number, values
        except ImportFileError:
            raise
        except Exception:  # noqa: BLE001 - a broken sheet part fails in many ways
            raise ImportFileError(f"文件内容已损坏,第{number + 1}行起无法读取") from None

    def close(self):
        try:
            self.book.close()
        except Exception:  # closing a half-read workbook must not hide the real error
            log.debug("closing %s failed", self.path, exc_info=True)


def map_headers(importer: Importer, rows) -> tuple[int, list[tuple[int, object]], list[str], int]:
    """Find the header row (the first with a known header, within the first rows); return its number,
    [(column index, Field)], the warnings and the column for 错误说明. Raises ImportFileError on a wrong layout."""
    known = {normalise_header(f.header): f for f in importer.fields}
    for number, values in rows:
        if number > HEADER_SEARCH_ROWS:
            break
        names = [normalise_header(v) for v in values]
        if not any(n in known for n in names):
            continue
        mapped, seen, ignored = [], {}, []
        for index, name in enumerate(names):
            if not name or name == REPORT_COLUMN:
                continue
            f = known.get(name)
            if f is None:
                ignored.append(name)
            elif name in seen:
                raise ImportFileError(f"表头“{name}”出现了两次(第{number}行)")
            else:
                seen[name] = index
                mapped.append((index, f))
        missing = [f.header for f in importer.fields if f.required and normalise_header(f.header) not in seen]
        if missing:
            raise ImportFileError("缺少必填列:" + "、".join(missing) + f"。请下载“{importer.title}”导入模板,按模板表头填写。")
        warnings = ["以下列不在模板中,已忽略:" + "、".join(ignored)] if ignored else []
        if REPORT_COLUMN in names:
            report_column = names.index(REPORT_COLUMN)
        else:
            report_column = max((i for i, n in enumerate(names) if n), default=-1) + 1
        return number, mapped, warnings, report_column
    raise ImportFileError(f"没有找到“{importer.title}”导入模板的表头(应在第1行):请下载本页的模板,按模板填写后上传。")


# ---------------------------------------------------------------- the dry run


def analyse(kind: str, path, expected: int | None = None, keep_records: bool = False):
    """Validate every row of the file. Generator: yields ("validate", done, total); returns an Outcome.
    Raises ImportFileError for a file that cannot be read at all."""
    importer = importer_for(kind)
    outcome = Outcome(kind=importer.kind, title=importer.title)
    limit = current_app.config.get("IMPORT_MAX_ROWS", 100_000)
    sheet = Sheet(path)
    try:
        rows = sheet.rows()
        header_row, mapped, outcome.warnings, outcome.report_column = map_headers(importer, rows)
        outcome.header_row = header_row
        importer.prepare()
        present = {f.key for _i, f in mapped}
        absent = [f for f in importer.fields if f.key not in present]
        examples = {f.key: f.read(f.example) for _i, f in mapped if f.example is not None}
        outcome.preview_headers = [f.header for _i, f in mapped]
        col_of = {f.key: i for i, f in mapped}
        kept: dict[int, dict] = {}
        raw_of: dict[int, tuple] = {}
        failed: dict[int, RowErrors] = {}
        total = expected or 0
        for number, raw in rows:
            if _blank(raw):
                continue
            outcome.rows += 1
            if outcome.rows > limit:
                raise ImportFileError(f"数据行过多:一次最多导入 {limit} 行,请拆分文件后分批导入")
            width = len(raw)
            values: dict = {}
            errors = RowErrors()
            for index, f in mapped:
                cell = raw[index] if index < width else None
                try:
                    value = f.read(cell)
                except CellError as exc:
                    errors.add(f.key, str(exc))
                    values[f.key] = None
                    continue
                if value is None:
                    if f.required:
                        errors.add(f.key, f"请填写{f.header}")
                    elif f.default is not None:
                        value = f.default
                else:
                    for check in f.checks:
                        message = check(value)
                        if message:
                            errors.add(f.key, message)
                            break
                values[f.key] = value
            for f in absent:
                values[f.key] = f.default
            if number == header_row + 1 and len(examples) >= 3 and all(values.get(k) == v for k, v in examples.items()):
                errors.add("", "这是模板中的示例行,请删除后再导入")
            record = importer.check_row(values, errors, number)
            raw_of[number] = raw  # for the error table (finish() may still refuse a valid row)
            if errors:
                failed[number] = errors
            elif record is not None:
                outcome.records.append((number, record))
                if len(kept) < PREVIEW_ROWS:
                    kept[number] = values
            if total and outcome.rows % PROGRESS_EVERY == 0:
                yield ("validate", outcome.rows, max(total, outcome.rows))
        if outcome.rows == 0:
            raise ImportFileError(f"文件中没有数据:表头(第{header_row}行)下面没有填写任何行")
        for number, key, message in importer.finish():
            failed.setdefault(number, RowErrors()).add(key, message)
        if failed:
            # rows refused by finish() leave the records; their raw values are needed for the report
            outcome.records = [(n, r) for n, r in outcome.records if n not in failed]
            kept = {n: v for n, v in kept.items() if n not in failed}
        outcome.notes = importer.notes()
        headers = {f.key: f.header for f in importer.fields}
        for number in sorted(failed):
            raw = raw_of.get(number)
            ordered = sorted(failed[number].items(), key=lambda kv: (col_of.get(kv[0]) is None, col_of.get(kv[0], 0)))
            for key, message in ordered:
                index = col_of.get(key)
                value = ""
                if index is not None and raw is not None and index < len(raw):
                    value = cell_text(raw[index])
                outcome.issues.append(Issue(number, index, headers.get(key, "") if key else "", value, message))
        outcome.error_rows = len(failed)
        outcome.preview = [[f.display(values.get(f.key)) for _i, f in mapped] for values in kept.values()]
        outcome.importer = importer
        if not keep_records:
            outcome.records = []
    finally:
        sheet.close()
    return outcome


# ---------------------------------------------------------------- the commit


class Writer:
    """Bulk inserts on the session's connection, each record with its audit_log row."""

    def __init__(self, total: int, note: str, batch: int):
        self.conn = db.session.connection()
        self.total, self.done, self.batch = total, 0, batch
        self.note = note
        actor = _actor()
        self.user_id, self.username = actor.get("user_id"), actor.get("username") or "system"
        self.now = clock.now()
        self.created: dict[str, int] = {}

    def insert(self, model, records: list[tuple[int, dict]], report: bool = True):
        """INSERT the records in batches; returns their ids (in order). Yields ("insert", done, total)."""
        from schema.org import AuditLog

        table = model.__table__
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        audit = AuditLog.__table__.insert()
        ids: list[int] = []
        for start in range(0, len(records), self.batch):
            chunk = records[start:start + self.batch]
            new_ids = self.conn.execute(stmt, [r for _row, r in chunk]).scalars().all()
            ids.extend(new_ids)
            self.conn.execute(audit, [self._audit(table.name, id_, row, r) for id_, (row, r) in zip(new_ids, chunk)])
            self.created[table.name] = self.created.get(table.name, 0) + len(chunk)
            if report:
                self.done += len(chunk)
                yield ("insert", self.done, self.total)
        return ids

    def _audit(self, table: str, record_id: int, row: int, record: dict) -> dict:
        changes = {k: [None, _plain(v)] for k, v in record.items() if v is not None and k not in ("id", "version")}
        return {"at": self.now, "user_id": self.user_id, "username": self.username,
                "operation": OPERATIONS["insert"], "table_name": table, "record_id": record_id,
                "action": ACTION, "changes": json.dumps(changes, ensure_ascii=False, default=str),
                "note": f"{self.note} 第{row}行"}


@dataclass
class Result:
    ok: bool
    message: str
    created: dict = field(default_factory=dict)
    outcome: Outcome | None = None


def commit(kind: str, path, filename: str, expected: int | None = None, batch: int | None = None):
    """Re-validate the file and, only if every row is valid, insert everything in one transaction.
    Generator: yields ("validate"|"insert", done, total); returns a Result. Nothing is written unless
    every row is written (any failure rolls the whole import back)."""
    batch = batch or current_app.config.get("IMPORT_BATCH", 5000)
    try:
        try:
            outcome = yield from analyse(kind, path, expected=expected, keep_records=True)
        except ImportFileError as exc:
            db.session.rollback()
            return Result(False, str(exc))
        if not outcome.ok:
            db.session.rollback()
            return Result(False, f"文件中有 {outcome.error_rows} 行存在错误(数据可能在预检后有变化),未导入任何数据,"
                                 "请查看预检结果", outcome=outcome)
        records = outcome.records
        writer = Writer(len(records), f"{outcome.title}导入 {filename}", batch)
        yield ("insert", 0, len(records))
        yield from outcome.importer.insert(writer, records)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.warning("import of %s rolled back on a constraint", filename, exc_info=True)
        return Result(False, "导入失败:数据在预检后被他人修改(重复或关联记录冲突),已全部撤销,请重新上传预检")
    except OperationalError:
        db.session.rollback()
        log.warning("import of %s rolled back", filename, exc_info=True)
        return Result(False, "导入失败:数据库繁忙或连接中断,已全部撤销,请稍后重试")
    except BaseException:  # including GeneratorExit when the page is closed mid-way
        db.session.rollback()
        raise
    return Result(True, f"已导入{outcome.title} {len(records)} 条", created=writer.created, outcome=outcome)
