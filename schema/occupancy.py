"""Move-in (入住) and acceptance inspections (房屋验收) with their checklist items."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped

from app.validators import RESIDENT_ID
from .base import Entity
from .spec import AdminSpec, Choice, col, rel, roles

OFFICE_ROLES = roles(create={"admin", "supervisor", "frontdesk"}, edit={"admin", "supervisor", "frontdesk"})


class HandlerKind(Choice):
    owner = "owner", "本人"
    proxy = "proxy", "委托"
    company = "company", "单位"


class MoveInStatus(Choice):
    open = "open", "办理中"
    completed = "completed", "已完成"


class MoveIn(Entity):
    __tablename__ = "move_in"
    __admin__ = AdminSpec(
        menu="入住办理", category="入住与验收",
        list=("unit", "owner", "handler_kind", "handled_at", "keys_count", "fee_payment", "status", "completed_at"),
        search=("proxy_name", "proxy_id_number"),
        filters=("status", "handler_kind", "unit", "owner", "handled_at", "completed_at"),
        form=("unit", "owner", "handler_kind", "proxy_name", "proxy_id_number", "handled_at",
              "registration_form_signed", "agreements_signed", "keys_count", "handbook_given", "drawings_given",
              "water_reading", "electricity_reading", "gas_reading", "readings_confirmed", "note"),
        sort=("handled_at", True), title="id", roles=OFFICE_ROLES,
        actions={"complete": {"admin", "supervisor", "frontdesk"}, "collect_fee": {"admin", "frontdesk", "leasing"}},
    )
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="move_ins")
    owner_id: Mapped[int] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner", backref="move_ins")
    handler_kind: Mapped[str] = col("办理方式", choices=HandlerKind, default=HandlerKind.owner)
    proxy_name: Mapped[str | None] = col("受托人姓名", String(50))
    proxy_id_number: Mapped[str | None] = col("受托人身份证号", String(30), validators=(RESIDENT_ID,))
    handled_at: Mapped[datetime] = col("办理时间", DateTime, index=True)
    clerk_id: Mapped[int | None] = col("经办人", ForeignKey("app_user.id"))
    clerk = rel("经办人", "AppUser")
    registration_form_signed: Mapped[bool] = col("已填写住户登记表", Boolean, default=False)
    agreements_signed: Mapped[bool] = col("已签订相关协议", Boolean, default=False)
    keys_count: Mapped[int] = col("移交钥匙(把)", Integer, default=0)
    handbook_given: Mapped[bool] = col("已发住户手册", Boolean, default=False)
    drawings_given: Mapped[bool] = col("已发水电图", Boolean, default=False)
    water_reading: Mapped[Decimal | None] = col("水表底数", Numeric(10, 2))
    electricity_reading: Mapped[Decimal | None] = col("电表底数", Numeric(10, 2))
    gas_reading: Mapped[Decimal | None] = col("燃气表底数", Numeric(10, 2))
    readings_confirmed: Mapped[bool] = col("业主已确认读数", Boolean, default=False)
    fee_payment_id: Mapped[int | None] = col("物业费收款", ForeignKey("payment.id"))
    fee_payment = rel("物业费收款", "Payment")
    status: Mapped[str] = col("状态", choices=MoveInStatus, default=MoveInStatus.open, index=True)
    completed_at: Mapped[datetime | None] = col("完成时间", DateTime)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{self.unit} 入住({self.owner})"

    @classmethod
    def check(cls, data: dict) -> dict:
        errors = {}
        if data.get("handler_kind") == HandlerKind.proxy:
            if not (data.get("proxy_name") or "").strip():
                errors["proxy_name"] = "委托办理须填写受托人姓名"
            if not (data.get("proxy_id_number") or "").strip():
                errors["proxy_id_number"] = "委托办理须填写受托人身份证号"
        if (data.get("keys_count") or 0) < 0:
            errors["keys_count"] = "钥匙数量不能为负数"
        return errors


class InspectionStatus(Choice):
    in_progress = "in_progress", "验收中"
    rectifying = "rectifying", "整改中"
    reinspection = "reinspection", "已安排复验"
    signed = "signed", "业主已签字"


class Inspection(Entity):
    __tablename__ = "inspection"
    __admin__ = AdminSpec(
        menu="房屋验收", category="入住与验收",
        list=("unit", "owner", "inspected_at", "inspector", "status", "previous", "agreed_time", "signed_at"),
        filters=("status", "unit", "inspected_at", "agreed_time"),
        form=("unit", "owner", "inspected_at", "inspector", "water_reading", "electricity_reading", "gas_reading",
              "note"),
        sort=("inspected_at", True), title="id",
        roles=roles(create={"admin", "supervisor", "frontdesk", "maintenance"},
                    edit={"admin", "supervisor", "frontdesk", "maintenance"}),
        actions={"work_orders": {"admin", "supervisor", "frontdesk"}, "reinspect": {"admin", "supervisor", "frontdesk"},
                 "sign": {"admin", "supervisor", "frontdesk"}},
    )
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="inspections")
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"))
    owner = rel("业主", "Owner")
    inspected_at: Mapped[datetime] = col("验收时间", DateTime, index=True)
    inspector: Mapped[str | None] = col("维修部陪同人员", String(50))
    status: Mapped[str] = col("状态", choices=InspectionStatus, default=InspectionStatus.in_progress, index=True)
    previous_id: Mapped[int | None] = col("复验自", ForeignKey("inspection.id"))
    previous = rel("复验自", "Inspection", remote_side="Inspection.id")
    agreed_time: Mapped[datetime | None] = col("约定复验时间", DateTime)
    notified_department_id: Mapped[int | None] = col("已通知部门", ForeignKey("department.id"))
    notified_department = rel("已通知部门", "Department")
    water_reading: Mapped[Decimal | None] = col("水表读数", Numeric(10, 2))
    electricity_reading: Mapped[Decimal | None] = col("电表读数", Numeric(10, 2))
    gas_reading: Mapped[Decimal | None] = col("燃气表读数", Numeric(10, 2))
    signed_at: Mapped[datetime | None] = col("业主签字时间", DateTime)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{self.unit} 验收 {self.inspected_at:%Y-%m-%d}" if self.inspected_at else f"验收 #{self.id}"


class InspectionItem(Entity):
    __tablename__ = "inspection_item"
    __admin__ = AdminSpec(
        menu="验收项目", category="入住与验收",
        list=("inspection", "room", "item", "passed", "description", "work_order"),
        filters=("passed", "room", "item"),
        form=("inspection", "room", "item", "passed", "description"),
        sort=("id", False), title="item",
        roles=roles(create={"admin", "supervisor", "frontdesk", "maintenance"},
                    edit={"admin", "supervisor", "frontdesk", "maintenance"}),
    )
    inspection_id: Mapped[int] = col("验收", ForeignKey("inspection.id"), index=True)
    inspection = rel("验收", "Inspection", backref="items")
    room: Mapped[str] = col("房间", String(30))
    item: Mapped[str] = col("检查项目", String(50))
    passed: Mapped[bool | None] = col("合格", Boolean)
    description: Mapped[str | None] = col("问题描述", Text)
    work_order_id: Mapped[int | None] = col("维修工单", ForeignKey("work_order.id"))
    work_order = rel("维修工单", "WorkOrder", backref="inspection_items")

    def __str__(self) -> str:
        return f"{self.room}·{self.item}"

    @classmethod
    def check(cls, data: dict) -> dict:
        if data.get("passed") is False and not (data.get("description") or "").strip():
            return {"description": "不合格项目须填写问题描述"}
        return {}
