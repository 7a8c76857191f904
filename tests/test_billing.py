"""Monthly management-fee billing: custody at 70%, vacant units skipped, idempotent reruns, the CLI."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import event, func, select

from app.billing import bill_month, bill_month_command, billable_units_query
from app.extensions import db
from schema.ledger import Charge
from schema.org import AuditLog

from . import factories as f

D = Decimal


def charges(period=None) -> list[Charge]:
    db.session.expire_all()
    stmt = select(Charge).order_by(Charge.unit_id)
    if period:
        stmt = stmt.where(Charge.period == period)
    return list(db.session.execute(stmt).scalars())


def estate_of_four():
    """occupied (primary + non-primary owner), custody (non-primary owner only), renovating (no owner), vacant."""
    b = f.building(name="3栋")
    occupied = f.unit(building=b, status="occupied", area=D("89.50"), fee_rate=D("2.50"))
    custody = f.unit(building=b, status="custody", area=D("89.50"), fee_rate=D("2.50"))
    renovating = f.unit(building=b, status="renovating", area=D("120.35"), fee_rate=D("1.80"))
    vacant = f.unit(building=b, status="vacant", area=D("60.00"), fee_rate=D("2.50"))
    f.ownership(unit=occupied, owner=f.owner(name="李配偶"), is_primary=False)
    f.ownership(unit=occupied, owner=f.owner(name="张三"), is_primary=True)
    f.ownership(unit=custody, owner=f.owner(name="陈托管"), is_primary=False)
    f.ownership(unit=vacant, owner=f.owner(name="空置业主"))
    db.session.commit()
    return occupied, custody, renovating, vacant


def test_billable_units_query(ctx):
    occupied, custody, renovating, vacant = estate_of_four()
    ids = set(db.session.execute(billable_units_query()).scalars())
    assert ids == {occupied, custody, renovating}


def test_bill_month_amounts_payers_and_periods(ctx):
    occupied, custody, renovating, vacant = estate_of_four()
    assert bill_month(2026, 11) == (3, 0)
    rows = {c.unit_id: c for c in charges()}
    assert set(rows) == {occupied.id, custody.id, renovating.id}  # vacant skipped

    full, held, reno = rows[occupied.id], rows[custody.id], rows[renovating.id]
    assert full.amount == D("223.75")  # 89.50 × 2.50
    assert held.amount == D("156.63")  # 223.75 × 70% = 156.625, half-up
    assert reno.amount == D("216.63")  # 120.35 × 1.80 = 216.63
    assert (full.payer_name, full.owner.name) == ("张三", "张三")  # the primary owner
    assert (held.payer_name, held.owner.name) == ("陈托管", "陈托管")  # any owner when none is primary
    assert (reno.payer_name, reno.owner_id) == ("未登记业主", None)
    for c in rows.values():
        assert (c.kind, c.period, c.status, c.amount_paid) == ("mgmt_fee", "2026-11", "unpaid", D("0.00"))
        assert (c.period_start, c.period_end, c.due_date) == (date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 30))
        assert c.bill_key == f"mgmt_fee:unit:{c.unit_id}:2026-11"

    log = db.session.execute(select(AuditLog).filter_by(table_name="charge", record_id=full.id)).scalar_one()
    assert (log.action, log.note, log.operation) == ("月度计费", "2026-11", "新增")
    assert db.session.scalar(select(func.count()).select_from(AuditLog).filter_by(action="月度计费")) == 3


def test_custody_fee_is_exactly_seventy_percent(ctx):
    u1 = f.unit(status="custody", area=D("100.00"), fee_rate=D("2.50"))
    u2 = f.unit(status="custody", area=D("57.30"), fee_rate=D("3.10"))
    db.session.commit()
    bill_month(2026, 12)
    amounts = {c.unit_id: c.amount for c in charges()}
    assert amounts == {u1.id: D("175.00"), u2.id: D("124.34")}  # 250 × 0.7; 177.63 × 0.7 = 124.341


def test_february_leap_and_common_year(ctx):
    f.unit()
    db.session.commit()
    assert bill_month(2028, 2) == (1, 0)
    assert bill_month(2027, 2) == (1, 0)
    leap, common = charges("2028-02")[0], charges("2027-02")[0]
    assert (leap.period_start, leap.period_end, leap.due_date) == (date(2028, 2, 1), date(2028, 2, 29), date(2028, 2, 29))
    assert (common.period_end, common.due_date) == (date(2027, 2, 28), date(2027, 2, 28))
    assert bill_month(2026, 12) == (1, 0)
    assert charges("2026-12")[0].period_end == date(2026, 12, 31)


def test_second_run_creates_nothing(ctx):
    estate_of_four()
    assert bill_month(2026, 11) == (3, 0)
    before = db.session.scalar(select(func.count()).select_from(Charge))
    assert bill_month(2026, 11) == (0, 3)
    assert db.session.scalar(select(func.count()).select_from(Charge)) == before == 3
    late = f.unit(status="occupied")
    db.session.commit()
    assert bill_month(2026, 11) == (1, 3)  # a unit that moved in later is billed, the rest skipped
    assert bill_month(2026, 12) == (4, 0)  # another month is billed afresh
    assert late.id in {c.unit_id for c in charges("2026-11")}


def test_unit_ids_restriction(ctx):
    occupied, custody, renovating, vacant = estate_of_four()
    assert bill_month(2026, 11, unit_ids=[custody.id, vacant.id]) == (1, 0)  # vacant is still not billable
    assert [c.unit_id for c in charges()] == [custody.id]
    assert bill_month(2026, 11, unit_ids=[]) == (0, 0)
    assert bill_month(2026, 11) == (2, 1)


def test_bill_month_uses_few_queries(ctx, app):
    for i in range(30):
        u = f.unit(status="custody" if i % 3 == 0 else "occupied")
        f.ownership(unit=u, owner=f.owner(name=f"业主{i}"))
    db.session.commit()
    db.session.expunge_all()
    selects = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert bill_month(2026, 11) == (30, 0)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(selects) <= 4, selects
    names = {c.payer_name for c in charges()}
    assert names == {f"业主{i}" for i in range(30)}


def test_bill_month_rolls_back_on_error(ctx, monkeypatch):
    import app.billing as billing

    f.unit()
    f.unit()
    db.session.commit()
    calls = []

    def boom(area, rate, factor):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("计费中断")
        return D("1.00")

    monkeypatch.setattr(billing, "mgmt_fee_amount", boom)
    try:
        bill_month(2026, 11)
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected the error to propagate")
    assert charges() == []
    assert db.session.scalar(select(func.count()).select_from(AuditLog).filter_by(action="月度计费")) == 0


def test_cli_bill_month(app):
    with app.app_context():
        b = f.building(name="7栋")
        f.unit(building=b)
        f.unit(building=b, status="custody")
        f.unit(building=f.building(name="8栋"))
        db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(bill_month_command, ["2026-11", "--building", "7栋"])
    assert result.exit_code == 0, result.output
    assert "已生成 2 条,跳过 0 条(已存在)" in result.output
    result = runner.invoke(bill_month_command, ["2026-11"])
    assert result.exit_code == 0, result.output
    assert "已生成 1 条,跳过 2 条(已存在)" in result.output
    result = runner.invoke(bill_month_command, ["2026-11"])
    assert "已生成 0 条,跳过 3 条(已存在)" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Charge)) == 3


def test_cli_bad_input(app):
    runner = app.test_cli_runner()
    for bad in ("2026-13", "11-2026", "next month", "2026-00"):
        result = runner.invoke(bill_month_command, [bad])
        assert result.exit_code == 2, result.output
        assert "月份格式不正确" in result.output and "YYYY-MM" in result.output
    result = runner.invoke(bill_month_command, ["2026-11", "--building", "不存在的楼"])
    assert result.exit_code == 2 and "未找到楼栋" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Charge)) == 0


def test_cli_registration(app):
    from flask import Flask

    from app.billing import init_cli

    other = Flask("other")
    init_cli(other)
    assert other.cli.get_command(None, "bill-month") is bill_month_command
