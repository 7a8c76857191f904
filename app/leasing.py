"""Leasing rules (对外招租): the lease form's cross-field checks, overlap detection, the rent schedule,
signing (which bills the rent), termination, and the daily status refresh.

Plain functions on the current session: they add and flush but never commit; the caller commits.
Money is Decimal with 2 places, ROUND_HALF_UP; prorating is done with exact fractions and rounded once.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlalchemy import select

from . import clock
from .audit import audit_context
from .extensions import db
from .validators import check_credit_code, check_resident_id
from .ledger import to_decimal

CENT = Decimal("0.01")
CYCLE_MONTHS = {"month": 1, "quarter": 3, "year": 12}
LIVE = ("signed", "active")  # statuses that hold an asset

ONE_DAY = timedelta(days=1)


class LeaseError(ValueError):
    """A leasing operation refused, with a Chinese message for the user."""


# ---------------------------------------------------------------- helpers


def _money(value) -> Decimal:
    """Decimal yuan with 2 places, ROUND_HALF_UP (never via float)."""
    if isinstance(value, Fraction):
        return _round_fraction(value)
    return Decimal(str(value if value is not None else 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _round_fraction(value: Fraction) -> Decimal:
    """Exact rational -> Decimal cents, half away from zero."""
    cents = value * 100
    sign = -1 if cents < 0 else 1
    whole, rest = divmod(abs(cents.numerator), cents.denominator)
    if 2 * rest >= cents.denominator:
        whole += 1
    return (Decimal(sign * whole) / 100).quantize(CENT)




def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _value(choice) -> str | None:
    return getattr(choice, "value", choice)


# ---------------------------------------------------------------- the form


def lease_form_errors(data: dict) -> dict[str, str]:
    """Cross-field checks of the lease form: {field: Chinese message}."""
    errors: dict[str, str] = {}
    start, end = data.get("start_date"), data.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        errors["end_date"] = "到期日期不能早于起租日期"

    number = (data.get("tenant_id_number") or "").strip()
    if number and check_resident_id(number) and check_credit_code(number):
        errors["tenant_id_number"] = "请填写有效的身份证号码或统一社会信用代码"

    asset = data.get("asset")
    fee = to_decimal(data.get("venue_fee"))
    if asset is not None and fee is not None and fee > 0 and _value(asset.kind) != "venue":
        errors["venue_fee"] = "只有场地租赁收取场地管理费"

    rent = to_decimal(data.get("rent"))
    if rent is None or rent <= 0:
        errors["rent"] = "月租金必须大于0"
    return errors


# ---------------------------------------------------------------- overlap


def overlapping(asset_id: int, start: date, end: date, exclude_id: int | None = None) -> list:
    """Signed or active leases on the asset whose [start_date, end_date] meets [start, end] (inclusive)."""
    from schema.leasing import Lease

    q = (select(Lease)
         .where(Lease.asset_id == asset_id, Lease.status.in_(LIVE),
                Lease.start_date <= end, Lease.end_date >= start)
         .order_by(Lease.start_date, Lease.id))
    if exclude_id is not None:
        q = q.where(Lease.id != exclude_id)
    return list(db.session.scalars(q))


# ---------------------------------------------------------------- the schedule


def add_months(d: date, n: int) -> date:
    """d plus n calendar months, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, _days_in_month(year, month)))


def _prorated(first: date, last: date) -> Fraction:
    """Share of a month's rent for days first..last: each calendar month's days / days in that month."""
    share = Fraction(0)
    day = first
    while day <= last:
        dim = _days_in_month(day.year, day.month)
        month_end = date(day.year, day.month, dim)
        upto = min(month_end, last)
        share += Fraction((upto - day).days + 1, dim)
        day = upto + ONE_DAY
    return share


def _months(start: date, end: date, first: int, count: int | None = None):
    """Billing months first, first+1, ... (anchored at start) up to end: (anchor, whole months, partial share).

    Months are anchored at the lease start (month j runs add_months(start, j) .. add_months(start, j+1) - 1
    day), so a lease starting on the 31st does not drift after February."""
    whole, partial, last_anchor = 0, Fraction(0), None
    j = first
    while count is None or j < first + count:
        anchor = add_months(start, j)
        if anchor > end:
            break
        last_anchor = anchor
        month_end = add_months(start, j + 1) - ONE_DAY
        if month_end <= end:
            whole += 1
        else:
            partial = _prorated(anchor, end)
            break
        j += 1
    return last_anchor, whole, partial


def contract_total(start: date, end: date, monthly_rent) -> Decimal:
    """Rent for the whole term: whole months × rent, plus a final partial month prorated by days."""
    if end < start:
        return Decimal("0.00")
    rent = Fraction(_money(monthly_rent))
    _last, whole, partial = _months(start, end, 0)
    return _round_fraction(rent * whole + rent * partial)


def rent_schedule(start: date, end: date, cycle: str, monthly_rent) -> list[dict]:
    """Billing periods of 1, 3 or 12 months from start, the last cut at end; rent is due in advance.

    Each period: period_start, period_end, due_date (= period_start), amount, period (label
    "YYYY-MM", or "YYYY-MM~YYYY-MM" for the billing months a longer period covers). The amounts sum
    to contract_total(start, end, monthly_rent)."""
    k = CYCLE_MONTHS.get(_value(cycle))
    if k is None:
        raise ValueError(f"unknown billing cycle {cycle!r}")
    if start is None or end is None or end < start:
        return []
    rent = Fraction(_money(monthly_rent))
    out = []
    i = 0
    while True:
        period_start = add_months(start, i * k)
        if period_start > end:
            break
        period_end = min(add_months(start, (i + 1) * k) - ONE_DAY, end)
        last_anchor, whole, partial = _months(start, end, i * k, k)
        first_label, last_label = f"{period_start:%Y-%m}", f"{last_anchor:%Y-%m}"
        out.append({
            "period_start": period_start,
            "period_end": period_end,
            "due_date": period_start,
            "amount": _round_fraction(rent * whole + rent * partial),
            "period": first_label if first_label == last_label else f"{first_label}~{last_label}",
        })
        i += 1
    return out


# ---------------------------------------------------------------- signing and termination


def _asset_of(lease):
    from schema.leasing import LeasableAsset

    return lease.asset if lease.asset is not None else db.session.get(LeasableAsset, lease.asset_id)


def _span(start: date, end: date) -> str:
    return f"{start.isoformat()}至{end.isoformat()}"


def _free_asset_if_unused(asset, exclude_ids=()) -> None:
    """A leased asset with no other signed/active lease becomes idle (a disabled one stays disabled)."""
    from schema.leasing import AssetStatus, Lease

    if asset is None or asset.status != AssetStatus.leased:
        return
    q = select(Lease.id).where(Lease.asset_id == asset.id, Lease.status.in_(LIVE))
    if exclude_ids:
        q = q.where(Lease.id.not_in(list(exclude_ids)))
    if db.session.scalar(q.limit(1)) is None:
        asset.status = AssetStatus.idle


def sign_lease(lease, signed_date: date | None = None, user=None) -> list:
    """Sign a negotiating lease: mark it signed/active, the asset leased, and bill the rent (plus a
    venue's one-off management fee). Returns the charges created; existing bill keys are skipped."""
    from schema.leasing import AssetStatus, LeaseStatus
    from schema.ledger import Charge, ChargeKind

    if lease.status != LeaseStatus.negotiating:
        raise LeaseError("只有洽谈中的合同可以签约")
    asset = _asset_of(lease)
    if asset is None:
        raise LeaseError("请选择招租资源")
    if asset.status == AssetStatus.disabled:
        raise LeaseError("该资源已停用")
    errors = lease_form_errors({
        "asset": asset, "start_date": lease.start_date, "end_date": lease.end_date, "rent": lease.rent,
        "tenant_id_number": lease.tenant_id_number, "venue_fee": lease.venue_fee,
    })
    if lease.start_date is None or lease.end_date is None:
        errors.setdefault("start_date", "请填写起租日期和到期日期")
    if errors:
        raise LeaseError(";".join(errors.values()))
    others = overlapping(asset.id, lease.start_date, lease.end_date, exclude_id=lease.id)
    if others:
        raise LeaseError("该资源在此期间已出租:" + "、".join(
            f"合同 {o.contract_no}({_span(o.start_date, o.end_date)})" for o in others))

    signed_date = signed_date or clock.today()
    created = []
    with audit_context(db.session, action="签约", username=getattr(user, "username", None)):
        if lease.id is None:
            db.session.add(lease)
            db.session.flush()
        lease.signed_date = signed_date
        lease.status = LeaseStatus.active if lease.start_date <= signed_date else LeaseStatus.signed
        asset.status = AssetStatus.leased
        payer = (lease.tenant_company or "").strip() or lease.tenant_name

        wanted = []
        for p in rent_schedule(lease.start_date, lease.end_date, lease.billing_cycle, lease.rent):
            if p["amount"] <= 0:
                continue
            wanted.append(dict(kind=ChargeKind.rent, period=p["period"], period_start=p["period_start"],
                               period_end=p["period_end"], due_date=p["due_date"], amount=p["amount"],
                               bill_key=f"rent:lease:{lease.id}:{p['period_start'].isoformat()}"))
        fee = _money(lease.venue_fee)
        if asset.kind == "venue" and fee > 0:
            first, last = f"{lease.start_date:%Y-%m}", f"{lease.end_date:%Y-%m}"
            wanted.append(dict(kind=ChargeKind.venue_fee, period=first if first == last else f"{first}~{last}",
                               period_start=lease.start_date, period_end=lease.end_date,
                               due_date=signed_date, amount=fee, bill_key=f"venue_fee:lease:{lease.id}"))

        keys = [w["bill_key"] for w in wanted]
        existing = set(db.session.scalars(select(Charge.bill_key).where(Charge.bill_key.in_(keys)))) if keys else set()
        for w in wanted:
            if w["bill_key"] in existing:
                continue
            charge = Charge(lease_id=lease.id, payer_name=payer, amount_paid=Decimal("0.00"), **w)
            db.session.add(charge)
            created.append(charge)
        db.session.flush()
    return created


def terminate_lease(lease, on: date | None, reason: str, user=None) -> list:
    """End a signed/active lease early: void its unpaid rent for periods starting after `on`, free the
    asset when nothing else holds it. end_date is kept as signed. Returns the voided charges."""
    from schema.leasing import LeaseStatus
    from schema.ledger import Charge, ChargeKind, ChargeStatus

    reason = (reason or "").strip()
    if not reason:
        raise LeaseError("请填写终止原因")
    if lease.status not in LIVE:
        raise LeaseError("只有已签约或执行中的合同可以终止")
    on = on or clock.today()
    voided = []
    with audit_context(db.session, action="终止", note=reason, username=getattr(user, "username", None)):
        lease.status = LeaseStatus.terminated
        charges = db.session.scalars(
            select(Charge).where(Charge.lease_id == lease.id, Charge.kind == ChargeKind.rent,
                                 Charge.status == ChargeStatus.unpaid, Charge.period_start > on)
            .order_by(Charge.period_start))
        for charge in charges:
            if (charge.amount_paid or 0) != 0:
                continue  # money already received: leave it to the clerk
            charge.status = ChargeStatus.void
            charge.void_reason = "合同终止:" + reason
            voided.append(charge)
        _free_asset_if_unused(_asset_of(lease), exclude_ids=[lease.id])
        db.session.flush()
    return voided


# ---------------------------------------------------------------- dates


def ending_soon(lease, today: date | None = None, days: int = 30) -> bool:
    """A signed/active lease ending within `days` days from today (today itself included)."""
    if lease.status not in LIVE or lease.end_date is None:
        return False
    left = (lease.end_date - (today or clock.today())).days
    return 0 <= left <= days


def refresh_statuses(today: date | None = None) -> int:
    """Daily job: signed leases that have started become active; signed/active leases past their end
    become expired and free their asset. Flushes, does not commit. Returns how many leases changed."""
    from schema.leasing import Lease, LeaseStatus

    today = today or clock.today()
    changed = {}
    with audit_context(db.session, action="状态更新"):
        for lease in db.session.scalars(select(Lease).where(Lease.status.in_(LIVE), Lease.end_date < today)):
            lease.status = LeaseStatus.expired
            changed[lease.id] = lease
        for lease in db.session.scalars(select(Lease).where(Lease.status == LeaseStatus.signed,
                                                            Lease.start_date <= today)):
            lease.status = LeaseStatus.active
            changed[lease.id] = lease
        db.session.flush()
        for lease in changed.values():
            if lease.status == LeaseStatus.expired:
                _free_asset_if_unused(_asset_of(lease))
        db.session.flush()
    return len(changed)


__all__ = [
    "LeaseError", "add_months", "contract_total", "ending_soon", "lease_form_errors", "overlapping",
    "refresh_statuses", "rent_schedule", "sign_lease", "terminate_lease",
]
