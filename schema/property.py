"""Estates, buildings and units: the property the office manages."""
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from app.validators import NOT_NEGATIVE, PHONE, POSITIVE
from .base import Entity
from .spec import AdminSpec, Choice, Date, Integer, col, rel, roles


class UnitUsage(Choice):
    residence = "residence", "住宅"
    shop = "shop", "商铺"
    office = "office", "办公"
    parking = "parking", "车位"
    other = "other", "其他"


class UnitStatus(Choice):
    vacant = "vacant", "空置"
    occupied = "occupied", "已入住"
    custody = "custody", "托管"
    renovating = "renovating", "装修中"


PROPERTY_ROLES = roles(create={"admin", "supervisor"}, edit={"admin", "supervisor"})


class Estate(Entity):
    __tablename__ = "estate"
    __admin__ = AdminSpec(
        menu="项目", category="房产",
        list=("name", "address", "phone"), search=("name", "address"), filters=("name",),
        sort=("name", False), roles=PROPERTY_ROLES,
    )
    name: Mapped[str] = col("项目名称", String(100), unique=True)
    address: Mapped[str | None] = col("地址", String(200))
    phone: Mapped[str | None] = col("管理处电话", String(30), validators=(PHONE,))
    note: Mapped[str | None] = col("备注", Text)


class Building(Entity):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)
    __admin__ = AdminSpec(
        menu="楼栋", category="房产",
        list=("estate", "name", "floors"), search=("name",), filters=("estate", "name"),
        sort=("name", False), roles=PROPERTY_ROLES,
    )
    estate_id: Mapped[int] = col("项目", ForeignKey("estate.id"), index=True)
    estate = rel("项目", "Estate")
    name: Mapped[str] = col("楼栋", String(50), index=True)
    floors: Mapped[int | None] = col("层数", Integer, validators=(POSITIVE,))
    note: Mapped[str | None] = col("备注", Text)


class Unit(Entity):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "room_no"),)
    __admin__ = AdminSpec(
        menu="房屋", category="房产",
        list=("building", "room_no", "floor", "area", "usage", "status", "fee_rate", "handover_date"),
        search=("room_no",), codes=("room_no",),
        filters=("building", "usage", "status", "area", "handover_date"),
        sort=(("building.name", False), ("room_no", False)), title="room_no", title_joins=("building",), large=True, roles=PROPERTY_ROLES,
    )
    building_id: Mapped[int] = col("楼栋", ForeignKey("building.id"), index=True)
    building = rel("楼栋", "Building")
    room_no: Mapped[str] = col("房号", String(20), index=True)
    floor: Mapped[int | None] = col("楼层", Integer)
    area: Mapped[Decimal] = col("建筑面积(㎡)", Numeric(10, 2), fmt="area", validators=(POSITIVE,))
    usage: Mapped[str] = col("用途", choices=UnitUsage, default=UnitUsage.residence, index=True)
    status: Mapped[str] = col("状态", choices=UnitStatus, default=UnitStatus.vacant, index=True)
    fee_rate: Mapped[Decimal] = col("物业费单价(元/㎡/月)", Numeric(8, 2), fmt="money",
                                    default=Decimal("2.50"), validators=(NOT_NEGATIVE,))
    handover_date: Mapped[date | None] = col("交房日期", Date, index=True)
    note: Mapped[str | None] = col("备注", Text)


