"""House custody (房屋托管): the agreement, the meter readings at its start, and the patrols."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped

from .base import Entity
from .spec import AdminSpec, Choice, Date, col, rel, roles

CUSTODY_ROLES = roles(create={"admin", "supervisor", "frontdesk"}, edit={"admin", "supervisor", "frontdesk"})


class PatrolKind(Choice):
    weekly = "weekly", "每周"
    before_rain = "before_rain", "大雨前"
    after_rain = "after_rain", "大雨后"


class Custody(Entity):
    __tablename__ = "custody"
    __admin__ = AdminSpec(
        menu="房屋托管", category="工程维修",
        list=("unit", "owner", "start_date", "end_date", "water_start", "electricity_start"),
        filters=("unit", "start_date", "end_date"),
        form=("unit", "owner", "agreement", "start_date", "end_date", "water_start", "electricity_start", "note"),
        sort=("start_date", True), title="id", title_joins=("unit",), roles=CUSTODY_ROLES,
    )
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="custodies")
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"))
    owner = rel("业主", "Owner")
    agreement_id: Mapped[int | None] = col("托管协议", ForeignKey("document.id"))
    agreement = rel("托管协议", "Document")
    start_date: Mapped[date] = col("托管开始", Date, index=True)
    end_date: Mapped[date | None] = col("托管结束", Date)
    water_start: Mapped[Decimal] = col("水表底数", Numeric(10, 2))
    electricity_start: Mapped[Decimal] = col("电表底数", Numeric(10, 2))
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return f"{self.unit} 托管({self.start_date})"

    @classmethod
    def check(cls, data: dict) -> dict:
        from app.validators import check_period

        msg = check_period(data.get("start_date"), data.get("end_date"))
        return {"end_date": msg} if msg else {}


class CustodyPatrol(Entity):
    __tablename__ = "custody_patrol"
    __admin__ = AdminSpec(
        menu="托管巡查", category="工程维修",
        list=("custody", "kind", "at", "patroller", "water_reading", "electricity_reading", "findings",
              "owner_notified"),
        filters=("kind", "at", "owner_notified"),
        form=("custody", "kind", "at", "patroller", "water_reading", "electricity_reading", "findings",
              "handling", "owner_notified"),
        sort=("at", True), title="id", roles=CUSTODY_ROLES,
    )
    custody_id: Mapped[int] = col("托管", ForeignKey("custody.id"), index=True)
    custody = rel("托管", "Custody", backref="patrols")
    kind: Mapped[str] = col("巡查类别", choices=PatrolKind, default=PatrolKind.weekly)
    at: Mapped[datetime] = col("巡查时间", DateTime, index=True)
    patroller: Mapped[str | None] = col("巡查人", String(50))
    water_reading: Mapped[Decimal | None] = col("水表读数", Numeric(10, 2))
    electricity_reading: Mapped[Decimal | None] = col("电表读数", Numeric(10, 2))
    findings: Mapped[str | None] = col("发现问题", Text)
    handling: Mapped[str | None] = col("处理情况", Text)
    owner_notified: Mapped[bool] = col("已通知业主", Boolean, default=False)

    def __str__(self) -> str:
        return f"{self.custody} {PatrolKind.label_of(self.kind)} {self.at:%Y-%m-%d}"
