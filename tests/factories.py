"""Small builders for valid records (valid ID numbers and phones), used across the suite."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

from app.extensions import db
from app.validators import credit_code_check_char, resident_id_check_char
from schema import Building, Department, Document, Estate, Owner, Ownership, Resident, Unit

_seq = itertools.count(1)


def resident_id(born: str = "19900307", region: str = "440305", serial: int | None = None) -> str:
    """A valid resident ID; past 999 serials the birth date moves on a day, so ids stay unique in big runs."""
    n = serial or next(_seq)
    if n >= 1000:
        born = (datetime.strptime(born, "%Y%m%d") + timedelta(days=n // 1000)).strftime("%Y%m%d")
    body = f"{region}{born}{n % 1000:03d}"
    return body + resident_id_check_char(body)


def credit_code(body: str = "91440300MA5DABCD1") -> str:
    return body + credit_code_check_char(body)


def mobile() -> str:
    return f"138{next(_seq):08d}"


def estate(**kw) -> Estate:
    e = Estate(**{"name": f"锦绣花园{next(_seq)}", "address": "深圳市南山区", "phone": "0755-26881234", **kw})
    db.session.add(e)
    return e


def building(**kw) -> Building:
    b = Building(**{"estate": kw.pop("estate", None) or estate(), "name": f"{next(_seq)}栋", "floors": 18, **kw})
    db.session.add(b)
    return b


def unit(**kw) -> Unit:
    u = Unit(**{"building": kw.pop("building", None) or building(), "room_no": f"{1200 + next(_seq)}",
                "floor": 12, "area": Decimal("89.50"), "usage": "residence", "status": "occupied",
                "fee_rate": Decimal("2.50"), **kw})
    db.session.add(u)
    return u


def owner(**kw) -> Owner:
    o = Owner(**{"kind": "person", "name": "张三", "id_type": "resident_id", "id_number": resident_id(),
                 "phone": mobile(), **kw})
    db.session.add(o)
    return o


def ownership(**kw) -> Ownership:
    s = Ownership(**{"owner": kw.pop("owner", None) or owner(), "unit": kw.pop("unit", None) or unit(),
                     "share": Decimal("100"), "since": date(2024, 1, 1), "is_primary": True, **kw})
    db.session.add(s)
    return s


def resident(**kw) -> Resident:
    r = Resident(**{"unit": kw.pop("unit", None) or unit(), "name": "李四", "relation": "family",
                    "phone": mobile(), "move_in_date": date(2024, 3, 1), **kw})
    db.session.add(r)
    return r


def document(**kw) -> Document:
    d = Document(**{"doc_type": "id_copy", "title": "身份证复印件", "owner": kw.pop("owner", None) or owner(), **kw})
    db.session.add(d)
    return d


def department(**kw) -> Department:
    d = Department(**{"name": f"工程维修部{next(_seq)}", "supervisor_name": "王工", "phone": "0755-26880000", **kw})
    db.session.add(d)
    return d


def asset(**kw):
    from schema.leasing import LeasableAsset

    a = LeasableAsset(**{"kind": "warehouse", "code": f"CK-{next(_seq):03d}", "name": "地下仓库",
                         "location": "3栋负一层", "size": Decimal("20"), "list_price": Decimal("800"),
                         "status": "idle", **kw})
    db.session.add(a)
    return a


def lease(**kw):
    from schema.leasing import Lease

    le = Lease(**{"asset": kw.pop("asset", None) or asset(), "contract_no": f"ZL2026-{next(_seq):04d}",
                  "tenant_name": "刘强", "tenant_phone": mobile(), "start_date": date(2026, 1, 1),
                  "end_date": date(2026, 12, 31), "rent": Decimal("800.00"), "billing_cycle": "month",
                  "deposit": Decimal("1600.00"), "venue_fee": Decimal("0"), "status": "negotiating", **kw})
    db.session.add(le)
    return le


def charge(**kw):
    from schema.ledger import Charge

    c = Charge(**{"kind": "mgmt_fee", "payer_name": "张三", "period": "2026-10", "due_date": date(2026, 10, 31),
                  "amount": Decimal("223.75"), "amount_paid": Decimal("0"), "status": "unpaid", **kw})
    if c.unit is None and c.lease is None and c.unit_id is None and c.lease_id is None:
        c.unit = unit()
    db.session.add(c)
    return c


def payment(**kw):
    from datetime import datetime

    from schema.ledger import Payment

    p = Payment(**{"receipt_no": f"SK20261127-{next(_seq):04d}", "payer_name": "张三", "amount": Decimal("100.00"),
                   "method": "cash", "paid_at": datetime(2026, 11, 27, 10, 0), "status": "valid", **kw})
    if p.unit is None and p.lease is None:
        p.unit = unit()
    db.session.add(p)
    return p


def dunning(**kw):
    from datetime import datetime

    from schema.dunning import Dunning

    d = Dunning(**{"payer_name": "张三", "method": "phone", "at": datetime(2026, 11, 20, 9, 30),
                   "reached_person": "张三", "identity_confirmed": True, "result": "答应月底缴清",
                   "promised_date": date(2026, 11, 30), **kw})
    if d.unit is None and d.lease is None:
        d.unit = unit()
    db.session.add(d)
    return d


def work_order(**kw):
    from datetime import datetime

    from schema.work_orders import WorkOrder

    w = WorkOrder(**{"number": f"WX20261127-{next(_seq):04d}", "source": "repair", "category": "other",
                     "description": "厨房水龙头漏水", "status": "pending", "created_at": datetime(2026, 11, 27, 9, 0),
                     **kw})
    if w.unit is None:
        w.unit = unit()
    db.session.add(w)
    return w


def custody(**kw):
    from schema.custody import Custody

    c = Custody(**{"start_date": date(2026, 9, 1), "water_start": Decimal("120.00"),
                   "electricity_start": Decimal("3400.00"), **kw})
    if c.unit is None:
        c.unit = unit(status="custody")
    db.session.add(c)
    return c


def custody_patrol(**kw):
    from datetime import datetime

    from schema.custody import CustodyPatrol

    p = CustodyPatrol(**{"kind": "weekly", "at": datetime(2026, 11, 20, 10, 0), "patroller": "王工",
                         "water_reading": Decimal("121.00"), "electricity_reading": Decimal("3405.00"), **kw})
    if p.custody is None:
        p.custody = custody()
    db.session.add(p)
    return p


def move_in(**kw):
    from datetime import datetime

    from schema.occupancy import MoveIn

    m = MoveIn(**{"handler_kind": "owner", "handled_at": datetime(2026, 11, 27, 9, 0), **kw})
    if m.unit is None or m.owner is None:
        own = ownership()
        m.unit, m.owner = m.unit or own.unit, m.owner or own.owner
    db.session.add(m)
    return m


def inspection(**kw):
    from datetime import datetime

    from schema.occupancy import Inspection, InspectionItem

    i = Inspection(**{"inspected_at": datetime(2026, 11, 27, 14, 0), "inspector": "王工", **kw})
    if i.unit is None:
        i.unit = unit()
    i.items = [InspectionItem(room="客厅", item="墙面", passed=True), InspectionItem(room="卫生间", item="防水", passed=None)]
    db.session.add(i)
    return i


def complaint(**kw):
    from schema.complaints import Complaint

    c = Complaint(**{"number": f"TS20261127-{next(_seq):04d}", "received_at": datetime(2026, 11, 20, 9, 30),
                     "channel": "phone", "complainant": "李四", "phone": mobile(), "content": "楼道卫生差",
                     "status": "registered", **kw})
    db.session.add(c)
    return c


def call_log(**kw):
    from schema.complaints import CallLog

    c = CallLog(**{"at": datetime(2026, 11, 20, 10, 0), "caller": "王五", "identity": "owner", "phone": mobile(),
                   "content": "厨房水管漏水", "answered": False, "callback": "13800000000", "status": "pending",
                   **kw})
    db.session.add(c)
    return c


def release_slip(**kw):
    from schema.release import ReleaseItem, ReleaseSlip

    items = kw.pop("items", None) or [("旧沙发", 1)]
    s = ReleaseSlip(**{"unit": kw.pop("unit", None) or unit(), "applicant": "张三", "id_number": resident_id(),
                       "relation": "owner", "reason": "搬家", "status": "draft",
                       "created_at": datetime(2026, 11, 20, 11, 0), **kw})
    for description, quantity in items:
        s.items.append(ReleaseItem(description=description, quantity=quantity, measure="件"))
    db.session.add(s)
    return s


def visitor(**kw):
    from schema.visitors import Visitor

    v = Visitor(**{"time_in": datetime(2026, 11, 20, 14, 0), "name": "赵六", "purpose": "拜访业主",
                   "unit": kw.pop("unit", None) or unit(), **kw})
    db.session.add(v)
    return v


def renovation_permit(**kw):
    from schema.renovation import RenovationPermit

    own = kw.pop("ownership", None) or ownership()
    p = RenovationPermit(**{"unit": own.unit, "owner": own.owner, "applicant_kind": "owner", "contractor": "美家装饰",
                            "contractor_phone": "13900000000", "planned_start": date(2026, 12, 1),
                            "planned_end": date(2027, 1, 31), "plan_summary": "厨卫翻新,更换地砖",
                            "status": "applied", "applied_at": datetime(2026, 11, 20, 9, 0), **kw})
    db.session.add(p)
    return p


def worker_pass(**kw):
    from schema.renovation import WorkerPass

    w = WorkerPass(**{"permit": kw.pop("permit", None) or renovation_permit(), "name": "刘工",
                      "id_number": resident_id(), "valid_from": date(2026, 12, 1), "valid_to": date(2026, 12, 31), **kw})
    db.session.add(w)
    return w


def renovation_check(**kw):
    from schema.renovation import RenovationCheck

    c = RenovationCheck(**{"permit": kw.pop("permit", None) or renovation_permit(), "checked_on": date(2026, 12, 5),
                           "inspector": "陈建国", "findings": "施工正常", "violation": False, **kw})
    db.session.add(c)
    return c


def patrol(**kw):
    from schema.supervision import Patrol

    p = Patrol(**{"building": kw.pop("building", None) or building(), "at": datetime(2026, 11, 26, 9, 0),
                  "patroller": "李娜", **kw})
    db.session.add(p)
    return p


def dept_check(**kw):
    from schema.supervision import DeptCheck

    c = DeptCheck(**{"department": kw.pop("department", None) or department(), "item": "hygiene",
                     "checked_at": datetime(2026, 11, 26, 10, 0), "checker": "李娜", "passed": False,
                     "findings": "3栋楼道有垃圾", "slip_kind": "nonconformance", "number": f"BH20261126-{next(_seq):04d}",
                     "deadline": datetime(2026, 11, 28, 18, 0), "status": "open", **kw})
    db.session.add(c)
    return c


def notification(**kw):
    from schema.notifications import Notification

    n = Notification(**{"department": kw.pop("department", None) or department(), "subject": "装修开工通知",
                        "created_at": datetime(2026, 11, 26, 10, 0), **kw})
    db.session.add(n)
    return n


def followup_visit(**kw):
    from schema.visits import FollowupVisit

    v = FollowupVisit(**{"unit": kw.pop("unit", None) or unit(), "planned_date": date(2026, 11, 25), "staff": "李娜",
                         "method": "phone", "purpose": "维修回访", "status": "planned", **kw})
    db.session.add(v)
    return v


def survey(**kw):
    from schema.visits import Survey

    s = Survey(**{"year": 2026, "unit": kw.pop("unit", None) or unit(), "distributed_on": date(2026, 10, 8), **kw})
    db.session.add(s)
    return s


def bulletin_post(**kw):
    from schema.community import BulletinPost

    p = BulletinPost(**{"title": "冬季防火安全提示", "category": "notice", "board": "1栋大堂宣传栏",
                        "posted_on": date(2026, 11, 20), **kw})
    db.session.add(p)
    return p


def community_event(**kw):
    from schema.community import CommunityEvent

    e = CommunityEvent(**{"theme": "重阳敬老茶话会", "items": "茶话会、文艺表演", "place": "会所多功能厅",
                          "start_at": datetime(2026, 12, 12, 14, 0), "end_at": datetime(2026, 12, 12, 17, 0),
                          "budget": Decimal("3000.00"), "planned_headcount": 80, "status": "planning", **kw})
    db.session.add(e)
    return e


def service_item(**kw):
    from schema.services import ServiceItem

    i = ServiceItem(**{"name": f"家电清洗{next(_seq)}", "price": Decimal("80.00"), "price_unit": "台",
                       "published": True, **kw})
    db.session.add(i)
    return i


def service_order(**kw):
    from schema.services import ServiceOrder

    o = ServiceOrder(**{"number": f"FW20261127-{next(_seq):04d}", "item": kw.pop("item", None) or service_item(),
                        "unit": kw.pop("unit", None) or unit(), "contact": "张三", "phone": mobile(), "area": "厨房",
                        "agreed_time": datetime(2026, 11, 29, 10, 0), "fee": Decimal("80.00"),
                        "expected_result": "油烟机清洗干净", "agreement": "oral", "status": "booked",
                        "booked_at": datetime(2026, 11, 27, 9, 0), **kw})
    db.session.add(o)
    return o


def saved_view(**kw):
    from schema.org import AppUser
    from schema.saved_views import SavedView

    user = kw.pop("user", None) or db.session.execute(db.select(AppUser).limit(1)).scalar_one()
    v = SavedView(**{"name": f"本月未回访{next(_seq)}", "endpoint": "work_order", "target_label": "维修工单",
                     "query": "flt0_status_equals=done", "user_id": user.id, "created_at": datetime(2026, 11, 27, 9, 0),
                     **kw})
    db.session.add(v)
    return v


def one_of_each() -> dict:
    """One committed record per registered table (app_user and audit_log exist already), all in one
    estate (tests/test_scoping.py builds two such worlds)."""
    from schema.ledger import PaymentAllocation
    from schema.org import AppUser, AuditLog

    own = ownership()
    ch = charge(unit=own.unit, owner=own.owner)
    pay = payment(unit=own.unit, owner=own.owner)
    le = lease(asset=asset(estate=own.unit.building.estate))
    alloc = PaymentAllocation(payment=pay, charge=ch, amount=Decimal("100.00"))
    db.session.add(alloc)
    records = {"estate": own.unit.building.estate, "building": own.unit.building, "unit": own.unit,
               "owner": own.owner, "ownership": own, "resident": resident(unit=own.unit),
               "document": document(owner=own.owner, unit=own.unit), "department": department(),
               "leasable_asset": le.asset, "lease": le, "charge": ch, "payment": pay,
               "payment_allocation": alloc, "dunning": dunning(unit=own.unit),
               "work_order": work_order(unit=own.unit),
               "custody_patrol": custody_patrol(custody=custody(unit=own.unit))}
    records["custody"] = records["custody_patrol"].custody
    records["move_in"] = move_in(unit=own.unit, owner=own.owner)
    records["inspection"] = inspection(unit=own.unit)
    records["inspection_item"] = records["inspection"].items[0]
    records["call_log"] = call_log(unit=own.unit)
    records["complaint"] = complaint(unit=own.unit, call_log=records["call_log"])
    records["release_slip"] = release_slip(unit=own.unit)
    records["release_item"] = records["release_slip"].items[0]
    records["visitor"] = visitor(unit=own.unit)
    records["renovation_permit"] = renovation_permit(ownership=own)
    records["worker_pass"] = worker_pass(permit=records["renovation_permit"])
    records["renovation_check"] = renovation_check(permit=records["renovation_permit"])
    records["patrol"] = patrol(building=own.unit.building)
    records["dept_check"] = dept_check(department=records["department"], patrol=records["patrol"])
    records["notification"] = notification(department=records["department"])
    records["followup_visit"] = followup_visit(unit=own.unit, owner=own.owner, work_order=records["work_order"])
    records["survey"] = survey(unit=own.unit)
    records["bulletin_post"] = bulletin_post()
    records["community_event"] = community_event()
    records["service_item"] = service_item(department=records["department"])
    records["service_order"] = service_order(item=records["service_item"], unit=own.unit, owner=own.owner)
    records["saved_view"] = saved_view(shared_role=None)
    db.session.commit()
    records["app_user"] = db.session.execute(db.select(AppUser).limit(1)).scalar_one()
    records["audit_log"] = db.session.execute(db.select(AuditLog).limit(1)).scalar_one()
    return {k: v.id for k, v in records.items()}
