"""Documents: the upload field on the form and an authorised attachment download."""
from flask import abort, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import FileField

from app import storage

from .generic import SchemaView


class DocumentView(SchemaView):
    extra_permissions = {"download": "read"}

    def __init__(self, model, db):
        super().__init__(model, db)
        self.column_formatters = {**self.column_formatters, "filename": self._file_link}
        self.column_formatters_detail = self.column_formatters

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
        doc = self.get_one(request.args.get("id", ""))
        if doc is None or not doc.sha256:
            abort(404)
        try:
            path = storage.path_for(doc.sha256)
        except storage.UploadError:
            abort(404)
        if not path.exists():
            abort(404)
        response = send_file(path, mimetype=doc.content_type or "application/octet-stream",
                             as_attachment=True, download_name=doc.filename or "document")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        return response
