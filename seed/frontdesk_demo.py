"""Demo front desk for `flask seed-demo`: the call log, complaints, release slips and visitors.

Like the ledger and the occupancy demo, every date is relative to `today` (the office's today by default), so
whenever the demo is loaded the panel shows calls still waiting for a callback, complaints in every step with
some awaiting their follow-up visit, release slips refused for arrears and let through by a supervisor, and
visitors who are in the building right now. Everything goes through the panel's own rules (app.calls,
app.complaints, app.release, app.workorders), so statuses, numbers (TSyyyymmdd-nnnn, FXyyyymmdd-nnnn,
WX...), refusals and the audit trail are what the panel itself would write. The steps run in time order, so
each day's numbers follow the clock.

As in seed/occupancy_demo.py, the demo's audit trail is written by "seed" alone: the rule steps run without a
user and the staff usernames (登记人, 定性人, 回访人, 开具人, ...) are filled in afterwards with one
"补录经办人" audit row per record. The supervisor's arrears override needs someone with the role, so it runs as
a stand-in carrying the supervisor's roles but no username, and 审批人 is filled in at once (issue checks it).

Calls turned into work orders: the occupancy demo already holds work orders whose source is 来电; each gets
the call it came from (linked as 转维修工单 does). Only NEW_CALL_ORDERS calls open new orders through
app.calls.to_work_order, because tests/test_seed_occupancy.py expects at most 65 work orders in the demo.

Visitors have no rule function (登记离开 only stamps time_out), so they are added directly after Visitor.check.
Before 09:00 the desk's "today" is yesterday (the office is not open yet): drafts, visitors still inside and
the like are then dated yesterday afternoon, and every step is always in the past.

Randomness comes from the `rng` passed in: the same seed on the same day gives the same data.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app import calls, clock, complaints, release
from app.arrears import arrears_for_unit, arrears_rows
from app.audit import audit_context
from app.extensions import db
from app.validators import check_phone, check_resident_id
from app.workorders import dispatch
from schema.complaints import (
    KIND_CATEGORIES,
    CallLog,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
)
from schema.org import AppUser, Department
from schema.people import Owner, OwnerKind, Ownership, Relation, Resident
from schema.property import Unit, UnitUsage
from schema.release import ReleaseItem, ReleaseSlip, SlipStatus
from schema.visitors import Visitor
from schema.work_orders import WorkOrder

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
CALLS = 120
NEW_CALL_ORDERS = 5  # calls opening new work orders (see the module docstring)
PENDING_NOW = 6  # calls since yesterday still waiting for their callback (待回复)
CS, GUARD, MAINTENANCE, CLEANING, GARDEN = "客户服务中心", "秩序维护部", "工程维修部", "保洁部", "绿化部"

# ---------------------------------------------------------------- calls

# Answered on the spot: (identity, what the caller asked, the answer given)
ANSWERED = (
    ("owner", "咨询物业费缴费方式", "可通过微信、支付宝缴纳,或到客户服务中心现场刷卡、现金缴纳;银行代扣可到前台签约办理"),
    ("owner", "咨询装修申请需要提交哪些资料", "需提供装修方案、施工单位营业执照及负责人身份证复印件,到客户服务中心办理装修登记并缴纳装修押金"),
    ("owner", "咨询地下车位月租价格及办理流程", "地下车位月租300元,携带行驶证、业主证明到前台办理,可按季或按年缴纳"),
    ("owner", "业主卡丢失,询问如何补办", "携带本人身份证到客户服务中心补办,工本费20元,当场可取"),
    ("owner", "咨询房屋出租需要办理什么手续", "需到前台登记租户信息并提供租户身份证复印件,同时到社区工作站办理租赁备案"),
    ("owner", "询问给家人添加门禁卡", "业主携带本人及家人身份证到前台办理,每张门禁卡工本费30元"),
    ("owner", "询问本月物业费账单金额", "已核对账单并告知应缴金额及缴费截止日期,可通过微信缴纳"),
    ("owner", "咨询宠物登记要求", "犬只须办理犬证并到前台登记,出门须拴绳并及时清理粪便"),
    ("owner", "询问阳台能否加装防盗网", "须使用管理处统一样式的隐形防盗网,安装前到前台登记,由工程维修部现场确认"),
    ("owner", "询问燃气开通如何办理", "请拨打燃气公司客服电话95007预约上门开通,需业主本人在场并出示房产证明"),
    ("resident", "询问停水通知的具体时间", "因市政管网维修,本周四09:00–15:00停水,已在各栋大堂及电梯内张贴通知"),
    ("resident", "快递柜取件码收不到,询问怎么取件", "可在快递柜屏幕选择“手机号取件”找回取件码,或直接联系派件快递员"),
    ("resident", "询问小区游泳池开放时间", "游泳池6月至9月开放,每日14:00–21:00,首次入场须到前台办理游泳证"),
    ("resident", "询问垃圾分类投放时间", "每日07:00–09:00、18:00–21:00定时定点投放,大件垃圾请投放至南门大件垃圾点"),
    ("resident", "咨询电动自行车充电桩位置", "充电桩设在3栋、6栋架空层,扫码充电,禁止将电动自行车推入电梯和楼道"),
    ("resident", "询问租户能否办理临时停车月卡", "租户凭租赁合同及业主授权书到前台办理,月卡价格与业主相同"),
    ("resident", "询问客户服务中心周末是否上班", "客户服务中心全年无休,办公时间08:30–18:00,夜间可拨打值班电话"),
    ("visitor", "询问访客车辆能否开进小区", "访客车辆在南门岗亭登记并经住户确认后可进入,临时停车每小时5元"),
    ("visitor", "询问某住户住在几栋,想上门拜访", "按规定不透露住户信息,已建议来电人直接联系住户本人"),
    ("visitor", "询问小区周边停车场位置", "已告知南门对面龙珠大道公共停车场位置及收费标准"),
    ("other", "快递员询问3栋大堂快递柜位置", "快递柜在3栋大堂东侧,大件快递可暂存南门岗亭"),
    ("other", "房产中介询问小区在售房源", "管理处不提供房源及业主信息,已婉拒"),
    ("other", "社区工作站通知下周开展消防安全宣传", "已记录,将在各栋公告栏张贴通知并安排场地"),
    ("other", "燃气公司通知下月入户安检时间", "已记录安检日期,将提前在业主群和公告栏通知住户"),
    ("other", "供电局通知周六凌晨线路检修停电", "已记录停电时段,将通知各栋住户并安排电梯停运前巡查"),
)
# Callback needed: (identity, content, department, result of the callback)
PENDING = (
    ("owner", "反映去年多缴了一个月物业费,要求核实能否退回", CS, "已核实多缴金额,已抵扣下期物业费并电话告知业主"),
    ("owner", "询问B2层是否还有空余车位可租", CS, "已回复:B2层尚有3个空位,业主已预约周末到前台办理"),
    ("owner", "反映楼上邻居装修噪音大,希望物业协调", GUARD, "秩序维护部已上门提醒装修户按规定时间施工,已电话回复业主"),
    ("owner", "要求开具去年全年的物业费发票", CS, "发票已开具,已通知业主到前台领取"),
    ("owner", "询问房产证办理进度", CS, "已向开发商查询,预计下月底统一发放,已电话回复业主"),
    ("owner", "反映自家车位被他人车辆占用", GUARD, "秩序维护部已联系车主挪车,已回复业主"),
    ("owner", "希望在单元门口加装扶手,方便家中老人出入", MAINTENANCE, "工程维修部已现场评估,计划下月加装,已电话回复业主"),
    ("owner", "反映楼下绿化带树枝伸到阳台,要求修剪", GARDEN, "绿化部已于次日修剪完毕,已电话告知业主"),
    ("resident", "反映小区内有流浪狗出没,担心孩子安全", GUARD, "秩序维护部已联系动物救助机构带走流浪狗,已回复来电人"),
    ("resident", "快递显示已送达但门口没有,要求查看监控", GUARD, "已调取监控,快递员误投至隔壁单元,已找回并告知住户"),
    ("resident", "反映楼道夜间有人吸烟,烟味很大", GUARD, "秩序维护部已加强夜间巡查并张贴禁烟提示,已回复住户"),
    ("resident", "反映楼顶天台堆放杂物,担心火灾隐患", CLEANING, "保洁部已清理天台杂物,已电话告知住户"),
    ("resident", "询问能否在家门口安装可视门铃", MAINTENANCE, "已答复:可自行安装,不得破坏公共墙面线路,安装前到前台登记"),
    ("other", "业委会委员要求查阅本年度公共维修资金使用明细", CS, "已预约本周五在客户服务中心查阅,已电话告知"),
    ("other", "电梯维保公司要求确认下月保养时间", MAINTENANCE, "工程维修部已与维保公司确认保养排期,已回复"),
)
FOLLOWUP_ANSWERED = (
    "回访确认来电人已按指引办理完毕",
    "回访时来电人表示问题已解决,对答复满意",
    "电话回访,来电人确认已收到通知",
)
# Repairs reported by phone that open new work orders: (content, category)
NEW_ORDER_CALLS = (
    ("卫生间天花板滴水,怀疑楼上卫生间渗漏", "leak"),
    ("厨房水龙头关不紧,一直滴水", "other"),
    ("客厅墙壁开关按下时冒火花", "safety"),
    ("入户门门铃不响,换了电池也没用", "other"),
    ("阳台推拉门锁扣损坏,门关不严", "other"),
)

# ---------------------------------------------------------------- complaints

# category -> (department, [(content, on-site handling, follow-up result)]); "{b}" the building, "{f}" a floor
COMPLAINTS = {
    "cleaning": (CLEANING, (
        ("{b}电梯厅和楼道连续两天没有拖地,地面有饮料洒落的污渍,踩上去黏脚",
         "保洁部主管到场查看,当即安排保洁员清洁,并将该栋电梯厅清洁频次调整为早晚各一次",
         "回访时楼道保持清洁,投诉人表示满意"),
        ("{b}垃圾房的垃圾桶满了晚上也没人清运,气味很大,招蚊虫",
         "保洁部主管现场核实,增加晚间19:00一次清运,垃圾房已冲洗消毒",
         "连续三天抽查垃圾均按时清运,业主表示满意"),
        ("地下车库B1层积水和落叶多日无人清理,行人容易滑倒",
         "保洁部主管组织清理积水和落叶,工程维修部同时疏通了排水沟",
         "回访时车库地面干净无积水,业主满意"),
        ("{b}单元门口宠物粪便好几天没人清理,进出都要绕着走",
         "保洁部主管安排当即清理消毒,将该处列入每日重点巡查点,并在门口张贴文明养宠提示",
         "回访时单元门口保持干净,业主表示满意"),
    )),
    "vehicle": (GUARD, (
        ("本人固定车位连续几天被一辆外来车辆占用,跟门岗反映后没人处理",
         "秩序维护部主管现场联系车主挪车,将该车牌列入重点登记名单并加强巡查",
         "回访时车位未再被占用,业主表示满意"),
        ("{b}楼下消防通道长期停放私家车,晚上救护车都进不来",
         "主管现场张贴违停告知单并联系车主移车,在消防通道入口加装隔离桩",
         "回访时消防通道畅通,投诉人满意"),
        ("南门道闸车牌识别很慢,早高峰车辆排队排到市政路上",
         "主管现场调试识别摄像头补光,早高峰增派一名岗亭人员人工放行",
         "回访时业主反映早高峰通行已明显改善"),
        ("地下车库有电动自行车停在汽车车位上,还私拉电线充电",
         "秩序维护部主管现场清理违停电动车,拆除私拉电线,并通知车主到充电桩充电",
         "回访时车库未再发现私拉电线,业主满意"),
    )),
    "charges": (CS, (
        ("退装修押金时被扣了500元,物业没有说明扣款原因",
         "客服主管与业主当面核对装修巡查记录,扣款依据为违规拆改阳台墙体,已出示照片并解释",
         "业主表示理解,不再追究"),
        ("临时停车收费与公示标准不一致,多收了10元",
         "核实为岗亭收费员操作失误,已当面退还多收费用并向业主致歉",
         "回访时业主表示满意"),
        ("物业费账单上重复计了一个月的公摊水电费",
         "客服主管核对账单确有重复计费,已冲销并重新出具账单",
         "回访时业主确认新账单无误,表示满意"),
    )),
    "maintenance": (MAINTENANCE, (
        ("{b}电梯一周内两次困人,报修后维保单位迟迟不来",
         "工程维修部主管约电梯维保单位现场全面检修,更换门机控制板,并加密维保频次",
         "回访时电梯运行正常,业主基本满意"),
        ("{b}{f}楼楼道灯坏了一个多星期,报修两次都没人来修",
         "主管到场核实,当天更换灯具,并就报修未及时处理向业主致歉",
         "回访时楼道照明正常,业主满意"),
        ("二次供水水箱清洗超期未做,最近自来水有异味",
         "主管现场查看水箱,安排专业公司清洗消毒,并在各栋大堂张贴水质检测报告",
         "回访时业主反映水质已恢复正常"),
        ("{b}单元门禁坏了半个月,门一直开着,外来人员随便进出",
         "工程维修部主管现场检查,更换门禁控制器和磁力锁,门禁恢复正常",
         "回访时门禁使用正常,业主满意"),
    )),
    "violation": (GUARD, (
        ("{b}{f}楼有住户在公共走廊堆放纸箱和旧家具,堵住了消防通道",
         "秩序维护部主管与秩序维护员上门劝导,该住户当天清理完毕",
         "回访时走廊已清理干净,投诉人满意"),
        ("楼上住户周末早上7点多就开始用电钻装修,严重扰民",
         "主管上门告知装修时间规定(工作日08:00–12:00、14:00–18:00,周末禁止噪音施工),装修户签署了承诺书",
         "回访时业主表示周末已无噪音施工"),
        ("楼上有人从窗户往下扔烟头,落在我家阳台上",
         "主管调取高空监控锁定楼层,上门提醒教育,并在该栋张贴文明告示",
         "回访时业主表示近一周未再发现烟头"),
        ("{b}{f}楼有住户把空调外机装在公共楼梯间窗外,噪音和热风直吹楼道",
         "秩序维护部主管上门告知违规安装情况,住户同意一周内移装至预留机位",
         "回访时空调外机已移装,投诉人满意"),
    )),
    "help": (CS, (
        ("家中老人独居,这两天电话一直联系不上,请物业帮忙上门看看",
         "秩序维护部主管陪同社区网格员上门查看,老人身体无恙,手机欠费停机,已协助充值",
         "家属来电表示感谢"),
        ("快递显示已签收但没有收到,请物业协助查找",
         "客服主管调取监控,发现快递员误投至相邻楼栋,已找回并送至业主家中",
         "回访时业主表示感谢"),
        ("孩子把钥匙锁在家里了,请协助联系开锁",
         "秩序维护员协助联系公安备案的开锁公司,核实业主身份后开锁",
         "回访时业主表示满意"),
        ("家里老人行动不便,希望物业帮忙把旧家具搬到楼下大件垃圾点",
         "客服主管安排两名秩序维护员协助搬运,已放置到南门大件垃圾点",
         "业主表示感谢"),
        ("晚上下班回家发现车被刮了,请物业帮忙调取车库监控",
         "秩序维护部主管陪同业主调取监控,找到刮车车辆并协助双方联系处理",
         "业主表示满意,已与对方协商赔偿"),
    )),
    "inquiry": (CS, (
        ("对物业费上调的通知有疑问,要求解释调价依据",
         "客服主管当面说明调价已经业主大会表决通过,出示了表决公告及成本测算表",
         "业主表示理解"),
        ("询问广告位、场地租金等公共收益的使用情况,要求公示",
         "客服主管说明公共收益按季度公示,已提供上季度收支明细",
         "回访时业主表示已看到公示"),
        ("询问小区为什么还没有安装电动汽车充电桩,问了几次都没有答复",
         "客服主管说明充电桩已完成选址报批,预计下月安装,并提供了施工进度表",
         "业主表示会继续关注"),
        ("询问公共维修资金为什么要用于更换电梯,要求说明表决情况",
         "客服主管出示业主大会表决结果公告及电梯检测报告,逐项说明使用程序",
         "业主表示理解"),
        ("询问物业合同到期后是否续签,业主大会何时召开",
         "客服主管说明业委会已启动续聘程序,业主大会定于下月召开,通知将张贴在各栋大堂",
         "业主表示已了解"),
    )),
    "venting": (CS, (
        ("对小区管理整体不满,情绪激动,认为物业只收钱不办事",
         "客服主管当面耐心倾听,逐条记录业主反映的问题,承诺一周内逐条书面答复",
         "业主情绪平复,表示会观察后续改进"),
        ("因车位紧张与门岗保安发生争执,来电发泄不满",
         "客服主管约业主面谈,了解争执经过,就保安态度问题致歉并说明车位管理规定",
         "业主接受道歉"),
        ("连续几次报事都要打好几遍电话才有人接,业主在电话里发脾气",
         "客服主管向业主致歉,说明已增设一条服务热线并调整高峰时段接线人员",
         "业主情绪缓和,表示会看后续服务"),
    )),
}
IDENTITY_NOTES = {
    "owner": ("核对业主姓名、房号与登记资料一致,来电号码为业主登记电话", "查验业主身份证原件,与业主登记资料一致",
              "核对业主姓名、房号及预留电话,身份属实"),
    "resident": ("核对住户登记资料,姓名、房号与住户登记一致", "查验身份证原件,与住户登记资料一致"),
}
# (from category, content, to category, reason, handling, follow-up result)
ESCALATIONS = (
    ("venting", "对小区卫生状况很不满意,说楼道脏了好几天都没人管,情绪激动", "cleaning",
     "经主管复核,投诉人反映的楼道卫生问题属实(连续三天未清洁),不属单纯情绪发泄,升级为有效投诉",
     "保洁部主管到场查看并安排彻底清洁,对当班保洁员进行考核,调整该栋排班",
     "回访时楼道已保持清洁,业主表示满意"),
    ("inquiry", "询问{b}电梯为什么经常停运,上周已经问过一次", "maintenance",
     "首次按咨询答复后,电梯本周再次停运困人,经主管复核属设备维修保养失职,升级为有效投诉",
     "工程维修部主管约维保单位全面检修曳引机及门机系统,更换磨损部件",
     "回访时电梯运行平稳,业主满意"),
    ("help", "请物业协助处理邻居家狗整夜叫,影响休息", "violation",
     "经核实邻居违规饲养大型犬且未办理犬证、遛狗不拴绳,属违规行为,升级为有效投诉",
     "秩序维护部主管上门告知养犬管理规定,犬主已办理登记并承诺夜间看管",
     None),
    ("inquiry", "询问为什么要收取装修垃圾清运费,之前没有听说过", "charges",
     "经核查该项收费未在收费公示中列明,属乱收费,升级为有效投诉并退还已收费用",
     "客服主管向业主致歉并退还已收取的装修垃圾清运费,收费项目重新报批公示",
     None),
)
FIRST_HANDLING = {  # how a communication complaint was first handled, before its escalation
    "venting": "客服主管上门安抚业主情绪,解释将加强日常保洁管理",
    "inquiry": "客服主管当面答复业主的询问,说明已安排维保单位检查",
    "help": "客服主管电话联系邻居沟通,邻居表示会注意",
}
# How many complaints end in each status; "awaiting follow-up" is on_site.
COMPLAINT_PLAN = (("registered", 5), ("classified", 5), ("assigned", 6), ("on_site", 7), ("visited", 17))
COMPLAINTS_FROM_CALLS = 10
CHANNELS = (("visit", 10), ("phone", 6), ("online", 5), ("letter", 2), ("other", 1))
DISSATISFIED = "投诉人对处理结果仍不满意,已记录并上报管理处经理跟进"

# ---------------------------------------------------------------- release slips

MOVE_OUT = ("搬家", (
    ("三人位布艺沙发", 1, "套"), ("双门冰箱", 1, "台"), ("纸箱(衣物、书籍)", (8, 30), "个"), ("双人床垫", 1, "张"),
    ("滚筒洗衣机", 1, "台"), ("液晶电视机", 1, "台"), ("实木餐桌", 1, "张"), ("餐椅", 4, "把"), ("行李箱", (1, 4), "个"),
    ("书柜", 1, "个"), ("电脑主机及显示器", 1, "套"),
))
REASONS = (
    ("搬出部分家具", (("三人位布艺沙发", 1, "套"), ("茶几", 1, "张"), ("纸箱(杂物)", (3, 10), "个"))),
    ("旧家电回收", (("旧冰箱", 1, "台"), ("旧洗衣机", 1, "台"), ("旧空调室内机", 1, "台"))),
    ("家电送修", (("空调室外机", 1, "台"), ("电热水器", 1, "台"))),
    ("装修拆除物外运", (("拆除的旧橱柜", 1, "套"), ("旧木门", 2, "扇"), ("电动工具(电锤、切割机)", 2, "台"))),
    ("赠送亲友旧家具", (("婴儿床", 1, "张"), ("儿童书桌", 1, "张"), ("纸箱(玩具、童书)", (2, 6), "个"))),
)
SHOP_CLEARANCE = ("商铺清货", (("金属货架", 6, "个"), ("收银台", 1, "套"), ("纸箱(库存商品)", (10, 40), "箱"),
                              ("展示冷柜", 1, "台")))
OVERRIDE_REASONS = (
    "业主已签署欠费缴纳承诺书,承诺本月底前结清,搬家时间已约定,经主管审批同意放行",
    "业主出示已转账凭证,银行到账需1–2个工作日,同意先行放行",
    "欠费系对装修押金扣款存在争议,争议另行处理,生活物品先行放行",
)
GUARDS = ("孙立军", "何志伟", "马晓东", "刘建军")
MOVERS = ("深圳市安顺搬家服务有限公司", "深圳市蚂蚁搬家有限公司", "深圳市大众搬家服务部")

# ---------------------------------------------------------------- visitors

UNIT_VISITS = (  # purpose, note
    ("探亲访友", None), ("探亲访友", None), ("探亲访友", "携带礼品"), ("家政保洁服务", "家政公司员工"),
    ("送货安装(家电)", "苏宁送装师傅"), ("装修设计上门量房", "设计公司员工"), ("宽带安装维修", "电信装维人员"),
    ("月嫂上门服务", None), ("家教上门辅导", None), ("看房(租房)", "中介陪同"), ("送货上门(家具)", "家具城送货"),
)
DEPARTMENT_VISITS = (  # department, purpose, note
    (CS, "应聘客服专员面试", None),
    (CS, "社区工作站检查垃圾分类工作", "南山区桃源街道社区工作站"),
    (CS, "业委会委员查阅公共维修资金使用台账", None),
    (MAINTENANCE, "电梯季度维保", "深圳市安达电梯工程有限公司"),
    (MAINTENANCE, "消防设施年度检测", "深圳市华安消防技术服务有限公司"),
    (MAINTENANCE, "二次供水水箱清洗消毒", "深圳市清源水务服务有限公司"),
    (GUARD, "派出所民警走访了解治安情况", "桃源派出所"),
    (GUARD, "监控系统维护", "深圳市天眼安防科技有限公司"),
    (CLEANING, "垃圾清运公司结算对账", "深圳市洁城环卫服务有限公司"),
    (GARDEN, "园林苗木送货", "深圳市绿景园林苗木有限公司"),
)
VISITORS = 60


class _Acting:
    """A stand-in for a staff account where a rule checks roles: it carries the roles but no username,
    so the audit row stays the seed's (the username is filled in right after)."""

    def __init__(self, user: AppUser):
        self.roles = user.roles


@dataclass
class Caller:
    name: str
    phone: str | None
    unit: Unit | None
    identity: str  # owner / resident / visitor / other
    relation: str | None = None


@dataclass
class ComplaintPlan:
    final: str
    category: str | None  # the final category (None while only registered)
    content: str
    caller: Caller
    channel: str
    times: dict[str, datetime] = field(default_factory=dict)
    escalation: tuple | None = None
    handling: str = ""
    result: str | None = None
    satisfied: bool = True
    from_call: bool = False
    call_answered: bool = False
    record: Complaint | None = None
    call: CallLog | None = None


def load_frontdesk(rng: random.Random | None = None, today: date | None = None) -> dict[str, int]:
    """Add calls, complaints, release slips and visitors to a database holding the rest of the demo;
    commit; return row counts of the tables it writes (with work_order, which calls add to).

    `today` other than the office's today stands for 18:00 that day."""
    rng = rng or random.Random(2026)
    session = db.session
    try:
        with audit_context(session, username="seed"):
            _FrontDesk(rng, today).run()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
            for m in (CallLog, Complaint, ReleaseSlip, ReleaseItem, Visitor, WorkOrder)}


class _FrontDesk:
    def __init__(self, rng: random.Random, today: date | None):
        from seed.demo import _Generator

        self.rng = rng
        self.now = clock.now() if today is None or today == clock.today() else datetime.combine(today, time(18))
        self.today = self.now.date()
        # the desk's working day: before 09:00 the office has not opened yet, so "today" at the desk is yesterday
        self.desk_day = self.today if self.now.time() >= time(9) else self.today - DAY
        self.desk_now = min(self.now, datetime.combine(self.desk_day, time(19, 30)))
        self.session = db.session
        self.gen = _Generator(rng)
        self.fixups: list[tuple[object, str, str]] = []  # (record, attribute, username) set after the steps
        self.events: list[tuple[datetime, int, Callable[[], None]]] = []

    # ------------------------------------------------------------ helpers

    def at(self, days_ago: int, start_hour: int = 8, end_hour: int = 18) -> datetime:
        """A time of day `days_ago` days before the desk's day within the hours given, never later than now."""
        t = datetime.combine(self.desk_day - timedelta(days=days_ago),
                             time(self.rng.randint(start_hour, end_hour - 1), self.rng.randint(0, 59)))
        if t >= self.desk_now - 10 * MINUTE:
            t = self.desk_now - timedelta(minutes=self.rng.randint(10, 150))
        return t

    def after(self, t: datetime, lo_minutes: int, hi_minutes: int) -> datetime:
        """`t` plus lo..hi minutes, moved into office hours (08:00–19:00) when it falls outside them."""
        t = t + timedelta(minutes=self.rng.randint(lo_minutes, hi_minutes))
        if t.hour >= 19:
            t = datetime.combine(t.date() + DAY, time(8, self.rng.randint(30, 59)))
        elif t.hour < 8:
            t = datetime.combine(t.date(), time(8, self.rng.randint(30, 59)))
        return t

    def past(self, *times: datetime) -> bool:
        return max(times) < self.now - 2 * MINUTE

    def event(self, t: datetime, step: Callable[[], None]) -> None:
        """Run `step` at `t`: every step runs in time order, so each day's numbers follow the clock."""
        if t >= self.now:
            raise RuntimeError(f"演示前台数据时间晚于现在: {t}")
        self.events.append((t, len(self.events), step))

    def later(self, record, attr: str, username: str) -> None:
        self.fixups.append((record, attr, username))

    def log_call(self, **kw) -> CallLog:
        """app.calls.log_call run without a user; 接听人 is filled in afterwards."""
        clerk = kw.pop("taken_by")
        call = calls.log_call(taken_by=None, **kw)
        self.later(call, "taken_by", clerk)
        return call

    def open_slip(self, **kw) -> ReleaseSlip:
        """app.release.open_slip run without a user; 登记人 is filled in afterwards."""
        clerk = kw.pop("created_by")
        slip = release.open_slip(created_by=None, **kw)
        self.later(slip, "created_by", clerk)
        return slip

    def desk_user(self) -> str:
        return self.rng.choices(("frontdesk", "supervisor", "admin"), (8, 2, 1))[0]

    def label(self, unit: Unit | None) -> str:
        return f"{unit.building.name}{unit.room_no}" if unit else ""

    def fill(self, text: str, unit: Unit | None) -> str:
        building = unit.building.name if unit else self.rng.choice(self.buildings)
        floor = unit.floor if unit and unit.floor and unit.floor > 1 else self.rng.randint(2, 12)
        return text.format(b=building, f=floor)

    # ------------------------------------------------------------ the run

    def run(self) -> None:
        s = self.session
        self.users = {u.username: u for u in s.scalars(select(AppUser))}
        self.supervisor = self.users["supervisor"]
        self.departments = {d.name: d for d in s.scalars(select(Department))}
        self.gen.phones |= {p for p in [*s.scalars(select(Owner.phone)), *s.scalars(select(Resident.phone))] if p}
        self.gen.ids |= {i for i in [*s.scalars(select(Owner.id_number)), *s.scalars(select(Resident.id_number))]
                         if i}
        self.gen.names |= set(s.scalars(select(Owner.name))) | set(s.scalars(select(Resident.name)))
        self.buildings = sorted({u.building.name for u in s.scalars(select(Unit))})
        self.people()

        self.plan_complaints()
        self.plan_calls()
        self.plan_slips()
        for _, _, step in sorted(self.events, key=lambda e: (e[0], e[1])):
            step()
        self.visitors()
        with audit_context(s, action="补录经办人"):
            for record, attr, username in self.fixups:
                setattr(record, attr, username)
            s.flush()
        self.verify()

    def people(self) -> None:
        """Who may call or complain: residents living here now, and person owners (with their units)."""
        s = self.session
        self.callers: list[Caller] = []
        for r in s.scalars(select(Resident).where(Resident.move_out_date.is_(None), Resident.phone.is_not(None))
                           .order_by(Resident.id)):
            owner = r.relation == Relation.owner
            self.callers.append(Caller(r.name, r.phone, r.unit, "owner" if owner else "resident", str(r.relation)))
        living = {(c.name, c.unit.id) for c in self.callers}
        self.owners: dict[int, list[Owner]] = {}  # unit id -> owners, primary first
        for o in s.scalars(select(Ownership).order_by(Ownership.unit_id, Ownership.is_primary.desc(), Ownership.id)):
            self.owners.setdefault(o.unit_id, []).append(o.owner)
            if o.owner.kind == OwnerKind.person and (o.owner.name, o.unit_id) not in living and o.owner.phone:
                self.callers.append(Caller(o.owner.name, o.owner.phone, o.unit, "owner", "owner"))

    def outsider(self, identity: str) -> Caller:
        p = self.gen.person(1965, 2002)
        return Caller(p.name, p.phone, None, identity)

    # ------------------------------------------------------------ complaints

    def plan_complaints(self) -> None:
        rng = self.rng
        finals = [name for name, n in COMPLAINT_PLAN for _ in range(n)]
        # four escalated: two visited back, one handled on site, one sent to its department
        escalated = list(zip(("visited", "visited", "on_site", "assigned"), ESCALATIONS))
        for status, _ in escalated:
            finals.remove(status)
        # every category at least once among the judged ones, valid ones more often
        judged = len(finals) - dict(COMPLAINT_PLAN)["registered"]
        order = list(COMPLAINTS)
        categories = order + rng.choices(order, [4, 3, 2, 4, 4, 2, 2, 1], k=judged - len(order))
        rng.shuffle(categories)
        rng.shuffle(finals)
        used: set[str] = set()
        self.complaint_plans: list[ComplaintPlan] = []

        def content_for(category: str, unit) -> tuple[str, str, str | None]:
            texts = COMPLAINTS[category][1]
            fresh = [t for t in texts if t[0] not in used] or list(texts)
            text, handling, result = rng.choice(fresh)
            used.add(text)
            return self.fill(text, unit), handling, result

        cats = iter(categories)
        for final in finals:
            caller = rng.choice(self.callers)
            if final == "registered":
                category = None
                content, handling, result = content_for(rng.choice(order), caller.unit)
            else:
                category = next(cats)
                content, handling, result = content_for(category, caller.unit)
            self.complaint_plans.append(ComplaintPlan(final, category, content, caller, self.channel(),
                                                      handling=handling, result=result))
        for status, esc in escalated:
            caller = rng.choice([c for c in self.callers if c.unit is not None])
            _source, text, target, _reason, handling, result = esc
            self.complaint_plans.append(ComplaintPlan(status, target, self.fill(text, caller.unit), caller,
                                                      self.channel(), escalation=esc, handling=handling,
                                                      result=result))
        rng.shuffle(self.complaint_plans)
        for p in self.complaint_plans:
            if p.final == "visited" and rng.random() < 0.1:
                p.satisfied, p.result = False, DISSATISFIED
            self.schedule_complaint(p)
        # some came in by phone and were logged as calls first (转投诉)
        for p in rng.sample(self.complaint_plans, COMPLAINTS_FROM_CALLS):
            p.from_call, p.channel = True, "phone"
        for p in sorted(self.complaint_plans, key=lambda p: p.times["received"]):
            self.complaint_events(p)

    def channel(self) -> str:
        return self.rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]

    def schedule_complaint(self, p: ComplaintPlan) -> None:
        """Step times for the plan's final status, every one in the past."""
        rng = self.rng
        recent = {"registered": (0, 1), "classified": (0, 3), "assigned": (1, 4), "on_site": (2, 9),
                  "visited": (5, 58)}[p.final]
        if p.escalation:
            recent = {"assigned": (2, 6), "on_site": (4, 12), "visited": (15, 55)}[p.final]
        steps = ("registered", "classified", "assigned", "on_site", "visited").index(p.final)
        for _ in range(200):
            t = {"received": self.at(rng.randint(*recent), 8, 18)}
            if steps >= 1:
                t["classified"] = t["received"] if rng.random() < 0.3 else self.after(t["received"], 5, 90)
            if p.escalation:  # judged as communication, then re-examined by the supervisor
                if p.escalation[0] == "venting" or rng.random() < 0.3:  # first handled as communication
                    t["first_assigned"] = self.after(t["classified"], 10, 120)
                    t["first_on_site"] = self.after(t["first_assigned"], 30, 6 * 60)
                    t["escalated"] = self.after(t["first_on_site"], 24 * 60, 3 * 24 * 60)
                else:
                    t["escalated"] = self.after(t["classified"], 24 * 60, 2 * 24 * 60)
            last = t.get("escalated") or t.get("classified")
            if steps >= 2:
                t["assigned"] = self.after(last, 10, 180)
            if steps >= 3:
                t["on_site"] = self.after(t["assigned"], 30, 24 * 60)
            if steps >= 4:
                t["visited"] = self.after(t["on_site"], 24 * 60, 3 * 24 * 60)
            if p.final == "on_site" and not self.past(t["on_site"] + 3 * 60 * MINUTE):
                continue  # awaiting the follow-up for a while, not handled a minute ago
            if self.past(*t.values()):
                p.times = t
                return
        raise RuntimeError(f"演示投诉时间无法安排: {p.final} {p.content}")

    def complaint_events(self, p: ComplaintPlan) -> None:
        rng, t = self.rng, p.times
        clerk = self.desk_user()
        kind = category = None
        if p.category:
            category = p.escalation[0] if p.escalation else p.category
            kind = next(k for k, cats in KIND_CATEGORIES.items() if category in cats)
        at_once = "classified" in t and t["classified"] == t["received"]

        if p.from_call:  # the call comes first, then 转投诉
            call_at = t["received"] - timedelta(minutes=rng.randint(3, 12))
            answered = p.call_answered = rng.random() < 0.2
            dept = self.departments[COMPLAINTS[p.category][0] if p.category else CS]
            holder: dict[str, CallLog] = {}

            def log() -> None:
                holder["call"] = self.log_call(
                    caller=p.caller.name, content=p.content, identity=p.caller.identity, unit=p.caller.unit,
                    phone=p.caller.phone, answered=answered,
                    answer="已向来电人致歉,记录投诉内容并告知将转责任部门处理" if answered else None,
                    callback=None if answered else f"{p.caller.phone}(本人)",
                    department=dept,
                    taken_by=clerk, at=call_at)

            def convert() -> None:
                p.record = calls.to_complaint(holder["call"], user=None, kind=kind if at_once else None,
                                              category=category if at_once else None, at=t["received"])
                self.later(p.record, "created_by", clerk)
                p.call = holder["call"]

            self.event(call_at, log)
            self.event(t["received"], convert)
        else:
            def reg() -> None:
                p.record = complaints.register(
                    complainant=p.caller.name, content=p.content, channel=p.channel, phone=p.caller.phone,
                    unit=p.caller.unit, kind=kind if at_once else None, category=category if at_once else None,
                    at=t["received"], note="投诉人来访,当面登记" if p.channel == "visit" and rng.random() < 0.2 else None)
                self.later(p.record, "created_by", clerk)

            self.event(t["received"], reg)

        if "classified" in t:
            def judge() -> None:
                c = p.record
                if not at_once:
                    complaints.classify(c, kind=kind, category=category, user=None, at=t["classified"])
                self.later(c, "classified_by", clerk)
                if kind == "communication":
                    who = p.caller.identity if p.caller.identity in IDENTITY_NOTES else "resident"
                    complaints.verify_identity(c, note=rng.choice(IDENTITY_NOTES[who]), user=None)

            self.event(t["classified"], judge)
        if p.escalation:
            source, _text, target, reason, _h, _r = p.escalation
            first_dept = self.departments[COMPLAINTS[source][0]]
            if "first_assigned" in t:
                def first_round() -> None:
                    complaints.assign(p.record, department=first_dept, user=None, at=t["first_assigned"])

                def first_site() -> None:
                    complaints.handle_on_site(p.record, handling=FIRST_HANDLING[source], user=None,
                                              at=t["first_on_site"])

                self.event(t["first_assigned"], first_round)
                self.event(t["first_on_site"], first_site)

            def escalate() -> None:
                complaints.escalate(p.record, category=target, reason=reason, user=None, at=t["escalated"])
                self.later(p.record, "escalated_by", "supervisor")

            self.event(t["escalated"], escalate)
        if "assigned" in t:
            dept = self.departments[COMPLAINTS[p.category][0]]

            def assign() -> None:
                complaints.assign(p.record, department=dept, user=None, at=t["assigned"])

            self.event(t["assigned"], assign)
        if "on_site" in t:
            def site() -> None:
                complaints.handle_on_site(p.record, handling=p.handling, user=None, at=t["on_site"])

            self.event(t["on_site"], site)
        if "visited" in t:
            def visit() -> None:
                result = p.result or "电话回访,投诉人对处理结果表示满意"
                complaints.record_followup(p.record, result=result, satisfied=p.satisfied, user=None,
                                           at=t["visited"])
                self.later(p.record, "followup_by", rng.choice(("frontdesk", "frontdesk", "supervisor")))

            self.event(t["visited"], visit)
            back_at = t["visited"] + 5 * MINUTE
            if p.from_call and self.past(back_at):
                def call_back() -> None:
                    calls.complete_followup(p.call, result=f"投诉{p.record.number}已处理并回访,已告知来电人处理结果",
                                            user=None, at=back_at)
                    self.later(p.call, "followup_by", "frontdesk")

                self.event(back_at, call_back)

    # ------------------------------------------------------------ calls

    def plan_calls(self) -> None:
        rng, s = self.rng, self.session
        # the occupancy demo's work orders reported by phone: each gets the call it came from
        phoned = s.scalars(select(WorkOrder).where(WorkOrder.source == "call").order_by(WorkOrder.id)).all()
        by_phone = {c.phone: c for c in self.callers if c.phone}
        for order in phoned:
            self.linked_call(order, by_phone.get(order.reporter_phone))
        # new repairs by phone, turned into work orders with the call rule
        for content, category in rng.sample(NEW_ORDER_CALLS, NEW_CALL_ORDERS):
            self.new_order_call(content, category)
        from_calls = [p for p in self.complaint_plans if p.from_call]
        rest = CALLS - len(phoned) - NEW_CALL_ORDERS - len(from_calls)
        answered = min(rest, round(CALLS * 0.6) - sum(p.call_answered for p in from_calls))
        for i in range(rest):  # the first few waiting for a callback came in since yesterday
            self.plain_call(answered=i < answered, waiting=answered <= i < answered + PENDING_NOW)

    def call_caller(self, identity: str) -> Caller:
        if identity in ("owner", "resident"):
            pool = [c for c in self.callers if c.identity == identity]
            return self.rng.choice(pool)
        return self.outsider(identity)

    def plain_call(self, answered: bool, waiting: bool = False) -> None:
        rng = self.rng
        if answered:
            identity, content, answer = rng.choice(ANSWERED)
            dept, result = None, None
        else:
            identity, content, dept, result = rng.choice(PENDING)
            answer = None
        caller = self.call_caller(identity)
        clerk = self.desk_user()
        days = rng.randint(0, 1) if waiting else rng.randint(0 if answered else 2, 59)
        call_at = self.at(days, 8, 20)
        callback = None
        if not answered:
            callback = rng.choice((f"{caller.phone}", f"{caller.phone}(下班后回电)", f"{caller.phone}(本人手机)"))
        note = "来电人情绪平稳" if rng.random() < 0.05 else None
        holder: dict[str, CallLog] = {}

        def log() -> None:
            holder["call"] = self.log_call(
                caller=caller.name, content=content, identity=identity, unit=caller.unit, phone=caller.phone,
                answered=answered, answer=answer, callback=callback,
                department=self.departments[dept] if dept else None, taken_by=clerk, at=call_at, note=note)

        self.event(call_at, log)
        follow = None
        if not answered and not waiting:  # called back within a day or two
            follow = self.after(call_at, 60, 2 * 24 * 60)
        elif answered and rng.random() < 0.1 and days >= 1:
            follow, result = self.after(call_at, 24 * 60, 3 * 24 * 60), rng.choice(FOLLOWUP_ANSWERED)
        if follow is not None and self.past(follow):
            def back() -> None:
                calls.complete_followup(holder["call"], result=result, user=None, at=follow)
                self.later(holder["call"], "followup_by", "frontdesk")

            self.event(follow, back)

    def linked_call(self, order: WorkOrder, caller: Caller | None) -> None:
        """The call behind one of the occupancy demo's 来电 work orders, linked as 转维修工单 links them."""
        rng = self.rng
        call_at = order.created_at - timedelta(minutes=rng.randint(3, 12))
        identity = caller.identity if caller else "resident"
        unit = order.unit or (caller.unit if caller else None)
        clerk = order.created_by if order.created_by in self.users else "frontdesk"
        holder: dict[str, CallLog] = {}

        def log() -> None:
            call = self.log_call(
                caller=order.reporter or "住户", content=order.description, identity=identity, unit=unit,
                phone=order.reporter_phone, answered=False,
                callback=f"{order.reporter_phone}(本人)" if order.reporter_phone else "来电号码",
                department=order.department or self.departments[MAINTENANCE], taken_by=clerk, at=call_at)
            holder["call"] = call
            with audit_context(self.session, action="转维修工单", note=order.number):
                call.work_order = order
                call.status = calls.REFERRED
                self.session.flush()

        self.event(call_at, log)
        status = str(order.status)
        follow = result = None
        if status == "visited":
            follow = self.after(order.completed_at, 30, 8 * 60)
            result = f"维修工单{order.number}已完工,已电话告知来电人,来电人确认已修好"
        elif status == "done":
            follow = self.after(order.completed_at, 20, 4 * 60)
            result = f"维修工单{order.number}已完工,已告知来电人,待维修部回访"
        elif status == "closed":
            follow = self.after(order.created_at, 3 * 60, 24 * 60)
            result = f"维修工单{order.number}已关闭,已向来电人说明原因"
        if follow is not None and self.past(follow):
            def back() -> None:
                calls.complete_followup(holder["call"], result=result, user=None, at=follow)
                self.later(holder["call"], "followup_by", "frontdesk")

            self.event(follow, back)

    def new_order_call(self, content: str, category: str) -> None:
        rng = self.rng
        caller = rng.choice([c for c in self.callers if c.unit is not None])
        clerk = self.desk_user()
        t = {"call": self.at(rng.randint(0, 4), 8, 19)}
        t["opened"] = self.after(t["call"], 3, 10)
        if t["call"] < self.desk_now - 2 * DAY:  # the older ones are dispatched already
            t["dispatched"] = self.after(t["opened"], 20, 120)
        self.fit(t)
        call_at, opened, dispatched = t["call"], t["opened"], t.get("dispatched")
        holder: dict[str, object] = {}

        def log() -> None:
            holder["call"] = self.log_call(
                caller=caller.name, content=content, identity=caller.identity, unit=caller.unit,
                phone=caller.phone, answered=False, callback=f"{caller.phone}(本人)",
                department=self.departments[MAINTENANCE], taken_by=clerk, at=call_at)

        def convert() -> None:
            order = calls.to_work_order(holder["call"], user=None, category=category,
                                        department=self.departments[MAINTENANCE], at=opened)
            holder["order"] = order
            self.later(order, "created_by", clerk)

        self.event(call_at, log)
        self.event(opened, convert)
        if dispatched:
            def send() -> None:
                dispatch(holder["order"], None, at=dispatched)
                self.later(holder["order"], "dispatched_by", "frontdesk")

            self.event(dispatched, send)

    # ------------------------------------------------------------ release slips

    def plan_slips(self) -> None:
        rng, s = self.rng, self.session
        units = {u.id: u for u in s.scalars(select(Unit).order_by(Unit.id))}
        person_owned = [uid for uid, owners in self.owners.items()
                        if owners and owners[0].kind == OwnerKind.person and not check_resident_id(owners[0].id_number)]
        owing = {r["unit_id"] for r in arrears_rows("unit", self.today) if (r["overdue"] or 0) > 0}
        tenants: dict[int, list[Resident]] = {}
        for r in s.scalars(select(Resident).where(Resident.move_out_date.is_(None), Resident.id_number.is_not(None),
                                                  Resident.relation.in_((Relation.tenant, Relation.family)))
                           .order_by(Resident.id)):
            tenants.setdefault(r.unit_id, []).append(r)
        self.used_units: set[int] = set()
        self.slip_count = 0

        def overdue(uid: int, day: date) -> Decimal:
            return Decimal(arrears_for_unit(uid, day)["overdue"] or 0)

        def pick(day: date, pool, owes: bool) -> Unit:
            pool = [u for u in pool if u not in self.used_units]
            rng.shuffle(pool)
            for uid in pool:
                if (overdue(uid, day) > 0) == owes:
                    self.used_units.add(uid)
                    return units[uid]
            raise RuntimeError("演示放行条找不到合适的房屋")

        clear = [u for u in person_owned if u not in owing]
        with_tenants = [u for u in clear if u in tenants]
        owing_pool = [u for u in person_owned if u in owing]

        # owners moving things out, issued and released
        for _ in range(11):
            day = self.at(rng.randint(1, 58), 8, 17)
            self.slip(pick(day.date(), clear, False), day, "owner", tenants)
        # family or tenants, the owner confirming by phone
        for i in range(5):
            day = self.at(rng.randint(1, 50), 8, 17)
            self.slip(pick(day.date(), with_tenants, False), day, "tenant" if i % 2 == 0 else "family", tenants)
        # a mover sent by the owner
        day = self.at(rng.randint(3, 40), 8, 17)
        self.slip(pick(day.date(), clear, False), day, "agent", tenants)
        # issued this morning, the move is this afternoon
        for _ in range(2):
            day = self.at(0, 8, 11)
            self.slip(pick(day.date(), clear, False), day, "owner", tenants, release_it=False)
        # refused for arrears: three overridden by the supervisor, two still refused
        for i in range(5):
            day = self.at(rng.randint(1, 20) if i < 4 else 0, 8, 16)
            self.slip(pick(day.date(), owing_pool, True), day, "owner" if i % 2 == 0 else "tenant", tenants,
                      refused=True, override=OVERRIDE_REASONS[i] if i < 3 else None, release_it=i != 2)
        # voided: one re-issued with the items corrected, one because the move was postponed
        day = self.at(rng.randint(5, 30), 9, 15)
        self.slip(pick(day.date(), clear, False), day, "owner", tenants,
                  void="物品清单漏登记滚筒洗衣机一台,作废后重新开具", reissue=True)
        day = self.at(rng.randint(5, 30), 9, 15)
        self.slip(pick(day.date(), clear, False), day, "owner", tenants, void="业主搬家日期推迟,原放行条作废,届时重新申请")
        # drafts waiting at the desk
        day = self.at(0, 8, 18)
        self.slip(pick(day.date(), with_tenants, False), day, "tenant", tenants, draft="已致电业主未接通,待业主回电确认")
        day = self.at(0, 8, 18)
        self.slip(pick(day.date(), clear, False), day, "owner", tenants, draft="申请人未带身份证原件,待补验证件后开具")
        day = self.at(0, 8, 18)
        self.slip(pick(day.date(), clear, False), day, "agent", tenants, draft="搬家公司人员办理,待业主电话确认")

    def items(self, unit: Unit, move_out: bool = False) -> tuple[str, list[tuple[str, int, str]]]:
        rng = self.rng
        if move_out:
            reason, pool = MOVE_OUT
        elif unit.usage == UnitUsage.shop:
            reason, pool = SHOP_CLEARANCE
        elif rng.random() < 0.55:
            reason, pool = MOVE_OUT
        else:
            reason, pool = rng.choice(REASONS)
        n = len(pool) if len(pool) <= 4 else rng.randint(4, len(pool))
        lines = []
        for description, quantity, measure in sorted(rng.sample(pool, n), key=pool.index):
            lines.append((description, rng.randint(*quantity) if isinstance(quantity, tuple) else quantity, measure))
        return reason, lines

    def slip(self, unit: Unit, created: datetime, who: str, tenants: dict, *, refused=False, override=None,
             release_it=True, void=None, reissue=False, draft=None) -> None:
        rng = self.rng
        owner = self.owners[unit.id][0]
        reason, lines = self.items(unit, move_out=reissue)
        if reissue:
            lines = [line for line in lines if "洗衣机" not in line[0]]
        if who == "owner":
            applicant, id_number, phone, relation = owner.name, owner.id_number, owner.phone, "owner"
        elif who == "agent":
            p = self.gen.person(1975, 1998, gender="M")
            applicant, id_number, phone, relation = p.name, p.id_number, p.phone, "agent"
            reason = "搬家"
        else:
            pool = tenants.get(unit.id) or []
            r = next((r for r in pool if str(r.relation) == who), pool[0] if pool else None)
            if r is None:
                p = self.gen.person(1975, 2000)
                applicant, id_number, phone, relation = p.name, p.id_number, p.phone, "tenant"
            else:
                applicant, id_number, phone, relation = r.name, r.id_number, r.phone, str(r.relation)
            if relation == "tenant":
                reason = "租约到期搬离"
        clerk = self.desk_user()
        note = f"{rng.choice(MOVERS)}人员代为办理" if who == "agent" else None

        # the steps' times first, moved back together when the last would not lie in the past
        t = {"created": created}
        if not draft:
            last = created
            if refused:
                last = t["refused"] = self.after(last, 3, 10)
                if override:
                    last = t["override"] = self.after(last, 15, 90)
            if relation != "owner" and (not refused or override):
                last = t["confirm"] = self.after(last, 3, 15)
            if not refused or override:
                last = t["issue"] = self.after(last, 5, 20)
            if void:
                last = t["void"] = self.after(last, 10, 40) if reissue else self.after(last, 20 * 60, 26 * 60)
                if reissue:
                    t["again"] = self.after(last, 2, 8)
                    t["again_issue"] = t["again"] + 3 * MINUTE
                    t["again_out"] = t["again"] + 40 * MINUTE
            elif release_it and "issue" in t:
                t["out"] = self.after(last, 15, 180)
        self.fit(t)
        holder: dict[str, ReleaseSlip] = {}

        def open_() -> None:
            holder["slip"] = self.open_slip(unit=unit, applicant=applicant, id_number=id_number,
                                               relation=relation, reason=reason, items=lines, phone=phone,
                                               created_by=clerk, at=t["created"], note=draft or note)

        def refuse() -> None:
            if not release.issue(holder["slip"], user=None, id_checked=True, at=t["refused"]):
                raise RuntimeError(f"演示欠费房屋未被拒开: {self.label(unit)}")

        def approve() -> None:
            release.override_arrears(holder["slip"], reason=override, user=_Acting(self.supervisor),
                                     at=t["override"])
            with audit_context(self.session, action="补录经办人"):
                holder["slip"].override_by = self.supervisor.username
                self.session.flush()

        def confirm() -> None:
            release.confirm_owner(holder["slip"], confirmed_by=owner.name, phone=owner.phone, user=None,
                                  at=t["confirm"])

        def issue() -> None:
            message = release.issue(holder["slip"], user=None, id_checked=True, at=t["issue"])
            if message:
                raise RuntimeError(f"演示放行条被拒开: {self.label(unit)} {message}")
            self.later(holder["slip"], "issued_by", clerk)

        def cancel() -> None:
            release.void(holder["slip"], reason=void, user=None, at=t["void"])
            self.later(holder["slip"], "voided_by", "supervisor")

        def reopen() -> None:
            holder["again"] = self.open_slip(
                unit=unit, applicant=applicant, id_number=id_number, relation=relation, reason=reason,
                items=[*lines, ("滚筒洗衣机", 1, "台")], phone=phone, created_by=clerk, at=t["again"],
                note=f"原放行条{holder['slip'].number}物品漏登记,作废后重开")

        def reissue_() -> None:
            if release.issue(holder["again"], user=None, id_checked=True, at=t["again_issue"]):
                raise RuntimeError(f"演示放行条被拒开: {self.label(unit)}")
            self.later(holder["again"], "issued_by", clerk)

        def out(key: str, at: str) -> Callable[[], None]:
            return lambda: release.release(holder[key], guard=rng.choice(GUARDS), user=None, at=t[at])

        steps = {"created": open_, "refused": refuse, "override": approve, "confirm": confirm, "issue": issue,
                 "void": cancel, "again": reopen, "again_issue": reissue_, "again_out": out("again", "again_out"),
                 "out": out("slip", "out")}
        for key, at in t.items():
            self.event(at, steps[key])

    def fit(self, times: dict[str, datetime]) -> None:
        """Move a chain of step times back together so that its last step lies in the past."""
        late = max(times.values()) - (self.now - timedelta(minutes=self.rng.randint(3, 30)))
        if late > timedelta(0):
            for key in times:
                times[key] -= late

    # ------------------------------------------------------------ visitors

    def visitors(self) -> None:
        rng, s = self.rng, self.session
        homes = [c for c in self.callers if c.unit is not None and c.identity in ("owner", "resident")]
        rows = []
        inside_now = 4
        for i in range(VISITORS):
            today = i < 7
            if today and i < inside_now:
                time_in = self.desk_now - timedelta(minutes=rng.randint(15, 200))
                time_out = None
            else:
                time_in = self.at(0 if today else rng.randint(1, 20), 8, 19)
                time_out = min(time_in + timedelta(minutes=rng.randint(20, 150)),
                               self.now - timedelta(minutes=rng.randint(1, 5)))
            p = self.gen.person(1960, 2003)
            data = {"time_in": time_in, "time_out": time_out, "name": p.name, "id_number": p.id_number,
                    "phone": p.phone, "registered_by": rng.choices(("frontdesk", "supervisor"), (5, 1))[0]}
            if rng.random() < 0.65:
                host = rng.choice(homes)
                purpose, note = rng.choice(UNIT_VISITS)
                data.update(unit=host.unit, host=host.name, purpose=purpose, note=note,
                            notified_department=self.departments[GUARD if rng.random() < 0.8 else CS])
            else:
                dept_name, purpose, note = rng.choice(DEPARTMENT_VISITS)
                dept = self.departments[dept_name]
                data.update(visited_department=dept, host=dept.supervisor_name, purpose=purpose, note=note,
                            notified_department=dept)
            errors = Visitor.check(data)
            if errors or check_phone(p.phone) or check_resident_id(p.id_number):
                raise ValueError(f"演示访客无效 {p.name}: {errors}")
            rows.append(Visitor(**data))
        rows.sort(key=lambda v: v.time_in)
        s.add_all(rows)
        s.flush()

    # ------------------------------------------------------------ checks

    def verify(self) -> None:
        s = self.session
        found = set(s.scalars(select(Complaint.status).distinct()))
        if found != {m.value for m in ComplaintStatus}:
            raise RuntimeError(f"演示投诉缺少状态: {({m.value for m in ComplaintStatus}) - found}")
        if set(s.scalars(select(Complaint.category).where(Complaint.category.is_not(None)).distinct())) \
                != {m.value for m in ComplaintCategory}:
            raise RuntimeError("演示投诉应覆盖每个类别")
        slips = set(s.scalars(select(ReleaseSlip.status).distinct()))
        if slips != {m.value for m in SlipStatus}:
            raise RuntimeError(f"演示放行条缺少状态: {({m.value for m in SlipStatus}) - slips}")
        if s.scalar(select(func.count()).select_from(CallLog)) != CALLS:
            raise RuntimeError("演示来电数量不符")
        for model, column in ((Complaint, Complaint.received_at), (CallLog, CallLog.at),
                              (ReleaseSlip, ReleaseSlip.created_at), (Visitor, Visitor.time_in)):
            if s.scalar(select(func.max(column))) >= self.now:
                raise RuntimeError(f"演示{model.__tablename__}时间晚于现在")
