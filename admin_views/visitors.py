"""Visitors: time in prefilled, 登记离开 stamps the time out, and who is in the building now."""
from flask import request
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEmpty
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from schema.visitors import Visitor

from .generic import SchemaView


def check_out(visitor, at=None) -> None:
    """Stamp the time the visitor left; leaving twice is refused."""
    if visitor.time_out is not None:
        raise ValueError("已登记离开")
    visitor.time_out = at or clock.now()


class VisitorView(SchemaView):
    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.time_in.data = clock.now()
        return form

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if is_created:
            model.registered_by = current_user.username

    @action("check_out", "登记离开")
    def action_check_out(self, ids):
        self.apply_rule(ids, check_out, "已登记离开")

    def list_links(self):
        return [(gettext("在楼内"), self.filter_url("time_out", FilterEmpty, "1"))]

    def list_summary(self):
        inside = db.session.scalar(select(func.count()).select_from(Visitor).where(Visitor.time_out.is_(None)))
        return f"当前在楼内访客 {inside} 人" if inside else None
