"""Leasing rules: the rent schedule to the cent, overlap, signing, termination and status upkeep."""
from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import select

from app.extensions import db
from app.leasing import (
    LeaseError, add_months, contract_total, ending_soon, lease_form_errors, overlapping, refresh_statuses,
    rent_schedule, sign_lease, terminate_lease,
)
from schema.leasing import LeasableAsset, Lease
from schema.ledger import Charge
from schema.org import AuditLog
from tests.factories import credit_code, resident_id

D = Decimal
_n = count(1)


def asset(kind="warehouse", status="idle", **kw):
    a = LeasableAsset(kind=kind, code=f"ZC-{next(_n):04d}", name="1号仓库", list_price=D("3000.00"),
                      status=status, **kw)
    db.session.add(a)
    return a


def lease(on, start=date(2026, 1, 1), end=date(2026, 12, 31), rent="3000.00", cycle="month", status="negotiating",
          **kw):
    le = Lease(asset=on, contract_no=kw.pop("contract_no", f"HT-{next(_n):04d}"), tenant_name="王五",
               tenant_phone="13800138000", start_date=start, end_date=end, rent=D(rent), billing_cycle=cycle,
               deposit=D("0.00"), venue_fee=D(kw.pop("venue_fee", "0.00")), status=status, **kw)
    db.session.add(le)
    return le


def rent_charges(le):
    return db.session.scalars(select(Charge).where(Charge.lease_id == le.id, Charge.kind == "rent")
                              .order_by(Charge.period_start)).all()


# ---------------------------------------------------------------- month arithmetic


@pytest.mark.parametrize("d, n, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 1, 31), 2, date(2026, 3, 31)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 1, 15), -13, date(2024, 12, 15)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2026, 5, 10), 0, date(2026, 5, 10)),
])
def test_add_months(d, n, expected):
    assert add_months(d, n) == expected


# ---------------------------------------------------------------- the schedule


def test_monthly_year():
    s = rent_schedule(date(2026, 1, 1), date(2026, 12, 31), "month", D("3000.00"))
    assert len(s) == 12
    assert [p["amount"] for p in s] == [D("3000.00")] * 12
    assert [p["due_date"] for p in s] == [date(2026, m, 1) for m in range(1, 13)]
    assert [p["period"] for p in s] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert s[1]["period_start"] == date(2026, 2, 1) and s[1]["period_end"] == date(2026, 2, 28)
    assert sum(p["amount"] for p in s) == D("36000.00") == contract_total(date(2026, 1, 1), date(2026, 12, 31),
                                                                          D("3000.00"))


def test_quarterly_year():
    s = rent_schedule(date(2026, 1, 1), date(2026, 12, 31), "quarter", D("2500.50"))
    assert [p["amount"] for p in s] == [D("7501.50")] * 4
    assert [p["due_date"] for p in s] == [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1), date(2026, 10, 1)]
    assert [p["period_end"] for p in s] == [date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30),
                                            date(2026, 12, 31)]
    assert [p["period"] for p in s] == ["2026-01~2026-03", "2026-04~2026-06", "2026-07~2026-09",
                                        "2026-10~2026-12"]


def test_quarterly_cut_at_lease_end():
    s = rent_schedule(date(2026, 1, 1), date(2026, 5, 20), "quarter", D("3100.00"))
    assert [(p["period_start"], p["period_end"], p["amount"], p["period"]) for p in s] == [
        (date(2026, 1, 1), date(2026, 3, 31), D("9300.00"), "2026-01~2026-03"),
        (date(2026, 4, 1), date(2026, 5, 20), D("5100.00"), "2026-04~2026-05"),  # April + 20/31 of May
    ]


def test_yearly():
    s = rent_schedule(date(2026, 3, 1), date(2028, 2, 29), "year", D("1000.00"))
    assert [(p["period_start"], p["period_end"], p["amount"], p["period"]) for p in s] == [
        (date(2026, 3, 1), date(2027, 2, 28), D("12000.00"), "2026-03~2027-02"),
        (date(2027, 3, 1), date(2028, 2, 29), D("12000.00"), "2027-03~2028-02"),
    ]


def test_yearly_with_partial_last_year():
    s = rent_schedule(date(2026, 1, 1), date(2027, 3, 15), "year", D("1000.00"))
    assert [p["amount"] for p in s] == [D("12000.00"), D("2483.87")]  # 2 months + 15/31 of a month
    assert s[1]["period_end"] == date(2027, 3, 15) and s[1]["due_date"] == date(2027, 1, 1)
    assert contract_total(date(2026, 1, 1), date(2027, 3, 15), D("1000.00")) == D("14483.87")


def test_start_on_31st_clamps_without_drift():
    s = rent_schedule(date(2026, 1, 31), date(2026, 4, 29), "month", D("3100.00"))
    assert [(p["period_start"], p["period_end"]) for p in s] == [
        (date(2026, 1, 31), date(2026, 2, 27)),
        (date(2026, 2, 28), date(2026, 3, 30)),
        (date(2026, 3, 31), date(2026, 4, 29)),
    ]
    assert [p["amount"] for p in s] == [D("3100.00")] * 3
    assert [p["period"] for p in s] == ["2026-01", "2026-02", "2026-03"]
    # A 12-month lease from Jan 31 is exactly 12 months' rent.
    year = rent_schedule(date(2026, 1, 31), date(2027, 1, 30), "month", D("3100.00"))
    assert len(year) == 12 and sum(p["amount"] for p in year) == D("37200.00")
    # Leap year: the first month runs to Feb 28 (Feb 29 starts the second).
    leap = rent_schedule(date(2028, 1, 31), date(2028, 3, 30), "month", D("1000.00"))
    assert [(p["period_start"], p["period_end"], p["amount"]) for p in leap] == [
        (date(2028, 1, 31), date(2028, 2, 28), D("1000.00")),
        (date(2028, 2, 29), date(2028, 3, 30), D("1000.00")),
    ]


def test_ending_mid_month_is_prorated_by_days():
    s = rent_schedule(date(2026, 1, 1), date(2026, 3, 15), "month", D("3000.00"))
    assert [p["amount"] for p in s] == [D("3000.00"), D("3000.00"), D("1451.61")]  # 15/31 × 3000 = 1451.6129
    assert s[-1]["period_start"] == date(2026, 3, 1) and s[-1]["period_end"] == date(2026, 3, 15)
    assert contract_total(date(2026, 1, 1), date(2026, 3, 15), D("3000.00")) == D("7451.61")


def test_partial_month_across_two_calendar_months():
    # Jan 15–Feb 14 whole; Feb 15–Mar 10 = 14/28 + 10/31 of 3100 = 1550 + 1000.
    s = rent_schedule(date(2026, 1, 15), date(2026, 3, 10), "month", D("3100.00"))
    assert [(p["period_start"], p["period_end"], p["amount"], p["period"]) for p in s] == [
        (date(2026, 1, 15), date(2026, 2, 14), D("3100.00"), "2026-01"),
        (date(2026, 2, 15), date(2026, 3, 10), D("2550.00"), "2026-02"),
    ]


def test_leap_february():
    assert rent_schedule(date(2028, 2, 1), date(2028, 2, 15), "month", D("2900.00"))[0]["amount"] == D("1500.00")
    assert rent_schedule(date(2026, 2, 1), date(2026, 2, 14), "month", D("2800.00"))[0]["amount"] == D("1400.00")
    whole = rent_schedule(date(2028, 2, 1), date(2028, 2, 29), "month", D("2900.00"))
    assert [(p["period_end"], p["amount"]) for p in whole] == [(date(2028, 2, 29), D("2900.00"))]


def test_rounding_is_half_up():
    # 1050.70 / 28 = 37.525 exactly: half-up gives 37.53 (banker's rounding would give 37.52).
    assert rent_schedule(date(2026, 2, 1), date(2026, 2, 1), "month", D("1050.70"))[0]["amount"] == D("37.53")


@pytest.mark.parametrize("start, end, cycle", [
    (date(2026, 1, 31), date(2027, 6, 17), "month"),
    (date(2026, 1, 31), date(2027, 6, 17), "quarter"),
    (date(2025, 11, 30), date(2028, 3, 1), "year"),
    (date(2026, 5, 19), date(2026, 5, 19), "quarter"),
    (date(2027, 12, 31), date(2028, 2, 28), "month"),
])
def test_periods_sum_to_contract_total(start, end, cycle):
    s = rent_schedule(start, end, cycle, D("2345.67"))
    assert sum(p["amount"] for p in s) == contract_total(start, end, D("2345.67"))
    assert s[0]["period_start"] == start and s[-1]["period_end"] == end
    for a, b in zip(s, s[1:]):
        assert (b["period_start"] - a["period_end"]).days == 1
    assert all(p["due_date"] == p["period_start"] for p in s)
    assert all(isinstance(p["amount"], Decimal) and p["amount"] == p["amount"].quantize(D("0.01")) for p in s)


def test_empty_and_bad_cycle():
    assert rent_schedule(date(2026, 2, 1), date(2026, 1, 31), "month", D("100")) == []
    with pytest.raises(ValueError):
        rent_schedule(date(2026, 1, 1), date(2026, 12, 31), "week", D("100"))


# ---------------------------------------------------------------- the form


def test_form_errors(ctx):
    ad, venue = asset("ad"), asset("venue")
    ok = {"asset": ad, "contract_no": "HT-1", "tenant_name": "王五", "tenant_company": None,
          "tenant_phone": "13800138000", "tenant_id_number": resident_id(), "start_date": date(2026, 1, 1),
          "end_date": date(2026, 12, 31), "rent": D("1000.00"), "billing_cycle": "month",
          "deposit": D("0.00"), "venue_fee": D("0.00")}
    assert lease_form_errors(ok) == {}
    assert lease_form_errors({**ok, "tenant_id_number": credit_code()}) == {}
    assert lease_form_errors({**ok, "tenant_id_number": ""}) == {}
    assert lease_form_errors({**ok, "tenant_id_number": None}) == {}
    assert lease_form_errors({**ok, "end_date": date(2026, 1, 1)}) == {}  # a one-day lease
    assert lease_form_errors({**ok, "end_date": date(2025, 12, 31)}) == {"end_date": "到期日期不能早于起租日期"}
    assert lease_form_errors({**ok, "tenant_id_number": "440305199003071235"}) == {
        "tenant_id_number": "请填写有效的身份证号码或统一社会信用代码"}
    assert lease_form_errors({**ok, "venue_fee": D("500.00")}) == {"venue_fee": "只有场地租赁收取场地管理费"}
    assert lease_form_errors({**ok, "asset": venue, "venue_fee": D("500.00")}) == {}
    assert lease_form_errors({**ok, "rent": D("0.00")}) == {"rent": "月租金必须大于0"}
    assert lease_form_errors({**ok, "rent": D("-5")}) == {"rent": "月租金必须大于0"}
    assert set(lease_form_errors({**ok, "rent": D("0"), "venue_fee": D("1"),
                                  "end_date": date(2025, 1, 1)})) == {"rent", "venue_fee", "end_date"}
    assert Lease.check({**ok, "rent": D("0")}) == {"rent": "月租金必须大于0"}


# ---------------------------------------------------------------- overlap


def test_overlap_refused_with_contract_number(ctx):
    a = asset()
    first = lease(a, date(2026, 1, 1), date(2026, 6, 30), contract_no="HT-2026-001")
    sign_lease(first, date(2025, 12, 20))
    second = lease(a, date(2026, 6, 30), date(2026, 12, 31))
    db.session.commit()
    assert overlapping(a.id, date(2026, 6, 30), date(2026, 12, 31)) == [first]
    assert overlapping(a.id, date(2026, 1, 1), date(2026, 6, 30), exclude_id=first.id) == []
    with pytest.raises(LeaseError) as err:
        sign_lease(second, date(2025, 12, 20))
    assert "该资源在此期间已出租" in str(err.value) and "HT-2026-001" in str(err.value)
    assert "2026-01-01" in str(err.value) and "2026-06-30" in str(err.value)
    db.session.rollback()
    assert db.session.get(Lease, second.id).status == "negotiating"
    assert rent_charges(second) == []


def test_adjacent_other_asset_and_negotiating_allowed(ctx):
    a, b = asset(), asset()
    first = lease(a, date(2026, 1, 1), date(2026, 6, 30))
    sign_lease(first, date(2025, 12, 20))
    nxt = lease(a, date(2026, 7, 1), date(2026, 12, 31))
    elsewhere = lease(b, date(2026, 1, 1), date(2026, 6, 30))
    talk = lease(b, date(2026, 7, 1), date(2026, 12, 31))  # still negotiating: holds nothing
    talk_overlap = lease(b, date(2026, 9, 1), date(2027, 8, 31))
    db.session.commit()
    assert sign_lease(nxt, date(2025, 12, 21))
    assert sign_lease(elsewhere, date(2025, 12, 21))
    assert sign_lease(talk_overlap, date(2025, 12, 21))
    db.session.commit()
    assert talk.status == "negotiating"
    assert {le.status for le in (first, nxt, elsewhere, talk_overlap)} == {"signed"}
    # Terminated and expired leases do not block either.
    for le in (nxt, talk_overlap):
        le.status = "terminated"
    first.status = "expired"
    db.session.commit()
    assert overlapping(a.id, date(2026, 1, 1), date(2026, 12, 31)) == []
    assert overlapping(b.id, date(2026, 1, 1), date(2027, 12, 31)) == [elsewhere]


# ---------------------------------------------------------------- signing


def test_sign_monthly_bills_each_month(ctx):
    a = asset()
    le = lease(a, date(2026, 1, 1), date(2026, 3, 15), rent="3000.00", tenant_company="深圳某某贸易有限公司")
    db.session.commit()
    created = sign_lease(le, date(2026, 1, 1))
    db.session.commit()
    assert len(created) == 3
    assert le.status == "active" and le.signed_date == date(2026, 1, 1)
    assert db.session.get(LeasableAsset, a.id).status == "leased"
    charges = rent_charges(le)
    assert [(c.period, c.period_start, c.period_end, c.due_date, c.amount) for c in charges] == [
        ("2026-01", date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 1), D("3000.00")),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), date(2026, 2, 1), D("3000.00")),
        ("2026-03", date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 1), D("1451.61")),
    ]
    assert {c.payer_name for c in charges} == {"深圳某某贸易有限公司"}
    assert {c.status for c in charges} == {"unpaid"}
    assert [c.bill_key for c in charges] == [f"rent:lease:{le.id}:2026-0{m}-01" for m in (1, 2, 3)]
    assert all(c.amount_paid == D("0.00") for c in charges)


def test_sign_quarterly_before_start_is_signed(ctx):
    a = asset("ad")
    le = lease(a, date(2026, 1, 1), date(2026, 12, 31), rent="2500.50", cycle="quarter")
    created = sign_lease(le, date(2025, 12, 1))
    db.session.commit()
    assert le.status == "signed"
    assert [(c.due_date, c.amount, c.payer_name) for c in created] == [
        (date(2026, m, 1), D("7501.50"), "王五") for m in (1, 4, 7, 10)]


def test_sign_venue_bills_the_venue_fee(ctx):
    v = asset("venue")
    le = lease(v, date(2026, 3, 1), date(2026, 8, 31), rent="8000.00", cycle="quarter", venue_fee="1200.00")
    created = sign_lease(le, date(2026, 2, 20))
    db.session.commit()
    fees = [c for c in created if c.kind == "venue_fee"]
    assert len(created) == 3 and len(fees) == 1
    assert (fees[0].amount, fees[0].due_date, fees[0].bill_key) == (D("1200.00"), date(2026, 2, 20),
                                                                     f"venue_fee:lease:{le.id}")
    assert [c.amount for c in rent_charges(le)] == [D("24000.00"), D("24000.00")]
    # A venue without a fee gets rent only.
    other = lease(asset("venue"), date(2026, 3, 1), date(2026, 3, 31))
    assert [c.kind for c in sign_lease(other, date(2026, 2, 20))] == ["rent"]


def test_sign_twice_refused_and_billing_idempotent(ctx):
    a = asset()
    le = lease(a, date(2026, 1, 1), date(2026, 6, 30))
    assert len(sign_lease(le, date(2026, 1, 1))) == 6
    db.session.commit()
    with pytest.raises(LeaseError, match="只有洽谈中的合同可以签约"):
        sign_lease(le, date(2026, 1, 2))
    # Even back in negotiation, existing bill keys are not billed again.
    le.status = "negotiating"
    assert sign_lease(le, date(2026, 1, 1)) == []
    db.session.commit()
    assert len(rent_charges(le)) == 6


def test_sign_refuses_disabled_asset_and_bad_data(ctx):
    le = lease(asset(status="disabled"))
    with pytest.raises(LeaseError, match="该资源已停用"):
        sign_lease(le, date(2026, 1, 1))
    bad = lease(asset(), rent="0.00")
    with pytest.raises(LeaseError, match="月租金必须大于0"):
        sign_lease(bad, date(2026, 1, 1))
    assert db.session.scalar(select(Charge.id).limit(1)) is None


def test_sign_is_audited(ctx, users):
    from schema.org import AppUser

    clerk = db.session.scalar(select(AppUser).where(AppUser.username == "leasing"))
    le = lease(asset(), date(2026, 1, 1), date(2026, 2, 28))
    db.session.commit()
    sign_lease(le, date(2026, 1, 1), user=clerk)
    db.session.commit()
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "签约")).all()
    assert {(r.table_name, r.operation) for r in rows} == {("lease", "修改"), ("leasable_asset", "修改"),
                                                           ("charge", "新增")}
    assert sum(r.table_name == "charge" for r in rows) == 2
    assert {r.username for r in rows} == {"leasing"}
    lease_row = next(r for r in rows if r.table_name == "lease")
    assert lease_row.record_id == le.id and '"active"' in lease_row.changes


# ---------------------------------------------------------------- termination


def test_terminate_voids_only_future_unpaid_rent(ctx):
    a = asset()
    le = lease(a, date(2026, 1, 1), date(2026, 12, 31))
    sign_lease(le, date(2026, 1, 1))
    db.session.commit()
    charges = {c.period: c for c in rent_charges(le)}
    charges["2026-02"].status, charges["2026-02"].amount_paid = "paid", D("3000.00")
    charges["2026-06"].status, charges["2026-06"].amount_paid = "partial", D("1000.00")
    db.session.commit()

    with pytest.raises(LeaseError, match="请填写终止原因"):
        terminate_lease(le, date(2026, 4, 15), "  ")
    voided = terminate_lease(le, date(2026, 4, 15), "承租人提前退租")
    db.session.commit()

    assert le.status == "terminated" and le.end_date == date(2026, 12, 31)
    assert sorted(c.period for c in voided) == ["2026-05", "2026-07", "2026-08", "2026-09", "2026-10",
                                                "2026-11", "2026-12"]
    status = {c.period: c.status for c in rent_charges(le)}
    assert status == {"2026-01": "unpaid", "2026-02": "paid", "2026-03": "unpaid", "2026-04": "unpaid",
                      "2026-05": "void", "2026-06": "partial", **{f"2026-{m:02d}": "void" for m in range(7, 13)}}
    assert {c.void_reason for c in rent_charges(le) if c.status == "void"} == {"合同终止:承租人提前退租"}
    assert db.session.get(LeasableAsset, a.id).status == "idle"
    assert db.session.scalars(select(AuditLog.note).where(AuditLog.action == "终止")).all()
    assert set(db.session.scalars(select(AuditLog.note).where(AuditLog.action == "终止"))) == {"承租人提前退租"}
    with pytest.raises(LeaseError):
        terminate_lease(le, date(2026, 5, 1), "再次终止")


def test_terminate_keeps_asset_leased_for_another_lease(ctx):
    a = asset()
    now_lease = lease(a, date(2026, 1, 1), date(2026, 6, 30))
    later = lease(a, date(2026, 7, 1), date(2026, 12, 31))
    sign_lease(now_lease, date(2026, 1, 1))
    sign_lease(later, date(2026, 1, 1))
    db.session.commit()
    terminate_lease(now_lease, date(2026, 3, 31), "改租")
    db.session.commit()
    assert db.session.get(LeasableAsset, a.id).status == "leased"
    with pytest.raises(LeaseError):
        terminate_lease(lease(a, contract_no="HT-TALK"), date(2026, 3, 31), "未签约")


# ---------------------------------------------------------------- dates


def test_ending_soon_boundaries(ctx):
    le = lease(asset(), date(2026, 1, 1), date(2026, 6, 30), status="active")
    assert ending_soon(le, date(2026, 5, 31))        # 30 days left
    assert not ending_soon(le, date(2026, 5, 30))    # 31 days left
    assert ending_soon(le, date(2026, 6, 30))        # last day
    assert not ending_soon(le, date(2026, 7, 1))     # already past
    assert ending_soon(le, date(2026, 5, 30), days=31)
    le.status = "signed"
    assert ending_soon(le, date(2026, 6, 1))
    for status in ("negotiating", "expired", "terminated"):
        le.status = status
        assert not ending_soon(le, date(2026, 6, 1))


def test_refresh_statuses(ctx):
    a, b = asset(status="leased"), asset(status="leased")
    starting = lease(a, date(2026, 3, 1), date(2026, 12, 31), status="signed")
    ended = lease(b, date(2025, 3, 1), date(2026, 2, 28), status="active")
    never_started = lease(asset(status="leased"), date(2025, 1, 1), date(2025, 12, 31), status="signed")
    future = lease(asset(status="leased"), date(2026, 4, 1), date(2026, 12, 31), status="signed")
    talk = lease(asset(), date(2025, 1, 1), date(2025, 6, 30), status="negotiating")
    db.session.commit()

    assert refresh_statuses(date(2026, 3, 1)) == 3
    db.session.commit()
    assert (starting.status, ended.status, never_started.status, future.status, talk.status) == (
        "active", "expired", "expired", "signed", "negotiating")
    assert db.session.get(LeasableAsset, b.id).status == "idle"
    assert never_started.asset.status == "idle"
    assert a.status == "leased" and future.asset.status == "leased"
    assert refresh_statuses(date(2026, 3, 1)) == 0
    # An expiring lease does not free an asset that another live lease holds.
    follow = lease(a, date(2027, 1, 1), date(2027, 12, 31), status="signed")
    db.session.commit()
    assert refresh_statuses(date(2027, 1, 1)) == 3  # starting expires, follow and future change
    db.session.commit()
    assert (starting.status, follow.status, future.status) == ("expired", "active", "expired")
    assert a.status == "leased" and future.asset.status == "idle"
