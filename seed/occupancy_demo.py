"""Demo move-ins, acceptance inspections, repair work orders and house custody for `flask seed-demo`.

Like the ledger (seed/ledger_demo.py), every date is relative to `today` (the office's today by default), so
whenever the demo is loaded the panel shows move-ins still missing a document, a re-inspection coming up,
work orders in every status with follow-ups both overdue and still due, and custody alerts. Everything goes
through the panel's own rules (app.movein, app.inspection, app.workorders, app.custody), so statuses,
numbers, follow-up deadlines and the audit trail are what the panel itself would write.

The rule functions stamp the acting user into both the record (dispatched_by, the receipt's clerk, ...) and
the audit row. The demo's audit trail is written by "seed" alone, so the steps run without a user and the
staff usernames are filled in afterwards (one "补录经办人" audit row per record).

Randomness comes from the `rng` passed in: the same seed on the same day gives the same data.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import clock, storage
from app.audit import audit_context
from app.custody import (
    ELECTRICITY_LIMIT, PATROL_OVERDUE, WATER_LIMIT, alerting_custody_ids, custody_alert_map,
)
from app.extensions import db
from app.inspection import generate_work_orders, owner_sign, record_item, schedule_reinspection, start_inspection
from app.ledger import mgmt_fee_amount, money
from app.movein import REQUIRED_DOCUMENTS, collect_move_in_fee, complete_move_in, missing_documents
from app.validators import check_phone
from app.workorders import FOLLOWUP_DAYS, accept, close, complete, dispatch, is_overdue, open_work_order, \
    record_followup, start
from schema.custody import Custody, CustodyPatrol, PatrolKind
from schema.documents import Document, DocType
from schema.ledger import Charge, Payment, PaymentAllocation, PayMethod
from schema.occupancy import Inspection, InspectionItem, MoveIn, MoveInStatus
from schema.org import AppUser, Department
from schema.people import IdType, Owner, OwnerKind, Ownership, Relation, Resident
from schema.property import Unit, UnitStatus, UnitUsage
from schema.work_orders import WorkOrder, WorkOrderCategory, WorkOrderSource, WorkOrderStatus

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MAINTENANCE = "工程维修部"

# ---------------------------------------------------------------- move-ins

MOVE_IN_COMPANIES = (  # name, registration region: not among seed.demo's company owners
    ("深圳市嘉禾口腔医疗管理有限公司", "440305"), ("深圳市启航财税咨询有限公司", "440304"),
    ("深圳市悦享茶饮连锁有限公司", "440303"),
)
COMPANY_ADDRESSES = {"440303": "深圳市罗湖区深南东路5002号", "440304": "深圳市福田区福华三路88号",
                     "440305": "深圳市南山区科技园科苑路15号"}
OTHER_ADDRESSES = ("深圳市福田区福华三路88号", "深圳市宝安区新安街道建安一路23号", "上海市浦东新区张杨路500号",
                   "北京市朝阳区建国路93号", "长沙市芙蓉区五一大道389号")
STREET_ADDRESS = "深圳市南山区龙珠大道168号锦绣花园"

# ---------------------------------------------------------------- inspections

INSPECTORS = ("周涛", "邓师傅", "梁志明")  # 维修部陪同人员
FAILURES_REPAIRED = (  # the inspection whose repairs are done: re-inspection scheduled
    ("卫生间", "防水", "地面闭水试验渗水至楼下天花"),
    ("主卧", "墙面", "墙面开裂约30厘米,需修补"),
    ("客厅", "门窗", "阳台推拉门滑轨变形,关闭不严"),
)
FAILURES_OPEN = (  # the inspection still 整改中
    ("厨房", "给排水", "水槽下水管接口渗水"),
    ("次卧", "地面", "地砖空鼓三块,需返工"),
)

# ---------------------------------------------------------------- work orders

# (source, category, department, needs a unit, description). "{b}" is a building, "{f}" a floor.
ISSUES = (
    ("patrol", "safety", MAINTENANCE, False, "{b}{f}楼楼道灯不亮,夜间出行不便"),
    ("call", "safety", MAINTENANCE, False, "{b}{f}楼楼道灯闪烁,时亮时灭"),
    ("repair", "safety", "秩序维护部", False, "{b}单元门禁故障,刷卡无法开门"),
    ("complaint", "safety", "秩序维护部", False, "{b}单元门禁门锁吸力不足,门关不上,存在安全隐患"),
    ("patrol", "safety", MAINTENANCE, False, "{b}{f}楼消防栓漏水,地面积水"),
    ("patrol", "safety", MAINTENANCE, False, "{b}{f}楼消防栓箱玻璃破损"),
    ("patrol", "safety", MAINTENANCE, False, "{b}{f}楼安全出口指示灯不亮"),
    ("call", "safety", MAINTENANCE, False, "{b}电梯紧急呼叫按钮无响应"),
    ("patrol", "safety", MAINTENANCE, False, "地下车库B1层烟感报警器误报"),
    ("repair", "safety", MAINTENANCE, True, "阳台护栏松动,家中有小孩,请尽快处理"),
    ("repair", "safety", MAINTENANCE, True, "主卧窗户限位器脱落,窗扇无法固定"),
    ("call", "safety", "秩序维护部", False, "南门车辆道闸杆抬起后不落"),
    ("patrol", "safety", MAINTENANCE, False, "{b}首层雨水井盖破损,行人易踩空"),
    ("repair", "leak", MAINTENANCE, True, "卫生间渗水至楼下天花,楼下住户反映"),
    ("complaint", "leak", MAINTENANCE, True, "楼上卫生间渗水,本户卫生间天花板滴水"),
    ("repair", "leak", MAINTENANCE, True, "厨房水槽下水管漏水,柜内积水"),
    ("repair", "leak", MAINTENANCE, True, "阳台地漏反水,下雨时阳台积水"),
    ("call", "leak", MAINTENANCE, True, "外墙渗水,主卧墙面发霉起皮"),
    ("repair", "leak", MAINTENANCE, True, "次卧窗台渗水,窗框密封胶老化"),
    ("complaint", "leak", MAINTENANCE, True, "顶层天花渗水,雨后次卧天花有水渍"),
    ("call", "leak", MAINTENANCE, True, "空调冷凝水管漏水,渗入外墙"),
    ("patrol", "leak", MAINTENANCE, False, "地下车库{b}附近顶板渗水,滴落在车位上"),
    ("repair", "leak", MAINTENANCE, True, "热水器进水管接头漏水"),
    ("repair", "other", MAINTENANCE, True, "厨房下水道堵塞,排水缓慢"),
    ("repair", "other", MAINTENANCE, True, "入户门锁芯卡滞,钥匙难以转动"),
    ("call", "other", MAINTENANCE, True, "卫生间坐便器水箱不止水"),
    ("repair", "other", MAINTENANCE, True, "客厅插座无电,空气开关正常"),
    ("repair", "other", MAINTENANCE, True, "主卧门合页松动,关门有异响"),
    ("call", "other", MAINTENANCE, False, "{b}电梯按键失灵,按{f}楼无反应"),
    ("patrol", "other", MAINTENANCE, False, "{b}{f}楼楼道墙面瓷砖脱落"),
    ("complaint", "other", "保洁部", False, "{b}垃圾房清运不及时,异味较大"),
    ("complaint", "other", "绿化部", False, "{b}旁绿化带树枝折断,压坏围栏"),
    ("call", "other", MAINTENANCE, True, "卫生间排气扇不转"),
    ("patrol", "other", MAINTENANCE, False, "中心广场东侧路灯不亮"),
    ("repair", "other", MAINTENANCE, True, "推拉窗滑轮损坏,推拉不顺"),
    ("complaint", "other", "秩序维护部", False, "{b}{f}楼住户装修超时施工,噪音扰民"),
)
# How many standalone orders end in each status (the 5 from inspections come on top: 60 in all).
STATUS_PLAN = (
    ("pending", 4), ("dispatched", 4), ("accepted", 3), ("in_progress", 4), ("done_overdue", 5),
    ("done_due", 5), ("visited", 21), ("visited_late", 4), ("sent_back", 1), ("closed", 4),
)
CLOSE_REASONS = {  # for a unit's order, for a public area's
    True: ("业主已自行修复,来电撤销报修", "经核实属业主装修自行改动部位,不属物业维修范围,已告知业主",
           "多次上门无人,电话联系住户表示暂不需要维修"),
    False: ("重复报修,已在前一张工单中处理", "现场核实设施正常,报修人确认为误报",
            "属市政设施,已转告街道办处理"),
}
PROBLEMS = {  # what a follow-up finds when a repair did not hold
    "leak": "试用后仍有滴水,需再次维修",
    "safety": "回访时住户反映故障再次出现,需重新检修",
    "other": "住户反映使用几天后问题复现,需再次上门维修",
}
FOLLOWUP_RESULTS = {
    "safety": ("电话回访,住户确认已恢复正常,满意", "现场查看已修复,使用正常", "回访确认设施已恢复,无安全隐患"),
    "leak": ("上门查看,试漏后无再渗水,业主满意", "电话回访,业主确认楼下天花已无水渍", "上门回访,维修部位干燥无渗水"),
    "other": ("电话回访,业主表示已修好,使用正常,满意", "电话回访,住户对维修速度表示满意", "上门回访,维修效果良好"),
}

# ---------------------------------------------------------------- custody

PATROLLERS = ("孙立军", "何志伟", "马晓东")
WEEKLY_FINDINGS = (
    ("门口广告传单堆积", "已清理"),
    ("走廊窗户未关,雨水打湿地面", "已关窗并清理积水"),
    ("入户门把手积灰,外观正常", None),
    ("门口鞋柜被邻居占用堆放杂物", "已与邻居沟通清理"),
)
BEFORE_RAIN = (
    ("检查外窗关闭情况,外窗关闭良好", None, False),
    ("主卧外窗未关闭", "已电话通知业主,经业主同意由管理处开门关窗", True),
    ("阳台排水口有落叶堵塞", "已清理排水口", False),
)
AFTER_RAIN = (
    ("外墙及窗台无渗水痕迹", None, False),
    ("阳台地漏积水,已排净,无渗入室内", None, False),
    ("外窗窗台有少量渗水痕迹", "已拍照告知业主,建议报修检查窗框密封胶", True),
)


@dataclass
class Plan:
    """One standalone work order: what it is and the step times that take it to its final status."""
    final: str
    source: str
    category: str
    department: Department | None
    description: str
    unit: Unit | None
    reporter: str | None
    reporter_phone: str | None
    times: dict[str, datetime] = field(default_factory=dict)
    created_by: str = "frontdesk"


def load_occupancy(rng: random.Random | None = None, today: date | None = None) -> dict[str, int]:
    """Add move-ins, inspections, work orders and custody to a database holding the rest of the demo;
    commit; return row counts of the tables it writes (with the owners, documents and receipts it adds).

    `today` other than the office's today stands for 18:00 that day; the re-inspection must still lie
    ahead of the real clock (app.inspection refuses a past time), so keep it within a day or two."""
    rng = rng or random.Random(2026)
    session = db.session
    try:
        with audit_context(session, username="seed"):
            _Occupancy(rng, today).run()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (MoveIn, Inspection, InspectionItem, WorkOrder, Custody, CustodyPatrol,
                      Owner, Ownership, Resident, Document, Charge, Payment, PaymentAllocation)}


class _Occupancy:
    def __init__(self, rng: random.Random, today: date | None):
        from seed.demo import _Generator

        self.rng = rng
        self.now = clock.now() if today is None or today == clock.today() else datetime.combine(today, time(18))
        self.today = self.now.date()
        self.session = db.session
        self.gen = _Generator(rng)
        self.fixups: list[tuple[object, str, object]] = []  # (record, attribute, staff) set after the steps

    # ------------------------------------------------------------ helpers

    def at(self, days_ago: int, start_hour: int = 9, end_hour: int = 17) -> datetime:
        """A time of day `days_ago` days before today, within office hours."""
        return datetime.combine(self.today - timedelta(days=days_ago),
                                time(self.rng.randint(start_hour, end_hour - 1), self.rng.randint(0, 59)))

    def after(self, t: datetime, lo_minutes: int, hi_minutes: int) -> datetime:
        """`t` plus lo..hi minutes, moved into office hours (08:00–19:00) when it falls outside them."""
        t = t + timedelta(minutes=self.rng.randint(lo_minutes, hi_minutes))
        if t.hour >= 19:
            t = datetime.combine(t.date() + DAY, time(8, self.rng.randint(0, 59)))
        elif t.hour < 8:
            t = datetime.combine(t.date(), time(8, self.rng.randint(0, 59)))
        return t

    def later(self, record, attr: str, staff: str) -> None:
        self.fixups.append((record, attr, staff))

    def document(self, kind: str, title: str, owner: Owner | None, unit: Unit, received: date, stem: str,
                 lines: list[str] | None = None) -> Document:
        """A Document with a real stored file: a PNG scan for ID copies, otherwise a one-page PDF."""
        from seed.demo import make_pdf, make_png

        rng = self.rng
        if kind in (DocType.id_copy, DocType.proxy_id_copy):
            data = make_png(title, (rng.randint(170, 250), rng.randint(170, 250), rng.randint(170, 250)))
            filename = f"{stem}.png"
        else:
            data = make_pdf(title, [f"Estate: Jinxiu Garden   Unit: {unit.building.name[:-1]}-{unit.room_no}",
                                    f"Document type: {kind}", *(lines or []),
                                    f"Received: {received.isoformat()}"], received)
            filename = f"{stem}.pdf"
        meta = storage.store(io.BytesIO(data), filename)
        doc = Document(doc_type=str(kind), title=title, owner=owner, unit=unit, received_on=received,
                       clerk=self.frontdesk, filename=meta["filename"], content_type=meta["content_type"],
                       size=meta["size"], sha256=meta["sha256"])
        self.session.add(doc)
        return doc

    # ------------------------------------------------------------ the run

    def run(self) -> None:
        s = self.session
        self.users = {u.username: u for u in s.scalars(select(AppUser))}
        self.frontdesk = self.users.get("frontdesk")
        self.maintenance_user = self.users.get("maintenance")
        self.departments = {d.name: d for d in s.scalars(select(Department))}
        self.maintenance = self.departments[MAINTENANCE]
        self.gen.phones |= {p for p in [*s.scalars(select(Owner.phone)), *s.scalars(select(Resident.phone))] if p}
        self.gen.ids |= {i for i in [*s.scalars(select(Owner.id_number)), *s.scalars(select(Resident.id_number))]
                         if i}
        self.gen.names |= set(s.scalars(select(Owner.name)))

        self.move_ins()
        self.inspections()
        self.work_orders()
        self.reinspection()
        self.custody()
        with audit_context(s, action="补录经办人"):
            for record, attr, staff in self.fixups:
                setattr(record, attr, self.users[staff] if attr == "clerk" else staff)
            s.flush()
        self.verify()

    # ------------------------------------------------------------ move-ins

    def new_owner(self, unit: Unit, label: str, *, company: bool, lives_here: bool, born=(1975, 1998)):
        gen, rng = self.gen, self.rng
        if company:
            existing = set(self.session.scalars(select(Owner.name)))
            name, region = next(c for c in MOVE_IN_COMPANIES if c[0] not in existing)
            contact = gen.person(1970, 1995)
            owner = Owner(kind=OwnerKind.company, name=name, id_type=IdType.credit_code,
                          id_number=gen.credit_code(region), contact_person=contact.name, phone=gen.landline(),
                          address=COMPANY_ADDRESSES[region], note="单位业主")
            person = contact
        else:
            person = gen.person(*born)
            owner = Owner(kind=OwnerKind.person, name=person.name, id_type=IdType.resident_id,
                          id_number=person.id_number, phone=person.phone,
                          address=STREET_ADDRESS + label if lives_here else rng.choice(OTHER_ADDRESSES))
        errors = Owner.check({c: getattr(owner, c) for c in ("kind", "name", "id_type", "id_number",
                                                            "contact_person")})
        if errors or check_phone(owner.phone):
            raise ValueError(f"演示业主无效 {owner.name}: {errors}")
        self.session.add(owner)
        return owner, person

    def move_ins(self) -> None:
        rng, s = self.rng, self.session
        vacant = s.scalars(select(Unit).where(Unit.status == UnitStatus.vacant).order_by(Unit.id)).all()
        shops = [u for u in vacant if u.usage == UnitUsage.shop]
        homes = [u for u in vacant if u.usage != UnitUsage.shop]
        company_unit = shops[0] if shops else homes.pop()
        chosen = rng.sample(homes, 11)
        # (handler kind, completed?, days ago, what is missing for the open ones)
        days = [rng.randint(18, 35), *rng.sample(range(3, 85), 7)]  # one in time for repairs and a re-inspection
        plans = [("owner", True, d, None) for d in days]
        plans += [("proxy", True, rng.randint(10, 60), None), ("company", True, rng.randint(20, 70), None),
                  ("owner", False, rng.randint(1, 3), DocType.purchase_contract),
                  ("proxy", False, rng.randint(1, 5), DocType.power_of_attorney)]
        units = chosen[:9] + [company_unit] + chosen[9:]
        self.completed: list[MoveIn] = []
        self.people: dict[MoveIn, tuple] = {}  # move-in -> (owner or company contact, proxy)
        self.open_move_ins: list[MoveIn] = []
        for unit, (kind, done, days_ago, missing) in zip(units, plans):
            self.move_in(unit, kind, done, days_ago, missing)
        s.flush()

    def move_in(self, unit: Unit, kind: str, done: bool, days_ago: int, missing) -> MoveIn:
        rng, gen, s = self.rng, self.gen, self.session
        label = f"{unit.building.name}{unit.room_no}"
        handled = self.at(days_ago, 9, 16)
        company = kind == "company"
        owner, person = self.new_owner(unit, label, company=company, lives_here=kind == "owner",
                                       born=(1983, 1996) if kind == "proxy" else (1968, 1998))
        bought = handled.date() - timedelta(days=rng.randint(90, 540))
        s.add(Ownership(owner=owner, unit=unit, share=Decimal("100.00"), since=bought, is_primary=True))

        proxy = None
        if kind == "proxy":  # the owner works away; a parent comes with a power of attorney
            proxy = gen.person(1952, 1966, gender="M", surname=owner.name[0])
        elif company:
            proxy = person  # the company's contact handles it
        received = handled.date()
        docs = []
        for doc_type in REQUIRED_DOCUMENTS[kind]:
            if doc_type == missing:
                continue
            if doc_type == "id_copy":
                title = f"{owner.name} 法定代表人身份证复印件" if company else f"{owner.name} 身份证复印件"
                stem = f"{owner.name}-身份证复印件"
            elif doc_type == "proxy_id_copy":
                what = "经办人身份证明" if company else "受托人身份证复印件"
                title, stem = f"{proxy.name} {what}", f"{proxy.name}-{what}"
            elif doc_type == "company_proof":
                title, stem = f"{owner.name} 单位证明", f"{owner.name}-单位证明"
            else:
                title = f"{label} {DocType.label_of(doc_type)}"
                stem = f"{label}-{DocType.label_of(doc_type)}"
            docs.append(self.document(doc_type, title, owner, unit, received, stem,
                                      [f"Owner ID: {owner.id_number}"]))
        s.flush()

        data = dict(unit=unit, owner=owner, handler_kind=kind, handled_at=handled, clerk=self.frontdesk,
                    proxy_name=proxy.name if kind == "proxy" else None,
                    proxy_id_number=proxy.id_number if kind == "proxy" else None)
        if errors := MoveIn.check(data):
            raise ValueError(f"演示入住无效 {label}: {errors}")
        move_in = MoveIn(**data, status=MoveInStatus.open.value)
        move_in.registration_form_signed = True
        move_in.water_reading = Decimal(rng.randint(0, 1200)) / 100
        move_in.electricity_reading = Decimal(rng.randint(500, 9000)) / 100
        move_in.gas_reading = Decimal(rng.randint(0, 300)) / 100
        for d in docs:
            d.ref_table = "move_in"
        s.add(move_in)
        s.flush()
        for d in docs:
            d.ref_id = move_in.id
        self.people[move_in] = (person, proxy)
        if not done:
            move_in.note = {
                DocType.purchase_contract: "业主称房屋买卖契约原件在银行办理按揭,约定下周补交复印件",
                DocType.power_of_attorney: "受托人未带委托书原件,已告知补交后再办理",
            }[missing]
            self.open_move_ins.append(move_in)
            return move_in

        move_in.agreements_signed = True
        move_in.keys_count = rng.randint(2, 4)
        move_in.handbook_given = True
        move_in.drawings_given = True
        move_in.readings_confirmed = True
        months = 12 if company else rng.choice((3, 3, 6, 12))
        amount = mgmt_fee_amount(unit.area, unit.fee_rate) * months
        method = PayMethod.bank if company else rng.choice((PayMethod.wechat, PayMethod.wechat, PayMethod.alipay,
                                                            PayMethod.cash))
        paid_at = handled + timedelta(minutes=rng.randint(10, 25))
        payment = collect_move_in_fee(move_in, money(amount), method, months=months, at=paid_at)
        self.later(payment, "clerk", "frontdesk")
        self.completed.append(move_in)
        return move_in

    def finish_move_in(self, move_in: MoveIn, at: datetime) -> None:
        complete_move_in(move_in, at=at)
        unit = move_in.unit
        day = at.date()
        person, proxy = self.people[move_in]
        kind = str(move_in.handler_kind)
        if kind == "company":
            shop = unit.usage == UnitUsage.shop
            residents = [(person, Relation.other if shop else Relation.tenant, "商铺经营负责人" if shop else "单位员工宿舍")]
        elif kind == "proxy":
            residents = [(proxy, Relation.family, "父亲(受托办理入住)")]
        else:
            residents = [(person, Relation.owner, None)]
        for person, relation, note in residents:
            data = dict(unit=unit, name=person.name, relation=relation, phone=person.phone,
                        id_number=person.id_number, move_in_date=day, note=note)
            if Resident.check(data) or check_phone(person.phone):
                raise ValueError(f"演示住户无效 {person.name}")
            self.session.add(Resident(**data))
        if move_in.note is None and kind == "proxy":
            move_in.note = "业主在外地工作,由其父亲持委托书代为办理"

    # ------------------------------------------------------------ inspections

    def inspections(self) -> None:
        """Acceptance at move-in: six passed and signed, one repaired (re-inspection below), one 整改中."""
        rng = self.rng
        completed = sorted(self.completed, key=lambda m: m.handled_at)
        # the repaired one needs time for its repairs; the open one is recent
        self.repaired_move_in = next(m for m in completed if 16 <= (self.today - m.handled_at.date()).days <= 40)
        rest = [m for m in completed if m is not self.repaired_move_in]
        self.rectifying_move_in = rest[-1]
        signed = [m for m in rest[:-1]][-6:]
        self.to_generate: list[tuple[Inspection, datetime]] = []
        for move_in in completed:
            if move_in is self.repaired_move_in:
                failures = FAILURES_REPAIRED
            elif move_in is self.rectifying_move_in:
                failures = FAILURES_OPEN
            elif move_in in signed:
                failures = ()
            else:  # inspected another day, not recorded here
                self.finish_move_in(move_in, self.after(move_in.handled_at, 40, 90))
                continue
            begin = self.after(move_in.handled_at, 30, 50)
            insp = start_inspection(move_in.unit, owner=move_in.owner, inspector=rng.choice(INSPECTORS), at=begin)
            insp.water_reading = move_in.water_reading
            insp.electricity_reading = move_in.electricity_reading
            insp.gas_reading = move_in.gas_reading
            failed = {(room, item): text for room, item, text in failures}
            for item in sorted(insp.items, key=lambda i: i.id):
                text = failed.get((item.room, item.item))
                record_item(item, text is None, text)
            checked = self.after(begin, 60, 100)
            if failures:
                insp.note = "质量问题已记录,据此填写维修工作单"
                self.to_generate.append((insp, checked))
            else:
                owner_sign(insp, at=checked)
            self.finish_move_in(move_in, self.after(checked, 10, 30))
        self.session.flush()

    # ------------------------------------------------------------ work orders

    def work_orders(self) -> None:
        rng, s = self.rng, self.session
        homes = s.scalars(select(Unit).where(Unit.status == UnitStatus.occupied)
                          .order_by(Unit.id)).all()
        residents: dict[int, list[Resident]] = {}
        settled = self.today - timedelta(days=100)  # living there before any of the orders
        for r in s.scalars(select(Resident).where(Resident.move_out_date.is_(None), Resident.move_in_date <= settled)
                           .order_by(Resident.id)):
            residents.setdefault(r.unit_id, []).append(r)
        moved_in = {m.unit_id for m in self.completed}
        homes = [u for u in homes if u.id in residents and u.id not in moved_in]
        buildings = sorted({u.building.name for u in homes})

        finals = [name for name, n in STATUS_PLAN for _ in range(n)]
        issues = list(ISSUES)
        rng.shuffle(issues)
        picks = (issues * 2)[:len(finals)]
        rng.shuffle(finals)
        plans: list[Plan] = []
        for final, (source, category, dept, needs_unit, text) in zip(finals, picks):
            unit = rng.choice(homes) if needs_unit else None
            if "{b}" in text and unit is None:
                b = rng.choice(buildings)
                text = text.format(b=b, f=rng.randint(2, 12))
            if source == "patrol":
                staff = self.departments[dept] if dept != MAINTENANCE else None
                reporter = staff.supervisor_name if staff else self.maintenance_user.display_name
                phone = staff.phone if staff else self.maintenance_user.phone
                created_by = "maintenance" if dept == MAINTENANCE else "supervisor"
            else:
                who = rng.choice(residents[unit.id] if unit else residents[rng.choice(homes).id])
                reporter, phone, created_by = who.name, who.phone, "frontdesk"
            department = self.departments[dept]
            if final == "pending" and rng.random() < 0.5:
                department = None  # not yet assigned
            plan = Plan(final, source, category, department, text, unit, reporter, phone, created_by=created_by)
            self.schedule(plan)
            plans.append(plan)

        # open every order in time order (numbers follow the clock), the inspections' orders among them
        opens = [(p.times["created"], i, p) for i, p in enumerate(plans)]
        for j, (insp, t) in enumerate(self.to_generate):
            opens.append((t, len(plans) + j, insp))
        orders: list[tuple[WorkOrder, Plan]] = []
        self.inspection_orders: dict[int, list[WorkOrder]] = {}
        for t, _, what in sorted(opens, key=lambda o: (o[0], o[1])):
            if isinstance(what, Plan):
                p = what
                order = open_work_order(source=p.source, description=p.description, unit=p.unit,
                                        reporter=p.reporter, reporter_phone=p.reporter_phone, category=p.category,
                                        department=p.department, at=t)
                self.later(order, "created_by", p.created_by)
                orders.append((order, p))
            else:
                generated = generate_work_orders(what, department=self.maintenance, at=t)
                for order in generated:
                    self.later(order, "created_by", "frontdesk")
                self.inspection_orders[what.id] = generated

        for order, p in orders:
            self.steps(order, p)
        self.inspection_steps()
        s.flush()

    def schedule(self, p: Plan) -> None:
        """Step times for the plan's final status, every one in the past and meeting its deadline rule."""
        rng, now = self.rng, self.now
        recent = {"pending": (0, 1), "dispatched": (0, 3), "accepted": (0, 3), "in_progress": (0, 4),
                  "done_due": (0, 3), "done_overdue": (4, 25), "visited": (3, 88), "visited_late": (6, 80),
                  "sent_back": (5, 20), "closed": (2, 85)}[p.final]
        steps = {"pending": 0, "dispatched": 1, "accepted": 2, "in_progress": 3, "closed": rng.randint(0, 2)}
        leak = p.category == "leak"
        for _ in range(200):
            t: dict[str, datetime] = {}
            t["created"] = self.at(rng.randint(*recent), 8, 20)
            n = steps.get(p.final, 4)
            if n >= 1:
                t["dispatched"] = self.after(t["created"], 10, 120)
            if n >= 2:
                t["accepted"] = self.after(t["dispatched"], 10, 90)
            if n >= 3:
                t["started"] = self.after(t["accepted"], 15, 240)
            if n >= 4:
                if leak:  # repair, then a closed-water test a day or two later
                    t["leak_test"] = self.after(t["started"], 24 * 60, 48 * 60)
                    t["completed"] = self.after(t["leak_test"], 20, 120)
                    due = t["leak_test"] + timedelta(days=FOLLOWUP_DAYS["leak"])
                else:
                    t["completed"] = self.after(t["started"], 40, 360)
                    due = t["completed"] + timedelta(days=FOLLOWUP_DAYS[p.category])
                if p.final in ("visited", "sent_back"):
                    room = int((min(due, now) - t["completed"]).total_seconds() // 60)
                    if room < 90:
                        continue
                    t["followup"] = self.after(t["completed"], 60, room - 10)
                    if t["followup"] > due:
                        continue
                elif p.final == "visited_late":
                    t["followup"] = self.after(due, 120, 3 * 24 * 60)
                elif p.final == "done_overdue" and due >= now - HOUR:
                    continue
                elif p.final == "done_due" and due <= now + HOUR:
                    continue
            if p.final == "closed":
                t["closed"] = self.after(max(t.values()), 30, 24 * 60)
            if max(t.values()) < now - 5 * MINUTE:
                p.times = t
                return
        raise RuntimeError(f"演示工单时间无法安排: {p.final} {p.description}")

    def steps(self, order: WorkOrder, p: Plan) -> None:
        t, final = p.times, p.final
        if "dispatched" in t:
            dispatch(order, None, department=p.department or self.maintenance, at=t["dispatched"])
            self.later(order, "dispatched_by", "frontdesk")
        if "accepted" in t:
            accept(order, None, at=t["accepted"])
            self.later(order, "accepted_by", "maintenance")
        if final == "closed":
            close(order, None, self.rng.choice(CLOSE_REASONS[p.unit is not None]), at=t["closed"])
            return
        if "started" in t:
            start(order, None, at=t["started"])
        if "completed" in t:
            complete(order, None, at=t["completed"], leak_test_at=t.get("leak_test"))
            self.later(order, "completed_by", "maintenance")
        if "followup" in t:
            self.followup(order, t["followup"], sent_back=final == "sent_back")

    def followup(self, order: WorkOrder, at: datetime, sent_back: bool = False) -> None:
        rng = self.rng
        category = str(order.category)
        method = "visit" if category == "leak" or rng.random() < 0.25 else "phone"
        if sent_back:
            record_followup(order, None, method="visit", satisfied=False, result="上门回访,维修部位仍有问题",
                            problems=PROBLEMS[category], at=at)
            self.later(order, "dispatched_by", "frontdesk")
        elif rng.random() < 0.08:
            record_followup(order, None, method=method, satisfied=False,
                            result="问题已解决,但住户对上门时间安排不满意,已致歉并记录", at=at)
        else:
            record_followup(order, None, method=method, satisfied=True,
                            result=rng.choice(FOLLOWUP_RESULTS[category]), at=at)
        self.later(order, "followup_by", "frontdesk")

    def inspection_steps(self) -> None:
        """The repaired inspection's orders are done and followed up; the other's are under way."""
        repaired = self.inspection_orders[self.inspection_of(self.repaired_move_in).id]
        for order in repaired:
            t = order.created_at
            d = self.after(t, 30, 120)
            a = self.after(d, 20, 120)
            st = self.after(a + DAY * self.rng.randint(1, 3), 0, 180)
            dispatch(order, None, at=d)
            accept(order, None, at=a)
            start(order, None, at=st)
            leak = None
            if str(order.category) == "leak":
                leak = self.after(st, 24 * 60, 48 * 60)
                done = self.after(leak, 30, 90)
            else:
                done = self.after(st, 60, 300)
            complete(order, None, at=done, leak_test_at=leak)
            for attr, who in (("dispatched_by", "frontdesk"), ("accepted_by", "maintenance"),
                              ("completed_by", "maintenance")):
                self.later(order, attr, who)
            self.followup(order, self.after(done, 90, 20 * 60))
        for order, final in zip(self.inspection_orders[self.inspection_of(self.rectifying_move_in).id],
                                ("in_progress", "accepted")):
            d = self.after(order.created_at, 30, 120)
            a = self.after(d, 20, 120)
            dispatch(order, None, at=d)
            accept(order, None, at=a)
            self.later(order, "dispatched_by", "frontdesk")
            self.later(order, "accepted_by", "maintenance")
            if final == "in_progress":
                start(order, None, at=self.after(a, 30, 180))

    def inspection_of(self, move_in: MoveIn) -> Inspection:
        return next(i for i, _ in self.to_generate if i.unit_id == move_in.unit_id)

    def reinspection(self) -> None:
        """再次验收 in a few days, agreed with the owner, 工程维修部 notified to come along."""
        first = self.inspection_of(self.repaired_move_in)
        day = self.today + timedelta(days=self.rng.randint(2, 5))
        agreed = datetime.combine(day, time(self.rng.choice((10, 15)), 0))
        again = schedule_reinspection(first, agreed, self.maintenance)
        again.inspector = self.rng.choice(INSPECTORS)
        again.note = "客户服务中心已电话联系业主确认复验时间"
        self.session.flush()

    # ------------------------------------------------------------ custody

    def custody(self) -> None:
        rng, s = self.rng, self.session
        units = s.scalars(select(Unit).where(Unit.status == UnitStatus.custody).order_by(Unit.id)).all()
        if len(units) < 3:
            raise RuntimeError("演示数据中托管房屋不足3套")
        owners: dict[int, Owner] = {}
        for o in s.scalars(select(Ownership).where(Ownership.unit_id.in_([u.id for u in units]))
                           .order_by(Ownership.unit_id, Ownership.is_primary.desc(), Ownership.id)):
            owners.setdefault(o.unit_id, o.owner)
        rains = sorted({rng.randint(38, 50), rng.randint(15, 22)}, reverse=True)  # days ago: two rainstorms
        usage_alert, patrol_gap = rng.sample(range(len(units)), 2)
        for i, unit in enumerate(units):
            owner = owners.get(unit.id)
            label = f"{unit.building.name}{unit.room_no}"
            start_day = self.today - timedelta(days=rng.randint(60, 200))
            water0 = Decimal(rng.randint(800, 6000)) / 100
            power0 = Decimal(rng.randint(30000, 250000)) / 100
            doc = self.document(DocType.custody_agreement, f"{label} 托管协议", owner, unit, start_day,
                                f"{label}-托管协议",
                                [f"Custody from {start_day.isoformat()}",
                                 f"Water meter: {water0}   Electricity meter: {power0}"])
            end_day = start_day.replace(year=start_day.year + 1) - DAY if rng.random() < 0.7 else None
            custody = Custody(unit=unit, owner=owner, agreement=doc, start_date=start_day, end_date=end_day,
                              water_start=water0, electricity_start=power0,
                              note="业主长期在外,钥匙交管理处保管;托管期间物业费按70%收取")
            if Custody.check({"start_date": start_day, "end_date": end_day}):
                raise ValueError(f"演示托管无效 {label}")
            s.add(custody)
            s.flush()
            doc.ref_table, doc.ref_id = "custody", custody.id
            self.patrols(custody, water0, power0, rains, alert=i == usage_alert, gap=i == patrol_gap)
        s.flush()

    def patrols(self, custody: Custody, water: Decimal, power: Decimal, rains: list[int], *, alert: bool,
                gap: bool) -> None:
        rng, s = self.rng, self.session
        start_ago = (self.today - custody.start_date).days
        last_ago = rng.randint(9, 12) if gap else rng.randint(1, 6)
        weekly = list(range(last_ago, start_ago, 7))[::-1]  # days ago, oldest first
        patroller = rng.choice(PATROLLERS)
        water_left = WATER_LIMIT - Decimal("0.8")
        power_left = ELECTRICITY_LIMIT - Decimal("3")
        events = [(d, "weekly") for d in weekly]
        events += [(d + 1, "before_rain") for d in rains if d + 1 < start_ago and (not gap or d > last_ago)]
        events += [(d - 1, "after_rain") for d in rains if d + 1 < start_ago and (not gap or d > last_ago)]
        events.sort(key=lambda e: (-e[0], e[1] != "before_rain"))
        for n, (ago, kind) in enumerate(events):
            at = self.at(ago, 9, 17) if kind != "after_rain" else self.at(ago, 8, 11)
            if at >= self.now:
                at = self.now - timedelta(minutes=rng.randint(30, 90))
            p = CustodyPatrol(custody=custody, kind=kind, at=at, patroller=patroller, owner_notified=False)
            if kind == PatrolKind.weekly:
                w = Decimal(rng.choice((0, 0, 0, 1, 2, 3))) / 100
                e = Decimal(rng.randint(0, 25)) / 100
                w, e = min(w, water_left), min(e, power_left)
                water_left -= w
                power_left -= e
                water, power = water + w, power + e
                last = ago == weekly[-1]
                if alert and last:  # a dripping tap: the meter ran on since the last patrol
                    water = custody.water_start + WATER_LIMIT + Decimal(rng.randint(80, 260)) / 100
                    p.findings = "水表读数较上周明显增加,户外可听到室内流水声,疑似水龙头或马桶水箱漏水"
                    p.handling = "已关闭户外水表阀门,电话通知业主,约定业主回来后入户检查"
                    p.owner_notified = True
                elif rng.random() < 0.12:
                    p.findings, p.handling = rng.choice(WEEKLY_FINDINGS)
                p.water_reading, p.electricity_reading = water, power
            else:
                findings, handling, notified = rng.choice(BEFORE_RAIN if kind == "before_rain" else AFTER_RAIN)
                p.findings, p.handling, p.owner_notified = findings, handling, notified
            s.add(p)

    # ------------------------------------------------------------ checks

    def verify(self) -> None:
        s = self.session
        orders = s.scalars(select(WorkOrder)).all()
        statuses = {str(o.status) for o in orders}
        if statuses != {m.value for m in WorkOrderStatus}:
            raise RuntimeError(f"演示工单缺少状态: {({m.value for m in WorkOrderStatus}) - statuses}")
        if {str(o.source) for o in orders} != {m.value for m in WorkOrderSource} \
                or {str(o.category) for o in orders} != {m.value for m in WorkOrderCategory}:
            raise RuntimeError("演示工单应覆盖每种来源和类别")
        done = [o for o in orders if str(o.status) == "done"]
        if not any(is_overdue(o, self.now) for o in done) or all(is_overdue(o, self.now) for o in done):
            raise RuntimeError("演示工单应同时有逾期和未到期的回访")
        for o in orders:
            if max(filter(None, (o.created_at, o.dispatched_at, o.accepted_at, o.started_at, o.completed_at,
                                 o.followup_at))) >= self.now:
                raise RuntimeError(f"演示工单时间晚于现在: {o.number}")
        for m in self.open_move_ins:
            if not missing_documents(m):
                raise RuntimeError("办理中的入住应缺少资料")
        alerts = custody_alert_map(self.today)
        usage = {cid for cid, texts in alerts.items() if any(t != PATROL_OVERDUE for t in texts)}
        overdue = {cid for cid, texts in alerts.items() if PATROL_OVERDUE in texts}
        if len(usage) != 1 or not overdue - usage or alerting_custody_ids(self.today) != usage | overdue:
            raise RuntimeError(f"演示托管提醒不符合预期: {alerts}")
