"""全局搜索: the classification of the box's text, what each kind of text finds, the roles' limits,
and the page (/admin/search/?q=) with its groups and 一户一档 links; garbage never answers 500."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import event

from app import search as gs
from app.extensions import db
from schema.spec import ROLES

from . import factories

ALL_ROLES = frozenset(ROLES)


def find(q, roles=ALL_ROLES):
    return gs.search(q, roles)


def ids(results, key) -> list[int]:
    group = results.group(key)
    return [h.id for h in group.hits] if group else []


def keys(results) -> list[str]:
    return [g.key for g in results.groups]


def page_text(resp) -> str:
    return unescape(resp.get_data(as_text=True))


# -- classification ------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, mode", [
    ("SK20261127-0001", "number"), ("wx20261127-0012", "number"), ("FX202611270001", "number"),
    ("WX20261127", "number_prefix"), ("WX2026", "number_prefix"), ("BH20261126-", "number_prefix"),
    ("XT", "number_prefix"),
    ("13912345678", "phone"), ("139-1234-5678", "phone"), ("139 1234 5678", "phone"),
    ("+8613912345678", "phone"), ("0755-26881234", "phone"), ("075526881234", "phone"),
    ("440305199003070012", "id_number"), ("44030519900307001x", "id_number"),
    ("5678", "tail"), ("012X", "tail"),
    ("3栋1201", "unit"), ("3-1201", "unit"), ("3 1201", "unit"), ("3栋-1201", "unit"), ("3栋 1201", "unit"),
    ("A座1201", "unit"), ("12号楼0801", "unit"), ("3-1201室", "unit"),
    ("张三", "text"), ("ZL2026-001", "text"), ("ZL2026", "text"), ("12345", "text"),
])
def test_classify(typed, mode):
    query = gs.classify(typed)
    assert query.hint is None and query.mode == mode, query


@pytest.mark.parametrize("typed, hint", [
    ("", "empty"), ("   ", "empty"), ("\x00\x01", "empty"), ("张", "too_short"), ("a", "too_short"),
    ("x" * 101, "too_long"), ("张" * 5000, "too_long"),
])
def test_classify_hints(typed, hint):
    assert gs.classify(typed).hint == hint


def test_full_width_input_is_folded():
    assert gs.classify("１３９１２３４５６７８").mode == "phone"
    assert gs.classify("ＷＸ２０２６１１２７－０００１").values == ("WX", "WX20261127-0001")


def test_prefix_upper_bounds():
    assert gs.successor("WX20261127") == "WX20261128"
    assert gs.successor("WX20261129") == "WX2026113"
    assert gs.successor("BH20261126-") == "BH20261127"
    assert gs.successor("张三") == "张上"
    assert gs.successor("99") is None


# -- what each kind of text finds ----------------------------------------------------------------------
def test_full_phone_finds_people_calls_and_visitors(ctx):
    phone = "13912345678"
    owner = factories.owner(name="张三", phone=phone)
    own = factories.ownership(owner=owner)
    res = factories.resident(unit=own.unit, name="张小三", phone=phone)
    call = factories.call_log(phone=phone, unit=own.unit)
    visit = factories.visitor(phone=phone)
    other = factories.owner(name="李四", phone="13912345679")
    db.session.commit()
    for typed in (phone, "139-1234-5678", "139 1234 5678", "+86 139 1234 5678"):
        found = find(typed)
        assert found.query.mode == "phone"
        assert ids(found, "owner") == [owner.id]
        assert ids(found, "resident") == [res.id]
        assert ids(found, "call_log") == [call.id]
        assert ids(found, "visitor") == [visit.id]
    assert other.id not in ids(find(phone), "owner")
    hit = find(phone).group("owner").hits[0]
    assert hit.unit_id == own.unit.id and hit.units == ((own.unit.id, str(own.unit)),)
    assert "13912345678" in hit.subtitle  # staff see the full number


def test_landline_in_either_spelling(ctx):
    a = factories.owner(name="王五", phone="0755-26881234")
    b = factories.owner(name="赵六", phone="075526881234")
    db.session.commit()
    for typed in ("0755-26881234", "075526881234", "0755 2688 1234"):
        assert sorted(ids(find(typed), "owner")) == sorted([a.id, b.id])


def test_last_four_of_phone(ctx):
    owner = factories.owner(name="张三", phone="13900005678")
    res = factories.resident(name="李四", phone="13800005678")
    miss = factories.owner(name="王五", phone="13900006789")
    db.session.commit()
    found = find("5678")
    assert found.query.mode == "tail"
    assert ids(found, "owner") == [owner.id]
    assert ids(found, "resident") == [res.id]
    assert miss.id not in ids(found, "owner")


def test_full_id_and_last_four(ctx):
    owner = factories.owner(name="张三")
    x_id = next(factories.resident_id(serial=n) for n in range(1, 1000)
                if factories.resident_id(serial=n).endswith("X"))
    res = factories.resident(name="李四", id_number=x_id)
    slip = factories.release_slip(id_number=owner.id_number, number="FX20261120-0001", status="issued")
    db.session.commit()
    found = find(owner.id_number)
    assert found.query.mode == "id_number"
    assert ids(found, "owner") == [owner.id]
    assert ids(found, "release_slip") == [slip.id]
    assert ids(find(x_id.lower()), "resident") == [res.id]  # a lower-case x still finds it
    assert ids(find(owner.id_number[-4:]), "owner") == [owner.id]
    tail = find(x_id[-4:].lower())
    assert tail.query.mode == "tail" and ids(tail, "resident") == [res.id]
    lower = factories.resident(name="王五", id_number=x_id.lower())  # stored with a lower-case x
    db.session.commit()
    assert sorted(ids(find(x_id[-4:]), "resident")) == sorted([res.id, lower.id])
    assert sorted(ids(find(x_id), "resident")) == sorted([res.id, lower.id])


def test_unit_in_every_spelling(ctx):
    b3 = factories.building(name="3栋")
    unit = factories.unit(building=b3, room_no="1201")
    factories.unit(building=b3, room_no="1202")
    factories.unit(building=factories.building(name="13栋"), room_no="1201")
    own = factories.ownership(unit=unit, owner=factories.owner(name="陈七"))
    db.session.commit()
    for typed in ("3栋1201", "3-1201", "3 1201", "3栋-1201", "3栋 1201", "3幢1201", "3－1201"):
        found = find(typed)
        assert found.query.mode == "unit", typed
        assert ids(found, "unit") == [unit.id], typed
    hit = find("3栋1201").group("unit").hits[0]
    assert hit.title == "3栋1201" and hit.unit_id == unit.id
    assert "陈七" in hit.subtitle  # the unit's owner
    assert own.owner.name == "陈七"


def test_four_digits_also_match_room_numbers(ctx):
    unit = factories.unit(building=factories.building(name="5栋"), room_no="1203")
    db.session.commit()
    assert ids(find("1203"), "unit") == [unit.id]


@pytest.mark.parametrize("kind, make, column", [
    ("payment", lambda n: factories.payment(receipt_no=n), "SK"),
    ("work_order", lambda n: factories.work_order(number=n), "WX"),
    ("release_slip", lambda n: factories.release_slip(number=n, status="issued"), "FX"),
    ("complaint", lambda n: factories.complaint(number=n), "TS"),
    ("renovation_permit", lambda n: factories.renovation_permit(number=n, status="approved"), "ZX"),
    ("service_order", lambda n: factories.service_order(number=n), "FW"),
    ("dept_check", lambda n: factories.dept_check(number=n), "BH"),
    ("dept_check", lambda n: factories.dept_check(number=n, slip_kind="coordination"), "XT"),
])
def test_each_number_kind(ctx, kind, make, column):
    wanted = make(f"{column}20261127-0001")
    make(f"{column}20261127-0002")
    make(f"{column}20261128-0001")
    db.session.commit()
    exact = find(f"{column}20261127-0001")
    assert exact.query.mode == "number" and keys(exact) == [kind]
    assert ids(exact, kind) == [wanted.id]
    assert exact.group(kind).hits[0].title == f"{column}20261127-0001"
    assert ids(find(f"{column.lower()}202611270001"), kind) == [wanted.id]  # lower case, no dash
    day = find(f"{column}20261127")
    assert day.query.mode == "number_prefix"
    assert [h.title for h in day.group(kind).hits] == [f"{column}20261127-0002", f"{column}20261127-0001"]
    assert len(find(column).group(kind).hits) == 3


def test_number_hits_carry_their_unit(ctx):
    wo = factories.work_order(number="WX20261127-0007")
    db.session.commit()
    hit = find("WX20261127-0007").group("work_order").hits[0]
    assert hit.unit_id == wo.unit_id and hit.units[0][1] == str(wo.unit)


def test_name_prefix_and_contract(ctx):
    a = factories.owner(name="张三")
    b = factories.owner(name="张三丰")
    factories.owner(name="李张三")
    r = factories.resident(name="张三妹")
    le = factories.lease(contract_no="ZL2026-001", tenant_name="张三影")
    factories.lease(contract_no="ZL2025-009", tenant_name="刘强")
    db.session.commit()
    found = find("张三")
    assert found.query.mode == "text"
    assert ids(found, "owner") == [a.id, b.id]
    assert ids(found, "resident") == [r.id]
    assert ids(found, "lease") == [le.id]
    assert ids(find("ZL2026"), "lease") == [le.id]
    assert ids(find("zl2026-0"), "lease") == [le.id]


def test_wildcards_are_literal(ctx):
    plain = factories.owner(name="张三")
    odd = factories.owner(name="张%三")
    under = factories.owner(name="王_五")
    slash = factories.owner(name="王/五")
    factories.owner(name="王大五")
    factories.lease(contract_no="ZL_2026", tenant_name="刘强")
    db.session.commit()
    assert ids(find("张%"), "owner") == [odd.id]
    assert plain.id not in ids(find("张%"), "owner")
    assert ids(find("王_"), "owner") == [under.id]
    assert ids(find("王/"), "owner") == [slash.id]
    assert find("%%").groups == [] and find("__").groups == []
    assert find("%1234").groups == [] and find("\\%").groups == []
    assert find("_L").groups == []


def test_at_most_ten_per_kind(ctx):
    for n in range(gs.PER_KIND + 2):
        factories.owner(name=f"周某{n:02d}")
    db.session.commit()
    group = find("周某").group("owner")
    assert len(group.hits) == gs.PER_KIND and group.more
    assert [h.title for h in group.hits] == [f"周某{n:02d}" for n in range(gs.PER_KIND)]
    assert not find("周某1").group("owner").more


def test_nothing_found_is_an_empty_result(ctx):
    factories.owner(name="张三")
    db.session.commit()
    for typed in ("不存在的人", "SK20991231-9999", "13000000000", "9栋9999"):
        assert find(typed).groups == []


# -- roles -------------------------------------------------------------------------------------------
def test_kinds_the_role_cannot_read_are_not_searched(ctx):
    """Maintenance may not read the ledger (LEDGER_READERS): receipts never reach it; owners do."""
    from schema.ledger import Payment

    assert not Payment.__admin__.roles.allows("read", {"maintenance"})
    pay = factories.payment(receipt_no="SK20261127-0031")
    owner = factories.owner(name="张三", phone="13912340000")
    db.session.commit()
    assert ids(find("SK20261127-0031", {"leasing"}), "payment") == [pay.id]
    assert ids(find("SK20261127-0031", {"frontdesk"}), "payment") == [pay.id]
    assert find("SK20261127-0031", {"maintenance"}).groups == []
    assert find("SK2026", {"maintenance"}).groups == []
    assert ids(find("13912340000", {"maintenance"}), "owner") == [owner.id]


def test_every_kind_searched_is_readable_by_the_role(users, ctx):
    factories.one_of_each()
    for role in ROLES:
        for typed in ("SK20261127", "张三", "13800000000", "0001", "3栋1201"):
            for group in find(typed, {role}).groups:
                model = next(k.model for k in gs.KINDS if k.key == group.key)
                assert model.__admin__.roles.allows("read", {role}), (role, group.key)


def test_lookups_never_scan_a_large_table_unless_listed(ctx, app):
    """On SQLite, every lookup — last-4 included, through the generated tail columns — reads an index:
    EXPLAIN QUERY PLAN shows no full SCAN of a searched table. (PostgreSQL plans depend on table
    statistics, so the plan is checked here; the benchmark times both.)"""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("query plans are checked on SQLite")
    gaps = {}  # visitor.phone, resident.id_number, building.name and the phone/ID tails are indexed
    owner = factories.owner(name="张三", phone="13912345678", id_number="440305199003070012")
    factories.ownership(owner=owner, unit=factories.unit(building=factories.building(name="3栋"), room_no="1201"))
    factories.work_order(number="WX20261127-0001")
    db.session.commit()
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    for typed in ("SK20261127-0001", "WX20261127", "13912345678", "0755-26881234", "440305199003070012",
                  "1234", "3栋1201", "张三", "ZL2026"):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            query = find(typed).query
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert statements, typed
        allowed = gaps.get(query.mode, set())
        with db.engine.connect() as conn:
            for statement, parameters in statements:
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                scans = {m.group(1) for row in plan if (m := re.match(r"SCAN (\w+)", row[-1]))}
                assert scans <= allowed, (typed, scans, statement)


# -- the page ------------------------------------------------------------------------------------
SEARCH = "/admin/search/"


def test_anonymous_is_sent_to_login(app, users):
    resp = app.test_client().get(SEARCH + "?q=13912345678")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"] and "next=" in resp.headers["Location"]


def test_page_groups_results_with_household_links(app, login):
    with app.app_context():
        owner = factories.owner(name="张三", phone="13912345678")
        own = factories.ownership(owner=owner)
        res = factories.resident(unit=own.unit, name="张小三", phone="13912345678")
        call = factories.call_log(phone="13912345678", unit=own.unit)
        db.session.commit()
        owner_id, unit_id, res_id, call_id, unit_label = owner.id, own.unit.id, res.id, call.id, str(own.unit)
    resp = login("frontdesk").get(SEARCH + "?q=139-1234-5678")
    assert resp.status_code == 200
    html = page_text(resp)
    for key, label in (("owner", "业主"), ("resident", "住户"), ("call_log", "来电记录")):
        block = html.split(f'id="search-{key}"', 1)[1].split('class="card mb-3', 1)[0]
        assert label in block and 'search-count">1<' in block, key
    assert html.index('id="search-owner"') < html.index('id="search-resident"') < html.index('id="search-call_log"')
    assert f'href="/admin/owner/details/?id={owner_id}"' in html
    assert f'href="/admin/resident/details/?id={res_id}"' in html
    assert f'href="/admin/call_log/details/?id={call_id}"' in html
    assert f'href="/admin/household/?unit={unit_id}"' in html
    assert f"一户一档 · {unit_label}" in html
    assert "按电话号码查找" in html
    assert 'value="139-1234-5678"' in html  # the box keeps the query


def test_household_link_opens(app, login):
    with app.app_context():
        unit = factories.unit(building=factories.building(name="3栋"), room_no="1201")
        db.session.commit()
        unit_id = unit.id
    browser = login("maintenance")
    html = page_text(browser.get(SEARCH + "?q=3-1201"))
    href = re.search(r'href="(/admin/household/\?unit=\d+)"', html).group(1)
    assert href == f"/admin/household/?unit={unit_id}"
    assert browser.get(href).status_code == 200
    assert f'href="/admin/unit/details/?id={unit_id}"' in html


def test_page_hides_what_the_role_cannot_read(app, login):
    with app.app_context():
        factories.payment(receipt_no="SK20261127-0041")
        db.session.commit()
    assert 'id="search-payment"' in page_text(login("leasing").get(SEARCH + "?q=SK20261127-0041"))
    html = page_text(login("maintenance").get(SEARCH + "?q=SK20261127-0041"))
    assert 'id="search-payment"' not in html and "SK20261127-0041</a>" not in html
    assert 'id="search-empty"' in html


def test_more_than_ten_says_so(app, login):
    with app.app_context():
        for n in range(12):
            factories.owner(name=f"周某{n:02d}")
        db.session.commit()
    html = page_text(login("frontdesk").get(SEARCH + "?q=周某"))
    assert 'search-count">10+<' in html and "仅显示前10条" in html


@pytest.mark.parametrize("q", [
    "", "   ", "a", "张", "x" * 5000, "%", "%%", "_", "__", "%_%", "\\", "'; DROP TABLE owner; --",
    "<script>alert(1)</script>", "\x00", "%00", "😀😀", "SK", "WX9999", "0" * 18, "1" * 40,
    "3栋", "-", "--1201", "栋1201",
])
def test_empty_and_garbage_queries_answer_200(app, login, q):
    browser = login("frontdesk")
    resp = browser.get(SEARCH, query_string={"q": q})
    assert resp.status_code == 200, q
    assert "<script>alert(1)</script>" not in resp.get_data(as_text=True)


def test_hints_instead_of_errors(app, login):
    browser = login("frontdesk")
    assert "请输入电话、姓名、证件号、房号或单号" in page_text(browser.get(SEARCH))
    assert "请至少输入2个字符" in page_text(browser.get(SEARCH + "?q=张"))
    assert "搜索内容过长" in page_text(browser.get(SEARCH, query_string={"q": "张" * 300}))
    assert browser.get(SEARCH + "?q=%00%00").status_code == 200
    assert "未找到匹配的记录" in page_text(browser.get(SEARCH + "?q=没有这个人"))


def test_top_bar_box_on_every_page(app, login):
    browser = login("maintenance")
    html = page_text(browser.get("/admin/"))
    form = re.search(r'<form[^>]*id="global-search"[^>]*>', html).group(0)
    assert 'action="/admin/search/"' in form and 'method="get"' in form
    assert 'name="q"' in html.split('id="global-search"', 1)[1].split("</form>", 1)[0]
    assert html.index('id="global-search"') < html.index('id="current-user"')
