"""Dunning records (催收): who chased which charges, how, and what was promised."""
from datetime import date, datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped

from app.extensions import db
from .base import Entity
from .spec import AdminSpec, Choice, Date, col, rel, roles

dunning_charge = Table(
    "dunning_charge", db.metadata,
    Column("dunning_id", ForeignKey("dunning.id", ondelete="CASCADE"), primary_key=True),
    Column("charge_id", ForeignKey("charge.id"), primary_key=True),
)


class DunningMethod(Choice):
    visit = "visit", "上门"
    phone = "phone", "电话"


class Dunning(Entity):
    __tablename__ = "dunning"
    __admin__ = AdminSpec(
        menu="催收记录", category="招租收费",
        list=("at", "payer_name", "unit", "lease", "method", "staff", "reached_person", "promised_date", "result"),
        search=("payer_name", "reached_person", "result"),
        filters=("method", "at", "promised_date", "unit", "lease", "staff"),
        form=("unit", "lease", "payer_name", "method", "at", "reached_person", "identity_confirmed", "result",
              "promised_date", "notes"),
        sort=("at", True), title="payer_name",
        roles=roles(read={"admin", "manager", "supervisor", "leasing", "frontdesk"}, create={"admin", "leasing"},
                    edit={"admin", "leasing"}, delete={"admin"}, export={"admin", "manager", "supervisor", "leasing"}),
    )
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="dunnings")
    lease_id: Mapped[int | None] = col("租赁合同", ForeignKey("lease.id"), index=True)
    lease = rel("租赁合同", "Lease", backref="dunnings")
    payer_name: Mapped[str] = col("欠费人", String(100), index=True)
    method: Mapped[str] = col("催收方式", choices=DunningMethod, default=DunningMethod.phone)
    at: Mapped[datetime] = col("催收时间", DateTime, index=True)
    staff_id: Mapped[int | None] = col("催收人", ForeignKey("app_user.id"))
    staff = rel("催收人", "AppUser")
    reached_person: Mapped[str | None] = col("接洽人", String(50))
    identity_confirmed: Mapped[bool] = col("已确认身份", Boolean, default=False)
    result: Mapped[str | None] = col("催收结果", Text)
    promised_date: Mapped[date | None] = col("约定缴费日期", Date, index=True)
    notes: Mapped[str | None] = col("备注", Text, help="只记录事实,不作任何承诺")
    charges = db.relationship("Charge", secondary=dunning_charge, backref="dunnings")

    @classmethod
    def check(cls, data: dict) -> dict:
        errors = {}
        if not data.get("unit") and not data.get("lease"):
            errors["unit"] = "请选择欠费的房屋或租赁合同"
        at, promised = data.get("at"), data.get("promised_date")
        if at and promised and promised < at.date():
            errors["promised_date"] = "约定缴费日期不能早于催收日期"
        return errors
