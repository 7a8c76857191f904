"""Documents on file (资料): copies of IDs, contracts and approvals, stored content-addressed."""
from datetime import date

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped

from app import clock

from .base import Entity
from .spec import AdminSpec, Choice, Date, col, rel, roles


class DocType(Choice):
    id_copy = "id_copy", "身份证复印件"
    movein_notice = "movein_notice", "入住通知单"
    purchase_contract = "purchase_contract", "房屋买卖契约"
    power_of_attorney = "power_of_attorney", "委托书"
    proxy_id_copy = "proxy_id_copy", "受托人身份证复印件"
    company_proof = "company_proof", "单位证明"
    registration_form = "registration_form", "住户登记表"
    agreement = "agreement", "协议"
    renovation_agreement = "renovation_agreement", "装修协议"
    alteration_approval = "alteration_approval", "拆改批准书"
    custody_agreement = "custody_agreement", "托管协议"
    other = "other", "其他"


class Document(Entity):
    __tablename__ = "document"
    __admin__ = AdminSpec(
        menu="资料档案", category="业主与住户",
        list=("doc_type", "title", "owner", "unit", "filename", "size", "received_on", "clerk"),
        search=("title", "filename", "sha256"), codes=("sha256",),
        filters=("doc_type", "owner", "unit", "received_on"),
        form=("doc_type", "title", "owner", "unit", "received_on", "ref_table", "ref_id", "note"),
        title="title",
        roles=roles(create={"admin", "supervisor", "frontdesk"}, edit={"admin", "supervisor", "frontdesk"}),
    )
    doc_type: Mapped[str] = col("资料类型", choices=DocType, index=True)
    title: Mapped[str] = col("资料名称", String(200))
    owner_id: Mapped[int | None] = col("业主", ForeignKey("owner.id"), index=True)
    owner = rel("业主", "Owner", backref="documents")
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="documents")
    ref_table: Mapped[str | None] = col("关联业务", String(40))
    ref_id: Mapped[int | None] = col("关联记录编号", Integer)
    filename: Mapped[str | None] = col("文件名", String(200))
    content_type: Mapped[str | None] = col("文件类型", String(60))
    size: Mapped[int | None] = col("大小(字节)", Integer)
    sha256: Mapped[str | None] = col("SHA-256", String(64), index=True)
    received_on: Mapped[date | None] = col("收件日期", Date, default=clock.today)
    clerk_id: Mapped[int | None] = col("经办人", ForeignKey("app_user.id"))
    clerk = rel("经办人", "AppUser")
    note: Mapped[str | None] = col("备注", Text)

    @classmethod
    def check(cls, data: dict) -> dict:
        if not data.get("owner") and not data.get("unit") and not (data.get("ref_table") and data.get("ref_id")):
            return {"owner": "资料须关联业主、房屋或业务记录(至少一项)"}
        return {}
