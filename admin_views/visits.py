"""Follow-up visits and the owner survey: each visit step a confirm action calling app/visits, overdue plans
flagged, the list's visit counts; the survey's yearly figures on a stats page with a chart."""
from __future__ import annotations

from typing import ClassVar

from flask import flash, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla.filters import DateSmallerFilter, FilterEqual
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from app import clock, visits
from app.extensions import db
from schema.property import Building, Estate
from schema.visits import FollowupVisit, Survey, VisitResult
from schema.work_orders import WorkOrderCategory

from .formatting import fmt_date, parse_when
from .generic import SchemaView, parse_id
from .pickers import department_field, department_of

SCORE_LABELS = {"score_service": "客服", "score_cleaning": "保洁", "score_security": "秩序维护",
                "score_maintenance": "工程维修", "score_greening": "绿化"}


def _planned_date(view, context, obj, name):
    text = fmt_date(obj.planned_date)
    if visits.visit_overdue(obj, clock.today()):
        return Markup(f'<span class="badge badge-danger visit-overdue">逾期</span> {escape(text)}')
    return text


class FollowupVisitView(SchemaView):
    """Visit plans: 登记回访, 问题转维修工单, 取消回访; overdue plans flagged."""

    confirm_actions: ClassVar[dict] = {
        "record": ("登记回访", "record_records", False),
        "to_work_order": ("问题转维修工单", "work_order_records", False),
        "cancel": ("取消回访", "cancel_records"),
    }

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "planned_date": _planned_date}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.planned_date.data = clock.today()
            form.staff.data = current_user.display_name
        return form

    def build_from_form(self, form):
        return visits.plan_visit(
            unit=form.unit.data, owner=form.owner.data, planned_date=form.planned_date.data, staff=form.staff.data,
            method=form.method.data, purpose=form.purpose.data, work_order=form.work_order.data,
            note=form.note.data, user=current_user)

    def action_applies(self, name, model):
        if name == "to_work_order":
            return model.status == visits.DONE and bool(model.problems) and model.raised_work_order_id is None
        return model.status == visits.PLANNED

    def confirm_fields(self, name):
        if name == "record":
            return [{"name": "at", "label": "回访时间", "type": "datetime-local",
                     "value": clock.now().strftime("%Y-%m-%dT%H:%M")},
                    {"name": "content", "label": "回访内容", "type": "textarea"},
                    {"name": "problems", "label": "发现问题(无则留空)", "type": "textarea"},
                    {"name": "opinion", "label": "处理意见", "type": "textarea"},
                    {"name": "result", "label": "回访结果", "type": "select",
                     "options": [("", "(请选择)"), *VisitResult.choices()]}]
        if name == "to_work_order":
            return [{"name": "category", "label": "维修类别", "type": "select", "options": WorkOrderCategory.choices(),
                     "value": "other"},
                    department_field("派往部门(可稍后派工)", blank=True)]
        return []

    def record_records(self, records, form):
        at = parse_when(form.get("at"))
        for v in records:
            visits.record_visit(v, at=at, content=form.get("content"), problems=form.get("problems"),
                                opinion=form.get("opinion"), result=form.get("result"), user=current_user)
        return f"已登记 {len(records)} 次回访"

    def work_order_records(self, records, form):
        numbers = [visits.problem_to_work_order(v, user=current_user, category=form.get("category") or "other",
                                                department=department_of(form)).number for v in records]
        return f"已转维修工单:{'、'.join(numbers)}"

    def cancel_records(self, records, form):
        for v in records:
            visits.cancel_visit(v, reason=form.get("reason", ""), user=current_user)
        return f"已取消 {len(records)} 次回访"

    def list_summary(self):
        c = visits.visit_counts([FollowupVisit.id.in_(select(self.filtered_ids().c.id))], clock.today())
        return (f"当前筛选:已回访 {c['done']} 次,其中上门 {c['visit']}、电话 {c['phone']};"
                f"满意 {c['satisfied']}、基本满意 {c['fair']}、不满意 {c['unsatisfied']};逾期未回访 {c['overdue']}")

    def _filter_arg(self, column, kind) -> str:
        target = getattr(self.model, column).property.columns[0]
        index, flt = next((i, f) for i, f in enumerate(self._filters or ())
                          if type(f) is kind and getattr(f, "column", None) is target)
        return self.get_filter_arg(index, flt)

    def list_links(self):
        overdue = {f"flt0_{self._filter_arg('status', FilterEqual)}": visits.PLANNED,
                   f"flt1_{self._filter_arg('planned_date', DateSmallerFilter)}": clock.today().isoformat()}
        return [(gettext("逾期未回访"), self.get_url(".index_view", **overdue)),
                (gettext("计划中"), self.filter_url("status", FilterEqual, visits.PLANNED))]


def _year(raw, default: int) -> int:
    """The year asked for; anything but a plausible year falls back to the default with a message."""
    if raw in (None, ""):
        return default
    text = str(raw).strip()
    if text.isdigit() and 2000 <= int(text) <= 2100:
        return int(text)
    flash(gettext("年度格式不正确,已显示默认年度"), "error")
    return default


class SurveyView(SchemaView):
    """The yearly survey with collection rate and average scores."""

    extra_permissions: ClassVar[dict] = {"stats_view": "read"}

    def list_links(self):
        return [(gettext("统计分析"), url_for(".stats_view"))]

    @expose("/stats/")
    def stats_view(self):
        years = sorted(set(db.session.execute(select(Survey.year).distinct()).scalars()) | {clock.today().year},
                       reverse=True)
        year = _year(request.args.get("year"), years[0])
        years = sorted(set(years) | {year}, reverse=True)
        buildings = db.session.execute(
            select(Building.id, Estate.name, Building.name).join(Estate, Building.estate_id == Estate.id)
            .where(Building.id.in_(select(Building.id).join_from(Survey, Survey.unit).join(Building)))
            .order_by(Estate.name, Building.name)).all()
        try:
            building_id = parse_id(request.args.get("building_id") or "")
        except ValueError:
            building_id = None
        stats = visits.survey_stats(year, building_id)
        labels = [gettext(SCORE_LABELS[name]) for name in visits.SCORES]
        values = [None if v is None else float(v) for v in stats["averages"].values()]
        return self.render("admin/survey_stats.html", year=year, years=years, stats=stats, labels=labels,
                           values=values, scores=visits.SCORES, buildings=buildings, building_id=building_id)
