"""`flask backup` / `flask restore` (app/backup.py): a round trip brings back every row and document,
the per-table checksums agree across engines, and a bad archive or an unconfirmed restore changes nothing."""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, update

from app import storage
from app.backup import DATABASE, MANIFEST, _uploads, table_checksums
from app.extensions import db
from schema import Document, Estate, Owner

from . import factories
from .conftest import Browser, wipe
from .security_figures import record

pytestmark = pytest.mark.security

PDF = b"%PDF-1.4\n% PropDesk backup test\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


# -- helpers ---------------------------------------------------------------------------------------
def cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def state(app) -> tuple[dict, dict]:
    """(table checksums, {stored file: sha256 of its bytes}): everything a restore replaces."""
    with app.app_context():
        sums = table_checksums(db.engine)
        files = {rel: hashlib.sha256(path.read_bytes()).hexdigest() for rel, path in _uploads()}
    return sums, files


def add_document(app, content: bytes = PDF, title: str = "房屋买卖契约") -> str:
    """A document with its file in content-addressed storage, as the upload form stores it; its sha256."""
    with app.app_context():
        meta = storage.store(io.BytesIO(content), "契约.pdf")
        owner = db.session.scalars(select(Owner).order_by(Owner.id)).first() or factories.owner()
        db.session.add(Document(doc_type="deed", title=title, owner=owner, filename=meta["filename"],
                                content_type=meta["content_type"], size=meta["size"], sha256=meta["sha256"]))
        db.session.commit()
        return meta["sha256"]


def stored(app, sha: str) -> Path:
    with app.app_context():
        return storage.path_for(sha)


def small_dataset(app) -> str:
    """One committed row in every table plus a stored document; the document's sha256."""
    from schema.org import AppUser

    with app.app_context():
        user = AppUser(username="backup", display_name="备份测试", role="admin", active=True)
        user.set_password("Backup-Passw0rd")
        db.session.add(user)
        db.session.commit()
        factories.one_of_each()
    return add_document(app)


def tamper(app):
    """Changes a restore must undo: an edited and a new owner, a deleted document and its file, a stray file."""
    with app.app_context():
        first = db.session.scalars(select(Owner).order_by(Owner.id)).first()
        first.name = "被改动的业主"
        factories.owner(name="备份后新增")
        doc = db.session.scalars(select(Document).where(Document.title == "房屋买卖契约")).first()
        sha = doc.sha256
        db.session.delete(doc)
        db.session.commit()
        storage.path_for(sha).unlink()
    add_document(app, b"%PDF-1.4\nstray file written after the backup\n%%EOF\n", title="备份后上传")


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:*") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def write_archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def engine_name(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


# -- the round trip --------------------------------------------------------------------------------
def test_round_trip_restores_every_table_and_document(app, tmp_path):
    from seed.demo import DEMO_PASSWORD, load

    with app.app_context():
        load(ledger=False)
        factories.one_of_each()
    sha = add_document(app)
    before = state(app)
    assert before[1][f"{sha[:2]}/{sha[2:4]}/{sha}"] == sha

    archive = tmp_path / "propdesk-backup.tar.gz"
    result = cli(app, "backup", str(archive))
    assert result.exit_code == 0, result.output
    assert "备份已写入" in result.output

    tamper(app)
    assert not stored(app, sha).exists()
    changed = state(app)
    assert changed != before
    assert changed[0]["owner"] != before[0]["owner"] and changed[0]["document"] != before[0]["document"]

    result = cli(app, "restore", str(archive), "--yes")
    assert result.exit_code == 0, result.output
    assert "校验一致" in result.output
    after = state(app)
    assert after[0] == before[0]
    assert after[1] == before[1]  # the deleted file is back, the stray one is gone
    assert stored(app, sha).read_bytes() == PDF

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Owner).where(Owner.name == "备份后新增")) == 0
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:  # a new connection on the restored file
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    browser = Browser(app).login("admin", DEMO_PASSWORD)  # the panel works on the restored data
    assert browser.get("/admin/owner/").status_code == 200
    record("backup", tables=len(after[0]), rows=sum(n for n, _sha in after[0].values()), files=len(after[1]),
           round_trips=1)


def test_manifest_lists_tables_and_files_with_their_checksums(app, tmp_path):
    sha = small_dataset(app)
    sums, files = state(app)
    archive = tmp_path / "b.tar"
    assert cli(app, "backup", str(archive)).exit_code == 0
    content = members(archive)
    manifest = json.loads(content[MANIFEST])
    engine = engine_name(app)
    assert manifest["engine"] == engine and manifest["format"] == "propdesk-backup/1"
    assert datetime.fromisoformat(manifest["created"]).tzinfo is not None
    assert "alembic_revision" in manifest and manifest["app_version"]
    assert {t: (v["rows"], v["sha256"]) for t, v in manifest["tables"].items()} == sums
    assert all(v["rows"] >= 1 for t, v in manifest["tables"].items() if t in ("owner", "document", "charge"))
    assert set(content) == {MANIFEST, DATABASE[engine]} | {f"uploads/{rel}" for rel in files}
    for name, data in content.items():
        if name != MANIFEST:
            assert manifest["files"][name] == hashlib.sha256(data).hexdigest(), name
    assert content[f"uploads/{sha[:2]}/{sha[2:4]}/{sha}"] == PDF
    if engine == "sqlite":
        assert content[DATABASE[engine]].startswith(b"SQLite format 3\x00")
        assert content[DATABASE[engine]][18:20] == b"\x02\x02"  # the copy is in WAL mode too
    else:
        assert content[DATABASE[engine]].startswith(b"PGDMP")  # pg_dump's custom format


def test_backup_does_not_overwrite_an_existing_file(app, tmp_path):
    small_dataset(app)
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"an earlier backup")
    result = cli(app, "backup", str(archive))
    assert result.exit_code != 0 and "文件已存在" in result.output
    assert archive.read_bytes() == b"an earlier backup"
    assert [p.name for p in tmp_path.iterdir()] == ["b.tar.gz"]  # no partial file left behind


def test_backup_while_rows_are_being_written_is_consistent(app, tmp_path):
    """The copy and its checksums describe one moment although another connection keeps inserting."""
    small_dataset(app)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    stop, written = threading.Event(), []

    def writer():
        engine = create_engine(url)
        try:
            while not stop.is_set() or len(written) < 20:
                with engine.begin() as conn:
                    conn.execute(insert(Estate.__table__).values(name=f"并发项目{len(written)}", version=1))
                written.append(1)
        finally:
            engine.dispose()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            thread.join(0.01)
        archive = tmp_path / "live.tar.gz"
        result = cli(app, "backup", str(archive))
        after_backup = len(written)
        while len(written) < after_backup + 3:  # rows certainly written after the copy
            thread.join(0.01)
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    manifest = json.loads(members(archive)[MANIFEST])
    in_backup = manifest["tables"]["estate"]["rows"]
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(Estate))
    assert 5 < in_backup < total  # taken while the writer ran
    result = cli(app, "restore", str(archive), "--yes")  # checks the copy against the manifest
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Estate)) == in_backup


# -- checksums -------------------------------------------------------------------------------------
FIXED = {  # table -> rows inserted with Core (no audit rows, no clock): the same on every engine
    "estate": [{"id": 1, "version": 1, "name": "锦绣花园", "address": "深圳市南山区", "phone": "0755-26881234"}],
    "building": [{"id": 2, "version": 1, "estate_id": 1, "name": "3栋", "floors": 18},
                 {"id": 1, "version": 1, "estate_id": 1, "name": "1栋", "floors": None}],
    "unit": [{"id": 7, "version": 3, "building_id": 2, "room_no": "1201", "floor": 12, "area": Decimal("89.5"),
              "usage": "residence", "status": "occupied", "fee_rate": Decimal("2.50"),
              "handover_date": date(2024, 3, 1)}],
    "owner": [{"id": 5, "version": 1, "kind": "person", "name": "王一", "id_type": "resident_id",
               "id_number": "110101199003074477", "phone": "13800000001"}],
    "ownership": [{"id": 1, "version": 1, "owner_id": 5, "unit_id": 7, "share": Decimal("100"),
                   "since": date(2024, 1, 1), "is_primary": True}],
    "audit_log": [{"id": 1, "at": datetime(2026, 11, 27, 9, 30, 15, 250000), "user_id": None, "username": "system",
                   "operation": "新增", "table_name": "unit", "record_id": 7, "action": None,
                   "changes": '{"area": [null, "89.50"]}', "note": "备份测试"}],
}
def encoded(column, value):
    """The documented form of a value in the checksum: money as text with its column's scale, dates and
    times in ISO form (times with microseconds), everything else as JSON has it."""
    if isinstance(value, Decimal):
        return f"{value:.{column.type.scale}f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def expected_checksum(name: str, rows: list[dict]) -> tuple[int, str]:
    table = db.metadata.tables[name]
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r["id"]):
        values = [encoded(c, row.get(c.name)) for c in table.columns if c.computed is None]
        digest.update(json.dumps(values, ensure_ascii=False).encode() + b"\n")
    return len(rows), digest.hexdigest()


def insert_fixed(app, rows=FIXED):
    with app.app_context():
        for name in ("estate", "building", "unit", "owner", "ownership", "audit_log"):
            db.session.execute(insert(db.metadata.tables[name]), rows[name])
        db.session.commit()


def test_checksums_are_the_same_on_sqlite_and_postgresql(app):
    """Both engines give the digest computed here by hand from the rows inserted."""
    insert_fixed(app)
    with app.app_context():
        sums = table_checksums(db.session)
        assert {t: sums[t] for t in FIXED} == {t: expected_checksum(t, rows) for t, rows in FIXED.items()}
    assert all(sums[t] == (0, hashlib.sha256(b"").hexdigest()) for t in sums if t not in FIXED)
    assert encoded(db.metadata.tables["unit"].c.area, Decimal("89.5")) == "89.50"


def test_checksums_follow_the_primary_key_and_see_any_change(app):
    insert_fixed(app)
    with app.app_context():
        first = table_checksums(db.engine)
        assert table_checksums(db.engine) == first
        db.session.execute(update(db.metadata.tables["unit"]).values(area=Decimal("89.51")))
        db.session.commit()
        second = table_checksums(db.engine)
    assert second["unit"][0] == 1 and second["unit"][1] != first["unit"][1]
    assert {t: v for t, v in second.items() if t != "unit"} == {t: v for t, v in first.items() if t != "unit"}
    wipe(app)
    insert_fixed(app, {t: list(reversed(rows)) for t, rows in FIXED.items()})  # insert order does not matter
    with app.app_context():
        assert table_checksums(db.engine)["building"] == first["building"]


# -- refusals --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_archive(app, tmp_path_factory):
    """An archive of the small dataset (the database is emptied again afterwards)."""
    path = tmp_path_factory.mktemp("backup") / "good.tar.gz"
    small_dataset(app)
    result = cli(app, "backup", str(path))
    assert result.exit_code == 0, result.output
    wipe(app)
    return path


def _rename_engine(files: dict[str, bytes]) -> dict[str, bytes]:
    manifest = json.loads(files[MANIFEST])
    theirs = "postgresql" if manifest["engine"] == "sqlite" else "sqlite"
    old, new = DATABASE[manifest["engine"]], DATABASE[theirs]
    manifest["engine"] = theirs
    manifest["files"][new] = manifest["files"].pop(old)
    out = {n: d for n, d in files.items() if n not in (MANIFEST, old)}
    return {MANIFEST: json.dumps(manifest).encode(), new: files[old], **out}


def _flip_database_byte(files):
    engine = json.loads(files[MANIFEST])["engine"]
    data = bytearray(files[DATABASE[engine]])
    data[len(data) // 2] ^= 0xFF
    return {**files, DATABASE[engine]: bytes(data)}


BAD = {  # case -> (make the file at path from the good archive, what the message says)
    "missing": (lambda good, path: None, "找不到文件"),
    "empty": (lambda good, path: path.write_bytes(b""), "不是完整的备份归档"),
    "not an archive": (lambda good, path: path.write_text("业主,电话\n王一,13800000001\n"), "不是完整的备份归档"),
    "truncated": (lambda good, path: path.write_bytes(good.read_bytes()[: good.stat().st_size // 2]),
                  "不是完整的备份归档"),
    "no manifest": (lambda good, path: write_archive(path, {n: d for n, d in members(good).items() if n != MANIFEST}),
                    "缺少清单"),
    "a file missing": (lambda good, path: write_archive(path, dict(list(members(good).items())[:-1])), "不完整"),
    "database altered": (lambda good, path: write_archive(path, _flip_database_byte(members(good))), "校验值与清单不符"),
    "path outside": (lambda good, path: write_archive(path, {**members(good), "../../etc/cron.d/x": b"* * * * *"}),
                     "不属于备份的内容"),
    "symlink": (lambda good, path: _with_symlink(good, path), "不属于备份的内容"),
    "other engine": (lambda good, path: write_archive(path, _rename_engine(members(good))), "不能恢复"),
}


def _with_symlink(good: Path, path: Path) -> None:
    with tarfile.open(good, "r:*") as src, tarfile.open(path, "w:gz") as out:
        for m in src:
            out.addfile(m, src.extractfile(m))
        link = tarfile.TarInfo("uploads/aa/bb/" + "a" * 64)
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        out.addfile(link)


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_archive_is_refused_and_nothing_changes(app, tmp_path, good_archive, case):
    make, message = BAD[case]
    path = tmp_path / "bad.tar.gz"
    make(good_archive, path)
    with app.app_context():
        factories.owner(name="恢复前的业主")
        db.session.commit()
    add_document(app, b"%PDF-1.4\nkept\n%%EOF\n")
    before = state(app)

    result = cli(app, "restore", str(path), "--yes")
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # a click error, not a crash
    assert message in result.output and "未做任何更改" in result.output, result.output
    assert "Traceback" not in result.output
    assert state(app) == before


def test_a_manifest_that_disagrees_with_the_data_fails_the_restore(app, tmp_path, good_archive):
    files = members(good_archive)
    manifest = json.loads(files[MANIFEST])
    manifest["tables"]["owner"]["rows"] += 1
    path = write_archive(tmp_path / "lying.tar.gz", {**files, MANIFEST: json.dumps(manifest).encode()})
    small_dataset(app)
    before = state(app)
    result = cli(app, "restore", str(path), "--yes")
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "owner(应为" in result.output
    if engine_name(app) == "sqlite":  # the copy is checked before the live database is replaced
        assert "与清单不符" in result.output and state(app) == before
    else:  # pg_restore has run: the comparison afterwards says so
        assert "恢复后校验不一致" in result.output


def test_restore_asks_first_and_changes_nothing_unless_confirmed(app, tmp_path):
    small_dataset(app)
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", str(archive)).exit_code == 0
    backed_up = state(app)
    tamper(app)
    changed = state(app)

    for answer in (None, "n\n", "\n"):
        result = cli(app, "restore", str(archive), input=answer)
        assert result.exit_code != 0, answer
        assert "覆盖当前数据库" in result.output and "未确认,未做任何更改" in result.output
        assert state(app) == changed

    result = cli(app, "restore", str(archive), input="y\n")
    assert result.exit_code == 0, result.output
    assert state(app) == backed_up
