"""Convenience and commissioned services: an order booked through app/services (numbered FW…, only
published items), then 安排, 验收 and 收费 as confirm actions; the fee goes into the ledger and the
order's page links its receipt."""
from __future__ import annotations

from typing import ClassVar

from flask import request, url_for
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app import clock, services
from app.extensions import db
from schema.ledger import Payment, PayMethod
from schema.services import ServiceItem

from .formatting import money, parse_when
from .generic import SchemaView, allowed


def published_items():
    return db.session.query(ServiceItem).filter(ServiceItem.published.is_(True)).order_by(ServiceItem.name)


class ServiceOrderView(SchemaView):
    """已预约 → 已安排 → 已验收 → 已收费."""

    confirm_actions: ClassVar[dict] = {
        "schedule": ("安排服务", "schedule_records", False),
        "accept": ("业主验收", "accept_records", False),
        "charge": ("收取服务费", "charge_records", False),
        "cancel": ("取消订单", "cancel_records"),
    }

    def _form_args(self, model):
        """The item picker offers published items only; a blank fee means the item's price."""
        out = super()._form_args(model)
        out["item"] = {**out.get("item", {}), "query_factory": published_items}
        out["fee"] = {**out.get("fee", {}), "description": _l("留空则按服务项目的收费标准")}
        return out

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            form.fee.data = None
        return form

    def validate_form(self, form):
        """An item outside the picker (unpublished, withdrawn) is refused in Chinese, not WTForms' English."""
        ok = super().validate_form(form)
        item = getattr(form, "item", None)
        if item is not None and item.errors and request.form.get("item"):
            item.errors = [gettext("该服务项目未公布,不能预约;请选择已公布的服务项目")]
        return ok

    def build_from_form(self, form):
        return services.book_order(
            item=form.item.data, unit=form.unit.data, owner=form.owner.data, contact=form.contact.data,
            phone=form.phone.data, area=form.area.data, agreed_time=form.agreed_time.data, fee=form.fee.data,
            expected_result=form.expected_result.data, agreement=form.agreement.data or "oral",
            note=form.note.data, user=current_user)

    def get_save_return_url(self, model, is_created=False):
        return self.get_url(".details_view", id=model.id)

    @staticmethod
    def locked(model):
        if model.status == services.CHARGED:
            return "订单已收费,不能修改"
        if model.status == services.CANCELLED:
            return "订单已取消,不能修改"
        return None

    def action_applies(self, name, model):
        if name == "schedule":
            return model.status in services.SCHEDULABLE
        if name == "accept":
            return model.status == services.SCHEDULED
        if name == "charge":
            return model.status == services.ACCEPTED and model.payment_id is None and bool(model.fee)
        if name == "cancel":
            return model.status in services.CANCELLABLE
        return True

    def confirm_fields(self, name):
        now = clock.now().strftime("%Y-%m-%dT%H:%M")
        return {
            "schedule": [{"name": "staff", "label": "服务人员", "type": "text"},
                         {"name": "at", "label": "服务时间", "type": "datetime-local", "value": now}],
            "accept": [{"name": "accepted", "label": "验收结果", "type": "select",
                        "options": [("1", "验收合格"), ("0", "验收不合格")]},
                       {"name": "note", "label": "验收意见", "type": "textarea"}],
            "charge": [{"name": "method", "label": "收款方式", "type": "select", "options": PayMethod.choices()}],
        }.get(name, [])

    def schedule_records(self, records, form):
        at = parse_when(form.get("at"))
        for order in records:
            services.schedule(order, staff=form.get("staff"), at=at, user=current_user)
        return f"已安排 {len(records)} 个服务订单"

    def accept_records(self, records, form):
        accepted = form.get("accepted") == "1"
        for order in records:
            services.record_acceptance(order, accepted=accepted, note=form.get("note"), user=current_user)
        if accepted:
            return f"已登记业主验收合格 {len(records)} 个订单"
        return f"已登记验收不合格 {len(records)} 个订单,请重新安排", "warning"

    def charge_records(self, records, form):
        receipts = [services.charge(o, method=form.get("method"), clerk=current_user) for o in records]
        total = sum((p.amount for p in receipts), start=0)
        return f"已收取便民服务费 {money(total)} 元,收据号 " + "、".join(p.receipt_no for p in receipts)

    def cancel_records(self, records, form):
        for order in records:
            services.cancel(order, reason=form.get("reason", ""), user=current_user)
        return f"已取消 {len(records)} 个服务订单"

    def record_links(self, model):
        links = super().record_links(model)
        if model.payment is not None and allowed(Payment.__admin__, "read"):
            links[:0] = [(gettext("打印收据") + f" {model.payment.receipt_no}",
                          url_for("payment.receipt", id=model.payment_id)),
                         (gettext("收款详情"), url_for("payment.details_view", id=model.payment_id))]
        return links

    def list_links(self):
        return [(gettext("待安排"), self.filter_url("status", FilterEqual, services.BOOKED)),
                (gettext("待验收"), self.filter_url("status", FilterEqual, services.SCHEDULED)),
                (gettext("待收费"), self.filter_url("status", FilterEqual, services.ACCEPTED)),
                (gettext("验收不合格"), self.filter_url("status", FilterEqual, services.REJECTED))]
