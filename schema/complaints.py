"""Front desk: complaints (投诉) and the call log (来电记录).

The manual (前台操作): a complaint is recorded, its nature judged (有效投诉 or 沟通性投诉), the
responsible department found, handled on site under its supervisor, and visited back; a call is
recorded, answered on the spot or given a callback contact, referred and followed up.
"""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped

from app.validators import PHONE
from .base import Entity
from .spec import AdminSpec, Choice, col, rel, roles

DESK = {"admin", "supervisor", "frontdesk"}


class ComplaintKind(Choice):
    valid = "valid", "有效投诉"
    communication = "communication", "沟通性投诉"


class ComplaintCategory(Choice):
    cleaning = "cleaning", "保洁"
    vehicle = "vehicle", "车辆管理"
    charges = "charges", "乱收费"
    maintenance = "maintenance", "设备维修保养失职"
    violation = "violation", "违规"
    help = "help", "求助型"
    inquiry = "inquiry", "咨询型"
    venting = "venting", "发泄型"


KIND_CATEGORIES = {
    "valid": ("cleaning", "vehicle", "charges", "maintenance", "violation"),
    "communication": ("help", "inquiry", "venting"),
}


class ComplaintStatus(Choice):
    registered = "registered", "已登记"
    classified = "classified", "已定性"
    assigned = "assigned", "已派部门"
    on_site = "on_site", "现场处理"
    visited = "visited", "已回访"


class Channel(Choice):
    phone = "phone", "来电"
    visit = "visit", "来访"
    letter = "letter", "书面"
    online = "online", "网络"
    other = "other", "其他"


class Complaint(Entity):
    __tablename__ = "complaint"
    __admin__ = AdminSpec(
        menu="投诉", category="前台服务",
        list=("number", "received_at", "complainant", "unit", "kind", "category", "department", "status",
              "followup_at"),
        search=("number", "complainant", "phone", "content"), codes=("number",),
        filters=("received_at", "status", "kind", "category", "channel", "department", "unit", "escalated",
                 "satisfied"),
        form=("channel", "complainant", "phone", "unit", "content", "kind", "category", "note"),
        edit=("channel", "complainant", "phone", "unit", "content", "note"),
        sort=("received_at", True), title="number", large=True,
        roles=roles(create=DESK, edit=DESK, delete=(), export={"admin", "manager", "supervisor"}),
        actions={"classify": DESK, "verify": DESK, "assign": DESK, "on_site": {"admin", "supervisor"},
                 "followup": DESK, "escalate": {"admin", "supervisor"}},
    )
    number: Mapped[str] = col("投诉编号", String(20), unique=True)
    received_at: Mapped[datetime] = col("登记时间", DateTime, index=True)
    channel: Mapped[str] = col("投诉方式", choices=Channel, default=Channel.phone)
    complainant: Mapped[str] = col("投诉人", String(50))
    phone: Mapped[str | None] = col("联系电话", String(30), validators=(PHONE,), index=True)
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="complaints")
    content: Mapped[str] = col("投诉内容", Text)
    kind: Mapped[str | None] = col("性质", choices=ComplaintKind, index=True)
    category: Mapped[str | None] = col("类别", choices=ComplaintCategory, index=True,
                                       help="有效投诉:保洁、车辆管理、乱收费、设备维修保养失职、违规;沟通性投诉:求助型、咨询型、发泄型")
    status: Mapped[str] = col("状态", choices=ComplaintStatus, default=ComplaintStatus.registered, index=True)
    identity_checked: Mapped[bool] = col("已核实身份", Boolean, default=False)
    identity_note: Mapped[str | None] = col("身份核实情况", String(200))
    classified_at: Mapped[datetime | None] = col("定性时间", DateTime)
    classified_by: Mapped[str | None] = col("定性人", String(50))
    department_id: Mapped[int | None] = col("责任部门", ForeignKey("department.id"), index=True)
    department = rel("责任部门", "Department")
    supervisor_name: Mapped[str | None] = col("部门主管", String(50))
    assigned_at: Mapped[datetime | None] = col("派部门时间", DateTime)
    onsite_at: Mapped[datetime | None] = col("现场处理时间", DateTime)
    handling: Mapped[str | None] = col("处理情况", Text)
    followup_at: Mapped[datetime | None] = col("回访时间", DateTime, index=True)
    followup_by: Mapped[str | None] = col("回访人", String(50))
    followup_result: Mapped[str | None] = col("回访结果", Text)
    satisfied: Mapped[bool | None] = col("投诉人满意", Boolean)
    escalated: Mapped[bool] = col("由沟通性升级", Boolean, default=False, index=True)
    escalated_from: Mapped[str | None] = col("原类别", choices=ComplaintCategory)
    escalation_reason: Mapped[str | None] = col("升级原因", Text)
    escalated_at: Mapped[datetime | None] = col("升级时间", DateTime)
    escalated_by: Mapped[str | None] = col("升级人", String(50))
    call_log_id: Mapped[int | None] = col("来源来电", ForeignKey("call_log.id"), index=True)
    call_log = rel("来源来电", "CallLog", backref="complaints")
    created_by: Mapped[str | None] = col("登记人", String(50))
    note: Mapped[str | None] = col("备注", Text)

    @classmethod
    def check(cls, data: dict) -> dict:
        kind, category = data.get("kind"), data.get("category")
        if category and not kind:
            return {"kind": "选择类别前请先选择投诉性质"}
        if kind and category and category not in KIND_CATEGORIES.get(kind, ()):
            return {"category": f"{ComplaintCategory.label_of(category)}不属于{ComplaintKind.label_of(kind)}"}
        return {}


class CallerIdentity(Choice):
    owner = "owner", "业主"
    resident = "resident", "住户"
    visitor = "visitor", "访客"
    other = "other", "其他"


class CallStatus(Choice):
    answered = "answered", "已当场答复"
    pending = "pending", "待回复"
    referred = "referred", "已转办"
    closed = "closed", "已回访"


class CallLog(Entity):
    __tablename__ = "call_log"
    __admin__ = AdminSpec(
        menu="来电记录", category="前台服务",
        list=("at", "caller", "identity", "unit", "phone", "content", "answered", "department", "status",
              "work_order"),
        search=("caller", "phone", "content", "callback"),
        filters=("at", "status", "identity", "answered", "department", "unit"),
        form=("at", "caller", "identity", "unit", "phone", "content", "answered", "answer", "callback",
              "department", "note"),
        sort=("at", True), title="caller", large=True,
        roles=roles(create=DESK, edit=DESK, delete=(), export={"admin", "manager", "supervisor"}),
        actions={"to_work_order": DESK, "to_complaint": DESK, "followup": DESK},
    )
    at: Mapped[datetime] = col("来电时间", DateTime, index=True)
    caller: Mapped[str] = col("来电人", String(50))
    identity: Mapped[str] = col("身份", choices=CallerIdentity, default=CallerIdentity.owner)
    unit_id: Mapped[int | None] = col("房屋", ForeignKey("unit.id"), index=True)
    unit = rel("房屋", "Unit", backref="calls")
    phone: Mapped[str | None] = col("来电号码", String(30), validators=(PHONE,), index=True)
    content: Mapped[str] = col("来电内容", Text)
    answered: Mapped[bool] = col("当场答复", Boolean, default=True, index=True)
    answer: Mapped[str | None] = col("答复内容", Text)
    callback: Mapped[str | None] = col("回复联系方式", String(100), help="未能当场答复的,须留下回复联系方式")
    department_id: Mapped[int | None] = col("转交部门", ForeignKey("department.id"), index=True)
    department = rel("转交部门", "Department")
    status: Mapped[str] = col("状态", choices=CallStatus, default=CallStatus.answered, index=True)
    work_order_id: Mapped[int | None] = col("维修工单", ForeignKey("work_order.id"), index=True)
    work_order = rel("维修工单", "WorkOrder")
    followup_at: Mapped[datetime | None] = col("回访时间", DateTime)
    followup_by: Mapped[str | None] = col("回访人", String(50))
    followup_result: Mapped[str | None] = col("回访结果", Text)
    taken_by: Mapped[str | None] = col("接听人", String(50))
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        when = self.at.strftime("%m-%d %H:%M") if self.at else ""
        return f"{when} {self.caller or ''}".strip() or f"#{self.id}"

    @classmethod
    def check(cls, data: dict) -> dict:
        from app.calls import check_call

        if "answered" not in data:
            return {}
        message = check_call(data.get("answered"), data.get("answer"), data.get("callback"))
        return {("callback" if not data.get("answered") else "answer"): message} if message else {}
