"""The state database: its tables, the rows the library keeps in them, one transaction on it.

``state.sqlite3`` is the record of published episodes (feeds are rendered from it), their
verifications and inputs, the feeds' guids, and episodes on their way into ``episodes/``.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from tts_pipeline.errors import LibraryError
from tts_pipeline.models import Episode, Verification

BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's to end
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Every table of the library's state, ensured on each connection (``open_state``).
LIBRARY_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    post_id TEXT NOT NULL,
    prefix TEXT NOT NULL,
    title TEXT NOT NULL,
    post_title TEXT NOT NULL,
    authors TEXT NOT NULL,
    url TEXT NOT NULL,
    published TEXT NOT NULL,
    description TEXT NOT NULL,
    mp3 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    loudness_lufs REAL NOT NULL,
    true_peak_dbtp REAL NOT NULL,
    created_at TEXT NOT NULL
);

-- Each feed's podcast:guid, kept from the first time the feed was published at a public URL.
CREATE TABLE IF NOT EXISTS feed_guids (
    feed TEXT PRIMARY KEY,
    guid TEXT NOT NULL,
    seed_url TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);

-- What the speech recogniser heard in each verified episode (``verify``). Kept for a held-back
-- episode too, which has no row in ``episodes``; flagged/retried are JSON lists of chunks.
CREATE TABLE IF NOT EXISTS verifications (
    episode_id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    threshold REAL NOT NULL,
    words INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    wer REAL NOT NULL,
    flagged TEXT NOT NULL,
    retried TEXT NOT NULL,
    held_back TEXT NOT NULL,
    verified_at TEXT NOT NULL
);

-- What each published episode was made from (``incremental.inputs_hash``), so a re-run with
-- the same inputs can do nothing.
CREATE TABLE IF NOT EXISTS episode_inputs (
    episode_id TEXT PRIMARY KEY,
    inputs_hash TEXT NOT NULL
);

-- An episode on its way into episodes/: noted before its files move, removed in the same
-- transaction as its row goes into ``episodes``. A run killed in between leaves the note, and
-- the next run's ``Library.prepare`` finishes the move. ``row`` is the ``episodes`` row as a
-- JSON list; ``folder`` is where its files wait, relative to the library; the MP3's size,
-- inode and mtime (which a rename keeps) tell the noted MP3 from one made since.
CREATE TABLE IF NOT EXISTS pending_episodes (
    id TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    row TEXT NOT NULL,
    inputs_hash TEXT,
    mp3_size INTEGER NOT NULL,
    mp3_inode INTEGER NOT NULL,
    mp3_mtime_ns INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class VerificationRecord:
    """An episode's verification as the state database remembers it."""

    episode_id: str
    verification: Verification
    held_back: str  # why the episode is not published; "" when it is
    verified_at: datetime


@dataclass(frozen=True)
class EpisodeRecord:
    """A published episode as the state database remembers it (what feeds are built from)."""

    id: str
    post_id: str
    prefix: str
    title: str
    post_title: str
    authors: str
    url: str
    published: datetime
    description: str
    mp3: str  # file name inside episodes/
    size_bytes: int
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float


class PendingEpisode(NamedTuple):
    """A ``pending_episodes`` row."""

    id: str
    folder: str
    row: str
    inputs_hash: str | None
    mp3_size: int
    mp3_inode: int
    mp3_mtime_ns: int

    @property
    def mp3_identity(self) -> tuple[int, int, int]:
        return self.mp3_size, self.mp3_inode, self.mp3_mtime_ns


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """A file's size, inode and mtime (kept by a rename), or None if it is not there."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_size, found.st_ino, found.st_mtime_ns


def episode_row(episode: Episode) -> list[object]:
    """``episode`` as its row in ``episodes``."""
    post = episode.post
    row = (
        episode.id,
        post.id,
        post.prefix,
        episode.title,
        post.title,
        ", ".join(post.authors),
        post.url,
        post.published.astimezone(UTC).isoformat(),
        episode.description,
        episode.mp3.name,
        episode.size_bytes,
        episode.duration_s,
        episode.loudness.integrated_lufs,
        episode.loudness.true_peak_dbtp,
        datetime.now(UTC).isoformat(),
    )
    # SQLite stores UTF-8, which has no lone surrogates (JSON "\ud800" from an API).
    return [_LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in row]


@contextlib.contextmanager
def open_state(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """One transaction on the state database (WAL, busy timeout), with ``schema`` ensured.

    Every SQLite fault becomes one LibraryError naming the file.
    """
    try:
        # IMMEDIATE: a transaction takes the write lock at its start (waiting up to the busy
        # timeout for another process's), never upgrading a read mid-way, which SQLite
        # refuses at once when another process wrote meanwhile.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level="IMMEDIATE")
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot open state database {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(schema)
        with conn:
            yield conn
    except sqlite3.Error as exc:
        raise LibraryError(f"state database {path}: {exc}") from exc
    finally:
        conn.close()
