"""Custody (托管) units: the manual says 托管期间物业管理费按全额的70%收取;
托管期间水表不超过 5,电表不超过 20;每周及大雨前后安排人员对托管房进行户外巡查.

Usage is the latest reading of each meter (from the patrols) minus the reading at the custody's start;
strictly more than the limit alerts. An active custody with no patrol in the last 7 days (counting from
its start when it has none) is flagged "超过7天未巡查".
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from .ledger import to_decimal

CUSTODY_FEE_FACTOR = Decimal("0.70")
FULL_FEE_FACTOR = Decimal("1.00")

WATER_LIMIT = Decimal("5")
ELECTRICITY_LIMIT = Decimal("20")
PATROL_INTERVAL_DAYS = 7
PATROL_OVERDUE = f"超过{PATROL_INTERVAL_DAYS}天未巡查"


def fee_factor(unit_status: str) -> Decimal:
    """Share of the full management fee a unit in this status pays."""
    from schema.property import UnitStatus

    return CUSTODY_FEE_FACTOR if unit_status == UnitStatus.custody else FULL_FEE_FACTOR


# ---------------------------------------------------------------- pure rules




def _usage_alerts(water_start, electricity_start, water_reading, electricity_reading) -> list[str]:
    alerts = []
    for reading, base, limit, text in (
            (water_reading, water_start, WATER_LIMIT, "用水 {usage} 吨,超过托管上限 {limit}"),
            (electricity_reading, electricity_start, ELECTRICITY_LIMIT, "用电 {usage} 度,超过托管上限 {limit}")):
        reading = to_decimal(reading)
        if reading is None:
            continue
        usage = reading - (to_decimal(base) or Decimal("0"))
        if usage > limit:
            alerts.append(text.format(usage=usage, limit=limit))
    return alerts


def usage_alerts(custody, water_reading, electricity_reading) -> list[str]:
    """Alert texts for usage since the start above the limits (water 5 吨, electricity 20 度).

    Equal to the limit does not alert; a None reading is ignored."""
    return _usage_alerts(custody.water_start, custody.electricity_start, water_reading, electricity_reading)


def is_active(custody, today: date | None = None) -> bool:
    from . import clock

    today = today or clock.today()
    return (custody.start_date is not None and custody.start_date <= today
            and (custody.end_date is None or custody.end_date >= today))


def _patrol_overdue(start_date: date, end_date: date | None, last_patrol_at: datetime | None, today: date) -> bool:
    if start_date is None or start_date > today or (end_date is not None and end_date < today):
        return False
    last = start_date
    if last_patrol_at is not None and last_patrol_at.date() > last:
        last = last_patrol_at.date()
    return (today - last).days > PATROL_INTERVAL_DAYS


def _alerts(start_date, end_date, water_start, electricity_start, last_patrol_at, water, electricity,
            today: date) -> list[str]:
    alerts = _usage_alerts(water_start, electricity_start, water, electricity)
    if _patrol_overdue(start_date, end_date, last_patrol_at, today):
        alerts.append(PATROL_OVERDUE)
    return alerts


# ---------------------------------------------------------------- one custody


def latest_patrol(custody):
    """The custody's most recent patrol (by time, then id), or None."""
    from schema.custody import CustodyPatrol

    from .extensions import db

    if custody.id is None:
        return None
    return db.session.scalars(
        select(CustodyPatrol).where(CustodyPatrol.custody_id == custody.id)
        .order_by(CustodyPatrol.at.desc(), CustodyPatrol.id.desc()).limit(1)).first()


def latest_readings(custody) -> tuple[Decimal | None, Decimal | None]:
    """(water, electricity): the latest patrol reading of each meter, None when never read."""
    from schema.custody import CustodyPatrol

    from .extensions import db

    if custody.id is None:
        return None, None
    out = []
    for column in (CustodyPatrol.water_reading, CustodyPatrol.electricity_reading):
        out.append(db.session.scalars(
            select(column).where(CustodyPatrol.custody_id == custody.id, column.is_not(None))
            .order_by(CustodyPatrol.at.desc(), CustodyPatrol.id.desc()).limit(1)).first())
    return out[0], out[1]


def custody_alerts(custody, today: date | None = None) -> list[str]:
    """Usage alerts from the latest readings, plus "超过7天未巡查" for an active custody without a
    patrol in the last 7 days (or, never patrolled, started more than 7 days ago)."""
    from . import clock

    today = today or clock.today()
    patrol = latest_patrol(custody)
    water, electricity = latest_readings(custody)
    return _alerts(custody.start_date, custody.end_date, custody.water_start, custody.electricity_start,
                   patrol.at if patrol else None, water, electricity, today)


# ---------------------------------------------------------------- every custody at once


def _latest_reading_subquery(column):
    """custody_id -> the latest non-null reading of `column` (a row_number window)."""
    from schema.custody import CustodyPatrol

    ranked = (select(CustodyPatrol.custody_id.label("custody_id"), column.label("reading"),
                     func.row_number().over(partition_by=CustodyPatrol.custody_id,
                                            order_by=(CustodyPatrol.at.desc(), CustodyPatrol.id.desc()))
                     .label("rn"))
              .where(column.is_not(None))
              .subquery())
    return select(ranked.c.custody_id, ranked.c.reading).where(ranked.c.rn == 1).subquery()


def custody_alert_map(today: date | None = None, ids=None) -> dict[int, list[str]]:
    """{custody id: alert texts} for every custody (or those in `ids`), in one SQL query:
    the custodies left-joined to their last patrol time and latest meter readings."""
    from schema.custody import Custody, CustodyPatrol

    from . import clock
    from .extensions import db

    today = today or clock.today()
    last = (select(CustodyPatrol.custody_id.label("custody_id"), func.max(CustodyPatrol.at).label("last_at"))
            .group_by(CustodyPatrol.custody_id).subquery())
    water = _latest_reading_subquery(CustodyPatrol.water_reading)
    power = _latest_reading_subquery(CustodyPatrol.electricity_reading)
    q = (select(Custody.id, Custody.start_date, Custody.end_date, Custody.water_start, Custody.electricity_start,
                last.c.last_at, water.c.reading, power.c.reading)
         .outerjoin(last, last.c.custody_id == Custody.id)
         .outerjoin(water, water.c.custody_id == Custody.id)
         .outerjoin(power, power.c.custody_id == Custody.id))
    if ids is not None:
        q = q.where(Custody.id.in_(list(ids)))
    out = {}
    for cid, start, end, water_start, power_start, last_at, w, e in db.session.execute(q):
        out[cid] = _alerts(start, end, water_start, power_start, _as_datetime(last_at), w, e, today)
    return out


def _as_datetime(value):
    # max() over a DateTime column may come back as a string on SQLite
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return datetime.fromisoformat(str(value))


def alerting_custody_ids(today: date | None = None) -> set[int]:
    """The ids of custodies with any alert (usage over the limit or patrol overdue)."""
    return {cid for cid, alerts in custody_alert_map(today).items() if alerts}

