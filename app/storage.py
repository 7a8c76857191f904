"""Uploaded files: checked by size and real content type, stored once under their sha256."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from flask import current_app

SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


class UploadError(ValueError):
    """A refused upload, with the Chinese reason."""


def sniff(head: bytes) -> tuple[str, str] | None:
    """(mime type, extension) from the file's first bytes, or None if not an allowed type."""
    for magic, mime, ext in SIGNATURES:
        if head.startswith(magic):
            return mime, ext
    return None


def clean_name(name: str, ext: str) -> str:
    """A display name without any path, control characters or a misleading extension."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f<>:\"|?*\u202a-\u202e\u2066-\u2069]", "", base).strip(" .") or "file"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem[:150] + ext


def root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def path_for(sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise UploadError("文件标识无效")
    return root() / sha256[:2] / sha256[2:4] / sha256


def store(stream, filename: str) -> dict:
    """Copy an upload to content-addressed storage; return its metadata. Raises UploadError."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    root().mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp = tempfile.mkstemp(dir=root(), prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                size += len(chunk)
                if size > limit:
                    raise UploadError(f"文件过大:不能超过 {limit // (1024 * 1024)} MB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError("文件为空")
        kind = sniff(head)
        if kind is None:
            raise UploadError("文件类型不支持:只接受 PDF、JPEG、PNG 文件")
        sha = digest.hexdigest()
        target = path_for(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
        return {"sha256": sha, "size": size, "content_type": kind[0], "filename": clean_name(filename, kind[1])}
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
