"""The admin home's dashboard: today's work per role, the key rates and the small charts' data.

Plain functions reading the current session. Every figure is one aggregate query (or a rule module's
own function): the pending and overdue lists come from app/workorders, complaints, community,
custody, visits, supervision and arrears, so the home page counts exactly what their pages list.
Dates are computed here from `today` / `now` (the office clock, app/clock.py) and bound as
parameters, never computed in SQL, so SQLite and PostgreSQL give the same answers.

Who sees what: each tile, rate and chart names its audience (the roles whose daily work it is:
the leasing clerk sees leases and arrears, maintenance sees repairs) and the entity whose list it
opens; it is shown only to a role in its audience that may also read that entity. The page
(admin_views/home.py) additionally drops anything whose target view the user cannot open.

A tile is a dict: key, label, count, level ("ok" / "warn" / "danger": danger when overdue items
exist), detail (a short line or None) and link: {"endpoint", "filters", "args"} where filters are
(column, op, value) triples for the list view's declared filters, op one of FILTER_OPS.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Numeric, and_, case, func, select, type_coerce

from . import (
    arrears,
    community,
    complaints,
    custody,
    leasing,
    supervision,
    visits,
    workorders,
)
from .extensions import db

OK, WARN, DANGER = "ok", "warn", "danger"
FILTER_OPS = ("eq", "ne", "empty", "between", "dt_between", "lt", "dt_lt")
"""eq/ne: a choice column equals / differs; empty: the column is empty ("1"); between: a date range
"YYYY-MM-DD to YYYY-MM-DD"; dt_between: a datetime range; lt / dt_lt: before a date / datetime."""

LEASE_WINDOW_DAYS = 30  # leases "ending soon": app.leasing.ending_soon's default window
CHART_DAYS = 14
PERCENT = Decimal("0.1")
MONEY = Numeric(12, 2)
ZERO = Decimal("0.00")
MIN_OVERDUE = Decimal("0.01")  # the arrears pages' min_overdue for "owes something overdue"

ALL_OFFICE = frozenset({"admin", "manager", "supervisor", "frontdesk"})
DESK = frozenset({"admin", "supervisor", "frontdesk"})
REPAIRS = frozenset({"admin", "manager", "supervisor", "frontdesk", "maintenance"})
MAINTENANCE = frozenset({"admin", "manager", "supervisor", "maintenance"})
MONEY_ROLES = frozenset({"admin", "manager", "supervisor", "leasing"})  # also admin_views.arrears.ROLES
CUSTODY_WATCH = frozenset({"admin", "manager", "supervisor", "frontdesk", "maintenance"})

_DT = "%Y-%m-%d %H:%M:%S"


# ---------------------------------------------------------------- helpers


def _models():
    from schema.community import BulletinPost
    from schema.complaints import Complaint
    from schema.custody import Custody
    from schema.leasing import Lease
    from schema.ledger import Charge
    from schema.release import ReleaseSlip
    from schema.supervision import DeptCheck
    from schema.visitors import Visitor
    from schema.visits import FollowupVisit
    from schema.work_orders import WorkOrder

    return {"work_order": WorkOrder, "complaint": Complaint, "visitor": Visitor, "release_slip": ReleaseSlip,
            "bulletin_post": BulletinPost, "followup_visit": FollowupVisit, "custody": Custody,
            "dept_check": DeptCheck, "lease": Lease, "charge": Charge}


def visible(audience, table: str, user_roles) -> bool:
    """A role in the audience that may read `table` (its spec's read roles)."""
    roles = frozenset(user_roles)
    return bool(frozenset(audience) & roles) and _models()[table].__admin__.roles.allows("read", roles)


def _count(stmt) -> int:
    """Rows of a select (its ordering dropped)."""
    sub = stmt.order_by(None).subquery()
    return int(db.session.execute(select(func.count()).select_from(sub)).scalar() or 0)


def _day(d: date) -> tuple[datetime, datetime]:
    return datetime.combine(d, time()), datetime.combine(d + timedelta(days=1), time())


def month_bounds(today: date) -> tuple[date, date]:
    """First and last day of today's month."""
    return today.replace(day=1), today.replace(day=calendar.monthrange(today.year, today.month)[1])


def percent(part, whole) -> Decimal | None:
    """part / whole in percent, 1 decimal, ROUND_HALF_UP; None when there is nothing to divide by."""
    part, whole = Decimal(part or 0), Decimal(whole or 0)
    if whole <= 0:
        return None
    return (part * 100 / whole).quantize(PERCENT, rounding=ROUND_HALF_UP)


def _link(endpoint: str, *filters, **args) -> dict:
    return {"endpoint": endpoint, "filters": list(filters), "args": args}


def _level(count: int, overdue: int = 0) -> str:
    return DANGER if overdue else (WARN if count else OK)


def _tile(key, label, count, level, link, detail=None) -> dict:
    return {"key": key, "label": str(label), "count": int(count), "level": level, "detail": detail, "link": link}


# ---------------------------------------------------------------- tiles


def _followups(today: date, now: datetime) -> dict:
    """待回访: completed repairs awaiting their follow-up (workorders.pending_followups_query), the
    overdue among them (past their deadline, as workorders.is_overdue) in the same query."""
    sub = workorders.pending_followups_query(now).order_by(None).subquery()
    total, overdue = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((sub.c.followup_due < now, 1), else_=0)), 0))
        .select_from(sub)).one()
    total, overdue = int(total or 0), int(overdue or 0)
    return _tile("followups", _l("维修待回访"), total, _level(total, overdue), _link("work_order.followups"),
                 gettext("其中逾期 %(n)s 张", n=overdue) if overdue else None)


def _work_orders_pending(today: date, now: datetime) -> dict:
    from schema.work_orders import WorkOrder

    n = db.session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.status == workorders.PENDING))
    return _tile("work_orders_pending", _l("待派工工单"), n, _level(n),
                 _link("work_order.index_view", ("status", "eq", workorders.PENDING)))


IN_REPAIR = (workorders.DISPATCHED, workorders.ACCEPTED, workorders.IN_PROGRESS)


def _work_orders_in_repair(today: date, now: datetime) -> dict:
    """Dispatched, accepted or in progress: the repairs maintenance has on hand."""
    from schema.work_orders import WorkOrder

    total, waiting = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((WorkOrder.status == workorders.DISPATCHED, 1), else_=0)), 0))
        .select_from(WorkOrder).where(WorkOrder.status.in_(IN_REPAIR))).one()
    others = [s for s in workorders.TRANSITIONS if s not in IN_REPAIR]
    return _tile("work_orders_in_repair", _l("在修工单"), total or 0, _level(int(total or 0)),
                 _link("work_order.index_view", *[("status", "ne", s) for s in others]),
                 gettext("待签领 %(n)s 张", n=int(waiting or 0)) if waiting else None)


def _complaints_open(today: date, now: datetime) -> dict:
    """Complaints not yet visited back (open); of those, handled on site and awaiting the visit."""
    from schema.complaints import Complaint

    n = db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.status != complaints.VISITED))
    waiting = _count(complaints.awaiting_followup_query())
    return _tile("complaints_open", _l("未办结投诉"), n, _level(n),
                 _link("complaint.index_view", ("status", "ne", complaints.VISITED)),
                 gettext("待回访 %(n)s 条", n=waiting) if waiting else None)


def _visitors_in(today: date, now: datetime) -> dict:
    """Visitors in the building: registered in, no time out."""
    from schema.visitors import Visitor

    n = db.session.scalar(select(func.count()).select_from(Visitor).where(Visitor.time_out.is_(None)))
    return _tile("visitors_in", _l("在楼内访客"), n, OK, _link("visitor.index_view", ("time_out", "empty", "1")))


def _release_today(today: date, now: datetime) -> dict:
    """Release slips registered today; of them (and any other), those issued today."""
    from schema.release import ReleaseSlip

    lo, hi = _day(today)
    created, issued = db.session.execute(select(
        func.coalesce(func.sum(case((and_(ReleaseSlip.created_at >= lo, ReleaseSlip.created_at < hi), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(ReleaseSlip.issued_at >= lo, ReleaseSlip.issued_at < hi), 1), else_=0)), 0),
    ).select_from(ReleaseSlip).where((ReleaseSlip.created_at >= lo) | (ReleaseSlip.issued_at >= lo))).one()
    created, issued = int(created or 0), int(issued or 0)
    day = f"{lo.strftime(_DT)} to {(hi - timedelta(seconds=1)).strftime(_DT)}"
    return _tile("release_today", _l("今日放行条"), created, OK,
                 _link("release_slip.index_view", ("created_at", "dt_between", day)),
                 gettext("今日开具 %(n)s 张", n=issued) if issued else None)


def _boards_due(today: date, now: datetime) -> dict:
    """Bulletin posts due for replacement (community.posts_due_query: up 14 days or more)."""
    n = _count(community.posts_due_query(today))
    first_fresh = today - timedelta(days=community.POST_LIFETIME_DAYS - 1)  # posted_on < this is due
    return _tile("boards_due", _l("宣传栏待更换"), n, _level(n),
                 _link("bulletin_post.index_view", ("removed_on", "empty", "1"),
                       ("posted_on", "lt", first_fresh.isoformat())))


def _visits_overdue(today: date, now: datetime) -> dict:
    n = _count(visits.overdue_visits_query(today))
    return _tile("visits_overdue", _l("逾期回访计划"), n, _level(n, n),
                 _link("followup_visit.index_view", ("status", "eq", "planned"),
                       ("planned_date", "lt", today.isoformat())))


def _custody_alerts(today: date, now: datetime) -> dict:
    """Custodies with an alert (usage over the limit, or no patrol in 7 days): custody.alerting_custody_ids."""
    n = len(custody.alerting_custody_ids(today))
    return _tile("custody_alerts", _l("托管房屋提醒"), n, _level(n, n), _link("custody.index_view"))


def _slips_overdue(today: date, now: datetime) -> dict:
    """Rectification slips past their deadline (supervision.overdue_condition)."""
    from schema.supervision import DeptCheck, SlipStatus

    n = db.session.scalar(select(func.count()).select_from(DeptCheck).where(supervision.overdue_condition(now)))
    closed = [s.value for s in SlipStatus if s.value not in supervision.OPEN_STATES]
    return _tile("slips_overdue", _l("整改逾期"), n, _level(n, n),
                 _link("dept_check.index_view", *[("status", "ne", s) for s in closed],
                       ("deadline", "dt_lt", now.strftime(_DT))))


def _leases_ending(today: date, now: datetime) -> dict:
    """Signed/active leases ending within 30 days, today included (as leasing.ending_soon)."""
    from schema.leasing import Lease, LeaseStatus

    last = today + timedelta(days=LEASE_WINDOW_DAYS)
    n = db.session.scalar(select(func.count()).select_from(Lease).where(
        Lease.status.in_(leasing.LIVE), Lease.end_date >= today, Lease.end_date <= last))
    others = [s.value for s in LeaseStatus if s.value not in leasing.LIVE]
    return _tile("leases_ending", _l("30天内到期租约"), n, _level(n),
                 _link("lease.index_view", ("end_date", "between", f"{today.isoformat()} to {last.isoformat()}"),
                       *[("status", "ne", s) for s in others]))


def _arrears(by: str, key: str, label, endpoint: str):
    def tile(today: date, now: datetime) -> dict:
        """Payers with an overdue balance and the overdue sum (arrears.arrears_totals, as the page shows it)."""
        totals = arrears.arrears_totals(by, today, min_overdue=MIN_OVERDUE)
        n = totals["payers"]
        detail = gettext("逾期 %(amount)s 元", amount=f"{totals['overdue']:,.2f}") if n else None
        return _tile(key, label, n, _level(n, n), _link(endpoint, min_overdue=str(MIN_OVERDUE)), detail)

    return tile


TILES = (
    # key, audience, the entity whose list it opens, counter
    ("followups", ALL_OFFICE, "work_order", _followups),
    ("work_orders_pending", DESK, "work_order", _work_orders_pending),
    ("work_orders_in_repair", MAINTENANCE, "work_order", _work_orders_in_repair),
    ("complaints_open", ALL_OFFICE, "complaint", _complaints_open),
    ("visitors_in", DESK, "visitor", _visitors_in),
    ("release_today", DESK, "release_slip", _release_today),
    ("boards_due", DESK, "bulletin_post", _boards_due),
    ("visits_overdue", ALL_OFFICE, "followup_visit", _visits_overdue),
    ("custody_alerts", CUSTODY_WATCH, "custody", _custody_alerts),
    ("slips_overdue", MAINTENANCE, "dept_check", _slips_overdue),
    ("leases_ending", MONEY_ROLES, "lease", _leases_ending),
    ("arrears_unit", MONEY_ROLES, "charge", _arrears("unit", "arrears_unit", _l("物业费逾期欠费户"), "arrears_unit.index")),
    ("arrears_lease", MONEY_ROLES, "charge", _arrears("lease", "arrears_lease", _l("租金逾期欠费合同"), "arrears_lease.index")),
)


def tiles(user_roles, today: date, now: datetime) -> list[dict]:
    """Today's work for these roles, in a fixed order; only the tiles they may see are counted."""
    return [count(today, now) for _key, audience, table, count in TILES if visible(audience, table, user_roles)]


# ---------------------------------------------------------------- rates


def followup_rate(today: date) -> dict:
    """本月维修回访率: of the repairs completed this month (to today), how many were followed up."""
    first, _last = month_bounds(today)
    figures = workorders.followup_rates(start=first, end=today)
    rate = figures["follow_up_rate"]
    on_time = figures["on_time_rate"]
    detail = gettext("本月完工 %(done)s 张,已回访 %(visited)s 张;按时回访率 %(on_time)s",
                     done=figures["completed"], visited=figures["followed_up"],
                     on_time="—" if on_time is None else f"{on_time}%")
    return {"key": "followup_rate", "label": str(_l("本月维修回访率")), "value": rate, "target": Decimal(100),
            "level": OK if rate is None or rate >= 100 else WARN, "detail": detail, **figures,
            "link": _link("work_order.followups")}


def collection_rate(today: date) -> dict:
    """本月物业费收缴率: the non-void management-fee charges due this month, paid / billed (in yuan)."""
    from schema.ledger import Charge, ChargeKind, ChargeStatus

    first, last = month_bounds(today)
    billed, paid = db.session.execute(
        select(type_coerce(func.coalesce(func.sum(Charge.amount), 0), MONEY),
               type_coerce(func.coalesce(func.sum(Charge.amount_paid), 0), MONEY))
        .where(Charge.kind == ChargeKind.mgmt_fee.value, Charge.status != ChargeStatus.void.value,
               Charge.due_date >= first, Charge.due_date <= last)).one()
    billed, paid = Decimal(billed or 0).quantize(ZERO), Decimal(paid or 0).quantize(ZERO)
    rate = percent(paid, billed)
    return {"key": "collection_rate", "label": str(_l("本月物业费收缴率")), "value": rate, "billed": billed,
            "paid": paid, "level": OK if rate is None or rate >= 95 else WARN,
            "detail": gettext("本月应收 %(billed)s 元,已收 %(paid)s 元", billed=f"{billed:,.2f}", paid=f"{paid:,.2f}"),
            "link": _link("charge.index_view", ("kind", "eq", ChargeKind.mgmt_fee.value),
                          ("status", "ne", ChargeStatus.void.value),
                          ("due_date", "between", f"{first.isoformat()} to {last.isoformat()}"))}


RATES = (
    ("followup_rate", REPAIRS, "work_order", followup_rate),
    ("collection_rate", MONEY_ROLES, "charge", collection_rate),
)


def rates(today: date, user_roles=None) -> list[dict]:
    """The key rates (this month), for these roles (every rate when `user_roles` is None)."""
    return [fn(today) for _key, audience, table, fn in RATES
            if user_roles is None or visible(audience, table, user_roles)]


# ---------------------------------------------------------------- charts


def work_orders_per_day(today: date, days: int = CHART_DAYS) -> dict:
    """Work orders opened on each of the last `days` days (today included): one row of SUM(CASE) columns."""
    from schema.work_orders import WorkOrder

    dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
    bounds = [_day(d) for d in dates]
    row = db.session.execute(
        select(*(func.coalesce(func.sum(case((and_(WorkOrder.created_at >= lo, WorkOrder.created_at < hi), 1),
                                             else_=0)), 0) for lo, hi in bounds))
        .where(WorkOrder.created_at >= bounds[0][0], WorkOrder.created_at < bounds[-1][1])).one()
    data = [int(v or 0) for v in row]
    return {"key": "work_orders_per_day", "title": str(_l("近14天新开维修工单")), "type": "bar",
            "labels": [d.strftime("%m-%d") for d in dates], "dates": [d.isoformat() for d in dates],
            "datasets": [{"label": str(_l("工单数")), "data": data}], "empty": not any(data)}


def complaints_by_category(today: date) -> dict:
    """This month's complaints by category (complaints.counts_by_category), unjudged ones as 未定性."""
    from schema.complaints import Complaint, ComplaintCategory

    first, last = month_bounds(today)
    rows = complaints.counts_by_category([Complaint.received_at >= datetime.combine(first, time()),
                                          Complaint.received_at < datetime.combine(last + timedelta(days=1), time())])
    order = [m.value for m in ComplaintCategory]
    per = {}
    for _kind, category, n in rows:
        per[category] = per.get(category, 0) + int(n)
    keys = sorted((k for k in per if k is not None), key=lambda k: order.index(k) if k in order else len(order))
    labels = [gettext(ComplaintCategory.label_of(k)) for k in keys]
    data = [per[k] for k in keys]
    if None in per:
        labels.append(str(_l("未定性")))
        data.append(per[None])
    return {"key": "complaints_by_category", "title": str(_l("本月投诉分类")), "type": "doughnut",
            "labels": labels, "datasets": [{"label": str(_l("投诉数")), "data": data}], "empty": not data}


def arrears_aging(today: date) -> dict:
    """Open balances by age bucket (arrears.arrears_totals), management fees and rent side by side.
    Amounts are yuan as floats: for drawing only, every figure shown as text stays Decimal."""
    unit, lease = arrears.arrears_totals("unit", today), arrears.arrears_totals("lease", today)
    datasets = [{"label": str(_l("物业费")), "data": [float(unit[k]) for k in arrears.BUCKET_KEYS]},
                {"label": str(_l("租金")), "data": [float(lease[k]) for k in arrears.BUCKET_KEYS]}]
    return {"key": "arrears_aging", "title": str(_l("欠费账龄(元)")), "type": "bar", "stacked": True,
            "labels": [gettext(label) for _k, label in arrears.BUCKETS], "datasets": datasets,
            "empty": not (unit["payers"] or lease["payers"])}


CHARTS = (
    ("work_orders_per_day", REPAIRS, "work_order", work_orders_per_day),
    ("complaints_by_category", ALL_OFFICE, "complaint", complaints_by_category),
    ("arrears_aging", MONEY_ROLES, "charge", arrears_aging),
)


def charts(today: date, user_roles=None) -> list[dict]:
    """The small charts' data for these roles (all of them when `user_roles` is None)."""
    return [fn(today) for _key, audience, table, fn in CHARTS
            if user_roles is None or visible(audience, table, user_roles)]
