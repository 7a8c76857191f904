"""Uploaded import files kept between the dry run and the commit.

Each upload gets a random token; the file is `<token>.xlsx` with `<token>.json` beside it (kind, name,
owner, the dry run's summary) under IMPORT_FOLDER (default: UPLOAD_FOLDER/imports, which several app
servers share). The token lives in the user's session — the client never sends a path — and the owner
recorded in the JSON must match. Files older than a day are swept on the next upload.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
import zipfile
from pathlib import Path

from flask import current_app

from .engine import ImportFileError

TOKEN = re.compile(r"[0-9a-f]{32}")
MAX_AGE = 24 * 3600
STALE_LOCK = 15 * 60
ZIP = b"PK\x03\x04"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WORKBOOK_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
"""What every xlsx package holds (Office Open XML): a zip without them is some other file."""
UNZIPPED_FACTOR = 50
"""An xlsx unpacks to at most this many times the upload limit; more is a zip bomb."""


def folder() -> Path:
    configured = current_app.config.get("IMPORT_FOLDER")
    path = Path(configured) if configured else Path(current_app.config["UPLOAD_FOLDER"]) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def limit() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES") or current_app.config["MAX_UPLOAD_BYTES"])


def size_text(size: int) -> str:
    """10 MB, 200 KB."""
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def _path(token: str, suffix: str) -> Path:
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise ImportFileError("导入文件已失效,请重新上传")
    return folder() / f"{token}{suffix}"


def xlsx_path(token: str) -> Path:
    return _path(token, ".xlsx")


def save(stream, filename: str, meta: dict) -> str:
    """Copy an upload (checked by size, extension and content) and its metadata; return the token."""
    from app.storage import clean_name

    lower = (filename or "").strip().lower()
    name = clean_name(filename, ".xlsm" if lower.endswith(".xlsm") else ".xlsx")
    if lower.endswith(".xls"):
        raise ImportFileError("不支持 .xls 旧格式:请在 Excel 或 WPS 中“另存为” .xlsx 格式后再上传")
    if lower.endswith(".csv"):
        raise ImportFileError("不支持 .csv 文件:请使用本页下载的 .xlsx 模板填写后上传")
    if not lower.endswith((".xlsx", ".xlsm")):
        raise ImportFileError("文件类型不支持:请上传 .xlsx 格式的 Excel 文件")
    sweep()
    most = limit()
    token = secrets.token_hex(16)
    target = xlsx_path(token)
    size, head = 0, b""
    try:
        with open(target, "wb") as out:
            while chunk := stream.read(256 * 1024):
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                size += len(chunk)
                if size > most:
                    raise ImportFileError(f"文件过大:导入文件不能超过 {size_text(most)},请拆分后分批导入")
                out.write(chunk)
        if size == 0:
            raise ImportFileError("文件是空的")
        if head.startswith(OLE):
            raise ImportFileError("这是 .xls 旧格式或加密的文件:请在 Excel 或 WPS 中“另存为” .xlsx 格式(不加密)后再上传")
        if not head.startswith(ZIP):
            raise ImportFileError("文件内容不是 .xlsx 格式:请上传用 Excel 或 WPS 保存的 .xlsx 文件")
        check_package(target, most)
        write_meta(token, {**meta, "filename": name[-200:], "size": size, "created": time.time()})
    except BaseException:
        discard(token)
        raise
    return token


def check_package(path: Path, most: int) -> None:
    """Refuse a zip that is not an xlsx workbook, or that would unpack to more than UNZIPPED_FACTOR × the limit."""
    try:
        with zipfile.ZipFile(path) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError("无法读取该文件:压缩结构已损坏,请用 Excel 或 WPS 重新保存为 .xlsx 后上传") from None
    names = {e.filename for e in entries}
    if not all(part in names for part in WORKBOOK_PARTS):
        raise ImportFileError("无法读取该文件:这不是 Excel 工作簿(其中没有工作表),请上传用 Excel 或 WPS 保存的 .xlsx 文件")
    if sum(e.file_size for e in entries) > most * UNZIPPED_FACTOR:
        raise ImportFileError("文件解压后过大,不像正常的 Excel 文件:请检查文件,或拆分后分批导入")


def write_meta(token: str, meta: dict) -> None:
    path = _path(token, ".json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_meta(token: str | None, user_id) -> dict | None:
    """The metadata of the user's upload, or None when missing, expired or someone else's."""
    if not token:
        return None
    try:
        path = _path(token, ".json")
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ImportFileError, OSError, ValueError):
        return None
    if meta.get("user_id") != user_id or not xlsx_path(token).exists():
        return None
    return meta


def claim(token: str) -> Path | None:
    """Take the file for a commit: the lock's path, or None if a commit of it is already running.
    A lock older than STALE_LOCK seconds (a worker killed mid-import) is taken over."""
    lock = _path(token, ".lock")
    for _attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime < STALE_LOCK:
                    return None
                os.unlink(lock)
            except FileNotFoundError:
                pass
            continue
        os.close(fd)
        return lock
    return None


def release(lock: Path | None) -> None:
    """Drop a commit's lock (works outside the request: the path is known)."""
    if lock is not None:
        try:
            os.unlink(lock)
        except OSError:
            pass


def discard(token: str) -> None:
    for suffix in (".xlsx", ".json", ".lock", ".json.tmp"):
        try:
            os.unlink(_path(token, suffix))
        except (OSError, ImportFileError):
            pass


def sweep(max_age: int = MAX_AGE) -> None:
    """Delete uploads older than max_age seconds (abandoned dry runs)."""
    cutoff = time.time() - max_age
    root = folder()
    for entry in os.scandir(root):
        token = entry.name.split(".", 1)[0]
        if TOKEN.fullmatch(token):
            try:
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
            except OSError:
                pass
