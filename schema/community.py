"""Community culture (社区文化): the bulletin board (宣传栏) and community events (社区活动).

The manual: board content is replaced every two weeks; an event has a plan (theme, items, cost, place,
time, participants and headcount, schedule, departments, prizes), a setup, staff roles, and an archive
of records and photos. The rules live in app/community.py.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped

from app.validators import NOT_NEGATIVE, POSITIVE
from .base import Entity
from .spec import AdminSpec, Choice, col, money, roles

DESK = {"admin", "supervisor", "frontdesk"}


class PostCategory(Choice):
    policy = "policy", "政策法规"
    community = "community", "社区动态"
    notice = "notice", "通知"
    other = "other", "其他"


class BulletinPost(Entity):
    __tablename__ = "bulletin_post"
    __admin__ = AdminSpec(
        menu="宣传栏", category="回访与社区",
        list=("posted_on", "board", "title", "category", "removed_on"),
        search=("title", "content", "board"),
        filters=("posted_on", "removed_on", "category", "board"),
        form=("title", "category", "content", "board", "posted_on", "removed_on"),
        sort=("posted_on", True), title="title",
        roles=roles(create=DESK, edit=DESK, delete={"admin", "supervisor"}),
        actions={"take_down": DESK},
    )
    title: Mapped[str] = col("标题", String(200))
    category: Mapped[str] = col("类别", choices=PostCategory, default=PostCategory.notice, index=True)
    content: Mapped[str | None] = col("内容", Text)
    board: Mapped[str] = col("宣传栏位置", String(100), index=True)
    posted_on: Mapped[date] = col("张贴日期", Date, index=True)
    removed_on: Mapped[date | None] = col("撤下日期", Date, index=True)

    @classmethod
    def check(cls, data: dict) -> dict:
        start, end = data.get("posted_on"), data.get("removed_on")
        return {"removed_on": "撤下日期不能早于张贴日期"} if start and end and end < start else {}


class EventStatus(Choice):
    planning = "planning", "策划"
    approved = "approved", "已批准"
    set_up = "set_up", "已布置"
    held = "held", "已举办"
    archived = "archived", "已归档"


class CommunityEvent(Entity):
    __tablename__ = "community_event"
    __admin__ = AdminSpec(
        menu="社区活动", category="回访与社区",
        list=("theme", "start_at", "place", "budget", "actual_cost", "planned_headcount", "actual_headcount",
              "status"),
        search=("theme", "items", "place", "departments"),
        filters=("start_at", "status", "place"),
        form=("theme", "items", "place", "start_at", "end_at", "budget", "target_participants",
              "planned_headcount", "schedule", "departments", "prizes", "staff_roles", "note"),
        edit=("theme", "items", "place", "start_at", "end_at", "budget", "actual_cost", "target_participants",
              "planned_headcount", "actual_headcount", "schedule", "departments", "prizes", "staff_roles",
              "summary", "note"),
        sort=("start_at", True), title="theme",
        roles=roles(create=DESK, edit=DESK, delete={"admin"}, export={"admin", "manager", "supervisor"}),
        actions={"approve": {"admin", "manager", "supervisor"}, "set_up": DESK, "hold": DESK, "archive": DESK},
    )
    theme: Mapped[str] = col("活动主题", String(200))
    items: Mapped[str] = col("活动项目", Text)
    place: Mapped[str] = col("活动地点", String(100))
    start_at: Mapped[datetime] = col("开始时间", DateTime, index=True)
    end_at: Mapped[datetime] = col("结束时间", DateTime)
    budget: Mapped[Decimal] = money("预算(元)", validators=(NOT_NEGATIVE,))
    actual_cost: Mapped[Decimal | None] = money("实际费用(元)", default=None, nullable=True,
                                                validators=(NOT_NEGATIVE,))
    target_participants: Mapped[str | None] = col("参加对象", String(200))
    planned_headcount: Mapped[int | None] = col("计划人数", Integer, validators=(POSITIVE,))
    actual_headcount: Mapped[int | None] = col("实际人数", Integer, validators=(NOT_NEGATIVE,))
    schedule: Mapped[str | None] = col("活动流程", Text)
    departments: Mapped[str | None] = col("协办部门", String(200))
    prizes: Mapped[str | None] = col("奖品", Text)
    staff_roles: Mapped[str | None] = col("人员分工", Text)
    status: Mapped[str] = col("状态", choices=EventStatus, default=EventStatus.planning, index=True)
    approved_by: Mapped[str | None] = col("批准人", String(50))
    summary: Mapped[str | None] = col("活动总结", Text)
    archived_at: Mapped[datetime | None] = col("归档时间", DateTime)
    note: Mapped[str | None] = col("备注", Text)

    @classmethod
    def check(cls, data: dict) -> dict:
        start, end = data.get("start_at"), data.get("end_at")
        return {"end_at": "结束时间不能早于开始时间"} if start and end and end < start else {}
