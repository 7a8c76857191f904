"""Exports: exactly the listed rows (search, filters, sort, all pages), typed cells, Chinese headers."""
import csv
import io
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import openpyxl

from app import clock
from app.extensions import db
from schema import Unit

from . import factories


def make_units(app, n=45):
    with app.app_context():
        b = factories.building(name="3栋")
        for i in range(n):
            factories.unit(building=b, room_no=f"{i + 1:04d}", area=Decimal("50.25") + i,
                           status="occupied" if i % 3 else "vacant", handover_date=date(2025, 1, 1 + i % 28))
        factories.unit(building=b, room_no="=1+1", area=Decimal("10"), status="vacant")
        db.session.commit()


def workbook(resp):
    return openpyxl.load_workbook(io.BytesIO(resp.data))


def test_xlsx_has_every_row_typed_and_formatted(login, app):
    make_units(app)
    resp = login("supervisor").get("/admin/unit/export/xlsx/")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"房屋_{clock.today():%Y%m%d}.xlsx"
    assert f"filename*=UTF-8''{quote(name)}" in resp.headers["Content-Disposition"]
    ws = workbook(resp).active
    header = [c.value for c in ws[1]]
    assert header == ["楼栋", "房号", "楼层", "建筑面积(㎡)", "用途", "状态", "物业费单价(元/㎡/月)", "交房日期"]
    assert ws.max_row == 47  # header + 46 units: all pages, not just 20
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:H")
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    first = next(r for r in rows if r[1] == "0001")
    assert first[0] == "3栋" and first[4] == "住宅" and first[5] == "空置"
    assert first[3] == 50.25 and first[6] == 2.5
    area_cell = next(c for c in ws["D"][1:] if c.value == 50.25)
    assert area_cell.number_format == "0.00"
    assert first[7].date() == date(2025, 1, 1)
    assert ws["H2"].number_format == "yyyy-mm-dd"
    assert ("'=1+1" in [r[1] for r in rows])  # formula neutralised
    assert ws.column_dimensions["A"].width >= 6


def test_export_follows_search_filter_and_sort(login, app):
    make_units(app)
    b = login("admin")
    # the status filter "equals" is the first filter group of status; find its arg from the list page
    html = b.get("/admin/unit/").get_data(as_text=True)
    assert "状态" in html
    view = app.extensions["propdesk_admin"]._views
    unit_view = next(v for v in view if getattr(v, "endpoint", "") == "unit")
    idx = next(i for i, f in enumerate(unit_view._filters) if str(f.name) == "状态" and str(f.operation()) in ("等于", "equals"))
    sort_idx = [c for c, _ in unit_view._list_columns].index("area")
    qs = f"?flt0_{idx}=occupied&sort={sort_idx}&desc=1"
    listed = b.get(f"/admin/unit/{qs}").get_data(as_text=True)
    assert "30" in listed
    ws = workbook(b.get(f"/admin/unit/export/xlsx/{qs}")).active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    with app.app_context():
        expected = db.session.query(Unit).filter_by(status="occupied").count()
    assert len(rows) == expected == 30
    assert {r[5] for r in rows} == {"已入住"}
    areas = [r[3] for r in rows]
    assert areas == sorted(areas, reverse=True)
    ws = workbook(b.get("/admin/unit/export/xlsx/?search=0001")).active
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["0001"]


def test_csv_is_utf8_with_bom_and_neutralised(login, app):
    make_units(app, n=3)
    resp = login("admin").get("/admin/unit/export/csv/?sort=1")
    body = resp.data
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "楼栋" and len(rows) == 5
    assert "'=1+1" in [r[1] for r in rows]
    assert any(r[3] == "50.25" for r in rows[1:])
    assert f"filename*=UTF-8''{quote('房屋')}" in resp.headers["Content-Disposition"]


def test_export_of_relations_and_enums_uses_readable_names(login, app):
    with app.app_context():
        own = factories.ownership()
        factories.resident(unit=own.unit, name="=HYPERLINK(\"x\")", relation="tenant")
        db.session.commit()
        unit_name = str(own.unit)
    ws = workbook(login("admin").get("/admin/resident/export/xlsx/")).active
    row = [c.value for c in ws[2]]
    assert row[0] == unit_name and row[1].startswith("'=") and row[2] == "租户"


def test_every_table_exports_both_formats_with_a_record_of_each(login, app):
    """Every registered list exports through the SQL-formatted path: links named, choices labelled."""
    from schema import REGISTRY

    with app.app_context():
        factories.one_of_each()
        db.session.commit()
    b = login("admin")
    checked = 0
    for model in REGISTRY:
        table = model.__tablename__
        for fmt in ("xlsx", "csv"):
            resp = b.get(f"/admin/{table}/export/{fmt}/")
            if resp.status_code == 404:
                continue  # a view without export
            assert resp.status_code == 200, (table, fmt, resp.get_data(as_text=True)[:300])
            if fmt == "xlsx":
                rows = list(workbook(resp).active.iter_rows(values_only=True))
            else:
                rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
            assert len(rows) >= 2, (table, fmt)
            checked += 1
    assert checked >= 60
