"""The admin home as a dashboard: today's work per role, the key rates and the small charts.

The functions of app/dashboard.py against a small fixed data set (exact counts), then the page through
the test client: each role sees its tiles only, each tile opens a list it may read showing the same
count, the charts draw with the Chart.js served from our own static files, and an empty database
renders too.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest

from app import clock, dashboard
from app.extensions import db
from schema.spec import ROLES

from . import factories

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 15, 0)

EVERY_TILE = ("followups", "work_orders_pending", "work_orders_in_repair", "complaints_open", "visitors_in",
              "release_today", "boards_due", "visits_overdue", "custody_alerts", "slips_overdue", "leases_ending",
              "arrears_unit", "arrears_lease")
ROLE_TILES = {
    "admin": EVERY_TILE,
    "supervisor": EVERY_TILE,
    "manager": ("followups", "work_orders_in_repair", "complaints_open", "visits_overdue", "custody_alerts",
                "slips_overdue", "leases_ending", "arrears_unit", "arrears_lease"),
    "frontdesk": ("followups", "work_orders_pending", "complaints_open", "visitors_in", "release_today", "boards_due",
                  "visits_overdue", "custody_alerts"),
    "leasing": ("leases_ending", "arrears_unit", "arrears_lease"),
    "maintenance": ("work_orders_in_repair", "custody_alerts", "slips_overdue"),
}
ROLE_RATES = {"admin": ("followup_rate", "collection_rate"), "supervisor": ("followup_rate", "collection_rate"),
              "manager": ("followup_rate", "collection_rate"), "frontdesk": ("followup_rate",),
              "leasing": ("collection_rate",), "maintenance": ("followup_rate",)}
EVERY_CHART = ("work_orders_per_day", "complaints_by_category", "arrears_aging")
ROLE_CHARTS = {"admin": EVERY_CHART, "supervisor": EVERY_CHART, "manager": EVERY_CHART,
               "frontdesk": ("work_orders_per_day", "complaints_by_category"), "leasing": ("arrears_aging",),
               "maintenance": ("work_orders_per_day",)}
CHART_JS = "/static/vendor/chartjs/chart.umd.min.js"


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute)


def build_data(today: date = TODAY, now: datetime = NOW) -> None:
    """One small office day around 2026-11-27 15:00 (see each block for what counts)."""
    f = factories
    # work orders: 2 awaiting follow-up (1 overdue), 1 pending, 2 in repair (1 waiting to be accepted),
    # 1 followed up this month on time, 1 closed, 1 completed last month
    f.work_order(status="done", created_at=at(20), completed_at=at(24), followup_due=now - timedelta(hours=1))
    f.work_order(status="done", created_at=at(25), completed_at=at(26), followup_due=now + timedelta(days=1))
    f.work_order(status="pending", created_at=at(27, 8))
    f.work_order(status="dispatched", created_at=at(14, 0, 0))
    f.work_order(status="in_progress", created_at=at(13, 23, 59))  # the day before the chart's first day
    f.work_order(status="visited", created_at=at(9), completed_at=at(10), followup_due=at(12),
                 followup_at=at(11), satisfied=True)
    f.work_order(status="closed", created_at=at(27, 10), close_reason="重复报修")
    f.work_order(status="visited", created_at=at(28, month=10), completed_at=at(30, month=10),
                 followup_due=at(1), followup_at=at(1))
    # complaints: 3 open (1 handled on site awaiting the visit); this month 保洁 2, 咨询型 1, 未定性 1
    f.complaint(status="registered", received_at=at(20))
    f.complaint(status="classified", kind="valid", category="cleaning", received_at=at(5))
    f.complaint(status="on_site", kind="valid", category="cleaning", received_at=at(21), onsite_at=at(22))
    f.complaint(status="visited", kind="communication", category="inquiry", received_at=at(2))
    f.complaint(status="visited", kind="valid", category="vehicle", received_at=at(30, month=10))
    # visitors: 2 in the building
    f.visitor(time_in=at(27, 14), name="赵六")
    f.visitor(time_in=at(27, 14, 30), name="钱七")
    f.visitor(time_in=at(27, 10), name="孙八", time_out=at(27, 11))
    # release slips: 2 registered today, 2 issued today (one of them registered yesterday)
    f.release_slip(created_at=at(27, 10))
    f.release_slip(created_at=at(27, 11), status="issued", issued_at=at(27, 11, 30))
    f.release_slip(created_at=at(26, 16), status="issued", issued_at=at(27, 9))
    f.release_slip(created_at=at(26, 17))
    # bulletin posts: 2 due (up 14 days or more, not taken down)
    f.bulletin_post(posted_on=date(2026, 11, 13))
    f.bulletin_post(posted_on=date(2026, 11, 14))
    f.bulletin_post(posted_on=date(2026, 11, 1), removed_on=date(2026, 11, 15))
    f.bulletin_post(posted_on=date(2026, 10, 1))
    # follow-up visit plans: 1 overdue
    f.followup_visit(planned_date=date(2026, 11, 25))
    f.followup_visit(planned_date=today)
    f.followup_visit(planned_date=date(2026, 11, 20), status="done", visited_at=at(20))
    # custodies: 2 alerting (never patrolled since 1 Sep; water over the limit), 1 fine
    f.custody_patrol(at=at(24))
    f.custody()
    f.custody_patrol(at=at(25), water_reading=Decimal("130.00"))
    # department checks: 2 slips past their deadline
    f.dept_check(status="open", deadline=at(26, 18))
    f.dept_check(status="recheck_failed", deadline=at(27, 10))
    f.dept_check(status="open", deadline=at(28, 18))
    f.dept_check(status="rectified", deadline=at(20, 18))
    f.dept_check(status="passed", passed=True, slip_kind=None, number=None, deadline=None, findings=None)
    # leases: 3 signed/active ending within 30 days (today, +23, +30)
    rented = f.lease(status="active", end_date=date(2026, 12, 20))
    f.lease(status="signed", end_date=today)
    f.lease(status="active", end_date=date(2026, 12, 27))
    f.lease(status="active", end_date=date(2026, 12, 28))
    f.lease(status="negotiating", end_date=date(2026, 12, 1))
    f.lease(status="expired", end_date=date(2026, 11, 26))
    # charges: 1 unit overdue 223.75 (27 days), 1 lease overdue 800.00 (58 days);
    # this month's management fees: billed 300.00, paid 150.00 (the void one not counted)
    f.charge(due_date=date(2026, 10, 31), amount=Decimal("223.75"), period="2026-10")
    f.charge(due_date=date(2026, 11, 30), amount=Decimal("200.00"), amount_paid=Decimal("50.00"), status="partial")
    f.charge(due_date=date(2026, 11, 10), amount=Decimal("100.00"), amount_paid=Decimal("100.00"), status="paid")
    f.charge(due_date=date(2026, 11, 15), amount=Decimal("300.00"), status="void", void_reason="重复计费")
    f.charge(kind="rent", lease=rented, payer_name="刘强", due_date=date(2026, 9, 30), amount=Decimal("800.00"),
             period="2026-09")
    db.session.commit()


@pytest.fixture
def data(ctx):
    build_data()


def by_key(items) -> dict:
    return {item["key"]: item for item in items}


# -- the functions ---------------------------------------------------------------------------
def test_tiles_count_exactly(data):
    tiles = by_key(dashboard.tiles({"admin"}, TODAY, NOW))
    assert list(tiles) == list(EVERY_TILE)
    counts = {k: t["count"] for k, t in tiles.items()}
    assert counts == {"followups": 2, "work_orders_pending": 1, "work_orders_in_repair": 2, "complaints_open": 3,
                      "visitors_in": 2, "release_today": 2, "boards_due": 2, "visits_overdue": 1,
                      "custody_alerts": 2, "slips_overdue": 2, "leases_ending": 3, "arrears_unit": 1,
                      "arrears_lease": 1}
    levels = {k: t["level"] for k, t in tiles.items()}
    assert levels == {"followups": "danger", "work_orders_pending": "warn", "work_orders_in_repair": "warn",
                      "complaints_open": "warn", "visitors_in": "ok", "release_today": "ok", "boards_due": "warn",
                      "visits_overdue": "danger", "custody_alerts": "danger", "slips_overdue": "danger",
                      "leases_ending": "warn", "arrears_unit": "danger", "arrears_lease": "danger"}
    assert tiles["followups"]["label"] == "维修待回访" and tiles["followups"]["detail"] == "其中逾期 1 张"
    assert tiles["work_orders_in_repair"]["detail"] == "待签领 1 张"
    assert tiles["complaints_open"]["detail"] == "待回访 1 条"
    assert tiles["release_today"]["detail"] == "今日开具 2 张"
    assert tiles["arrears_unit"]["detail"] == "逾期 223.75 元"
    assert tiles["arrears_lease"]["detail"] == "逾期 800.00 元"
    assert tiles["visitors_in"]["link"] == {"endpoint": "visitor.index_view", "filters": [("time_out", "empty", "1")],
                                           "args": {}}
    assert tiles["followups"]["link"]["endpoint"] == "work_order.followups"


def test_overdue_follow_up_turns_due_when_the_clock_is_earlier(data):
    earlier = NOW - timedelta(hours=2)  # before the first order's deadline
    tile = by_key(dashboard.tiles({"frontdesk"}, TODAY, earlier))["followups"]
    assert (tile["count"], tile["level"], tile["detail"]) == (2, "warn", None)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_its_own_tiles_rates_and_charts(ctx, role):
    assert [t["key"] for t in dashboard.tiles({role}, TODAY, NOW)] == list(ROLE_TILES[role])
    assert [r["key"] for r in dashboard.rates(TODAY, {role})] == list(ROLE_RATES[role])
    assert [c["key"] for c in dashboard.charts(TODAY, {role})] == list(ROLE_CHARTS[role])


def test_tiles_on_an_empty_database_are_all_zero(ctx):
    tiles = dashboard.tiles({"admin"}, TODAY, NOW)
    assert [t["count"] for t in tiles] == [0] * len(EVERY_TILE)
    assert {t["level"] for t in tiles} == {"ok"} and not any(t["detail"] for t in tiles)
    rates = by_key(dashboard.rates(TODAY))
    assert rates["followup_rate"]["value"] is None and rates["collection_rate"]["value"] is None
    for chart in dashboard.charts(TODAY):
        assert chart["empty"], chart["key"]


def test_rates_this_month(data):
    rates = by_key(dashboard.rates(TODAY))
    follow = rates["followup_rate"]
    assert (follow["completed"], follow["followed_up"], follow["on_time"]) == (3, 1, 1)
    assert follow["value"] == Decimal("33.3") and follow["on_time_rate"] == Decimal("100.0")
    assert follow["level"] == "warn"
    assert follow["detail"] == "本月完工 3 张,已回访 1 张;按时回访率 100.0%"
    money = rates["collection_rate"]
    assert (money["billed"], money["paid"], money["value"]) == (Decimal("300.00"), Decimal("150.00"), Decimal("50.0"))
    assert money["detail"] == "本月应收 300.00 元,已收 150.00 元"
    assert dashboard.percent(1, 3) == Decimal("33.3") and dashboard.percent(2, 3) == Decimal("66.7")
    assert dashboard.percent(5, 0) is None


def test_work_orders_per_day_over_the_last_14_days(data):
    chart = dashboard.work_orders_per_day(TODAY)
    assert chart["dates"][0] == "2026-11-14" and chart["dates"][-1] == "2026-11-27" and len(chart["labels"]) == 14
    per_day = dict(zip(chart["dates"], chart["datasets"][0]["data"]))
    assert per_day["2026-11-14"] == 1  # at midnight: in; 13 Nov 23:59 is out
    assert per_day["2026-11-20"] == 1 and per_day["2026-11-25"] == 1 and per_day["2026-11-27"] == 2
    assert sum(per_day.values()) == 5 and not chart["empty"]


def test_complaints_by_category_this_month(data):
    chart = dashboard.complaints_by_category(TODAY)
    assert chart["labels"] == ["保洁", "咨询型", "未定性"]
    assert chart["datasets"][0]["data"] == [2, 1, 1]


def test_arrears_aging_buckets(data):
    chart = dashboard.arrears_aging(TODAY)
    assert chart["labels"][:3] == ["未到期", "1–30天", "31–60天"] and len(chart["labels"]) == 6
    fees, rent = chart["datasets"]
    assert fees["data"] == [150.0, 223.75, 0.0, 0.0, 0.0, 0.0]
    assert rent["data"] == [0.0, 0.0, 800.0, 0.0, 0.0, 0.0]


# -- the page --------------------------------------------------------------------------------
def page_of(browser) -> str:
    resp = browser.get("/admin/")
    assert resp.status_code == 200
    return unescape(resp.get_data(as_text=True))


def tiles_on(html: str) -> dict:
    """key -> (count, href) of the tiles on the page."""
    found = re.findall(r'id="tile-(\w+)" href="([^"]*)"\s+data-count="(\d+)"', html)
    return {key: (int(count), href) for key, href, count in found}


def charts_on(html: str) -> list[dict]:
    m = re.search(r"var charts = (\[.*?\]);\n", html, re.DOTALL)
    return json.loads(m.group(1)) if m else []


def list_count(html: str) -> int:
    """The record count Flask-Admin shows in the list tab (no number when 0)."""
    m = re.search(r'class="nav-link active">[^<(]*(?:\((\d+)\))?</a>', html)
    assert m, "not a list page"
    return int(m.group(1) or 0)


def add_today(app):
    """Data relative to the real office clock, for the pages."""
    with app.app_context():
        now = clock.now()
        factories.visitor(time_in=now - timedelta(minutes=30), name="赵六")
        factories.visitor(time_in=now - timedelta(minutes=20), name="钱七")
        factories.visitor(time_in=now - timedelta(minutes=50), name="孙八", time_out=now - timedelta(minutes=10))
        factories.work_order(status="done", created_at=now - timedelta(days=4), completed_at=now - timedelta(days=3),
                             followup_due=now - timedelta(days=1))
        factories.work_order(status="dispatched", created_at=now)
        factories.work_order(status="pending", created_at=now - timedelta(days=30))
        factories.complaint(status="registered", received_at=now)
        factories.release_slip(created_at=now)
        factories.bulletin_post(posted_on=clock.today() - timedelta(days=20))
        factories.followup_visit(planned_date=clock.today() - timedelta(days=2))
        factories.dept_check(status="open", deadline=now - timedelta(days=1))
        lease = factories.lease(status="active", end_date=clock.today() + timedelta(days=10))
        factories.charge(due_date=clock.today() - timedelta(days=40), amount=Decimal("345.60"))
        factories.charge(kind="rent", lease=lease, due_date=clock.today() - timedelta(days=40), amount=Decimal("800.00"))
        factories.custody(start_date=clock.today() - timedelta(days=30))
        db.session.commit()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_its_tiles_and_each_opens(app, login, role):
    add_today(app)
    b = login(role)
    html = page_of(b)
    tiles = tiles_on(html)
    assert list(tiles) == list(ROLE_TILES[role])
    for key, (count, href) in tiles.items():
        assert count >= 1, key
        resp = b.get(href)
        assert resp.status_code == 200, (key, href, resp.status_code)
    rates = re.findall(r'id="rate-(\w+)" href="([^"]*)"', html)
    assert [k for k, _href in rates] == list(ROLE_RATES[role])
    for key, href in rates:
        assert b.get(href).status_code == 200, key
    assert [c["key"] for c in charts_on(html)] == list(ROLE_CHARTS[role])
    assert "全部功能" in html


def test_frontdesk_sees_visitors_in_the_building(app, login):
    add_today(app)
    b = login("frontdesk")
    html = page_of(b)
    assert "在楼内访客" in html
    count, href = tiles_on(html)["visitors_in"]
    assert count == 2
    listed = unescape(b.get(href).get_data(as_text=True))
    assert list_count(listed) == 2 and "赵六" in listed and "钱七" in listed and "孙八" not in listed


def test_leasing_sees_leases_and_arrears_not_complaints_or_repairs(app, login):
    add_today(app)
    html = page_of(login("leasing"))
    tiles = tiles_on(html)
    assert tiles["leases_ending"][0] == 1 and tiles["arrears_unit"][0] == 1 and tiles["arrears_lease"][0] == 1
    assert "未办结投诉" not in html and "本月投诉分类" not in html and "维修待回访" not in html
    assert "tile-complaints_open" not in html and "chart-complaints_by_category" not in html
    assert "本月物业费收缴率" in html and "本月维修回访率" not in html


def test_maintenance_sees_repairs(app, login):
    add_today(app)
    html = page_of(login("maintenance"))
    tiles = tiles_on(html)
    assert tiles["work_orders_in_repair"][0] == 1 and tiles["slips_overdue"][0] == 1
    assert "在修工单" in html and "近14天新开维修工单" in html
    board = html.split('class="dashboard"', 1)[1].split('id="dashboard-sections"', 1)[0]
    assert "在楼内访客" not in board and "欠费" not in board and "投诉" not in board


def test_tile_links_list_what_they_count(app, login):
    """The list behind each filtered tile shows as many records as the tile counts."""
    add_today(app)
    b = login("admin")
    tiles = tiles_on(page_of(b))
    for key in ("work_orders_in_repair", "complaints_open", "visitors_in", "release_today", "boards_due",
                "visits_overdue", "slips_overdue", "leases_ending"):
        count, href = tiles[key]
        assert "flt0_" in href, key
        assert list_count(unescape(b.get(href).get_data(as_text=True))) == count, key
    count, href = tiles["arrears_unit"]
    assert href.startswith("/admin/arrears_unit/") and "min_overdue=0.01" in href
    assert "345.60" in b.get(href).get_data(as_text=True)
    assert tiles["followups"][1] == "/admin/work_order/followups/"
    assert tiles["custody_alerts"][0] == 1


def test_overdue_tile_is_red(app, login):
    add_today(app)
    html = page_of(login("supervisor"))
    tile = re.search(r'<a class="([^"]*)" id="tile-followups"', html).group(1)
    assert "bg-danger" in tile
    tile = re.search(r'<a class="([^"]*)" id="tile-visitors_in"', html).group(1)
    assert "bg-danger" not in tile


def test_charts_use_the_local_chart_js(app, login):
    add_today(app)
    b = login("supervisor")
    html = page_of(b)
    assert f'<script src="{CHART_JS}"></script>' in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html), "a resource from another site"
    assert "cdn" not in html.lower()
    for key in EVERY_CHART:
        assert f'<canvas id="chart-{key}"' in html
    charts = {c["key"]: c for c in charts_on(html)}
    assert sum(charts["work_orders_per_day"]["datasets"][0]["data"]) == 2
    asset = b.get(CHART_JS)
    assert asset.status_code == 200 and "javascript" in asset.mimetype
    assert b"Chart.js v4" in asset.data[:200]


def test_empty_database_renders(login):
    b = login("admin")
    html = page_of(b)
    tiles = tiles_on(html)
    assert list(tiles) == list(EVERY_TILE) and all(count == 0 for count, _href in tiles.values())
    assert html.count("暂无数据") == len(EVERY_CHART)
    assert re.search(r'id="rate-followup_rate"[^>]*data-value=""', html)
    assert "全部功能" in html
    for role in ROLES:
        assert page_of(login(role)).count('class="card h-100 dashboard-tile') >= 1


def test_dashboard_renders_in_english(app, login):
    add_today(app)
    b = login("supervisor")
    b.get("/lang/en")
    assert b.get("/admin/").status_code == 200
