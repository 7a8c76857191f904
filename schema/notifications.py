"""Notices to departments (部门通知): the visible record that a department was told (装修批准 notifies
maintenance and security), acknowledged by the department when read."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from .base import Entity
from .spec import AdminSpec, col, rel, roles


class Notification(Entity):
    __tablename__ = "notification"
    __admin__ = AdminSpec(
        menu="部门通知", category="品质监督",
        list=("created_at", "department", "subject", "source_table", "source_id", "acknowledged_at",
              "acknowledged_by"),
        search=("subject", "content"), filters=("created_at", "department", "acknowledged_at", "source_table"),
        sort=("created_at", True), title="subject",
        roles=roles(create=(), edit=(), delete=(), export={"admin", "manager", "supervisor"}),
        actions={"acknowledge": {"admin", "supervisor", "maintenance", "frontdesk"}},
    )
    department_id: Mapped[int] = col("通知部门", ForeignKey("department.id"), index=True)
    department = rel("通知部门", "Department")
    subject: Mapped[str] = col("事由", String(200))
    content: Mapped[str | None] = col("内容", Text)
    source_table: Mapped[str | None] = col("关联业务", String(40), index=True)
    source_id: Mapped[int | None] = col("关联记录编号", Integer, index=True)
    created_at: Mapped[datetime] = col("通知时间", DateTime, index=True)
    created_by: Mapped[str | None] = col("通知人", String(50))
    acknowledged_at: Mapped[datetime | None] = col("签收时间", DateTime)
    acknowledged_by: Mapped[str | None] = col("签收人", String(50))
