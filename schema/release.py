"""Release slips (放行条) and the items they let out.

The manual (前台操作): 物品放行 — see the applicant's ID, look up the unit's payment status, record
the items released, confirm identity, phoning the owner when the applicant is not the owner.
The rules live in app/release.py; the slip records each step (refusal, override, confirmation).
"""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from app.validators import PHONE, POSITIVE, RESIDENT_ID
from .base import Entity
from .spec import AdminSpec, Choice, col, money, rel, roles

DESK = {"admin", "supervisor", "frontdesk"}


class ApplicantRelation(Choice):
    owner = "owner", "业主本人"
    family = "family", "家属"
    tenant = "tenant", "租户"
    agent = "agent", "受托人/搬家公司"
    other = "other", "其他"


class SlipStatus(Choice):
    draft = "draft", "待开具"
    refused = "refused", "已拒开"
    issued = "issued", "已开具"
    released = "released", "已放行"
    void = "void", "已作废"


class ReleaseSlip(Entity):
    __tablename__ = "release_slip"
    __admin__ = AdminSpec(
        menu="放行条", category="前台服务",
        list=("number", "created_at", "unit", "applicant", "relation", "status", "override_by", "issued_at",
              "released_at"),
        search=("number", "applicant", "id_number", "phone"), codes=("number",),
        filters=("created_at", "status", "unit", "relation", "issued_at", "released_at", "owner_confirmed"),
        form=("unit", "applicant", "id_number", "phone", "relation", "reason", "items", "note"),
        details=("number", "status", "unit", "applicant", "id_number", "phone", "relation", "reason",
                 "applicant_is_owner", "id_checked", "owner_confirmed", "owner_confirmed_by", "owner_confirmed_at",
                 "owner_confirm_phone", "arrears_at_issue", "refused_at", "refused_reason", "override_by",
                 "override_at", "override_reason", "issued_at", "issued_by", "released_at", "guard",
                 "void_reason", "voided_at", "voided_by", "created_at", "created_by", "note"),
        export=("number", "created_at", "unit", "applicant", "id_number", "relation", "reason", "status",
                "arrears_at_issue", "override_by", "override_reason", "issued_at", "issued_by", "released_at",
                "guard"),
        sort=("created_at", True), title="number", large=True, inline=("items",),
        roles=roles(create=DESK, edit=DESK, delete=(), export={"admin", "manager", "supervisor"}),
        actions={"issue": DESK, "confirm_owner": DESK, "override": {"admin", "manager", "supervisor"},
                 "release": DESK, "void": {"admin", "supervisor"}, "print": DESK | {"manager"}},
    )
    number: Mapped[str | None] = col("放行条号", String(20), unique=True)
    status: Mapped[str] = col("状态", choices=SlipStatus, default=SlipStatus.draft, index=True)
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="release_slips")
    applicant: Mapped[str] = col("申请人", String(50))
    id_number: Mapped[str] = col("申请人身份证号", String(30), validators=(RESIDENT_ID,), index=True)
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,))
    relation: Mapped[str] = col("与房屋关系", choices=ApplicantRelation, default=ApplicantRelation.owner)
    reason: Mapped[str] = col("放行事由", String(200), help="如:搬家、装修材料外运、维修设备")
    applicant_is_owner: Mapped[bool | None] = col("申请人为业主", Boolean)
    id_checked: Mapped[bool] = col("已查验证件", Boolean, default=False)
    owner_confirmed: Mapped[bool] = col("业主已确认", Boolean, default=False, index=True)
    owner_confirmed_by: Mapped[str | None] = col("确认业主", String(50))
    owner_confirmed_at: Mapped[datetime | None] = col("确认时间", DateTime)
    owner_confirm_phone: Mapped[str | None] = col("确认电话", String(30))
    arrears_at_issue: Mapped[Decimal | None] = money("开具时欠费(元)", default=None, nullable=True)
    refused_at: Mapped[datetime | None] = col("拒开时间", DateTime)
    refused_reason: Mapped[str | None] = col("拒开原因", String(200))
    override_by: Mapped[str | None] = col("欠费放行审批人", String(50))
    override_at: Mapped[datetime | None] = col("审批时间", DateTime)
    override_reason: Mapped[str | None] = col("审批理由", Text)
    issued_at: Mapped[datetime | None] = col("开具时间", DateTime, index=True)
    issued_by: Mapped[str | None] = col("开具人", String(50))
    released_at: Mapped[datetime | None] = col("放行时间", DateTime, index=True)
    guard: Mapped[str | None] = col("放行门岗", String(50))
    void_reason: Mapped[str | None] = col("作废原因", String(200))
    voided_at: Mapped[datetime | None] = col("作废时间", DateTime)
    voided_by: Mapped[str | None] = col("作废人", String(50))
    created_at: Mapped[datetime] = col("登记时间", DateTime, index=True)
    created_by: Mapped[str | None] = col("登记人", String(50))
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return self.number or f"放行申请#{self.id}({self.unit or ''} {self.applicant or ''})"

    def locked_reason(self) -> str | None:
        if self.id is None or self.status in (None, SlipStatus.draft, SlipStatus.refused):
            return None
        return f"放行条已{SlipStatus.label_of(self.status).removeprefix('已')},不能再修改;如有错误请作废后重开"


class ReleaseItem(Entity):
    __tablename__ = "release_item"
    __admin__ = AdminSpec(
        menu="放行物品", category="前台服务",
        list=("slip", "description", "quantity", "measure"), search=("description",), filters=("slip",),
        form=("description", "quantity", "measure"), title="description",
        roles=roles(create=(), edit=DESK, delete=DESK),
    )
    slip_id: Mapped[int] = col("放行条", ForeignKey("release_slip.id"), index=True)
    slip = rel("放行条", "ReleaseSlip", backref="items")
    description: Mapped[str] = col("物品名称及描述", String(200))
    quantity: Mapped[int] = col("数量", Integer, validators=(POSITIVE,))
    measure: Mapped[str | None] = col("单位", String(10), default="件")

    def locked_reason(self) -> str | None:
        return self.slip.locked_reason() if self.slip is not None else None
