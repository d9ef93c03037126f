"""What was published where: ``publish.sqlite3`` in the library, one row per object.

Rows are keyed by the target's URL, so two targets (a bucket and a mirror folder) never mix.
A row is written right after its upload succeeds, so a run killed at any point leaves a
record that is true (an object may be in the target without its row; the next run uploads
it again, which is harmless). ``unreferenced_since`` is when the object was first found
named by no published feed: it is removed once the grace period has passed since then.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from tts_pipeline.errors import PublishError
from tts_pipeline.publish.tree import PageNames

RECORD_NAME = "publish.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS publish_targets (
    target TEXT PRIMARY KEY,
    listed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS published_objects (
    target TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    cache_control TEXT NOT NULL,
    uploaded_at REAL NOT NULL,
    unreferenced_since REAL,
    PRIMARY KEY (target, path)
);
-- What each archive feed page named when last read (``tree.PageNames``): the same for every
-- target, as it describes the library's own files.
CREATE TABLE IF NOT EXISTS archive_page_names (
    page TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    base_url TEXT NOT NULL,
    files TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredObject:
    """An object as this tool last put it (or found it) in the target."""

    path: str
    size: int
    mtime_ns: int  # of the local file it was uploaded from (0: found in the target)
    sha256: str  # "" when found in the target and not uploaded by us
    etag: str  # the MD5 hex digest for single-part uploads
    content_type: str
    cache_control: str
    uploaded_at: float
    unreferenced_since: float | None


class PublishRecord:
    """An open record for one target; use as a context manager."""

    def __init__(self, library_root: Path, target_url: str) -> None:
        self.path = library_root / RECORD_NAME
        self.target = target_url
        try:
            self._conn = sqlite3.connect(self.path, timeout=5.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise PublishError(f"cannot open the publish record {self.path}: {exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._conn.close()

    def _write(self, sql: str, *rows: tuple[object, ...]) -> None:
        try:
            with self._conn:
                self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise PublishError(f"cannot write the publish record {self.path}: {exc}") from exc

    def listed_at(self) -> float | None:
        """When the target was last listed and reconciled; None: never (no record for it)."""
        row = self._conn.execute(
            "SELECT listed_at FROM publish_targets WHERE target = ?", (self.target,)
        ).fetchone()
        return None if row is None else float(row[0])

    def mark_listed(self, when: float | None = None) -> None:
        self._write(
            "INSERT OR REPLACE INTO publish_targets VALUES (?, ?)",
            (self.target, time.time() if when is None else when),
        )

    def objects(self) -> dict[str, StoredObject]:
        rows = self._conn.execute(
            "SELECT path, size, mtime_ns, sha256, etag, content_type, cache_control,"
            " uploaded_at, unreferenced_since FROM published_objects WHERE target = ?",
            (self.target,),
        ).fetchall()
        return {r[0]: StoredObject(*r) for r in rows}

    def put(self, stored: StoredObject) -> None:
        self._write(
            "INSERT OR REPLACE INTO published_objects VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                self.target,
                stored.path,
                stored.size,
                stored.mtime_ns,
                stored.sha256,
                stored.etag,
                stored.content_type,
                stored.cache_control,
                stored.uploaded_at,
                stored.unreferenced_since,
            ),
        )

    def forget(self, paths: list[str]) -> None:
        self._write(
            "DELETE FROM published_objects WHERE target = ? AND path = ?",
            *((self.target, p) for p in paths),
        )

    def set_unreferenced(self, paths: list[str], since: float | None) -> None:
        """Start (``since``) or stop (None) the grace period of these objects."""
        self._write(
            "UPDATE published_objects SET unreferenced_since = ? WHERE target = ? AND path = ?",
            *((since, self.target, p) for p in paths),
        )

    def page_names(self) -> dict[str, PageNames]:
        rows = self._conn.execute(
            "SELECT page, size, mtime_ns, base_url, files FROM archive_page_names"
        ).fetchall()
        return {
            r[0]: PageNames(r[1], r[2], r[3], tuple(tuple(f) for f in json.loads(r[4])))
            for r in rows
        }

    def keep_page_names(self, old: dict[str, PageNames], new: dict[str, PageNames]) -> None:
        """Store what changed from ``old`` to ``new`` (pages gone are forgotten)."""
        self._write(
            "INSERT OR REPLACE INTO archive_page_names VALUES (?,?,?,?,?)",
            *(
                (page, n.size, n.mtime_ns, n.base_url, json.dumps(n.files))
                for page, n in new.items()
                if old.get(page) != n
            ),
        )
        self._write(
            "DELETE FROM archive_page_names WHERE page = ?", *((p,) for p in old if p not in new)
        )

    def touch(self, path: str, mtime_ns: int) -> None:
        """The local file was written again with the same bytes: remember its new mtime, so
        the next run need not hash it."""
        self._write(
            "UPDATE published_objects SET mtime_ns = ? WHERE target = ? AND path = ?",
            (mtime_ns, self.target, path),
        )
