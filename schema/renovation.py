"""Renovation (业主装修): the permit, its workers' passes and the checks made while the works run.

The manual (业主装修接待): verify identity (a proxy brings 委托书 and 受托人身份证, copied to the unit's
file); restate the hours and prohibitions; sign the renovation agreement; review the plan; a plan that
alters the main structure or clearly adds load needs the housing authority's 拆改批准书 first; issue
the 施工许可证 and temporary worker passes; collect the renovation-waste fee; notify maintenance and
security; monitor the works. The rules live in app/renovation.py.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped

from app.validators import NOT_NEGATIVE, PHONE, RESIDENT_ID, check_period
from .base import Entity
from .spec import AdminSpec, Choice, col, money, rel, roles

DESK = {"admin", "supervisor", "frontdesk"}
RULES_TEXT = ("施工时间:工作日 8:00–12:00、14:00–18:00,节假日不得进行产生噪音的施工;禁止拆改承重墙、梁柱及"
              "外立面,禁止擅自改动燃气、消防设施,禁止在公共区域堆放材料和垃圾,装修垃圾须袋装并按指定时间清运。")


class ApplicantKind(Choice):
    owner = "owner", "业主本人"
    proxy = "proxy", "受托人代办"


class PermitStatus(Choice):
    applied = "applied", "已申请"
    reviewed = "reviewed", "已审核"
    approved = "approved", "已批准"
    in_progress = "in_progress", "施工中"
    completed = "completed", "已完工"
    rejected = "rejected", "已驳回"


class RenovationPermit(Entity):
    __tablename__ = "renovation_permit"
    __admin__ = AdminSpec(
        menu="装修许可", category="装修管理",
        list=("number", "unit", "owner", "contractor", "planned_start", "planned_end", "structural", "status",
              "violation"),
        search=("number", "contractor", "proxy_name", "plan_summary"), codes=("number",),
        filters=("status", "unit", "planned_start", "planned_end", "structural", "added_load", "violation",
                 "waste_fee_paid"),
        form=("unit", "owner", "applicant_kind", "proxy_name", "proxy_id_number", "proxy_phone", "contractor",
              "contractor_phone", "planned_start", "planned_end", "plan_summary", "structural", "added_load",
              "agreement_signed", "rules_acknowledged", "waste_fee", "note", "passes"),
        edit=("proxy_name", "proxy_id_number", "proxy_phone", "contractor", "contractor_phone", "planned_start",
              "planned_end", "plan_summary", "structural", "added_load", "agreement_signed", "rules_acknowledged",
              "waste_fee", "note", "passes"),
        sort=("applied_at", True), title="number", large=True, inline=("passes",),
        roles=roles(create=DESK, edit=DESK, delete=(), export={"admin", "manager", "supervisor"}),
        actions={"review": {"admin", "supervisor"}, "approve": {"admin", "manager", "supervisor"},
                 "reject": {"admin", "manager", "supervisor"}, "start": DESK, "complete": DESK,
                 "collect_fee": {"admin", "supervisor", "frontdesk", "leasing"},
                 "print": DESK | {"manager", "maintenance"}},
    )
    number: Mapped[str | None] = col("许可证号", String(20), unique=True)
    status: Mapped[str] = col("状态", choices=PermitStatus, default=PermitStatus.applied, index=True)
    unit_id: Mapped[int] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="renovation_permits")
    owner_id: Mapped[int] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner")
    applicant_kind: Mapped[str] = col("申请方式", choices=ApplicantKind, default=ApplicantKind.owner)
    proxy_name: Mapped[str | None] = col("受托人姓名", String(50))
    proxy_id_number: Mapped[str | None] = col("受托人身份证号", String(30), validators=(RESIDENT_ID,))
    proxy_phone: Mapped[str | None] = col("受托人电话", String(30), validators=(PHONE,))
    contractor: Mapped[str] = col("施工单位", String(100))
    contractor_phone: Mapped[str] = col("施工单位电话", String(30), validators=(PHONE,))
    planned_start: Mapped[date] = col("计划开工", Date, index=True)
    planned_end: Mapped[date] = col("计划完工", Date, index=True)
    plan_summary: Mapped[str] = col("装修方案摘要", Text)
    structural: Mapped[bool] = col("改动主体结构", Boolean, default=False, index=True)
    added_load: Mapped[bool] = col("明显增加荷载", Boolean, default=False)
    agreement_signed: Mapped[bool] = col("已签装修协议", Boolean, default=False)
    rules_acknowledged: Mapped[bool] = col("已告知施工时间及禁止事项", Boolean, default=False, help=RULES_TEXT)
    plan_reviewed_by: Mapped[str | None] = col("方案审核人", String(50))
    plan_reviewed_at: Mapped[datetime | None] = col("方案审核时间", DateTime)
    review_note: Mapped[str | None] = col("审核意见", Text)
    waste_fee: Mapped[Decimal] = money("装修垃圾清运费(元)", validators=(NOT_NEGATIVE,))
    waste_fee_paid: Mapped[bool] = col("清运费已缴", Boolean, default=False, index=True)
    waste_fee_payment_id: Mapped[int | None] = col("清运费收据", ForeignKey("payment.id"))
    waste_fee_payment = rel("清运费收据", "Payment")
    applied_at: Mapped[datetime] = col("申请时间", DateTime, index=True)
    applied_by: Mapped[str | None] = col("受理人", String(50))
    approved_at: Mapped[datetime | None] = col("批准时间", DateTime)
    approved_by: Mapped[str | None] = col("批准人", String(50))
    rejected_reason: Mapped[str | None] = col("驳回原因", Text)
    started_at: Mapped[datetime | None] = col("开工时间", DateTime)
    completed_at: Mapped[datetime | None] = col("完工时间", DateTime)
    unit_status_before: Mapped[str | None] = col("开工前房屋状态", String(20))
    violation: Mapped[bool] = col("有违规", Boolean, default=False, index=True)
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return self.number or f"装修申请#{self.id}({self.unit or ''} {self.owner or ''})"

    def locked_reason(self) -> str | None:
        if self.status in (PermitStatus.completed, PermitStatus.rejected):
            return f"装修申请{PermitStatus.label_of(self.status)},不能再修改"
        return None

    @classmethod
    def check(cls, data: dict) -> dict:
        errors = {}
        if msg := check_period(data.get("planned_start"), data.get("planned_end")):
            errors["planned_end"] = msg
        if data.get("applicant_kind") == ApplicantKind.proxy:
            for name, label in (("proxy_name", "受托人姓名"), ("proxy_id_number", "受托人身份证号")):
                if not (data.get(name) or "").strip():
                    errors[name] = f"受托人代办须填写{label}"
        return errors


class WorkerPass(Entity):
    __tablename__ = "worker_pass"
    __admin__ = AdminSpec(
        menu="施工人员出入证", category="装修管理",
        list=("pass_no", "permit", "name", "id_number", "phone", "valid_from", "valid_to"),
        search=("pass_no", "name", "id_number", "phone"), codes=("pass_no",), filters=("permit", "valid_from", "valid_to"),
        form=("name", "id_number", "phone", "valid_from", "valid_to"), title="pass_no",
        roles=roles(create=(), edit=DESK, delete=DESK, export={"admin", "manager", "supervisor"}),
    )
    permit_id: Mapped[int] = col("装修许可", ForeignKey("renovation_permit.id"), index=True)
    permit = rel("装修许可", "RenovationPermit", backref="passes")
    pass_no: Mapped[str | None] = col("出入证号", String(30), unique=True)
    name: Mapped[str] = col("姓名", String(50))
    id_number: Mapped[str] = col("身份证号", String(30), validators=(RESIDENT_ID,))
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,))
    valid_from: Mapped[date] = col("有效期自", Date)
    valid_to: Mapped[date] = col("有效期至", Date, index=True)

    def __str__(self) -> str:
        return self.pass_no or self.name or f"#{self.id}"

    def locked_reason(self) -> str | None:
        return self.permit.locked_reason() if self.permit is not None else None

    @classmethod
    def check(cls, data: dict) -> dict:
        msg = check_period(data.get("valid_from"), data.get("valid_to"))
        return {"valid_to": msg} if msg else {}


class RenovationCheck(Entity):
    __tablename__ = "renovation_check"
    __admin__ = AdminSpec(
        menu="装修巡查", category="装修管理",
        list=("checked_on", "permit", "inspector", "findings", "violation", "action_taken"),
        search=("inspector", "findings"), filters=("checked_on", "permit", "violation"),
        form=("permit", "checked_on", "inspector", "findings", "violation", "action_taken"),
        sort=("checked_on", True), title="id",
        roles=roles(create={"admin", "supervisor", "frontdesk", "maintenance"},
                    edit={"admin", "supervisor", "maintenance"}, delete={"admin"}),
    )
    permit_id: Mapped[int] = col("装修许可", ForeignKey("renovation_permit.id"), index=True)
    permit = rel("装修许可", "RenovationPermit", backref="checks")
    checked_on: Mapped[date] = col("巡查日期", Date, index=True)
    inspector: Mapped[str] = col("巡查人", String(50))
    findings: Mapped[str] = col("巡查情况", Text)
    violation: Mapped[bool] = col("违规", Boolean, default=False, index=True)
    action_taken: Mapped[str | None] = col("处理措施", Text)

    def __str__(self) -> str:
        return f"{self.permit} {self.checked_on or ''}".strip()
