"""The month-end analysis (月度统计报表), built from the records themselves.

For one calendar month: follow-up visits by method and result, the repair follow-up rate and on-time
rate, complaints by kind and category, calls by outcome, slips by department, the management-fee
collection rate, the change in overdue arrears, and the problems that recurred (the same category at
the same building three or more times).

Every figure is an SQL aggregate: a constant number of statements whatever the data size (one per
section; the repair section asks app.workorders.followup_rates once per category and once for the
total). Month boundaries are computed here and bound as parameters — datetimes compared with
``>= first day 00:00`` and ``< first day of next month 00:00``, dates with ``>= first`` and ``< next``
— so SQLite and PostgreSQL give the same answer.

Definitions (the report's notes repeat them):

* visits: follow-up visits recorded as done (已回访) whose visited_at falls in the month;
* repairs: work orders completed in the month (completed_at), followed up (已回访) and followed up by
  their deadline — exactly app.workorders.followup_rates;
* complaints: by received_at; calls: by their time (at), by current status, with how many were turned
  into a work order or a complaint;
* slips: checks that raised a slip (slip_kind set) with checked_at in the month, by department; the
  still-open count is the slips' current status;
* fees: non-void 物业管理费 charges due in the month; collected = allocations of valid payments paid
  before the end of the month (a later payment does not change a closed month), at most the charge;
* arrears: the overdue balance at a moment T = non-void charges due before T's date, less the
  allocations of valid payments paid before T (per charge, never below zero) — at the start of the
  month (1st, 00:00) and at its end (the 1st of the next month, 00:00); computed from the ledger's
  history, not from the charges' current amount_paid;
* recurring: work orders (by created_at) and complaints (by received_at) of the month, grouped by the
  unit's building and the category, listed when there are RECURRING_MIN or more.

Titles, headers and labels go through flask_babel's gettext at build time (the report is built in the
request that shows or exports it); outside a request they stay Chinese.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext
from sqlalchemy import Numeric, and_, case, func, select, type_coerce

from .extensions import db

CENT = Decimal("0.01")
ONE_PLACE = Decimal("0.1")
MONEY = Numeric(14, 2)
RECURRING_MIN = 3
MIN_YEAR, MAX_YEAR = 2000, 2099

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{1,2})$")


class ReportError(ValueError):
    """A month the report cannot be built for, with a Chinese message for the user."""


# ---------------------------------------------------------------- the month


def parse_month(text) -> tuple[int, int]:
    """"2026-11" -> (2026, 11); anything else raises ReportError with a Chinese message."""
    raw = str(text or "").strip()
    if not raw:
        raise ReportError("请选择月份")
    m = _MONTH.match(raw)
    if not m:
        raise ReportError("月份格式不正确,应为“年-月”,例如 2026-11")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ReportError("月份应在 1 到 12 之间")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ReportError("年份应在 2000 到 2099 之间")  # MIN_YEAR, MAX_YEAR
    return year, month


def month_label(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def previous_month(today: date) -> tuple[int, int]:
    """The month before `today`'s: the report's default."""
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """(first day, first day of the next month): the month is first <= d < next."""
    first = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, nxt


# ---------------------------------------------------------------- helpers


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _money_sum(expr):
    return type_coerce(func.coalesce(func.sum(expr), 0), MONEY)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _num(value):
    """A chart value: float for money/percent, None stays None (a gap)."""
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def _label(choice, code) -> str:
    return gettext(choice.label_of(code)) if code is not None else gettext("未填写")


def _section(key, title, headers, kinds, rows, *, total=None, chart=None, note=None) -> dict:
    return {"key": key, "title": title, "headers": headers, "kinds": kinds, "rows": rows, "total": total,
            "chart": chart, "note": note}


def _chart(kind, labels, series, *, stacked=False, unit=None) -> dict:
    return {"type": kind, "labels": labels, "stacked": stacked, "unit": unit,
            "series": [{"label": label, "data": [_num(v) for v in data]} for label, data in series]}


def _in_month(column, start, end):
    return and_(column >= start, column < end)


# ---------------------------------------------------------------- sections


def visits_section(start: datetime, end: datetime) -> dict:
    """回访情况: done visits of the month, one row per method, one column per result."""
    from schema.visits import FollowupVisit, VisitResult
    from schema.work_orders import FollowupMethod

    stmt = (select(FollowupVisit.method, FollowupVisit.result, func.count(FollowupVisit.id))
            .where(FollowupVisit.status == "done", _in_month(FollowupVisit.visited_at, start, end))
            .group_by(FollowupVisit.method, FollowupVisit.result))
    counts: dict[tuple, int] = {(m, r): int(n) for m, r, n in db.session.execute(stmt)}
    methods = [m.value for m in FollowupMethod] + sorted({m for m, _r in counts} - {m.value for m in FollowupMethod})
    results = [r.value for r in VisitResult] + [None]
    rows = []
    for method in methods:
        cells = [counts.get((method, r), 0) for r in results]
        rows.append([_label(FollowupMethod, method)] + cells + [sum(cells)])
    total = [gettext("合计")] + [sum(r[i] for r in rows) for i in range(1, len(results) + 2)]
    headers = [gettext("回访方式")] + [_label(VisitResult, r) for r in results] + [gettext("合计")]
    chart = _chart("bar", [r[0] for r in rows],
                   [(headers[i + 1], [r[i + 1] for r in rows]) for i in range(len(results))], stacked=True)
    return _section("visits", gettext("回访情况"), headers, ["text"] + ["int"] * (len(results) + 1), rows,
                    total=total, chart=chart,
                    note=gettext("本月已完成(已回访)的回访计划,按回访时间统计。"))


def repairs_section(first: date, last: date) -> dict:
    """维修回访: the follow-up rate and on-time rate of repairs completed in the month, per category."""
    from schema.work_orders import WorkOrder, WorkOrderCategory

    from .workorders import followup_rates

    def row(label, where):
        r = followup_rates(where, start=first, end=last)
        return [label, r["completed"], r["followed_up"], r["on_time"], r["follow_up_rate"], r["on_time_rate"]]

    rows = [row(gettext(c.label), WorkOrder.category == c.value) for c in WorkOrderCategory]
    total = row(gettext("合计"), None)
    headers = [gettext("维修类别"), gettext("完工工单"), gettext("已回访"), gettext("按时回访"),
               gettext("回访处理率(%)"), gettext("按时回访率(%)")]
    chart = _chart("bar", [r[0] for r in rows] + [total[0]],
                   [(headers[4], [r[4] for r in rows + [total]]), (headers[5], [r[5] for r in rows + [total]])],
                   unit="%")
    return _section("repairs", gettext("维修回访"), headers, ["text", "int", "int", "int", "percent", "percent"],
                    rows, total=total, chart=chart,
                    note=gettext("本月完工的维修工单;回访处理率=已回访÷完工,按时回访率=按时回访÷已回访。"))


def complaints_section(start: datetime, end: datetime) -> dict:
    """投诉情况: complaints received in the month by kind and category (every category listed)."""
    from schema.complaints import (
        KIND_CATEGORIES,
        Complaint,
        ComplaintCategory,
        ComplaintKind,
    )

    stmt = (select(Complaint.kind, Complaint.category, func.count(Complaint.id))
            .where(_in_month(Complaint.received_at, start, end))
            .group_by(Complaint.kind, Complaint.category))
    counts = {(k, c): int(n) for k, c, n in db.session.execute(stmt)}
    keys = [(kind, cat) for kind, cats in KIND_CATEGORIES.items() for cat in cats]
    keys += sorted((k for k in counts if k not in keys), key=lambda k: (k[0] is None, k[0] or "", k[1] or ""))
    rows = []
    for kind, cat in keys:
        kind_label = _label(ComplaintKind, kind) if kind is not None else gettext("未定性")
        cat_label = _label(ComplaintCategory, cat) if cat is not None else gettext("未分类")
        rows.append([kind_label, cat_label, counts.get((kind, cat), 0)])
    whole = sum(r[2] for r in rows)
    for r in rows:
        r.append(_percent(r[2], whole))
    total = [gettext("合计"), "", whole, _percent(whole, whole)]
    headers = [gettext("性质"), gettext("类别"), gettext("件数"), gettext("占比(%)")]
    labels = [r[1] if cat is not None else f"{r[0]}/{r[1]}" for r, (_kind, cat) in zip(rows, keys)]
    chart = _chart("bar", labels, [(headers[2], [r[2] for r in rows])])
    return _section("complaints", gettext("投诉情况"), headers, ["text", "text", "int", "percent"], rows,
                    total=total, chart=chart, note=gettext("本月登记的投诉,按性质和类别统计。"))


def calls_section(start: datetime, end: datetime) -> dict:
    """来电情况: calls of the month by outcome (status), with those turned into a work order or a complaint."""
    from schema.complaints import CallLog, CallStatus, Complaint

    complained = (select(Complaint.call_log_id.label("call_id")).where(Complaint.call_log_id.is_not(None))
                  .distinct().subquery("complained"))
    stmt = (select(CallLog.status, func.count(CallLog.id), _count_if(CallLog.work_order_id.is_not(None)),
                   func.count(complained.c.call_id))
            .outerjoin(complained, complained.c.call_id == CallLog.id)
            .where(_in_month(CallLog.at, start, end))
            .group_by(CallLog.status))
    counts = {status: (int(n), int(w), int(c)) for status, n, w, c in db.session.execute(stmt)}
    statuses = [s.value for s in CallStatus] + sorted(set(counts) - {s.value for s in CallStatus})
    rows = [[_label(CallStatus, s), *counts.get(s, (0, 0, 0))] for s in statuses]
    total = [gettext("合计")] + [sum(r[i] for r in rows) for i in (1, 2, 3)]
    headers = [gettext("处理结果"), gettext("来电数"), gettext("其中转维修工单"), gettext("其中转投诉")]
    chart = _chart("doughnut", [r[0] for r in rows], [(headers[1], [r[1] for r in rows])])
    return _section("calls", gettext("来电情况"), headers, ["text", "int", "int", "int"], rows, total=total,
                    chart=chart, note=gettext("本月来电,按当前处理状态统计。"))


def slips_section(start: datetime, end: datetime) -> dict:
    """整改单: slips (不合格单 / 内部协调单) raised in the month, by department."""
    from schema.org import Department
    from schema.supervision import DeptCheck

    from .supervision import OPEN_STATES

    stmt = (select(Department.name, _count_if(DeptCheck.slip_kind == "nonconformance"),
                   _count_if(DeptCheck.slip_kind == "coordination"), func.count(DeptCheck.id),
                   _count_if(DeptCheck.status.in_(OPEN_STATES)))
            .join(Department, Department.id == DeptCheck.department_id)
            .where(DeptCheck.slip_kind.is_not(None), _in_month(DeptCheck.checked_at, start, end))
            .group_by(Department.id, Department.name)
            .order_by(func.count(DeptCheck.id).desc(), Department.name))
    rows = [[name, int(nc), int(co), int(n), int(o)] for name, nc, co, n, o in db.session.execute(stmt)]
    total = [gettext("合计")] + [sum(r[i] for r in rows) for i in range(1, 5)]
    headers = [gettext("部门"), gettext("不合格单"), gettext("内部协调单"), gettext("合计"), gettext("目前未关闭")]
    chart = _chart("bar", [r[0] for r in rows], [(headers[1], [r[1] for r in rows]),
                                                 (headers[2], [r[2] for r in rows])], stacked=True)
    return _section("slips", gettext("不合格单与内部协调单"), headers, ["text"] + ["int"] * 4, rows,
                    total=total, chart=chart,
                    note=gettext("本月检查中开具的整改单,按被检查部门统计;“目前未关闭”为当前状态(已开单或复查不合格)。"))


def _allocations(cutoffs: dict[str, datetime], end: datetime):
    """Per charge: allocations of valid payments paid before each cutoff (one column per cutoff)."""
    from schema.ledger import Payment, PaymentAllocation

    cols = [_money_sum(case((Payment.paid_at < at, PaymentAllocation.amount), else_=0)).label(name)
            for name, at in cutoffs.items()]
    return (select(PaymentAllocation.charge_id.label("charge_id"), *cols)
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(Payment.status == "valid", Payment.paid_at < end)
            .group_by(PaymentAllocation.charge_id)
            .subquery("alloc"))


def _settled(amount, paid):
    """What an allocation sum settles of a charge: 0 <= paid <= amount."""
    paid = func.coalesce(paid, 0)
    return case((paid > amount, amount), (paid < 0, 0), else_=paid)


def fees_section(first: date, nxt: date) -> dict:
    """物业费收缴: of the non-void 物业管理费 charges due in the month, what was collected by its end, by building."""
    from schema.ledger import Charge
    from schema.property import Building, Unit

    end = datetime.combine(nxt, datetime.min.time())
    alloc = _allocations({"paid": end}, end)
    collected = _settled(Charge.amount, alloc.c.paid)
    stmt = (select(Building.name, func.count(Charge.id), _money_sum(Charge.amount), _money_sum(collected))
            .select_from(Charge)
            .outerjoin(alloc, alloc.c.charge_id == Charge.id)
            .outerjoin(Unit, Unit.id == Charge.unit_id)
            .outerjoin(Building, Building.id == Unit.building_id)
            .where(Charge.kind == "mgmt_fee", Charge.status != "void", Charge.due_date >= first, Charge.due_date < nxt)
            .group_by(Building.id, Building.name)
            .order_by(Building.name.is_(None), Building.name))
    rows = []
    for name, n, due, paid in db.session.execute(stmt):
        due, paid = _money(due), _money(paid)
        rows.append([name or gettext("未关联房屋"), int(n), due, paid, due - paid, _percent(paid, due)])
    due, paid = sum((r[2] for r in rows), Decimal("0.00")), sum((r[3] for r in rows), Decimal("0.00"))
    total = [gettext("合计"), sum(r[1] for r in rows), due, paid, due - paid, _percent(paid, due)]
    headers = [gettext("楼栋"), gettext("应收笔数"), gettext("应收金额"), gettext("月末前实收"), gettext("未收金额"),
               gettext("收缴率(%)")]
    chart = _chart("bar", [r[0] for r in rows] + [total[0]], [(headers[5], [r[5] for r in rows + [total]])], unit="%")
    return _section("fees", gettext("物业费收缴率"), headers, ["text", "int", "money", "money", "money", "percent"],
                    rows, total=total, chart=chart,
                    note=gettext("本月应缴的物业管理费(不含已作废);实收为月末前有效收款的核销金额。"))


def arrears_section(first: date, nxt: date) -> dict:
    """欠费变化: the overdue balance at the start of the month and at its end, by charge kind, from the ledger."""
    from schema.ledger import Charge, ChargeKind

    start, end = (datetime.combine(d, datetime.min.time()) for d in (first, nxt))
    alloc = _allocations({"at_start": start, "at_end": end}, end)
    owed_start = Charge.amount - _settled(Charge.amount, alloc.c.at_start)
    owed_end = Charge.amount - _settled(Charge.amount, alloc.c.at_end)
    stmt = (select(Charge.kind, _money_sum(case((Charge.due_date < first, owed_start), else_=0)),
                   _money_sum(owed_end))
            .outerjoin(alloc, alloc.c.charge_id == Charge.id)
            .where(Charge.status != "void", Charge.due_date < nxt)
            .group_by(Charge.kind))
    found = {kind: (_money(a), _money(b)) for kind, a, b in db.session.execute(stmt)}
    order = [k.value for k in ChargeKind] + sorted(set(found) - {k.value for k in ChargeKind})
    rows = [[_label(ChargeKind, k), a, b, b - a] for k in order if k in found
            for a, b in [found[k]] if a or b]
    a, b = sum((r[1] for r in rows), Decimal("0.00")), sum((r[2] for r in rows), Decimal("0.00"))
    total = [gettext("合计"), a, b, b - a]
    headers = [gettext("费用类别"), gettext("月初逾期欠费"), gettext("月末逾期欠费"), gettext("增减")]
    chart = _chart("bar", [r[0] for r in rows] + [total[0]],
                   [(headers[1], [r[1] for r in rows + [total]]), (headers[2], [r[2] for r in rows + [total]])])
    last = date.fromordinal(nxt.toordinal() - 1)
    return _section("arrears", gettext("欠费变化"), headers, ["text", "money", "money", "money"], rows,
                    total=total, chart=chart,
                    note=gettext("逾期欠费:应缴日期已过、尚未由有效收款核销的余额(不含已作废费用);月初为 %(first)s 零时,月末为 %(last)s 24时,按收款时间回溯计算。",
                                 first=first.isoformat(), last=last.isoformat()))


def recurring_section(start: datetime, end: datetime) -> dict:
    """重复发生的问题: the same category at the same building RECURRING_MIN or more times in the month."""
    from schema.complaints import Complaint, ComplaintCategory
    from schema.property import Building, Unit
    from schema.work_orders import WorkOrder, WorkOrderCategory

    found = []
    for source, model, when, choice in (
            (gettext("维修工单"), WorkOrder, WorkOrder.created_at, WorkOrderCategory),
            (gettext("投诉"), Complaint, Complaint.received_at, ComplaintCategory)):
        n = func.count(model.id)
        stmt = (select(Building.name, model.category, n)
                .join(Unit, Unit.id == model.unit_id)
                .join(Building, Building.id == Unit.building_id)
                .where(_in_month(when, start, end), model.category.is_not(None))
                .group_by(Building.id, Building.name, model.category)
                .having(n >= RECURRING_MIN))
        found += [(source, building, _label(choice, category), int(count))
                  for building, category, count in db.session.execute(stmt)]
    found.sort(key=lambda r: (-r[3], r[1], r[0], r[2]))
    rows = [list(r) for r in found]
    headers = [gettext("来源"), gettext("楼栋"), gettext("类别"), gettext("次数")]
    chart = _chart("bar", [f"{r[1]} {r[2]}" for r in rows], [(headers[3], [r[3] for r in rows])])
    return _section("recurring", gettext("重复发生的问题"), headers, ["text", "text", "text", "int"], rows,
                    chart=chart,
                    note=gettext("本月同一楼栋同一类别出现 %(n)s 次及以上的维修工单(按开单时间)和投诉(按登记时间)。",
                                 n=RECURRING_MIN))


def build(year: int, month: int) -> list[dict]:
    """The report's sections in order; each {key, title, headers, kinds, rows, total, chart, note}.

    kinds: per column "text", "int", "money" (Decimal, 2 places) or "percent" (Decimal, 1 place, or None
    when there is nothing to divide by). total: the 合计 row or None. chart: {type, labels, stacked, unit,
    series: [{label, data}]} for Chart.js.
    """
    first, nxt = month_bounds(year, month)
    start, end = (datetime.combine(d, datetime.min.time()) for d in (first, nxt))
    last = date.fromordinal(nxt.toordinal() - 1)
    return [
        visits_section(start, end),
        repairs_section(first, last),
        complaints_section(start, end),
        calls_section(start, end),
        slips_section(start, end),
        fees_section(first, nxt),
        arrears_section(first, nxt),
        recurring_section(start, end),
    ]
