"""Saved list views: what a list URL may carry (filters, search, sort), who sees a view, where it opens.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import or_, select

from . import clock
from .extensions import db

LIST_ARG = re.compile(r"^(flt\d+_\w+|search|sort|desc|page_size)$")
NAME_MAX = 50


class SavedViewError(ValueError):
    """A saved view refused, with a Chinese message for the user."""


def clean_query(query: str) -> str:
    """Keep only a list's own arguments (filters, search, sort); drop paging, return URLs and the rest."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if LIST_ARG.match(k)]
    return urlencode(pairs)


def save_view(*, user, endpoint: str, label: str, query: str, name: str, shared_role: str | None = None):
    """Save a list's current filters under a name for `user`, optionally shared with a role."""
    from schema.saved_views import SavedView
    from schema.spec import ROLES

    name = (name or "").strip()
    if not name:
        raise SavedViewError("请填写视图名称")
    if len(name) > NAME_MAX:
        raise SavedViewError(f"视图名称不能超过{NAME_MAX}个字")
    if shared_role and shared_role not in ROLES:
        raise SavedViewError("共享角色不正确")
    cleaned = clean_query(query)
    if not cleaned:
        raise SavedViewError("当前列表没有筛选、搜索或排序条件,无需保存")
    taken = db.session.execute(select(SavedView.id).where(SavedView.user_id == user.id, SavedView.name == name)).first()
    if taken:
        raise SavedViewError(f"已有名为“{name}”的视图")
    view = SavedView(name=name, endpoint=endpoint, target_label=label, query=cleaned, user_id=user.id,
                     shared_role=shared_role or None, created_at=clock.now())
    db.session.add(view)
    db.session.flush()
    return view


def visible_condition(user):
    """A user sees the views they saved and those shared with their role; admin sees all."""
    from schema.saved_views import SavedView

    if "admin" in user.roles:
        return SavedView.id.is_not(None)
    return or_(SavedView.user_id == user.id, SavedView.shared_role.in_(tuple(user.roles)))


def visible_views(user) -> list:
    from schema.saved_views import SavedView

    stmt = select(SavedView).where(visible_condition(user)).order_by(SavedView.target_label, SavedView.name)
    return list(db.session.execute(stmt).scalars())


def may_change(view, user) -> bool:
    """Only the author (or an admin) edits or deletes a view; others may only open it."""
    return "admin" in user.roles or view.user_id == user.id
