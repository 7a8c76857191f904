"""Repair work orders (维修工作单): one flow for every source — inspection, repair request,
complaint, call, patrol — with the follow-up visit that closes each repair."""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped

from app.validators import PHONE
from .base import Entity
from .spec import AdminSpec, Choice, col, rel, roles


class WorkOrderSource(Choice):
    inspection = "inspection", "验收"
    repair = "repair", "报修"
    complaint = "complaint", "投诉"
    call = "call", "来电"
    patrol = "patrol", "巡查"


class WorkOrderCategory(Choice):
    safety = "safety", "安全设施"
    leak = "leak", "渗漏水"
    other = "other", "其他"


class WorkOrderStatus(Choice):
    pending = "pending", "待派工"
    dispatched = "dispatched", "已派工"
    accepted = "accepted", "已签领"
    in_progress = "in_progress", "处理中"
    done = "done", "已完成"
    visited = "visited", "已回访"
    closed = "closed", "已关闭"


class FollowupMethod(Choice):
    visit = "visit", "上门"
    phone = "phone", "电话"


STEP_ROLES = {"admin", "supervisor", "frontdesk", "maintenance"}


class WorkOrder(Entity):
    __tablename__ = "work_order"
    __table_args__ = (
        # follow-up rates (app/workorders.followup_rates) read a month of completions from this index alone
        Index("ix_work_order_followup_rates", "completed_at", "status", "followup_at", "followup_due"),
    )
    __admin__ = AdminSpec(
        menu="维修工单", category="工程维修",
        list=("number", "source", "unit", "category", "description", "department", "status", "completed_at",
              "followup_due", "followup_at"),
        search=("number", "reporter", "reporter_phone", "description"), codes=("number",),
        filters=("status", "source", "category", "department", "unit", "created_at", "completed_at",
                 "followup_due", "satisfied"),
        form=("source", "unit", "reporter", "reporter_phone", "category", "description", "department", "note"),
        edit=("reporter", "reporter_phone", "category", "description", "department", "note"),
        sort=("created_at", True), title="number", large=True,
        roles=roles(create={"admin", "supervisor", "frontdesk", "maintenance"},
                    edit={"admin", "supervisor", "frontdesk"}, delete=(),
                    export={"admin", "manager", "supervisor", "maintenance"}),
        actions={"dispatch": {"admin", "supervisor", "frontdesk"}, "accept": {"admin", "maintenance"},
                 "start": {"admin", "maintenance"}, "complete": {"admin", "maintenance"},
                 "followup": {"admin", "supervisor", "frontdesk"}, "close": {"admin", "supervisor"}},
    )
    number: Mapped[str] = col("工单号", String(20), unique=True)
    source: Mapped[str] = col("来源", choices=WorkOrderSource, default=WorkOrderSource.repair, index=True)
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="work_orders")
    reporter: Mapped[str | None] = col("报修人", String(50))
    reporter_phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,))
    category: Mapped[str] = col("类别", choices=WorkOrderCategory, default=WorkOrderCategory.other, index=True)
    description: Mapped[str] = col("问题描述", Text)
    department_id: Mapped[int | None] = col("负责部门", ForeignKey("department.id"), index=True)
    department = rel("负责部门", "Department")
    status: Mapped[str] = col("状态", choices=WorkOrderStatus, default=WorkOrderStatus.pending, index=True)
    created_at: Mapped[datetime] = col("开单时间", DateTime, index=True)
    created_by: Mapped[str | None] = col("开单人", String(50))
    dispatched_at: Mapped[datetime | None] = col("派工时间", DateTime)
    dispatched_by: Mapped[str | None] = col("派工人", String(50))
    accepted_at: Mapped[datetime | None] = col("签领时间", DateTime)
    accepted_by: Mapped[str | None] = col("签领人", String(50))
    started_at: Mapped[datetime | None] = col("开始处理", DateTime)
    completed_at: Mapped[datetime | None] = col("完成时间", DateTime, index=True)
    completed_by: Mapped[str | None] = col("完成人", String(50))
    leak_test_at: Mapped[datetime | None] = col("试漏时间", DateTime, help="渗漏水维修须记录试漏时间")
    followup_due: Mapped[datetime | None] = col("回访期限", DateTime, index=True)
    followup_method: Mapped[str | None] = col("回访方式", choices=FollowupMethod)
    followup_at: Mapped[datetime | None] = col("回访时间", DateTime, index=True)
    followup_by: Mapped[str | None] = col("回访人", String(50))
    satisfied: Mapped[bool | None] = col("业主满意", Boolean)
    followup_result: Mapped[str | None] = col("回访结果", Text)
    problems_found: Mapped[str | None] = col("回访发现问题", Text)
    close_reason: Mapped[str | None] = col("关闭原因", Text)
    note: Mapped[str | None] = col("备注", Text)
