"""List pages that stay fast on a city-scale table: an indexed search plan, a capped count, and no
count at all when the page itself says how many rows there are.

Stock Flask-Admin counts every matching row (`SELECT count(*)`: a full index scan of a million
rows) and searches with `LIKE '%term%'` on every column; both grow with the table.
"""
from __future__ import annotations

from flask import abort, request
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import fulltext, scoping

COUNT_CAP = 10_000
"""Counting stops here: the list reads "10,000+" and pages through the first 500 pages."""


class CappedCount(int):
    """A count that reached the cap: pages as cap + 1 rows, reads "10,000+"."""

    def __str__(self) -> str:
        return f"{COUNT_CAP:,}+"

    def __format__(self, spec) -> str:
        return str(self)


def capped_count(session, id_query) -> int:
    """How many rows `id_query` selects, reading at most COUNT_CAP + 1 of them."""
    limited = id_query.order_by(None).limit(COUNT_CAP + 1).subquery()
    n = session.execute(select(func.count()).select_from(limited)).scalar()
    return CappedCount(n) if n > COUNT_CAP else n


class FastListMixin:
    """For ModelView subclasses over SQLAlchemy: overrides the search, the count and get_list."""

    def scope(self, query):
        """Restrict a query over this view's model to the rows this request may see (the user's
        estates, app/scoping.py); the list, its count, the export, get_one and the actions all pass
        through here (views narrow it further)."""
        return scoping.scope_query(query, self.model)

    def check_list_args(self) -> None:
        """Filter and sort arguments must be ones the spec declares (as Django admin, unlike stock
        Flask-Admin, which ignores them silently): anything else answers 400, so a mistyped or forged
        URL never shows a list that looks filtered but is not."""
        for arg in request.args:
            if arg.startswith("flt"):
                pos, _, key = arg[3:].partition("_")
                if not pos.isdigit() or key not in (self._filter_args or {}):
                    abort(400)
        sort = request.args.get("sort")
        if sort is not None:
            column = self._get_column_by_idx(int(sort)) if sort.isdigit() else None
            if column is None or column[0] not in (self._sortable_columns or {}):
                abort(400)
        if request.args.get("desc") not in (None, "", "0", "1"):
            abort(400)

    def get_count_query(self):
        return self.scope(self.db_session.query(self.model.id))

    def plain_query(self):
        """The view's rows without eager loads: what an export reads columns from."""
        return self.scope(self.db_session.query(self.model))

    def _apply_search(self, query, count_query, joins, count_joins, search):
        for term in search.split():
            condition = fulltext.search_condition(self.model, term, self.db_session)
            if condition is None:
                continue
            query = query.filter(condition)
            if count_query is not None:
                count_query = count_query.filter(condition)
        return query, count_query, joins, count_joins

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None, query=None):
        """Flask-Admin's get_list, but the count is capped, skipped when the first page is not full,
        and never run for callers that only want the query (export, all-filtered actions); `query`
        replaces get_query() as the base (the export's plain_query)."""
        joins, count_joins = {}, {}
        query = self.get_query() if query is None else query
        count_query = self.get_count_query() if execute and not self.simple_list_pager else None
        if self._search_supported and search:
            query, count_query, joins, count_joins = self._apply_search(query, count_query, joins, count_joins, search)
        if filters and self._filters:
            query, count_query, joins, count_joins = self._apply_filters(query, count_query, joins, count_joins,
                                                                         filters)
        for j in self._auto_joins:
            query = query.options(joinedload(j))
        query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
        query = self._apply_pagination(query, page, page_size)
        if not execute:
            return None, query
        rows = query.all()
        size = self.page_size if page_size is None else page_size
        if count_query is None:
            count = None
        elif not page and (not size or len(rows) < size):
            count = len(rows)
        else:
            count = capped_count(self.db_session, count_query)
        return count, rows
