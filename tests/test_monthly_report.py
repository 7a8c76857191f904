"""The month-end report (月度统计报表) for November 2026 against a hand-computed fixture: every section's
numbers exactly, records just outside the month (October 31 23:59:59, December 1 00:00) excluded, a
constant number of SQL statements, and the page, the xlsx export and the printable page per role."""
from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from html import unescape

import openpyxl
import pytest
from sqlalchemy import event

from app import clock
from app.extensions import db
from app.monthly_report import (
    ReportError,
    build,
    month_bounds,
    parse_month,
    previous_month,
)
from schema.ledger import PaymentAllocation

from . import factories

YEAR, MONTH = 2026, 11
BEFORE = datetime(2026, 10, 31, 23, 59, 59)  # the last second of October: never counted
NEXT = datetime(2026, 12, 1, 0, 0)  # the first moment of December: never counted
D = Decimal
P = Decimal  # a percent with one place


def at(day, hour=10, minute=0, second=0):
    return datetime(YEAR, MONTH, day, hour, minute, second)


# -- the fixture -----------------------------------------------------------------------------
def make_fixture() -> None:
    """November 2026 in a two-building estate (1栋: units a1, a2; 2栋: unit b1), committed."""
    est = factories.estate(name="锦绣花园")
    bA = factories.building(estate=est, name="1栋")
    bB = factories.building(estate=est, name="2栋")
    a1 = factories.unit(building=bA, room_no="101")
    a2 = factories.unit(building=bA, room_no="102")
    b1 = factories.unit(building=bB, room_no="201")

    # -- visits: done, by visited_at --------------------------------------------------------
    # 上门: 满意 ×2 (one at Nov 1 00:00, the first moment counts), 不满意 ×1        -> 2, 0, 1, 0 = 3
    # 电话: 满意 ×1, 基本满意 ×2, no result ×1 (未填写)                               -> 1, 2, 0, 1 = 4
    # 合计 3, 2, 1, 1 = 7
    for method, result, when in (("visit", "satisfied", at(1, 0)), ("visit", "satisfied", at(15)),
                                 ("visit", "unsatisfied", at(16)), ("phone", "satisfied", at(3)),
                                 ("phone", "fair", at(4)), ("phone", "fair", at(30, 23, 59, 59)),
                                 ("phone", None, at(20))):
        factories.followup_visit(unit=a1, method=method, result=result, status="done", visited_at=when)
    # excluded: done but in October / December; planned; cancelled (even with a November time)
    factories.followup_visit(unit=a1, method="phone", result="satisfied", status="done", visited_at=BEFORE)
    factories.followup_visit(unit=a1, method="visit", result="satisfied", status="done", visited_at=NEXT)
    factories.followup_visit(unit=a1, planned_date=date(2026, 11, 20), status="planned")
    factories.followup_visit(unit=a1, method="phone", result="fair", status="cancelled", visited_at=at(10))

    # -- work orders: repairs completed in the month, and created in it (recurring) -----------
    wo = factories.work_order
    # safety: W1 on time, W2 late, W3 not yet followed up -> completed 3, followed 2, on time 1
    #         rates 2/3 = 66.7 %, 1/2 = 50.0 %
    wo(unit=a1, category="safety", created_at=at(2), completed_at=at(3), followup_due=at(5),
       followup_at=at(4), status="visited")
    wo(unit=b1, category="safety", created_at=at(9), completed_at=at(10), followup_due=at(12),
       followup_at=at(13), status="visited")
    wo(unit=a2, category="safety", created_at=datetime(2026, 10, 28, 9, 0), completed_at=at(29),
       followup_due=datetime(2026, 12, 1, 10, 0), status="done")
    # leak: W4 followed up exactly at its deadline (on time) -> 1, 1, 1, 100.0 %, 100.0 %
    wo(unit=a1, category="leak", created_at=at(19), completed_at=at(20), leak_test_at=at(21),
       followup_due=at(24), followup_at=at(24), status="visited")
    # other: none completed in November -> 0, 0, 0, no rates (—)
    wo(unit=a1, category="other", created_at=datetime(2026, 10, 30, 9, 0), completed_at=datetime(2026, 10, 31, 23, 0),
       followup_due=at(2, 23), followup_at=at(1), status="visited")  # completed in October
    wo(unit=b1, category="other", created_at=at(25), completed_at=NEXT, status="done")  # completed December 1
    # 合计: completed 4, followed 3, on time 2 -> 75.0 %, 66.7 %
    # recurring: leak at 1栋 created in November = W4 + these two = 3 (listed);
    #            safety at 2栋 = W2 + one more = 2 (not listed); leak at 1栋 in Oct / Dec not counted
    wo(unit=a2, category="leak", created_at=at(5))
    wo(unit=a1, category="leak", created_at=at(30, 23, 59, 59))
    wo(unit=b1, category="safety", created_at=at(12))
    wo(unit=a1, category="leak", created_at=NEXT)
    wo(unit=a1, category="leak", created_at=BEFORE)

    # -- calls, by `at`, by status --------------------------------------------------------------
    # answered ×3 (one turned into a complaint)               -> 3, 0 work orders, 1 complaint
    # pending ×2                                              -> 2, 0, 0
    # referred ×2, both with a work order, one with 2 complaints -> 2, 2, 1 (a call counts once)
    # closed ×1 with a work order                            -> 1, 1, 0
    # 合计 8, 3, 2
    order = wo(unit=a1, category="other", created_at=at(6))  # other at 1栋: 2 in November, not listed
    call = factories.call_log
    answered = [call(at=at(d), status="answered", answered=True, callback=None) for d in (1, 2, 3)]
    for d in (4, 5):
        call(at=at(d), status="pending")
    referred = [call(at=at(6), status="referred", work_order=order),
                call(at=at(7), status="referred", work_order=wo(unit=b1, category="other", created_at=at(7)))]
    call(at=at(8), status="closed", work_order=order)
    call(at=BEFORE, status="answered", answered=True, callback=None)
    call(at=NEXT, status="pending", work_order=order)

    # -- complaints, by received_at -------------------------------------------------------------
    # valid: 保洁 ×3 (2栋, recurring), 车辆管理 ×1, no category ×1 (有效投诉 / 未分类)
    # communication: 咨询型 ×2 (from the referred call); no kind ×1 (未定性 / 未分类)
    # 合计 8: 保洁 3 = 37.5 %, 车辆管理 1 = 12.5 %, 咨询型 2 = 25.0 %, 有效投诉/未分类 12.5 %, 未定性 12.5 %
    comp = factories.complaint
    for when in (at(2), at(10), at(30, 23, 59, 59)):
        comp(unit=b1, kind="valid", category="cleaning", received_at=when)
    comp(unit=a1, kind="valid", category="vehicle", received_at=at(3), call_log=answered[0])
    comp(unit=a2, kind="valid", category=None, received_at=at(11))
    comp(unit=a1, kind="communication", category="inquiry", received_at=at(6), call_log=referred[0])
    comp(unit=None, kind="communication", category="inquiry", received_at=at(6), call_log=referred[0])
    comp(unit=a2, kind=None, category=None, received_at=at(12))
    comp(unit=b1, kind="valid", category="cleaning", received_at=BEFORE)  # October
    comp(unit=b1, kind="valid", category="cleaning", received_at=NEXT)  # December

    # -- slips, by checked_at, by department ----------------------------------------------------
    # 保洁部: 不合格单 ×2 (open, recheck_passed), 内部协调单 ×1 (rectified) -> 2, 1, 3, still open 1
    # 工程维修部: 不合格单 ×1 (recheck_failed)                            -> 1, 0, 1, still open 1
    # 秩序维护部: a passed check only (no slip) -> absent;  合计 3, 1, 4, 2
    clean = factories.department(name="保洁部")
    works = factories.department(name="工程维修部")
    guard = factories.department(name="秩序维护部")
    slip = factories.dept_check
    slip(department=clean, checked_at=at(3), status="open", deadline=at(5))
    slip(department=clean, checked_at=at(9), status="recheck_passed", deadline=at(11))
    slip(department=clean, checked_at=at(12), slip_kind="coordination", number="XT20261112-0001",
         status="rectified", deadline=at(14))
    slip(department=works, checked_at=at(20), status="recheck_failed", deadline=at(22))
    slip(department=guard, checked_at=at(21), passed=True, slip_kind=None, number=None, deadline=None,
         status="passed", findings=None)
    slip(department=clean, checked_at=BEFORE, status="open", deadline=at(2))
    slip(department=works, checked_at=NEXT, status="open", deadline=datetime(2026, 12, 3))

    # -- the ledger ---------------------------------------------------------------------------
    # amount_paid holds today's figures on purpose: the report must not read it.
    def charge(unit=None, lease=None, kind="mgmt_fee", amount="0", due=None, paid="0", status="unpaid"):
        kw = {"unit": unit} if unit is not None else {"lease": lease}
        return factories.charge(kind=kind, amount=D(amount), amount_paid=D(paid), due_date=due, status=status,
                                period=due.strftime("%Y-%m"), **kw)

    def pay(amount, when, status="valid", unit=None, lease=None, to=()):
        kw = {"unit": unit} if unit is not None else {"lease": lease}
        p = factories.payment(amount=D(amount), paid_at=when, status=status, **kw)
        for c, part in to:
            db.session.add(PaymentAllocation(payment=p, charge=c, amount=D(part)))
        return p

    # fees (物业管理费 due in November, non-void), collected = allocations of valid payments paid by Nov 30 24:00
    # C1 1栋 200.00 due 11-15: 100 paid 11-10 counts, 100 paid 12-02 does not -> 100.00
    # C2 1栋 300.00 due 11-30: prepaid 10-20 -> 300.00
    # C3 1栋 100.00 due 11-01, void -> excluded
    # C4 2栋 400.00 due 11-20: a void payment of 400 (ignored) and a valid 150 -> 150.00
    # C5 due 12-01 and C6 due 10-31: not due in November
    # 1栋: 2 charges, 500.00 due, 400.00 collected, 100.00 unpaid, 80.0 %
    # 2栋: 1 charge, 400.00, 150.00, 250.00, 37.5 %;  合计 3, 900.00, 550.00, 350.00, 550/900 = 61.1 %
    c1 = charge(a1, amount="200.00", due=date(2026, 11, 15), paid="200.00", status="paid")
    c2 = charge(a2, amount="300.00", due=date(2026, 11, 30), paid="300.00", status="paid")
    c3 = charge(a2, amount="100.00", due=date(2026, 11, 1), status="void")
    c4 = charge(b1, amount="400.00", due=date(2026, 11, 20), paid="150.00", status="partial")
    charge(a1, amount="200.00", due=date(2026, 12, 1))
    c6 = charge(a1, amount="200.00", due=date(2026, 10, 31), paid="50.00", status="partial")
    c7 = charge(b1, amount="300.00", due=date(2026, 9, 30), paid="300.00", status="paid")
    charge(a2, amount="120.00", due=date(2026, 10, 10), status="void")
    pay("100.00", at(10), unit=a1, to=[(c1, "100.00")])
    pay("100.00", datetime(2026, 12, 2, 9, 0), unit=a1, to=[(c1, "100.00")])
    pay("300.00", datetime(2026, 10, 20, 9, 0), unit=a2, to=[(c2, "300.00")])
    pay("100.00", at(1, 9), unit=a2, status="void", to=[(c3, "100.00")])
    pay("400.00", at(21), unit=b1, status="void", to=[(c4, "400.00")])
    pay("150.00", at(25), unit=b1, to=[(c4, "150.00")])
    pay("50.00", at(5), unit=a1, to=[(c6, "50.00")])
    pay("300.00", datetime(2026, 10, 15, 9, 0), unit=b1, to=[(c7, "300.00")])
    # rent on a lease: R1 500.00 due 10-25 (200 paid 10-28, 300 paid 11-28); R2 500.00 due 11-10 unpaid
    le = factories.lease()
    r1 = charge(lease=le, kind="rent", amount="500.00", due=date(2026, 10, 25), paid="500.00", status="paid")
    charge(lease=le, kind="rent", amount="500.00", due=date(2026, 11, 10))
    pay("200.00", datetime(2026, 10, 28, 9, 0), lease=le, to=[(r1, "200.00")])
    pay("300.00", at(28), lease=le, to=[(r1, "300.00")])
    # arrears (overdue balance; void charges and void payments count nowhere):
    #   at 11-01 00:00 — 物业管理费: C6 200 (its 50 came 11-05) + C7 0 (paid 10-15) = 200.00
    #                    租金: R1 500 - 200 = 300.00                                      total 500.00
    #   at 12-01 00:00 — 物业管理费: C6 150 + C7 0 + C1 100 + C2 0 + C4 250 = 500.00
    #                    租金: R1 0 + R2 500 = 500.00                                     total 1000.00
    #   change: 物业管理费 +300.00, 租金 +200.00, 合计 +500.00
    db.session.commit()


EXPECTED = {
    "visits": {
        "headers": ["回访方式", "满意", "基本满意", "不满意", "未填写", "合计"],
        "rows": [["上门", 2, 0, 1, 0, 3], ["电话", 1, 2, 0, 1, 4]],
        "total": ["合计", 3, 2, 1, 1, 7],
    },
    "repairs": {
        "headers": ["维修类别", "完工工单", "已回访", "按时回访", "回访处理率(%)", "按时回访率(%)"],
        "rows": [["安全设施", 3, 2, 1, P("66.7"), P("50.0")], ["渗漏水", 1, 1, 1, P("100.0"), P("100.0")],
                 ["其他", 0, 0, 0, None, None]],
        "total": ["合计", 4, 3, 2, P("75.0"), P("66.7")],
    },
    "complaints": {
        "headers": ["性质", "类别", "件数", "占比(%)"],
        "rows": [["有效投诉", "保洁", 3, P("37.5")], ["有效投诉", "车辆管理", 1, P("12.5")],
                 ["有效投诉", "乱收费", 0, P("0.0")], ["有效投诉", "设备维修保养失职", 0, P("0.0")],
                 ["有效投诉", "违规", 0, P("0.0")], ["沟通性投诉", "求助型", 0, P("0.0")],
                 ["沟通性投诉", "咨询型", 2, P("25.0")], ["沟通性投诉", "发泄型", 0, P("0.0")],
                 ["有效投诉", "未分类", 1, P("12.5")], ["未定性", "未分类", 1, P("12.5")]],
        "total": ["合计", "", 8, P("100.0")],
    },
    "calls": {
        "headers": ["处理结果", "来电数", "其中转维修工单", "其中转投诉"],
        "rows": [["已当场答复", 3, 0, 1], ["待回复", 2, 0, 0], ["已转办", 2, 2, 1], ["已回访", 1, 1, 0]],
        "total": ["合计", 8, 3, 2],
    },
    "slips": {
        "headers": ["部门", "不合格单", "内部协调单", "合计", "目前未关闭"],
        "rows": [["保洁部", 2, 1, 3, 1], ["工程维修部", 1, 0, 1, 1]],
        "total": ["合计", 3, 1, 4, 2],
    },
    "fees": {
        "headers": ["楼栋", "应收笔数", "应收金额", "月末前实收", "未收金额", "收缴率(%)"],
        "rows": [["1栋", 2, D("500.00"), D("400.00"), D("100.00"), P("80.0")],
                 ["2栋", 1, D("400.00"), D("150.00"), D("250.00"), P("37.5")]],
        "total": ["合计", 3, D("900.00"), D("550.00"), D("350.00"), P("61.1")],
    },
    "arrears": {
        "headers": ["费用类别", "月初逾期欠费", "月末逾期欠费", "增减"],
        "rows": [["物业管理费", D("200.00"), D("500.00"), D("300.00")], ["租金", D("300.00"), D("500.00"), D("200.00")]],
        "total": ["合计", D("500.00"), D("1000.00"), D("500.00")],
    },
    "recurring": {
        "headers": ["来源", "楼栋", "类别", "次数"],
        "rows": [["维修工单", "1栋", "渗漏水", 3], ["投诉", "2栋", "保洁", 3]],
        "total": None,
    },
}
TITLES = ["回访情况", "维修回访", "投诉情况", "来电情况", "不合格单与内部协调单", "物业费收缴率", "欠费变化", "重复发生的问题"]


@pytest.fixture
def report_data(app):
    with app.app_context():
        make_fixture()
        db.session.remove()


# -- the month -------------------------------------------------------------------------------
def test_parse_month():
    assert parse_month("2026-11") == (2026, 11)
    assert parse_month(" 2026-1 ") == (2026, 1)
    assert month_bounds(2026, 12) == (date(2026, 12, 1), date(2027, 1, 1))
    assert previous_month(date(2027, 1, 15)) == (2026, 12)
    assert previous_month(date(2026, 12, 1)) == (2026, 11)


@pytest.mark.parametrize("text, message", [
    ("", "请选择月份"), (None, "请选择月份"), ("2026/11", "月份格式不正确"), ("abc", "月份格式不正确"),
    ("2026-11-01", "月份格式不正确"), ("2026-13", "月份应在 1 到 12 之间"), ("2026-00", "月份应在 1 到 12 之间"),
    ("1999-05", "年份应在"), ("２０２６-11", "月份格式不正确"),
])
def test_parse_month_refuses_in_chinese(text, message):
    with pytest.raises(ReportError) as err:
        parse_month(text)
    assert message in str(err.value)


# -- the numbers -----------------------------------------------------------------------------
def test_every_section_matches_the_hand_computation(ctx):
    make_fixture()
    sections = build(YEAR, MONTH)
    assert [s["key"] for s in sections] == list(EXPECTED)
    assert [s["title"] for s in sections] == TITLES
    for s in sections:
        want = EXPECTED[s["key"]]
        assert s["headers"] == want["headers"], s["key"]
        assert s["rows"] == want["rows"], s["key"]
        assert s["total"] == want["total"], s["key"]
        assert len(s["kinds"]) == len(s["headers"])
        assert all(len(r) == len(s["headers"]) for r in s["rows"])


def test_charts_follow_the_tables(ctx):
    make_fixture()
    charts = {s["key"]: s["chart"] for s in build(YEAR, MONTH)}
    assert charts["visits"]["labels"] == ["上门", "电话"] and charts["visits"]["stacked"]
    assert charts["visits"]["series"][0] == {"label": "满意", "data": [2, 1]}
    assert charts["repairs"]["series"][0]["data"] == [66.7, 100.0, None, 75.0]
    assert charts["calls"]["type"] == "doughnut" and charts["calls"]["series"][0]["data"] == [3, 2, 2, 1]
    assert charts["fees"]["series"][0]["data"] == [80.0, 37.5, 61.1]
    assert charts["arrears"]["series"][1]["data"] == [500.0, 500.0, 1000.0]
    assert charts["recurring"]["labels"] == ["1栋 渗漏水", "2栋 保洁"]


def test_neighbouring_months_see_their_own_records(ctx):
    make_fixture()
    october = {s["key"]: s for s in build(2026, 10)}
    # October: one done visit (phone, satisfied), one repair completed and followed up on time
    assert october["visits"]["total"] == ["合计", 1, 0, 0, 0, 1]
    assert october["repairs"]["total"] == ["合计", 1, 1, 1, P("100.0"), P("100.0")]
    assert october["complaints"]["total"][2] == 1 and october["calls"]["total"][1] == 1
    # arrears at 10-01: C7 300 (paid 10-15); at 11-01: C6 200 + R1 300 (as November's start)
    assert october["arrears"]["total"] == ["合计", D("300.00"), D("500.00"), D("200.00")]
    december = {s["key"]: s for s in build(2026, 12)}
    assert december["visits"]["total"][-1] == 1 and december["complaints"]["total"][2] == 1
    # December starts where November ended
    assert december["arrears"]["total"][1] == D("1000.00")


def test_an_empty_month_has_empty_tables_not_errors(ctx):
    sections = build(2030, 2)
    by_key = {s["key"]: s for s in sections}
    assert by_key["visits"]["total"] == ["合计", 0, 0, 0, 0, 0]
    assert by_key["repairs"]["total"] == ["合计", 0, 0, 0, None, None]
    assert by_key["fees"]["rows"] == [] and by_key["fees"]["total"][-1] is None
    assert by_key["slips"]["rows"] == [] and by_key["recurring"]["rows"] == []
    assert by_key["arrears"]["total"] == ["合计", D("0.00"), D("0.00"), D("0.00")]


def _statements(fn):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len(seen)


def test_constant_number_of_statements(ctx):
    make_fixture()
    small = _statements(lambda: build(YEAR, MONTH))
    make_fixture_more()
    assert _statements(lambda: build(YEAR, MONTH)) == small
    assert small <= 12


def make_fixture_more():
    """More of everything in November, in new buildings."""
    for _ in range(5):
        u = factories.unit()
        factories.followup_visit(unit=u, status="done", visited_at=at(9), result="satisfied")
        for _ in range(3):
            factories.work_order(unit=u, category="leak", created_at=at(9))
            factories.complaint(unit=u, kind="valid", category="vehicle", received_at=at(9))
        factories.dept_check(checked_at=at(9))
        factories.call_log(at=at(9))
        factories.charge(unit=u, due_date=date(2026, 11, 15))
    db.session.commit()


# -- the pages -------------------------------------------------------------------------------
URL = "/admin/monthly_report/"


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def section_html(html: str, key: str) -> str:
    return html.split(f'id="section-{key}"', 1)[1].split("</section>", 1)[0]


def test_supervisor_sees_the_report_with_its_numbers(login, report_data):
    resp = login("supervisor").get(f"{URL}?month=2026-11")
    assert resp.status_code == 200
    html = text_of(resp)
    assert 'value="2026-11"' in html
    for title in TITLES:
        assert title in html
    fees = section_html(html, "fees")
    assert "900.00" in fees and "550.00" in fees and "61.1" in fees and "37.5" in fees
    arrears = section_html(html, "arrears")
    assert "1,000.00" in arrears and "300.00" in arrears
    repairs = section_html(html, "repairs")
    assert "66.7" in repairs and "75.0" in repairs and "—" in repairs
    recurring = section_html(html, "recurring")
    assert "1栋" in recurring and "渗漏水" in recurring and "2栋" in recurring and "保洁" in recurring
    assert re.search(r"<td[^>]*>保洁部</td>\s*<td[^>]*>2</td>\s*<td[^>]*>1</td>\s*<td[^>]*>3</td>", section_html(html, "slips"))
    # the charts: Chart.js from our static folder, one canvas per section with data
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert html.count('<canvas id="chart-') == len(TITLES)
    assert f'href="{URL}export/?month=2026-11"' in html and f'href="{URL}print/?month=2026-11"' in html


@pytest.mark.parametrize("role", ["admin", "manager", "supervisor"])
def test_readers_open_it_and_see_it_in_the_menu(login, role):
    b = login(role)
    assert b.get(URL).status_code == 200
    assert f'href="{URL}"' in b.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["frontdesk", "leasing", "maintenance"])
def test_other_roles_are_refused(login, role):
    b = login(role)
    for path in ("", "export/?month=2026-11", "print/?month=2026-11"):
        assert b.get(URL + path).status_code == 403, path
    assert f'href="{URL}"' not in b.get("/admin/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(browser):
    for path in ("", "export/", "print/"):
        resp = browser.get(URL + path)
        assert resp.status_code == 302 and "/login" in resp.location


def test_default_month_is_last_month(login):
    y, m = previous_month(clock.today())
    html = text_of(login("supervisor").get(URL))
    assert f'value="{y:04d}-{m:02d}"' in html


def _cell(v):
    return None if v is None or v == "" else v


def test_xlsx_has_one_sheet_per_section_with_the_same_numbers(login, report_data):
    resp = login("manager").get(f"{URL}export/?month=2026-11")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = resp.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E6%9C%88%E5%BA%A6%E7%BB%9F%E8%AE%A1_2026-11.xlsx" in disposition
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == TITLES
    for ws, (key, want) in zip(book.worksheets, EXPECTED.items()):
        rows = list(ws.iter_rows(values_only=True))
        assert "2026-11" in rows[0][0]
        assert list(rows[1]) == want["headers"], key
        body = want["rows"] + ([want["total"]] if want["total"] else [])
        got = [list(r) for r in rows[2:2 + len(body)]]
        expected = [[float(v) if isinstance(v, Decimal) else _cell(v) for v in r] for r in body]
        assert got == expected, key


def test_print_page_is_clean_and_has_the_numbers(login, report_data):
    resp = login("supervisor").get(f"{URL}print/?month=2026-11")
    assert resp.status_code == 200
    html = text_of(resp)
    assert "navbar" not in html and "退出登录" not in html
    assert "/static/print.css" in html and "data-print" in html and "/static/propdesk_csp.js" in html
    assert "月度统计报表" in html and 'id="report-month">2026-11<' in html
    for title in TITLES:
        assert title in html
    assert "61.1" in html and "1,000.00" in html and "渗漏水" in html


@pytest.mark.parametrize("month, message", [("2026-13", "月份应在 1 到 12 之间"), ("abc", "月份格式不正确"),
                                            ("2026-11'<script>", "月份格式不正确"), ("1800-01", "年份应在")])
def test_bad_month_is_a_chinese_message_never_500(login, month, message):
    b = login("supervisor")
    for path in ("", "export/", "print/"):
        resp = b.get(URL + path, query_string={"month": month})
        assert resp.status_code == 400, (path, resp.status_code)
        assert resp.mimetype == "text/html"
        html = resp.get_data(as_text=True)
        assert message in unescape(html), path
        if path != "print/":
            y, m = previous_month(clock.today())
            assert f'value="{y:04d}-{m:02d}"' in html  # the picker offers last month again
        assert "11'<script>" not in html  # the picker shows the text escaped


def test_english_page_and_export_still_work(login, report_data):
    b = login("supervisor")
    b.get("/lang/en")
    assert b.get(f"{URL}?month=2026-11").status_code == 200
    resp = b.get(f"{URL}export/?month=2026-11")
    assert resp.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert len(book.sheetnames) == len(TITLES) == len(set(book.sheetnames))
    assert all(len(name) <= 31 for name in book.sheetnames)
    assert b.get(f"{URL}print/?month=2026-11").status_code == 200


def test_sheet_names_are_valid_and_unique():
    from admin_views.reports import _sheet_names

    names = _sheet_names([{"title": "a/b:c*d?[e]"}, {"title": "x" * 40}, {"title": "x" * 40}, {"title": ""}])
    assert names == ["a_b_c_d__e_", "x" * 31, "x" * 28 + "(2)", "Sheet4"]
