"""The ledger rules: money rounding, charge status, payment allocation, voiding, receipts in words.

Plain functions called by views and commands. They add and flush but never commit: the caller owns
the transaction (so a failed step leaves nothing behind). Allocation and voiding lock the charges they
settle until that commit (see `_locked`), so parallel payments on one payer never settle a charge twice.
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import or_, select, text

from . import clock
from .audit import audit_context
from .extensions import db
from .numbering import next_number

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
RECEIPT_PREFIX = "SK"


class LedgerError(ValueError):
    """A ledger rule refused the operation; the message is Chinese and shown to the clerk."""


# ---------------------------------------------------------------- money

def to_decimal(value) -> Decimal | None:
    """Form or reading input as a Decimal; blank or unreadable input is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def money(x) -> Decimal:
    """Yuan with 2 places, rounded half-up. Floats go through str() so 0.1 stays 0.10."""
    if x is None:
        raise LedgerError("金额不能为空")
    if isinstance(x, float):
        x = str(x)
    try:
        value = Decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        raise LedgerError(f"金额格式不正确: {x}") from None
    if not value.is_finite():  # a quiet NaN quantizes without complaint, then breaks every comparison
        raise LedgerError(f"金额格式不正确: {x}")
    return value


MAX_AMOUNT = Decimal("9999999999.99")
"""The largest amount a Numeric(12, 2) column holds."""


def amount_input(x) -> Decimal:
    """An amount someone entered: money(), and no larger than a stored amount can be."""
    value = money(x)
    if abs(value) > MAX_AMOUNT:
        raise LedgerError("金额过大,不能超过 9,999,999,999.99 元")
    return value


def mgmt_fee_amount(area, rate, factor=Decimal("1")) -> Decimal:
    """Monthly management fee: area (㎡) × rate (元/㎡/月) × factor, rounded once at the end."""
    return money(Decimal(str(area)) * Decimal(str(rate)) * Decimal(str(factor)))


def charge_status(amount, paid, voided: bool = False) -> str:
    from schema.ledger import ChargeStatus

    if voided:
        return ChargeStatus.void.value
    amount, paid = money(amount), money(paid or 0)
    if paid >= amount:
        return ChargeStatus.paid.value
    if paid > 0:
        return ChargeStatus.partial.value
    return ChargeStatus.unpaid.value


# ---------------------------------------------------------------- form rules

def charge_form_errors(data: dict) -> dict[str, str]:
    """Cross-field rules of the charge form: {field: Chinese message}."""
    from schema.ledger import ChargeKind

    errors: dict[str, str] = {}
    unit, lease, kind = data.get("unit"), data.get("lease"), data.get("kind")
    if unit is None and lease is None:
        errors["unit"] = "请选择房屋或租赁合同"
    elif unit is not None and lease is not None:
        errors["unit"] = "房屋费用和租赁费用不能同时选择"
    if kind in (ChargeKind.rent, ChargeKind.venue_fee) and lease is None:
        errors["lease"] = "租金和场地管理费须关联租赁合同"
    start, end = data.get("period_start"), data.get("period_end")
    if start and end and end < start:
        errors["period_end"] = "结束日期不能早于开始日期"
    amount = data.get("amount")
    if amount is not None:
        try:
            positive = Decimal(str(amount)) > 0
        except (InvalidOperation, ValueError):
            positive = False
        if not positive:
            errors["amount"] = "应收金额必须大于0"
    return errors


# ---------------------------------------------------------------- allocation

def _payer_filter(unit_id, lease_id):
    from schema.ledger import Charge

    conds = []
    if unit_id is not None:
        conds.append(Charge.unit_id == unit_id)
    if lease_id is not None:
        conds.append(Charge.lease_id == lease_id)
    return or_(*conds) if conds else None


def _locked(stmt):
    """`stmt` reading charges locked until commit, and fresh, so two payments never settle the same balance.

    PostgreSQL: SELECT ... FOR UPDATE; a parallel payment waits there and then reads what this one left.
    SQLite has no row locks (FOR UPDATE is not rendered): a write that changes nothing takes the
    database's write lock first, so the read is the latest and no other writer starts before commit.
    populate_existing refreshes charges the session already holds (the clerk's screen loaded them)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE charge SET version = version WHERE 0"))
    return stmt.with_for_update().execution_options(populate_existing=True)


def open_charges(unit_id=None, lease_id=None, lock: bool = False) -> list:
    """Non-void charges of this payer (unit and/or lease) still owing money, oldest due first;
    `lock` when they are about to be settled."""
    from schema.ledger import Charge, ChargeStatus

    payer = _payer_filter(unit_id, lease_id)
    if payer is None:
        return []
    stmt = (select(Charge)
            .where(payer, Charge.status != ChargeStatus.void, Charge.amount > Charge.amount_paid)
            .order_by(Charge.due_date, Charge.id))
    return [c for c in db.session.execute(_locked(stmt) if lock else stmt).scalars() if c.balance > 0]


def _belongs_to(charge, payment) -> bool:
    return ((payment.unit_id is not None and charge.unit_id == payment.unit_id)
            or (payment.lease_id is not None and charge.lease_id == payment.lease_id))


def _allocated(payment) -> Decimal:
    from schema.ledger import PaymentAllocation

    if payment.id is None:
        return ZERO
    rows = db.session.execute(select(PaymentAllocation.amount)
                              .where(PaymentAllocation.payment_id == payment.id)).scalars()
    return money(sum(rows, ZERO))


def _picked(payment, charge_ids) -> list:
    from schema.ledger import Charge, ChargeStatus

    ids = list(dict.fromkeys(int(i) for i in charge_ids))
    found = {}
    if ids:
        stmt = _locked(select(Charge).where(Charge.id.in_(ids)).order_by(Charge.id))  # id order: no deadlock
        found = {c.id: c for c in db.session.execute(stmt).scalars()}
    charges = []
    for cid in ids:
        charge = found.get(cid)
        if charge is None:
            raise LedgerError(f"费用 #{cid} 不存在")
        if charge.status == ChargeStatus.void:
            raise LedgerError(f"费用「{charge}」已作废,不能核销")
        if not _belongs_to(charge, payment):
            raise LedgerError(f"费用「{charge}」不属于该缴费人,不能核销")
        if charge.status == ChargeStatus.paid or charge.balance <= 0:
            raise LedgerError(f"费用「{charge}」已缴清,不能重复核销")
        charges.append(charge)
    return charges


def allocate(payment, charge_ids: list[int] | None = None) -> Decimal:
    """Settle charges with what is left of `payment`: the payer's open charges oldest due first, or
    only the picked `charge_ids` in the order given (each capped at its balance).
    Returns the unallocated remainder (the payer's credit)."""
    from schema.ledger import PaymentAllocation, PaymentStatus

    if payment.status == PaymentStatus.void:
        raise LedgerError("该收款已作废,不能核销")
    if payment.id is None:
        db.session.add(payment)
        db.session.flush()
    remaining = money(payment.amount) - _allocated(payment)
    if charge_ids is not None:
        charges = _picked(payment, charge_ids)
    else:
        charges = open_charges(payment.unit_id, payment.lease_id, lock=True)
    for charge in charges:
        if remaining <= 0:
            break
        part = min(remaining, money(charge.balance))
        if part <= 0:
            continue
        db.session.add(PaymentAllocation(payment=payment, charge=charge, amount=part))
        charge.amount_paid = money((charge.amount_paid or 0) + part)
        charge.status = charge_status(charge.amount, charge.amount_paid)
        remaining -= part
    db.session.flush()
    return money(remaining)


def record_payment(*, amount, method, payer_name, unit=None, owner=None, lease=None, clerk=None,
                   paid_at: datetime | None = None, note=None, charge_ids=None):
    """Record a receipt (numbered SK<day>-NNNN) and allocate it; the caller commits."""
    from schema.ledger import Payment, PaymentStatus, PayMethod

    amount = amount_input(amount)
    if amount <= 0:
        raise LedgerError("收款金额必须大于0")
    if unit is None and lease is None:
        raise LedgerError("请选择房屋或租赁合同")
    if method not in {m.value for m in PayMethod}:
        raise LedgerError("收款方式不正确")
    payer_name = (payer_name or "").strip() or (owner.name if owner is not None else "") \
        or (lease.tenant_name if lease is not None else "")
    if not payer_name:
        raise LedgerError("请填写缴费人")
    paid_at = paid_at or clock.now()
    clerk = _real_user(clerk)
    payment = Payment(receipt_no=next_number(RECEIPT_PREFIX, paid_at.date()), unit=unit, owner=owner,
                      lease=lease, payer_name=payer_name, amount=amount, method=str(method), paid_at=paid_at,
                      clerk=clerk, status=PaymentStatus.valid.value, note=note)
    db.session.add(payment)
    db.session.flush()
    allocate(payment, charge_ids)
    return payment


def charge_and_collect(*, kind, amount, method, unit, owner, period, note, clerk=None, at: datetime | None = None,
                       payer_name: str | None = None, period_start=None, period_end=None):
    """A fee charged and paid on the spot (move-in prepayment, renovation-waste fee, a service order):
    a charge due today and a receipt allocated to it; period_start/period_end say which days a
    prepaid fee covers. Returns the Payment; the caller commits."""
    from schema.ledger import Charge, ChargeStatus, PayMethod

    amount = amount_input(amount)
    if amount <= 0:
        raise LedgerError("金额必须大于0")
    if str(method) not in {m.value for m in PayMethod}:
        raise LedgerError("收款方式不正确")
    at = at or clock.now()
    payer_name = (payer_name or "").strip() or (owner.name if owner is not None else "")
    charge = Charge(kind=str(kind), unit=unit, owner=owner, payer_name=payer_name, period=period,
                    period_start=period_start, period_end=period_end,
                    due_date=at.date(), amount=amount, amount_paid=money(0), status=ChargeStatus.unpaid.value)
    db.session.add(charge)
    db.session.flush()
    return record_payment(amount=amount, method=str(method), payer_name=payer_name, unit=unit, owner=owner,
                          clerk=clerk, paid_at=at, note=note, charge_ids=[charge.id])


def _real_user(user):
    """The AppUser behind flask_login's current_user proxy; None for an anonymous visitor."""
    if user is None:
        return None
    if hasattr(user, "_get_current_object"):
        user = user._get_current_object()
    return user if getattr(user, "is_authenticated", True) and getattr(user, "id", None) is not None else None


# ---------------------------------------------------------------- recompute and void

def recompute_charge(charge) -> None:
    """amount_paid = allocations of valid payments; status follows (a void charge stays void)."""
    from schema.ledger import ChargeStatus, Payment, PaymentAllocation, PaymentStatus

    db.session.flush()
    rows = db.session.execute(select(PaymentAllocation.amount)
                              .join(Payment, Payment.id == PaymentAllocation.payment_id)
                              .where(PaymentAllocation.charge_id == charge.id,
                                     Payment.status == PaymentStatus.valid)).scalars()
    paid = money(sum(rows, ZERO))
    if money(charge.amount_paid or 0) != paid:
        charge.amount_paid = paid
    status = charge_status(charge.amount, paid, voided=charge.status == ChargeStatus.void)
    if charge.status != status:
        charge.status = status


def _reason(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("请填写作废原因")
    return reason


def void_charge(charge, reason, user=None) -> None:
    """Void an unpaid charge; the audit row carries the reason."""
    from schema.ledger import ChargeStatus

    reason = _reason(reason)
    if charge.status == ChargeStatus.void:
        raise LedgerError("该费用已作废")
    if money(charge.amount_paid or 0) > 0:
        raise LedgerError("该费用已有收款,请先作废对应的收款记录")
    with audit_context(db.session, action="作废", note=reason, username=getattr(_real_user(user), "username", None)):
        charge.status = ChargeStatus.void.value
        charge.void_reason = reason
        db.session.flush()


def void_payment(payment, reason, user=None) -> None:
    """Void a receipt: it stops counting, its charges are recomputed; allocations stay as history.
    The charges are locked first, so a payment settling them at the same moment is counted once."""
    from schema.ledger import Charge, PaymentAllocation, PaymentStatus

    reason = _reason(reason)
    if payment.status == PaymentStatus.void:
        raise LedgerError("该收款已作废")
    with audit_context(db.session, action="作废", note=reason, username=getattr(_real_user(user), "username", None)):
        payment.status = PaymentStatus.void.value
        payment.void_reason = reason
        db.session.flush()
        charged = select(PaymentAllocation.charge_id).where(PaymentAllocation.payment_id == payment.id)
        for charge in db.session.execute(_locked(select(Charge).where(Charge.id.in_(charged))
                                                 .order_by(Charge.id))).scalars().all():
            recompute_charge(charge)
        db.session.flush()


# ---------------------------------------------------------------- 大写金额

DIGITS = "零壹贰叁肆伍陆柒捌玖"
IN_SECTION = ("", "拾", "佰", "仟")
SECTIONS = ("", "万", "亿", "万亿")


def _section_words(n: int) -> str:
    """0 < n < 10000 in capitals, zeros inside the section collapsed, none trailing."""
    out, zero = [], False
    for pos in range(3, -1, -1):
        d = n // 10 ** pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + IN_SECTION[pos])
    return "".join(out)


def _integer_words(n: int) -> str:
    sections = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    if len(sections) > len(SECTIONS):
        raise LedgerError("金额过大,无法转换为大写")
    out, gap = [], False
    for i in range(len(sections) - 1, -1, -1):
        s = sections[i]
        if s == 0:
            gap = bool(out)
            continue
        if out and (gap or s < 1000):
            out.append("零")
        out.append(_section_words(s) + SECTIONS[i])
        gap = False
    return "".join(out)


def amount_in_words(amount) -> str:
    """Chinese financial capitals: 1234.56 -> 壹仟贰佰叁拾肆元伍角陆分, 100 -> 壹佰元整."""
    value = money(amount)
    sign = "负" if value < 0 else ""
    cents = int(abs(value) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    out = _integer_words(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    elif fen and yuan:
        out += "零"
    out += DIGITS[fen] + "分" if fen else "整"
    return sign + out
