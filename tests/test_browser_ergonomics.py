"""In Chromium, the office's everyday ergonomics: import an owners file with two bad rows, see the row
errors, fix them and import; find an owner by the last four digits of the phone and open the household
page; save a filtered work-order list as a view and reopen it from the top bar's 我的视图."""
import io
import os

import openpyxl
from sqlalchemy import func, select

from app.extensions import db
from schema import Owner

from . import factories
from .conftest import ARTIFACTS
from .test_browser import login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IDS = [factories.resident_id(born="19800515", serial=n) for n in (21, 22, 23, 24)]
BAD_CHECK = IDS[1][:17] + ("0" if IDS[1][17] != "0" else "1")
PHONE = "13912345678"  # 王三's; no other phone, ID or room number here ends in 5678


def owners_file(headers, rows) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def owner_rows(id2, phone4):
    return [
        {"类别": "个人", "姓名/单位名称": "王一", "证件类型": "居民身份证", "证件号码": IDS[0], "联系电话": "13800000001"},
        {"类别": "个人", "姓名/单位名称": "王二", "证件类型": "居民身份证", "证件号码": id2, "联系电话": "13800000002"},
        {"类别": "个人", "姓名/单位名称": "王三", "证件类型": "居民身份证", "证件号码": IDS[2], "联系电话": PHONE},
        {"类别": "个人", "姓名/单位名称": "王四", "证件类型": "居民身份证", "证件号码": IDS[3], "联系电话": phone4},
    ]


def upload(page, data, name):
    page.goto(page.base_url + "/admin/import/")
    page.select_option("#import-kind", "owner")
    page.set_input_files("#import-file", files=[{"name": name, "mimeType": XLSX, "buffer": data}])
    page.click("#import-submit")
    page.wait_for_url("**/admin/import/preview/")


def issues(page):
    rows = page.locator("#import-errors tr.import-issue")
    return [tuple(c.strip() for c in rows.nth(i).locator("td").all_inner_texts()) for i in range(rows.count())]


def test_import_owners_fix_errors_then_find_by_phone_tail_and_open_household(page, users, app):
    login(page, "admin")
    template = page.request.get(page.base_url + "/admin/import/template/owner.xlsx")
    assert template.ok
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(template.body())).worksheets[0][1]]
    assert {"类别", "姓名/单位名称", "证件类型", "证件号码", "联系电话"} <= set(headers), headers

    upload(page, owners_file(headers, owner_rows(BAD_CHECK, "12345")), "业主.xlsx")
    assert page.inner_text("#count-rows") == "4" and page.inner_text("#count-error-rows") == "2"
    found = issues(page)
    assert [(r[0], r[1], r[2]) for r in found] == [("3", "证件号码", BAD_CHECK), ("5", "联系电话", "12345")], found
    assert "校验位" in found[0][3] and "电话号码格式不正确" in found[1][3]
    assert page.locator("#import-commit").count() == 0
    page.screenshot(path=os.path.join(ARTIFACTS, "import-errors.png"), full_page=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Owner)) == 0

    upload(page, owners_file(headers, owner_rows(IDS[1], "13800000004")), "业主_已改.xlsx")
    assert page.inner_text("#count-valid") == "4" and page.inner_text("#count-errors") == "0"
    assert page.locator("#import-errors").count() == 0
    page.click("#import-commit")
    page.wait_for_selector("#import-done")
    assert "导入成功" in page.inner_text("#import-done")
    with app.app_context():
        owners = {o.name: o for o in db.session.scalars(select(Owner))}
        assert sorted(owners) == ["王一", "王三", "王二", "王四"]
        assert owners["王三"].phone == PHONE and owners["王二"].id_number == IDS[1]
        unit = factories.unit(building=factories.building(name="5栋"), room_no="0301")
        factories.ownership(owner=owners["王三"], unit=unit)
        db.session.commit()
        unit_id = unit.id

    page.goto(page.base_url + "/admin/")
    page.fill("#global-search input[name=q]", PHONE[-4:])
    page.press("#global-search input[name=q]", "Enter")
    page.wait_for_url("**/admin/search/**")
    hits = page.locator(".search-hit[data-table=owner]")
    assert hits.count() == 1 and "王三" in hits.inner_text()
    hits.locator("a.household-link").first.click()
    page.wait_for_url(f"**/admin/household/?unit={unit_id}")
    owners_box = page.inner_text("#hh-owners")
    assert "王三" in owners_box and PHONE in owners_box, owners_box
    page.screenshot(path=os.path.join(ARTIFACTS, "household.png"), full_page=True)


def test_saved_view_is_reopened_from_my_views(page, users, app):
    with app.app_context():
        leaks = [factories.work_order(description="卫生间漏水,楼下天花渗水").number,
                 factories.work_order(description="阳台水管漏水").number]
        other = factories.work_order(description="入户门锁损坏").number
        db.session.commit()
    login(page, "admin")
    assert page.locator("#my-views").count() == 0  # nothing saved yet

    page.goto(page.base_url + "/admin/work_order/?search=漏水")
    page.click("#save-view-toggle")
    page.fill("#save-view-name", "漏水工单")
    page.click("#save-view-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "漏水工单" in page.inner_text(".alert-success")

    page.goto(page.base_url + "/admin/")
    page.click("#my-views a.dropdown-toggle")
    page.click("#my-views .dropdown-item:has-text('漏水工单')")
    page.wait_for_url("**/admin/work_order/?*search=*")
    assert "search=" in page.url
    listing = page.inner_text("table.model-list")
    assert all(n in listing for n in leaks) and other not in listing, listing
    assert page.locator("table.model-list tbody tr").count() == 2
