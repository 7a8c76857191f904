"""Backup and restore (备份与恢复): `flask backup PATH`, `flask restore PATH [--yes]`.

PATH is one tar archive (gzip-compressed unless it ends in .tar) holding
    manifest.json            created, app version, Alembic revision, engine, per-table (rows, sha256),
                             each file's sha256
    database.sqlite          SQLite: a copy by the online backup API, consistent while the server writes (WAL)
    database.dump            PostgreSQL: pg_dump --format=custom of the snapshot the checksums were read in
    uploads/aa/bb/<sha256>   the content-addressed documents (app/storage.py)
The database is copied before the uploads: a file is stored before the row naming it commits and never
changes, so every file a copied row names is in the archive.

Restore reads and checks the whole archive (every file against the manifest, the engine, on SQLite the
copy's own integrity and checksums) before it touches anything, then replaces the database and the
uploads and compares the checksums again. Checksums (`table_checksums`) read rows through SQLAlchemy's
types and hash them as JSON text, so SQLite and PostgreSQL give the same digest for the same data.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Numeric, create_engine, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.pool import NullPool

from .clock import OFFICE_TZ
from .extensions import db

FORMAT = "propdesk-backup/1"
MANIFEST = "manifest.json"
DATABASE = {"sqlite": "database.sqlite", "postgresql": "database.dump"}
ENGINE_LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
UPLOAD = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
"""A stored document's path under UPLOAD_FOLDER (storage.path_for); other files there are not kept."""
CHUNK = 1024 * 1024


class BackupError(click.ClickException):
    """A refused backup or restore, with the Chinese reason (exit code 1)."""


# ---------------------------------------------------------------- checksums


def _plain(column, value):
    """A value as engine-independent JSON: money with its column's scale, times in ISO form."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        scale = getattr(column.type, "scale", None) if isinstance(column.type, Numeric) else None
        return format(value.quantize(Decimal(1).scaleb(-scale)) if scale is not None else value.normalize(), "f")
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def table_checksums(bind) -> dict[str, tuple[int, str]]:
    """{table: (row count, sha256 of its rows in primary-key order)} for the app's tables present in the
    database behind `bind` (a Session, Engine or Connection). A row hashes as one line of JSON: its stored
    columns in table order, money as text with the column's scale, dates and times in ISO form."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return table_checksums(conn)
    conn = bind.connection() if isinstance(bind, (Session, scoped_session)) else bind
    present = set(inspect(conn).get_table_names())
    out = {}
    for table in sorted(db.metadata.sorted_tables, key=lambda t: t.name):
        if table.name not in present:
            continue
        digest, rows = hashlib.sha256(), 0
        columns = [c for c in table.columns if c.computed is None]  # generated columns follow from the rest
        result = conn.execution_options(yield_per=2000).execute(select(*columns).order_by(*table.primary_key.columns))
        for row in result:
            line = json.dumps([_plain(c, v) for c, v in zip(columns, row)], ensure_ascii=False)
            digest.update(line.encode() + b"\n")
            rows += 1
        out[table.name] = (rows, digest.hexdigest())
    return out


def alembic_revision(conn) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- the database, per engine


def _engine_name() -> str:
    name = db.engine.dialect.name
    if name not in DATABASE:
        raise BackupError(f"不支持备份 {name} 数据库(仅支持 SQLite 和 PostgreSQL)")
    if name == "sqlite" and db.engine.url.database in (None, "", ":memory:"):
        raise BackupError("内存数据库无法备份或恢复,请使用数据库文件")
    return name


def _file_engine(path: Path) -> Engine:
    """An engine on an SQLite file other than the app's (the copy in a backup); app/__init__.py's
    connect hook gives its connections foreign keys and WAL like the app's own."""
    return create_engine(f"sqlite:///{path}", poolclass=NullPool)


def _plain_connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A bare sqlite3 connection for the backup API (which needs one), with foreign keys on as everywhere."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True) if readonly else sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _sqlite_backup(target: Path):
    """Copy the live database in one read transaction: WAL lets the server keep writing meanwhile."""
    raw = db.engine.raw_connection()  # app/__init__.py's pragmas apply: foreign keys, WAL
    try:
        dest = _plain_connect(target)
        try:
            raw.driver_connection.backup(dest)
        finally:
            dest.close()
    finally:
        raw.close()
    engine = _file_engine(target)
    try:
        with engine.connect() as conn:
            return table_checksums(conn), alembic_revision(conn)
    finally:
        engine.dispose()


def _libpq(url) -> tuple[str, dict]:
    """The app's SQLAlchemy URL as a libpq URI for pg_dump/pg_restore; the password goes by environment."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(args: list[str], env: dict) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"找不到 {args[0]}:请安装 PostgreSQL 客户端(与服务器主版本一致)") from None
    if done.returncode != 0:
        raise BackupError(f"{args[0]} 执行失败:{done.stderr.strip()[-800:]}")


def _pg_backup(target: Path):
    """pg_dump the snapshot the checksums are read in, so the two describe the same moment."""
    uri, env = _libpq(db.engine.url)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--file", str(target), "--dbname", uri], env)
            return table_checksums(conn), alembic_revision(conn)


# ---------------------------------------------------------------- writing an archive


def _uploads() -> list[tuple[str, Path]]:
    """(path under UPLOAD_FOLDER, file) of every stored document."""
    root = Path(current_app.config["UPLOAD_FOLDER"])
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if UPLOAD.fullmatch(rel) and path.is_file() and not path.is_symlink():
            found.append((rel, path))
    return sorted(found)


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("propdesk")
    except PackageNotFoundError:
        return "unknown"


def create_backup(path: Path) -> dict:
    """Write the archive at `path` (atomically: a partial archive never bears the name); its manifest."""
    engine = _engine_name()
    if path.is_dir():
        raise BackupError(f"{path} 是一个目录,请给出备份文件名,如 {path / 'propdesk-backup.tar.gz'}")
    if path.exists():
        raise BackupError(f"文件已存在:{path}(不会覆盖已有的备份,请换一个文件名)")
    if not path.parent.is_dir():
        raise BackupError(f"目录不存在:{path.parent}")
    work = Path(tempfile.mkdtemp(prefix=".propdesk-backup-", dir=path.parent))
    try:
        dump = work / DATABASE[engine]
        tables, revision = (_sqlite_backup if engine == "sqlite" else _pg_backup)(dump)
        files = {DATABASE[engine]: (dump, _sha256(dump))}
        for rel, source in _uploads():
            files[f"uploads/{rel}"] = (source, _sha256(source))
        manifest = {
            "format": FORMAT, "created": datetime.now(OFFICE_TZ).isoformat(timespec="seconds"),
            "app_version": _app_version(), "alembic_revision": revision, "engine": engine,
            "tables": {name: {"rows": rows, "sha256": sha} for name, (rows, sha) in tables.items()},
            "files": {name: sha for name, (_source, sha) in files.items()},
        }
        partial = work / "archive"
        with tarfile.open(partial, "w" if path.name.endswith(".tar") else "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
            _add(tar, MANIFEST, len(data), io.BytesIO(data))
            for name, (source, _sha) in files.items():
                with open(source, "rb") as fh:
                    _add(tar, name, os.fstat(fh.fileno()).st_size, fh)
        os.replace(partial, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _add(tar, name: str, size: int, fh) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    tar.addfile(info, fh)


# ---------------------------------------------------------------- reading and checking an archive


@dataclass
class Archive:
    """A checked archive unpacked into `folder`."""

    manifest: dict
    folder: Path
    uploads: dict[str, str] = field(default_factory=dict)
    """path under UPLOAD_FOLDER -> sha256."""

    @property
    def database(self) -> Path:
        return self.folder / DATABASE[self.manifest["engine"]]


def _refuse(message: str):
    raise BackupError(f"备份文件无法使用:{message}。未做任何更改")


def open_archive(path: Path, folder: Path) -> Archive:
    """Unpack and check `path` into `folder`: known names only, every file present with its sha256."""
    if not path.is_file():
        _refuse(f"找不到文件 {path}" if not path.exists() else f"{path} 不是文件")
    digests: dict[str, str] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name
                if name in digests:
                    _refuse(f"文件 {name} 出现了两次")
                if not member.isfile() or not (name == MANIFEST or name in DATABASE.values()
                                               or (name.startswith("uploads/") and UPLOAD.fullmatch(name[8:]))):
                    _refuse(f"包含不属于备份的内容({name[:100]})")
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with tar.extractfile(member) as src, open(target, "wb") as out:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                digests[name] = digest.hexdigest()
    except (tarfile.TarError, EOFError, zlib.error, OSError, UnicodeError) as exc:
        _refuse(f"不是完整的备份归档(可能已损坏或被截断:{type(exc).__name__})")
    if MANIFEST not in digests:
        _refuse("缺少清单 manifest.json")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files, tables, engine = manifest["files"], manifest["tables"], manifest["engine"]
        valid = (manifest.get("format") == FORMAT and engine in DATABASE and isinstance(files, dict)
                 and isinstance(tables, dict) and DATABASE[engine] in files
                 and all(isinstance(t, dict) and isinstance(t.get("rows"), int) and isinstance(t.get("sha256"), str)
                         for t in tables.values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        _refuse("清单 manifest.json 格式不正确")
    listed = set(files) | {MANIFEST}
    if missing := sorted(set(files) - set(digests)):
        _refuse(f"不完整,缺少 {len(missing)} 个文件(如 {missing[0]})")
    if extra := sorted(set(digests) - listed):
        _refuse(f"包含清单中没有的文件 {extra[0]}")
    if bad := sorted(n for n in files if files[n] != digests[n]):
        _refuse(f"{len(bad)} 个文件的校验值与清单不符(如 {bad[0]}),文件已损坏或被改动")
    uploads = {n[8:]: files[n] for n in files if n.startswith("uploads/")}
    return Archive(manifest, folder, uploads)


def _check_engine(archive: Archive, engine: str) -> None:
    theirs = archive.manifest["engine"]
    if theirs != engine:
        raise BackupError(f"备份来自 {ENGINE_LABEL[theirs]} 数据库,当前使用的是 {ENGINE_LABEL[engine]},"
                          "不能恢复。未做任何更改")


def _differences(expected: dict, found: dict[str, tuple[int, str]]) -> list[str]:
    """The tables whose rows or checksum differ from the manifest, described in Chinese."""
    out = []
    for name, want in sorted(expected.items()):
        got = found.get(name)
        if got is None:
            out.append(f"{name}(缺少该表)")
        elif got[0] != want["rows"]:
            out.append(f"{name}(应为 {want['rows']} 行,实际 {got[0]} 行)")
        elif got[1] != want["sha256"]:
            out.append(f"{name}(行数相同但内容不同)")
    return out


def _precheck_sqlite(archive: Archive) -> None:
    """Prove the copy sound and equal to its manifest before the live database is touched."""
    engine = _file_engine(archive.database)
    try:
        with engine.connect() as conn:
            if conn.exec_driver_sql("PRAGMA integrity_check").scalar() != "ok":
                _refuse("其中的数据库文件已损坏(integrity_check 未通过)")
            diff = _differences(archive.manifest["tables"], table_checksums(conn))
    except (sqlite3.Error, SQLAlchemyError):
        _refuse("其中的数据库文件不是有效的 SQLite 数据库或已损坏")
    finally:
        engine.dispose()
    if diff:
        _refuse("其中的数据库与清单不符:" + "、".join(diff[:5]))


def _precheck_pg(archive: Archive) -> None:
    _run(["pg_restore", "--list", str(archive.database)], dict(os.environ))


# ---------------------------------------------------------------- replacing database and uploads


def _restore_sqlite(archive: Archive) -> None:
    """Copy the archive's database over the live one with the backup API (one write transaction)."""
    db.session.remove()
    source = _plain_connect(archive.database, readonly=True)
    raw = db.engine.raw_connection()  # foreign keys and WAL, as every app connection
    try:
        source.backup(raw.driver_connection)
        mode = raw.driver_connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupError(f"恢复数据库失败:{exc}") from None
    finally:
        raw.close()
        source.close()
    db.engine.dispose()  # pooled connections forget the old schema
    if mode != "wal":
        raise BackupError(f"恢复后的数据库无法切换到 WAL 模式(当前 {mode})")


def _restore_pg(archive: Archive) -> None:
    """pg_restore in one transaction: a failure leaves the database as it was."""
    db.session.remove()
    db.engine.dispose()  # our own pooled connections must not hold locks on the tables it drops
    uri, env = _libpq(db.engine.url)
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
          "--dbname", uri, str(archive.database)], env)


def _restore_uploads(archive: Archive) -> list[str]:
    """Put back every archived document (atomically each) and drop stored ones the backup lacks;
    returns the files whose content does not match afterwards."""
    root = Path(current_app.config["UPLOAD_FOLDER"])
    for rel in archive.uploads:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".restore-{target.name}")
        shutil.copyfile(archive.folder / "uploads" / rel, partial)
        os.replace(partial, target)
    for rel, path in _uploads():
        if rel not in archive.uploads:
            path.unlink()
    return [rel for rel, sha in archive.uploads.items()
            if not (root / rel).is_file() or _sha256(root / rel) != sha]


def restore_backup(path: Path, confirm) -> dict:
    """Check the archive, ask `confirm(manifest)` (it raises to stop), replace, verify. Returns the manifest."""
    engine = _engine_name()
    with tempfile.TemporaryDirectory(prefix="propdesk-restore-") as work:
        archive = open_archive(path, Path(work))
        _check_engine(archive, engine)
        (_precheck_sqlite if engine == "sqlite" else _precheck_pg)(archive)
        confirm(archive.manifest)
        (_restore_sqlite if engine == "sqlite" else _restore_pg)(archive)
        bad_files = _restore_uploads(archive)
    with db.engine.connect() as conn:
        diff = _differences(archive.manifest["tables"], table_checksums(conn))
    if diff or bad_files:
        parts = (["数据表 " + "、".join(diff[:5])] if diff else []) + (
            [f"上传文件 {len(bad_files)} 个"] if bad_files else [])
        raise BackupError("恢复后校验不一致:" + ";".join(parts) + "。请勿使用当前数据,重新恢复或联系管理员")
    return archive.manifest


# ---------------------------------------------------------------- flask backup / flask restore


def _totals(manifest: dict) -> str:
    rows = sum(t["rows"] for t in manifest["tables"].values())
    uploads = sum(1 for n in manifest["files"] if n.startswith("uploads/"))
    return f"{len(manifest['tables'])} 张表共 {rows} 行,上传文件 {uploads} 个"


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path):
    """备份数据库和上传文件到一个归档文件(服务运行中也可备份)。"""
    manifest = create_backup(path)
    click.echo(f"备份已写入 {path}:{_totals(manifest)}")


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="不询问,直接覆盖当前数据")
@with_appcontext
def restore_command(path, yes):
    """从备份归档恢复数据库和上传文件(覆盖当前数据,先校验归档)。"""

    def confirm(manifest):
        if yes:
            return
        question = f"将用 {manifest['created']} 的备份({_totals(manifest)})覆盖当前数据库和全部上传文件,确定继续吗?"
        try:
            agreed = click.confirm(question, default=False)
        except click.Abort:
            agreed = False
        if not agreed:
            raise BackupError("未确认,未做任何更改(确认覆盖可加 --yes)")

    manifest = restore_backup(path, confirm)
    click.echo(f"已从 {path} 恢复:{_totals(manifest)},校验一致")
    revision = manifest.get("alembic_revision")
    if revision:
        click.echo(f"备份的数据库结构版本为 {revision};若程序版本更新,请执行 flask --app wsgi db upgrade")


def init_cli(app) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
