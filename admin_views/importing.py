"""Excel import (数据导入): template, dry run with row errors, all-or-nothing commit.

    GET  /admin/import/                       choose a kind, download its template, upload a file
    GET  /admin/import/template/<kind>.xlsx   the template (Chinese headers, example row, 说明 sheet)
    POST /admin/import/upload/                store the file under a random token (kept in the session),
                                              validate every row, redirect to the preview
    GET  /admin/import/preview/               counts, errors by row and column, the first rows
    GET  /admin/import/report.xlsx            the uploaded sheet with the bad cells marked
    POST /admin/import/commit/                re-validate and write everything in one transaction

The commit answers with a streamed page: the layout's head, then one small progress block per step
(validating every 1,000 rows, writing every batch) that CSS shows only the latest of, then the result
and the layout's tail. It needs no JavaScript and no second request, so it works the same on the dev
server and on gunicorn (sync workers stream chunked responses; `X-Accel-Buffering: no` asks a proxy
such as nginx not to buffer). A dropped connection closes the generator, which rolls the import back.

Roles: the page is for admin and supervisor; each kind also needs `create` on the models it writes
(the same roles as the forms), so a supervisor imports owners, units, ownerships and residents, and
leases and opening balances are offered to admin only.
"""
from __future__ import annotations

import logging
import os
import re

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_admin import expose
from flask_login import current_user

from app import importing
from app.importing import store
from app.importing.engine import ImportFileError, analyse, commit, run

from .export import content_disposition
from .generic import allowed
from .pages import RolePage

ROLES = frozenset({"admin", "supervisor"})
SESSION_KEY = "import_token"
MARKER = "<!--import-progress-->"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

log = logging.getLogger(__name__)


class ImportView(RolePage):
    roles = ROLES

    # -- helpers ------------------------------------------------------------------------
    @staticmethod
    def kinds() -> list:
        """The importers the current user may run: `create` on every model the kind writes."""
        return [cls for cls in importing.KINDS.values()
                if all(allowed(m.__admin__, "create") for m in cls.models)]

    def _importer(self, kind: str):
        cls = importing.KINDS.get(kind)
        if cls is None:
            abort(404)
        if cls not in self.kinds():
            abort(403)
        return cls

    def _current(self):
        """(token, metadata) of this user's pending upload, or (None, None)."""
        token = session.get(SESSION_KEY)
        meta = store.read_meta(token, current_user.id)
        return (token, meta) if meta else (None, None)

    def _page(self, error=None, kind=None, status=200):
        _token, meta = self._current()
        return self.render("admin/import.html", kinds=self.kinds(), error=error, chosen=kind or request.args.get("kind"),
                           pending=meta, max_size=store.size_text(store.limit()),
                           max_rows=current_app.config.get("IMPORT_MAX_ROWS", 100_000)), status

    # -- pages ----------------------------------------------------------------------------
    @expose("/")
    def index(self):
        return self._page()

    @expose("/template/<kind>.xlsx")
    def template(self, kind):
        cls = self._importer(kind)
        data = importing.template_xlsx(kind)
        return Response(data, mimetype=XLSX, headers={
            "Content-Disposition": content_disposition(f"{cls.title}导入模板.xlsx"),
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    @expose("/upload/", methods=("POST",))
    def upload(self):
        kind = request.form.get("kind", "")
        if kind not in importing.KINDS:
            return self._page("请选择导入类型", status=400)
        cls = self._importer(kind)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self._page("请选择要上传的 .xlsx 文件", kind, 400)
        try:
            token = store.save(upload.stream, upload.filename, {"kind": kind, "user_id": current_user.id})
        except ImportFileError as exc:
            return self._page(str(exc), kind, 400)
        try:
            outcome = run(analyse(kind, store.xlsx_path(token)))
        except ImportFileError as exc:
            store.discard(token)
            return self._page(str(exc), kind, 400)
        except Exception:
            log.exception("import dry run of %r failed", upload.filename)
            store.discard(token)
            return self._page("无法读取该文件:请确认是用 Excel 或 WPS 保存的 .xlsx 文件,并使用本页的模板", kind, 400)
        meta = store.read_meta(token, current_user.id) or {}
        meta.update(summary=outcome.summary(), title=cls.title)
        store.write_meta(token, meta)
        old, _meta = self._current()
        if old and old != token:
            store.discard(old)
        session[SESSION_KEY] = token
        return redirect(url_for(".preview"))

    @expose("/preview/")
    def preview(self):
        _token, meta = self._current()
        if meta is None:
            flash("没有待导入的文件(可能已导入或已过期),请重新上传", "warning")
            return redirect(url_for(".index"))
        cls = self._importer(meta["kind"])
        return self.render("admin/import_preview.html", meta=meta, s=meta["summary"], importer=cls,
                           can_commit=meta["summary"]["error_count"] == 0 and meta["summary"]["rows"] > 0)

    @expose("/report.xlsx")
    def report(self):
        token, meta = self._current()
        if meta is None:
            flash("没有待导入的文件(可能已导入或已过期),请重新上传", "warning")
            return redirect(url_for(".index"))
        self._importer(meta["kind"])
        path = store.xlsx_path(token)
        try:
            outcome = run(analyse(meta["kind"], path))
            out = importing.error_report(path, outcome)
        except ImportFileError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index"))
        stem = re.sub(r"\.xls[xm]$", "", meta.get("filename") or "导入文件", flags=re.IGNORECASE) or "导入文件"

        def chunks():
            try:
                with open(out, "rb") as fh:
                    while chunk := fh.read(64 * 1024):
                        yield chunk
            finally:
                os.unlink(out)

        return Response(chunks(), mimetype=XLSX, headers={
            "Content-Disposition": content_disposition(f"{stem}_错误报告.xlsx"),
            "Content-Length": str(os.path.getsize(out)), "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store"})

    @expose("/commit/", methods=("POST",))
    def commit(self):
        token, meta = self._current()
        if meta is None:
            flash("没有待导入的文件(可能已导入或已过期),请重新上传", "warning")
            return redirect(url_for(".index"))
        cls = self._importer(meta["kind"])
        summary = meta["summary"]
        if summary["error_count"] or not summary["rows"]:
            flash("文件中还有错误,不能导入:请下载错误报告,修改后重新上传", "error")
            return redirect(url_for(".preview"))
        lock = store.claim(token)
        if lock is None:
            flash("该文件正在导入,请勿重复提交", "warning")
            return redirect(url_for(".preview"))
        try:
            page = self.render("admin/import_commit.html", meta=meta, importer=cls)
            head, _sep, tail = page.partition(MARKER)
        except BaseException:
            store.release(lock)
            raise
        path, filename, kind = store.xlsx_path(token), meta.get("filename") or "", meta["kind"]

        def stream():
            steps = commit(kind, path, filename, expected=summary["rows"])
            try:
                yield head + "\n" + " " * 1024 + "\n"  # past the bytes browsers wait for before painting
                while True:
                    try:
                        phase, done, total = next(steps)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    yield render_template("admin/import_progress.html", phase=phase, done=done, total=total,
                                          percent=_percent(phase, done, total))
                if result.ok:
                    store.discard(token)
                elif result.outcome is not None:  # the data changed since the dry run: show the new errors
                    store.write_meta(token, {**meta, "summary": result.outcome.summary()})
                yield render_template("admin/import_result.html", result=result, importer=cls, meta=meta,
                                      table_label=_table_label, action=importing.ACTION)
            except Exception:
                log.exception("import commit of %r failed", filename)
                yield render_template("admin/import_result.html", result=importing.Result(
                    False, "导入失败:服务器出现错误,已全部撤销,未写入任何数据"), importer=cls, meta=meta,
                    table_label=_table_label, action=importing.ACTION)
            finally:
                steps.close()  # a dropped connection lands here: the commit generator rolls back
                store.release(lock)
            yield tail

        response = Response(stream_with_context(stream()), mimetype="text/html", headers={
            "X-Accel-Buffering": "no", "Cache-Control": "no-store"})
        response.call_on_close(lambda: store.release(lock))  # also when the stream never started
        return response


def _percent(phase: str, done: int, total: int) -> int:
    """Validating is the first 40% of the bar, writing the rest."""
    share = done / total if total else 1
    return int(40 * share) if phase == "validate" else 40 + int(60 * share)


def _table_label(table: str) -> str:
    """The menu name of a table (业主, 楼栋...), in the current language."""
    from flask_babel import gettext

    from schema import REGISTRY

    for model in REGISTRY:
        if model.__tablename__ == table and model.__admin__ is not None:
            return gettext(model.__admin__.menu)
    return table
