"""Saved views: save a list's filters from the list itself, open them from the menu, see only one's own
and those shared with one's role."""
from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms.validators import ValidationError

from app import saved_views as rules
from schema.saved_views import SavedView

from .generic import SchemaView, parse_id


def list_view(endpoint):
    """The registered list view behind an endpoint, or None."""
    admin = current_app.extensions["propdesk_admin"]
    return next((v for v in admin._views if v.endpoint == endpoint and hasattr(v, "spec")), None)


class SavedViewView(SchemaView):
    extra_permissions = {"save_view": "read", "open_view": "read"}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "name": self._open_link}

    @staticmethod
    def _open_link(view, context, obj, name):
        return Markup(f'<a href="{escape(url_for(".open_view", id=obj.id))}">{escape(obj.name)}</a>')

    def scope(self, query):
        return query.filter(rules.visible_condition(current_user))

    def get_one(self, id):
        record = super().get_one(id)
        if record is None or not self.db_session.query(SavedView.id).filter(
                SavedView.id == record.id, rules.visible_condition(current_user)).first():
            return None
        return record

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if not rules.may_change(model, current_user):
            raise ValidationError("只能修改自己保存的视图")

    def delete_model(self, model):
        if not rules.may_change(model, current_user):
            flash("只能删除自己保存的视图", "error")
            return False
        return super().delete_model(model)

    @expose("/save/", methods=("POST",))
    def save_view(self):
        target = list_view(request.form.get("endpoint", ""))
        if target is None or not target.is_accessible():
            abort(404)
        back = url_for(f"{target.endpoint}.index_view") + ("?" + request.form.get("query", "") if request.form.get("query") else "")
        try:
            view = rules.save_view(user=current_user, endpoint=target.endpoint, label=str(target.name),
                                   query=request.form.get("query", ""), name=request.form.get("name", ""),
                                   shared_role=request.form.get("shared_role") or None)
            self.db_session.commit()
        except ValueError as exc:
            self.db_session.rollback()
            flash(str(exc), "error")
            return redirect(back)
        flash(f"已保存视图“{view.name}”,可从菜单“我的视图”打开", "success")
        return redirect(back)

    @expose("/open/")
    def open_view(self):
        try:
            view = self.get_one(parse_id(request.args.get("id", "")))
        except ValueError:
            view = None
        target = list_view(view.endpoint) if view is not None else None
        if target is None or not target.is_accessible():
            abort(404)
        return redirect(url_for(f"{target.endpoint}.index_view") + "?" + rules.clean_query(view.query))
