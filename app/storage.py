"""Uploaded files: checked by size and real content type, stored once under their sha256.

The type is read from the bytes, never from the name or the browser's Content-Type: a PDF must start
with a `%PDF-1.x` header and end with `%%EOF`, a PNG with its signature and IHDR chunk, a JPEG with its
SOI marker; markup in the first kilobyte (an HTML/SVG polyglot behind a PDF header) is refused. The
user's file name is kept for display only, cleaned of paths and invisible characters; the file on disk
is named by its digest alone.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from urllib.parse import quote

from flask import current_app

SIGNATURES = (
    (re.compile(rb"%PDF-[12]\.\d"), "application/pdf", ".pdf"),
    (re.compile(rb"\xff\xd8\xff"), "image/jpeg", ".jpg"),
    (re.compile(rb"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), "image/png", ".png"),
)
EXTENSIONS = {mime: ext for _magic, mime, ext in SIGNATURES}
"""The only content types ever stored or served, with their extension."""
HEAD = TAIL = 1024
MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml-stylesheet)\b",
                    re.IGNORECASE)
"""Markup a browser would act on; no PDF, JPEG or PNG carries it in its first kilobyte."""
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
"""Windows device names: a download saved as CON.pdf cannot be opened there."""
MAX_STEM = 150


class UploadError(ValueError):
    """A refused upload, with the Chinese reason."""


def sniff(head: bytes, tail: bytes = b"") -> tuple[str, str] | None:
    """(mime type, extension) from the file's first and last bytes, or None if not an allowed type."""
    if MARKUP.search(head[:HEAD]):
        return None
    for magic, mime, ext in SIGNATURES:
        if magic.match(head):
            if mime == "application/pdf" and b"%%EOF" not in tail[-TAIL:]:
                return None
            return mime, ext
    return None


def clean_name(name: str, ext: str) -> str:
    """A display name without any path, control or bidi characters, device name or misleading extension."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co"))
    base = re.sub(r"[<>:\"|?*]", "", base).strip(" .")
    stem = (base.rsplit(".", 1)[0] if "." in base else base)[:MAX_STEM].strip(" .") or "file"
    if stem.split(".")[0].strip().upper() in RESERVED:
        stem = "_" + stem
    return stem + ext


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real one in RFC 5987 `filename*` (Chinese names)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    fallback = re.sub(r"[^A-Za-z0-9_.-]", "", stem).strip(".") or "document"
    fallback += f".{re.sub(r'[^A-Za-z0-9]', '', ext)}" if ext else ""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


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
    digest, size, head, tail = hashlib.sha256(), 0, b"", b""
    fd, tmp = tempfile.mkstemp(dir=root(), prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(64 * 1024):
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                tail = (tail + chunk)[-TAIL:]
                size += len(chunk)
                if size > limit:
                    raise UploadError(f"文件过大:不能超过 {limit // (1024 * 1024)} MB" if limit >= 1024 * 1024
                                      else f"文件过大:不能超过 {max(limit // 1024, 1)} KB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError("文件为空")
        kind = sniff(head, tail)
        if kind is None:
            raise UploadError("文件类型不支持:只接受 PDF、JPEG、PNG 文件(按文件内容识别,不看扩展名)")
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
