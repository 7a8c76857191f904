"""Follow-up visits (走回访) and the yearly owner opinion survey (业主意见调查).

The manual (走回访): visit plans by staff, date and method (上门 / 电话); each visit records its content,
the problems found, the handling opinion and the result; problems go back to maintenance. Once a year
a survey is distributed, collected and analysed. The rules live in app/visits.py.
"""
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from .base import Entity
from .spec import AdminSpec, Choice, col, rel, roles
from .work_orders import FollowupMethod

DESK = {"admin", "supervisor", "frontdesk"}


class VisitStatus(Choice):
    planned = "planned", "计划中"
    done = "done", "已回访"
    cancelled = "cancelled", "已取消"


class VisitResult(Choice):
    satisfied = "satisfied", "满意"
    fair = "fair", "基本满意"
    unsatisfied = "unsatisfied", "不满意"


class FollowupVisit(Entity):
    __tablename__ = "followup_visit"
    __admin__ = AdminSpec(
        menu="回访计划与记录", category="回访与社区",
        list=("planned_date", "unit", "owner", "staff", "method", "status", "visited_at", "result",
              "work_order", "raised_work_order"),
        search=("staff", "purpose", "content", "problems"),
        filters=("planned_date", "visited_at", "status", "method", "result", "staff", "unit"),
        form=("unit", "owner", "planned_date", "staff", "method", "purpose", "work_order", "note"),
        sort=("planned_date", True), title="id", large=True,
        roles=roles(create=DESK, edit=DESK, delete={"admin"}, export={"admin", "manager", "supervisor"}),
        actions={"record": DESK, "to_work_order": DESK, "cancel": DESK},
    )
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="followup_visits")
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner")
    planned_date: Mapped[date] = col("计划日期", Date, index=True)
    staff: Mapped[str] = col("回访人", String(50), index=True)
    method: Mapped[str] = col("方式", choices=FollowupMethod, default=FollowupMethod.phone, index=True)
    purpose: Mapped[str | None] = col("回访事由", String(200))
    work_order_id: Mapped[int | None] = col("关联维修工单", ForeignKey("work_order.id"), index=True)
    work_order = rel("关联维修工单", "WorkOrder", foreign_keys=[work_order_id])
    status: Mapped[str] = col("状态", choices=VisitStatus, default=VisitStatus.planned, index=True)
    visited_at: Mapped[datetime | None] = col("回访时间", DateTime, index=True)
    content: Mapped[str | None] = col("回访内容", Text)
    problems: Mapped[str | None] = col("发现问题", Text)
    opinion: Mapped[str | None] = col("处理意见", Text)
    result: Mapped[str | None] = col("回访结果", choices=VisitResult, index=True)
    raised_work_order_id: Mapped[int | None] = col("问题转工单", ForeignKey("work_order.id"))
    raised_work_order = rel("问题转工单", "WorkOrder", foreign_keys=[raised_work_order_id])
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{self.unit or ''} {self.planned_date or ''} 回访".strip()

    def locked_reason(self) -> str | None:
        if self.status in (VisitStatus.done, VisitStatus.cancelled):
            return f"回访{VisitStatus.label_of(self.status).removeprefix('已')},记录不能再修改"
        return None


class Survey(Entity):
    __tablename__ = "survey"
    __table_args__ = (UniqueConstraint("year", "unit_id"),)
    __admin__ = AdminSpec(
        menu="业主意见调查", category="回访与社区",
        list=("year", "unit", "distributed_on", "collected_on", "score_service", "score_cleaning",
              "score_security", "score_maintenance", "score_greening"),
        search=("suggestions",),
        filters=("year", "unit", "distributed_on", "collected_on"),
        sort=(("year", True), ("unit.room_no", False)), title="id", large=True,
        roles=roles(create=DESK, edit=DESK, delete={"admin"}, export={"admin", "manager", "supervisor"}),
    )
    year: Mapped[int] = col("年度", Integer, index=True)
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="surveys")
    distributed_on: Mapped[date] = col("发放日期", Date)
    collected_on: Mapped[date | None] = col("回收日期", Date, index=True)
    score_service: Mapped[int | None] = col("客服评分", Integer, help="1–5 分")
    score_cleaning: Mapped[int | None] = col("保洁评分", Integer, help="1–5 分")
    score_security: Mapped[int | None] = col("秩序维护评分", Integer, help="1–5 分")
    score_maintenance: Mapped[int | None] = col("工程维修评分", Integer, help="1–5 分")
    score_greening: Mapped[int | None] = col("绿化评分", Integer, help="1–5 分")
    suggestions: Mapped[str | None] = col("意见建议", Text)

    def __str__(self) -> str:
        return f"{self.year} {self.unit or ''}".strip()

    @classmethod
    def check(cls, data: dict) -> dict:
        from app.visits import survey_errors

        return survey_errors(data)
