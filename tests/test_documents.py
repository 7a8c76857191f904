"""Document uploads: size and real type checked, stored by sha256, downloaded only by readers."""
import hashlib
import io
import struct
import zlib

from app import storage
from app.extensions import db
from schema import Document

from . import factories

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00\xff\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def owner_id(app):
    with app.app_context():
        o = factories.owner()
        db.session.commit()
        return o.id


def upload(b, oid, content, name):
    return b.post("/admin/document/new/", {"doc_type": "id_copy", "title": "身份证复印件", "owner": oid,
                                           "upload": (io.BytesIO(content), name)},
                  content_type="multipart/form-data")


def test_pdf_is_stored_content_addressed_and_downloaded_as_attachment(login, app):
    oid = owner_id(app)
    b = login("frontdesk")
    resp = upload(b, oid, PDF, "../../etc/身份证.pdf")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    with app.app_context():
        doc = db.session.query(Document).one()
        assert doc.sha256 == hashlib.sha256(PDF).hexdigest()
        assert (doc.size, doc.content_type, doc.filename) == (len(PDF), "application/pdf", "身份证.pdf")
        assert storage.path_for(doc.sha256).read_bytes() == PDF
        assert doc.clerk.username == "frontdesk"
        doc_id = doc.id
    resp = login("maintenance").get(f"/admin/document/download/?id={doc_id}")
    assert resp.status_code == 200 and resp.data == PDF
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_png_accepted_and_same_file_stored_once(login, app):
    oid = owner_id(app)
    b = login("frontdesk")
    before = {p for p in storage_root(app).rglob("*") if p.is_file()}
    assert upload(b, oid, png(), "a.png").status_code == 302
    assert upload(b, oid, png(), "b.jpg").status_code == 302
    with app.app_context():
        docs = db.session.query(Document).order_by(Document.id).all()
        assert docs[0].sha256 == docs[1].sha256 and docs[1].filename == "b.png"
    added = {p for p in storage_root(app).rglob("*") if p.is_file()} - before
    assert [p.name for p in added] == [hashlib.sha256(png()).hexdigest()]


def storage_root(app):
    from pathlib import Path

    return Path(app.config["UPLOAD_FOLDER"])


def test_wrong_type_and_oversized_files_are_refused_in_chinese(login, app):
    oid = owner_id(app)
    b = login("frontdesk")
    html = upload(b, oid, b"<svg onload=alert(1)>", "evil.pdf").get_data(as_text=True)
    assert "文件类型不支持" in html
    html = upload(b, oid, b"MZ\x90\x00 executable", "x.png").get_data(as_text=True)
    assert "文件类型不支持" in html
    big = PDF + b"0" * (app.config["MAX_UPLOAD_BYTES"] + 1)
    html = upload(b, oid, big, "big.pdf").get_data(as_text=True)
    assert "文件过大" in html
    html = b.post("/admin/document/new/", {"doc_type": "id_copy", "title": "无文件", "owner": oid}).get_data(as_text=True)
    assert "请选择要上传的文件" in html
    with app.app_context():
        assert db.session.query(Document).count() == 0


def test_document_needs_an_owner_or_unit(login, app):
    b = login("frontdesk")
    html = b.post("/admin/document/new/", {"doc_type": "other", "title": "孤儿资料",
                                           "upload": (io.BytesIO(PDF), "x.pdf")},
                  content_type="multipart/form-data").get_data(as_text=True)
    assert "资料须关联业主、房屋或业务记录" in html


def test_download_needs_login_and_a_real_id(login, app, browser):
    oid = owner_id(app)
    upload(login("frontdesk"), oid, PDF, "a.pdf")
    with app.app_context():
        doc_id = db.session.query(Document).one().id
    assert browser.get(f"/admin/document/download/?id={doc_id}").status_code == 302
    b = login("admin")
    assert b.get("/admin/document/download/?id=999").status_code == 404
    assert b.get("/admin/document/download/?id=../../x").status_code == 404


def test_clean_name_and_path_validation():
    assert storage.clean_name("C:\\Users\\x\\合同\u202e.exe", ".pdf") == "合同.pdf"
    assert storage.clean_name("", ".png") == "file.png"
    import pytest

    with pytest.raises(storage.UploadError):
        storage.path_for("../../etc/passwd")
