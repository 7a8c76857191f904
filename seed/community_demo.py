"""Demo follow-up visits, owner surveys, the bulletin board, community events and convenience services.

As in the other demo loaders every date is relative to `today` (the office's today by default), so the dashboard
shows overdue visit plans and boards due for replacement, and the monthly report has visits in every recent month.
Repairs already followed up by the occupancy demo get their visit record (same time, method and result); those
awaiting follow-up get plans via app.visits.plan_repair_followups (left planned, so the work orders keep their
state); and a few existing 报修 orders are linked as what a visit found (问题转维修工单) rather than opening new ones,
since tests/test_seed_occupancy.py allows at most 65 work orders. Surveys, posts, items and event records have no
creating rule, so they are added after their check(); every later step goes through app.visits, app.community and
app.services, run without a user (the audit trail is the seed's), with 受理人, 安排人, 批准人 and 收据经办人 filled in
afterwards ("补录经办人"). Service steps run in time order so FW numbers follow the clock, and each receipt is
stamped after the day's last one so SK numbers do too.
"""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import clock, community, services, storage, visits
from app.audit import audit_context
from app.extensions import db
from schema.community import BulletinPost, CommunityEvent, EventStatus
from schema.documents import Document
from schema.ledger import Charge, Payment, PaymentAllocation
from schema.org import AppUser, Department
from schema.people import Ownership
from schema.property import Unit
from schema.services import OrderStatus, ServiceItem, ServiceOrder
from schema.visits import FollowupVisit, Survey
from schema.work_orders import WorkOrder

DAY = timedelta(days=1)
VISIT_STAFF = ("张敏", "张敏", "李娜", "陈晓琳", "黄嘉怡")
PURPOSES = (("入住满月回访", "visit"), ("物业服务满意度回访", "phone"), ("装修完工回访", "visit"),
            ("独居老人关怀走访", "visit"), ("房屋渗漏排查回访", "visit"), ("停车服务意见征询", "phone"),
            ("物业费账单答疑回访", "phone"), ("业主意见调查问卷跟进", "phone"), ("租户入住情况回访", "phone"))
CONTENTS = {
    "satisfied": ("业主表示对近期保洁、绿化服务满意,楼道及电梯厅干净整洁", "业主反映门岗服务热情,访客登记规范,对小区治安满意",
                  "了解房屋使用情况,水电燃气正常,业主对物业服务表示满意", "业主对报修响应速度表示满意,暂无其他意见",
                  "老人身体状况良好,家中水电燃气使用安全,对物业的关心表示感谢", "业主对小区环境和公共设施维护表示满意"),
    "fair": ("业主认为整体服务尚可,希望加强晚间巡逻", "业主反映电梯早高峰等候时间较长,其余基本满意",
             "业主认为绿化修剪及时,但垃圾清运时间偶有延误", "业主对服务基本满意,建议增加快递柜数量"),
    "unsatisfied": ("业主对停车管理不满意,反映访客车辆经常占用业主车位", "业主反映楼上装修噪音多次反映仍未彻底解决",
                    "业主对公共区域卫生不满意,认为楼道清洁频次不够"),
}
PROBLEMS = (("楼道声控灯不亮", "已转工程维修部当天处理"), ("单元门闭门器损坏,门关不严", "已转工程维修部更换闭门器"),
            ("楼下绿化带蚊虫较多", "已通知绿化部本周内喷药消杀"), ("夜间有外来车辆在消防通道停放", "已转秩序维护部加强夜间巡查"),
            ("卫生间地漏返臭味", "待转维修工单,约业主上门检查"), ("阳台推拉门滑轮磨损,推拉困难", "待转维修工单,约业主周末上门维修"))
CANCEL_REASONS = ("业主出差在外,近期无法接待,改约下次", "业主已来电反馈意见,无需再回访", "房屋已出租,联系不上业主",
                  "与投诉回访合并进行")
SUGGESTIONS = ("希望增加电动车充电桩", "建议地下车库增加照明", "快递柜数量不足,建议增设", "希望物业费缴纳支持银行代扣",
               "建议增加儿童游乐设施", "夜间巡逻可再加强", "电梯高峰期等候时间长", "绿化带蚊虫多,建议定期消杀",
               "垃圾分类投放点气味较大,建议增加清洗频次", "希望多组织社区活动")
SCORE_WEIGHTS = {"score_service": (50, 35, 10, 4, 1), "score_cleaning": (45, 38, 12, 4, 1),
                 "score_security": (42, 38, 14, 5, 1), "score_maintenance": (35, 40, 17, 6, 2),
                 "score_greening": (50, 36, 10, 3, 1)}  # weights of 5, 4, 3, 2, 1 points

BOARDS = (("南门公告栏", 18, 3), ("1栋大堂宣传栏", 4, 3), ("中心花园宣传栏", 23, 2), ("5栋大堂宣传栏", 9, 3),
          ("地下车库入口公告栏", 15, 3))  # board, days the current post has been up, posts in all
POSTS = (
    ("policy", "《深圳经济特区物业管理条例》要点解读", "介绍业主大会、业主委员会的职责及物业服务收费的公示要求。"),
    ("notice", "二次供水水箱清洗停水通知", "本周六09:00–15:00清洗消毒二次供水水箱,届时各栋暂停供水,请提前储水。"),
    ("community", "社区党群服务中心活动预告", "本月书法班、太极拳班、亲子阅读会开始报名,请到客户服务中心登记。"),
    ("other", "防范电信诈骗温馨提示", "不轻信陌生来电,不向陌生账户转账;如遇可疑情况请拨打96110咨询。"),
    ("policy", "深圳市生活垃圾分类管理条例宣传", "生活垃圾分为可回收物、有害垃圾、厨余垃圾和其他垃圾,请定时定点分类投放。"),
    ("notice", "电梯年度检验通知", "特种设备检验机构将对各栋电梯进行年度检验,检验期间电梯轮流停运约2小时。"),
    ("community", "小区绿化提升工程完工公示", "中心花园补种樱花、紫薇等苗木共120株,工程已完工验收,欢迎业主监督。"),
    ("policy", "电动自行车安全管理规定", "严禁电动自行车进电梯、入户及在楼道充电,请到3栋、6栋架空层充电桩充电。"),
    ("notice", "消防设施年度检测通知", "消防技术服务公司将入户检测烟感及喷淋设施,请业主配合并留家人在家。"),
    ("other", "文明养犬倡议书", "出门遛狗请牵绳,及时清理宠物粪便,大型犬请勿进入儿童游乐区。"),
    ("community", "业主委员会工作简报", "业委会本季度召开会议3次,公共收益收支明细已在客户服务中心公示。"),
    ("notice", "地下车库地坪翻新施工通知", "B1层东区地坪分区翻新,施工期间请按指示牌临时停放车辆。"),
    ("community", "优秀楼栋长表彰", "表彰热心公益、协助物业开展工作的楼栋长5名,感谢大家的支持。"),
    ("other", "居家用电安全提示", "空调使用高峰期请勿私拉电线,外出时关闭电器电源。"),
)
THEMES = {  # month -> (theme, items, place, budget, headcount, participants, prizes)
    1: ("迎新春写春联送福字", "书法家现场写春联、送福字;亲子剪窗花", "中心花园广场", 3000, 150, "全体业主及家属", "春联、福字、新春挂历"),
    2: ("元宵节猜灯谜闹元宵", "猜灯谜、包汤圆、亲子手工灯笼", "会所多功能厅", 2500, 120, "全体业主及家属", "汤圆礼盒、灯笼"),
    3: ("学雷锋志愿服务日", "义剪、家电义修、磨刀、免费量血压", "南门广场", 1500, 100, "全体业主", "志愿者纪念品"),
    4: ("垃圾分类宣传日", "分类知识问答、旧物兑换绿植、分类投放小游戏", "中心花园广场", 2000, 120, "全体业主及家属",
        "绿植盆栽、环保购物袋"),
    5: ("母亲节插花沙龙", "花艺老师讲解、亲子插花、现场留影", "会所多功能厅", 2800, 60, "女性业主及子女", "鲜花花材"),
    6: ("六一亲子运动会", "亲子两人三足、袋鼠跳、趣味接力、儿童绘画展", "中心花园草坪", 5000, 200, "小区儿童及家长",
        "奖牌、文具套装、益智玩具"),
    7: ("夏日露天电影夜", "露天放映亲子电影、消暑饮品", "中心花园草坪", 2000, 150, "全体业主及家属", "冰镇饮品"),
    8: ("暑期儿童手工课堂", "非遗扎染、纸艺手工、作品展示", "会所多功能厅", 1800, 40, "6至12岁儿童", "手工材料包"),
    9: ("中秋游园会", "猜灯谜、套圈、投壶、DIY月饼、文艺表演", "中心花园广场", 8000, 300, "全体业主及家属",
        "月饼礼盒、灯笼、游园小奖品"),
    10: ("重阳敬老茶话会", "茶话会、粤剧表演、免费量血压、为八十岁以上老人送长寿面", "会所多功能厅", 3500, 80,
         "六十岁以上老年业主", "保温杯、长寿面"),
    11: ("消防安全宣传日", "消防知识讲座、灭火器实操、消防车开放参观", "南门广场", 2500, 150, "全体业主及家属",
         "灭火毯、逃生面罩"),
    12: ("冬至包饺子邻里宴", "包饺子比赛、邻里饺子宴、书法送福", "会所多功能厅", 4000, 120, "全体业主及家属", "厨具礼品"),
}
ANY_TIME = (("社区义诊进小区", "三甲医院医生义诊、健康讲座、免费测血糖", "南门广场", 1200, 100, "全体业主", "健康手册"),
            ("跳蚤市场旧物交换", "闲置物品交换、儿童图书漂流", "中心花园广场", 800, 150, "全体业主及家属", "环保购物袋"),
            ("亲子读书分享会", "绘本共读、故事表演、图书交换", "会所多功能厅", 1000, 50, "小区儿童及家长", "儿童图书"))
EVENT_PLAN = (("archived", -75), ("archived", -40), ("held", -8), ("set_up", 1), ("approved", 9), ("planning", 24))
STAFF_ROLES = "客户服务中心:策划、主持、签到;秩序维护部:现场秩序及安全;保洁部:场地清洁;工程维修部:音响及用电保障"

ITEMS = (  # name, description, price, unit, department, published, areas, expected result
    ("家电清洗", "空调、油烟机、洗衣机拆洗消毒,清洗后试机", "120", "台", "保洁部", True,
     ("客厅空调", "卧室空调", "厨房油烟机", "阳台洗衣机"), "拆洗干净、无异味,试机运行正常"),
    ("管道疏通", "厨房、卫生间下水管道及地漏疏通,不含管道更换", "80", "次", "工程维修部", True,
     ("厨房下水", "卫生间地漏", "洗手盆下水"), "排水通畅,无返水、无异味"),
    ("开锁换锁", "核实业主身份后开锁;可更换C级锁芯,锁芯费另计", "150", "次", "工程维修部", True, ("入户门",),
     "开锁后门锁完好,新锁芯使用正常"),
    ("搬运", "室内家具搬运、大件物品搬至指定地点", "100", "次", "秩序维护部", True, ("客厅", "卧室", "储物间"),
     "物品按要求搬运到位,无磕碰损坏"),
    ("家政保洁", "日常保洁、深度保洁,按小时计费,自带清洁工具", "50", "小时", "保洁部", True, ("全屋", "厨房", "卫生间"),
     "地面、台面、玻璃洁净无水渍"),
    ("空调加氟", "检测空调制冷效果,补充冷媒并检漏", "180", "台", "工程维修部", True, ("客厅空调", "主卧空调"),
     "制冷效果恢复,无泄漏"),
    ("灯具安装维修", "户内灯具、开关、插座安装更换,材料费另计", "40", "个", "工程维修部", True,
     ("客厅", "卧室", "厨房", "卫生间"), "安装牢固,通电使用正常"),
    ("阳台花木养护", "阳台盆栽修剪、施肥、病虫害防治(试运行,暂未公布)", "60", "次", "绿化部", False, ("阳台",),
     "植株修剪整齐,无病虫害"),
)
WORKERS = {"工程维修部": ("周涛", "梁志明", "邓国华"), "保洁部": ("王桂芳", "刘春梅"), "秩序维护部": ("孙立军", "何志伟"),
           "绿化部": ("吴志刚",)}
ORDER_PLAN = (("charged", 18), ("redo", 2), ("accepted", 4), ("rejected", 3), ("scheduled", 5), ("booked", 4),
              ("cancelled", 4))
ACCEPT_NOTES = ("业主现场验收,效果良好", "验收合格,业主表示满意", "业主确认已按约定完成")
REJECT_NOTES = ("清洗后仍有异味,要求重新处理", "疏通后次日仍排水缓慢", "保洁后窗台、灯具仍有灰尘,要求返工")
ORDER_CANCELS = ("业主临时出差,取消预约", "业主已自行处理", "业主认为费用偏高,暂不需要")
METHODS = ("wechat", "wechat", "alipay", "cash")


def load_community(rng: random.Random | None = None, today: date | None = None) -> dict[str, int]:
    """Add visits, surveys, posts, events and service orders to a database holding the rest of the demo;
    commit; return row counts of the tables it writes (with the documents and receipts it adds).

    `today` other than the office's today stands for 18:00 that day."""
    rng = rng or random.Random(2026)
    session = db.session
    try:
        with audit_context(session, username="seed"):
            _Community(rng, today).run()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (FollowupVisit, Survey, BulletinPost, CommunityEvent, ServiceItem, ServiceOrder, Document,
                      Charge, Payment, PaymentAllocation)}


class _Community:
    def __init__(self, rng: random.Random, today: date | None):
        self.rng = rng
        self.now = clock.now() if today is None or today == clock.today() else datetime.combine(today, time(18))
        self.today = self.now.date()
        self.yesterday = self.today - DAY
        self.session = db.session
        self.events: list[tuple[datetime, int, Callable[[], None]]] = []
        self.fixups: list[tuple[object, str, str]] = []

    def on(self, day: date, lo: int = 9, hi: int = 17) -> datetime:
        return datetime.combine(day, time(self.rng.randint(lo, hi - 1), self.rng.randint(0, 59)))

    def event(self, t: datetime, step: Callable[[], None]) -> None:
        if t >= self.now:
            raise RuntimeError(f"演示回访/社区数据时间晚于现在: {t}")
        self.events.append((t, len(self.events), step))

    def later(self, record, attr: str, username: str) -> None:
        self.fixups.append((record, attr, username))

    def run(self) -> None:
        s = self.session
        self.users = {u.username: u for u in s.scalars(select(AppUser))}
        self.departments = {d.name: d for d in s.scalars(select(Department))}
        self.owners = {o.unit_id: o.owner for o in s.scalars(select(Ownership).where(Ownership.is_primary.is_(True)))}
        self.units = [u for u in s.scalars(select(Unit).order_by(Unit.id)) if u.id in self.owners]
        for part in (self.visits, self.surveys, self.posts, self.community_events, self.services):
            part()
        for _, _, step in sorted(self.events, key=lambda e: (e[0], e[1])):
            step()
        with audit_context(s, action="补录经办人"):
            for record, attr, username in self.fixups:
                setattr(record, attr, self.users[username] if attr == "clerk" else username)
            s.flush()
        self.verify()

    # ------------------------------------------------------------ follow-up visits

    def visits(self) -> None:
        rng, s = self.rng, self.session
        names = {u.username: u.display_name for u in self.users.values()}
        # repairs already followed up by the occupancy demo: the visit that did it
        for o in s.scalars(select(WorkOrder).where(WorkOrder.unit_id.is_not(None), WorkOrder.followup_at.is_not(None),
                                                   WorkOrder.status != "done").order_by(WorkOrder.followup_at)):
            result = "satisfied" if o.satisfied else "unsatisfied"  # as record_followup reads it back
            day = min(o.followup_due or o.followup_at, o.followup_at).date()
            visit = visits.plan_visit(unit=o.unit, planned_date=day, staff=names.get(o.followup_by, "张敏"),
                                      method=o.followup_method, owner=self.owners.get(o.unit_id),
                                      purpose=f"维修回访 {o.number}", work_order=o)
            visits.record_visit(visit, at=o.followup_at, content=o.followup_result, problems=o.problems_found,
                                opinion="已向工程维修部反馈,跟进处理" if result == "unsatisfied" else None,
                                result=result, user=None)
            if o.problems_found:
                self.raise_order(visit, o)
        visits.plan_repair_followups(staff=names["frontdesk"])  # repairs awaiting follow-up: planned, not done
        # 报修 orders that a routine visit found: the visit shortly before the order was opened
        start = datetime.combine(self.today - 88 * DAY, time())
        repairs = s.scalars(select(WorkOrder).where(WorkOrder.source == "repair", WorkOrder.unit_id.is_not(None),
                                                    WorkOrder.created_at >= start, WorkOrder.problems_found.is_(None))
                            .order_by(WorkOrder.id)).all()
        raised = 0
        for o in rng.sample(repairs, len(repairs)):
            at = o.created_at - timedelta(minutes=rng.randint(20, 90))
            if at.time() < time(8, 30) or raised == 4:
                continue
            raised += 1
            visit = visits.plan_visit(unit=o.unit, planned_date=at.date(), staff=rng.choice(VISIT_STAFF),
                                      method="visit", owner=self.owners.get(o.unit_id), purpose="房屋使用情况走访")
            visits.record_visit(visit, at=at, content="上门了解房屋使用情况,查看发现问题需维修", problems=o.description,
                                opinion="转工程维修部维修", result=rng.choice(("fair", "unsatisfied")), user=None)
            self.raise_order(visit, o)
        # routine visits: (days ago, final); negative days lie ahead
        plans = [(rng.randint(lo, hi) * sign, final) for n, lo, hi, sign, final in (
            (6, 1, 10, 1, "planned"), (4, 2, 88, 1, "cancelled"), (92, 1, 90, 1, "done"), (20, 0, 14, -1, "planned"),
            (2, 1, 14, -1, "cancelled")) for _ in range(n)]
        for ago, final in sorted(plans):
            purpose, method = rng.choice(PURPOSES)
            if rng.random() < 0.2:
                method = "phone" if method == "visit" else "visit"
            unit = rng.choice(self.units)
            day = self.today - ago * DAY
            visit = visits.plan_visit(unit=unit, planned_date=day, staff=rng.choice(VISIT_STAFF), method=method,
                                      owner=self.owners[unit.id], purpose=purpose)
            if final == "cancelled":
                visits.cancel_visit(visit, reason=rng.choice(CANCEL_REASONS), user=None)
            elif final == "done":
                result = rng.choices(("satisfied", "fair", "unsatisfied"), (72, 20, 8))[0]
                found = rng.random() < {"satisfied": 0, "fair": .35, "unsatisfied": .6}[result]
                problem, opinion = rng.choice(PROBLEMS) if found else (None, None)
                day = min(day + rng.choice((0, 0, 0, 1)) * DAY, self.yesterday)
                at = self.on(day, 9, 20 if method == "phone" else 18)
                visits.record_visit(visit, at=at, content=rng.choice(CONTENTS[result]), problems=problem,
                                    opinion=opinion, result=result, user=None)

    def raise_order(self, visit: FollowupVisit, order: WorkOrder) -> None:
        """The visit's problems are this existing order (what 问题转维修工单 would have opened)."""
        with audit_context(self.session, action="问题转维修工单", note=order.number):
            visit.raised_work_order = order
            self.session.flush()

    # ------------------------------------------------------------ the yearly survey

    def surveys(self) -> None:
        rng = self.rng
        this = max(date(self.today.year, 1, 1), self.today - rng.randint(40, 50) * DAY)
        last = date(this.year - 1, this.month, min(this.day, 28))
        rows = []
        for given, until, rate, better in ((last, last + 30 * DAY, 0.88, 0), (this, self.yesterday, 0.8, 1)):
            handed = [u for u in self.units if u.handover_date and u.handover_date <= given and rng.random() >= 0.05]
            collected = set(rng.sample(handed, round(rate * len(handed))))
            for unit in handed:
                data = {"year": given.year, "unit": unit, "distributed_on": given}
                if unit in collected:
                    data["collected_on"] = min(given + rng.randint(1, max(1, (until - given).days)) * DAY, self.today)
                    for name, weights in SCORE_WEIGHTS.items():
                        weights = (weights[0] + 6 * better, *weights[1:])
                        data[name] = rng.choices((5, 4, 3, 2, 1), weights)[0]
                    if rng.random() < 0.3:
                        data["suggestions"] = ";".join(rng.sample(SUGGESTIONS, rng.choice((1, 1, 2))))
                if Survey.check(data):
                    raise ValueError(f"演示问卷无效 {unit}: {Survey.check(data)}")
                rows.append(Survey(**data))
        self.session.add_all(rows)
        self.session.flush()

    # ------------------------------------------------------------ bulletin board

    def posts(self) -> None:
        rng, posts = self.rng, iter(POSTS)
        for board, age, n in BOARDS:
            days = [self.today - age * DAY]
            for _ in range(n - 1):  # earlier posts, each replaced after about two weeks
                days.insert(0, days[0] - rng.randint(13, 16) * DAY)
            for i, day in enumerate(days):
                category, title, content = next(posts)
                data = {"title": title, "category": category, "content": content, "board": board, "posted_on": day}
                if BulletinPost.check(data):
                    raise ValueError(f"演示宣传内容无效: {title}")
                post = BulletinPost(**data)
                self.session.add(post)
                self.session.flush()
                if i < len(days) - 1:
                    community.take_down(post, user=None, on=days[i + 1])

    # ------------------------------------------------------------ community events

    def community_events(self) -> None:
        rng, used, spare = self.rng, set(), iter(ANY_TIME)
        for final, offset in EVENT_PLAN:
            hour = rng.choice((9, 14, 15)) if offset < 0 or offset > 1 else 15
            start = datetime.combine(self.today + offset * DAY, time(hour, 30))
            plan = THEMES[start.month]
            if plan[0] in used:
                plan = next(spare)
            used.add(plan[0])
            theme, items, place, budget, headcount, target, prizes = plan
            end = start + timedelta(hours=rng.choice((2, 3)))
            schedule = (f"{start:%H:%M} 签到入场;{start + timedelta(minutes=20):%H:%M} 主持人开场及致辞;"
                        f"{start + timedelta(minutes=40):%H:%M} {items};{end - timedelta(minutes=30):%H:%M} 颁奖及合影;"
                        f"{end:%H:%M} 活动结束,清理场地")
            data = {"theme": theme, "items": items, "place": place, "start_at": start, "end_at": end,
                    "budget": Decimal(budget), "target_participants": target, "planned_headcount": headcount,
                    "schedule": schedule, "departments": "客户服务中心、秩序维护部、保洁部、工程维修部", "prizes": prizes,
                    "staff_roles": STAFF_ROLES, "note": "活动方案已报管理处经理审阅" if final == "planning" else None}
            if CommunityEvent.check(data):
                raise ValueError(f"演示社区活动无效: {theme}")
            event = CommunityEvent(**data)
            self.session.add(event)
            self.session.flush()
            steps = ("planning", "approved", "set_up", "held", "archived")
            reached = steps[: steps.index(final) + 1]
            if "approved" in reached:
                community.approve_event(event, user=None, note="方案及预算同意")
                self.later(event, "approved_by", rng.choice(("manager", "supervisor")))
            if "set_up" in reached:
                community.set_up(event, user=None)
            if "held" in reached:
                came = round(headcount * rng.uniform(0.8, 1.2))
                cost = Decimal(round(budget * rng.uniform(0.82, 1.06)))
                saved = Decimal(budget) - cost
                summary = (f"活动共{came}人参加,{items.split('、')[0]}等项目顺利开展,现场秩序良好,未发生安全事故;"
                           f"实际费用{cost}元,较预算{'节约' if saved >= 0 else '超支'}{abs(saved)}元。业主反响热烈。")
                community.hold(event, headcount=came, cost=cost, user=None, summary=summary,
                               at=end + timedelta(minutes=30))
            if final == "archived":
                day = end.date() + rng.randint(1, 3) * DAY
                self.event_records(event, day, came, cost)
                community.archive(event, user=None, at=self.on(day, 14, 17))

    def event_records(self, event: CommunityEvent, day: date, came: int, cost: Decimal) -> None:
        from seed.demo import make_pdf, make_png

        record, photo = f"{event.theme} 活动记录", f"{event.theme} 活动照片"
        for title, ext, data in ((record, "pdf", make_pdf(record, [
                f"Community event record, held {event.start_at:%Y-%m-%d %H:%M}", f"Participants: {came}",
                f"Budget: {event.budget} CNY   Actual cost: {cost} CNY"], day)),
                (photo, "png", make_png(photo, (self.rng.randint(150, 250), self.rng.randint(150, 250), 120)))):
            meta = storage.store(io.BytesIO(data), f"{title.replace(' ', '-')}.{ext}")
            self.session.add(Document(doc_type="other", title=title, ref_table=community.EVENT_TABLE, ref_id=event.id,
                                      received_on=day, clerk=self.users["frontdesk"], note="活动资料存档",
                                      filename=meta["filename"], content_type=meta["content_type"],
                                      size=meta["size"], sha256=meta["sha256"]))
        self.session.flush()

    # ------------------------------------------------------------ convenience services

    def services(self) -> None:
        s, rng = self.session, self.rng
        self.items = [(ServiceItem(name=name, description=text, price=Decimal(price), price_unit=unit,
                                   department=self.departments[dept], published=published), dept, areas, expected)
                      for name, text, price, unit, dept, published, areas, expected in ITEMS]
        s.add_all(i[0] for i in self.items)
        s.flush()
        self.paid: dict[date, datetime] = {}
        for t in s.scalars(select(Payment.paid_at)):
            self.paid[t.date()] = max(t, self.paid.get(t.date(), t))
        finals = [final for final, n in ORDER_PLAN for _ in range(n)]
        rng.shuffle(finals)
        for i, final in enumerate(finals):
            self.order(final, i)

    def order(self, final: str, i: int) -> None:
        rng, today = self.rng, self.today
        item, dept, areas, expected = rng.choice([x for x in self.items if x[0].published])
        unit = rng.choice(self.units)
        owner = self.owners[unit.id]
        qty = rng.choice((1, 1, 2, 3)) if item.price_unit in ("台", "个") else 1
        qty = rng.randint(2, 4) if item.price_unit == "小时" else qty
        fee = item.price * qty
        ago = {"booked": rng.randint(1, 2), "scheduled": rng.randint(1, 3), "accepted": rng.randint(3, 6),
               "rejected": rng.randint(3, 6), "cancelled": rng.randint(4, 40)}.get(final, rng.randint(6, 88))
        booked = self.on(today - ago * DAY)
        agreed = self.on(today + rng.randint(1, 4) * DAY if final in ("booked", "scheduled")
                         else booked.date() + rng.randint(1, 2) * DAY, 9, 16)
        holder: dict[str, ServiceOrder] = {}
        scheduler = "maintenance" if dept == "工程维修部" else "supervisor"

        def book() -> None:
            holder["o"] = services.book_order(
                item=item, unit=unit, owner=owner, contact=owner.contact_person or owner.name, phone=owner.phone,
                area=rng.choice(areas), agreed_time=agreed, expected_result=expected, fee=fee, user=None, at=booked,
                agreement="written" if fee >= 200 else "oral", note=f"数量:{qty}{item.price_unit}" if qty > 1 else None)
            self.later(holder["o"], "booked_by", rng.choice(("frontdesk", "frontdesk", "supervisor")))

        def plan(at: datetime) -> Callable[[], None]:
            def step() -> None:
                services.schedule(holder["o"], staff=rng.choice(WORKERS[dept]), at=at, user=None)
                self.later(holder["o"], "scheduled_by", scheduler)
            return step

        def accept(ok: bool, note: str, at: datetime) -> Callable[[], None]:
            return lambda: services.record_acceptance(holder["o"], accepted=ok, note=note, user=None, at=at)

        self.event(booked, book)
        if final == "booked":
            return
        if final == "cancelled":  # before the agreed time, half of them after scheduling
            if i % 2:
                self.event(booked + timedelta(hours=2), plan(agreed))
            self.event(booked + rng.randint(3, 20) * timedelta(hours=1),
                       lambda: services.cancel(holder["o"], reason=rng.choice(ORDER_CANCELS), user=None))
            return
        self.event(booked + timedelta(hours=rng.randint(1, 3)), plan(agreed))
        if final == "scheduled":
            return
        done = agreed + timedelta(minutes=rng.randint(60, 180))
        bad = final in ("rejected", "redo")
        self.event(done, accept(not bad, rng.choice(REJECT_NOTES if bad else ACCEPT_NOTES), done))
        if final == "redo":  # re-done a day or two later and then accepted
            again = self.on(done.date() + rng.randint(1, 2) * DAY, 9, 15)
            self.event(done + timedelta(hours=1), plan(again))
            done = again + timedelta(minutes=rng.randint(60, 120))
            self.event(done, accept(True, "返工后验收合格", done))
        if final in ("charged", "redo"):
            paid = done + timedelta(minutes=rng.randint(10, 40))
            self.event(paid, lambda: self.charge(holder["o"], paid))

    def charge(self, order: ServiceOrder, t: datetime) -> None:
        last = self.paid.get(t.date())
        if last is not None and t <= last:  # after the day's last receipt, so SK numbers follow the clock
            t = last + timedelta(minutes=self.rng.randint(3, 15))
        self.paid[t.date()] = t
        payment = services.charge(order, method=self.rng.choice(METHODS), clerk=None, at=t)
        self.later(payment, "clerk", "frontdesk")

    # ------------------------------------------------------------ checks

    def verify(self) -> None:
        s = self.session
        for model, choice in ((ServiceOrder, OrderStatus), (CommunityEvent, EventStatus)):
            found = set(s.scalars(select(model.status).distinct()))
            if found != {m.value for m in choice}:
                raise RuntimeError(f"演示{model.__tablename__}缺少状态: {({m.value for m in choice}) - found}")
        overdue = s.scalars(visits.overdue_visits_query(self.today)).all()
        if len(overdue) < 5 or len(community.boards_due(self.today)) < 2:
            raise RuntimeError("演示回访计划应有逾期的计划,宣传栏应有待更换的内容")
