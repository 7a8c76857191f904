"""The admin home: the dashboard for the user's role (today's work, key rates, small charts from
app/dashboard.py), then every section the user may open, with record counts (全部功能)."""
from flask import current_app, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from app import clock, dashboard
from app.extensions import db

from .rendering import FastRenderMixin

FILTER_KINDS = {
    "eq": sqla_filters.FilterEqual,
    "ne": sqla_filters.FilterNotEqual,
    "empty": sqla_filters.FilterEmpty,
    "between": sqla_filters.DateBetweenFilter,
    "dt_between": sqla_filters.DateTimeBetweenFilter,
    "lt": sqla_filters.DateSmallerFilter,
    "dt_lt": sqla_filters.DateTimeSmallerFilter,
}
"""dashboard.FILTER_OPS -> the Flask-Admin filter class the generated views declare for it."""

TILE_CLASSES = {dashboard.OK: "border-secondary", dashboard.WARN: "border-warning tile-warn",
                dashboard.DANGER: "bg-danger text-white border-danger"}


def filter_arg(view, column: str, kind: type) -> str:
    """The URL argument suffix of `view`'s declared filter of exactly this class on `column`
    (what SchemaView.filter_url uses for one filter; here for several at once)."""
    target = getattr(view.model, column).property.columns[0]
    for index, flt in enumerate(view._filters or ()):
        if type(flt) is kind and getattr(flt, "column", None) is target:
            return view.get_filter_arg(index, flt)
    raise LookupError(f"{view.endpoint}: no {kind.__name__} filter on {column}")


class HomeView(FastRenderMixin, AdminIndexView):
    def _handle_view(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        return None

    def _view(self, endpoint: str):
        name = endpoint.split(".", 1)[0]
        return next((v for v in self.admin._views if getattr(v, "endpoint", None) == name), None)

    def resolve(self, link: dict) -> str | None:
        """The URL of a dashboard link, or None when the user may not open its view."""
        view = self._view(link["endpoint"])
        if view is None or not view.is_accessible():
            return None
        args = dict(link.get("args") or {})
        try:
            for position, (column, op, value) in enumerate(link.get("filters") or ()):
                args[f"flt{position}_{filter_arg(view, column, FILTER_KINDS[op])}"] = value
        except LookupError as exc:  # a spec dropped the filter: open the whole list rather than fail the home page
            current_app.logger.warning("dashboard link without its filter: %s", exc)
            args = dict(link.get("args") or {})
        return url_for(link["endpoint"], **args)

    def _linked(self, items: list[dict]) -> list[dict]:
        out = []
        for item in items:
            url = self.resolve(item["link"])
            if url is not None:
                out.append({**item, "url": url})
        return out

    def sections(self) -> list:
        sections = {}
        for view in self.admin._views:
            spec = getattr(view, "spec", None)
            if spec is None or not view.is_accessible():
                continue
            count = db.session.execute(select(func.count()).select_from(view.model)).scalar()
            sections.setdefault(gettext(spec.category), []).append(
                (gettext(spec.menu), url_for(f"{view.endpoint}.index_view"), count))
        return list(sections.items())

    @expose("/")
    def index(self):
        today, now = clock.today(), clock.now()
        roles = current_user.roles
        tiles = [dict(t, css=TILE_CLASSES[t["level"]]) for t in self._linked(dashboard.tiles(roles, today, now))]
        return self.render("admin/index.html", tiles=tiles, rates=self._linked(dashboard.rates(today, roles)),
                           charts=dashboard.charts(today, roles), sections=self.sections(),
                           today=today.isoformat())
