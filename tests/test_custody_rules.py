"""Custody rules: usage limits (water 5, electricity 20; equal is fine), weekly patrols, and the alert set."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.custody import (
    CUSTODY_FEE_FACTOR, ELECTRICITY_LIMIT, PATROL_INTERVAL_DAYS, WATER_LIMIT, alerting_custody_ids,
    custody_alert_map, custody_alerts, fee_factor, is_active, latest_patrol, latest_readings, usage_alerts,
)
from app.extensions import db
from schema.custody import Custody, CustodyPatrol
from tests import factories

D = Decimal
TODAY = date(2026, 11, 27)


def custody(start=date(2026, 10, 1), end=None, water="100.00", power="2000.00", **kw):
    c = Custody(unit=kw.pop("unit", None) or factories.unit(status="custody"), start_date=start, end_date=end,
                water_start=D(water), electricity_start=D(power), **kw)
    db.session.add(c)
    return c


def patrol(c, at, water=None, power=None, kind="weekly"):
    p = CustodyPatrol(custody=c, kind=kind, at=at, patroller="赵六",
                      water_reading=None if water is None else D(water),
                      electricity_reading=None if power is None else D(power))
    db.session.add(p)
    return p


def test_constants():
    assert (WATER_LIMIT, ELECTRICITY_LIMIT, PATROL_INTERVAL_DAYS) == (D("5"), D("20"), 7)
    assert CUSTODY_FEE_FACTOR == D("0.70") and fee_factor("custody") == D("0.70") and fee_factor("vacant") == 1


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize("water, power, expected", [
    ("105.00", "2020.00", []),
    ("105.01", "2020.00", ["用水 5.01 吨,超过托管上限 5"]),
    ("105.00", "2020.50", ["用电 20.50 度,超过托管上限 20"]),
    ("110.00", "2030.00", ["用水 10.00 吨,超过托管上限 5", "用电 30.00 度,超过托管上限 20"]),
    (None, "2020.01", ["用电 20.01 度,超过托管上限 20"]),
    ("106.00", None, ["用水 6.00 吨,超过托管上限 5"]),
    (None, None, []),
    ("99.00", "1990.00", []),
])
def test_usage_alerts(water, power, expected):
    c = Custody(start_date=date(2026, 10, 1), water_start=D("100.00"), electricity_start=D("2000.00"))
    assert usage_alerts(c, None if water is None else D(water), None if power is None else D(power)) == expected


def test_usage_alerts_at_the_limit_from_zero():
    c = Custody(start_date=date(2026, 10, 1), water_start=D("0"), electricity_start=D("0"))
    assert usage_alerts(c, D("5"), D("20")) == []
    assert usage_alerts(c, D("5.01"), D("20.5")) == ["用水 5.01 吨,超过托管上限 5", "用电 20.5 度,超过托管上限 20"]


# ---------------------------------------------------------------- one custody


def test_latest_patrol_and_readings(ctx):
    c = custody()
    assert latest_patrol(c) is None
    db.session.flush()
    assert latest_patrol(c) is None and latest_readings(c) == (None, None)
    patrol(c, datetime(2026, 11, 1, 9), water="101.00", power="2005.00")
    p2 = patrol(c, datetime(2026, 11, 8, 9), water="102.00")
    p3 = patrol(c, datetime(2026, 11, 12, 9), kind="before_rain")
    db.session.commit()
    assert latest_patrol(c) == p3 and p2.at < p3.at
    assert latest_readings(c) == (D("102.00"), D("2005.00"))


def test_usage_alert_from_the_latest_readings(ctx):
    c = custody()
    patrol(c, datetime(2026, 11, 20, 9), water="107.00", power="2010.00")
    patrol(c, datetime(2026, 11, 25, 9), water="104.00")  # re-read: the latest wins
    patrol(c, datetime(2026, 11, 26, 9), kind="after_rain")  # no readings
    db.session.commit()
    assert custody_alerts(c, TODAY) == []
    patrol(c, datetime(2026, 11, 27, 8), power="2020.01")
    db.session.commit()
    assert custody_alerts(c, TODAY) == ["用电 20.01 度,超过托管上限 20"]


@pytest.mark.parametrize("last_patrol_days_ago, flagged", [(8, True), (7, False), (1, False), (0, False)])
def test_patrol_interval(ctx, last_patrol_days_ago, flagged):
    c = custody(start=date(2026, 9, 1))
    patrol(c, datetime.combine(TODAY - timedelta(days=last_patrol_days_ago), datetime.min.time()).replace(hour=23))
    patrol(c, datetime(2026, 9, 5, 9))
    db.session.commit()
    assert (custody_alerts(c, TODAY) == ["超过7天未巡查"]) is flagged
    assert (c.id in alerting_custody_ids(TODAY)) is flagged


@pytest.mark.parametrize("start, flagged", [(TODAY - timedelta(days=8), True), (TODAY - timedelta(days=7), False),
                                            (TODAY, False), (TODAY + timedelta(days=3), False)])
def test_never_patrolled_counts_from_the_start(ctx, start, flagged):
    c = custody(start=start)
    db.session.commit()
    assert ("超过7天未巡查" in custody_alerts(c, TODAY)) is flagged
    assert (c.id in alerting_custody_ids(TODAY)) is flagged


def test_ended_custody_not_flagged_for_patrols(ctx):
    ended = custody(start=date(2026, 1, 1), end=TODAY - timedelta(days=1))
    last_day = custody(start=date(2026, 1, 1), end=TODAY)
    db.session.commit()
    assert not is_active(ended, TODAY) and is_active(last_day, TODAY)
    assert custody_alerts(ended, TODAY) == []
    assert custody_alerts(last_day, TODAY) == ["超过7天未巡查"]
    assert alerting_custody_ids(TODAY) == {last_day.id}


# ---------------------------------------------------------------- every custody at once


def test_alerting_custody_ids_agrees_and_uses_few_queries(ctx, app):
    fine = custody(start=date(2026, 11, 1))
    patrol(fine, datetime(2026, 11, 24, 9), water="103.00", power="2019.99")
    water = custody(start=date(2026, 11, 1))
    patrol(water, datetime(2026, 11, 10, 9), water="109.00", power="2001.00")
    patrol(water, datetime(2026, 11, 25, 9), water="105.50")
    power = custody(start=date(2026, 11, 1), water="0", power="0")
    patrol(power, datetime(2026, 11, 26, 9), water="5.00", power="20.50")
    patrol(power, datetime(2026, 11, 26, 9), water="4.00")  # same time: the higher id is the latest
    late = custody(start=date(2026, 10, 1))
    patrol(late, datetime(2026, 11, 19, 9), water="100.00")
    ended = custody(start=date(2026, 1, 1), end=date(2026, 6, 30))
    patrol(ended, datetime(2026, 6, 1, 9), power="2100.00")  # over the limit during the custody
    future = custody(start=date(2026, 12, 15))
    db.session.commit()

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        ids = alerting_custody_ids(TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) <= 3

    assert ids == {water.id, power.id, late.id, ended.id}
    every = custody_alert_map(TODAY)
    for c in (fine, water, power, late, ended, future):
        assert every[c.id] == custody_alerts(c, TODAY), c
    assert every[water.id] == ["用水 5.50 吨,超过托管上限 5"]
    assert every[power.id] == ["用电 20.50 度,超过托管上限 20"]
    assert every[late.id] == ["超过7天未巡查"]
    assert every[ended.id] == ["用电 100.00 度,超过托管上限 20"]
    assert every[fine.id] == [] and every[future.id] == []
    assert custody_alert_map(TODAY, ids=[water.id]) == {water.id: every[water.id]}
