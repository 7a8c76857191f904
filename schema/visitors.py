"""Visitors (来访登记): the manual asks the purpose, the identity and which department was notified."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped

from app.validators import PHONE, RESIDENT_ID
from .base import Entity
from .spec import AdminSpec, col, rel, roles

DESK = {"admin", "supervisor", "frontdesk"}


class Visitor(Entity):
    __tablename__ = "visitor"
    __admin__ = AdminSpec(
        menu="来访登记", category="前台服务",
        list=("time_in", "name", "purpose", "unit", "visited_department", "host", "notified_department",
              "time_out"),
        search=("name", "id_number", "phone", "purpose", "host"),
        filters=("time_in", "time_out", "unit", "visited_department", "notified_department"),
        form=("time_in", "name", "id_number", "phone", "purpose", "unit", "visited_department", "host",
              "notified_department", "time_out", "note"),
        sort=("time_in", True), title="name", large=True,
        roles=roles(create=DESK, edit=DESK, delete={"admin"}, export={"admin", "manager", "supervisor"}),
        actions={"check_out": DESK},
    )
    time_in: Mapped[datetime] = col("来访时间", DateTime, index=True)
    name: Mapped[str] = col("访客姓名", String(50), index=True)
    id_number: Mapped[str | None] = col("身份证号", String(30), validators=(RESIDENT_ID,))
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,), index=True)
    purpose: Mapped[str] = col("来访事由", String(200))
    unit_id: Mapped[int | None] = col("拜访房屋", ForeignKey("unit.id"), index=True)
    unit = rel("拜访房屋", "Unit", backref="visitors")
    visited_department_id: Mapped[int | None] = col("拜访部门", ForeignKey("department.id"))
    visited_department = rel("拜访部门", "Department", foreign_keys=[visited_department_id])
    host: Mapped[str | None] = col("被访人", String(50))
    notified_department_id: Mapped[int | None] = col("已通知部门", ForeignKey("department.id"))
    notified_department = rel("已通知部门", "Department", foreign_keys=[notified_department_id])
    time_out: Mapped[datetime | None] = col("离开时间", DateTime, index=True)
    registered_by: Mapped[str | None] = col("登记人", String(50))
    note: Mapped[str | None] = col("备注", Text)

    @classmethod
    def check(cls, data: dict) -> dict:
        errors = {}
        if not data.get("unit") and not data.get("visited_department"):
            errors["unit"] = "请选择拜访的房屋或部门"
        start, end = data.get("time_in"), data.get("time_out")
        if start and end and end < start:
            errors["time_out"] = "离开时间不能早于来访时间"
        return errors
