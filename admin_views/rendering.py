"""Rendering shortcuts that keep a page's cost independent of the menu's size and the rows' links.

Flask-Admin renders the whole menu on every page (an access check and a url_for per entry: ~50
entries here) and builds three row-action URLs per row through url_for, each re-encoding the
list's return URL. The menu depends only on the user's roles, the page and the language, so it
is rendered once per such key; a row link is one URL per request with the id substituted.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import g
from flask_admin.model.template import BaseListRowAction, DeleteRowAction, EditRowAction, ViewRowAction
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup, escape

_MENUS: dict = {}
_ID = "PDROWIDPD"


def _menu_key(view) -> tuple:
    from flask_babel import get_locale

    roles = frozenset(getattr(current_user, "roles", ()) or ()) if getattr(current_user, "is_authenticated", False) \
        else frozenset()
    return roles, view.endpoint, str(get_locale())


class FastRenderMixin:
    """For Flask-Admin views: `cached_menu()` in templates, and cheap per-row get_url."""

    def render(self, template, **kwargs):
        kwargs["cached_menu"] = lambda: self._cached_menu()
        return super().render(template, **kwargs)

    def _cached_menu(self):
        key = _menu_key(self)
        html = _MENUS.get(key)
        if html is None:
            html = _MENUS[key] = Markup(super().render("admin/menu_only.html"))
        return html

    def get_list_row_actions(self):
        return [LinkAction(*ROW_LINKS[type(a)]) if type(a) in ROW_LINKS else a
                for a in super().get_list_row_actions()]

    def get_url(self, endpoint, **kwargs):
        """url_for, but a URL that differs from the previous one only by its id is not rebuilt."""
        if "id" not in kwargs or not str(kwargs["id"]).isdigit():
            return super().get_url(endpoint, **kwargs)
        record_id = kwargs.pop("id")
        try:
            key = (endpoint, tuple(sorted(kwargs.items())))
            cache = g.setdefault("_row_urls", {})
            template = cache.get(key)
        except TypeError:  # an unhashable argument: no shortcut
            return super().get_url(endpoint, id=record_id, **kwargs)
        if template is None:
            template = cache[key] = super().get_url(endpoint, id=_ID, **kwargs)
        return template.replace(_ID, quote(str(record_id)), 1)


class LinkAction(BaseListRowAction):
    """A row's view / edit / delete button as a plain link built through the view's get_url (one URL
    per request, see FastRenderMixin.get_url) instead of Flask-Admin's per-row template macros. The
    delete button leads to the delete preview, which every delete passes through anyway, so no
    per-row POST form (and its CSRF field) is rendered."""

    def __init__(self, endpoint: str, icon: str, title):
        super().__init__(title)
        self.endpoint, self.icon = endpoint, icon

    def render(self, context, row_id, row):
        get_url = self._resolve_symbol(context, "get_url")
        return_url = self._resolve_symbol(context, "return_url")
        url = get_url(self.endpoint, id=row_id, url=return_url)
        return Markup(f'<a class="icon" href="{escape(url)}" title="{escape(str(self.title))}">'
                      f'<span class="{self.icon}"></span></a>')


ROW_LINKS = {
    ViewRowAction: (".details_view", "fa fa-eye glyphicon glyphicon-eye-open", lazy_gettext("查看记录")),
    EditRowAction: (".edit_view", "fa fa-pencil glyphicon glyphicon-pencil", lazy_gettext("编辑记录")),
    DeleteRowAction: (".delete_view", "fa fa-trash glyphicon glyphicon-trash", lazy_gettext("删除记录")),
}
