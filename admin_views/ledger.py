"""Ledger screens: void with a reason, month billing, payments with allocation, printable receipts."""
from __future__ import annotations

from decimal import Decimal

import click
from flask import abort, flash, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_admin.actions import action
from flask_login import current_user

from app import arrears, clock, ledger
from app.billing import bill_month, parse_month
from app.extensions import db
from schema.ledger import Charge, Payment

from .formatting import display, money
from .generic import SchemaView, parse_id


def arg_id(source, name) -> int | None:
    """A record id from request input, or None for anything else (a 20-digit number would overflow the
    database's integer in the query)."""
    try:
        return parse_id(source.get(name) or "")
    except ValueError:
        return None


def prefill_payer(form):
    """Fill unit/owner/lease and the payer's name from ?unit= or ?lease= (arrears rows link here)."""
    from schema.leasing import Lease
    from schema.property import Unit

    unit = db.session.get(Unit, arg_id(request.args, "unit") or 0)
    lease = db.session.get(Lease, arg_id(request.args, "lease") or 0)
    if unit is not None:
        form.unit.data = unit
        owner = next((o.owner for o in unit.ownerships if o.is_primary), None)
        if hasattr(form, "owner"):
            form.owner.data = owner
        form.payer_name.data = owner.name if owner else ""
    elif lease is not None:
        form.lease.data = lease
        form.payer_name.data = lease.tenant_company or lease.tenant_name


def open_charge_rows(unit_id=None, lease_id=None):
    """A payer's open charges as table rows, oldest due first."""
    rows = []
    for c in ledger.open_charges(unit_id=unit_id, lease_id=lease_id):
        rows.append([display(Charge, "kind", c.kind), c.period, display(Charge, "due_date", c.due_date),
                     money(c.amount), money(c.amount_paid), money(c.balance), display(Charge, "status", c.status)])
    return rows


def payer_sections(unit_id=None, lease_id=None) -> list[dict]:
    """What a payer owes, with the whole dunning history next to it (unit and lease details)."""
    from schema.dunning import Dunning

    summary = arrears.arrears_for_unit(unit_id) if unit_id else arrears.arrears_for_lease(lease_id)
    headline = (f"欠费合计 {money(summary['total_owed'])} 元,其中逾期 {money(summary['overdue'])} 元"
                if summary["total_owed"] else "无欠费")
    query = db.session.query(Dunning).filter(Dunning.unit_id == unit_id if unit_id else Dunning.lease_id == lease_id)
    dunnings = [[display(Dunning, "at", d.at), display(Dunning, "method", d.method), str(d.staff or ""),
                 d.reached_person or "", d.result or "", display(Dunning, "promised_date", d.promised_date)]
                for d in query.order_by(Dunning.at.desc()).all()]
    return [
        {"title": "未缴费用", "summary": headline,
         "headers": ["费用类别", "所属期间", "应缴日期", "应收", "已收", "欠费", "状态"],
         "rows": open_charge_rows(unit_id, lease_id)},
        {"title": "催收记录", "headers": ["催收时间", "方式", "催收人", "接洽人", "结果", "约定缴费日期"], "rows": dunnings},
    ]


class ChargeView(SchemaView):
    confirm_actions = {"void": ("作废应收费用", "void_records")}

    def action_applies(self, name, model):
        return model.status != "void"

    @action("void", "作废")
    def action_void(self, ids):
        return self.confirm_action("void", ids)

    def void_records(self, records, form):
        for charge in records:
            ledger.void_charge(charge, form.get("reason", ""), current_user)
        return f"已作废 {len(records)} 条应收费用"

    def list_links(self):
        return [(gettext("月度计费"), url_for(".bill_view"))] if self.allowed("action:bill_month") else []

    extra_permissions = {"bill_view": "action:bill_month"}

    @expose("/bill/", methods=("GET", "POST"))
    def bill_view(self):
        from schema.property import Building

        buildings = db.session.query(Building).order_by(Building.name).all()
        month = request.values.get("month") or clock.today().strftime("%Y-%m")
        error = None
        if request.method == "POST":
            try:
                year, mon = parse_month(month)
            except click.BadParameter as exc:
                error = exc.message
            else:
                unit_ids = None
                building_id = arg_id(request.form, "building_id")
                picked = (request.form.get("building_id") or "").strip()
                if picked and db.session.get(Building, building_id or 0) is None:
                    error = "所选楼栋不存在,请重新选择"  # never "all buildings" for an id that names none
                elif building_id:
                    from schema.property import Unit

                    unit_ids = [u for (u,) in db.session.query(Unit.id).filter(Unit.building_id == building_id)]
                if error is None:
                    created, skipped = bill_month(year, mon, unit_ids=unit_ids)
                    flash(f"{month} 物业管理费:已生成 {created} 条,跳过 {skipped} 条(已存在)", "success")
                    return redirect(url_for(".index_view", search=month))
        return self.render("admin/bill_month.html", buildings=buildings, month=month, error=error)


class PaymentView(SchemaView):
    create_template = "admin/payment_create.html"
    confirm_actions = {"void": ("作废收款", "void_records")}
    extra_permissions = {"receipt": "read"}

    def action_applies(self, name, model):
        return model.status != "void"

    @action("void", "作废")
    def action_void(self, ids):
        return self.confirm_action("void", ids)

    def void_records(self, records, form):
        for payment in records:
            ledger.void_payment(payment, form.get("reason", ""), current_user)
        return f"已作废 {len(records)} 条收款"

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            prefill_payer(form)
            form.paid_at.data = clock.now()
        return form

    def picked_charges(self):
        ids = [arg_id({"pick": raw}, "pick") for raw in request.form.getlist("pick")]
        return [i for i in ids if i is not None] or None

    def open_charges_for_form(self):
        unit_id = arg_id(request.values, "unit")
        lease_id = arg_id(request.values, "lease")
        if not unit_id and not lease_id:
            return []
        return ledger.open_charges(unit_id=unit_id, lease_id=lease_id)

    def build_from_form(self, form):
        return ledger.record_payment(
            amount=form.amount.data, method=form.method.data, payer_name=form.payer_name.data,
            unit=form.unit.data, owner=form.owner.data, lease=form.lease.data, clerk=current_user,
            paid_at=form.paid_at.data or clock.now(), note=form.note.data, charge_ids=self.picked_charges())

    def get_save_return_url(self, model, is_created=False):
        if is_created:
            flash(f"已收款,收据号 {model.receipt_no}", "success")
        return self.get_url(".details_view", id=model.id)

    def record_links(self, model):
        return [("打印收据", url_for(".receipt", id=model.id))] + super().record_links(model)

    def record_sections(self, model):
        rows = [[display(Charge, "kind", a.charge.kind), a.charge.period, money(a.amount),
                 display(Charge, "status", a.charge.status)] for a in model.allocations]
        return [{"title": "核销明细", "headers": ["费用类别", "所属期间", "核销金额", "费用状态"], "rows": rows,
                 "summary": f"未核销(预收)金额 {money(model.amount - sum((a.amount for a in model.allocations), Decimal('0')))} 元"}]

    @expose("/receipt/")
    def receipt(self):
        payment = self.get_one(request.args.get("id", ""))
        if payment is None:
            abort(404)
        items = [(display(Charge, "kind", a.charge.kind), a.charge.period, a.amount) for a in payment.allocations]
        credit = payment.amount - sum((a.amount for a in payment.allocations), Decimal("0"))
        return render_template("print/receipt.html", p=payment, items=items, credit=credit,
                               words=ledger.amount_in_words(payment.amount), money=money,
                               method=display(Payment, "method", payment.method),
                               voided=payment.status == "void")

