"""Demo renovation permits and quality supervision for `flask seed-demo`.

Like the other demo loaders, every date is relative to `today` (the office's today by default), so whenever
the demo is loaded the panel shows renovation permits in every status — one structural plan still waiting for
its 拆改批准书 (the details page offers the upload), works running with an expired worker's pass and a
violation, the waste fee in the ledger — and department checks and daily patrols whose slips are open (some
overdue), rectified and re-checked both ways, with patrol failures still waiting for 不合格项开单.

Everything goes through the panel's own rules (app.renovation, app.supervision, app.ledger via
collect_waste_fee), so numbers (ZX…, SK…, BH…/XT…), notices to 工程维修部 and 秩序维护部, the unit's 装修中
status and the audit trail are what the panel itself would write. The steps run in time order (a heap of
events), so each day's numbers follow the clock. As in seed/frontdesk_demo.py the audit trail is the seed's
alone: the rules run without a user and the staff usernames (审核人, 批准人, 通知人, 收据经办人, 复查人) are filled
in afterwards with one "补录经办人" audit row per record. Permits, passes, renovation checks and patrols have no
rule function for their creation (the admin form adds them), so they are added directly after their check().

Randomness comes from the `rng` passed in: the same seed on the same day gives the same data.
"""
from __future__ import annotations

import heapq
import io
import itertools
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import clock, renovation, storage, supervision
from app.audit import audit_context
from app.extensions import db
from app.validators import check_phone, check_resident_id
from schema.custody import Custody
from schema.documents import DocType, Document
from schema.ledger import Charge, Payment, PaymentAllocation, PayMethod
from schema.notifications import Notification
from schema.occupancy import Inspection, MoveIn
from schema.org import AppUser, Department
from schema.people import Owner, OwnerKind, Ownership, Resident
from schema.property import Building, Unit, UnitStatus, UnitUsage
from schema.renovation import (
    PermitStatus,
    RenovationCheck,
    RenovationPermit,
    WorkerPass,
)
from schema.supervision import DeptCheck, Patrol, SlipStatus

DAY = timedelta(days=1)
MAINTENANCE, GUARD, CLEANING, GARDEN = "工程维修部", "秩序维护部", "保洁部", "绿化部"

# ---------------------------------------------------------------- renovation

CONTRACTORS = (
    ("深圳市美家装饰工程有限公司", "0755-26653318"), ("深圳市鹏城建筑装饰工程有限公司", "0755-83251176"),
    ("深圳市安居乐装饰设计有限公司", "0755-86097725"), ("深圳市华艺家居装饰工程有限公司", "0755-27783640"),
    ("深圳市品筑装饰设计工程有限公司", "0755-23306518"), ("深圳市南山区匠心装修服务部", "13760217745"),
)
# plans: (summary, alters the main structure, clearly adds load)
FLOOR = ("更换地板:客厅及卧室拆除原地砖,铺设实木复合地板,踢脚线同步更换", False, False)
KITCHEN = ("厨卫改造:更换整体橱柜及卫生间洁具,重做防水层并闭水试验48小时,燃气管道不改动", False, False)
BALCONY = ("封阳台:按管理处统一样式安装断桥铝合金窗封闭生活阳台,不改变外立面颜色", False, False)
PARTITION = ("拆除非承重墙:拆除次卧与书房之间的轻质隔墙,改为开放式书房;全屋墙面翻新", False, False)
WIRING = ("全屋水电改造:强弱电线路重新穿管,增加厨房插座回路,给水管更换为PPR管", False, False)
WALLS = ("墙面翻新:铲除原墙面腻子重新批荡,刷环保乳胶漆,儿童房贴墙纸", False, False)
BATH = ("卫生间改造:干湿分离,增设淋浴房,重做防水并闭水试验", False, False)
KIDS = ("儿童房改造:定制衣柜及书桌,更换室内木门,地面铺设木地板", False, False)
BEARING = ("拆改承重墙:客厅与餐厅之间承重墙开设门洞(宽1.2米),由原设计单位出具结构加固方案", True, False)
LOFT = ("加建阁楼:顶层挑空区域加建钢结构阁楼约18平方米,楼面铺设轻质楼板", True, True)
TOILET = ("卫生间移位:楼板开洞改造排水管线,下沉区回填采用轻质材料,楼板按加固方案修复", True, False)
OUTWARD = ("封阳台并外扩:阳台外扩至空调平台,外窗框更换为深灰色", False, False)
PERMITS = (  # final status, plan, by proxy
    ("applied", FLOOR, False), ("applied", KITCHEN, True),
    ("reviewed", BEARING, False), ("reviewed", BALCONY, True),
    ("approved", WIRING, False), ("approved", WALLS, False),
    ("in_progress", KITCHEN, True), ("in_progress", LOFT, False), ("in_progress", PARTITION, False),
    ("in_progress", BATH, False),
    ("completed", TOILET, False), ("completed", FLOOR, True), ("completed", KIDS, False),
    ("rejected", OUTWARD, False),
)
REJECTION = ("方案拟将阳台外扩至空调平台并更换外窗颜色,改变建筑外立面,违反装修管理规定,不予批准;"
             "请按管理处统一样式修改方案后重新申请")
REVIEW_NOTES = ("方案符合装修管理规定,同意", "同意;施工时注意楼道成品保护,装修垃圾袋装清运",
                "同意;卫生间须做闭水试验,经工程维修部验收后方可铺贴")
STRUCTURAL_NOTE = "方案涉及改动主体结构,须补交房管部门出具的拆改批准书后方可批准"
PROXY_NOTES = ("业主在外地工作,委托亲属代为办理", "业主年事已高,委托子女代为办理", "业主出国,委托朋友代为办理")
INSPECTORS = ("周涛", "梁志明", "邓国华", "孙立军", "何志伟")
FINDINGS = (
    "施工时间符合规定,现场材料堆放整齐", "施工人员均佩戴出入证,装修垃圾已袋装", "未发现违规施工,楼道保护膜完好",
    "水电改造进行中,未改动燃气管道及消防设施", "卫生间防水层已完成,闭水试验中,无渗漏", "墙面批荡中,门窗已做保护",
    "现场配备灭火器,临时用电规范", "木作安装中,现场无明火作业",
)
VIOLATION = ("中午12:40仍在使用电锤施工,违反施工时间规定;楼道堆放水泥砂浆未及时清运",
             "当场制止并责令停止噪音施工,已书面通知业主及施工单位整改,楼道材料当天清运完毕")
AFTER_VIOLATION = "复查:已按整改通知调整施工时间,楼道已清理干净"
FINAL_CHECK = "完工验收:未发现改动外立面及公共部位,防水闭水试验合格,公共区域无损坏"
FEE_METHODS = ((PayMethod.wechat, 5), (PayMethod.alipay, 2), (PayMethod.cash, 1), (PayMethod.bank, 1))

# ---------------------------------------------------------------- supervision

ITEMS = {  # check item -> (department, findings when passed, (finding, rectification) when failed)
    "uniform": (GUARD, ("各岗位人员着装统一整洁,佩戴工牌", "夜班人员着装规范,仪容整洁"), (
        ("南门岗亭值班员未佩戴工牌,制服纽扣未扣好", "已对当班人员批评教育,全员重新学习仪容仪表规范"),
        ("巡逻岗一名队员穿便装上岗", "已补发制服,班长每日上岗前检查着装"))),
    "posts": (GUARD, ("各门岗、监控室人员在岗,交接班记录完整", "车库岗按时巡逻,无脱岗现象"), (
        ("14:20抽查北门岗亭无人值守,约10分钟后人员返回", "已对脱岗人员按制度考核,调整午间轮岗安排"),
        ("监控室值班员上班时间玩手机,未及时发现车库异常", "已约谈当事人,监控室实行手机统一存放"))),
    "discipline": (GUARD, ("队员对业主礼貌热情,访客登记规范", "夜间值班无睡岗现象"), (
        ("夜间查岗发现车库岗队员在岗亭内睡觉", "当事人已书面检讨并扣罚当月绩效,增加夜间查岗频次"),
        ("岗亭队员与访客发生争执,态度生硬", "已向访客致歉,组织全员服务礼仪培训"))),
    "repairs_on_time": (MAINTENANCE, ("抽查本周报修工单10张,均在规定时间内上门", "紧急报修30分钟内到场,记录完整"), (
        ("3栋业主报修卫生间漏水,超过24小时未上门", "已当天上门维修完毕并向业主致歉,完善工单超时提醒"),
        ("公共区域楼道灯报修3天未处理", "已更换灯具,建立公共报修日清制度"))),
    "repair_followup": (MAINTENANCE, ("完工工单均按期电话回访,回访记录完整", "回访满意度抽查良好"), (
        ("抽查5张已完工工单,有2张未做回访记录", "已补做回访,回访列为工单关闭前必填项"),
        ("业主反映维修后问题复现,维修部未跟进", "已重新派工维修,跟进至业主确认解决"))),
    "hygiene": (CLEANING, ("各栋大堂、电梯厅地面干净,垃圾桶已清理", "楼道扶手、消防栓箱无积灰"), (
        ("5栋电梯轿厢地面有污渍,不锈钢面板手印明显", "已重新清洁并增加午间保洁一次"),
        ("2栋楼道窗台积灰,墙角有蜘蛛网", "已安排专项清洁,列入每周重点清洁表"))),
    "cleaning_progress": (CLEANING, ("各区域按保洁计划完成,记录签字齐全", "外围道路清扫按时完成"), (
        ("地下车库本周计划冲洗未完成", "已于周末加班完成车库冲洗"),
        ("垃圾分类投放点未按时清运,桶满外溢", "已调整为每日两次清运"))),
    "cleaning_incidents": (CLEANING, ("暴雨后积水清理及时,有处理记录", "突发污染接报后15分钟内处理完毕"), (
        ("暴雨后地下车库入口积水2小时未清理", "已制定暴雨应急保洁预案,配备吸水机"),
        ("电梯内呕吐物接报后40分钟才处理", "已明确突发污染15分钟内响应,纳入考核"))),
    "planting": (GARDEN, ("中心花园补种按计划完成", "时令花卉更换按期完成"), (
        ("南门花坛补种计划延误一周,仍有裸土", "已于三日内补种完毕"),
        ("新种樱花树未设支撑,被风吹斜", "已加设支撑并扶正"))),
    "upkeep": (GARDEN, ("草坪修剪整齐,绿篱造型良好", "病虫害防治按期进行,有施药记录"), (
        ("6栋旁绿篱发现虫害,叶片大面积枯黄", "已喷洒药剂并修剪病枝"),
        ("中心草坪多处斑秃,未及时补植", "已补植草皮并加强浇水"))),
}
# Failed checks in the last weeks and where their slips end: (days ago, final state; see _Supervision.lifecycle)
SCRIPTED = ((1, "open"), (2, "open"), (3, "rectified"), (4, "rectified"), (5, "passed"), (6, "overdue"),
            (7, "failed"), (9, "overdue"), (11, "failed_overdue"), (15, "reopened"))
RECHECK_OK = ("复查:已整改到位,符合要求", "现场复查,整改完成,同类问题未再出现", "复查合格,已纳入日常检查重点")
RECHECK_FAIL = ("复查:整改不到位,同类问题仍然存在", "现场复查仍未达标,要求重新整改")
PATROL_NOTES = {
    "hygiene": ("大堂地面有泥脚印未清理", "{f}楼楼道有住户堆放垃圾袋", "电梯厅垃圾桶已满未清理", "楼梯间有烟头和纸屑"),
    "facilities": ("{f}楼楼道灯不亮", "单元门闭门器损坏,门无法自动关闭", "{f}楼消防栓箱玻璃破损", "电梯按钮面板松动",
                   "{f}楼安全出口指示灯不亮"),
    "bulletin": ("公告栏停水通知已过期未撤下", "公告栏玻璃破损", "公告栏有未经许可的小广告"),
    "security": ("巡逻签到表缺少凌晨2点至4点记录", "巡更点打卡记录不全", "巡逻记录未写明异常情况及处理"),
}
PATROL_FIXES = {
    "hygiene": ("已安排保洁员当天清理完毕", "已清理并加强该区域保洁巡查"),
    "facilities": ("已维修更换完毕,功能恢复正常", "工程维修部已更换损坏部件"),
    "bulletin": ("已撤换过期通知,公告栏内容已更新", "已清除小广告并更换公告栏玻璃"),
    "security": ("已补全巡逻记录,班长每日核查签到表", "已对当班队员考核,巡更点打卡恢复正常"),
}
PATROL_FAIL_RATE = 0.15


def load_renovation(rng: random.Random | None = None, today: date | None = None) -> dict[str, int]:
    """Add renovation permits, department checks and patrols to a database holding the rest of the demo;
    commit; return row counts of the tables it writes (with the documents and receipts it adds).

    `today` other than the office's today stands for 18:00 that day."""
    rng = rng or random.Random(2026)
    session = db.session
    try:
        with audit_context(session, username="seed"):
            _Supervision(rng, today).run()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (RenovationPermit, WorkerPass, RenovationCheck, Notification, DeptCheck, Patrol,
                      Document, Charge, Payment, PaymentAllocation)}


class _Supervision:
    def __init__(self, rng: random.Random, today: date | None):
        from seed.demo import _Generator

        self.rng = rng
        self.now = clock.now() if today is None or today == clock.today() else datetime.combine(today, time(18))
        self.today = self.now.date()
        self.yesterday = self.today - DAY
        self.session = db.session
        self.gen = _Generator(rng)
        self.events: list[tuple[datetime, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.fixups: list[tuple[object, str, str]] = []

    # ------------------------------------------------------------ helpers

    def on(self, day: date, lo: int = 9, hi: int = 17) -> datetime:
        return datetime.combine(day, time(self.rng.randint(lo, hi - 1), self.rng.randint(0, 59)))

    def after(self, prev: datetime, day: date) -> datetime:
        t = self.on(day)
        return t if t > prev else prev + timedelta(minutes=self.rng.randint(20, 120))

    def event(self, t: datetime, step: Callable[[], None]) -> None:
        if t >= self.now:
            raise RuntimeError(f"演示装修/品质数据时间晚于现在: {t}")
        heapq.heappush(self.events, (t, next(self.seq), step))

    def later(self, record, attr: str, username: str) -> None:
        self.fixups.append((record, attr, username))

    def run(self) -> None:
        s = self.session
        self.users = {u.username: u for u in s.scalars(select(AppUser))}
        self.departments = {d.name: d for d in s.scalars(select(Department))}
        self.gen.phones |= {p for p in [*s.scalars(select(Owner.phone)), *s.scalars(select(Resident.phone))] if p}
        self.gen.ids |= {i for i in [*s.scalars(select(Owner.id_number)), *s.scalars(select(Resident.id_number))]
                         if i}
        self.gen.names |= set(s.scalars(select(Owner.name))) | set(s.scalars(select(Resident.name)))
        self.permits()
        self.dept_checks()
        self.patrols()
        while self.events:
            heapq.heappop(self.events)[2]()
        with audit_context(s, action="补录经办人"):
            for record, attr, username in self.fixups:
                setattr(record, attr, self.users[username] if attr == "clerk" else username)
            s.flush()
        self.verify()

    def document(self, kind: DocType, title: str, permit: RenovationPermit, day: date, lines: list[str]) -> None:
        """A document on the unit's file with a real stored file: a PNG scan for an ID copy, otherwise a PDF."""
        from seed.demo import make_pdf, make_png

        rng, unit = self.rng, permit.unit
        if kind == DocType.proxy_id_copy:
            data, ext = make_png(title, (rng.randint(170, 250), rng.randint(170, 250), rng.randint(170, 250))), "png"
        else:
            data, ext = make_pdf(title, [f"Estate: Jinxiu Garden   Unit: {unit.building.name[:-1]}-{unit.room_no}",
                                         f"Document type: {kind.value}", *lines,
                                         f"Received: {day.isoformat()}"], day), "pdf"
        meta = storage.store(io.BytesIO(data), f"{title.replace(' ', '-')}.{ext}")
        self.session.add(Document(doc_type=kind.value, title=title, owner=permit.owner, unit=unit,
                                  ref_table="renovation_permit", ref_id=permit.id, received_on=day,
                                  clerk=self.users["frontdesk"], filename=meta["filename"],
                                  content_type=meta["content_type"], size=meta["size"], sha256=meta["sha256"]))

    # ------------------------------------------------------------ renovation permits

    def permits(self) -> None:
        s, rng = self.session, self.rng
        busy = {*s.scalars(select(MoveIn.unit_id)), *s.scalars(select(Custody.unit_id)),
                *s.scalars(select(Inspection.unit_id)),
                *s.scalars(select(Document.unit_id).where(Document.doc_type.in_(
                    (DocType.power_of_attorney, DocType.proxy_id_copy, DocType.alteration_approval))))}
        self.owners = {o.unit_id: o.owner for o in s.scalars(select(Ownership).where(Ownership.is_primary.is_(True)))}
        pool = [u for u in s.scalars(select(Unit).where(Unit.status == UnitStatus.occupied,
                                                        Unit.usage == UnitUsage.residence).order_by(Unit.id))
                if u.id not in busy and self.owners.get(u.id) and self.owners[u.id].kind == OwnerKind.person]
        rng.shuffle(pool)
        top = max(pool, key=lambda u: (u.floor == u.building.floors, u.floor))  # the loft goes on a top floor
        pool.remove(top)
        starts = {"in_progress": [rng.randint(30, 40), rng.randint(16, 24), rng.randint(8, 12), rng.randint(2, 4)],
                  "completed": [rng.randint(70, 85), rng.randint(55, 68), rng.randint(42, 52)]}
        seen: dict[str, int] = {}
        for final, plan, proxy in PERMITS:
            n = seen[final] = seen.get(final, -1) + 1
            unit = top if plan is LOFT else pool.pop()
            self.permit(final, n, plan, proxy, unit, starts[final][n] if final in starts else None)

    def permit(self, final: str, n: int, plan: tuple, proxy: bool, unit: Unit, start_ago: int | None) -> None:
        rng, today = self.rng, self.today
        summary, structural, added_load = plan
        owner = self.owners[unit.id]
        days = {}  # step -> day
        if final in ("in_progress", "completed"):
            days["start"] = today - timedelta(days=start_ago)
            days["approve"] = days["start"] - timedelta(days=rng.randint(2, 5))
        elif final == "approved":
            days["approve"] = today - timedelta(days=rng.randint(1, 3))
        if "approve" in days:
            days["review"] = days["approve"] - timedelta(days=rng.randint(1, 2))
        elif final == "reviewed":
            days["review"] = today - timedelta(days=rng.randint(1, 4))
        if "review" in days:
            days["applied"] = days["review"] - timedelta(days=rng.randint(0, 2))
        else:
            days["applied"] = today - timedelta(days=rng.randint(12, 20) if final == "rejected" else rng.randint(1, 3))
            if final == "rejected":
                days["review"] = days["reject"] = days["applied"] + DAY
        planned_start = days.get("start") or (today + timedelta(days=rng.randint(2, 8)) if final == "approved"
                                              else days["applied"] + timedelta(days=rng.randint(7, 15)))
        if final == "completed":
            days["done"] = planned_start + timedelta(days=rng.randint(25, 38))
            planned_end = days["done"] + timedelta(days=rng.randint(0, 10))
        else:
            planned_end = planned_start + timedelta(days=rng.randint(45, 80))

        t = {"applied": self.on(days["applied"], 9, 16)}
        for step in ("review", "approve", "reject"):
            if step in days:
                t[step] = self.after(max(t.values()), days[step])
        if "start" in days:
            t["start"] = self.on(days["start"], 8, 10)
        if "done" in days:
            t["done"] = self.on(days["done"], 15, 18)

        contractor, contractor_phone = rng.choice(CONTRACTORS)
        data = {"unit": unit, "owner": owner, "applicant_kind": "proxy" if proxy else "owner",
                "contractor": contractor, "contractor_phone": contractor_phone, "planned_start": planned_start,
                "planned_end": planned_end, "plan_summary": summary, "structural": structural,
                "added_load": added_load, "agreement_signed": not (final == "applied" and n == 0),
                "rules_acknowledged": True, "waste_fee": Decimal(rng.randrange(300, 801, 50)),
                "applied_at": t["applied"], "applied_by": rng.choice(("frontdesk", "frontdesk", "supervisor")),
                "status": "applied"}
        if not data["agreement_signed"]:
            data["note"] = "业主尚未签订装修协议,约定本周内到客户服务中心签署"
        agent = self.gen.person(1962, 1998) if proxy else None
        if agent:
            data.update(proxy_name=agent.name, proxy_id_number=agent.id_number, proxy_phone=agent.phone,
                        note=rng.choice(PROXY_NOTES))
        errors = RenovationPermit.check(data)
        if errors or check_phone(contractor_phone) or (agent and check_resident_id(agent.id_number)):
            raise ValueError(f"演示装修申请无效 {unit}: {errors}")
        workers = rng.randint(2, 4) if "approve" in days else 2 if (final == "reviewed" and proxy) else 0
        label = f"{unit.building.name}{unit.room_no}"
        approver = rng.choice(("supervisor", "supervisor", "manager"))
        holder: dict[str, RenovationPermit] = {}

        def apply() -> None:
            permit = holder["p"] = RenovationPermit(**data)
            self.session.add(permit)
            for i in range(workers):
                self.worker(permit, planned_start, planned_end, expired=final == "in_progress" and n == 0 and i == 0)
            self.session.flush()
            day = days["applied"]
            if permit.agreement_signed:
                self.document(DocType.renovation_agreement, f"{label} 装修协议", permit, day,
                              [f"Owner ID: {owner.id_number}", f"Works: {planned_start} to {planned_end}"])
            if agent:
                self.document(DocType.power_of_attorney, f"{label} 委托书", permit, day,
                              [f"Owner ID: {owner.id_number}", f"Agent ID: {agent.id_number}",
                               "Scope: renovation application"])
                if not (final == "applied" and n == 1):  # one proxy has yet to bring the agent's ID copy
                    self.document(DocType.proxy_id_copy, f"{agent.name} 受托人身份证复印件", permit, day, [])

        self.event(t["applied"], apply)
        if "review" in t:
            def review() -> None:
                note = STRUCTURAL_NOTE if structural and final == "reviewed" else rng.choice(REVIEW_NOTES)
                renovation.review(holder["p"], user=None, note="" if final == "rejected" else note, at=t["review"])
                self.later(holder["p"], "plan_reviewed_by", "supervisor")

            self.event(t["review"], review)
        if final == "rejected":
            self.event(t["reject"], lambda: renovation.reject(holder["p"], reason=REJECTION, user=None))
        if structural and "approve" in t:  # the housing authority's approval, brought in before approval
            self.event(t["approve"] - timedelta(minutes=rng.randint(30, 90)), lambda: self.document(
                DocType.alteration_approval, f"{label} 拆改批准书", holder["p"], days["approve"],
                ["Issued by: Nanshan District housing authority", "Approved: structural alteration"]))
        if "approve" in t:
            collect = not (final == "approved" and n == 1)
            method = rng.choices([m for m, _ in FEE_METHODS], [w for _, w in FEE_METHODS])[0].value
            paid_at = t["approve"] + timedelta(minutes=rng.randint(10, 40))
            acks = [t["approve"] + timedelta(minutes=rng.randint(20, 300)) for _ in renovation.NOTIFIED_DEPARTMENTS]

            def approve() -> None:
                notices = renovation.approve(holder["p"], user=None, at=t["approve"])
                self.later(holder["p"], "approved_by", approver)
                for notice, ack in zip(notices, acks):
                    self.later(notice, "created_by", approver)
                    maintenance = notice.department.name == MAINTENANCE
                    if final != "approved" or (collect and maintenance):
                        self.event(ack, lambda notice=notice, ack=ack, m=maintenance: self.acknowledge(notice, ack, m))

            def fee() -> None:
                payment = renovation.collect_waste_fee(holder["p"], method=method, at=paid_at)
                self.later(payment, "clerk", "frontdesk")

            self.event(t["approve"], approve)
            if collect:
                self.event(paid_at, fee)
        if "start" in t:
            self.event(t["start"], lambda: renovation.start_works(holder["p"], user=None, at=t["start"]))
            if final == "in_progress" and n == 2:  # a worker joining later: his pass numbered after the others
                joined = days["start"] + 2 * DAY
                self.event(self.on(joined), lambda: (self.worker(holder["p"], joined, planned_end),
                                                     renovation.number_passes(holder["p"]), self.session.flush()))
            self.checks(holder, days["start"], days.get("done"), violation=final == "in_progress" and n == 1)
        if "done" in t:
            self.event(t["done"], lambda: renovation.complete_works(holder["p"], user=None, at=t["done"]))

    def worker(self, permit: RenovationPermit, start: date, end: date, expired: bool = False) -> None:
        rng = self.rng
        p = self.gen.person(1968, 2000, gender="M" if rng.random() < 0.85 else "F")
        valid_to = end
        if expired:  # the plumbing and wiring team has finished: its pass ran out
            valid_to = start + timedelta(days=rng.randint(8, 12))
        elif rng.random() < 0.25:
            valid_to = start + timedelta(days=rng.randint(10, max(10, (end - start).days)))
        data = {"permit": permit, "name": p.name, "id_number": p.id_number, "phone": p.phone, "valid_from": start,
                "valid_to": min(valid_to, end)}
        worker = WorkerPass(**data)
        problem = WorkerPass.check(data) or renovation.pass_problem(worker, permit) or check_resident_id(p.id_number)
        if problem:
            raise ValueError(f"演示出入证无效 {p.name}: {problem}")
        self.session.add(worker)

    def checks(self, holder: dict, start: date, done: date | None, violation: bool) -> None:
        rng = self.rng
        end = done or self.today
        day = start + timedelta(days=rng.randint(1, max(1, min(3, (end - start).days - 1))))  # one check at least
        i, after = 0, False
        plan = []
        while day < end:
            if violation and i == 1:
                plan.append((day, *VIOLATION, True))
                after = True
            elif after:
                plan.append((day, AFTER_VIOLATION, None, False))
                after = False
            else:
                plan.append((day, rng.choice(FINDINGS), None, False))
            day, i = day + timedelta(days=rng.randint(3, 5)), i + 1
        if done:
            plan.append((done, FINAL_CHECK, None, False))
        for day, findings, action, bad in plan:
            who = rng.choice(INSPECTORS)

            def add(day=day, findings=findings, action=action, bad=bad, who=who) -> None:
                check = RenovationCheck(permit=holder["p"], checked_on=day, inspector=who, findings=findings,
                                        violation=bad, action_taken=action)
                self.session.add(check)
                renovation.note_check(check)
                self.session.flush()

            self.event(self.on(day, 10, 14), add)

    def acknowledge(self, notice: Notification, at: datetime, maintenance: bool) -> None:
        with audit_context(self.session, action="签收"):
            notice.acknowledged_at = at
            notice.acknowledged_by = "maintenance" if maintenance else "supervisor"
            self.session.flush()

    # ------------------------------------------------------------ department checks

    def dept_checks(self) -> None:
        rng = self.rng
        by_dept: dict[str, list[str]] = {}
        for item, (dept, _, _) in ITEMS.items():
            by_dept.setdefault(dept, []).append(item)
        for dept, items in by_dept.items():
            ago = rng.randint(86, 92)
            while ago > 12:  # older checks: failures long since rectified and re-checked
                final = None if rng.random() < 0.78 else ("reopened" if rng.random() < 0.2 else "passed")
                self.dept_check(rng.choice(items), ago, final)
                ago -= rng.randint(4, 8)
            ago = rng.randint(10, 12)
            while ago >= 1:
                self.dept_check(rng.choice(items), ago, None)
                ago -= rng.randint(4, 6)
        depts = list(by_dept)
        for i, (ago, final) in enumerate(SCRIPTED):
            self.dept_check(rng.choice(by_dept[depts[i % len(depts)]]), ago, final)

    def dept_check(self, item: str, ago: int, final: str | None) -> None:
        rng = self.rng
        dept, passes, fails = ITEMS[item]
        at = self.on(self.today - timedelta(days=ago))
        checker = rng.choice(("supervisor", "supervisor", "manager"))
        finding, fix = rng.choice(fails) if final else (rng.choice(passes), None)
        kind = rng.choice(("coordination", "nonconformance", "nonconformance"))
        deadline = self.deadline(at, final) if final else None

        def record() -> None:
            check = supervision.record_check(
                department=self.departments[dept], item=item, checker=self.users[checker].display_name,
                passed=final is None, findings=finding, slip_kind=kind if final else None, deadline=deadline, at=at)
            if final:
                self.lifecycle(check, final, (fix, "二次整改:" + fix), checker)

        self.event(at, record)

    def deadline(self, at: datetime, final: str) -> datetime:
        rng = self.rng
        if final == "open":
            return datetime.combine(self.today + timedelta(days=rng.randint(1, 3)), time(18))
        days = rng.randint(1, 2) if final == "overdue" else rng.randint(1, 3)
        return datetime.combine(at.date() + timedelta(days=days), time(18))

    def lifecycle(self, check: DeptCheck, final: str, fixes: tuple[str, str], who: str) -> None:
        """Schedule a slip's 整改 (R), 复查合格 (P) and 复查不合格 (F) steps on later days, ending in `final`:
        open / overdue (nothing), rectified, passed, failed (new deadline ahead), failed_overdue, reopened."""
        rng = self.rng
        steps = {"open": "", "overdue": "", "rectified": "R", "passed": "RP", "failed": "RF",
                 "failed_overdue": "RF", "reopened": "RFRP"}[final]
        day, first_max = check.checked_at.date(), max(1, (check.deadline.date() - check.checked_at.date()).days)
        for i, step in enumerate(steps):
            room = (self.yesterday - day).days - (len(steps) - i - 1)
            day = day + timedelta(days=rng.randint(1, max(1, min(2 if i else first_max, room))))
            at = self.on(day)
            if step == "R":
                note = fixes[1 if i else 0]
                self.event(at, lambda at=at, note=note: supervision.rectify(check, note=note, user=None, at=at))
                continue
            new = datetime.combine(day + timedelta(days=rng.randint(2, 3)), time(18))
            if final == "failed":
                new = max(new, datetime.combine(self.today + timedelta(days=rng.randint(1, 3)), time(18)))
            note = rng.choice(RECHECK_OK if step == "P" else RECHECK_FAIL)
            self.event(at, lambda at=at, note=note, ok=step == "P", new=new: supervision.recheck(
                check, passed=ok, note=note, user=None, at=at, new_deadline=None if ok else new))
        if "P" in steps or "F" in steps:
            self.later(check, "rechecked_by", who)

    # ------------------------------------------------------------ daily patrols

    def patrols(self) -> None:
        rng, s = self.rng, self.session
        plans = []
        for building in s.scalars(select(Building).order_by(Building.id)):
            ago = rng.randint(28, 31)
            while ago >= 1:
                at = self.on(self.today - timedelta(days=ago), 9, 16)
                data = {"building": building, "at": at,
                        "patroller": self.users[rng.choice(("frontdesk", "frontdesk", "supervisor"))].display_name}
                for name in supervision.PATROL_ITEMS:
                    ok = rng.random() >= PATROL_FAIL_RATE
                    note = rng.choice(PATROL_NOTES[name]).format(f=rng.randint(2, building.floors))
                    data.update({f"{name}_ok": ok, f"{name}_note": None if ok else note})
                plans.append((ago, data))
                ago -= rng.randint(3, 4)
        plans.sort(key=lambda p: p[1]["at"])
        latest = plans[-1][1]
        if all(latest[f"{n}_ok"] for n in supervision.PATROL_ITEMS):  # the newest patrol awaits 开单 in any case
            latest.update(hygiene_ok=False, hygiene_note=PATROL_NOTES["hygiene"][0])
        for ago, data in plans:
            if Patrol.check(data):
                raise ValueError(f"演示巡查无效: {Patrol.check(data)}")
            failed = not all(data[f"{n}_ok"] for n in supervision.PATROL_ITEMS)
            raise_it = failed and ago > 2 and data is not latest and rng.random() > 0.08
            final = self.patrol_final(ago) if raise_it else None
            self.event(data["at"], lambda data=data, final=final: self.patrol(data, final))

    def patrol_final(self, ago: int) -> str:
        rng = self.rng
        if ago <= 4:
            return rng.choice(("open", "open", "overdue"))
        if ago <= 8:
            return rng.choice(("rectified", "passed", "overdue", "failed"))
        return rng.choices(("passed", "reopened", "failed_overdue", "rectified"), (80, 10, 5, 5))[0]

    def patrol(self, data: dict, final: str | None) -> None:
        patrol = Patrol(**data)
        self.session.add(patrol)
        self.session.flush()
        if final is None:
            return
        # raised on the spot: the slips are dated by the patrol, so their numbers follow its time
        fields = {item: name for name, (item, _) in supervision.PATROL_ITEMS.items()}
        for slip in supervision.raise_patrol_slips(patrol, deadline=self.deadline(patrol.at, final)):
            fix = self.rng.choice(PATROL_FIXES[fields[slip.item]])
            self.lifecycle(slip, final, (fix, "二次整改:" + fix), "supervisor")

    # ------------------------------------------------------------ checks

    def verify(self) -> None:
        s = self.session
        permits = set(s.scalars(select(RenovationPermit.status).distinct()))
        if permits != {m.value for m in PermitStatus}:
            raise RuntimeError(f"演示装修许可缺少状态: {({m.value for m in PermitStatus}) - permits}")
        slips = set(s.scalars(select(DeptCheck.status).distinct()))
        if slips != {m.value for m in SlipStatus}:
            raise RuntimeError(f"演示检查单缺少状态: {({m.value for m in SlipStatus}) - slips}")
        if not s.scalar(select(func.count()).select_from(DeptCheck).where(supervision.overdue_condition(self.now))):
            raise RuntimeError("演示检查单应有逾期未整改的单据")
