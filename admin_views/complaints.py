"""Complaints and calls at the front desk: each procedure step is a confirm action calling app/complaints
and app/calls; a complaint's page shows the complainant's identity check and the unit's payment status."""
from __future__ import annotations

from flask import request
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from app import arrears, calls, clock, complaints
from schema.complaints import KIND_CATEGORIES, Complaint, ComplaintCategory, ComplaintKind
from schema.work_orders import WorkOrderCategory

from .formatting import display, money, parse_when
from .generic import SchemaView
from .pickers import department_field, department_of


def category_options(kinds=("valid", "communication")):
    return [(code, f"{ComplaintKind.label_of(kind)} · {ComplaintCategory.label_of(code)}")
            for kind in kinds for code in KIND_CATEGORIES[kind]]


def kind_of_category(code):
    return next((kind for kind, codes in KIND_CATEGORIES.items() if code in codes), None)


def unit_status_section(unit, identity_rows) -> dict:
    """Identity check and the unit's current payment status, as the manual asks for communication complaints."""
    rows = list(identity_rows)
    if unit is not None:
        for o in unit.ownerships:
            rows.append(["登记业主", f"{o.owner.name} {o.owner.phone or ''}"])
        owed = arrears.arrears_for_unit(unit.id)
        rows.append(["缴费情况", f"欠费 {money(owed['total_owed'])} 元,其中逾期 {money(owed['overdue'])} 元"
                     if owed["total_owed"] else "无欠费"])
    return {"title": "身份核实与缴费情况", "headers": ["项目", "内容"], "rows": rows}


class ComplaintView(SchemaView):
    confirm_actions = {
        "classify": ("定性", "classify_records", False),
        "verify": ("核实身份", "verify_records", False),
        "assign": ("派部门", "assign_records", False),
        "on_site": ("现场处理", "on_site_records", False),
        "followup": ("回访", "followup_records", False),
        "escalate": ("升级为有效投诉", "escalate_records"),
    }
    STEP_STATUS = {"classify": ("registered", "classified"), "assign": ("classified", "assigned"),
                   "on_site": ("assigned",), "followup": ("on_site",)}

    def build_from_form(self, form):
        return complaints.register(
            complainant=form.complainant.data, content=form.content.data, channel=form.channel.data,
            phone=form.phone.data, unit=form.unit.data, kind=form.kind.data or None,
            category=form.category.data or None, created_by=current_user, note=form.note.data)

    def action_applies(self, name, model):
        if name == "escalate":
            return model.kind == "communication"
        if name == "verify":
            return not model.identity_checked
        return model.status in self.STEP_STATUS.get(name, (model.status,))

    def confirm_fields(self, name):
        now = clock.now().strftime("%Y-%m-%dT%H:%M")
        return {
            "classify": [{"name": "category", "label": "性质与类别", "type": "select", "options": category_options()}],
            "verify": [{"name": "note", "label": "身份核实情况", "type": "textarea"}],
            "assign": [department_field(),
                       {"name": "supervisor", "label": "现场负责主管(留空则为部门主管)", "type": "text"}],
            "on_site": [{"name": "at", "label": "现场处理时间", "type": "datetime-local", "value": now},
                        {"name": "handling", "label": "处理情况", "type": "textarea"}],
            "followup": [{"name": "at", "label": "回访时间", "type": "datetime-local", "value": now},
                         {"name": "satisfied", "label": "投诉人是否满意", "type": "select",
                          "options": [("1", "满意"), ("0", "不满意")]},
                         {"name": "result", "label": "回访结果", "type": "textarea"}],
            "escalate": [{"name": "category", "label": "有效投诉类别", "type": "select",
                          "options": category_options(("valid",))}],
        }.get(name, [])

    def classify_records(self, records, form):
        code = form.get("category")
        for c in records:
            complaints.classify(c, kind=kind_of_category(code), category=code, user=current_user)
        return f"已定性 {len(records)} 条投诉"

    def verify_records(self, records, form):
        for c in records:
            complaints.verify_identity(c, note=form.get("note", ""), user=current_user)
        return f"已核实 {len(records)} 条投诉的投诉人身份"

    def assign_records(self, records, form):
        department = department_of(form)
        for c in records:
            complaints.assign(c, department=department, supervisor_name=form.get("supervisor"), user=current_user)
        return f"已派部门 {len(records)} 条投诉"

    def on_site_records(self, records, form):
        at = parse_when(form.get("at"))
        for c in records:
            complaints.handle_on_site(c, handling=form.get("handling", ""), user=current_user, at=at)
        return f"已记录 {len(records)} 条投诉的现场处理"

    def followup_records(self, records, form):
        for c in records:
            complaints.record_followup(c, result=form.get("result", ""), satisfied=form.get("satisfied") == "1",
                                       user=current_user, at=parse_when(form.get("at")))
        return f"已回访 {len(records)} 条投诉"

    def escalate_records(self, records, form):
        for c in records:
            complaints.escalate(c, category=form.get("category"), reason=form.get("reason", ""), user=current_user)
        return f"已将 {len(records)} 条沟通性投诉升级为有效投诉"

    def record_sections(self, model):
        checked = [["身份核实", ("已核实:" + (model.identity_note or "")) if model.identity_checked else "未核实"]]
        sections = [unit_status_section(model.unit, checked)]
        if model.escalated:
            sections.append({"title": "升级记录", "headers": ["原类别", "升级原因", "升级人", "升级时间"],
                             "rows": [[display(Complaint, "escalated_from", model.escalated_from),
                                       model.escalation_reason or "", model.escalated_by or "",
                                       display(Complaint, "escalated_at", model.escalated_at)]]})
        return sections + super().record_sections(model)

    def list_summary(self):
        conditions = [Complaint.id.in_(select(self.filtered_ids().c.id))]
        counts = complaints.counts_by_category(conditions)
        if not counts:
            return None
        parts = []
        for kind in ("valid", "communication", None):
            rows = [(cat, n) for k, cat, n in counts if k == kind]
            if not rows:
                continue
            total = sum(n for _cat, n in rows)
            if kind is None:
                parts.append(f"未定性 {total}")
                continue
            detail = "、".join(f"{ComplaintCategory.label_of(cat)} {n}" for cat, n in sorted(rows, key=lambda r: -r[1]) if cat)
            parts.append(f"{ComplaintKind.label_of(kind)} {total}({detail})")
        return "当前筛选:共 " + str(sum(n for *_x, n in counts)) + " 条;" + ";".join(parts)

    def list_links(self):
        return [(gettext("待回访"), self.filter_url("status", FilterEqual, "on_site"))]


class CallLogView(SchemaView):
    confirm_actions = {
        "to_work_order": ("转维修工单", "work_order_records", False),
        "to_complaint": ("转投诉", "complaint_records", False),
        "followup": ("回访完成", "followup_records", False),
    }

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.at.data = clock.now()
        return form

    def build_from_form(self, form):
        return calls.log_call(
            caller=form.caller.data, content=form.content.data, identity=form.identity.data, unit=form.unit.data,
            phone=form.phone.data, answered=bool(form.answered.data), answer=form.answer.data,
            callback=form.callback.data, department=form.department.data, taken_by=current_user,
            at=form.at.data or clock.now(), note=form.note.data)

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        model.status = calls.status_for(model)

    def action_applies(self, name, model):
        if model.status == calls.CLOSED:
            return False
        if name == "to_work_order":
            return model.work_order_id is None
        if name == "to_complaint":
            return not model.complaints
        return True

    def confirm_fields(self, name):
        if name == "to_work_order":
            return [{"name": "category", "label": "维修类别", "type": "select", "options": WorkOrderCategory.choices(),
                     "value": "other"},
                    department_field("派往部门(可稍后派工)", blank=True)]
        if name == "to_complaint":
            return [{"name": "category", "label": "性质与类别(可稍后定性)", "type": "select",
                     "options": [("", "(暂不定性)")] + category_options()}]
        if name == "followup":
            return [{"name": "result", "label": "回访结果", "type": "textarea"}]
        return []

    def work_order_records(self, records, form):
        numbers = [calls.to_work_order(c, user=current_user, category=form.get("category") or "other",
                                       department=department_of(form)).number for c in records]
        return f"已转维修工单:{'、'.join(numbers)}"

    def complaint_records(self, records, form):
        code = form.get("category") or None
        numbers = [calls.to_complaint(c, user=current_user, kind=kind_of_category(code), category=code).number
                   for c in records]
        return f"已转投诉:{'、'.join(numbers)}"

    def followup_records(self, records, form):
        for c in records:
            calls.complete_followup(c, result=form.get("result", ""), user=current_user)
        return f"已回访完成 {len(records)} 条来电"

    def record_sections(self, model):
        rows = [[c.number, display(Complaint, "status", c.status)] for c in model.complaints]
        return [{"title": "转投诉", "headers": ["投诉编号", "状态"], "rows": rows}] + super().record_sections(model)

    def list_links(self):
        return [(gettext("待回复"), self.filter_url("status", FilterEqual, "pending"))]

