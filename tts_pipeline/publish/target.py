"""Where a library is published: one small protocol, a bucket (``s3.py``) or a folder.

A target stores bytes under ``relative`` paths with the headers the web needs; it knows
nothing about feeds or order, which ``sync.py`` decides.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tts_pipeline.errors import PublishError
from tts_pipeline.fsutil import atomic_path

_CHUNK = 1024 * 1024
# A temporary file this old in a folder target was left by a killed publish.
STALE_TEMP_S = 3600.0


@dataclass(frozen=True)
class RemoteObject:
    size: int
    etag: str  # MD5 hex of the content for single-part objects; anything else never matches


class Target(Protocol):
    """A place that serves a library's public files."""

    @property
    def url(self) -> str:
        """A stable name for the target (the key of its publish record)."""
        ...

    def put(
        self, relative: str, body: Path | bytes, *, content_type: str, cache_control: str, md5: str
    ) -> str:
        """Store ``body`` under ``relative`` so it appears whole or not at all; return its
        ETag. ``md5`` is the body's MD5 hex digest (checked by the target where it can)."""
        ...

    def delete(self, relative: str) -> None: ...

    def list(self) -> dict[str, RemoteObject]:
        """Every object under the target's prefix, by relative path (one listing)."""
        ...

    def close(self) -> None: ...


def file_digests(body: Path | bytes) -> tuple[str, str]:
    """(sha256 hex, md5 hex) of a file or bytes, in one pass."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    if isinstance(body, bytes):
        sha.update(body)
        md5.update(body)
        return sha.hexdigest(), md5.hexdigest()
    try:
        with open(body, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                sha.update(chunk)
                md5.update(chunk)
    except OSError as exc:
        raise PublishError(f"cannot read {body}: {exc.strerror}", location=str(body)) from exc
    return sha.hexdigest(), md5.hexdigest()


class FolderTarget:
    """The public tree in a folder (for rsync, a web server, GitHub Pages).

    Each file is written beside its final name and renamed into place (``os.replace``), so
    a web server reading the folder never sees half a file. Headers are the web server's
    business: a folder cannot hold them.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.requests = 0  # file operations made, for reports and benchmarks
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def _path(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise PublishError(f"{relative} is outside the target folder {self.root}")
        return path

    def put(
        self, relative: str, body: Path | bytes, *, content_type: str, cache_control: str, md5: str
    ) -> str:
        final = self._path(relative)
        self._count()
        try:
            with atomic_path(final) as tmp:
                if isinstance(body, bytes):
                    tmp.write_bytes(body)
                else:
                    _copy(body, tmp)
        except OSError as exc:
            raise PublishError(f"cannot write {final}: {exc}", location=str(final)) from exc
        return md5

    def delete(self, relative: str) -> None:
        path = self._path(relative)
        self._count()
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise PublishError(f"cannot remove {path}: {exc.strerror}", location=str(path)) from exc

    def list(self) -> dict[str, RemoteObject]:
        """Every file under the folder (hidden ones aside), with its MD5: a full read, done
        only when the record is missing or a check asks for it. Temporary files a killed
        publish left are removed on the way."""
        self._count()
        found: dict[str, RemoteObject] = {}
        if not self.root.is_dir():
            return found
        now = time.time()
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                path = Path(folder, name)
                if name.startswith("."):
                    _sweep_temp(path, now)
                    continue
                relative = path.relative_to(self.root).as_posix()
                found[relative] = RemoteObject(path.stat().st_size, file_digests(path)[1])
        return found

    def close(self) -> None:
        return None

    def _count(self) -> None:
        with self._lock:  # uploads run on several threads
            self.requests += 1


def _copy(source: Path, tmp: Path) -> None:
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)


def _sweep_temp(path: Path, now: float) -> None:
    if path.name.endswith(".part"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime >= STALE_TEMP_S:
                path.unlink()
