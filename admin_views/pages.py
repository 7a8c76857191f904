"""Pages outside the schema (arrears, reports, import, household, search): one rule for who may open them."""
from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_login import current_user

from .rendering import FastRenderMixin


class RolePage(FastRenderMixin, BaseView):
    """Open to the roles in `roles`; anonymous users are sent to the login page first, others get 403.
    `in_menu` False keeps a page reachable by links only (household, search)."""

    roles: frozenset = frozenset()
    in_menu: bool = True

    def is_accessible(self):
        return bool(getattr(current_user, "is_authenticated", False)) and bool(current_user.roles & self.roles)

    def is_visible(self):
        return self.in_menu and self.is_accessible()

    def _handle_view(self, name, **kwargs):
        if not getattr(current_user, "is_authenticated", False):
            return redirect(url_for("auth.login", next=request.full_path))
        if not self.is_accessible():
            abort(403)
        return None
