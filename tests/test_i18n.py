"""The language switch: our Chinese msgids have English translations, and /lang/en shows them.

(a) every msgid tools.i18n_msgids collects (labels, menus, categories, choice labels, role labels,
    template strings, validator templates) has a translation in the en catalog — a new entity or
    column without one fails here;
(b) the panel itself switches: list page, Flask-Admin's own strings, choice labels, required-field
    messages and the xlsx export headers, and /lang/zh_Hans_CN switches back.
"""
from __future__ import annotations

import io
import os
import re
import tempfile

import openpyxl
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app import clock
from app.extensions import db
from schema import Owner
from schema.spec import label_of
from tools.i18n_msgids import EN_PO, collect

from . import factories

EN_MO = EN_PO.with_suffix(".mo")
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def _read_catalog():
    with EN_PO.open("rb") as fh:
        return read_po(fh, locale="en", domain="messages")


def ensure_compiled() -> None:
    """Compile the en catalog when its .mo is missing or older than the .po (`make test` does too).

    Runs when this module is imported, i.e. at collection, before any test has asked flask_babel
    for (and cached) the English translations."""
    if EN_MO.exists() and EN_MO.stat().st_mtime >= EN_PO.stat().st_mtime:
        return
    catalog = _read_catalog()
    fd, tmp = tempfile.mkstemp(dir=EN_MO.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalog)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; the server may run as another user
        os.replace(tmp, EN_MO)  # atomic: a parallel worker never reads half a file
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


ensure_compiled()


@pytest.fixture(scope="module")
def english():
    """msgid -> English msgstr from the .po."""
    return {m.id: m.string for m in _read_catalog() if m.id}


# -- (a) the catalog covers every msgid -------------------------------------------------------
def test_collect_finds_every_kind_of_msgid():
    ids = collect()
    for sample in ("证件号码", "业主",  # column and relationship labels
                   "资料档案", "业主与住户",  # menu, category
                   "空置", "统一社会信用代码",  # choice labels
                   "系统管理员", "工程维修",  # ROLE_LABELS
                   "编号", "是", "否", "请填写%(label)s", "请选择%(label)s",  # fixed strings
                   "退出登录", "登录", "用户名", "密码", "返回首页", "物业客服管理台", "欢迎,", "今天是"):  # templates
        assert sample in ids, sample
    assert "版本" in ids  # every column label, even those the forms hide


def test_every_msgid_has_an_english_translation():
    catalog = _read_catalog()
    assert str(catalog.locale) == "en"
    assert not catalog.fuzzy, "the header is marked fuzzy: pybabel compile would skip the whole catalog"
    missing = []
    for msgid in sorted(collect()):
        message = catalog.get(msgid)
        if message is None or not (message.string or "").strip() or message.fuzzy:
            missing.append(msgid)
    assert not missing, ("add English translations to app/translations/en/LC_MESSAGES/messages.po "
                         f"(python -m tools.i18n_msgids lists them): {missing}")


def test_translations_are_english_and_keep_placeholders():
    catalog = _read_catalog()
    errors = [(m.id, [str(e) for e in errs]) for m, errs in catalog.check()]
    assert not errors, errors  # babel's checkers, incl. python-format consistency
    for m in catalog:
        if not m.id:
            continue
        assert not CJK.search(m.string), f"{m.id!r} is translated to Chinese: {m.string!r}"
        assert sorted(PLACEHOLDER.findall(m.id)) == sorted(PLACEHOLDER.findall(m.string)), m.id


def test_catalog_is_compiled():
    assert EN_MO.exists() and EN_MO.stat().st_mtime >= EN_PO.stat().st_mtime


# -- (b) the panel switches language ----------------------------------------------------------
def _xlsx_rows(resp):
    assert resp.status_code == 200, resp.status_code
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    return list(ws.iter_rows(values_only=True))


def _owner_export_labels():
    """The Chinese header of the owner export: the spec's export columns (default: its list)."""
    spec = Owner.__admin__
    return [label_of(Owner, c) for c in (spec.export or spec.list)]


def test_language_switch_translates_list_export_and_back(login, app, english):
    with app.app_context():
        factories.owner(name="张三", kind="person", id_type="resident_id")
        db.session.commit()
    b = login("admin")

    # Chinese by default
    html = b.get("/admin/owner/").get_data(as_text=True)
    assert "业主" in html and "证件号码" in html and "居民身份证" in html
    assert "ID number" not in html
    header, *rows = _xlsx_rows(b.get("/admin/owner/export/xlsx/"))
    assert list(header) == _owner_export_labels()

    # English
    resp = b.get("/lang/en?next=/admin/owner/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/owner/")
    resp = b.get("/admin/owner/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Owner" in html and "ID number" in html  # our labels and menu
    assert "Owners & Residents" in html.replace("&amp;", "&")  # menu category
    assert "Individual" in html and "Resident ID card" in html  # choice labels in the list
    assert "List" in html and "Create" in html  # Flask-Admin's own strings
    assert "Log out" in html  # template string
    for chinese in ("证件号码", "业主与住户", "居民身份证", "退出登录"):
        assert chinese not in html, chinese

    resp = b.get("/admin/owner/export/xlsx/")
    header, *rows = _xlsx_rows(resp)
    expected = [english[label] for label in _owner_export_labels()]
    assert list(header) == expected
    assert "ID number" in header and "Name / company name" in header
    assert not any(CJK.search(h) for h in header), header
    row = dict(zip(header, rows[0]))
    assert row["Type"] == "Individual" and row["ID type"] == "Resident ID card"
    assert f"Owner_{clock.today():%Y%m%d}.xlsx" in resp.headers["Content-Disposition"]

    # and back to Chinese
    assert b.get("/lang/zh_Hans_CN?next=/admin/owner/").status_code == 302
    html = b.get("/admin/owner/").get_data(as_text=True)
    assert "业主" in html and "证件号码" in html and "居民身份证" in html
    assert "ID number" not in html and "Resident ID card" not in html
    header, *rows = _xlsx_rows(b.get("/admin/owner/export/xlsx/"))
    assert list(header) == _owner_export_labels()


def test_required_field_messages_follow_the_language(login):
    b = login("admin")
    empty = {"kind": "person", "id_type": "resident_id", "name": "", "id_number": "", "phone": ""}

    html = b.post("/admin/owner/new/", empty).get_data(as_text=True)
    assert "请填写姓名/单位名称" in html and "请填写证件号码" in html

    b.get("/lang/en")
    html = b.post("/admin/owner/new/", empty).get_data(as_text=True)
    assert "Name / company name is required" in html and "ID number is required" in html
    assert "请填写" not in html

    b.get("/lang/en")
    html = b.post("/admin/unit/new/", {"room_no": "101", "area": "80"}).get_data(as_text=True)
    assert "Please choose Building" in html


def test_login_page_switches(browser):
    assert "用户名" in browser.get("/login").get_data(as_text=True)
    browser.get("/lang/en?next=/login")
    html = browser.get("/login").get_data(as_text=True)
    assert "Username" in html and "Password" in html and "Log in" in html
    assert "用户名" not in html
