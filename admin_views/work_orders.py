"""Work orders: each step of 待派工 → 已派工 → 已签领 → 处理中 → 已完成 → 已回访 is an action that
stamps who and when; the list shows the follow-up rates of what it lists; 待回访 shows deadlines."""
from flask import abort, render_template, request, url_for
from flask_babel import gettext
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select

from app import actors, clock, workorders
from app.extensions import db
from schema.work_orders import FollowupMethod, WorkOrder

from .formatting import display, fmt_date, parse_when
from .generic import SchemaView
from .pickers import department_field, department_of


class WorkOrderView(SchemaView):
    confirm_actions = {
        "dispatch": ("派工", "dispatch_records", False),
        "complete": ("完工", "complete_records", False),
        "followup": ("回访", "followup_records", False),
        "close": ("关闭工单", "close_records"),
    }
    extra_permissions = {"followups": "read", "print_view": "read"}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "followup_due": self._due}

    @staticmethod
    def _due(view, context, obj, name):
        if obj.followup_due is None:
            return ""
        text = fmt_date(obj.followup_due)
        if workorders.is_overdue(obj, clock.now()):
            return Markup(f'<span class="badge badge-danger">逾期</span> {escape(text)}')
        return text

    def build_from_form(self, form):
        """New orders go through the rule that numbers them and stamps who opened them."""
        order = workorders.open_work_order(
            source=form.source.data, description=form.description.data, unit=form.unit.data,
            reporter=form.reporter.data, reporter_phone=form.reporter_phone.data, category=form.category.data,
            department=form.department.data, created_by=current_user.username)
        order.note = form.note.data
        return order

    def action_applies(self, name, model):
        return name in workorders.available_actions(model.status)

    def record_links(self, model):
        return [(gettext("打印工单"), url_for(".print_view", id=model.id))] + super().record_links(model)

    @expose("/print/")
    def print_view(self):
        order = self.get_one(request.args.get("id", ""))
        if order is None:
            abort(404)
        from .release import estate_name

        return render_template("print/work_order.html", person=actors.person, o=order,
                               estate=estate_name(order.unit),
                               show=lambda name: display(WorkOrder, name, getattr(order, name)))

    # -- steps --------------------------------------------------------------------------
    @action("dispatch", "派工")
    def action_dispatch(self, ids):
        return self.confirm_action("dispatch", ids)

    @action("accept", "签领")
    def action_accept(self, ids):
        self.apply_rule(ids, lambda o: workorders.accept(o, current_user.username), "已签领")

    @action("start", "开始处理")
    def action_start(self, ids):
        self.apply_rule(ids, lambda o: workorders.start(o, current_user.username), "开始处理")

    @action("complete", "完工")
    def action_complete(self, ids):
        return self.confirm_action("complete", ids)

    @action("followup", "回访")
    def action_followup(self, ids):
        return self.confirm_action("followup", ids)

    @action("close", "关闭")
    def action_close(self, ids):
        return self.confirm_action("close", ids)

    def confirm_fields(self, name):
        now = clock.now().strftime("%Y-%m-%dT%H:%M")
        if name == "dispatch":
            return [department_field("负责部门")]
        if name == "complete":
            return [{"name": "at", "label": "完成时间", "type": "datetime-local", "value": now},
                    {"name": "leak_test_at", "label": "试漏时间(渗漏水维修必填)", "type": "datetime-local"}]
        if name == "followup":
            return [{"name": "method", "label": "回访方式", "type": "select", "options": FollowupMethod.choices()},
                    {"name": "satisfied", "label": "业主是否满意", "type": "select", "options": [("1", "满意"), ("0", "不满意")]},
                    {"name": "result", "label": "回访结果", "type": "textarea"},
                    {"name": "problems", "label": "发现的问题(填写后退回维修)", "type": "textarea"}]
        return []

    def dispatch_records(self, records, form):
        department = department_of(form)
        for order in records:
            workorders.dispatch(order, current_user.username, department=department)
        return f"已派工 {len(records)} 张工单"

    def complete_records(self, records, form):
        at = parse_when(form.get("at"))
        leak = parse_when(form.get("leak_test_at")) if form.get("leak_test_at") else None
        for order in records:
            workorders.complete(order, current_user.username, at=at, leak_test_at=leak)
        return f"已完工 {len(records)} 张工单,已生成回访期限"

    def followup_records(self, records, form):
        for order in records:
            workorders.record_followup(order, current_user.username, method=form.get("method"),
                                       satisfied=form.get("satisfied") == "1", result=form.get("result", ""),
                                       problems=form.get("problems") or None)
        return f"已记录 {len(records)} 张工单的回访"

    def close_records(self, records, form):
        for order in records:
            workorders.close(order, current_user.username, form.get("reason", ""))
        return f"已关闭 {len(records)} 张工单"

    # -- rates and the follow-up queue ---------------------------------------------------
    def list_summary(self):
        """Rates over what the list is filtered to; an unfiltered list shows this month's (a rate over
        every order ever completed says little, and reading them all would grow with the years)."""
        args = self._get_list_extra_args()
        if args.filters or args.search:
            scope, rates = "当前筛选", workorders.followup_rates([WorkOrder.id.in_(select(self.filtered_ids().c.id))])
        else:
            today = clock.today()
            scope, rates = f"本月({today.month}月)", workorders.followup_rates(start=today.replace(day=1), end=today)
        if not rates["completed"]:
            return f"{scope}没有已完成的维修工单"

        def pct(value):
            return "—" if value is None else f"{value}%"

        return (f"{scope}:已完成 {rates['completed']} 张,已回访 {rates['followed_up']} 张,"
                f"回访率 {pct(rates['follow_up_rate'])}(目标100%),按时回访率 {pct(rates['on_time_rate'])}")

    def list_links(self):
        return [(gettext("待回访"), url_for(".followups"))]

    @expose("/followups/")
    def followups(self):
        now = clock.now()
        orders = db.session.execute(workorders.pending_followups_query(now)).scalars().all()
        return self.render("admin/followups.html", orders=orders, now=now,
                           overdue={o.id for o in orders if workorders.is_overdue(o, now)},
                           can_follow=self.allowed("action:followup"),
                           category_label=lambda code: display(WorkOrder, "category", code))
