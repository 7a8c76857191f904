"""In Chromium, for the supervisor: the dashboard's tiles and charts over a small hand-computed fixture
(no request leaves the local server), then last month's 月度统计报表 with its hand-computed figures,
its Excel export and its printable page. At the front desk: a 便民服务 order from booking to receipt
(安排服务 by the supervisor, 业主验收, 收取服务费, 打印收据), and a fee refused before acceptance."""
import io
import os
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import quote, urlparse

import openpyxl

from app import clock, ledger
from app.extensions import db
from app.monthly_report import month_label, previous_month
from schema.ledger import Charge, Payment
from schema.services import ServiceOrder

from . import factories
from .conftest import ARTIFACTS
from .test_browser import login
from .test_browser_frontdesk import SAVE, logout, pick_select2
from .test_browser_renovation import fill_date, record_link

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def watch_requests(page) -> list[str]:
    """Every URL any page of the browser context asks for (the print page opens in a new tab)."""
    urls: list[str] = []
    page.context.on("request", lambda request: urls.append(request.url))
    return urls


def foreign(urls) -> list[str]:
    """The requests that went anywhere but the local test server (a CDN font, a chart library...)."""
    return [u for u in urls if urlparse(u).scheme not in ("data", "blob", "about")
            and urlparse(u).hostname not in LOCAL_HOSTS]


def tile(page, key) -> tuple[str, str]:
    """(count, detail) of a dashboard tile."""
    box = page.locator(f"#tile-{key}")
    detail = box.locator(".tile-detail")
    return box.locator(".tile-count").inner_text().strip(), (detail.inner_text().strip() if detail.count() else "")


def report_rows(page, key) -> list[list[str]]:
    """A report section's table as text: body rows, then the 合计 row (the screen or the print page)."""
    return page.eval_on_selector(
        f"table[data-section='{key}']",
        """t => Array.from(t.querySelectorAll('tr')).filter(r => r.querySelector('td'))
                .map(r => Array.from(r.cells).map(c => c.innerText.trim()))""")


# -- the fixture: last month in a two-building estate ------------------------------------------------
def make_month(app) -> tuple[int, int]:
    """Last month's records (days 1-28 exist in every month) plus today's state; returns (year, month).

    Hand-computed expectations, section by section (the report for last month):

    回访情况 (done visits, by visited_at):
        电话 满意 ×1 (day 6), 上门 不满意 ×1 (day 12); a planned visit and a visit done this month don't count
        上门: 满意 0, 基本满意 0, 不满意 1, 未填写 0, 合计 1
        电话: 1, 0, 0, 0, 1
        合计: 1, 0, 1, 0, 2
    维修回访 (completed in the month):
        W1 安全设施 completed day 3, due day 5, followed up day 4          -> 1 completed, 1 followed, 1 on time
        W2 渗漏水  completed day 10, due day 13, followed up day 15 (late)  -> 1, 1, 0
        W3 其他    completed day 20, due day 22, not followed up (已完成)   -> 1, 0, 0
        rows: 安全设施 100.0 / 100.0; 渗漏水 100.0 / 0.0; 其他 0.0 / — (nothing followed up to divide by)
        合计 3, 2, 1: 回访处理率 2/3 = 66.7 %, 按时回访率 1/2 = 50.0 %
    投诉情况 (by received_at): 4 complaints
        有效投诉·保洁 ×2 (both at 3栋) -> 2 = 50.0 %; 沟通性投诉·咨询型 ×1 -> 25.0 %; 未定性/未分类 ×1 -> 25.0 %;
        every other category 0 / 0.0 %; 合计 4 / 100.0. Two at one building stay under the recurring
        threshold (3): 重复发生的问题 has no rows.
    来电情况 (by at, by status): answered ×1 (turned into the 咨询型 complaint), pending ×1, referred ×1
        (turned into W1) -> 已当场答复 1/0/1, 待回复 1/0/0, 已转办 1/1/0, 已回访 0/0/0; 合计 3/1/1
    物业费收缴率 (mgmt_fee charges due day 15):
        3栋301 223.75, paid on day 10 by SK receipt -> 3栋: 1, 223.75, 223.75, 0.00, 100.0
        5栋501 180.00, unpaid                         -> 5栋: 1, 180.00, 0.00, 180.00, 0.0
        合计: 2, 403.75, 223.75, 180.00, 223.75/403.75 = 55.418 % -> 55.4
    欠费变化: nothing was overdue on the 1st; at the month's end 5栋501's 180.00 -> 物业管理费 0.00, 180.00, 180.00
    不合格单与内部协调单: none -> 合计 0, 0, 0, 0

    The dashboard (today, for the supervisor):
        维修待回访 1 (W3, past its deadline: danger, 其中逾期 1 张); 待派工工单 1 (W4, opened today);
        未办结投诉 5 (last month's 4 + today's 车辆管理 one, none visited back); 在楼内访客 1 (one left already);
        宣传栏待更换 1 (posted 20 days ago, still up; one posted 3 days ago and one taken down don't count);
        逾期回访计划 0; 物业费逾期欠费户 1 (5栋501, 逾期 180.00 元).
        Charts: 近14天新开维修工单 has W4 today; 本月投诉分类 has today's complaint; 欠费账龄 has the 180.00.
    """
    today, now = clock.today(), clock.now()
    year, month = previous_month(today)

    def day(d, hour=10, minute=0):
        return datetime(year, month, d, hour, minute)

    with app.app_context():
        estate = factories.estate(name="锦绣花园")
        b3 = factories.building(estate=estate, name="3栋")
        b5 = factories.building(estate=estate, name="5栋")
        u301 = factories.unit(building=b3, room_no="301")
        u302 = factories.unit(building=b3, room_no="302")
        u501 = factories.unit(building=b5, room_no="501")
        own301 = factories.ownership(owner=factories.owner(name="林晓燕"), unit=u301)
        own501 = factories.ownership(owner=factories.owner(name="郑国强"), unit=u501)

        # visits
        factories.followup_visit(unit=u301, method="phone", status="done", result="satisfied", visited_at=day(6))
        factories.followup_visit(unit=u501, method="visit", status="done", result="unsatisfied", visited_at=day(12))
        factories.followup_visit(unit=u302, planned_date=today + timedelta(days=3), status="planned")
        factories.followup_visit(unit=u302, method="visit", status="done", result="satisfied",
                                 visited_at=datetime.combine(today, time(0, 0)))  # this month: not counted

        # repairs completed last month
        w1 = factories.work_order(unit=u301, category="safety", created_at=day(2), completed_at=day(3),
                                  followup_due=day(5), followup_at=day(4), followup_method="phone", status="visited")
        factories.work_order(unit=u302, category="leak", created_at=day(8), completed_at=day(10),
                             leak_test_at=day(10, 14), followup_due=day(13), followup_at=day(15),
                             followup_method="visit", status="visited")
        factories.work_order(unit=u501, category="other", created_at=day(19), completed_at=day(20),
                             followup_due=day(22), status="done")
        factories.work_order(unit=u302, category="other", created_at=now, status="pending")  # W4, today

        # calls and complaints
        answered = factories.call_log(at=day(4), status="answered", answered=True, callback=None)
        factories.call_log(at=day(5), status="pending")
        factories.call_log(at=day(2, 9), status="referred", work_order=w1)
        factories.complaint(unit=u301, kind="valid", category="cleaning", received_at=day(7))
        factories.complaint(unit=u302, kind="valid", category="cleaning", received_at=day(21))
        factories.complaint(unit=u501, kind="communication", category="inquiry", received_at=day(4, 10, 30),
                            call_log=answered)
        factories.complaint(unit=u501, kind=None, category=None, received_at=day(25))
        factories.complaint(unit=u302, kind="valid", category="vehicle", received_at=now)  # today

        # management fees due last month: one paid on time, one still owed
        paid = factories.charge(unit=u301, owner=own301.owner, payer_name="林晓燕", period=f"{year:04d}-{month:02d}",
                                due_date=date(year, month, 15), amount=Decimal("223.75"))
        factories.charge(unit=u501, owner=own501.owner, payer_name="郑国强", period=f"{year:04d}-{month:02d}",
                         due_date=date(year, month, 15), amount=Decimal("180.00"))
        db.session.flush()
        ledger.record_payment(amount=Decimal("223.75"), method="wechat", payer_name="林晓燕", unit=u301,
                              owner=own301.owner, paid_at=day(10), charge_ids=[paid.id])

        # the front desk today
        factories.visitor(unit=u501, name="赵六", time_in=now - timedelta(hours=1))
        factories.visitor(unit=u301, name="钱七", time_in=now - timedelta(hours=3), time_out=now - timedelta(hours=2))
        factories.bulletin_post(title="文明养犬倡议", board="3栋大堂宣传栏", posted_on=today - timedelta(days=20))
        factories.bulletin_post(title="停水通知", board="5栋大堂宣传栏", posted_on=today - timedelta(days=3))
        factories.bulletin_post(title="国庆活动回顾", board="5栋大堂宣传栏", posted_on=today - timedelta(days=40),
                                removed_on=today - timedelta(days=10))
        db.session.commit()
    return year, month


def test_dashboard_and_monthly_report_show_the_hand_computed_figures(page, users, app):
    year, month = make_month(app)
    label = month_label(year, month)
    urls = watch_requests(page)
    login(page, "supervisor")

    # -- the dashboard -------------------------------------------------------------------------
    page.goto(page.base_url + "/admin/")
    page.wait_for_load_state("networkidle")
    assert tile(page, "visitors_in") == ("1", "")
    assert tile(page, "boards_due") == ("1", "")
    assert tile(page, "followups") == ("1", "其中逾期 1 张")
    assert page.get_attribute("#tile-followups", "data-level") == "danger"
    assert tile(page, "work_orders_pending") == ("1", "")
    assert tile(page, "complaints_open") == ("5", "")
    assert tile(page, "visits_overdue") == ("0", "")
    assert tile(page, "arrears_unit") == ("1", "逾期 180.00 元")
    assert "在楼内访客" in page.inner_text("#tile-visitors_in") and "宣传栏待更换" in page.inner_text("#tile-boards_due")
    # nothing completed or due this month: the rates have nothing to divide by
    assert page.inner_text("#rate-followup_rate .rate-value") == "—"
    assert page.inner_text("#rate-collection_rate .rate-value") == "—"
    # the charts: Chart.js (served locally) drew each canvas with the fixture's data
    charts = page.evaluate("""() => ({
        loaded: typeof window.Chart === 'function',
        drawn: Array.from(document.querySelectorAll('#dashboard-charts canvas')).map(c => {
            const chart = window.Chart && Chart.getChart(c);
            return [c.id, !!chart && c.width > 0 && c.height > 0,
                    chart ? chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)) : null];
        }),
        empty: document.querySelectorAll('#dashboard-charts .chart-empty').length,
    })""")
    assert charts["loaded"], charts
    assert charts["empty"] == 0, charts
    drawn = {key: (ok, sums) for key, ok, sums in charts["drawn"]}
    assert drawn["chart-work_orders_per_day"] == (True, [1])
    assert drawn["chart-complaints_by_category"] == (True, [1])
    assert drawn["chart-arrears_aging"] == (True, [180, 0])
    assert page.evaluate("Chart.getChart('chart-complaints_by_category').data.labels") == ["车辆管理"]
    page.screenshot(path=os.path.join(ARTIFACTS, "dashboard.png"), full_page=True)

    # -- the monthly report, from the menu (it opens on last month) -------------------------
    page.click("nav a.dropdown-toggle:has-text('回访与社区')")
    page.click("a.dropdown-item:has-text('月度统计报表')")
    page.wait_for_url("**/admin/monthly_report/**")
    assert page.input_value("#month") == label
    assert page.inner_text("#report-month") == label
    page.fill("#month", label)  # and asked for explicitly through the month picker
    page.click("button:has-text('查询')")
    page.wait_for_url(f"**/admin/monthly_report/?month={label}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#report-error").count() == 0

    assert report_rows(page, "visits") == [
        ["上门", "0", "0", "1", "0", "1"],
        ["电话", "1", "0", "0", "0", "1"],
        ["合计", "1", "0", "1", "0", "2"]]
    assert report_rows(page, "repairs") == [
        ["安全设施", "1", "1", "1", "100.0", "100.0"],
        ["渗漏水", "1", "1", "0", "100.0", "0.0"],
        ["其他", "1", "0", "0", "0.0", "—"],
        ["合计", "3", "2", "1", "66.7", "50.0"]]
    complaints = report_rows(page, "complaints")
    assert complaints[0] == ["有效投诉", "保洁", "2", "50.0"]
    assert ["沟通性投诉", "咨询型", "1", "25.0"] in complaints
    assert ["未定性", "未分类", "1", "25.0"] in complaints
    assert ["有效投诉", "车辆管理", "0", "0.0"] in complaints  # today's complaint is not last month's
    assert complaints[-1] == ["合计", "", "4", "100.0"]
    assert len(complaints) == 8 + 1 + 1  # every category of both kinds, 未定性, 合计
    assert report_rows(page, "calls") == [
        ["已当场答复", "1", "0", "1"], ["待回复", "1", "0", "0"], ["已转办", "1", "1", "0"], ["已回访", "0", "0", "0"],
        ["合计", "3", "1", "1"]]
    assert report_rows(page, "slips") == [["本月无记录"], ["合计", "0", "0", "0", "0"]]
    assert report_rows(page, "fees") == [
        ["3栋", "1", "223.75", "223.75", "0.00", "100.0"],
        ["5栋", "1", "180.00", "0.00", "180.00", "0.0"],
        ["合计", "2", "403.75", "223.75", "180.00", "55.4"]]
    assert report_rows(page, "arrears") == [
        ["物业管理费", "0.00", "180.00", "180.00"], ["合计", "0.00", "180.00", "180.00"]]
    assert report_rows(page, "recurring") == [["本月无记录"]]
    # each section with data drew its chart
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('canvas[data-chart]'))
        .map(c => [c.id, !!(window.Chart && Chart.getChart(c))])""")
    assert drawn and all(ok for _id, ok in drawn), drawn
    assert {"chart-visits", "chart-repairs", "chart-fees"} <= {cid for cid, _ok in drawn}
    page.screenshot(path=os.path.join(ARTIFACTS, "monthly-report.png"), full_page=True)

    # -- the Excel export ----------------------------------------------------------------------
    with page.expect_download() as info:
        page.click("#report-export:has-text('导出Excel')")
    download = info.value
    assert download.suggested_filename == f"月度统计_{label}.xlsx"
    with open(download.path(), "rb") as fh:
        book = openpyxl.load_workbook(io.BytesIO(fh.read()))
    fees = book["物业费收缴率"]
    assert fees["A1"].value == f"月度统计报表 {label} · 物业费收缴率"
    assert [c.value for c in fees[2]] == ["楼栋", "应收笔数", "应收金额", "月末前实收", "未收金额", "收缴率(%)"]
    assert [c.value for c in fees[5]] == ["合计", 2, 403.75, 223.75, 180, 55.4]
    repairs = book["维修回访"]
    assert [c.value for c in repairs[6]] == ["合计", 3, 2, 1, 66.7, 50]

    # -- the printable page (a new tab) --------------------------------------------------------
    with page.context.expect_page() as opened:
        page.click("#report-print:has-text('打印')")
    printed = opened.value
    printed.wait_for_load_state()
    assert printed.url.endswith(f"/admin/monthly_report/print/?month={label}")
    assert printed.inner_text("#report-month") == label
    assert "月度统计报表" in printed.inner_text("h1")
    assert report_rows(printed, "fees")[-1] == ["合计", "2", "403.75", "223.75", "180.00", "55.4"]
    assert report_rows(printed, "repairs")[-1] == ["合计", "3", "2", "1", "66.7", "50.0"]
    assert report_rows(printed, "visits")[-1] == ["合计", "1", "0", "1", "0", "2"]
    printed.screenshot(path=os.path.join(ARTIFACTS, "monthly-report-print.png"), full_page=True)
    printed.close()

    assert urls and not foreign(urls), foreign(urls)


# -- a service order ----------------------------------------------------------------------------
def batch_action(page, row_id, label):
    """Tick a list row and run a batch action of the "选中的" dropdown, matching its label exactly (the
    filter menu also has 业主验收合格, which test_browser_occupancy.choose_action would pick)."""
    page.check(f"input.action-checkbox[value='{row_id}']")
    page.click("text=选中的")
    page.click(f".dropdown-menu.show a:text-is('{label}')")


def details_url(page, order_id) -> str:
    return page.base_url + f"/admin/service_order/details/?id={order_id}"


def test_service_order_booked_scheduled_accepted_charged_and_receipt_printed(page, users, app):
    tomorrow = clock.today() + timedelta(days=1)
    agreed = datetime.combine(tomorrow, time(10, 0))
    with app.app_context():
        own = factories.ownership(owner=factories.owner(name="王美华"),
                                  unit=factories.unit(building=factories.building(name="8栋"), room_no="1203"))
        item = factories.service_item(name="油烟机清洗", price=Decimal("120.00"), price_unit="台")
        factories.service_item(name="空调加氟", price=Decimal("200.00"), published=False)
        # a second order, already scheduled but not accepted: its fee may not be collected yet
        early = factories.service_order(number="FW20260101-0099", item=item, unit=own.unit, owner=own.owner,
                                        contact="王美华", fee=Decimal("120.00"), status="scheduled", staff="张师傅",
                                        scheduled_by="supervisor", booked_at=clock.now() - timedelta(days=1),
                                        scheduled_at=clock.now() + timedelta(hours=2), agreed_time=agreed)
        db.session.commit()
        unit_id, owner_id, early_id = own.unit_id, own.owner_id, early.id
    page.on("dialog", lambda dialog: dialog.accept())
    urls = watch_requests(page)

    # (1) the clerk books it
    login(page, "frontdesk")
    page.goto(page.base_url + "/admin/service_order/new/")
    assert "空调加氟" not in page.inner_html("#item")  # only published items are offered
    pick_select2(page, "item", "油烟机", "油烟机清洗")
    pick_select2(page, "unit", "1203", "8栋1203")
    page.fill("#contact", "王美华")
    page.fill("#phone", "13800138066")
    page.fill("#area", "厨房")
    fill_date(page, "#agreed_time", f"{agreed:%Y-%m-%d %H:%M:%S}")
    page.fill("#expected_result", "油烟机内外及滤网清洗干净,无油污")
    pick_select2(page, "agreement", "书面", "书面约定")
    page.click(SAVE)
    page.wait_for_selector(".alert-danger, .record-links")
    errors = page.locator(".alert-danger")
    assert errors.count() == 0, errors.first.inner_text()
    assert "/admin/service_order/details/" in page.url
    with app.app_context():
        order = db.session.query(ServiceOrder).filter(ServiceOrder.id != early_id).one()
        oid, number = order.id, order.number
        assert re.fullmatch(rf"FW{clock.today():%Y%m%d}-\d{{4}}", number), number
        assert (order.unit_id, order.owner_id, order.contact, order.phone, order.area) == (
            unit_id, owner_id, "王美华", "13800138066", "厨房")
        assert (order.agreed_time, order.fee, order.agreement, order.status, order.booked_by) == (
            agreed, Decimal("120.00"), "written", "booked", "frontdesk")
    assert number in page.inner_text("table.table")
    # a clerk neither schedules nor, before acceptance, collects
    assert page.locator(".record-links a:has-text('安排服务')").count() == 0
    assert page.locator(".record-links a:has-text('收取服务费')").count() == 0

    # (2) the supervisor schedules it from the details page
    logout(page)
    login(page, "supervisor")
    page.goto(details_url(page, oid))
    record_link(page, "安排服务")
    page.wait_for_url("**/admin/service_order/confirm/schedule/**")
    assert number in page.inner_text("ul.confirm-records")
    page.fill("#staff", "李师傅")
    page.fill("#at", f"{tomorrow:%Y-%m-%d}T09:30")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success, #confirm-error")
    assert page.locator("#confirm-error").count() == 0, page.inner_text("#confirm-error")
    assert "已安排 1 个服务订单" in page.inner_text(".alert-success")
    assert "/admin/service_order/details/" in page.url and "李师傅" in page.inner_text("table.table")

    # (3) the clerk records the owner's acceptance from the list's batch action
    logout(page)
    login(page, "frontdesk")
    page.goto(page.base_url + "/admin/service_order/")
    assert "已安排" in page.locator("table.model-list tr", has_text=number).inner_text()
    batch_action(page, oid, "业主验收")
    page.wait_for_url("**/admin/service_order/confirm/accept/**")
    page.select_option("#accepted", "1")
    page.fill("#note", "清洗干净,业主满意")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success, #confirm-error")
    assert page.locator("#confirm-error").count() == 0, page.inner_text("#confirm-error")
    assert "已登记业主验收合格 1 个订单" in page.inner_text(".alert-success")
    assert "已验收" in page.locator("table.model-list tr", has_text=number).inner_text()

    # (4) the fee, from the details page: a receipt number, then the printed receipt
    page.goto(details_url(page, oid))
    record_link(page, "收取服务费")
    page.wait_for_url("**/admin/service_order/confirm/charge/**")
    page.select_option("#method", "wechat")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success, #confirm-error")
    assert page.locator("#confirm-error").count() == 0, page.inner_text("#confirm-error")
    flash = page.inner_text(".alert-success")
    match = re.search(r"SK\d{8}-\d{4}", flash)
    assert "已收取便民服务费 120.00 元" in flash and match, flash
    receipt = match.group(0)
    assert "/admin/service_order/details/" in page.url
    assert "已收费" in page.inner_text("table.table")
    assert page.locator(".record-links a:has-text('收取服务费')").count() == 0
    with app.app_context():
        order = db.session.get(ServiceOrder, oid)
        payment = db.session.query(Payment).one()
        fee = db.session.query(Charge).one()
        assert (order.status, order.accepted, order.acceptance_note, order.payment_id) == (
            "charged", True, "清洗干净,业主满意", payment.id)
        assert (payment.receipt_no, payment.amount, payment.method, payment.clerk.username) == (
            receipt, Decimal("120.00"), "wechat", "frontdesk")
        assert (fee.kind, fee.status, fee.amount_paid) == ("service_fee", "paid", Decimal("120.00"))

    record_link(page, f"打印收据 {receipt}")
    page.wait_for_url("**/admin/payment/receipt/**")
    assert page.inner_text("#receipt-no") == receipt
    text = page.inner_text("body")
    for expected in ("收款收据", "便民服务费", f"服务订单 {number}", "120.00", "¥120.00", "王美华", "8栋1203", "微信",
                     "测试frontdesk"):
        assert expected in text, expected
    assert page.inner_text("#amount-words") == "壹佰贰拾元整"
    page.screenshot(path=os.path.join(ARTIFACTS, "service-receipt.png"), full_page=True)

    # (5) the second order, scheduled but not accepted: no fee button, and the confirm page refuses it
    page.goto(details_url(page, early_id))
    assert "已安排" in page.inner_text("table.table")
    assert page.locator(".record-links a:has-text('业主验收')").count() == 1
    assert page.locator(".record-links a:has-text('收取服务费')").count() == 0
    back = quote(f"/admin/service_order/details/?id={early_id}", safe="")
    page.goto(page.base_url + f"/admin/service_order/confirm/charge/?ids={early_id}&url={back}")
    page.select_option("#method", "cash")
    page.click("button:has-text('确认')")
    page.wait_for_selector("#confirm-error")
    assert "业主验收前不能收费" in page.inner_text("#confirm-error")
    assert "/confirm/charge/" in page.url
    with app.app_context():
        early = db.session.get(ServiceOrder, early_id)
        assert (early.status, early.payment_id) == ("scheduled", None)
        assert db.session.query(Payment).count() == 1

    assert urls and not foreign(urls), foreign(urls)
