"""一户一档: one page per unit with every section the role may read, the arrears headline, one-click
actions prefilled for the unit, links to each record and to the filtered lists — in a number of SQL
statements that does not depend on how many records the unit has."""
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event

from app import clock
from app.extensions import db
from app.household import SECTIONS, household
from schema.property import Unit
from schema.spec import roles

from . import factories

ALL_CARDS = ("charges", "payments", "dunnings", "work_orders", "followups", "complaints", "calls", "release_slips",
             "renovation_permits", "worker_passes", "custodies", "custody_patrols", "service_orders", "visitors",
             "move_ins", "inspections", "documents")
LEDGER_CARDS = ("charges", "payments", "dunnings")

# card -> a value only that card shows
MARKERS = {
    "charges": "2026-01", "payments": "SK20260101-0777", "dunnings": "答应下周缴清",
    "work_orders": "WX20260101-0777", "followups": "吴回访", "complaints": "TS20260101-0777",
    "calls": "冯来电", "release_slips": "周搬家", "renovation_permits": "巧匠装饰",
    "worker_passes": "孙师傅", "custodies": "2026-03-01", "custody_patrols": "卫生间滴水",
    "service_orders": "FW20260101-0777", "visitors": "陈访客", "move_ins": "委托", "inspections": "钱验收",
    "documents": "房产证复印件",
}


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def card(html: str, key: str) -> str:
    """The markup of one section card (empty string when the page has none)."""
    m = re.search(r'<div class="card hh-card" id="hh-' + key + r'">(.*?)</table>', html, re.DOTALL)
    return m.group(1) if m else ""


def actions(html: str) -> dict:
    """Action button label -> href."""
    block = html.split('id="hh-actions"', 1)[1].split("</div>", 1)[0]
    return {label.strip(): href for href, label in re.findall(r'href="([^"]+)">([^<]+)</a>', block)}


def full_unit(app) -> dict:
    """A unit with one or two records in every section, and a neighbour (same room number, another
    building) whose records must not show."""
    with app.app_context():
        today = clock.today()
        own = factories.ownership(owner=factories.owner(name="黄业主", phone="13912345678"))
        unit = own.unit
        unit.status = "renovating"
        factories.ownership(unit=unit, owner=factories.owner(name="黄太太", phone="13912345679"), is_primary=False)
        factories.resident(unit=unit, name="黄小明", phone="13700001111")
        factories.resident(unit=unit, name="旧租客", relation="tenant", move_out_date=date(2025, 6, 30))
        factories.document(unit=unit, owner=own.owner, title="房产证复印件")
        factories.charge(unit=unit, owner=own.owner, payer_name="黄业主", amount=Decimal("345.60"), period="2026-01",
                         due_date=today - timedelta(days=40))
        factories.charge(unit=unit, owner=own.owner, payer_name="黄业主", amount=Decimal("100.00"), period="2026-02",
                         due_date=today - timedelta(days=200))
        factories.payment(unit=unit, owner=own.owner, receipt_no="SK20260101-0777", amount=Decimal("88.00"))
        factories.dunning(unit=unit, result="答应下周缴清")
        order = factories.work_order(unit=unit, number="WX20260101-0777", description="阳台推拉门变形",
                                     department=factories.department(name="工程部"))
        factories.followup_visit(unit=unit, owner=own.owner, staff="吴回访", work_order=order)
        call = factories.call_log(unit=unit, caller="冯来电")
        factories.complaint(unit=unit, number="TS20260101-0777", call_log=call)
        factories.release_slip(unit=unit, applicant="周搬家")
        permit = factories.renovation_permit(ownership=own, contractor="巧匠装饰")
        factories.worker_pass(permit=permit, name="孙师傅")
        custody = factories.custody(unit=unit, start_date=date(2026, 3, 1))
        factories.custody_patrol(custody=custody, findings="卫生间滴水")
        factories.service_order(unit=unit, number="FW20260101-0777")
        factories.visitor(unit=unit, name="陈访客")
        factories.move_in(unit=unit, owner=own.owner, handler_kind="proxy", proxy_name="代办人")
        factories.inspection(unit=unit, inspector="钱验收")

        neighbour = factories.unit(room_no=unit.room_no)
        factories.work_order(unit=neighbour, number="WX20260101-0999", description="邻居家的工单")
        factories.call_log(unit=neighbour, caller="邻居来电")
        db.session.commit()
        return {"unit": unit.id, "room_no": unit.room_no, "owner": own.owner.id, "neighbour": neighbour.id,
                "work_order": order.id}


def test_admin_sees_every_section_with_its_rows(login, app):
    ids = full_unit(app)
    page = text_of(login("admin").get(f"/admin/household/?unit={ids['unit']}"))
    for key in ALL_CARDS:
        assert MARKERS[key] in card(page, key), f"{key} card lacks {MARKERS[key]!r}"
    assert "邻居家的工单" not in page and "邻居来电" not in page
    header = page.split('id="hh-header"', 1)[1].split('class="hh-grid"', 1)[0]
    for text in ("黄业主", "13912345678", "黄太太", "13912345679", "黄小明", "13700001111", "旧租客", "2025-06-30",
                 "89.50", ids["room_no"]):
        assert text in header, text
    assert re.search(r'id="hh-status">装修中<', page)
    # the arrears headline: total, overdue, and the two age buckets
    assert re.search(r'id="hh-total-owed">445\.60<', page)
    assert re.search(r'id="hh-overdue">445\.60<', page)
    assert re.search(r"31–60天</th><td>345\.60<", page) and re.search(r"180天以上</th><td>100\.00<", page)
    # every row links to its record
    assert f'href="/admin/work_order/details/?id={ids["work_order"]}"' in card(page, "work_orders")
    assert f'href="/admin/owner/details/?id={ids["owner"]}"' in header


def test_row_and_list_links_open(login, app):
    ids = full_unit(app)
    b = login("admin")
    page = b.get(f"/admin/household/?unit={ids['unit']}").get_data(as_text=True)
    for key in ALL_CARDS:
        html = card(page, key)
        row = unescape(re.search(r'<td><a href="([^"]+)"', html).group(1))
        assert b.get(row).status_code == 200, row
        everything = unescape(re.search(r'href="([^"]+)" class="hh-all"', html).group(1))
        resp = b.get(everything)
        assert resp.status_code == 200, everything
        assert MARKERS[key] in text_of(resp) or key in ("worker_passes", "custody_patrols"), key
    # 全部 on the work orders card filters the list to the unit's room
    listing = text_of(b.get(unescape(re.search(r'href="([^"]+)" class="hh-all"', card(page, "work_orders")).group(1))))
    assert "WX20260101-0777" in listing


def test_action_buttons_are_prefilled_for_the_unit(login, app):
    ids = full_unit(app)
    b = login("admin")
    page = b.get(f"/admin/household/?unit={ids['unit']}").get_data(as_text=True)
    buttons = {label: unescape(href) for label, href in actions(page).items()}
    expected = {"新建来电": "/admin/call_log/new/", "新建维修工单": "/admin/work_order/new/",
                "新建投诉": "/admin/complaint/new/", "新建放行条": "/admin/release_slip/new/",
                "新建催收记录": "/admin/dunning/new/", "收款": "/admin/payment/new/", "上传资料": "/admin/document/new/"}
    assert set(buttons) == set(expected)
    for label, path in expected.items():
        url = urlsplit(buttons[label])
        assert url.path == path and parse_qs(url.query)["unit"] == [str(ids["unit"])], label
        assert parse_qs(url.query)["url"] == [f"/admin/household/?unit={ids['unit']}"]
        assert b.get(buttons[label]).status_code == 200, label
    assert parse_qs(urlsplit(buttons["上传资料"]).query)["owner"] == [str(ids["owner"])]
    # every form opens with the unit chosen in its picker
    for label, url in buttons.items():
        form = b.get(url).get_data(as_text=True)
        picker = re.search(r'<input[^>]*name="unit"[^>]*>', form)
        assert picker and f"[{ids['unit']}, " in unescape(picker.group(0)), label


def test_maintenance_sees_no_ledger_and_only_the_work_order_button(login, app):
    ids = full_unit(app)
    page = text_of(login("maintenance").get(f"/admin/household/?unit={ids['unit']}"))
    for key in LEDGER_CARDS:
        assert f'id="hh-{key}"' not in page, key
    assert 'id="hh-total-owed"' not in page and "345.60" not in page and "SK20260101-0777" not in page
    for key in set(ALL_CARDS) - set(LEDGER_CARDS):
        assert MARKERS[key] in card(page, key), key
    assert list(actions(page)) == ["新建维修工单"]


def test_leasing_gets_the_fee_buttons_only(login, app):
    ids = full_unit(app)
    page = text_of(login("leasing").get(f"/admin/household/?unit={ids['unit']}"))
    assert list(actions(page)) == ["新建催收记录", "收款"]
    assert MARKERS["charges"] in card(page, "charges") and 'id="hh-total-owed">445.60<' in page


def test_frontdesk_buttons(login, app):
    ids = full_unit(app)
    page = text_of(login("frontdesk").get(f"/admin/household/?unit={ids['unit']}"))
    assert list(actions(page)) == ["新建来电", "新建维修工单", "新建投诉", "新建放行条", "收款", "上传资料"]


def test_empty_unit_lists_its_empty_sections(login, app):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    page = text_of(login("admin").get(f"/admin/household/?unit={unit_id}"))
    assert "没有欠费" in page
    empty = page.split('id="hh-empty"', 1)[1]
    for key in ALL_CARDS:
        assert f'id="hh-{key}"' in empty
    assert 'class="card hh-card"' not in page


def test_unknown_or_garbage_unit_is_404(login, app):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    b = login("admin")
    assert b.get(f"/admin/household/?unit={unit_id}").status_code == 200
    for raw in (str(unit_id + 1000), "abc", "", "-1", "0", "1.5", "99999999999999", "1%20OR%201=1", "%00"):
        assert b.get(f"/admin/household/?unit={raw}").status_code == 404, raw
    assert b.get("/admin/household/").status_code == 404


def test_anonymous_goes_to_login_and_non_readers_are_refused(app, browser, login, monkeypatch):
    with app.app_context():
        unit = factories.unit()
        db.session.commit()
        unit_id = unit.id
    resp = browser.get(f"/admin/household/?unit={unit_id}")
    assert resp.status_code == 302 and "/login" in resp.location
    monkeypatch.setattr(Unit, "__admin__", replace(Unit.__admin__, roles=roles(read={"admin"})))
    assert login("frontdesk").get(f"/admin/household/?unit={unit_id}").status_code == 403


def busy_unit(app, n: int) -> int:
    """A unit with n records in every section that can hold many."""
    with app.app_context():
        own = factories.ownership()
        unit = own.unit
        permit = factories.renovation_permit(ownership=own)
        custody = factories.custody(unit=unit)
        dept = factories.department()
        item = factories.service_item()
        for i in range(n):
            factories.ownership(unit=unit, is_primary=False)
            factories.resident(unit=unit)
            factories.document(unit=unit, owner=own.owner)
            factories.charge(unit=unit, period=f"2025-{i:02d}", due_date=clock.today() - timedelta(days=10 * i))
            factories.payment(unit=unit, clerk_id=None)
            factories.dunning(unit=unit)
            factories.work_order(unit=unit, department=dept)
            factories.followup_visit(unit=unit)
            call = factories.call_log(unit=unit)
            factories.complaint(unit=unit, call_log=call)
            factories.release_slip(unit=unit)
            factories.renovation_permit(ownership=own)
            factories.worker_pass(permit=permit)
            factories.custody(unit=unit)
            factories.custody_patrol(custody=custody)
            factories.service_order(unit=unit, item=item)
            factories.visitor(unit=unit)
            factories.move_in(unit=unit, owner=own.owner)
            factories.inspection(unit=unit)
        db.session.commit()
        return unit.id


def count_statements(app, b, url) -> int:
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert b.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(seen)


def test_statement_count_does_not_grow_with_the_rows(login, app):
    few, many = busy_unit(app, 3), busy_unit(app, 12)
    b = login("admin")
    b.get(f"/admin/household/?unit={few}")  # warm caches (translations, templates)
    small = count_statements(app, b, f"/admin/household/?unit={few}")
    large = count_statements(app, b, f"/admin/household/?unit={many}")
    assert small == large
    # the unit, its arrears, one per section, plus the request's own (session user)
    assert large <= len(SECTIONS) + 2 + 3
    page = text_of(b.get(f"/admin/household/?unit={many}"))
    assert ">全部(12)<" in page and page.count("<tr>") >= 5


def test_household_sections_are_bounded_and_counted(app):
    unit_id = busy_unit(app, 12)
    with app.app_context():
        data = household(unit_id, limit=4)
        work = data["sections"]["work_orders"]
        assert len(work.rows) == 4 and work.total == 12 and work.more == 8
        created = [w.created_at for w in work.rows]
        assert created == sorted(created, reverse=True)
        assert data["sections"]["worker_passes"].total == 12 and data["sections"]["custody_patrols"].total == 12
        assert data["sections"]["owners"].total == 13 and data["sections"]["owners"].rows[0].is_primary
        charges = data["sections"]["charges"]
        assert [c.due_date for c in charges.rows] == sorted(c.due_date for c in charges.rows)
        partial = household(unit_id, can_read=lambda model: model.__tablename__ != "charge")
        assert "charges" not in partial["sections"] and partial["arrears"] is None
        assert household(10**6) is None
        db.session.remove()


def test_every_section_has_a_card(app):
    from admin_views.household import CARDS

    assert {c["key"] for c in CARDS} | {"owners", "residents"} == {key for key, _m, _q in SECTIONS}


def test_details_pages_link_here(login, app):
    ids = full_unit(app)
    b = login("frontdesk")
    page = b.get(f"/admin/work_order/details/?id={ids['work_order']}").get_data(as_text=True)
    assert f'href="/admin/household/?unit={ids["unit"]}"' in page
