"""Dunning: opened prefilled from an arrears row, linked to the overdue charges it chases."""
from flask import request
from flask_login import current_user

from app import clock, ledger

from .formatting import display, money
from .generic import SchemaView
from .ledger import prefill_payer


class DunningView(SchemaView):
    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            prefill_payer(form)
            if request.args.get("method") in ("visit", "phone"):
                form.method.data = request.args["method"]
            form.at.data = clock.now()
        return form

    def on_model_change(self, form, model, is_created):
        if is_created:
            model.staff_id = model.staff_id or current_user.id
            today = clock.today()
            unit_id = model.unit.id if model.unit else None
            lease_id = model.lease.id if model.lease else None
            model.charges = [c for c in ledger.open_charges(unit_id=unit_id, lease_id=lease_id) if c.due_date < today]

    def record_sections(self, model):
        from schema.ledger import Charge

        rows = [[display(Charge, "kind", c.kind), c.period, display(Charge, "due_date", c.due_date),
                 money(c.balance), display(Charge, "status", c.status)] for c in model.charges]
        return [{"title": "催收的费用", "headers": ["费用类别", "所属期间", "应缴日期", "欠费", "状态"], "rows": rows}]
