"""全局搜索: the top bar's box lands here (/admin/search/?q=...); app/search.py does the finding.

Every signed-in role may search; each kind is looked up only when the role may read that table."""
from flask import redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from app import search


class SearchView(BaseView):
    def is_accessible(self):
        return bool(getattr(current_user, "is_authenticated", False))

    def is_visible(self):
        return False  # reached from the box in the top bar, not from the menu

    def _handle_view(self, name, **kwargs):
        if not self.is_accessible():
            return redirect(url_for("auth.login", next=request.full_path))
        return None

    @expose("/")
    def index(self):
        results = search.search(request.args.get("q", ""), current_user.roles)
        return self.render("admin/search.html", results=results, query=results.query,
                           modes=search.MODES, hints=search.HINTS, per_kind=search.PER_KIND)
