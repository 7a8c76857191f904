"""Convenience and commissioned services (便民服务 / 委托服务): the published catalogue and the orders.

The manual: an order agrees the item, area, time, fee and expected result (口头 or 书面); the department
supervisor schedules it; the owner accepts the work; the fee is collected and a receipt number issued.
The rules live in app/services.py.
"""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped

from app.validators import NOT_NEGATIVE, PHONE
from .base import Entity
from .spec import AdminSpec, Choice, col, money, rel, roles

DESK = {"admin", "supervisor", "frontdesk"}


class ServiceItem(Entity):
    __tablename__ = "service_item"
    __admin__ = AdminSpec(
        menu="服务项目", category="回访与社区",
        list=("name", "price", "price_unit", "department", "published"),
        search=("name", "description"), filters=("published", "department"),
        sort=("name", False),
        roles=roles(create={"admin", "supervisor"}, edit={"admin", "supervisor"}, delete={"admin"}),
    )
    name: Mapped[str] = col("服务项目", String(100), unique=True)
    description: Mapped[str | None] = col("服务说明", Text)
    price: Mapped[Decimal] = money("收费标准(元)", validators=(NOT_NEGATIVE,))
    price_unit: Mapped[str] = col("计价单位", String(20), default="次")
    department_id: Mapped[int | None] = col("负责部门", ForeignKey("department.id"))
    department = rel("负责部门", "Department")
    published: Mapped[bool] = col("已公布", Boolean, default=True, index=True)


class Agreement(Choice):
    oral = "oral", "口头约定"
    written = "written", "书面约定"


class OrderStatus(Choice):
    booked = "booked", "已预约"
    scheduled = "scheduled", "已安排"
    accepted = "accepted", "已验收"
    rejected = "rejected", "验收不合格"
    charged = "charged", "已收费"
    cancelled = "cancelled", "已取消"


class ServiceOrder(Entity):
    __tablename__ = "service_order"
    __admin__ = AdminSpec(
        menu="服务订单", category="回访与社区",
        list=("number", "booked_at", "item", "unit", "contact", "agreed_time", "fee", "status", "payment"),
        search=("number", "contact", "phone", "area"), codes=("number",),
        filters=("booked_at", "agreed_time", "status", "item", "unit", "accepted"),
        form=("item", "unit", "owner", "contact", "phone", "area", "agreed_time", "fee", "expected_result",
              "agreement", "note"),
        edit=("contact", "phone", "area", "agreed_time", "fee", "expected_result", "agreement", "note"),
        sort=("booked_at", True), title="number", large=True,
        roles=roles(create=DESK, edit=DESK, delete=(), export={"admin", "manager", "supervisor"}),
        actions={"schedule": {"admin", "supervisor", "maintenance"}, "accept": DESK,
                 "charge": {"admin", "supervisor", "frontdesk", "leasing"}, "cancel": DESK},
    )
    number: Mapped[str] = col("订单号", String(20), unique=True)
    item_id: Mapped[int] = col("服务项目", ForeignKey("service_item.id"), index=True)
    item = rel("服务项目", "ServiceItem")
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="service_orders")
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"))
    owner = rel("业主", "Owner")
    contact: Mapped[str] = col("联系人", String(50))
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,))
    area: Mapped[str] = col("服务区域", String(100), help="如:厨房、客厅、阳台")
    agreed_time: Mapped[datetime] = col("约定时间", DateTime, index=True)
    fee: Mapped[Decimal] = money("约定费用(元)", validators=(NOT_NEGATIVE,))
    expected_result: Mapped[str] = col("预期效果", Text)
    agreement: Mapped[str] = col("约定方式", choices=Agreement, default=Agreement.oral)
    status: Mapped[str] = col("状态", choices=OrderStatus, default=OrderStatus.booked, index=True)
    booked_at: Mapped[datetime] = col("预约时间", DateTime, index=True)
    booked_by: Mapped[str | None] = col("受理人", String(50))
    scheduled_by: Mapped[str | None] = col("安排人", String(50))
    staff: Mapped[str | None] = col("服务人员", String(50))
    scheduled_at: Mapped[datetime | None] = col("安排时间", DateTime)
    done_at: Mapped[datetime | None] = col("完成时间", DateTime)
    accepted: Mapped[bool | None] = col("业主验收合格", Boolean)
    acceptance_note: Mapped[str | None] = col("验收意见", Text)
    payment_id: Mapped[int | None] = col("收据", ForeignKey("payment.id"))
    payment = rel("收据", "Payment")
    note: Mapped[str | None] = col("备注", Text)
