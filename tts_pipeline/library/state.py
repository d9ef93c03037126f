"""The state database: its tables, the rows the library keeps in them, one transaction on it.

``state.sqlite3`` is the record of published episodes (feeds are rendered from it), their
verifications and inputs, the feeds' guids, and episodes on their way into ``episodes/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

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

-- Public MP3 names (``<id>.<hash>.mp3``) of episodes made again since: each is removed once
-- the feeds written after it no longer name it (``episodes.sweep_retired``).
CREATE TABLE IF NOT EXISTS retired_files (
    name TEXT PRIMARY KEY,
    retired_at REAL NOT NULL
);

-- The named migration steps applied to this database (``LIBRARY_MIGRATIONS``).
CREATE TABLE IF NOT EXISTS migrations (
    name TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
);
"""

Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _add_karma_and_tags(conn: sqlite3.Connection) -> None:
    """Each episode's forum karma (``baseScore``; NULL when unknown, as for an article) and
    its tag names (a JSON list), set at conversion and refreshed whenever a listing shows the
    post again: channels pick by them."""
    conn.execute("ALTER TABLE episodes ADD COLUMN karma REAL")
    conn.execute("ALTER TABLE episodes ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'")
    # A forum's top N read in karma order (``channel_sql``), not by sorting all its episodes;
    # covering what a daily or weekly pick reads, so those never visit the table's rows.
    conn.execute("CREATE INDEX episodes_by_karma ON episodes (prefix, karma, published, id)")


# Steps that change tables an older database already has, applied once each, in this order,
# by name (so steps added on different lines of work never clash over a number).
LIBRARY_MIGRATIONS: tuple[Migration, ...] = (("episodes-karma-tags", _add_karma_and_tags),)

# The columns of ``episodes`` in order: the base table's, then those migrations added.
EPISODE_COLUMNS = (
    "id", "post_id", "prefix", "title", "post_title", "authors", "url", "published",
    "description", "mp3", "size_bytes", "duration_s", "loudness_lufs", "true_peak_dbtp",
    "created_at", "karma", "tags",
)  # fmt: skip


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
    mp3: str  # the MP3's public name inside episodes/ (``<id>.<hash>.mp3``; older: ``<id>.mp3``)
    size_bytes: int
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float
    karma: float | None = None  # the forum's score when last seen; None: unknown
    tags: tuple[str, ...] = ()  # the post's tag names


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


# The columns an EpisodeRecord is read from, in ``record_from_row``'s order.
RECORD_COLUMNS = (
    "id, post_id, prefix, title, post_title, authors, url, published, description, mp3,"
    " size_bytes, duration_s, loudness_lufs, true_peak_dbtp, karma, tags"
)


_RECORD_FIELDS = tuple(f.name for f in fields(EpisodeRecord))  # RECORD_COLUMNS's order


def record_from_row(r: Sequence[Any]) -> EpisodeRecord:
    """An ``episodes`` row, selected as ``RECORD_COLUMNS``, as its record."""
    values = dict(zip(_RECORD_FIELDS, r, strict=True))
    values["published"] = datetime.fromisoformat(r[7])
    values["tags"] = decode_tags(r[15])
    return EpisodeRecord(**values)


def file_identity(path: Path) -> tuple[int, int, int] | None:
    """A file's size, inode and mtime (kept by a rename), or None if it is not there."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_size, found.st_ino, found.st_mtime_ns


MP3_COLUMN = 9  # where ``episode_row`` puts the MP3's public name


def episode_row(episode: Episode, mp3_name: str | None = None) -> list[object]:
    """``episode`` as its row in ``episodes``; ``mp3_name``: the MP3's public name (default:
    its file name)."""
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
        mp3_name or episode.mp3.name,
        episode.size_bytes,
        episode.duration_s,
        episode.loudness.integrated_lufs,
        episode.loudness.true_peak_dbtp,
        datetime.now(UTC).isoformat(),
        post.karma,
        encode_tags(post.tags),
    )
    # SQLite stores UTF-8, which has no lone surrogates (JSON "\ud800" from an API).
    return [_LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in row]


def encode_tags(tags: Sequence[str]) -> str:
    """Tag names as stored: a JSON list (SQLite's json_each can read it), without the lone
    surrogates an API's JSON can hold and SQLite's UTF-8 cannot."""
    return _LONE_SURROGATE.sub("\ufffd", json.dumps(list(tags), ensure_ascii=False))


def decode_tags(stored: str) -> tuple[str, ...]:
    """The tag names ``encode_tags`` stored. A list with no escapes (no backslash) is split
    as text, ten times faster than the JSON parser: it matters at 100,000 episodes."""
    if stored == "[]":
        return ()
    if "\\" not in stored and stored.startswith('["') and stored.endswith('"]'):
        return tuple(stored[2:-2].split('", "'))
    return tuple(json.loads(stored))


def insert_episode(conn: sqlite3.Connection, row: Sequence[object]) -> None:
    """Record (or replace) an episode from its row. A shorter row (noted by an older version
    before the karma and tags columns) fills the first columns; a karma or tags the row
    does not know keep the values already recorded."""
    columns = EPISODE_COLUMNS[: len(row)]
    names = ", ".join(columns)
    updates = ", ".join(
        f"{c} = coalesce(excluded.{c}, {c})" if c == "karma" else f"{c} = excluded.{c}"
        for c in columns[1:]
    )
    conn.execute(
        f"INSERT INTO episodes ({names}) VALUES ({','.join('?' * len(row))})"
        f" ON CONFLICT(id) DO UPDATE SET {updates}",
        list(row),
    )


def update_scores(
    conn: sqlite3.Connection, scores: Sequence[tuple[str, float, Sequence[str]]]
) -> int:
    """Set (episode id, karma, tag names) where they differ from the record; the number of
    episodes changed. Episodes not recorded are left alone (nothing is created)."""
    changed = 0
    for eid, karma, tags in scores:
        encoded = encode_tags(tags)
        cursor = conn.execute(
            "UPDATE episodes SET karma = ?, tags = ?"
            " WHERE id = ? AND (karma IS NOT ? OR tags IS NOT ?)",
            (karma, encoded, eid, karma, encoded),
        )
        changed += cursor.rowcount
    return changed


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """Apply the steps of ``migrations`` this database has not had, each in one immediate
    transaction with its record, so two processes opening an old library apply it once."""
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    for name, step in migrations:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM migrations WHERE name = ?", (name,)).fetchone() is None:
                step(conn)
                conn.execute(
                    "INSERT INTO migrations VALUES (?, ?)", (name, datetime.now(UTC).isoformat())
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


@contextlib.contextmanager
def open_state(
    path: Path, schema: str, migrations: Sequence[Migration] = ()
) -> Iterator[sqlite3.Connection]:
    """One transaction on the state database (WAL, busy timeout), with ``schema`` ensured
    and ``migrations`` applied.

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
        if migrations:
            migrate(conn, migrations)
        with conn:
            yield conn
    except sqlite3.Error as exc:
        raise LibraryError(f"state database {path}: {exc}") from exc
    finally:
        conn.close()
