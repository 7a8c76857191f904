"""Leases: sign (generates rent charges), terminate with a reason, flag leases ending soon."""
from datetime import date

from flask import flash, redirect, request
from flask_admin.actions import action
from flask_login import current_user
from markupsafe import Markup, escape

from app import clock, leasing
from app.validators import check_date_range

from .formatting import fmt_date
from .generic import SchemaView
from .ledger import payer_sections


class LeaseView(SchemaView):
    confirm_actions = {"terminate": ("终止合同", "terminate_records")}

    def action_applies(self, name, model):
        return model.status in ("signed", "active")

    def __init__(self, model, db):
        super().__init__(model, db)
        self.column_formatters = {**self.column_formatters, "end_date": self._end_date}

    @staticmethod
    def _end_date(view, context, obj, name):
        text = fmt_date(obj.end_date)
        if leasing.ending_soon(obj, clock.today()):
            return Markup(f'{escape(text)} <span class="badge badge-warning">30天内到期</span>')
        return text

    @action("sign", "签约(生成租金)", "确认签约并按合同期生成租金应收?")
    def action_sign(self, ids):
        signed = 0
        for lease in self.get_query().filter(self.model.id.in_(ids)).all():
            try:
                charges = leasing.sign_lease(lease, clock.today(), current_user)
                self.db_session.commit()
                signed += 1
                flash(f"合同 {lease.contract_no} 已签约,生成 {len(charges)} 条应收", "success")
            except ValueError as exc:
                self.db_session.rollback()
                flash(f"合同 {lease.contract_no}:{exc}", "error")
        return redirect(request.referrer or self.get_url(".index_view")) if not signed else None

    @action("terminate", "终止合同")
    def action_terminate(self, ids):
        return self.confirm_action("terminate", ids)

    def confirm_fields(self, name):
        return [{"name": "on", "label": "终止日期", "type": "date", "value": clock.today().isoformat()}]

    def terminate_records(self, records, form):
        try:
            on = date.fromisoformat(form.get("on") or "")
        except ValueError as exc:
            raise ValueError("请填写有效的终止日期") from exc
        problem = check_date_range(on)
        if problem:
            raise ValueError(problem)
        for lease in records:
            leasing.terminate_lease(lease, on, form.get("reason", ""))
        return f"已终止 {len(records)} 份合同"

    FIXED_AFTER_SIGNING = ("asset_id", "start_date", "end_date", "rent", "billing_cycle", "venue_fee")

    def on_model_change(self, form, model, is_created):
        from sqlalchemy import inspect

        state = inspect(model)
        if not is_created and model.status != "negotiating":
            changed = [k for k in self.FIXED_AFTER_SIGNING if state.attrs[k].history.has_changes()]
            if changed or state.attrs["asset"].history.has_changes():
                raise ValueError("已签约的合同不能修改资源、租期、租金或收租周期;如需变更请终止后重新签约")
        if model.status in ("signed", "active"):
            clash = leasing.overlapping(model.asset_id, model.start_date, model.end_date, exclude_id=model.id)
            if clash:
                raise ValueError(f"该资源在此期间已出租:合同 {clash[0].contract_no}")

    def handle_view_exception(self, exc):
        if isinstance(exc, ValueError) and not hasattr(exc, "orig"):
            flash(str(exc), "error")
            return True
        return super().handle_view_exception(exc)

    def record_sections(self, model):
        return payer_sections(lease_id=model.id)
