"""In Chromium, at the front desk: a clerk logs a call that could not be answered on the spot and
turns it into a repair work order; a clerk registers a release slip for a unit in arrears and is
refused, a supervisor approves the release in writing, the clerk issues the slip and prints it."""
import os
import re
from datetime import timedelta
from decimal import Decimal

from app import clock
from app.extensions import db
from schema.complaints import CallLog
from schema.release import ReleaseSlip
from schema.work_orders import WorkOrder

from . import factories
from .conftest import ARTIFACTS
from .test_browser import login
from .test_browser_occupancy import choose_action

SAVE = "input[type=submit][value='保存'], button[type=submit]:has-text('保存')"


def pick_select2(page, field, text, choice=None):
    """Choose in a Flask-Admin select2 (v3) widget: open it, type, click the matching result."""
    page.click(f"#s2id_{field} a.select2-choice")
    drop = page.locator("#select2-drop")  # select2 moves the open dropdown to the body under this id
    drop.locator("input.select2-input").fill(text)
    drop.locator(".select2-result-label", has_text=choice or text).click()
    page.wait_for_selector("#select2-drop", state="detached")


def logout(page):
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login**")


def test_call_logged_then_converted_to_work_order(page, users, app):
    with app.app_context():
        unit = factories.unit(building=factories.building(name="7栋"), room_no="2608")
        factories.department(name="工程维修部")
        db.session.commit()
        unit_id = unit.id
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "frontdesk")

    page.goto(page.base_url + "/admin/call_log/new/")
    assert page.input_value("#at")  # the desk's clock fills the call time
    page.fill("#caller", "王五")
    pick_select2(page, "identity", "住户")
    pick_select2(page, "unit", "2608", "7栋2608")
    page.fill("#phone", "13800138001")
    page.fill("#content", "厨房水管漏水,地面积水")
    page.uncheck("#answered")
    page.fill("#callback", "13800138001(晚上7点后)")
    page.click(SAVE)
    page.wait_for_url("**/admin/call_log/details/**")
    with app.app_context():
        call = db.session.query(CallLog).one()
        call_id = call.id
        assert (call.caller, call.identity, call.unit_id, call.answered, call.status, call.taken_by) == (
            "王五", "resident", unit_id, False, "pending", "frontdesk")

    page.goto(page.base_url + "/admin/call_log/")
    choose_action(page, call_id, "转维修工单")
    page.wait_for_url("**/admin/call_log/confirm/to_work_order/**")
    assert "王五" in page.inner_text("ul.confirm-records")
    page.select_option("#category", "leak")
    page.select_option("#department_id", label="工程维修部")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success")
    flash = page.inner_text(".alert-success")
    match = re.search(r"WX\d{8}-\d{4}", flash)
    assert "已转维修工单" in flash and match, flash
    assert "已转办" in page.inner_text("table.model-list")
    page.screenshot(path=os.path.join(ARTIFACTS, "call-to-work-order.png"), full_page=True)

    with app.app_context():
        order = db.session.query(WorkOrder).one()
        call = db.session.get(CallLog, call_id)
        assert order.number == match.group(0)
        assert (order.source, order.category, order.unit_id, order.reporter) == ("call", "leak", unit_id, "王五")
        assert order.department.name == "工程维修部"
        assert call.work_order_id == order.id and call.status == "referred"


def fill_item(line, description, quantity, measure=None):
    """Fill one inline 放行物品 line of the release-slip form."""
    line.locator("input[name$='-description']").fill(description)
    line.locator("input[name$='-quantity']").fill(quantity)
    if measure:
        line.locator("input[name$='-measure']").fill(measure)


def overdue_unit(app, room_no):
    """A unit of 5栋 whose owner 陈美玲 owes one management fee 40 days overdue; returns (unit_id, id_number)."""
    due = clock.today() - timedelta(days=40)
    with app.app_context():
        own = factories.ownership(owner=factories.owner(name="陈美玲"),
                                  unit=factories.unit(building=factories.building(name="5栋"), room_no=room_no))
        factories.charge(unit=own.unit, owner=own.owner, payer_name="陈美玲", period=f"{due:%Y-%m}", due_date=due,
                         amount=Decimal("223.75"))
        db.session.commit()
        return own.unit_id, own.owner.id_number


def test_release_slip_refused_for_arrears_then_overridden_issued_and_printed(page, users, app):
    unit_id, id_number = overdue_unit(app, "1602")
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "frontdesk")

    # the clerk registers the owner's application, listing the goods in the inline 放行物品 lines
    page.goto(page.base_url + "/admin/release_slip/new/")
    pick_select2(page, "unit", "1602", "5栋1602")
    page.fill("#applicant", "陈美玲")
    page.fill("#id_number", id_number)
    page.fill("#phone", "13800138002")
    page.fill("#reason", "搬家")
    lines = page.locator("#items .inline-field-list > .inline-field")
    if lines.count() == 0:  # the form may or may not start with one empty line
        page.click("#items-button")
    fill_item(lines.nth(0), "旧双人床(拆散)", "2")
    page.click("#items-button")  # Flask-Admin's 添加 放行物品
    fill_item(lines.nth(1), "纸箱", "10", "个")
    page.click(SAVE)
    page.wait_for_selector(".alert-danger, .record-links")
    errors = page.locator(".alert-danger")
    assert errors.count() == 0, errors.first.inner_text()
    assert "/admin/release_slip/details/" in page.url
    with app.app_context():
        slip = db.session.query(ReleaseSlip).one()
        slip_id = slip.id
        assert (slip.unit_id, slip.status, slip.number, slip.created_by) == (unit_id, "draft", None, "frontdesk")
        assert slip.id_number == id_number
        assert sorted((i.description, i.quantity, i.measure) for i in slip.items) == [
            ("旧双人床(拆散)", 2, "件"), ("纸箱", 10, "个")]
    details = page.base_url + f"/admin/release_slip/details/?id={slip_id}"
    assert "业主本人" in page.inner_text("body")

    # the clerk tries to issue from the details page: the unit's overdue fee refuses it, on record
    page.click(".record-links a:has-text('开具放行条')")
    page.wait_for_url("**/admin/release_slip/confirm/issue/**")
    page.select_option("#id_checked", "1")
    page.click("button:has-text('确认')")
    page.wait_for_url("**/admin/release_slip/details/**")
    error = page.inner_text(".alert-danger")
    assert "欠费 223.75 元" in error and "不能开具放行条" in error, error
    assert "已拒开" in page.inner_text("table.table")
    assert page.locator(".record-links a:has-text('打印放行条')").count() == 0
    # a clerk may not approve the release of a unit in arrears
    assert page.locator(".record-links a:has-text('欠费放行审批')").count() == 0
    page.screenshot(path=os.path.join(ARTIFACTS, "release-slip-refused.png"), full_page=True)
    with app.app_context():
        slip = db.session.get(ReleaseSlip, slip_id)
        assert (slip.status, slip.number) == ("refused", None)
        assert "欠费" in slip.refused_reason

    # the supervisor approves it in writing
    logout(page)
    login(page, "supervisor")
    page.goto(details)
    page.click(".record-links a:has-text('欠费放行审批')")
    page.wait_for_url("**/admin/release_slip/confirm/override/**")
    page.fill("#reason", "业主已承诺本周内缴清管理费,搬家公司车辆已到场")
    page.click("button:has-text('确认')")
    page.wait_for_url("**/admin/release_slip/details/**")
    assert "已审批欠费放行 1 张" in page.inner_text(".alert-success")
    with app.app_context():
        slip = db.session.get(ReleaseSlip, slip_id)
        assert slip.override_by == "supervisor" and slip.override_reason.startswith("业主已承诺")

    # the clerk issues it from the list's batch action, then prints it from its details page
    logout(page)
    login(page, "frontdesk")
    page.goto(page.base_url + "/admin/release_slip/")
    choose_action(page, slip_id, "开具放行条")
    page.wait_for_url("**/admin/release_slip/confirm/issue/**")
    page.select_option("#id_checked", "1")
    page.click("button:has-text('确认')")
    page.wait_for_url(re.compile(r"/admin/release_slip/(\?.*)?$"))  # back to the list
    flash = page.inner_text(".alert-success")
    match = re.search(r"FX\d{8}-\d{4}", flash)
    assert "已开具放行条" in flash and match, flash
    number = match.group(0)
    assert page.locator(".alert-danger").count() == 0
    assert "已开具" in page.locator("table.model-list tr", has_text=number).inner_text()
    with app.app_context():
        slip = db.session.get(ReleaseSlip, slip_id)
        assert (slip.status, slip.number, slip.issued_by) == ("issued", number, "frontdesk")
        assert slip.arrears_at_issue == Decimal("223.75") and slip.applicant_is_owner

    page.goto(details)
    page.click(".record-links a:has-text('打印放行条')")
    page.wait_for_url("**/admin/release_slip/print/**")
    assert page.inner_text(".slip-no") == number
    text = page.inner_text("section.page")
    for expected in ("物品放行条", "5栋1602", "陈美玲(业主本人)", id_number, "搬家", "旧双人床(拆散)", "2 件",
                     "纸箱", "10 个", "欠费放行审批", "测试supervisor:业主已承诺本周内缴清管理费", "开具人:测试frontdesk",
                     "申请人签字", "门岗签字", "(盖章)"):
        assert expected in text, expected
    page.screenshot(path=os.path.join(ARTIFACTS, "release-slip-print.png"), full_page=True)
