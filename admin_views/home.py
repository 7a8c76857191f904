"""The admin home: the sections the user may open, with record counts."""
from flask import redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from app import clock
from app.extensions import db


class HomeView(AdminIndexView):
    def _handle_view(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        return None

    @expose("/")
    def index(self):
        sections = {}
        for view in self.admin._views:
            spec = getattr(view, "spec", None)
            if spec is None or not view.is_accessible():
                continue
            count = db.session.execute(select(func.count()).select_from(view.model)).scalar()
            sections.setdefault(gettext(spec.category), []).append(
                (gettext(spec.menu), url_for(f"{view.endpoint}.index_view"), count))
        return self.render("admin/index.html", sections=list(sections.items()), today=clock.today().isoformat())
