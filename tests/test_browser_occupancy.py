"""In Chromium: a front-desk user completes a move-in after uploading the document it was refused
for; an inspection with one failed item produces a work order; that order runs to 已完成 and shows
in 待回访 with its due time."""
import os
from datetime import timedelta

from app import clock
from app.extensions import db
from schema.occupancy import Inspection
from schema.work_orders import WorkOrder

from .conftest import ARTIFACTS
from .test_browser import login
from .test_documents import PDF
from .test_occupancy_views import ready_move_in


def choose_action(page, row_id, label):
    page.check(f"input.action-checkbox[value='{row_id}']")
    page.click("text=选中的")
    page.click(f"a:has-text('{label}')")


def test_move_in_inspection_work_order_followup(page, users, app, tmp_path):
    mid, _owner_id, _unit_id = ready_move_in(app)
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "frontdesk")

    page.goto(page.base_url + "/admin/move_in/")
    choose_action(page, mid, "完成入住")
    page.wait_for_selector(".alert-danger")
    assert "缺少资料:房屋买卖契约" in page.inner_text(".alert-danger")
    page.goto(page.base_url + f"/admin/move_in/details/?id={mid}")
    page.click("text=上传房屋买卖契约")
    pdf = tmp_path / "契约.pdf"
    pdf.write_bytes(PDF)
    page.set_input_files("#upload", str(pdf))
    page.click("input[type=submit][value='保存']")
    page.wait_for_selector("text=资料核对")
    assert f"/admin/move_in/details/?id={mid}" in page.url
    page.goto(page.base_url + "/admin/move_in/")
    choose_action(page, mid, "完成入住")
    page.wait_for_selector(".alert-success")
    page.screenshot(path=os.path.join(ARTIFACTS, "move-in-completed.png"), full_page=True)

    with app.app_context():
        from . import factories

        unit = factories.unit()
        factories.department(name="工程维修部")
        db.session.commit()
        unit_id = unit.id
    page.goto(page.base_url + "/admin/inspection/new/")
    page.evaluate(f"""() => {{ const el = document.querySelector('#unit');
        el.value = '{unit_id}'; }}""")
    page.fill("#inspector", "王工")
    page.click("input[type=submit][value='保存']")
    page.wait_for_selector("#inspection-items")
    rows = page.locator("#inspection-items tbody tr")
    for i in range(rows.count()):
        rows.nth(i).locator("input[value='1']").check()
    failed = rows.filter(has=page.locator("td", has_text="卫生间")).filter(has_text="防水").first
    failed.locator("input[value='0']").check()
    failed.locator("input[type=text], input.form-control").fill("卫生间地面渗水")
    page.click("text=保存验收结果")
    page.wait_for_selector("text=验收结果已保存")
    with app.app_context():
        iid = db.session.query(Inspection).one().id
    page.goto(page.base_url + "/admin/inspection/")
    choose_action(page, iid, "生成维修工作单")
    page.wait_for_selector(".alert-success")
    with app.app_context():
        order = db.session.query(WorkOrder).one()
        oid, number = order.id, order.number
        assert order.category == "leak"

    page.goto(page.base_url + "/admin/work_order/")
    choose_action(page, oid, "派工")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success")
    page.click("form[action='/logout'] button")
    login(page, "maintenance")
    for step in ("签领", "开始处理"):
        page.goto(page.base_url + "/admin/work_order/")
        choose_action(page, oid, step)
        page.wait_for_selector(".alert-success")
    test_at = clock.now().replace(second=0) + timedelta(minutes=5)
    page.goto(page.base_url + "/admin/work_order/")
    choose_action(page, oid, "完工")
    page.fill("#at", f"{test_at + timedelta(minutes=30):%Y-%m-%dT%H:%M}")
    page.fill("#leak_test_at", f"{test_at:%Y-%m-%dT%H:%M}")
    page.click("button:has-text('确认')")
    page.wait_for_selector(".alert-success")

    page.goto(page.base_url + "/admin/work_order/followups/")
    row = page.locator("#followup-table tr", has_text=number)
    assert f"{test_at + timedelta(days=3):%Y-%m-%d %H:%M}" in row.inner_text()
    page.screenshot(path=os.path.join(ARTIFACTS, "followups.png"), full_page=True)
