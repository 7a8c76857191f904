"""Community culture: the bulletin board's two-week rule and the life of a community event.

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from . import clock
from .actors import username_of
from .audit import audit_context
from .extensions import db

POST_LIFETIME_DAYS = 14  # the manual: 宣传栏内容每两周更换一次


def post_due(post, today: date) -> bool:
    """A post still up after 14 days is due for replacement (待更换)."""
    return post.removed_on is None and post.posted_on is not None and \
        post.posted_on <= today - timedelta(days=POST_LIFETIME_DAYS)


def posts_due_query(today: date):
    """Posts due for replacement, oldest first (the dashboard lists their boards)."""
    from schema.community import BulletinPost

    return (select(BulletinPost).where(BulletinPost.removed_on.is_(None),
                                       BulletinPost.posted_on <= today - timedelta(days=POST_LIFETIME_DAYS))
            .order_by(BulletinPost.posted_on))


# ---------------------------------------------------------------- rules

PLANNING, APPROVED, SET_UP, HELD, ARCHIVED = "planning", "approved", "set_up", "held", "archived"
EVENT_TABLE = "community_event"


class CommunityError(ValueError):
    """A bulletin-board or community-event step refused, with a Chinese message for the user."""


def take_down(post, *, user=None, on: date | None = None) -> None:
    """撤下/更换: the post comes off the board today (its replacement is a new post)."""
    if post.removed_on is not None:
        raise CommunityError(f"该宣传内容已于 {post.removed_on:%Y-%m-%d} 撤下")
    on = on or clock.today()
    if post.posted_on is not None and on < post.posted_on:
        raise CommunityError("撤下日期不能早于张贴日期")
    with audit_context(db.session, action="撤下宣传内容", username=username_of(user)):
        post.removed_on = on
        db.session.flush()


def _action_roles(name: str) -> frozenset:
    from schema.community import CommunityEvent

    return frozenset(CommunityEvent.__admin__.actions.get(name, ()))


def _check_role(user, name: str, verb: str) -> None:
    """A logged-in user must hold the spec's role for the step; a bare name (CLI, seed) is trusted."""
    user_roles = getattr(user, "roles", None)
    if user_roles is not None and not frozenset(user_roles) & _action_roles(name):
        raise CommunityError(f"您的角色无权{verb}社区活动")


def _move(event, allowed: tuple, target: str, verb: str) -> None:
    from schema.community import EventStatus

    if event.status not in allowed:
        raise CommunityError(f"活动处于“{EventStatus.label_of(event.status)}”,不能{verb}")
    event.status = target


def approve_event(event, *, user, note: str | None = None) -> None:
    """策划 → 已批准: the plan is approved (admin, manager or supervisor)."""
    _check_role(user, "approve", "批准")
    with audit_context(db.session, action="批准活动方案", note=(note or "").strip() or None,
                       username=username_of(user)):
        _move(event, (PLANNING,), APPROVED, "批准")
        event.approved_by = username_of(user)
        db.session.flush()


def set_up(event, *, user) -> None:
    """已批准 → 已布置: the venue is set up."""
    _check_role(user, "set_up", "登记布置")
    with audit_context(db.session, action="活动布置完成", username=username_of(user)):
        _move(event, (APPROVED,), SET_UP, "登记布置完成")
        db.session.flush()


def parse_headcount(value) -> int:
    """实际人数 from a form or a number: a whole number, not negative."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CommunityError("请填写实际参加人数")
    if isinstance(value, bool):
        raise CommunityError("实际参加人数须为整数")
    text = str(value).strip()
    if isinstance(value, int):
        number = value
    elif re.fullmatch(r"-?\d+", text):
        number = int(text)
    else:
        raise CommunityError("实际参加人数须为整数")
    if number < 0:
        raise CommunityError("实际参加人数不能为负数")
    if number > 1_000_000:
        raise CommunityError("实际参加人数过大,请核对")
    return number


def parse_cost(value) -> Decimal:
    """实际费用 in yuan from a form or a number: not negative, rounded to the fen."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CommunityError("请填写实际费用")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise CommunityError("实际费用格式不正确,请填写金额(元)") from None
    if not amount.is_finite():
        raise CommunityError("实际费用格式不正确,请填写金额(元)")
    if amount < 0:
        raise CommunityError("实际费用不能为负数")
    if amount >= 10_000_000_000:
        raise CommunityError("实际费用过大,请核对")
    return amount.quantize(Decimal("0.01"))


def hold(event, *, headcount, cost, user, summary: str | None = None, at: datetime | None = None) -> None:
    """已布置 → 已举办: the event took place; its actual headcount and cost are recorded."""
    _check_role(user, "hold", "登记举办")
    headcount, cost = parse_headcount(headcount), parse_cost(cost)
    at = at or clock.now()
    if event.start_at is not None and at < event.start_at:
        raise CommunityError(f"活动开始时间({event.start_at:%Y-%m-%d %H:%M})未到,不能登记为已举办")
    with audit_context(db.session, action="活动举办", note=f"实际人数 {headcount},实际费用 {cost} 元",
                       username=username_of(user)):
        _move(event, (SET_UP,), HELD, "登记举办")
        event.actual_headcount = headcount
        event.actual_cost = cost
        if (summary or "").strip():
            event.summary = summary.strip()
        db.session.flush()


def event_documents(event) -> list:
    """The records and photos filed for the event (documents with ref_table community_event), oldest first."""
    from schema.documents import Document

    if event.id is None:
        return []
    db.session.flush()
    return list(db.session.execute(select(Document).where(Document.ref_table == EVENT_TABLE,
                                                          Document.ref_id == event.id)
                                   .order_by(Document.id)).scalars())


def archive(event, *, user, at: datetime | None = None) -> None:
    """已举办 → 已归档: only with at least one record or photo on file (the manual's 活动资料存档)."""
    _check_role(user, "archive", "归档")
    if event.status == HELD and not event_documents(event):
        raise CommunityError("归档前须至少上传一份活动记录或照片")
    with audit_context(db.session, action="活动归档", username=username_of(user)):
        _move(event, (HELD,), ARCHIVED, "归档")
        event.archived_at = at or clock.now()
        db.session.flush()


def boards_due(today: date) -> list[tuple[str, int]]:
    """(board, posts due) for every board with content due for replacement, in board order."""
    from sqlalchemy import func

    due = posts_due_query(today).subquery()
    rows = db.session.execute(select(due.c.board, func.count()).group_by(due.c.board).order_by(due.c.board))
    return [(board, n) for board, n in rows]
