"""Convenience and commissioned services (便民服务/委托服务): booking an order from the published
catalogue, the supervisor's scheduling, the owner's acceptance, the fee into the ledger with a receipt.

The manual: an order agrees item, area, time, fee and expected result (口头 or 书面); the department
supervisor schedules it; the owner accepts the work; the fee is collected and a receipt number issued.

已预约 → 已安排 → 已验收 → 已收费; 已安排 → 验收不合格 → 已安排 (re-scheduled); 已取消 before charging.
Plain functions on the current session: they add and flush but never commit; the caller commits.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from . import clock
from .actors import code_of, username_of
from .audit import audit_context
from .extensions import db
from .numbering import next_number

PREFIX = "FW"
BOOKED, SCHEDULED, ACCEPTED, REJECTED, CHARGED, CANCELLED = (
    "booked", "scheduled", "accepted", "rejected", "charged", "cancelled")
SCHEDULABLE = (BOOKED, REJECTED)
CANCELLABLE = (BOOKED, SCHEDULED, ACCEPTED, REJECTED)


class ServiceError(ValueError):
    """A service-order step refused, with a Chinese message for the user."""


def _label(status) -> str:
    from schema.services import OrderStatus

    return OrderStatus.label_of(status)


def _check_role(user, name: str, verb: str) -> None:
    """A logged-in user must hold the spec's role for the step; a bare name (CLI, seed) is trusted."""
    from schema.services import ServiceOrder

    user_roles = getattr(user, "roles", None)
    if user_roles is not None and not frozenset(user_roles) & frozenset(ServiceOrder.__admin__.actions.get(name, ())):
        raise ServiceError(f"您的角色无权{verb}服务订单")


def _text(value) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()


def parse_fee(value) -> Decimal | None:
    """约定费用 from a form or a number; blank is None (the item's price applies)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        fee = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ServiceError("约定费用格式不正确,请填写金额(元)") from None
    if not fee.is_finite():
        raise ServiceError("约定费用格式不正确,请填写金额(元)")
    if fee < 0:
        raise ServiceError("约定费用不能为负数")
    if fee >= 10_000_000_000:
        raise ServiceError("约定费用过大,请核对")
    return fee.quantize(Decimal("0.01"))


def registered_owner(unit):
    """The unit's registered owner (the primary one first), or None."""
    ownerships = sorted(getattr(unit, "ownerships", ()) or (), key=lambda o: (not o.is_primary, o.id or 0))
    return next((o.owner for o in ownerships if o.owner is not None), None)


def book_order(*, item, unit, contact, area, agreed_time, expected_result, owner=None, phone=None, fee=None,
               agreement="oral", note=None, user=None, at: datetime | None = None):
    """An order for a published item: numbered FWyyyymmdd-nnnn, 已预约, the fee the item's price unless agreed."""
    from schema.services import Agreement, ServiceOrder

    if item is None:
        raise ServiceError("请选择服务项目")
    if not item.published:
        raise ServiceError(f"服务项目“{item.name}”未公布,不能预约")
    if unit is None:
        raise ServiceError("请选择房屋")
    contact, area, expected_result = _text(contact), _text(area), _text(expected_result)
    if not contact:
        raise ServiceError("请填写联系人")
    if not area:
        raise ServiceError("请填写服务区域")
    if agreed_time is None:
        raise ServiceError("请填写约定时间")
    if not expected_result:
        raise ServiceError("请填写预期效果")
    agreement = code_of(agreement) or Agreement.oral.value
    if agreement not in {a.value for a in Agreement}:
        raise ServiceError("约定方式不正确")
    owners = [o.owner for o in getattr(unit, "ownerships", ()) or () if o.owner is not None]
    if owner is not None and owners and owner not in owners:
        raise ServiceError(f"{owner.name} 不是该房屋的登记业主")
    agreed_fee = parse_fee(fee)
    at = at or clock.now()
    who = username_of(user)
    with audit_context(db.session, action="预约服务", username=who):
        order = ServiceOrder(
            number=next_number(PREFIX, at.date()), item=item, unit=unit, owner=owner or registered_owner(unit),
            contact=contact, phone=_text(phone) or None, area=area, agreed_time=agreed_time,
            fee=item.price if agreed_fee is None else agreed_fee, expected_result=expected_result,
            agreement=agreement, status=BOOKED, booked_at=at, booked_by=who, note=_text(note) or None)
        db.session.add(order)
        db.session.flush()
    return order


def _move(order, allowed: tuple, target: str, verb: str) -> None:
    if order.status not in allowed:
        raise ServiceError(f"订单处于“{_label(order.status)}”,不能{verb}")
    order.status = target


def schedule(order, *, staff, at: datetime | None, user) -> None:
    """The department supervisor names the staff and the time (已预约 or 验收不合格 → 已安排)."""
    _check_role(user, "schedule", "安排")
    staff = _text(staff)
    if not staff:
        raise ServiceError("请填写服务人员")
    if at is None:
        raise ServiceError("请填写安排的服务时间")
    if order.booked_at is not None and at < order.booked_at.replace(second=0, microsecond=0):
        raise ServiceError("安排的服务时间不能早于预约时间")
    redo = order.status == REJECTED
    with audit_context(db.session, action="重新安排服务" if redo else "安排服务", note=f"{staff} {at:%Y-%m-%d %H:%M}",
                       username=username_of(user)):
        _move(order, SCHEDULABLE, SCHEDULED, "安排")
        order.staff = staff
        order.scheduled_at = at
        order.scheduled_by = username_of(user)
        if redo:
            order.accepted = None
            order.done_at = None
        db.session.flush()


def record_acceptance(order, *, accepted: bool, note: str | None, user, at: datetime | None = None) -> None:
    """The owner's acceptance of the work (已安排 → 已验收, or 验收不合格 to be re-scheduled)."""
    _check_role(user, "accept", "登记验收")
    note = _text(note)
    if not accepted and not note:
        raise ServiceError("验收不合格须填写验收意见(不合格之处)")
    at = at or clock.now()
    with audit_context(db.session, action="业主验收" if accepted else "验收不合格", note=note or None,
                       username=username_of(user)):
        _move(order, (SCHEDULED,), ACCEPTED if accepted else REJECTED, "登记验收")
        order.accepted = bool(accepted)
        order.acceptance_note = note or None
        order.done_at = at
        db.session.flush()


def charge(order, *, method, clerk, at: datetime | None = None):
    """The agreed fee into the ledger (便民服务费): a charge and its receipt (SK…); 已验收 → 已收费."""
    from .ledger import charge_and_collect

    _check_role(clerk, "charge", "收费")
    if order.status == CHARGED or order.payment_id is not None:
        receipt = order.payment.receipt_no if order.payment is not None else ""
        raise ServiceError("该订单已收费" + (f",收据号 {receipt}" if receipt else ""))
    if order.status == CANCELLED:
        raise ServiceError("订单已取消,不能收费")
    if order.status != ACCEPTED or not order.accepted:
        raise ServiceError("业主验收前不能收费")
    if order.fee is None or order.fee <= 0:
        raise ServiceError("该订单约定费用为0(免费服务),无需收费")
    owner = order.owner or registered_owner(order.unit)
    with audit_context(db.session, action="收取便民服务费", note=order.number, username=username_of(clerk)):
        payment = charge_and_collect(kind="service_fee", amount=order.fee, method=code_of(method), unit=order.unit,
                                     owner=owner, period=f"服务订单 {order.number}", payer_name=order.contact,
                                     note=f"便民服务费:{order.item.name}({order.number})", clerk=clerk, at=at)
        order.owner = owner
        order.payment = payment
        order.status = CHARGED
        db.session.flush()
    return payment


def cancel(order, *, reason: str, user=None) -> None:
    """Cancel an order not yet charged; the reason is kept in the note and the audit row."""
    _check_role(user, "cancel", "取消")
    reason = _text(reason)
    if not reason:
        raise ServiceError("请填写取消原因")
    if order.status == CHARGED:
        raise ServiceError("订单已收费,不能取消(如需退款请作废收据)")
    with audit_context(db.session, action="取消服务订单", note=reason, username=username_of(user)):
        _move(order, CANCELLABLE, CANCELLED, "取消")
        order.note = f"{order.note}\n取消原因:{reason}" if order.note else f"取消原因:{reason}"
        db.session.flush()
