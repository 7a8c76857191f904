"""Move-in and acceptance inspection screens: the procedures of the manual's section 一."""
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_login import current_user
from sqlalchemy import select

from app import clock, inspection as inspections, movein
from app.extensions import db
from app.validators import check_date_range
from schema.ledger import PayMethod
from schema.org import Department

from .formatting import display
from .generic import SchemaView
from .pickers import department_of


class MoveInView(SchemaView):
    confirm_actions = {"collect_fee": ("收取物业管理费", "collect_records", False)}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.handled_at.data = clock.now()
        return form

    def on_model_change(self, form, model, is_created):
        if is_created and model.clerk_id is None:
            model.clerk_id = current_user.id

    @action("complete", "完成入住")
    def action_complete(self, ids):
        self.apply_rule(ids, lambda m: movein.complete_move_in(m, current_user), "已完成入住")

    @action("collect_fee", "收取物业管理费")
    def action_collect_fee(self, ids):
        return self.confirm_action("collect_fee", ids)

    def confirm_fields(self, name):
        return [{"name": "amount", "label": "金额(元)", "type": "number"},
                {"name": "months", "label": "预收月数", "type": "number", "value": 1},
                {"name": "method", "label": "收款方式", "type": "select", "options": PayMethod.choices()}]

    def collect_records(self, records, form):
        try:
            amount = Decimal(form.get("amount") or "")
            months = int(form.get("months") or 1)
        except (InvalidOperation, ValueError) as exc:
            raise ValueError("请填写有效的金额和月数") from exc
        receipts = [movein.collect_move_in_fee(m, amount, form.get("method"), months=months, clerk=current_user).receipt_no
                    for m in records]
        return "已收款,收据号 " + "、".join(receipts)

    def record_sections(self, model):
        missing = set(movein.missing_documents(model))
        docs = [[label, "缺少" if label in missing else "已收"] for label in movein.required_document_labels(model)]
        problems = movein.completion_problems(model) if model.status != "completed" else []
        return [{"title": "资料核对", "headers": ["资料", "状态"], "rows": docs},
                {"title": "完成入住前还需", "headers": ["事项"], "rows": [[p] for p in problems]}]

    def record_links(self, model):
        """One upload button per missing document, prefilled with owner, unit and type."""
        missing = set(movein.missing_documents(model))
        uploads = [(f"上传{movein.document_label(code, model.handler_kind)}",
                    url_for("document.create_view", owner=model.owner_id, unit=model.unit_id, doc_type=code,
                            ref_table="move_in", ref_id=model.id, url=url_for(".details_view", id=model.id)))
                   for code in movein.required_documents(model)
                   if movein.document_label(code, model.handler_kind) in missing]
        return uploads + super().record_links(model)


class InspectionView(SchemaView):
    confirm_actions = {"reinspect": ("安排复验", "reinspect_records", False)}
    extra_permissions = {"items_view": "edit"}

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.inspected_at.data = clock.now()
        return form

    def build_from_form(self, form):
        """A new inspection starts with the standard checklist (房屋质量验收登记表)."""
        record = inspections.start_inspection(form.unit.data, owner=form.owner.data, inspector=form.inspector.data,
                                              at=form.inspected_at.data)
        for name in ("water_reading", "electricity_reading", "gas_reading", "note"):
            setattr(record, name, getattr(form, name).data)
        return record

    def get_save_return_url(self, model, is_created=False):
        if is_created:
            return url_for(".items_view", id=model.id)
        return super().get_save_return_url(model, is_created)

    @action("work_orders", "生成维修工作单")
    def action_work_orders(self, ids):
        department = db.session.execute(select(Department).where(Department.name.like("%工程%"))).scalars().first()
        self.apply_rule(ids, lambda i: inspections.generate_work_orders(i, department=department, user=current_user),
               "已生成维修工作单")

    @action("reinspect", "安排复验")
    def action_reinspect(self, ids):
        return self.confirm_action("reinspect", ids)

    @action("sign", "业主签字确认")
    def action_sign(self, ids):
        self.apply_rule(ids, lambda i: inspections.owner_sign(i), "业主已签字确认")

    def confirm_fields(self, name):
        departments = db.session.execute(select(Department.id, Department.name).order_by(Department.name)).all()
        return [{"name": "agreed_time", "label": "约定复验时间", "type": "datetime-local"},
                {"name": "department_id", "label": "通知部门(陪同复验)", "type": "select",
                 "options": [(d.id, d.name) for d in departments]}]

    def reinspect_records(self, records, form):
        try:
            agreed = datetime.fromisoformat(form.get("agreed_time") or "")
        except ValueError as exc:
            raise ValueError("请填写约定复验时间") from exc
        problem = check_date_range(agreed)
        if problem:
            raise ValueError(problem)
        department = department_of(form)
        if department is None:
            raise ValueError("请选择通知部门")
        for record in records:
            inspections.schedule_reinspection(record, agreed, department, user=current_user)
        return f"已安排复验并通知{department.name}"

    def record_links(self, model):
        links = super().record_links(model)
        if self.allowed("edit"):
            links.insert(0, ("逐项登记", url_for(".items_view", id=model.id)))
        return links

    def record_sections(self, model):
        from schema.occupancy import InspectionItem

        rows = [[i.room, i.item, display(InspectionItem, "passed", i.passed) or "未检查", i.description or "",
                 i.work_order.number if i.work_order else ""] for i in model.items]
        return [{"title": "验收项目", "headers": ["房间", "项目", "合格", "问题描述", "维修工单"], "rows": rows}]

    @expose("/items/", methods=("GET", "POST"))
    def items_view(self):
        record = self.get_one(request.values.get("id", ""))
        if record is None:
            abort(404)
        errors = {}
        if request.method == "POST":
            for item in record.items:
                verdict = request.form.get(f"passed_{item.id}")
                if verdict not in ("1", "0"):
                    continue
                try:
                    inspections.record_item(item, verdict == "1", request.form.get(f"desc_{item.id}") or None)
                except ValueError as exc:
                    errors[item.id] = str(exc)
            if errors:
                db.session.rollback()
            else:
                db.session.commit()
                flash("验收结果已保存", "success")
                return redirect(url_for(".details_view", id=record.id))
        return self.render("admin/inspection_items.html", record=record, errors=errors)
