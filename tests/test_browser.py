"""In Chromium: log in through the real page, meet the Chinese ID error, fix it, save, export."""
import io
import os

import openpyxl

from .conftest import ARTIFACTS, PASSWORD


def login(page, username):
    page.goto(page.base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")


def test_owner_with_invalid_id_then_fixed_then_exported(page, users):
    login(page, "frontdesk")
    assert "前台客服" in page.inner_text("#current-user")
    page.goto(page.base_url + "/admin/owner/new/")
    page.fill("#name", "王小明")
    page.fill("#id_number", "440305199003071235")
    page.fill("#phone", "13800138000")
    page.click("input[type=submit][value='保存'], button[type=submit]:has-text('保存')")
    error = page.locator(".invalid-feedback, .help-block, .text-danger").filter(has_text="身份证号码校验位不正确")
    error.first.wait_for()
    page.screenshot(path=os.path.join(ARTIFACTS, "owner-invalid-id.png"), full_page=True)
    page.fill("#id_number", "440305199003071236")
    page.click("input[type=submit][value='保存'], button[type=submit]:has-text('保存')")
    page.wait_for_url("**/admin/owner/details/**")
    assert "440305199003071236" in page.content()
    page.goto(page.base_url + "/admin/owner/")
    assert "王小明" in page.inner_text("table.model-list")
    page.screenshot(path=os.path.join(ARTIFACTS, "owner-list.png"), full_page=True)

    page.goto(page.base_url + "/admin/")
    page.locator("form[action='/logout'] button").click()
    login(page, "supervisor")
    page.goto(page.base_url + "/admin/owner/")
    page.click("text=导出")
    with page.expect_download() as info:
        page.click("text=导出 XLSX")
    download = info.value
    assert download.suggested_filename.startswith("业主_") and download.suggested_filename.endswith(".xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read())).active
    assert ws["A1"].value == "姓名/单位名称"
    assert [c.value for c in ws[2]][:1] == ["王小明"]
