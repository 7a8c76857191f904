"""Excel import: templates, the dry run (errors by row and column, duplicates in the file and against the
database, references by readable name), the error report, the all-or-nothing audited commit, roles and
garbage files — through the test client, as the office uses it."""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from html import unescape

import openpyxl
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.importing import KINDS, analyse, run
from app.importing.cells import CellError, Field
from app.importing.kinds import EXAMPLE_ID
from app.validators import check_resident_id
from schema import AuditLog, Building, Charge, Lease, Owner, Ownership, Resident, Unit

from . import factories

OWNER_HEADERS = ["类别", "姓名/单位名称", "证件类型", "证件号码", "联系电话", "单位联系人", "通讯地址", "备注"]
ID1, ID2, ID3 = (factories.resident_id(born="19850412", serial=n) for n in (11, 12, 13))
BAD_CHECK = ID3[:17] + ("0" if ID3[17] != "0" else "1")
COMPANY = factories.credit_code()


# -- helpers ---------------------------------------------------------------------------------
def xlsx(headers, rows, sheet="Sheet1") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def upload(b, kind, data, name="owners.xlsx"):
    return b.post("/admin/import/upload/", {"kind": kind, "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def dry_run(b, kind, data, name="owners.xlsx") -> str:
    resp = upload(b, kind, data, name)
    assert resp.status_code == 302, text_of(resp)[:2000]
    assert resp.headers["Location"].endswith("/admin/import/preview/")
    resp = b.get("/admin/import/preview/")
    assert resp.status_code == 200
    return text_of(resp)


def issues(html: str) -> list[tuple[int, str, str, str]]:
    """(row, column, value, message) rows of the preview's error table."""
    if 'id="import-errors"' not in html:
        return []
    body = html.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    out = []
    for tr in re.findall(r'<tr class="import-issue">(.*?)</tr>', body, re.DOTALL):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.DOTALL)]
        out.append((int(cells[0]), cells[1], cells[2], cells[3]))
    return out


def count(html: str, name: str) -> int:
    return int(re.search(rf'id="count-{name}">(\d+)<', html).group(1))


def commit(b) -> str:
    resp = b.post("/admin/import/commit/")
    assert resp.status_code == 200, resp.status_code
    assert resp.headers.get("X-Accel-Buffering") == "no"
    return text_of(resp)


def owner_rows():
    return [
        ["个人", "王一", "居民身份证", ID1, "13800000001", None, "1栋101", None],
        ["个人", "王二", "居民身份证", ID2, "0755-26881234", None, None, "老业主"],
        ["单位", "深圳某某科技有限公司", "统一社会信用代码", COMPANY, "13800000003", "赵经理", None, None],
    ]


def place(app, building="3栋", rooms=("1201",), with_owner=True):
    """An estate with one building and units; the first unit has a primary owner."""
    with app.app_context():
        estate = factories.estate(name="锦绣花园")
        b = factories.building(estate=estate, name=building)
        units = [factories.unit(building=b, room_no=r) for r in rooms]
        owner = None
        if with_owner:
            owner = factories.owner(name="陈业主", id_number=factories.resident_id(born="19700101", serial=7))
            factories.ownership(owner=owner, unit=units[0])
        db.session.commit()
        return {"estate_id": estate.id, "building_id": b.id, "unit_ids": [u.id for u in units],
                "owner_id": owner.id if owner else None, "owner_id_number": owner.id_number if owner else None}


def audit_rows(app, table):
    with app.app_context():
        return db.session.scalars(select(AuditLog).where(AuditLog.table_name == table, AuditLog.action == "Excel导入")
                                   .order_by(AuditLog.id)).all()


def total(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# -- templates -------------------------------------------------------------------------------
def test_every_template_downloads_with_headers_example_and_rules(login):
    b = login("admin")
    for kind, cls in KINDS.items():
        resp = b.get(f"/admin/import/template/{kind}.xlsx")
        assert resp.status_code == 200, kind
        assert resp.mimetype.endswith("spreadsheetml.sheet")
        assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
        book = openpyxl.load_workbook(io.BytesIO(resp.data))
        assert book.sheetnames == [cls.title, "说明"]
        ws = book.worksheets[0]
        headers = [c.value for c in ws[1]]
        assert headers == [f.header for f in cls().fields]
        assert any(c.value is not None for c in ws[2]), f"{kind}: no example row"
        rules = "\n".join(str(c.value) for row in book["说明"].iter_rows() for c in row if c.value)
        for f in cls().fields:
            assert f.header in rules
    book = openpyxl.load_workbook(io.BytesIO(b.get("/admin/import/template/owner.xlsx").data))
    ws = book.worksheets[0]
    assert headers_of(ws) == OWNER_HEADERS
    example = dict(zip(OWNER_HEADERS, [c.value for c in ws[2]]))
    assert example["证件号码"] == EXAMPLE_ID and check_resident_id(EXAMPLE_ID) is None
    assert example["类别"] == "个人" and example["证件类型"] == "居民身份证"
    assert ws["D2"].number_format == "@"  # the ID column is text, so Excel keeps all 18 digits
    assert "校验位" in "".join(str(c.value) for row in book["说明"].iter_rows() for c in row if c.value)
    assert b.get("/admin/import/template/nope.xlsx").status_code == 404


def headers_of(ws):
    return [c.value for c in ws[1]]


def test_the_untouched_template_is_refused_as_an_example_row(login):
    b = login("admin")
    data = b.get("/admin/import/template/owner.xlsx").data
    html = dry_run(b, "owner", data, "业主导入模板.xlsx")
    assert issues(html) == [(2, "—", "", "这是模板中的示例行,请删除后再导入")]
    assert 'id="import-commit"' not in html


# -- the dry run -----------------------------------------------------------------------------
def bad_owner_file() -> bytes:
    rows = owner_rows() + [
        ["个人", "李校验", "居民身份证", BAD_CHECK, "13800000004", None, None, None],  # row 5
        ["个人", "王一重复", "居民身份证", ID1, "13800000005", None, None, None],  # row 6: same ID as row 2
        ["个人", "钱电话", "居民身份证", ID3, "12345", None, None, None],  # row 7
    ]
    return xlsx(OWNER_HEADERS, rows)


def test_owner_errors_are_listed_by_row_and_column_and_nothing_is_imported(login, app):
    b = login("admin")
    html = dry_run(b, "owner", bad_owner_file())
    assert issues(html) == [
        (5, "证件号码", BAD_CHECK, "身份证号码校验位不正确,请核对"),
        (6, "证件号码", ID1, "与第2行证件号码重复"),
        (7, "联系电话", "12345", "电话号码格式不正确:手机号为11位(1开头),座机请带区号,如 0755-12345678"),
    ]
    assert (count(html, "rows"), count(html, "valid"), count(html, "error-rows"), count(html, "errors")) == (6, 3, 3, 3)
    assert "下载错误报告" in html and 'id="import-commit"' not in html
    assert total(app, Owner) == 0

    resp = b.post("/admin/import/commit/")  # posting anyway is refused
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/import/preview/")
    assert total(app, Owner) == 0 and audit_rows(app, "owner") == []


def test_error_report_marks_the_bad_cells(login):
    b = login("admin")
    dry_run(b, "owner", bad_owner_file())
    resp = b.get("/admin/import/report.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    assert "%E9%94%99%E8%AF%AF%E6%8A%A5%E5%91%8A" in resp.headers["Content-Disposition"]  # 错误报告
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    ws = book.worksheets[0]
    assert [c.value for c in ws[1]][:8] == OWNER_HEADERS and ws.cell(1, 9).value == "错误说明"

    def red(cell):
        return cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb.endswith("FFC7CE")

    for ref, message in (("D5", "校验位"), ("D6", "与第2行证件号码重复"), ("E7", "电话号码格式不正确")):
        assert red(ws[ref]), ref
        assert ws[ref].comment is not None and message in ws[ref].comment.text
    assert ws["D5"].value == BAD_CHECK and ws["E7"].value == "12345"  # the uploaded values, unchanged
    for ref in ("D2", "E2", "A5", "E5", "D7"):
        assert not red(ws[ref]) and ws[ref].comment is None, ref
    assert ws["I2"].value is None
    assert ws["I5"].value == "证件号码:身份证号码校验位不正确,请核对"
    assert ws["I7"].value.startswith("联系电话:电话号码格式不正确")
    listing = [tuple(r) for r in book["错误清单"].iter_rows(values_only=True)]
    assert listing[0] == ("行", "列", "值", "问题")
    assert [r[:3] for r in listing[1:]] == [(5, "证件号码", BAD_CHECK), (6, "证件号码", ID1), (7, "联系电话", "12345")]


def test_corrected_report_uploads_again_and_commits_everything_audited(login, app):
    b = login("admin")
    dry_run(b, "owner", bad_owner_file())
    book = openpyxl.load_workbook(io.BytesIO(b.get("/admin/import/report.xlsx").data))
    ws = book.worksheets[0]
    ws["D5"] = factories.resident_id(born="19850412", serial=21)
    ws["D6"] = factories.resident_id(born="19850412", serial=22)
    ws["E7"] = "13800000007"
    buf = io.BytesIO()
    book.save(buf)

    html = dry_run(b, "owner", buf.getvalue(), "owners_错误报告.xlsx")
    assert issues(html) == []
    assert count(html, "valid") == 6 and "确认导入 6 条" in html
    assert "王一" in html.split('id="import-preview"', 1)[1]  # the first rows are shown
    assert total(app, Owner) == 0  # the dry run writes nothing

    page = commit(b)
    assert 'id="import-done"' in page and "已导入业主 6 条" in page, page[-3000:]
    assert "正在写入" in page and 'class="import-step"' in page  # progress blocks were streamed
    with app.app_context():
        owners = {o.id_number: o for o in db.session.scalars(select(Owner))}
        assert len(owners) == 6
        company = owners[COMPANY]
        assert (company.kind, company.id_type, company.contact_person) == ("company", "credit_code", "赵经理")
        assert owners[ID1].phone == "13800000001" and owners[ID1].version == 1
    rows = audit_rows(app, "owner")
    assert len(rows) == 6
    assert {r.action for r in rows} == {"Excel导入"} and {r.operation for r in rows} == {"新增"}
    assert {r.username for r in rows} == {"admin"}
    assert {r.record_id for r in rows} == {o.id for o in owners.values()}
    first = next(r for r in rows if r.record_id == owners[ID1].id)
    assert json.loads(first.changes)["id_number"] == [None, ID1]
    assert "version" not in json.loads(first.changes)
    assert "owners_错误报告.xlsx" in first.note and "第2行" in first.note

    # the file is used up: no second commit, the preview sends back to the upload page
    assert b.post("/admin/import/commit/").status_code == 302
    assert b.get("/admin/import/preview/").status_code == 302
    assert total(app, Owner) == 6


def test_owners_already_in_the_database_are_refused(login, app):
    with app.app_context():
        factories.owner(id_number=ID2)
        db.session.commit()
    b = login("supervisor")
    html = dry_run(b, "owner", xlsx(OWNER_HEADERS, owner_rows()))
    assert issues(html) == [(3, "证件号码", ID2, "系统中已有该证件号码的业主")]
    assert total(app, Owner) == 1


def test_company_rules_and_cell_types_follow_the_form(login):
    b = login("admin")
    rows = [
        ["单位", "某公司", "居民身份证", ID1, "13800000001", None, None, None],
        ["单位", "另一公司", "统一社会信用代码", COMPANY[:17] + ("0" if COMPANY[17] != "0" else "1"), "13800000002",
         None, None, None],
        ["学生", "", "居民身份证", 440305198504120111, 13800000003, None, None, None],
        ["个人", "x" * 101, "护照", "E12345678", "13800000004", None, None, None],
    ]
    found = issues(dry_run(b, "owner", xlsx(OWNER_HEADERS, rows)))
    assert (2, "证件类型", "居民身份证", "单位业主的证件类型应为统一社会信用代码") in found
    assert (2, "单位联系人", "", "单位业主须填写联系人") in found
    assert (3, "证件号码", found[2][2], "统一社会信用代码校验位不正确,请核对") in found
    row4 = [i for i in found if i[0] == 4]
    assert [i[1] for i in row4] == ["类别", "姓名/单位名称", "证件号码"]
    assert row4[0][3].startswith("应为以下之一:个人、单位")
    assert row4[1][3] == "请填写姓名/单位名称"
    assert "Excel 已丢失末尾数字" in row4[2][3]  # an 18-digit number typed into a number cell
    assert [(i[1], i[3]) for i in found if i[0] == 5] == [("姓名/单位名称", "不能超过100个字(现有101个)")]


# -- units, buildings and references by readable name -----------------------------------------
UNIT_HEADERS = ["项目", "楼栋", "房号", "楼层", "建筑面积(㎡)", "用途", "状态", "物业费单价(元/㎡/月)", "交房日期", "备注"]


def test_units_resolve_buildings_and_create_the_missing_ones(login, app):
    ids = place(app, rooms=("1201",), with_owner=False)
    b = login("supervisor")
    rows = [
        [None, "3栋", "1202", 12, 89.5, "住宅", "空置", 2.5, date(2024, 3, 1), None],
        [None, "5栋", "101", 1, "120.00", "商铺", "已入住", None, "2024/03/01", None],
        [None, "5栋", "102", 1, 60, None, None, "3.2", None, None],
        [None, "3栋", "1201", 12, 89.5, "住宅", "空置", 2.5, None, None],  # row 5: already in the database
        [None, "5栋", "101", 1, 80, "住宅", "空置", 2.5, None, None],  # row 6: twice in the file
        ["别的花园", "1栋", "101", 1, 80, "住宅", "空置", 2.5, None, None],  # row 7: unknown estate
        [None, "6栋", "101", 1, 0, "别墅", "空置", -1, "下个月", None],  # row 8
    ]
    html = dry_run(b, "unit", xlsx(UNIT_HEADERS, rows), "units.xlsx")
    assert issues(html) == [
        (5, "房号", "1201", "系统中已有房屋 3栋1201"),
        (6, "房号", "101", "与第3行房屋(楼栋+房号)重复"),
        (7, "项目", "别的花园", "找不到项目“别的花园”"),
        (8, "建筑面积(㎡)", "0", "必须大于0"),
        (8, "用途", "别墅", "应为以下之一:住宅、商铺、办公、车位、其他"),
        (8, "物业费单价(元/㎡/月)", "-1", "金额不能为负数"),
        (8, "交房日期", "下个月", "日期格式不正确,请填写如 2024-03-01"),
    ]
    assert "将新建楼栋 1 个:锦绣花园 5栋" in html  # 6栋's only row is invalid: not created

    fixed = rows[:3]
    html = dry_run(b, "unit", xlsx(UNIT_HEADERS, fixed), "units.xlsx")
    assert issues(html) == [] and count(html, "valid") == 3
    assert "已导入房屋 3 条" in commit(b)
    with app.app_context():
        buildings = {x.name: x for x in db.session.scalars(select(Building))}
        assert set(buildings) == {"3栋", "5栋"} and buildings["5栋"].estate_id == ids["estate_id"]
        units = {(u.building.name, u.room_no): u for u in db.session.scalars(select(Unit))}
        assert len(units) == 4
        shop = units[("5栋", "101")]
        assert (shop.usage, shop.status, shop.area, shop.handover_date) == ("shop", "occupied", Decimal("120.00"),
                                                                             date(2024, 3, 1))
        plain = units[("5栋", "102")]
        assert (plain.usage, plain.status, plain.fee_rate) == ("residence", "vacant", Decimal("3.20"))
        assert units[("3栋", "1202")].building_id == ids["building_id"]
    assert [r.record_id for r in audit_rows(app, "building")] == [buildings["5栋"].id]
    assert len(audit_rows(app, "unit")) == 3


RESIDENT_HEADERS = ["项目", "房屋", "姓名", "与业主关系", "联系电话", "身份证号码", "入住日期", "迁出日期", "备注"]


def test_residents_resolve_units_like_3_1201(login, app):
    ids = place(app, rooms=("1201", "1202"))
    with app.app_context():
        factories.resident(unit=db.session.get(Unit, ids["unit_ids"][1]), name="老住户")
        db.session.commit()
    b = login("supervisor")
    rows = [
        [None, "3栋1201", "陈妻", "家属", "13900000001", None, date(2024, 3, 1), None, None],
        [None, "3栋 1202", "租客甲", "租户", None, ID1.lower(), "2024-05-01", None, None],
        [None, "9栋101", "无名", "家属", None, None, None, None, None],  # row 4: unknown unit
        ["锦绣花园", "3栋1202", "老住户", "家属", None, None, None, None, None],  # row 5: already living there
        [None, "3栋1201", "陈妻", "家属", None, None, None, None, None],  # row 6: twice in the file
        [None, "3栋1201", "晚到", "家属", None, BAD_CHECK, date(2024, 3, 1), date(2024, 1, 1), None],  # row 7
    ]
    html = dry_run(b, "resident", xlsx(RESIDENT_HEADERS, rows), "residents.xlsx")
    assert issues(html) == [
        (4, "房屋", "9栋101", "找不到房屋“9栋101”,请按“楼栋+房号”填写,如 3栋1201"),
        (5, "姓名", "老住户", "该房屋已有同名住户"),
        (6, "姓名", "陈妻", "与第2行同一房屋的同名住户重复"),
        (7, "身份证号码", BAD_CHECK, "身份证号码校验位不正确,请核对"),
        (7, "迁出日期", "2024-01-01", "结束日期不能早于开始日期"),
    ]
    html = dry_run(b, "resident", xlsx(RESIDENT_HEADERS, rows[:2]), "residents.xlsx")
    assert issues(html) == []
    assert "已导入住户 2 条" in commit(b)
    with app.app_context():
        got = {r.name: r for r in db.session.scalars(select(Resident))}
        assert got["陈妻"].unit_id == ids["unit_ids"][0] and got["陈妻"].relation == "family"
        assert got["租客甲"].unit_id == ids["unit_ids"][1] and got["租客甲"].relation == "tenant"
        assert got["租客甲"].move_in_date == date(2024, 5, 1)
    assert len(audit_rows(app, "resident")) == 2


def test_same_unit_name_in_two_estates_needs_the_estate_column(login, app):
    place(app, rooms=("1201",), with_owner=False)
    with app.app_context():
        other = factories.estate(name="翠苑")
        factories.unit(building=factories.building(estate=other, name="3栋"), room_no="1201")
        db.session.commit()
    b = login("admin")
    rows = [[None, "3栋1201", "甲", "家属", None, None, None, None, None],
            ["翠苑", "3栋1201", "乙", "家属", None, None, None, None, None]]
    found = issues(dry_run(b, "resident", xlsx(RESIDENT_HEADERS, rows), "r.xlsx"))
    assert found == [(2, "房屋", "3栋1201", "房屋“3栋1201”在多个项目中都有,请填写“项目”列")]
    # and units can only be imported into a named estate now that there are two
    found = issues(dry_run(b, "unit", xlsx(UNIT_HEADERS, [[None, "3栋", "1301", 13, 80, None, None, None, None, None]]),
                           "u.xlsx"))
    assert found == [(2, "项目", "", "系统中有多个项目,请填写项目名称")]


def test_a_unit_name_read_two_ways_asks_for_a_separator(login, app):
    with app.app_context():
        estate = factories.estate(name="锦绣花园")
        factories.unit(building=factories.building(estate=estate, name="1"), room_no="1201")
        wanted = factories.unit(building=factories.building(estate=estate, name="11"), room_no="201")
        db.session.commit()
        wanted_id = wanted.id
    b = login("admin")
    rows = [[None, "11201", "甲", "家属", None, None, None, None, None],
            [None, "11-201", "乙", "家属", None, None, None, None, None]]
    html = dry_run(b, "resident", xlsx(RESIDENT_HEADERS, rows), "r.xlsx")
    assert issues(html) == [(2, "房屋", "11201", "“11201”可对应多个房屋,请在楼栋和房号之间加“-”,如 3栋-1201")]
    dry_run(b, "resident", xlsx(RESIDENT_HEADERS, rows[1:]), "r.xlsx")
    assert "已导入住户 1 条" in commit(b)
    with app.app_context():
        assert db.session.scalars(select(Resident.unit_id)).one() == wanted_id


OWNERSHIP_HEADERS = ["业主证件号码", "业主姓名", "项目", "房屋", "产权份额(%)", "取得日期", "主要联系人"]


def test_ownerships_link_owners_by_id_number_to_units(login, app):
    ids = place(app, rooms=("1201", "1202"))
    with app.app_context():
        factories.owner(name="林业主", id_number=ID1)
        db.session.commit()
    b = login("admin")
    rows = [
        [ID1, "林业主", None, "3栋1202", 50, "2023-06-01", "是"],
        [ID2, None, None, "3栋1202", 50, None, None],  # row 3: unknown owner
        [ID1, "林某", None, "3栋1201", 100, None, "否"],  # row 4: name mismatch
        [ids["owner_id_number"], None, None, "3栋1201", 100, None, None],  # row 5: exists already
        [ID1, None, None, "3栋1202", 150, None, "是"],  # row 6: dup in file and a bad share
    ]
    found = issues(dry_run(b, "ownership", xlsx(OWNERSHIP_HEADERS, rows), "o.xlsx"))
    assert found == [
        (3, "业主证件号码", ID2, "系统中没有该证件号码的业主,请先导入业主"),
        (4, "业主姓名", "林某", "与证件号码对应的业主姓名不符(系统中为 林业主)"),
        (5, "房屋", "3栋1201", "系统中已有该业主对该房屋的产权"),
        (6, "房屋", "3栋1202", "与第2行业主和房屋重复"),
        (6, "产权份额(%)", "150", "产权份额应在0到100之间"),
    ]
    dry_run(b, "ownership", xlsx(OWNERSHIP_HEADERS, rows[:1]), "o.xlsx")
    assert "已导入产权 1 条" in commit(b)
    with app.app_context():
        own = db.session.scalars(select(Ownership).where(Ownership.unit_id == ids["unit_ids"][1])).one()
        assert (own.share, own.since, own.is_primary) == (Decimal("50.00"), date(2023, 6, 1), True)


OPENING_HEADERS = ["项目", "房屋", "合同编号", "业主证件号码", "费用类别", "缴费人", "所属期间", "期间开始", "期间结束",
                   "应缴日期", "应收金额", "备注"]


def test_opening_balances_resolve_units_and_payers_and_refuse_doubles(login, app):
    ids = place(app, rooms=("1201", "1202"))
    with app.app_context():
        le = factories.lease(contract_no="ZL2025-0007", tenant_name="刘强", tenant_company="强记商行")
        db.session.commit()
        lease_id = le.id
    b = login("admin")
    rows = [
        [None, "3栋1201", None, None, "物业管理费", None, None, None, None, date(2026, 1, 31), 1234.5, "旧系统结转"],
        [None, "3栋-1202", None, None, "其他", "王租户", "2025-12", None, None, "2026-01-31", "88", None],
        [None, None, "ZL2025-0007", None, "租金", None, None, None, None, "2026-01-15", 800, None],
    ]
    bad = rows + [
        [None, "3栋1202", None, None, "物业管理费", None, None, None, None, "2026-01-31", 10, None],  # row 5: no payer
        [None, None, None, None, "租金", "某人", None, None, None, "2026-01-31", 10, None],  # row 6: no target
        [None, "3栋1201", None, None, "物业管理费", None, None, None, None, "2026-01-31", 0.001, None],  # row 7
        [None, "3栋1201", None, None, "物业管理费", None, "期初余额", None, None, "2026-01-31", 5, None],  # row 8: dup
    ]
    found = issues(dry_run(b, "opening_balance", xlsx(OPENING_HEADERS, bad), "ob.xlsx"))
    assert found == [
        (5, "缴费人", "", "请填写缴费人(该房屋没有主要联系人业主)"),
        (6, "房屋", "", "请选择房屋或租赁合同"),
        (6, "合同编号", "", "租金和场地管理费须关联租赁合同"),
        (7, "应收金额", "0.001", "最多2位小数"),
        (8, "所属期间", "期初余额", "与第2行同一缴费对象、费用类别和所属期间重复"),
    ]
    html = dry_run(b, "opening_balance", xlsx(OPENING_HEADERS, rows), "ob.xlsx")
    assert issues(html) == []
    assert "已导入期初余额 3 条" in commit(b)
    with app.app_context():
        charges = {c.unit_id or ("lease", c.lease_id): c for c in db.session.scalars(select(Charge))}
        first = charges[ids["unit_ids"][0]]
        assert (first.kind, first.period, first.amount, first.amount_paid, first.status) == (
            "mgmt_fee", "期初余额", Decimal("1234.50"), Decimal("0.00"), "unpaid")
        assert (first.payer_name, first.owner_id, first.due_date) == ("陈业主", ids["owner_id"], date(2026, 1, 31))
        assert first.bill_key == f"opening:unit:{ids['unit_ids'][0]}:mgmt_fee:期初余额"
        second = charges[ids["unit_ids"][1]]
        assert (second.kind, second.payer_name, second.period, second.owner_id) == ("other", "王租户", "2025-12", None)
        rent = charges[("lease", lease_id)]
        assert (rent.kind, rent.payer_name, rent.unit_id) == ("rent", "强记商行", None)
    assert len(audit_rows(app, "charge")) == 3

    # importing the same balances again is refused against the database
    found = issues(dry_run(b, "opening_balance", xlsx(OPENING_HEADERS, rows), "ob.xlsx"))
    assert [(i[0], i[1]) for i in found] == [(2, "所属期间"), (3, "所属期间"), (4, "所属期间")]
    assert found[0][3] == "系统中已有该缴费对象“物业管理费”期初余额的应收"
    assert total(app, Charge) == 3


LEASE_HEADERS = ["合同编号", "招租资源编号", "承租人", "承租单位", "联系电话", "身份证号/信用代码", "起租日期", "到期日期",
                 "月租金(元)", "收租周期", "押金(元)", "场地管理费(元)", "洽谈记录", "备注"]


def test_leases_import_as_negotiating_without_rent(login, app):
    with app.app_context():
        factories.asset(code="CK-001", kind="warehouse")
        factories.asset(code="CD-01", kind="venue")
        factories.lease(contract_no="ZL2025-0001", asset=factories.asset(code="GG-9", kind="ad"))
        db.session.commit()
    b = login("admin")
    rows = [
        ["ZL2026-0001", "CK-001", "刘大强", None, "13700137000", None, "2026-01-01", "2026-12-31", 800, "月", 1600, 0, None, None],
        ["ZL2026-0002", "cd-01", "周场", "周记", "13700137001", COMPANY, "2026-02-01", "2026-02-28", 500, "季", 0, 300, "谈妥", None],
    ]
    bad = rows + [
        ["ZL2025-0001", "CK-001", "甲", None, "13700137002", None, "2026-01-01", "2026-12-31", 800, None, None, None, None, None],
        ["ZL2026-0003", "XX-404", "乙", None, "13700137003", "123", "2026-03-01", "2026-01-01", 0, None, None, 100, None, None],
        ["ZL2026-0001", "CK-001", "丙", None, "13700137004", None, "2026-01-01", "2026-12-31", 800, None, None, None, None, None],
    ]
    found = issues(dry_run(b, "lease", xlsx(LEASE_HEADERS, bad), "leases.xlsx"))
    assert found == [
        (4, "合同编号", "ZL2025-0001", "系统中已有该合同编号"),
        (5, "招租资源编号", "XX-404", "找不到编号为“XX-404”的招租资源"),
        (5, "身份证号/信用代码", "123", "请填写有效的身份证号码或统一社会信用代码"),
        (5, "到期日期", "2026-01-01", "到期日期不能早于起租日期"),
        (5, "月租金(元)", "0", "月租金必须大于0"),
        (6, "合同编号", "ZL2026-0001", "与第2行合同编号重复"),
    ]
    dry_run(b, "lease", xlsx(LEASE_HEADERS, rows), "leases.xlsx")
    assert "已导入租赁合同 2 条" in commit(b)
    with app.app_context():
        got = {le.contract_no: le for le in db.session.scalars(select(Lease).where(Lease.contract_no.like("ZL2026%")))}
        assert {le.status for le in got.values()} == {"negotiating"}
        venue = got["ZL2026-0002"]
        assert (venue.asset.code, venue.billing_cycle, venue.venue_fee, venue.rent, venue.signed_date) == (
            "CD-01", "quarter", Decimal("300.00"), Decimal("500.00"), None)
        assert db.session.scalar(select(func.count()).select_from(Charge)) == 0  # no rent until signed


# -- all or nothing ----------------------------------------------------------------------------
def test_data_changed_after_the_dry_run_refuses_the_whole_commit(login, app):
    b = login("admin")
    html = dry_run(b, "owner", xlsx(OWNER_HEADERS, owner_rows()))
    assert issues(html) == []
    with app.app_context():  # someone adds one of the owners meanwhile
        factories.owner(id_number=ID2)
        db.session.commit()
    page = commit(b)
    assert 'id="import-failed"' in page and "未导入任何数据" in page
    assert total(app, Owner) == 1 and audit_rows(app, "owner") == []
    html = b.get("/admin/import/preview/").get_data(as_text=True)  # the preview now shows why
    assert issues(unescape(html)) == [(3, "证件号码", ID2, "系统中已有该证件号码的业主")]


def test_a_failure_while_writing_rolls_back_every_batch(login, app, monkeypatch):
    from app.importing import engine

    rows = [["个人", f"业主{i}", "居民身份证", factories.resident_id(born="19800101", serial=100 + i),
             f"139{i:08d}", None, None, None] for i in range(7)]
    b = login("admin")
    dry_run(b, "owner", xlsx(OWNER_HEADERS, rows))
    monkeypatch.setitem(app.config, "IMPORT_BATCH", 2)
    calls = []
    original = engine.Writer._audit

    def failing(self, *args):
        calls.append(1)
        if len(calls) == 5:  # the third batch: two batches are already written
            raise RuntimeError("disk full")
        return original(self, *args)

    monkeypatch.setattr(engine.Writer, "_audit", failing)
    page = commit(b)
    assert 'id="import-failed"' in page and "已全部撤销" in page
    assert total(app, Owner) == 0 and audit_rows(app, "owner") == []


def test_a_running_commit_locks_the_file_and_a_stale_lock_is_taken_over(login, app):
    import os
    import time
    from pathlib import Path

    b = login("admin")
    dry_run(b, "owner", xlsx(OWNER_HEADERS, owner_rows()))
    with b.client.session_transaction() as sess:
        token = sess["import_token"]
    lock = Path(app.config["UPLOAD_FOLDER"]) / "imports" / f"{token}.lock"
    lock.touch()  # another request is committing this file
    resp = b.post("/admin/import/commit/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/import/preview/")
    assert "该文件正在导入" in text_of(b.get("/admin/import/preview/"))
    assert total(app, Owner) == 0
    old = time.time() - 3600  # the worker that held it died an hour ago
    os.utime(lock, (old, old))
    assert "已导入业主 3 条" in commit(b)
    assert not lock.exists() and not lock.with_suffix(".xlsx").exists()


# -- roles -------------------------------------------------------------------------------------
def test_roles_without_access_get_403(login, app):
    data = xlsx(OWNER_HEADERS, owner_rows())
    for role in ("frontdesk", "manager", "leasing", "maintenance"):
        b = login(role)
        assert b.get("/admin/import/").status_code == 403, role
        assert b.get("/admin/import/template/owner.xlsx").status_code == 403, role
        assert upload(b, "owner", data).status_code == 403, role
        assert b.post("/admin/import/commit/").status_code == 403, role
    sup = login("supervisor")
    html = text_of(sup.get("/admin/import/"))
    assert "数据导入" in html and "template/owner.xlsx" in html and "template/lease.xlsx" not in html
    # leases and opening balances need the form's create permission (admin, leasing)
    assert sup.get("/admin/import/template/lease.xlsx").status_code == 403
    assert upload(sup, "opening_balance", data).status_code == 403
    assert total(app, Owner) == 0
    anonymous = app.test_client()
    assert anonymous.get("/admin/import/").status_code == 302


def test_the_token_is_the_users_own(login, app):
    admin = login("admin")
    dry_run(admin, "owner", xlsx(OWNER_HEADERS, owner_rows()))
    other = login("supervisor")
    assert other.get("/admin/import/preview/").status_code == 302
    assert other.post("/admin/import/commit/").status_code == 302
    assert total(app, Owner) == 0


# -- garbage -----------------------------------------------------------------------------------
def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    return buf.getvalue()


@pytest.mark.parametrize("data,name,message", [
    (b"not a spreadsheet at all", "owners.xlsx", "文件内容不是 .xlsx 格式"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "owners.xlsx", "旧格式或加密"),
    (b"a,b\n1,2\n", "owners.csv", "不支持 .csv"),
    (b"whatever", "owners.xls", "不支持 .xls 旧格式"),
    (b"%PDF-1.4", "owners.pdf", "请上传 .xlsx"),
    (b"", "owners.xlsx", "文件是空的"),
    (_zip_without_workbook(), "owners.xlsx", "无法读取该文件"),
    (xlsx(["甲", "乙"], [["1", "2"]]), "owners.xlsx", "没有找到“业主”导入模板的表头"),
    (xlsx(["类别", "姓名/单位名称", "联系电话"], [["个人", "王", "13800000001"]]), "owners.xlsx", "缺少必填列:证件号码"),
    (xlsx(OWNER_HEADERS, []), "owners.xlsx", "文件中没有数据"),
    (xlsx(OWNER_HEADERS + ["证件号码"], [["个人"]]), "owners.xlsx", "表头“证件号码”出现了两次"),
])
def test_garbage_uploads_get_a_chinese_message_never_a_500(login, app, data, name, message):
    b = login("admin")
    resp = upload(b, "owner", data, name)
    assert resp.status_code == 400
    html = text_of(resp)
    assert 'id="import-error"' in html and message in html, html[-3000:]
    assert b.get("/admin/import/preview/").status_code == 302  # nothing pending


def test_missing_file_kind_and_oversized_uploads(login, app, monkeypatch):
    b = login("admin")
    assert "请选择要上传的 .xlsx 文件" in text_of(b.post("/admin/import/upload/", {"kind": "owner"}))
    assert "请选择导入类型" in text_of(upload(b, "", xlsx(OWNER_HEADERS, owner_rows())))
    assert "请选择导入类型" in text_of(upload(b, "nonsense", xlsx(OWNER_HEADERS, owner_rows())))
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2000)
    resp = upload(b, "owner", xlsx(OWNER_HEADERS, owner_rows()))
    assert resp.status_code == 400 and "文件过大" in text_of(resp)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", None)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 2)
    resp = upload(b, "owner", xlsx(OWNER_HEADERS, owner_rows()))
    assert resp.status_code == 400 and "一次最多导入 2 行" in text_of(resp)


def test_unknown_columns_are_ignored_with_a_warning_and_blank_rows_skipped(login, app):
    b = login("admin")
    rows = owner_rows()
    data = xlsx(["*类别", "姓名/单位名称", "证件类型\uff08必填\uff09", "证件号码", "联系电话", "楼盘"],
                [r[:5] + ["x"] for r in rows[:2]] + [[None] * 6, [" "] * 6] + [rows[2][:5] + ["y"]])
    html = dry_run(b, "owner", data)
    assert "以下列不在模板中,已忽略:楼盘" in html
    found = issues(html)
    assert found == [(6, "单位联系人", "", "单位业主须填写联系人")]  # row numbers count the blank rows
    assert count(html, "rows") == 3


# -- cells -------------------------------------------------------------------------------------
def test_cells_read_like_the_form():
    text = Field("t", "电话", max_len=5)
    assert text.read(13800.0) == "13800" and text.read(" ab ") == "ab" and text.read("  ") is None
    with pytest.raises(CellError):
        text.read("abcdef")
    day = Field("d", "日期", type="date")
    for raw in (date(2024, 3, 1), datetime(2024, 3, 1, 0, 0), "2024-03-01", "2024/3/1", "2024年3月1日", "20240301",
                45352, "2024-03-01 00:00:00"):
        assert day.read(raw) == date(2024, 3, 1), raw
    with pytest.raises(CellError):
        day.read("2024-02-30")
    money = Field("m", "金额", type="decimal", places=2)
    assert money.read(0.1 + 0.2) == Decimal("0.30") and money.read("1,234.50") == Decimal("1234.50")
    for raw in ("1.234", "abc", "NaN", True):
        with pytest.raises(CellError):
            money.read(raw)
    flag = Field("b", "是否", type="bool")
    assert (flag.read("是"), flag.read("否"), flag.read(True), flag.read(0), flag.read("Y")) == (True, False, True, False, True)
    number = Field("n", "层", type="int")
    assert number.read(12.0) == 12 and number.read("7") == 7
    with pytest.raises(CellError):
        number.read(1.5)


def test_dry_run_outcome_through_the_api(app, tmp_path):
    path = tmp_path / "o.xlsx"
    path.write_bytes(bad_owner_file())
    with app.app_context():
        outcome = run(analyse("owner", path))
        assert (outcome.rows, outcome.valid, outcome.error_rows) == (6, 3, 3)
        assert [(i.row, i.column) for i in outcome.issues] == [(5, 3), (6, 3), (7, 4)]
        db.session.remove()
