"""Documents: the upload field on the form and an authorised attachment download."""
from flask import abort, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import FileField

from app import storage

from .generic import SchemaView, parse_id


def _arg_id(name):
    """An id from the query string, or None for anything that is not one."""
    try:
        return parse_id(request.args.get(name, ""))
    except ValueError:
        return None


class DocumentView(SchemaView):
    extra_permissions = {"download": "read"}

    def __init__(self, model, db):
        super().__init__(model, db)
        self.column_formatters = {**self.column_formatters, "filename": self._file_link}
        self.column_formatters_detail = self.column_formatters

    def create_form(self, obj=None):
        """Opened from a move-in or permit that lacks a document: owner, unit and type prefilled."""
        form = super().create_form(obj)
        if request.method == "GET":
            from app.extensions import db
            from schema.people import Owner
            from schema.property import Unit

            form.owner.data = db.session.get(Owner, _arg_id("owner")) if _arg_id("owner") else form.owner.data
            form.unit.data = db.session.get(Unit, _arg_id("unit")) if _arg_id("unit") else form.unit.data
            if request.args.get("doc_type"):
                from schema.documents import DocType

                form.doc_type.data = request.args["doc_type"]
                form.title.data = form.title.data or DocType.label_of(request.args["doc_type"])
            if request.args.get("title"):
                form.title.data = request.args["title"][:200]
            if request.args.get("ref_table"):
                form.ref_table.data = request.args["ref_table"][:40]
                form.ref_id.data = _arg_id("ref_id")
        return form

    def scaffold_form(self):
        form = super().scaffold_form()
        form.upload = FileField("文件(PDF/JPEG/PNG)", description="按文件内容识别类型;大小上限见系统设置")
        return form

    def validate_form(self, form):
        ok = super().validate_form(form)
        upload = getattr(form, "upload", None)
        if upload is None or request.method != "POST" or not ok:
            return ok
        file = request.files.get("upload")
        creating = request.endpoint.endswith("create_view")
        if not file or not file.filename:
            if creating:
                upload.errors = list(upload.errors or []) + ["请选择要上传的文件"]
                return False
            return ok
        try:
            form._stored = storage.store(file.stream, file.filename)
        except storage.UploadError as err:
            upload.errors = list(upload.errors or []) + [str(err)]
            return False
        return ok

    def on_model_change(self, form, model, is_created):
        stored = getattr(form, "_stored", None)
        if stored:
            for key, value in stored.items():
                setattr(model, key, value)
        if is_created and model.clerk_id is None and current_user.is_authenticated:
            model.clerk_id = current_user.id
        if not model.title and stored:
            model.title = stored["filename"]

    def get_save_return_url(self, model, is_created=False):
        """Back to the record that asked for the document (a move-in, a permit), else its details."""
        from flask_admin.helpers import get_redirect_target

        back = get_redirect_target()
        return back if is_created and back else super().get_save_return_url(model, is_created)

    def record_links(self, model):
        links = super().record_links(model)
        if model.sha256:
            links.insert(0, (gettext("下载文件"), url_for(".download", id=model.id)))
        return links

    @staticmethod
    def _file_link(view, context, obj, name):
        if not obj.sha256:
            return obj.filename or ""
        return Markup(f'<a href="{escape(url_for(".download", id=obj.id))}">{escape(obj.filename or "文件")}</a>')

    @expose("/download/")
    def download(self):
        """Always an attachment, typed as stored (one of the allowed types, else octet-stream), never sniffed."""
        doc = self.get_one(request.args.get("id", ""))
        if doc is None or not doc.sha256:
            abort(404)
        try:
            path = storage.path_for(doc.sha256)
        except storage.UploadError:
            abort(404)
        if not path.exists():
            abort(404)
        mimetype = doc.content_type if doc.content_type in storage.EXTENSIONS else "application/octet-stream"
        name = storage.clean_name(doc.filename or doc.title or "document", storage.EXTENSIONS.get(mimetype, ""))
        response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
        response.headers["Content-Disposition"] = storage.content_disposition(name)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        return response
