"""Rendering shortcuts that keep a page's cost independent of the menu's size and the rows' links.

Flask-Admin renders the whole menu on every page (an access check and a url_for per entry: ~50
entries here) and builds three row-action URLs per row through url_for, each re-encoding the
list's return URL. The menu depends only on the user's roles, the page and the language, so it
is rendered once per such key; a row link is one URL per request with the id substituted.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import g
from flask_login import current_user

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
        from markupsafe import Markup

        key = _menu_key(self)
        html = _MENUS.get(key)
        if html is None:
            html = _MENUS[key] = Markup(super().render("admin/menu_only.html"))
        return html

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
