"""Arrears by unit and by lease: ageing buckets (exact boundaries), balances, totals, sorting,
filters, promises, single-payer figures, and a constant number of SQL statements per page."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from app.arrears import (BUCKET_KEYS, BUCKETS, MONEY_KEYS, arrears_count, arrears_for_lease, arrears_for_unit,
                         arrears_page, arrears_query, arrears_rows, arrears_totals, bucket_bounds)
from app.extensions import db
from schema import Charge, Dunning, LeasableAsset, Lease

from . import factories

TODAY = date(2026, 6, 15)
_seq = itertools.count(1)


def D(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def charge(payer, amount, days_ago: int = 10, paid=0, status=None, name=None, kind="mgmt_fee") -> Charge:
    amount, paid = D(amount), D(paid)
    if status is None:
        status = "unpaid" if paid == 0 else ("paid" if paid >= amount else "partial")
    c = Charge(kind=kind, payer_name=name or getattr(payer, "payer", None) or "张三", period=f"P{next(_seq)}",
               due_date=ago(days_ago), amount=amount, amount_paid=paid, status=status)
    if isinstance(payer, Lease):
        c.lease = payer
    else:
        c.unit = payer
    db.session.add(c)
    return c


def unit(name="张三", **kw):
    u = factories.unit(**kw)
    u.payer = name  # the payer_name put on this unit's charges (not a column)
    return u


def lease(name="李四", kind="warehouse", contract_no=None, code=None):
    n = next(_seq)
    asset = LeasableAsset(kind=kind, code=code or f"CK-{n:03d}", list_price=D(1000))
    le = Lease(asset=asset, contract_no=contract_no or f"ZL-2026-{n:03d}", tenant_name=name,
               tenant_phone="13800138000", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
               rent=D(1000), billing_cycle="month", status="active")
    db.session.add_all([asset, le])
    le.payer = name
    return le


def dun(payer, at: datetime, promised: date | None = None) -> Dunning:
    d = Dunning(payer_name=payer.payer, method="phone", at=at, promised_date=promised)
    if isinstance(payer, Lease):
        d.lease = payer
    else:
        d.unit = payer
    db.session.add(d)
    return d


def by_id(rows, key="payer_id"):
    return {r[key]: r for r in rows}


# --- buckets -----------------------------------------------------------------------------------

def test_bucket_bounds_are_dates_computed_from_today():
    b = bucket_bounds(TODAY)
    assert [k for k, _ in BUCKETS] == list(b) == list(BUCKET_KEYS)
    assert b["not_due"] == (TODAY, None)
    assert b["d1_30"] == (ago(30), TODAY)
    assert b["d31_60"] == (ago(60), ago(30))
    assert b["d61_90"] == (ago(90), ago(60))
    assert b["d91_180"] == (ago(180), ago(90))
    assert b["d180_plus"] == (None, ago(180))
    assert BUCKETS[0] == ("not_due", "未到期") and BUCKETS[-1] == ("d180_plus", "180天以上")


@pytest.mark.parametrize("by", ["unit", "lease"])
def test_exact_bucket_boundaries(ctx, by):
    payer = unit() if by == "unit" else lease()
    # a distinct power of two per age so every bucket sum names exactly which charges it holds
    ages = [-5, 0, 1, 30, 31, 60, 61, 90, 91, 180, 181]
    for i, age in enumerate(ages):
        charge(payer, 2 ** i, days_ago=age)
    db.session.commit()

    [row] = arrears_rows(by, today=TODAY)
    assert row["not_due"] == D(1 + 2)                 # due in 5 days, due today
    assert row["d1_30"] == D(4 + 8)                   # 1, 30
    assert row["d31_60"] == D(16 + 32)                # 31, 60
    assert row["d61_90"] == D(64 + 128)               # 61, 90
    assert row["d91_180"] == D(256 + 512)             # 91, 180
    assert row["d180_plus"] == D(1024)                # 181
    assert row["total_owed"] == D(2 ** 11 - 1)
    assert row["overdue"] == row["total_owed"] - row["not_due"]
    assert sum(row[k] for k in BUCKET_KEYS) == row["total_owed"]
    assert row["oldest_due"] == ago(181) and row["oldest_age_days"] == 181
    assert row["charge_count"] == len(ages)
    assert row["has_arrears"] is True
    assert all(isinstance(row[k], Decimal) for k in MONEY_KEYS)


def test_partial_payments_count_only_the_balance_and_void_is_ignored(ctx):
    u = unit()
    charge(u, "300.00", days_ago=40, paid="120.50")             # balance 179.50 in 31–60
    charge(u, "500.00", days_ago=200, status="void")           # ignored everywhere
    charge(u, "200.00", days_ago=100, paid="200.00")           # paid: no balance, not the oldest
    charge(u, "0.10", days_ago=5)
    charge(u, "0.20", days_ago=5)
    db.session.commit()

    [row] = arrears_rows("unit", today=TODAY)
    assert row["total_owed"] == D("179.80")
    assert row["d31_60"] == D("179.50")
    assert row["d1_30"] == D("0.30")
    assert row["d91_180"] == row["d180_plus"] == row["not_due"] == D(0)
    assert row["oldest_due"] == ago(40)
    assert row["charge_count"] == 3


def test_paid_up_void_only_and_not_due_payers(ctx):
    paid_up, void_only, future_only, debtor = unit("甲"), unit("乙"), unit("丙"), unit("丁")
    charge(paid_up, 100, days_ago=50, paid=100)
    charge(paid_up, 100, days_ago=20, paid=100)
    charge(void_only, 100, days_ago=50, status="void")
    charge(future_only, 80, days_ago=-10)
    charge(debtor, 60, days_ago=3)
    db.session.commit()

    rows = by_id(arrears_rows("unit", today=TODAY))
    assert set(rows) == {future_only.id, debtor.id}
    assert rows[future_only.id]["overdue"] == D(0) and rows[future_only.id]["has_arrears"] is False
    assert rows[future_only.id]["not_due"] == D(80)
    assert rows[debtor.id]["has_arrears"] is True
    assert arrears_count("unit", today=TODAY) == 2


def test_unit_rows_carry_building_and_room(ctx):
    b = factories.building(name="7栋")
    u = unit("王五", building=b, room_no="0702")
    charge(u, 99, days_ago=10)
    db.session.commit()

    [row] = arrears_rows("unit", today=TODAY)
    assert row["unit_id"] == row["payer_id"] == u.id
    assert (row["building_id"], row["building_name"], row["room_no"], row["payer_name"]) == (b.id, "7栋", "0702", "王五")
    assert row["last_dunning_at"] is None and row["last_promised_date"] is None and row["broken_promise"] is False


def test_lease_rows_carry_contract_tenant_and_asset(ctx):
    le = lease("赵六", kind="venue", contract_no="ZL-2026-888", code="CD-01")
    charge(le, 5000, days_ago=45, kind="rent")
    db.session.commit()

    [row] = arrears_rows("lease", today=TODAY)
    assert row["lease_id"] == row["payer_id"] == le.id
    assert (row["contract_no"], row["tenant_name"], row["asset_code"], row["asset_kind"]) == \
        ("ZL-2026-888", "赵六", "CD-01", "venue")
    assert row["asset_id"] == le.asset_id
    assert row["d31_60"] == D(5000)
    # a unit's list doesn't see lease charges and vice versa
    assert arrears_rows("unit", today=TODAY) == []


# --- totals ------------------------------------------------------------------------------------

def make_mixed(n_buildings=2):
    buildings = [factories.building(name=f"{i + 1}栋") for i in range(n_buildings)]
    units = []
    plans = [  # (amount, days_ago, paid)
        [(100, 5, 0), (200, 45, 50)],
        [(300, 95, 0), (10, -3, 0)],
        [(40, 200, 0)],
        [(70, 0, 0), (80, 65, 80)],
        [(55.55, 31, 0), (44.45, 181, 0), (1000, 20, 0)],
    ]
    for i, plan in enumerate(plans):
        u = unit(f"业主{i}", building=buildings[i % n_buildings], room_no=f"{i + 1:02d}01")
        for amount, days, paid in plan:
            charge(u, amount, days_ago=days, paid=paid)
        units.append(u)
    db.session.commit()
    return buildings, units


def assert_totals_match(rows, totals):
    assert totals["payers"] == len(rows)
    for k in MONEY_KEYS:
        assert totals[k] == sum((r[k] for r in rows), D(0)), k
    assert totals["buckets"] == [(k, label, totals[k]) for k, label in BUCKETS]


def test_totals_equal_the_sum_of_rows(ctx):
    buildings, units = make_mixed()
    rows = arrears_rows("unit", today=TODAY)
    totals = arrears_totals("unit", today=TODAY)
    assert_totals_match(rows, totals)
    assert totals["total_owed"] == D("1770.00")  # 250 + 310 + 40 + 70 + 1100
    assert totals["payers"] == 5

    for filters in ({"building_id": buildings[0].id}, {"bucket": "d91_180"}, {"min_overdue": 300},
                    {"search": "业主3"}):
        rows = arrears_rows("unit", today=TODAY, **filters)
        assert_totals_match(rows, arrears_totals("unit", today=TODAY, **filters))
        assert arrears_count("unit", today=TODAY, **filters) == len(rows)


def test_totals_when_nothing_is_owed(ctx):
    totals = arrears_totals("lease", today=TODAY)
    assert totals["payers"] == 0
    assert all(totals[k] == D(0) for k in MONEY_KEYS)


# --- sorting and paging ------------------------------------------------------------------------

def test_sort_by_overdue_total_age_and_name(ctx):
    a, b, c = unit("wang"), unit("li"), unit("chen")  # ASCII: every collation agrees on the order
    charge(a, 500, days_ago=10)              # overdue 500, oldest 10 days
    charge(a, 1000, days_ago=-5)             # not due: total 1500
    charge(b, 800, days_ago=100)             # overdue 800, oldest 100 days, total 800
    charge(c, 300, days_ago=400)             # overdue 300, oldest 400 days, total 300
    db.session.commit()

    def ids(**kw):
        return [r["payer_id"] for r in arrears_rows("unit", today=TODAY, **kw)]

    assert ids() == [b.id, a.id, c.id]                                   # default: overdue desc
    assert ids(order="overdue", desc=False) == [c.id, a.id, b.id]
    assert ids(order="total") == [a.id, b.id, c.id]
    assert ids(order="age") == [c.id, b.id, a.id]                        # oldest debt first
    assert ids(order="age", desc=False) == [a.id, b.id, c.id]
    assert ids(order="name", desc=False) == [c.id, b.id, a.id]
    assert ids(order="name") == [a.id, b.id, c.id]


def test_today_defaults_to_the_office_clock(ctx, monkeypatch):
    from app import clock

    u = unit()
    charge(u, 100, days_ago=31)
    db.session.commit()
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    assert arrears_rows("unit")[0]["d31_60"] == D(100)
    assert arrears_for_unit(u.id)["d31_60"] == D(100)
    assert arrears_totals("unit")["d31_60"] == D(100)
    monkeypatch.setattr(clock, "today", lambda: TODAY + timedelta(days=30))
    assert arrears_rows("unit")[0]["d61_90"] == D(100)


def test_paging_with_limit_and_offset(ctx):
    units = [unit(f"户{i}") for i in range(7)]
    for i, u in enumerate(units):
        charge(u, 100 + i, days_ago=20)
    db.session.commit()

    every = [r["payer_id"] for r in arrears_rows("unit", today=TODAY)]
    assert every == [u.id for u in reversed(units)]
    pages = [arrears_rows("unit", today=TODAY, limit=3, offset=o) for o in (0, 3, 6)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [r["payer_id"] for p in pages for r in p] == every
    assert arrears_count("unit", today=TODAY) == 7


def test_ties_break_on_payer_id(ctx):
    units = [unit() for _ in range(4)]
    for u in units:
        charge(u, 100, days_ago=20)
    db.session.commit()
    assert [r["payer_id"] for r in arrears_rows("unit", today=TODAY)] == sorted(u.id for u in units)


# --- filters -----------------------------------------------------------------------------------

def test_filter_by_building(ctx):
    buildings, units = make_mixed()
    rows = arrears_rows("unit", today=TODAY, building_id=buildings[1].id)
    assert {r["payer_id"] for r in rows} == {units[1].id, units[3].id}
    assert {r["building_name"] for r in rows} == {"2栋"}


def test_filter_by_bucket(ctx):
    buildings, units = make_mixed()
    assert {r["payer_id"] for r in arrears_rows("unit", today=TODAY, bucket="d180_plus")} == {units[2].id, units[4].id}
    assert {r["payer_id"] for r in arrears_rows("unit", today=TODAY, bucket="d31_60")} == {units[0].id, units[4].id}
    # units[3]'s 65-day charge is paid: a zero balance there doesn't count
    assert arrears_rows("unit", today=TODAY, bucket="d61_90") == []
    assert {r["payer_id"] for r in arrears_rows("unit", today=TODAY, bucket="not_due")} == {units[1].id, units[3].id}
    # the bucket filter picks payers, it doesn't trim their figures
    [row] = arrears_rows("unit", today=TODAY, bucket="d91_180")
    assert row["total_owed"] == D(310)


def test_filter_by_min_overdue_and_search(ctx):
    buildings, units = make_mixed()
    # overdue: u0 250, u1 300, u2 40, u3 0, u4 1100
    assert {r["payer_id"] for r in arrears_rows("unit", today=TODAY, min_overdue=250)} == \
        {units[0].id, units[1].id, units[4].id}
    assert {r["payer_id"] for r in arrears_rows("unit", today=TODAY, min_overdue=Decimal("250.01"))} == \
        {units[1].id, units[4].id}
    assert [r["payer_id"] for r in arrears_rows("unit", today=TODAY, search="业主2")] == [units[2].id]
    assert [r["payer_id"] for r in arrears_rows("unit", today=TODAY, search="0401")] == [units[3].id]
    assert arrears_rows("unit", today=TODAY, search="%") == []          # wildcards are literal
    assert len(arrears_rows("unit", today=TODAY, search="  ")) == 5     # blank search = no filter


def test_lease_filters_asset_kind_and_contract_search(ctx):
    w = lease("仓库租户", kind="warehouse", contract_no="ZL-W-001")
    v = lease("场地租户", kind="venue", contract_no="ZL-V-002")
    charge(w, 1000, days_ago=10, kind="rent")
    charge(v, 2000, days_ago=70, kind="rent")
    db.session.commit()

    assert [r["payer_id"] for r in arrears_rows("lease", today=TODAY, asset_kind="venue")] == [v.id]
    assert [r["payer_id"] for r in arrears_rows("lease", today=TODAY, search="zl-w")] == [w.id]
    assert [r["payer_id"] for r in arrears_rows("lease", today=TODAY, search="场地")] == [v.id]
    assert arrears_totals("lease", today=TODAY, asset_kind="warehouse")["total_owed"] == D(1000)


def test_bad_arguments_are_refused(ctx):
    with pytest.raises(ValueError):
        arrears_rows("owner", today=TODAY)
    with pytest.raises(ValueError):
        arrears_rows("unit", today=TODAY, order="random")
    with pytest.raises(ValueError):
        arrears_rows("unit", today=TODAY, bucket="d1_7")
    with pytest.raises(ValueError):
        arrears_rows("lease", today=TODAY, building_id=1)
    with pytest.raises(ValueError):
        arrears_rows("unit", today=TODAY, asset_kind="venue")
    with pytest.raises(TypeError):
        arrears_rows("unit", today=TODAY, colour="red")


# --- dunning and promises ----------------------------------------------------------------------

def test_broken_promise(ctx):
    broken, kept_future, paid_up, not_due_only, never_chased = (unit(n) for n in "甲乙丙丁戊")
    charge(broken, 100, days_ago=40)
    dun(broken, datetime(2026, 5, 1, 10, 0), promised=date(2026, 5, 5))
    dun(broken, datetime(2026, 6, 1, 9, 30), promised=ago(3))             # latest: promise passed

    charge(kept_future, 100, days_ago=40)
    dun(kept_future, datetime(2026, 5, 1, 10, 0), promised=date(2026, 5, 5))  # old broken promise...
    dun(kept_future, datetime(2026, 6, 10, 15, 0), promised=TODAY + timedelta(days=7))  # ...superseded

    charge(paid_up, 100, days_ago=40, paid=100)
    dun(paid_up, datetime(2026, 6, 1, 9, 30), promised=ago(3))

    charge(not_due_only, 100, days_ago=-2)
    dun(not_due_only, datetime(2026, 6, 1, 9, 30), promised=ago(3))

    charge(never_chased, 100, days_ago=40)
    db.session.commit()

    rows = by_id(arrears_rows("unit", today=TODAY))
    assert paid_up.id not in rows
    assert rows[broken.id]["broken_promise"] is True
    assert rows[broken.id]["last_dunning_at"] == datetime(2026, 6, 1, 9, 30)
    assert rows[broken.id]["last_promised_date"] == ago(3)
    assert rows[kept_future.id]["broken_promise"] is False
    assert rows[kept_future.id]["last_dunning_at"] == datetime(2026, 6, 10, 15, 0)
    assert rows[kept_future.id]["last_promised_date"] == TODAY + timedelta(days=7)
    assert rows[not_due_only.id]["broken_promise"] is False
    assert rows[never_chased.id]["broken_promise"] is False
    assert rows[never_chased.id]["last_dunning_at"] is None
    assert arrears_for_unit(paid_up.id, today=TODAY)["broken_promise"] is False

    # the promise falls due: on the promised day itself it isn't broken yet
    assert by_id(arrears_rows("unit", today=ago(3)))[broken.id]["broken_promise"] is False


def test_latest_dunning_without_promise_and_lease_promise(ctx):
    u = unit()
    charge(u, 100, days_ago=40)
    dun(u, datetime(2026, 5, 1, 10, 0), promised=date(2026, 5, 5))
    dun(u, datetime(2026, 6, 2, 10, 0))                                      # latest: no promise
    le = lease()
    charge(le, 3000, days_ago=15, kind="rent")
    dun(le, datetime(2026, 6, 1, 10, 0), promised=date(2026, 6, 10))
    db.session.commit()

    [row] = arrears_rows("unit", today=TODAY)
    assert row["last_promised_date"] is None and row["broken_promise"] is False
    [lrow] = arrears_rows("lease", today=TODAY)
    assert lrow["broken_promise"] is True and lrow["last_promised_date"] == date(2026, 6, 10)
    # the unit's dunning isn't the lease's and vice versa
    assert lrow["last_dunning_at"] == datetime(2026, 6, 1, 10, 0)


# --- one payer ---------------------------------------------------------------------------------

def test_arrears_for_unit(ctx):
    debtor, clear, nothing = unit("欠费户"), unit("已缴户"), unit("无费用")
    charge(debtor, "120.00", days_ago=35)
    charge(debtor, "80.00", days_ago=-1)
    dun(debtor, datetime(2026, 6, 1, 9, 0), promised=ago(1))
    charge(clear, 100, days_ago=35, paid=100)
    db.session.commit()

    figures = arrears_for_unit(debtor.id, today=TODAY)
    assert figures["has_arrears"] is True
    assert (figures["total_owed"], figures["overdue"], figures["d31_60"], figures["not_due"]) == \
        (D(200), D(120), D(120), D(80))
    assert figures["broken_promise"] is True and figures["room_no"] == debtor.room_no
    assert figures == by_id(arrears_rows("unit", today=TODAY))[debtor.id]

    for u in (clear, nothing):
        figures = arrears_for_unit(u.id, today=TODAY)
        assert figures["has_arrears"] is False and figures["broken_promise"] is False
        assert figures["unit_id"] == figures["payer_id"] == u.id
        assert all(figures[k] == D(0) and isinstance(figures[k], Decimal) for k in MONEY_KEYS)
        assert figures["charge_count"] == 0 and figures["oldest_due"] is None
        assert set(figures) == set(arrears_for_unit(debtor.id, today=TODAY))


def test_arrears_for_unit_with_only_future_charges_has_no_arrears(ctx):
    u = unit()
    charge(u, 100, days_ago=-20)
    db.session.commit()
    figures = arrears_for_unit(u.id, today=TODAY)
    assert figures["has_arrears"] is False and figures["total_owed"] == D(100) and figures["overdue"] == D(0)


def test_arrears_for_lease(ctx):
    debtor, clear = lease("欠租户"), lease("已缴户")
    charge(debtor, "6000.00", days_ago=95, paid="1000.00", kind="rent")
    charge(clear, "6000.00", days_ago=95, paid="6000.00", kind="rent")
    db.session.commit()

    figures = arrears_for_lease(debtor.id, today=TODAY)
    assert figures["has_arrears"] is True
    assert figures["overdue"] == figures["d91_180"] == D(5000)
    assert figures["contract_no"] == debtor.contract_no and figures["lease_id"] == debtor.id

    empty = arrears_for_lease(clear.id, today=TODAY)
    assert empty["has_arrears"] is False and empty["lease_id"] == clear.id
    assert all(empty[k] == D(0) for k in MONEY_KEYS)


# --- SQL statement count -----------------------------------------------------------------------

def test_arrears_query_aggregates_in_sql(ctx):
    sql = str(arrears_query("unit", TODAY).compile(db.engine)).upper()
    assert "GROUP BY" in sql and "SUM(CASE WHEN" in sql and "ROW_NUMBER() OVER" in sql


def count_statements(fn):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len(seen), result


@pytest.mark.parametrize("by", ["unit", "lease"])
def test_constant_number_of_statements(ctx, by):
    counts = []
    made = 0
    for n in (5, 50):
        while made < n:
            payer = unit(f"户{made}") if by == "unit" else lease(f"租户{made}")
            for days in (-3, 10, 45, 100, 200):
                charge(payer, 100 + made, days_ago=days)
            dun(payer, datetime(2026, 6, 1, 9, 0), promised=ago(made % 5))
            dun(payer, datetime(2026, 6, 5, 9, 0), promised=ago(made % 5 - 2))
            made += 1
        db.session.commit()
        db.session.expire_all()
        statements, rows = count_statements(lambda: arrears_rows(by, today=TODAY))
        assert len(rows) == n
        counts.append(statements)
        for fn in (lambda: arrears_totals(by, today=TODAY), lambda: arrears_count(by, today=TODAY)):
            assert count_statements(fn)[0] == 1
    assert counts[0] == counts[1] <= 2
    assert counts[0] == 1


def test_page_and_totals_come_from_one_statement_and_agree(ctx):
    buildings, _units = make_mixed()
    assert count_statements(lambda: arrears_page("unit", today=TODAY, limit=2))[0] == 1
    for filters in ({}, {"building_id": buildings[0].id}, {"bucket": "d91_180"}, {"search": "业主3"}):
        for offset in (0, 2):
            statements, (rows, totals) = count_statements(
                lambda: arrears_page("unit", today=TODAY, limit=2, offset=offset, **filters))
            assert statements == (1 if rows else 2)  # an empty page asks for the totals on their own
            assert rows == arrears_rows("unit", today=TODAY, limit=2, offset=offset, **filters)
            assert totals == arrears_totals("unit", today=TODAY, **filters), filters
    rows, totals = arrears_page("unit", today=TODAY, limit=2, offset=40)  # past the end: totals still right
    assert rows == [] and totals == arrears_totals("unit", today=TODAY)
