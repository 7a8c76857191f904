"""Renovation at the desk: review, approval through its preconditions (with upload buttons for what is
missing), works start/finish, the waste fee into the ledger, the printed permit and passes, checks."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms.validators import ValidationError

from app import actors, clock, renovation
from schema.documents import DocType
from schema.ledger import PayMethod
from schema.renovation import RULES_TEXT, RenovationCheck, RenovationPermit, WorkerPass

from .formatting import display
from .generic import SchemaView, allowed, parse_id, parse_ids
from .release import estate_name

PRINTABLE = (renovation.APPROVED, renovation.IN_PROGRESS, renovation.COMPLETED)


def _violation_badge(view, context, obj, name):
    return Markup('<span class="badge badge-danger permit-violation">违规</span>') if obj.violation else ""


def _pass_validity(view, context, obj, name):
    text = display(WorkerPass, "valid_to", obj.valid_to)
    if renovation.pass_expired(obj):
        return Markup(f'{escape(text)} <span class="badge badge-secondary pass-expired">已过期</span>')
    return text


class RenovationPermitView(SchemaView):
    confirm_actions = {
        "review": ("审核装修方案", "review_records", False),
        "approve": ("批准装修", "approve_records", False),
        "reject": ("驳回装修申请", "reject_records"),
        "start": ("开工", "start_records", False),
        "complete": ("完工", "complete_records", False),
        "collect_fee": ("收取装修垃圾清运费", "collect_records", False),
    }
    STEP_STATUS = {"review": (renovation.APPLIED,), "approve": (renovation.REVIEWED,),
                   "reject": (renovation.APPLIED, renovation.REVIEWED), "start": (renovation.APPROVED,),
                   "complete": (renovation.IN_PROGRESS,)}
    extra_permissions = {"print_view": "action:print"}

    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "violation": _violation_badge}

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if is_created:
            model.applied_at = clock.now()
            model.applied_by = current_user.username
            model.status = renovation.APPLIED
        if not is_created and model.status == renovation.REVIEWED and renovation.plan_changed(model):
            renovation.reopen_review(model)
            flash("装修方案或工期已修改,需重新审核", "warning")
        for worker in model.passes:
            problem = renovation.pass_problem(worker, model)
            if problem:
                raise ValidationError(f"{worker.name}:{problem}")
        renovation.number_passes(model)

    def action_applies(self, name, model):
        if name == "collect_fee":
            return not model.waste_fee_paid and bool(model.waste_fee) and model.status != renovation.REJECTED
        return model.status in self.STEP_STATUS.get(name, ())

    @action("print", "打印许可证及出入证")
    def action_print(self, ids):
        return redirect(url_for(".print_view", ids=",".join(map(str, ids))))

    def confirm_fields(self, name):
        if name == "review":
            return [{"name": "note", "label": "审核意见", "type": "textarea"}]
        if name == "collect_fee":
            return [{"name": "method", "label": "收款方式", "type": "select", "options": PayMethod.choices()}]
        return []

    def review_records(self, records, form):
        for permit in records:
            renovation.review(permit, user=current_user, note=form.get("note", ""))
        return f"已审核 {len(records)} 份装修方案"

    def approve_records(self, records, form):
        for permit in records:
            renovation.approve(permit, user=current_user)
        return ("已批准:" + "、".join(p.number for p in records) + ";已通知"
                + "、".join(renovation.NOTIFIED_DEPARTMENTS))

    def reject_records(self, records, form):
        for permit in records:
            renovation.reject(permit, reason=form.get("reason", ""), user=current_user)
        return f"已驳回 {len(records)} 份装修申请"

    def start_records(self, records, form):
        for permit in records:
            renovation.start_works(permit, user=current_user)
        return f"已开工 {len(records)} 户,房屋状态为装修中"

    def complete_records(self, records, form):
        for permit in records:
            renovation.complete_works(permit, user=current_user)
        return f"已完工 {len(records)} 户"

    def collect_records(self, records, form):
        receipts = [renovation.collect_waste_fee(p, method=form.get("method"), clerk=current_user).receipt_no
                    for p in records]
        return "已收取装修垃圾清运费,收据号 " + "、".join(receipts)

    def record_links(self, model):
        """Upload buttons for each missing document, prefilled for the unit's file; print once approved."""
        here = url_for(".details_view", id=model.id)
        links = [(f"上传{DocType.label_of(code)}",
                  url_for("document.create_view", owner=model.owner_id, unit=model.unit_id, doc_type=code,
                          ref_table="renovation_permit", ref_id=model.id, url=here))
                 for code in renovation.missing_documents(model)]
        if model.status in PRINTABLE and self.allowed("action:print"):
            links.append((gettext("打印许可证及出入证"), url_for(".print_view", ids=model.id)))
        if model.status in PRINTABLE and allowed(RenovationCheck.__admin__, "create"):
            links.append((gettext("登记装修巡查"), url_for("renovation_check.create_view", permit=model.id, url=here)))
        return links + super().record_links(model)

    def record_sections(self, model):
        from schema.notifications import Notification

        problems = renovation.approval_problems(model) if model.status in (renovation.APPLIED, renovation.REVIEWED) else []
        passes = [[p.pass_no or "(批准后编号)", p.name, p.id_number, p.phone or "",
                   f"{display(WorkerPass, 'valid_from', p.valid_from)} 至 {display(WorkerPass, 'valid_to', p.valid_to)}",
                   "已过期" if renovation.pass_expired(p) else "有效"] for p in model.passes]
        checks = [[display(RenovationCheck, "checked_on", c.checked_on), c.inspector, c.findings,
                   "违规" if c.violation else "正常", c.action_taken or ""]
                  for c in sorted(model.checks, key=lambda c: c.checked_on, reverse=True)]
        notices = [[display(Notification, "created_at", n.created_at), str(n.department), n.subject,
                    display(Notification, "acknowledged_at", n.acknowledged_at) or "未签收"]
                   for n in Notification.query.filter_by(source_table="renovation_permit", source_id=model.id)]
        pending = [{"title": "批准前还需", "headers": ["事项"], "rows": [[p] for p in problems],
                    "summary": "告知内容:" + RULES_TEXT}] if problems else []
        return pending + [
            {"title": "施工人员出入证", "headers": ["出入证号", "姓名", "身份证号", "电话", "有效期", "状态"], "rows": passes},
            {"title": "装修巡查", "headers": ["日期", "巡查人", "情况", "结论", "处理措施"], "rows": checks},
            {"title": "部门通知", "headers": ["通知时间", "部门", "事由", "签收"], "rows": notices},
        ]

    def list_links(self):
        return [(gettext("有违规"), self.filter_url("violation", FilterEqual, "1")),
                (gettext("施工中"), self.filter_url("status", FilterEqual, "in_progress"))]

    @expose("/print/")
    def print_view(self):
        ids = parse_ids((request.args.get("ids") or "").split(","))
        permits = [p for p in self.get_query().filter(RenovationPermit.id.in_(ids)).order_by(RenovationPermit.id)
                   if p.status in PRINTABLE] if ids else []
        if not permits:
            flash("只有已批准的装修许可可以打印", "error")
            return redirect(url_for(".index_view"))
        return render_template("print/renovation_permit.html", person=actors.person, permits=permits,
                               estate_of=estate_name,
                               rules=RULES_TEXT, display=display, Permit=RenovationPermit, today=clock.today(),
                               expired=renovation.pass_expired)


class WorkerPassView(SchemaView):
    def __init__(self, model, db_):
        super().__init__(model, db_)
        self.column_formatters = {**self.column_formatters, "valid_to": _pass_validity}

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        problem = renovation.pass_problem(model)
        if problem:
            raise ValidationError(problem)


class RenovationCheckView(SchemaView):
    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.checked_on.data = clock.today()
            try:
                form.permit.data = self.db_session.get(RenovationPermit, parse_id(request.args.get("permit", "")))
            except ValueError:
                pass
        return form

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        renovation.note_check(model)
