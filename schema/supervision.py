"""Supervising the departments (监督和协调部门的工作) and the daily building patrol (日常巡查).

A failed check raises an 内部协调单 or 不合格单 to the department's supervisor with a rectification
deadline; the slip is re-checked (复查合格, or 复查不合格 which reopens it). A patrol checks hygiene,
public facilities, the bulletin board and the security patrol log; each failure raises a slip to
the department responsible in one step. The rules live in app/supervision.py.
"""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped

from .base import Entity
from .spec import AdminSpec, Choice, col, rel, roles

CHECKERS = {"admin", "manager", "supervisor", "frontdesk"}


class CheckItem(Choice):
    uniform = "uniform", "秩序维护:着装仪容"
    posts = "posts", "秩序维护:岗位在岗"
    discipline = "discipline", "秩序维护:员工纪律"
    repairs_on_time = "repairs_on_time", "工程维修:维修及时"
    repair_followup = "repair_followup", "工程维修:跟进回访"
    hygiene = "hygiene", "保洁:楼宇卫生"
    cleaning_progress = "cleaning_progress", "保洁:工作进度"
    cleaning_incidents = "cleaning_incidents", "保洁:突发事件处理"
    planting = "planting", "绿化:种植进度"
    upkeep = "upkeep", "绿化:养护情况"
    patrol_hygiene = "patrol_hygiene", "巡查:卫生"
    patrol_facilities = "patrol_facilities", "巡查:公共设备设施"
    patrol_bulletin = "patrol_bulletin", "巡查:公告栏"
    patrol_security = "patrol_security", "巡查:秩序维护巡逻记录"
    other = "other", "其他"


class SlipKind(Choice):
    coordination = "coordination", "内部协调单"
    nonconformance = "nonconformance", "不合格单"


class SlipStatus(Choice):
    passed = "passed", "检查合格"
    open = "open", "已开单"
    rectified = "rectified", "已整改"
    recheck_passed = "recheck_passed", "复查合格"
    recheck_failed = "recheck_failed", "复查不合格"


class DeptCheck(Entity):
    __tablename__ = "dept_check"
    __admin__ = AdminSpec(
        menu="部门检查与不合格单", category="品质监督",
        list=("number", "checked_at", "department", "item", "passed", "slip_kind", "deadline", "status",
              "rechecked_at"),
        search=("number", "findings", "checker", "supervisor_name"), codes=("number",),
        filters=("checked_at", "department", "item", "passed", "slip_kind", "status", "deadline", "patrol"),
        form=("department", "item", "checked_at", "checker", "passed", "findings", "slip_kind", "deadline", "note"),
        edit=("findings", "note"),
        sort=("checked_at", True), title="number",
        roles=roles(create=CHECKERS, edit=CHECKERS, delete=(), export={"admin", "manager", "supervisor"}),
        actions={"rectify": {"admin", "supervisor", "maintenance"}, "recheck": CHECKERS},
    )
    number: Mapped[str | None] = col("单号", String(20), unique=True)
    department_id: Mapped[int] = col("被检查部门", ForeignKey("department.id"), index=True)
    department = rel("被检查部门", "Department")
    item: Mapped[str] = col("检查项目", choices=CheckItem, index=True)
    checked_at: Mapped[datetime] = col("检查时间", DateTime, index=True)
    checker: Mapped[str] = col("检查人", String(50))
    passed: Mapped[bool] = col("检查合格", Boolean, default=True, index=True)
    findings: Mapped[str | None] = col("检查情况", Text)
    slip_kind: Mapped[str | None] = col("单据类型", choices=SlipKind, index=True)
    supervisor_name: Mapped[str | None] = col("接单主管", String(50))
    deadline: Mapped[datetime | None] = col("整改期限", DateTime, index=True)
    status: Mapped[str] = col("状态", choices=SlipStatus, default=SlipStatus.passed, index=True)
    rectified_at: Mapped[datetime | None] = col("整改完成时间", DateTime)
    rectification: Mapped[str | None] = col("整改情况", Text)
    rechecked_at: Mapped[datetime | None] = col("复查时间", DateTime)
    rechecked_by: Mapped[str | None] = col("复查人", String(50))
    recheck_note: Mapped[str | None] = col("复查情况", Text)
    reopen_count: Mapped[int] = col("复查不合格次数", default=0)
    patrol_id: Mapped[int | None] = col("来源巡查", ForeignKey("patrol.id"), index=True)
    patrol = rel("来源巡查", "Patrol", backref="slips")
    note: Mapped[str | None] = col("备注", Text)

    def __str__(self) -> str:
        return self.number or f"检查#{self.id}"

    @classmethod
    def check(cls, data: dict) -> dict:
        if data.get("passed") is False:
            errors = {}
            if not data.get("slip_kind"):
                errors["slip_kind"] = "检查不合格须开具内部协调单或不合格单"
            if not data.get("deadline"):
                errors["deadline"] = "请填写整改期限"
            if not (data.get("findings") or "").strip():
                errors["findings"] = "请填写不合格情况"
            return errors
        return {}


class Patrol(Entity):
    __tablename__ = "patrol"
    __admin__ = AdminSpec(
        menu="日常巡查", category="品质监督",
        list=("at", "building", "patroller", "hygiene_ok", "facilities_ok", "bulletin_ok", "security_ok"),
        search=("patroller", "hygiene_note", "facilities_note", "bulletin_note", "security_note"),
        filters=("at", "building", "hygiene_ok", "facilities_ok", "bulletin_ok", "security_ok"),
        form=("building", "at", "patroller", "hygiene_ok", "hygiene_note", "facilities_ok", "facilities_note",
              "bulletin_ok", "bulletin_note", "security_ok", "security_note"),
        sort=("at", True), title="id",
        roles=roles(create=CHECKERS, edit=CHECKERS, delete={"admin"}, export={"admin", "manager", "supervisor"}),
        actions={"raise_slips": CHECKERS},
    )
    building_id: Mapped[int] = col("楼栋", ForeignKey("building.id"), index=True)
    building = rel("楼栋", "Building")
    at: Mapped[datetime] = col("巡查时间", DateTime, index=True)
    patroller: Mapped[str] = col("巡查人", String(50))
    hygiene_ok: Mapped[bool] = col("卫生合格", Boolean, default=True)
    hygiene_note: Mapped[str | None] = col("卫生情况", String(200))
    facilities_ok: Mapped[bool] = col("公共设备设施合格", Boolean, default=True)
    facilities_note: Mapped[str | None] = col("设备设施情况", String(200))
    bulletin_ok: Mapped[bool] = col("公告栏合格", Boolean, default=True)
    bulletin_note: Mapped[str | None] = col("公告栏情况", String(200))
    security_ok: Mapped[bool] = col("秩序维护巡逻记录合格", Boolean, default=True)
    security_note: Mapped[str | None] = col("巡逻记录情况", String(200))

    def __str__(self) -> str:
        when = self.at.strftime("%Y-%m-%d %H:%M") if self.at else ""
        return f"{self.building or ''} {when}".strip() or f"#{self.id}"

    @classmethod
    def check(cls, data: dict) -> dict:
        errors = {}
        for item in ("hygiene", "facilities", "bulletin", "security"):
            if data.get(f"{item}_ok") is False and not (data.get(f"{item}_note") or "").strip():
                errors[f"{item}_note"] = "不合格项须填写情况说明"
        return errors
