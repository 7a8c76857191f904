"""全局搜索: the top bar's box lands here (/admin/search/?q=...); app/search.py does the finding.

Every signed-in role may search; each kind is looked up only when the role may read that table."""
from flask import request
from flask_admin import expose
from flask_login import current_user

from app import scoping, search
from schema.spec import ALL

from .pages import RolePage


class SearchView(RolePage):
    roles = ALL
    in_menu = False  # reached from the box in the top bar, not from the menu

    @expose("/")
    def index(self):
        results = search.search(request.args.get("q", ""), current_user.roles, scoping.current_estates())
        return self.render("admin/search.html", results=results, query=results.query,
                           modes=search.MODES, hints=search.HINTS, per_kind=search.PER_KIND)
