"""Scanned materials (扫描件) received with applications: a content-addressed store on disk,
outside the web root.

A file is kept under its sha256 (``ab/cdef…``), written once, never executed and never served by
path: the web hands it out only as a download (``Content-Disposition: attachment``) to those who
may read its case. Only the types a scanner or a phone produces are taken — PDF, JPEG and PNG —
recognised by their first bytes, not by the name or the browser's word; each at most
``MAX_FILE_BYTES``.

Where the store lives: ``APPROVALS_FILES``, else ``files/`` beside the embedded database file, else
``instance/files``.
Back it up with the database (docs/operations.md): the rows name the files, the files are here.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import BadInput, NotFound

MAX_FILE_BYTES = 10 * 1024 * 1024
#: files per case: a checklist has a dozen materials, each a few pages
MAX_FILES_PER_CASE = 60
MAX_FILENAME = 120
#: the first bytes of each accepted type, and the type it is served as
SIGNATURES = ((b"%PDF-", "application/pdf", "PDF"), (b"\xff\xd8\xff", "image/jpeg", "JPEG"),
              (b"\x89PNG\r\n\x1a\n", "image/png", "PNG"))
ACCEPTED = "、".join(name for _, _, name in SIGNATURES)
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    filename: str


def default_root(database_url: str | None = None) -> Path:
    """``APPROVALS_FILES``; else beside an SQLite database file (``files/`` in its folder); else
    ``instance/files``."""
    if os.environ.get("APPROVALS_FILES"):
        return Path(os.environ["APPROVALS_FILES"])
    if database_url and database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///")).parent / "files"
    return Path("instance/files")


def sniff(data: bytes) -> str:
    """The content type the bytes are, or a refusal naming what is accepted."""
    for signature, content_type, _ in SIGNATURES:
        if data.startswith(signature):
            return content_type
    raise BadInput(f"只接收 {ACCEPTED} 格式的扫描件；这个文件不是其中之一")


def clean_filename(name: str) -> str:
    """The name as shown and offered for download: no path, no control characters, bounded."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch >= " " and ch not in '<>:"|?*\x7f').strip(" .")
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[:MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else base[:MAX_FILENAME]
    return base or "扫描件"


class FileStore:
    def __init__(self, root: Path | str | None = None):
        # absolute from the start: a relative root (the default ``instance/files`` beside a relative
        # SQLite path) would be read by Flask's send_file against the application's package folder,
        # not the folder the file was written in
        self.root = (Path(root) if root is not None else default_root()).absolute()

    def _path(self, sha256: str) -> Path:
        if not _SHA.fullmatch(sha256):
            raise NotFound("文件不存在")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes, filename: str) -> StoredFile:
        """Check and keep one uploaded file; the same bytes twice are kept once."""
        if not data:
            raise BadInput(f"文件“{clean_filename(filename)}”是空的")
        if len(data) > MAX_FILE_BYTES:
            raise BadInput(f"文件“{clean_filename(filename)}”超过 {MAX_FILE_BYTES // (1024 * 1024)} MB，"
                           "请降低扫描分辨率或拆分后上传")
        content_type = sniff(data)
        sha = hashlib.sha256(data).hexdigest()
        path = self._path(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.chmod(tmp, 0o600)  # never executable, readable by the service only
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredFile(sha, len(data), content_type, clean_filename(filename))

    def path_of(self, sha256: str) -> Path:
        path = self._path(sha256)
        if not path.is_file():
            raise NotFound("文件不在文件库中（可能尚未从备份恢复），请联系管理员")
        return path

    def read(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()
