"""Department checks and slips (整改 → 复查, overdue flagged, counts by department and month), patrols that
raise their failures as slips in one step, and departments' notices (签收)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape

from app import clock, supervision
from schema.supervision import DeptCheck

from .formatting import display, parse_when
from .generic import SchemaView


def _deadline(view, context, obj, name):
    text = display(DeptCheck, "deadline", obj.deadline)
    if supervision.is_overdue(obj):
        return Markup(f'<span class="badge badge-danger slip-overdue">逾期</span> {escape(text)}')
    return text


def _check_mark(view, context, obj, name):
    ok = getattr(obj, name)
    note = getattr(obj, name.replace("_ok", "_note")) or ""
    if ok:
        return "合格"
    return Markup(f'<span class="badge badge-warning">不合格</span> {escape(note)}')


def default_deadline():
    return (clock.now() + timedelta(days=3)).replace(hour=18, minute=0, second=0, microsecond=0)


class DeptCheckView(SchemaView):
    confirm_actions = {
        "rectify": ("登记整改", "rectify_records", False),
        "recheck": ("复查", "recheck_records", False),
    }
    extra_permissions = {"stats_view": "read"}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "deadline": _deadline}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.checked_at.data = clock.now().replace(second=0, microsecond=0)
            form.checker.data = current_user.display_name
        return form

    def build_from_form(self, form):
        return supervision.record_check(
            department=form.department.data, item=form.item.data, checker=form.checker.data,
            passed=bool(form.passed.data), findings=form.findings.data, slip_kind=form.slip_kind.data or None,
            deadline=form.deadline.data, at=form.checked_at.data, user=current_user, note=form.note.data)

    def action_applies(self, name, model):
        if name == "rectify":
            return model.status in supervision.OPEN_STATES
        return model.status == supervision.RECTIFIED

    def confirm_fields(self, name):
        now = clock.now().strftime("%Y-%m-%dT%H:%M")
        if name == "rectify":
            return [{"name": "note", "label": "整改情况", "type": "textarea"},
                    {"name": "at", "label": "整改完成时间", "type": "datetime-local", "value": now}]
        return [{"name": "passed", "label": "复查结论", "type": "select",
                 "options": [("1", "复查合格"), ("0", "复查不合格(重新开单)")]},
                {"name": "note", "label": "复查情况", "type": "textarea"},
                {"name": "new_deadline", "label": "新的整改期限(复查不合格时必填)", "type": "datetime-local"}]

    def rectify_records(self, records, form):
        at = parse_when(form.get("at"))
        for check in records:
            supervision.rectify(check, note=form.get("note", ""), user=current_user, at=at)
        return f"已登记整改 {len(records)} 张"

    def recheck_records(self, records, form):
        passed = form.get("passed") == "1"
        deadline = parse_when(form.get("new_deadline")) if form.get("new_deadline") else None
        for check in records:
            supervision.recheck(check, passed=passed, note=form.get("note", ""), user=current_user,
                                new_deadline=deadline)
        return f"已复查 {len(records)} 张:" + ("合格" if passed else "不合格,已重新开单")

    def list_summary(self):
        from sqlalchemy import func, select

        overdue = self.db_session.scalar(select(func.count()).select_from(DeptCheck)
                                         .where(supervision.overdue_condition(clock.now())))
        return f"有 {overdue} 张整改单已超过整改期限" if overdue else None

    def list_links(self):
        from flask_admin.contrib.sqla.filters import FilterEqual

        return [(gettext("待整改"), self.filter_url("status", FilterEqual, "open")),
                (gettext("待复查"), self.filter_url("status", FilterEqual, "rectified")),
                (gettext("按部门和月份统计"), url_for(".stats_view"))]

    @expose("/stats/")
    def stats_view(self):
        today = clock.today()
        try:
            since = date.fromisoformat(request.args.get("since") or "")
        except ValueError:
            since = today.replace(day=1) - timedelta(days=334)
            since = since.replace(day=1)
        try:
            until = date.fromisoformat(request.args.get("until") or "")
        except ValueError:
            until = today
        rows = supervision.counts_by_department_month(since, until)
        months = sorted({m for _d, m, _n, _o in rows})
        table = {}
        for dept, month, raised, still_open in rows:
            table.setdefault(dept, {})[month] = (raised, still_open)
        return self.render("admin/slip_stats.html", since=since, until=until, months=months, table=table)


class PatrolView(SchemaView):
    confirm_actions = {"raise_slips": ("不合格项开单", "raise_records", False)}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters,
                                  **{f"{n}_ok": _check_mark for n in supervision.PATROL_ITEMS}}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.at.data = clock.now().replace(second=0, microsecond=0)
            form.patroller.data = current_user.display_name
        return form

    def action_applies(self, name, model):
        raised = {s.item for s in model.slips}
        return any(supervision.PATROL_ITEMS[n][0] not in raised for n in supervision.failures(model))

    def confirm_fields(self, name):
        return [{"name": "deadline", "label": "整改期限", "type": "datetime-local",
                 "value": default_deadline().strftime("%Y-%m-%dT%H:%M")}]

    def raise_records(self, records, form):
        deadline = parse_when(form.get("deadline"))
        numbers = [s.number for p in records for s in supervision.raise_patrol_slips(p, deadline=deadline,
                                                                                       user=current_user)]
        return "已开具不合格单:" + "、".join(numbers)

    def record_sections(self, model):
        rows = [[s.number, str(s.department), display(DeptCheck, "item", s.item), display(DeptCheck, "status", s.status),
                 display(DeptCheck, "deadline", s.deadline)] for s in model.slips]
        return [{"title": "已开不合格单", "headers": ["单号", "部门", "项目", "状态", "整改期限"], "rows": rows}]


class NotificationView(SchemaView):
    @action("acknowledge", "签收")
    def action_acknowledge(self, ids):
        def sign(notice):
            if notice.acknowledged_at is not None:
                raise ValueError("已签收")
            notice.acknowledged_at = clock.now()
            notice.acknowledged_by = current_user.username

        self.apply_rule(ids, sign, "已签收")

