"""Acceptance inspection (房屋验收) at move-in: the checklist, failed items turned into repair work
orders, the re-inspection once the repairs are done, and the owner's signature.

The manual (一、为业主办理入住服务 · 房屋验收):
按“房屋质量验收登记表”逐项检查验收;查抄水表、电表、煤气表底数并共同确认;
质量问题记录并据此填写维修工作单;维修部复检合格后,客户服务中心与业主联系确认再次验收时间,
通知维修部在约定时间陪同业主再次验收;验收合格请业主签字确认。

Flow: start_inspection (验收中) → record_item for every item → generate_work_orders (整改中) →
repairs done → schedule_reinspection (the first becomes 已安排复验; a new inspection of the failed items,
验收中) → ... → owner_sign on an inspection whose items all passed (业主已签字).

Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime

from . import clock
from .audit import audit_context
from .extensions import db
from .actors import code_of as _code, username_of as _username

ROOMS = ("客厅", "主卧", "次卧", "厨房", "卫生间", "阳台")
BASE_ITEMS = ("墙面", "地面", "天花", "门窗", "水电")
EXTRA_ITEMS = {
    "厨房": ("给排水", "防水"),
    "卫生间": ("给排水", "防水"),
    "阳台": ("给排水",),  # 地漏、雨水管
}

# 房屋质量验收登记表: (room, item), 35 rows.
STANDARD_CHECKLIST: list[tuple[str, str]] = [
    (room, item) for room in ROOMS for item in BASE_ITEMS + EXTRA_ITEMS.get(room, ())
]

IN_PROGRESS, RECTIFYING, REINSPECTION, SIGNED = "in_progress", "rectifying", "reinspection", "signed"
REPAIRED = ("done", "visited")  # work-order statuses that count as 维修部复检合格
LEAK_WORDS = ("渗", "漏")


class InspectionError(ValueError):
    """An inspection operation refused, with a Chinese message for the user."""


# ---------------------------------------------------------------- helpers





def _person(value) -> str | None:
    """The accompanying person's name: a string, or an AppUser's display name."""
    if value is None:
        return None
    name = getattr(value, "display_name", None) or getattr(value, "username", None) or value
    name = str(name).strip()
    return name or None


def _status_label(status) -> str:
    from schema.occupancy import InspectionStatus

    return InspectionStatus.label_of(_code(status))


def _items(inspection) -> list:
    """The inspection's items in checklist order (by id; unsaved ones last)."""
    db.session.flush()
    return sorted(inspection.items, key=lambda i: (i.id is None, i.id or 0))


def is_leak(description: str | None) -> bool:
    return any(w in (description or "") for w in LEAK_WORDS)


# ---------------------------------------------------------------- start and record


def start_inspection(unit, owner=None, inspector=None, at: datetime | None = None, checklist=None):
    """A new inspection (验收中) with one unchecked item per (room, item) of the checklist
    (default STANDARD_CHECKLIST)."""
    from schema.occupancy import Inspection, InspectionItem, InspectionStatus

    if unit is None:
        raise InspectionError("请选择房屋")
    rows = list(dict.fromkeys((str(r).strip(), str(i).strip()) for r, i in
                              (STANDARD_CHECKLIST if checklist is None else checklist)))
    if not rows or any(not r or not i for r, i in rows):
        raise InspectionError("验收项目须填写房间和检查项目")
    with audit_context(db.session, action="开始验收"):
        inspection = Inspection(unit=unit, owner=owner, inspector=_person(inspector), inspected_at=at or clock.now(),
                                status=InspectionStatus.in_progress.value)
        db.session.add(inspection)
        for room, item in rows:
            db.session.add(InspectionItem(inspection=inspection, room=room, item=item, passed=None))
        db.session.flush()
    return inspection


def record_item(item, passed: bool, description: str | None = None):
    """合格 or 不合格 for one item; 不合格 needs a description. Only while the inspection is 验收中
    (saving the same result again later is a no-op, so a resubmitted form does not fail)."""
    if not isinstance(passed, bool):
        raise InspectionError("请选择合格或不合格")
    description = (description or "").strip() or None
    if not passed and not description:
        raise InspectionError("不合格项目须填写问题描述")
    inspection = item.inspection
    if inspection is not None and _code(inspection.status) != IN_PROGRESS:
        if item.passed is passed and (item.description or None) == description:
            return item
        raise InspectionError(f"该验收{_status_label(inspection.status)},不能修改检查结果")
    item.passed = passed
    item.description = description
    db.session.flush()
    return item


# ---------------------------------------------------------------- work orders


def generate_work_orders(inspection, department=None, user=None, at: datetime | None = None) -> list:
    """维修工作单 for the failed items that have none yet (source 验收, category 渗漏水 when the description
    mentions 渗/漏); the inspection becomes 整改中. Refused while items are unchecked."""
    from schema.occupancy import InspectionStatus

    from .workorders import open_work_order

    status = _code(inspection.status)
    if status not in (IN_PROGRESS, RECTIFYING):
        raise InspectionError(f"该验收{_status_label(status)},不能生成维修工作单")
    items = _items(inspection)
    if any(i.passed is None for i in items):
        raise InspectionError("还有未检查的项目")
    failed = [i for i in items if i.passed is False]
    if not failed:
        raise InspectionError("没有不合格项目")
    todo = [i for i in failed if i.work_order is None and i.work_order_id is None]
    if not todo:
        raise InspectionError("不合格项目均已生成维修工作单")
    owner = inspection.owner
    who = _username(user)
    orders = []
    with audit_context(db.session, action="生成维修工作单", username=who):
        for item in todo:
            order = open_work_order(
                source="inspection", description=f"{item.room}{item.item}:{item.description}",
                unit=inspection.unit, category="leak" if is_leak(item.description) else "other",
                reporter=owner.name if owner is not None else None,
                reporter_phone=owner.phone if owner is not None else None,
                department=department, created_by=who, at=at)
            orders.append((item, order))
        for item, order in orders:
            item.work_order = order
        inspection.status = InspectionStatus.rectifying.value
        db.session.flush()
    return [order for _, order in orders]


# ---------------------------------------------------------------- re-inspection


def schedule_reinspection(inspection, agreed_time: datetime, department, user=None):
    """再次验收: once every work order of this inspection is done (or followed up), at a time agreed with
    the owner, with the maintenance department notified to come along. Returns the new inspection,
    whose items are the failed items again (unchecked)."""
    from schema.occupancy import Inspection, InspectionItem, InspectionStatus

    status = _code(inspection.status)
    if status == IN_PROGRESS:
        raise InspectionError("请先生成维修工作单")
    if status != RECTIFYING:
        raise InspectionError(f"该验收{_status_label(status)},不能安排复验")
    items = _items(inspection)
    orders = [i.work_order for i in items if i.work_order is not None]
    failed = [i for i in items if i.passed is False]
    if not orders or any(i.work_order is None for i in failed) \
            or any(_code(o.status) not in REPAIRED for o in orders):
        raise InspectionError("维修尚未完成,不能安排复验")
    if not isinstance(agreed_time, datetime):
        raise InspectionError("请填写约定复验时间")
    if agreed_time <= clock.now():
        raise InspectionError("复验时间须晚于现在")
    if department is None:
        raise InspectionError("请选择通知的维修部门")
    with audit_context(db.session, action="安排复验", username=_username(user)):
        again = Inspection(previous=inspection, unit=inspection.unit, owner=inspection.owner,
                           inspected_at=agreed_time, agreed_time=agreed_time,
                           status=InspectionStatus.in_progress.value)
        _set_department(again, department)
        db.session.add(again)
        for item in failed:
            db.session.add(InspectionItem(inspection=again, room=item.room, item=item.item, passed=None))
        inspection.status = InspectionStatus.reinspection.value
        inspection.agreed_time = agreed_time
        _set_department(inspection, department)
        db.session.flush()
    return again


def _set_department(inspection, department) -> None:
    if isinstance(department, int):
        inspection.notified_department_id = department
    else:
        inspection.notified_department = department


# ---------------------------------------------------------------- signature


def owner_sign(inspection, at: datetime | None = None):
    """验收合格请业主签字确认: only when every item passed."""
    from schema.occupancy import InspectionStatus

    if _code(inspection.status) == SIGNED:
        raise InspectionError("业主已签字确认")
    items = _items(inspection)
    if not items or any(i.passed is not True for i in items):
        raise InspectionError("还有不合格或未检查的项目,业主不能签字确认")
    with audit_context(db.session, action="业主签字确认"):
        inspection.status = InspectionStatus.signed.value
        inspection.signed_at = at or clock.now()
        db.session.flush()
    return inspection
