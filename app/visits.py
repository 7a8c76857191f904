"""Follow-up visits (走回访) and the yearly owner survey: plans, records, problems back to maintenance, survey rules.

The manual (走回访): visits by plan, 上门 or 电话; each record keeps content, problems, handling opinion and
result; problems found go back to maintenance; the yearly survey is distributed, collected and analysed.
Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, exists, func, select

from . import clock, workorders
from .actors import code_of, username_of
from .audit import audit_context
from .extensions import db

SCORES = ("score_service", "score_cleaning", "score_security", "score_maintenance", "score_greening")
PLANNED, DONE, CANCELLED = "planned", "done", "cancelled"
ONE_PLACE = Decimal("0.1")


class VisitError(ValueError):
    """A visit step refused, with a Chinese message for the user."""


def survey_errors(data: dict) -> dict:
    """Scores are whole numbers 1–5, given only once the form is collected, and collected after distribution."""
    errors = {}
    for name in SCORES:
        value = data.get(name)
        if value is not None and not 1 <= value <= 5:
            errors[name] = "评分须为1到5分"
        elif value is not None and not data.get("collected_on"):
            errors["collected_on"] = "填写评分前请先填写回收日期"
    given, collected = data.get("distributed_on"), data.get("collected_on")
    if given and collected and collected < given:
        errors["collected_on"] = "回收日期不能早于发放日期"
    return errors


def visit_overdue(visit, today) -> bool:
    """A planned visit whose date has passed without a record."""
    return visit.status == "planned" and visit.planned_date is not None and visit.planned_date < today


def overdue_visits_query(today):
    """Planned visits past their date, oldest first."""
    from schema.visits import FollowupVisit

    return (select(FollowupVisit).where(FollowupVisit.status == "planned", FollowupVisit.planned_date < today)
            .order_by(FollowupVisit.planned_date))


# ---------------------------------------------------------------- visits


def _text(value) -> str | None:
    return (value or "").strip() or None


def plan_visit(*, unit, planned_date: date, staff: str, method="phone", owner=None, purpose=None, work_order=None,
               note=None, user=None):
    """A visit plan (计划中) for a unit on a date, by a named staff member."""
    from schema.visits import FollowupVisit
    from schema.work_orders import FollowupMethod

    if unit is None:
        raise VisitError("请选择房屋")
    if planned_date is None:
        raise VisitError("请填写计划日期")
    if not _text(staff):
        raise VisitError("请填写回访人")
    if code_of(method) not in {m.value for m in FollowupMethod}:
        raise VisitError("请选择回访方式")
    with audit_context(db.session, action="计划回访", username=username_of(user)):
        visit = FollowupVisit(unit=unit, owner=owner, planned_date=planned_date, staff=_text(staff),
                              method=code_of(method), purpose=_text(purpose), work_order=work_order,
                              note=_text(note), status=PLANNED)
        db.session.add(visit)
        db.session.flush()
    return visit


def _planned(visit) -> None:
    from schema.visits import VisitStatus

    if visit.status != PLANNED:
        raise VisitError(f"该回访已是「{VisitStatus.label_of(visit.status)}」")


def record_visit(visit, *, at: datetime | None, content, problems=None, opinion=None, result, user):
    """登记回访. A linked repair awaiting its follow-up is followed up too: its problems send it back to
    maintenance through the work-order flow, and it becomes this visit's 问题转工单."""
    from schema.visits import VisitResult

    _planned(visit)
    if not _text(content):
        raise VisitError("请填写回访内容")
    if code_of(result) not in {m.value for m in VisitResult}:
        raise VisitError("请选择回访结果")
    at = at or clock.now()
    if at > clock.now():
        raise VisitError("回访时间不能晚于当前时间")
    who = username_of(user)
    with audit_context(db.session, action="登记回访", note=_text(problems), username=who):
        visit.status, visit.visited_at = DONE, at
        visit.content, visit.problems, visit.opinion = _text(content), _text(problems), _text(opinion)
        visit.result = code_of(result)
        db.session.flush()
    order = visit.work_order
    if order is not None and order.status == workorders.DONE:
        workorders.record_followup(order, who, method=visit.method, satisfied=visit.result != "unsatisfied",
                                   result=f"{VisitResult.label_of(visit.result)}:{visit.content}",
                                   problems=visit.problems, at=at)
        if visit.problems:
            visit.raised_work_order = order
            db.session.flush()
    return visit


def problem_to_work_order(visit, *, user, category="other", department=None, at: datetime | None = None):
    """问题转维修工单: the problems a visit found become a repair order (报修) for the unit, linked to it."""
    if visit.status != DONE:
        raise VisitError("请先登记回访")
    if not visit.problems:
        raise VisitError("该回访未发现问题")
    if visit.raised_work_order_id is not None or visit.raised_work_order is not None:
        raise VisitError(f"该回访的问题已转维修工单 {visit.raised_work_order.number}")
    order = workorders.open_work_order(
        source="repair", description=visit.problems, unit=visit.unit,
        reporter=visit.owner.name if visit.owner else None, reporter_phone=visit.owner.phone if visit.owner else None,
        category=category, department=department, created_by=user, at=at)
    with audit_context(db.session, action="问题转维修工单", note=order.number, username=username_of(user)):
        visit.raised_work_order = order
        db.session.flush()
    return order


def cancel_visit(visit, *, reason: str, user):
    """取消回访 of a plan, with the reason kept in the note and the audit row."""
    _planned(visit)
    reason = _text(reason)
    if not reason:
        raise VisitError("请填写取消原因")
    with audit_context(db.session, action="取消回访", note=reason, username=username_of(user)):
        visit.status = CANCELLED
        visit.note = "\n".join(filter(None, [visit.note, f"取消原因:{reason}"]))
        db.session.flush()
    return visit


def plan_repair_followups(*, staff: str, user=None, method="phone") -> list:
    """Plan a visit for every completed repair awaiting follow-up that has none yet, due on its deadline."""
    from schema.visits import FollowupVisit
    from schema.work_orders import WorkOrder

    planned = exists().where(FollowupVisit.work_order_id == WorkOrder.id, FollowupVisit.status != CANCELLED)
    orders = db.session.execute(
        select(WorkOrder).where(WorkOrder.status == workorders.DONE, WorkOrder.unit_id.is_not(None), ~planned)
        .order_by(WorkOrder.followup_due, WorkOrder.id)).scalars().all()
    return [plan_visit(unit=o.unit, planned_date=(o.followup_due or clock.now()).date(), staff=staff, method=method,
                       purpose=f"维修回访 {o.number}", work_order=o, user=user) for o in orders]


def visit_counts(conditions=(), today: date | None = None) -> dict:
    """Done visits by method and result, and overdue plans, among the visits matching `conditions`."""
    from schema.visits import FollowupVisit as V

    done = V.status == DONE

    def n(*cond):
        return func.coalesce(func.sum(case((and_(*cond), 1), else_=0)), 0)

    row = db.session.execute(select(
        n(done), n(done, V.method == "visit"), n(done, V.method == "phone"), n(done, V.result == "satisfied"),
        n(done, V.result == "fair"), n(done, V.result == "unsatisfied"),
        n(V.status == PLANNED, V.planned_date < (today or clock.today()))).where(*conditions)).one()
    keys = ("done", "visit", "phone", "satisfied", "fair", "unsatisfied", "overdue")
    return dict(zip(keys, (int(v or 0) for v in row)))


# ---------------------------------------------------------------- survey analysis


def _one_place(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _figures(distributed, collected, *averages) -> dict:
    rate = _one_place(Decimal(int(collected or 0)) * 100 / Decimal(distributed)) if distributed else None
    return {"distributed": int(distributed or 0), "collected": int(collected or 0), "collection_rate": rate,
            "averages": {name: _one_place(v) for name, v in zip(SCORES, averages)}}


def survey_stats(year: int, building_id: int | None = None) -> dict:
    """The year's survey in figures: distributed, collected, collection rate (%), average per score dimension,
    overall and per building (each one SQL aggregate). Rates and averages have one decimal, None when empty."""
    from schema.property import Building, Unit
    from schema.visits import Survey

    columns = [func.count(Survey.id), func.count(Survey.collected_on),
               *(func.avg(getattr(Survey, name)) for name in SCORES)]
    conditions = [Survey.year == year]
    if building_id is not None:
        conditions.append(Unit.building_id == building_id)
    base = select(*columns).join(Unit, Survey.unit_id == Unit.id).where(*conditions)
    totals = _figures(*db.session.execute(base).one())
    rows = db.session.execute(
        base.add_columns(Building.id, Building.name).join(Building, Unit.building_id == Building.id)
        .group_by(Building.id, Building.name).order_by(Building.name, Building.id)).all()
    totals["buildings"] = [{"id": r[-2], "name": r[-1], **_figures(*r[:-2])} for r in rows]
    return totals
