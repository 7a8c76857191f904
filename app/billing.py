"""Monthly management-fee billing (月度计费): one charge per billable unit per month.

`bill_month` is idempotent through Charge.bill_key ("mgmt_fee:unit:<id>:<YYYY-MM>"): a second run
skips every unit already billed. It reads units, their payers and the month's existing keys in a
handful of set-based queries, adds the new charges in batches, and commits once (all or nothing).
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .audit import audit_context
from .custody import fee_factor
from .extensions import db
from .ledger import mgmt_fee_amount

BILLABLE = ("occupied", "custody", "renovating")
NO_OWNER = "未登记业主"
BATCH = 2000


def billable_units_query():
    """select(Unit) of the units that pay a management fee (occupied, custody, renovating)."""
    from schema.property import Unit, UnitStatus

    return select(Unit).where(Unit.status.in_([UnitStatus.occupied.value, UnitStatus.custody.value,
                                                UnitStatus.renovating.value]))


def bill_key(unit_id: int, period: str) -> str:
    return f"mgmt_fee:unit:{unit_id}:{period}"


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    if not (1 <= month <= 12) or not (2000 <= year <= 2100):
        raise ValueError(f"月份不正确: {year}-{month}")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _payers(unit_filter) -> dict[int, tuple[int, str]]:
    """unit_id -> (owner_id, owner name): the primary owner, else any owner (lowest ownership id)."""
    from schema.people import Owner, Ownership

    stmt = (select(Ownership.unit_id, Owner.id, Owner.name)
            .join(Owner, Owner.id == Ownership.owner_id)
            .where(Ownership.unit_id.in_(unit_filter))
            .order_by(Ownership.unit_id, Ownership.is_primary.desc(), Ownership.id))
    payers: dict[int, tuple[int, str]] = {}
    for unit_id, owner_id, name in db.session.execute(stmt):
        payers.setdefault(unit_id, (owner_id, name))
    return payers


def prepaid_span(day, months: int):
    """(first, last) day of `months` calendar months starting with the month of `day`."""
    index = day.year * 12 + day.month - 1 + months - 1  # the last covered month, counted from year 0
    last = date(index // 12, index % 12 + 1, calendar.monthrange(index // 12, index % 12 + 1)[1])
    return day.replace(day=1), last


def bill_month(year: int, month: int, unit_ids: list[int] | None = None) -> tuple[int, int]:
    """Create this month's management-fee charges; returns (created, skipped). A unit whose fee for the
    whole month was already charged otherwise (a move-in's prepayment, not voided) is skipped. Commits."""
    from schema.ledger import Charge, ChargeKind, ChargeStatus
    from schema.property import Unit

    start, end = _month_bounds(year, month)
    period = f"{year}-{month:02d}"
    units_stmt = billable_units_query()
    if unit_ids is not None:
        units_stmt = units_stmt.where(Unit.id.in_(list(unit_ids)))
    unit_filter = units_stmt.with_only_columns(Unit.id).scalar_subquery()
    session = db.session
    try:
        with audit_context(session, action="月度计费", note=period):
            existing = set(session.execute(
                select(Charge.bill_key).where(Charge.kind == ChargeKind.mgmt_fee, Charge.period == period,
                                              Charge.bill_key.is_not(None))).scalars())
            prepaid = set(session.execute(
                select(Charge.unit_id).where(Charge.kind == ChargeKind.mgmt_fee, Charge.bill_key.is_(None),
                                             Charge.status != ChargeStatus.void.value,
                                             Charge.period_start <= start, Charge.period_end >= end)).scalars())
            payers = _payers(unit_filter)
            rows = session.execute(units_stmt.with_only_columns(Unit.id, Unit.area, Unit.fee_rate, Unit.status)
                                   .order_by(Unit.id))
            created = skipped = 0
            batch = []
            for unit_id, area, rate, status in rows:
                key = bill_key(unit_id, period)
                if key in existing or unit_id in prepaid:
                    skipped += 1
                    continue
                owner_id, payer_name = payers.get(unit_id, (None, NO_OWNER))
                batch.append(Charge(
                    kind=ChargeKind.mgmt_fee.value, unit_id=unit_id, owner_id=owner_id, payer_name=payer_name,
                    period=period, period_start=start, period_end=end, due_date=end,
                    amount=mgmt_fee_amount(area, rate, fee_factor(status)), amount_paid=Decimal("0.00"),
                    status=ChargeStatus.unpaid.value, bill_key=key))
                created += 1
                if len(batch) >= BATCH:
                    _flush(session, batch)
            _flush(session, batch)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return created, skipped


def _flush(session, batch: list) -> None:
    """Insert a batch and let go of it so 100k units do not pile up in the identity map."""
    if not batch:
        return
    session.add_all(batch)
    session.flush()
    for obj in batch:
        session.expunge(obj)
    batch.clear()


# ---------------------------------------------------------------- flask bill-month

MONTH_RE = re.compile(r"^\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?\s*$")


def parse_month(text: str) -> tuple[int, int]:
    m = MONTH_RE.match(text or "")
    if not m or not (1 <= int(m.group(2)) <= 12) or not (2000 <= int(m.group(1)) <= 2100):
        raise click.BadParameter(f"月份格式不正确:「{text}」,应为 YYYY-MM,例如 2026-11", param_hint="MONTH")
    return int(m.group(1)), int(m.group(2))


@click.command("bill-month")
@click.argument("month")
@click.option("--building", default=None, help="只为该楼栋计费(楼栋名称)")
@with_appcontext
def bill_month_command(month, building):
    """生成某月的物业管理费应收(重复运行不会重复生成)。"""
    from schema.property import Building, Unit

    year, mon = parse_month(month)
    unit_ids = None
    if building:
        if not db.session.execute(select(Building.id).where(Building.name == building).limit(1)).first():
            raise click.BadParameter(f"未找到楼栋「{building}」", param_hint="--building")
        unit_ids = list(db.session.execute(
            select(Unit.id).join(Building, Building.id == Unit.building_id)
            .where(Building.name == building)).scalars())
    created, skipped = bill_month(year, mon, unit_ids)
    click.echo(f"已生成 {created} 条,跳过 {skipped} 条(已存在)")



def init_cli(app) -> None:
    app.cli.add_command(bill_month_command)
