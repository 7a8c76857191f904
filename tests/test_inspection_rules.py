"""Acceptance-inspection rules (房屋验收): the checklist, failed items need a description, work orders
for the failed items (渗/漏 → 渗漏水), the re-inspection only after the repairs and only of the failed
items, and the owner's signature only when everything passed."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.inspection import (
    STANDARD_CHECKLIST, InspectionError, generate_work_orders, owner_sign, record_item, schedule_reinspection,
    start_inspection,
)
from app.workorders import accept, complete, dispatch, record_followup, start
from schema.occupancy import Inspection, InspectionItem
from schema.org import AuditLog
from schema.work_orders import WorkOrder
from tests import factories

NOW = datetime(2026, 11, 27, 10, 0)
LATER = NOW + timedelta(days=3)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def new_inspection(checklist=None, **kw):
    owner = kw.pop("owner", None) or factories.owner(name="王五", phone="13800138000")
    return start_inspection(kw.pop("unit", None) or factories.unit(status="vacant"), owner=owner,
                            inspector="王工", at=NOW, checklist=checklist, **kw)


def items_of(inspection):
    return sorted(inspection.items, key=lambda i: i.id)


def find(inspection, room, item):
    return next(i for i in inspection.items if (i.room, i.item) == (room, item))


def checked(failures=(("卫生间", "防水", "地面渗水至楼下"), ("主卧", "墙面", "墙面开裂约30厘米"))):
    """The standard checklist, every item recorded: the given failures, the rest passed."""
    insp = new_inspection()
    failed = {(room, item): text for room, item, text in failures}
    for i in items_of(insp):
        text = failed.get((i.room, i.item))
        record_item(i, text is None, text)
    return insp


def repair(order, followup=False):
    dispatch(order, "frontdesk", at=NOW)
    accept(order, "maintenance", at=NOW)
    start(order, "maintenance", at=NOW)
    leak_test = NOW if order.category == "leak" else None
    complete(order, "maintenance", at=NOW, leak_test_at=leak_test)
    if followup:
        record_followup(order, "frontdesk", method="phone", satisfied=True, result="已修好", at=NOW)


def actions(table, record_id):
    return db.session.scalars(select(AuditLog.action).where(AuditLog.table_name == table,
                                                            AuditLog.record_id == record_id)
                              .order_by(AuditLog.id)).all()


# ---------------------------------------------------------------- checklist


def test_standard_checklist():
    assert len(STANDARD_CHECKLIST) == 35 and len(set(STANDARD_CHECKLIST)) == 35
    rooms = list(dict.fromkeys(r for r, _ in STANDARD_CHECKLIST))
    assert rooms == ["客厅", "主卧", "次卧", "厨房", "卫生间", "阳台"]
    for room in rooms:
        for item in ("墙面", "地面", "天花", "门窗", "水电"):
            assert (room, item) in STANDARD_CHECKLIST
    assert {r for r, i in STANDARD_CHECKLIST if i == "防水"} == {"厨房", "卫生间"}
    assert {r for r, i in STANDARD_CHECKLIST if i == "给排水"} == {"厨房", "卫生间", "阳台"}
    assert all(len(r) <= 30 and len(i) <= 50 for r, i in STANDARD_CHECKLIST)


def test_start_inspection_creates_unchecked_items(ctx):
    unit = factories.unit(status="vacant")
    insp = new_inspection(unit=unit)
    db.session.commit()
    iid = insp.id
    db.session.expire_all()
    insp = db.session.get(Inspection, iid)
    assert (insp.unit_id, insp.owner.name, insp.inspector, insp.inspected_at, insp.status) == \
        (unit.id, "王五", "王工", NOW, "in_progress")
    assert [(i.room, i.item) for i in items_of(insp)] == STANDARD_CHECKLIST
    assert all(i.passed is None and i.description is None and i.work_order is None for i in insp.items)


def test_start_inspection_with_own_checklist_and_defaults(ctx):
    insp = start_inspection(factories.unit(), checklist=[("客厅", "墙面"), ("客厅", "墙面"), ("厨房", "防水")])
    assert [(i.room, i.item) for i in items_of(insp)] == [("客厅", "墙面"), ("厨房", "防水")]
    assert insp.inspected_at == NOW and insp.owner is None and insp.inspector is None


@pytest.mark.parametrize("checklist", [[], [("客厅", "")], [(" ", "墙面")]])
def test_start_inspection_refuses_an_empty_checklist(ctx, checklist):
    with pytest.raises(InspectionError, match="验收项目须填写房间和检查项目"):
        start_inspection(factories.unit(), checklist=checklist)


# ---------------------------------------------------------------- recording


def test_record_item(ctx):
    insp = new_inspection([("客厅", "墙面"), ("厨房", "防水")])
    wall, water = items_of(insp)
    record_item(wall, True)
    record_item(water, False, "  地漏周边渗水 ")
    db.session.commit()
    assert (wall.passed, wall.description) == (True, None)
    assert (water.passed, water.description) == (False, "地漏周边渗水")
    record_item(water, True)  # re-checked while still 验收中
    assert (water.passed, water.description) == (True, None)


@pytest.mark.parametrize("description", [None, "", "   "])
def test_failed_item_needs_a_description(ctx, description):
    item = items_of(new_inspection([("客厅", "墙面")]))[0]
    with pytest.raises(InspectionError, match="^不合格项目须填写问题描述$"):
        record_item(item, False, description)
    assert item.passed is None


def test_record_item_after_work_orders_only_repeats(ctx):
    insp = checked()
    generate_work_orders(insp)
    wall = find(insp, "主卧", "墙面")
    record_item(wall, False, "墙面开裂约30厘米")  # the same result again: a resubmitted form is fine
    with pytest.raises(InspectionError, match="整改中,不能修改检查结果"):
        record_item(wall, True)
    assert wall.passed is False


# ---------------------------------------------------------------- work orders


def test_generate_work_orders_for_the_failed_items(ctx, users):
    dept = factories.department()
    insp = checked()
    orders = generate_work_orders(insp, department=dept, user="frontdesk")
    db.session.commit()
    assert len(orders) == 2 and db.session.query(WorkOrder).count() == 2
    by_description = {o.description: o for o in orders}
    leak = by_description["卫生间防水:地面渗水至楼下"]
    crack = by_description["主卧墙面:墙面开裂约30厘米"]
    assert (leak.category, crack.category) == ("leak", "other")
    for order in orders:
        assert (order.source, order.status, order.unit_id, order.department_id) == \
            ("inspection", "pending", insp.unit_id, dept.id)
        assert (order.created_by, order.created_at, order.reporter, order.reporter_phone) == \
            ("frontdesk", NOW, "王五", "13800138000")
        assert order.number.startswith("WX20261127-")
    assert find(insp, "卫生间", "防水").work_order is leak
    assert find(insp, "主卧", "墙面").work_order is crack
    assert [i for i in insp.items if i.work_order is not None] and \
        all(i.work_order is None for i in insp.items if i.passed)
    assert insp.status == "rectifying"
    assert "生成维修工作单" in actions("inspection", insp.id)
    assert "生成维修工作单" in actions("inspection_item", find(insp, "主卧", "墙面").id)
    assert actions("work_order", leak.id)[0] == "开单"


@pytest.mark.parametrize("description, category", [
    ("吊顶漏水", "leak"), ("窗台渗水", "leak"), ("墙面空鼓", "other"), ("地漏堵塞", "leak"),
])
def test_work_order_category_follows_the_description(ctx, description, category):
    insp = new_inspection([("客厅", "天花")])
    record_item(items_of(insp)[0], False, description)
    assert generate_work_orders(insp)[0].category == category


def test_generate_refused_with_unchecked_items(ctx):
    insp = new_inspection()
    first = items_of(insp)[0]
    record_item(first, False, "墙面空鼓")
    with pytest.raises(InspectionError, match="^还有未检查的项目$"):
        generate_work_orders(insp)
    assert insp.status == "in_progress" and db.session.query(WorkOrder).count() == 0


def test_generate_refused_without_failed_items(ctx):
    insp = checked(failures=())
    with pytest.raises(InspectionError, match="^没有不合格项目$"):
        generate_work_orders(insp)
    assert insp.status == "in_progress"


def test_generate_refused_when_every_failure_has_its_order(ctx):
    insp = checked()
    generate_work_orders(insp)
    with pytest.raises(InspectionError, match="不合格项目均已生成维修工作单"):
        generate_work_orders(insp)
    assert db.session.query(WorkOrder).count() == 2


# ---------------------------------------------------------------- re-inspection


def test_reinspection_refused_while_orders_are_open(ctx):
    dept = factories.department()
    insp = checked()
    leak, crack = generate_work_orders(insp, department=dept)
    with pytest.raises(InspectionError, match="^维修尚未完成,不能安排复验$"):
        schedule_reinspection(insp, LATER, dept)
    repair(leak)
    dispatch(crack, "frontdesk", at=NOW)
    with pytest.raises(InspectionError, match="^维修尚未完成,不能安排复验$"):
        schedule_reinspection(insp, LATER, dept)
    assert insp.status == "rectifying" and db.session.query(Inspection).count() == 1


def test_reinspection_refused_before_work_orders(ctx):
    insp = checked()
    with pytest.raises(InspectionError, match="请先生成维修工作单"):
        schedule_reinspection(insp, LATER, factories.department())


def test_reinspection_copies_only_the_failed_items(ctx, users):
    dept = factories.department()
    insp = checked()
    leak, crack = generate_work_orders(insp, department=dept)
    repair(leak)
    repair(crack, followup=True)  # 已回访 counts as repaired too
    again = schedule_reinspection(insp, LATER, dept, user="frontdesk")
    db.session.commit()
    first_id, again_id = insp.id, again.id
    db.session.expire_all()
    insp, again = db.session.get(Inspection, first_id), db.session.get(Inspection, again_id)
    assert (insp.status, insp.agreed_time, insp.notified_department_id) == ("reinspection", LATER, dept.id)
    assert (again.previous_id, again.unit_id, again.owner_id) == (insp.id, insp.unit_id, insp.owner_id)
    assert (again.inspected_at, again.agreed_time, again.notified_department_id, again.status) == \
        (LATER, LATER, dept.id, "in_progress")
    assert [(i.room, i.item, i.passed, i.description, i.work_order_id) for i in items_of(again)] == [
        ("主卧", "墙面", None, None, None), ("卫生间", "防水", None, None, None)]
    assert db.session.query(InspectionItem).count() == len(STANDARD_CHECKLIST) + 2
    assert "安排复验" in actions("inspection", insp.id) and "安排复验" in actions("inspection", again.id)
    log = db.session.execute(select(AuditLog).filter_by(table_name="inspection", record_id=again.id,
                                                        action="安排复验")).scalar_one()
    assert log.username == "frontdesk"
    with pytest.raises(InspectionError, match="已安排复验,不能安排复验"):
        schedule_reinspection(insp, LATER, dept)


@pytest.mark.parametrize("agreed", [NOW, NOW - timedelta(minutes=1)])
def test_reinspection_time_must_be_in_the_future(ctx, agreed):
    dept = factories.department()
    insp = checked()
    for order in generate_work_orders(insp, department=dept):
        repair(order)
    with pytest.raises(InspectionError, match="^复验时间须晚于现在$"):
        schedule_reinspection(insp, agreed, dept)
    assert insp.status == "rectifying"


def test_reinspection_needs_a_department(ctx):
    insp = checked()
    for order in generate_work_orders(insp, department=factories.department()):
        repair(order)
    with pytest.raises(InspectionError, match="请选择通知的维修部门"):
        schedule_reinspection(insp, LATER, None)


def test_a_closed_order_is_not_a_repair(ctx):
    from app.workorders import close

    dept = factories.department()
    insp = checked(failures=(("客厅", "墙面", "墙面空鼓"),))
    (order,) = generate_work_orders(insp, department=dept)
    close(order, "supervisor", "重复开单")
    with pytest.raises(InspectionError, match="维修尚未完成"):
        schedule_reinspection(insp, LATER, dept)


# ---------------------------------------------------------------- signature


def test_owner_sign_refused_with_a_failed_or_unchecked_item(ctx):
    insp = new_inspection([("客厅", "墙面"), ("厨房", "防水")])
    wall, water = items_of(insp)
    record_item(wall, True)
    with pytest.raises(InspectionError, match="^还有不合格或未检查的项目,业主不能签字确认$"):
        owner_sign(insp)
    record_item(water, False, "渗水")
    with pytest.raises(InspectionError, match="^还有不合格或未检查的项目,业主不能签字确认$"):
        owner_sign(insp)
    assert insp.status == "in_progress" and insp.signed_at is None


def test_owner_sign_when_everything_passed(ctx):
    insp = checked(failures=())
    owner_sign(insp, at=NOW)
    db.session.commit()
    assert (insp.status, insp.signed_at) == ("signed", NOW)
    assert "业主签字确认" in actions("inspection", insp.id)
    with pytest.raises(InspectionError, match="业主已签字确认"):
        owner_sign(insp)
    with pytest.raises(InspectionError, match="业主已签字,不能修改检查结果"):
        record_item(items_of(insp)[0], False, "墙面开裂")


def test_the_full_round_ends_with_the_signature_on_the_reinspection(ctx):
    dept = factories.department()
    insp = checked()
    for order in generate_work_orders(insp, department=dept):
        repair(order)
    again = schedule_reinspection(insp, LATER, dept)
    with pytest.raises(InspectionError):
        owner_sign(insp)  # the first keeps its failures
    for item in again.items:
        record_item(item, True)
    owner_sign(again, at=LATER)
    db.session.commit()
    assert (again.status, again.signed_at, insp.status) == ("signed", LATER, "reinspection")


def test_a_reinspection_can_fail_again(ctx):
    dept = factories.department()
    insp = checked()
    for order in generate_work_orders(insp, department=dept):
        repair(order)
    again = schedule_reinspection(insp, LATER, dept)
    record_item(find(again, "主卧", "墙面"), True)
    record_item(find(again, "卫生间", "防水"), False, "仍有渗水")
    (order,) = generate_work_orders(again, department=dept)
    assert (order.description, order.category, again.status) == ("卫生间防水:仍有渗水", "leak", "rectifying")
