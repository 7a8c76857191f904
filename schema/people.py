"""Owners, their ownership of units, and the residents living there."""
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Computed, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from app.validators import PHONE, RESIDENT_ID, check_credit_code, check_period, check_resident_id
from .base import Entity
from .spec import AdminSpec, Choice, Date, col, rel, roles

TAIL = "upper(substr({0}, length({0}) - 3))"
"""The last four characters of a phone or ID number, kept by the database so '后四位' lookups use an index."""
PEOPLE_ROLES = roles(create={"admin", "supervisor", "frontdesk"}, edit={"admin", "supervisor", "frontdesk"})


class OwnerKind(Choice):
    person = "person", "个人"
    company = "company", "单位"


class IdType(Choice):
    resident_id = "resident_id", "居民身份证"
    credit_code = "credit_code", "统一社会信用代码"
    passport = "passport", "护照"
    other = "other", "其他证件"


class Relation(Choice):
    owner = "owner", "业主本人"
    family = "family", "家属"
    tenant = "tenant", "租户"
    other = "other", "其他"


class Owner(Entity):
    __tablename__ = "owner"
    __admin__ = AdminSpec(
        menu="业主", category="业主与住户",
        list=("name", "kind", "id_type", "id_number", "phone", "contact_person"),
        search=("name", "id_number", "phone", "contact_person"), codes=("id_number",),
        filters=("kind", "id_type", "name", "phone"),
        sort=("name", False), large=True, roles=PEOPLE_ROLES,
    )
    kind: Mapped[str] = col("类别", choices=OwnerKind, default=OwnerKind.person, index=True)
    name: Mapped[str] = col("姓名/单位名称", String(100), index=True)
    id_type: Mapped[str] = col("证件类型", choices=IdType, default=IdType.resident_id)
    id_number: Mapped[str] = col("证件号码", String(30), unique=True)
    phone: Mapped[str] = col("联系电话", String(30), validators=(PHONE,), index=True)
    phone_tail: Mapped[str | None] = col("电话后四位", String(4), Computed(TAIL.format("phone"), persisted=True), index=True)
    id_tail: Mapped[str | None] = col("证件后四位", String(4), Computed(TAIL.format("id_number"), persisted=True),
                                      index=True)
    contact_person: Mapped[str | None] = col("单位联系人", String(50))
    address: Mapped[str | None] = col("通讯地址", String(200))
    note: Mapped[str | None] = col("备注", Text)

    @classmethod
    def check(cls, data: dict) -> dict:
        errors = {}
        kind, id_type, number = data.get("kind"), data.get("id_type"), data.get("id_number")
        if kind == OwnerKind.company:
            if id_type != IdType.credit_code:
                errors["id_type"] = "单位业主的证件类型应为统一社会信用代码"
            elif msg := check_credit_code(number):
                errors["id_number"] = msg
            if not (data.get("contact_person") or "").strip():
                errors["contact_person"] = "单位业主须填写联系人"
        elif id_type == IdType.credit_code:
            errors["id_type"] = "个人业主不能使用统一社会信用代码"
        elif id_type == IdType.resident_id and (msg := check_resident_id(number)):
            errors["id_number"] = msg
        return errors


class Ownership(Entity):
    __tablename__ = "ownership"
    __table_args__ = (UniqueConstraint("owner_id", "unit_id"),)
    __admin__ = AdminSpec(
        menu="产权", category="业主与住户",
        list=("owner", "unit", "share", "since", "is_primary"),
        filters=("owner", "unit", "since", "is_primary"),
        title="id", roles=PEOPLE_ROLES,
    )
    owner_id: Mapped[int] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner", backref="ownerships")
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="ownerships")
    share: Mapped[Decimal | None] = col("产权份额(%)", Numeric(5, 2), default=Decimal("100"))
    since: Mapped[date | None] = col("取得日期", Date)
    is_primary: Mapped[bool] = col("主要联系人", Boolean, default=True)

    def __str__(self) -> str:
        return f"{self.owner} — {self.unit}"

    @classmethod
    def check(cls, data: dict) -> dict:
        share = data.get("share")
        if share is not None and not (0 < share <= 100):
            return {"share": "产权份额应在0到100之间"}
        return {}


class Resident(Entity):
    __tablename__ = "resident"
    __admin__ = AdminSpec(
        menu="住户", category="业主与住户",
        list=("unit", "name", "relation", "phone", "move_in_date", "move_out_date"),
        search=("name", "phone", "id_number"),
        filters=("unit", "relation", "move_in_date", "move_out_date"),
        sort=("name", False), large=True, roles=PEOPLE_ROLES,
    )
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="residents")
    name: Mapped[str] = col("姓名", String(50), index=True)
    relation: Mapped[str] = col("与业主关系", choices=Relation, default=Relation.owner)
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,), index=True)
    id_number: Mapped[str | None] = col("身份证号码", String(30), validators=(RESIDENT_ID,), index=True)
    phone_tail: Mapped[str | None] = col("电话后四位", String(4), Computed(TAIL.format("phone"), persisted=True), index=True)
    id_tail: Mapped[str | None] = col("证件后四位", String(4), Computed(TAIL.format("id_number"), persisted=True),
                                      index=True)
    move_in_date: Mapped[date | None] = col("入住日期", Date)
    move_out_date: Mapped[date | None] = col("迁出日期", Date)
    note: Mapped[str | None] = col("备注", Text)

    @classmethod
    def check(cls, data: dict) -> dict:
        msg = check_period(data.get("move_in_date"), data.get("move_out_date"))
        return {"move_out_date": msg} if msg else {}


