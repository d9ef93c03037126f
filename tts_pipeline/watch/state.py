"""Each watched post's status, in the library's SQLite database (tables ``watch_*``).

A row per (forum, post id). Every listed post gets one at once: ``queued`` to be narrated, or
``skipped`` with the reason (re-checked each time the post is listed again, since karma grows
and rules change). ``converting`` is written before the work starts and ``done`` only after
the episode's files and feeds are in place; a row left ``converting`` means a watcher died
mid-way. ``failed`` rows carry the error and when to try again (none once given up).

The same post listed on two forums (AF posts also appear on LessWrong) shares one episode id;
the second forum's row is ``skipped`` as a cross-post while the first one is queued or done.
Writes are short transactions; WAL lets ``status`` read while a watcher writes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tts_pipeline.library.state import open_state

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watch_posts (
    forum TEXT NOT NULL,
    post_id TEXT NOT NULL,
    episode_id TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT,
    content_hash TEXT NOT NULL DEFAULT '',
    started_at TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (forum, post_id)
);
CREATE INDEX IF NOT EXISTS watch_posts_by_episode ON watch_posts (episode_id);
CREATE INDEX IF NOT EXISTS watch_posts_by_status ON watch_posts (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS watch_forums (
    forum TEXT PRIMARY KEY,
    listed_at TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT,
    updated_at TEXT NOT NULL
);
"""
_COLUMNS = (
    "forum, post_id, episode_id, title, url, posted_at, status, reason, attempts, last_error,"
    " next_attempt_at, content_hash, started_at, updated_at"
)


class Status(StrEnum):
    QUEUED = "queued"
    CONVERTING = "converting"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


# A row in one of these claims the episode: the same post on another forum is a cross-post.
_CLAIMING = (Status.QUEUED, Status.CONVERTING, Status.DONE, Status.FAILED)


@dataclass(frozen=True)
class PostRow:
    forum: str
    post_id: str
    episode_id: str
    title: str
    url: str
    posted_at: dt.datetime
    status: Status
    reason: str
    attempts: int
    last_error: str
    next_attempt_at: dt.datetime | None
    content_hash: str
    started_at: dt.datetime | None
    updated_at: dt.datetime

    @property
    def gave_up(self) -> bool:
        return self.status == Status.FAILED and self.next_attempt_at is None


@dataclass(frozen=True)
class ForumState:
    forum: str
    listed_at: dt.datetime | None  # when the last complete listing started
    failures: int  # listing failures in a row
    last_error: str
    next_attempt_at: dt.datetime | None  # backing off until then


@dataclass(frozen=True)
class Listed:
    """What the runner decided about one listed post."""

    post_id: str
    episode_id: str
    title: str
    url: str
    posted_at: dt.datetime
    skip_reason: str | None
    body_hash: str | None


def iso(moment: dt.datetime) -> str:
    """One fixed format, so stored times also compare correctly as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class WatchState:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return open_state(self.path, _SCHEMA)

    # -- reading ---------------------------------------------------------------------------

    def post(self, forum: str, post_id: str) -> PostRow | None:
        with self._db() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM watch_posts WHERE forum = ? AND post_id = ?",
                (forum, post_id),
            ).fetchone()
        return _row(row) if row else None

    def posts(self, *, status: Status | None = None) -> list[PostRow]:
        """Rows (optionally of one status), most recently updated first."""
        where, params = ("WHERE status = ?", (str(status),)) if status else ("", ())
        with self._db() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM watch_posts {where}"
                " ORDER BY updated_at DESC, forum, post_id",
                params,
            ).fetchall()
        return [_row(r) for r in rows]

    def due(self, forums: Sequence[str], now: dt.datetime) -> list[PostRow]:
        """Queued posts and failed ones whose retry time has come, oldest post first."""
        marks = ",".join("?" * len(forums))
        with self._db() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM watch_posts WHERE forum IN ({marks}) AND"
                " (status = 'queued' OR (status = 'failed' AND next_attempt_at <= ?))"
                " ORDER BY posted_at, forum, post_id",
                (*forums, iso(now)),
            ).fetchall()
        return [_row(r) for r in rows]

    def claimed_elsewhere(self, forum: str, episode_id: str) -> PostRow | None:
        """Another forum's row that already claims this episode (a cross-post), if any."""
        marks = ",".join("?" * len(_CLAIMING))
        with self._db() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM watch_posts WHERE episode_id = ? AND forum != ?"
                f" AND status IN ({marks}) ORDER BY first_seen_at LIMIT 1",
                (episode_id, forum, *map(str, _CLAIMING)),
            ).fetchone()
        return _row(row) if row else None

    def forum(self, forum: str) -> ForumState:
        with self._db() as conn:
            row = conn.execute(
                "SELECT listed_at, failures, last_error, next_attempt_at FROM watch_forums"
                " WHERE forum = ?",
                (forum,),
            ).fetchone()
        if row is None:
            return ForumState(forum, None, 0, "", None)
        return ForumState(forum, _time(row[0]), row[1], row[2], _time(row[3]))

    def forums(self) -> list[ForumState]:
        with self._db() as conn:
            names = [r[0] for r in conn.execute("SELECT forum FROM watch_forums ORDER BY forum")]
        return [self.forum(name) for name in names]

    def counts(self) -> dict[str, dict[str, int]]:
        """forum -> status -> number of posts; given-up posts count as ``gave up``."""
        counts: dict[str, dict[str, int]] = {}
        with self._db() as conn:
            rows = conn.execute(
                "SELECT forum, CASE WHEN status = 'failed' AND next_attempt_at IS NULL"
                " THEN 'gave up' ELSE status END, COUNT(*) FROM watch_posts GROUP BY 1, 2"
            ).fetchall()
        for forum, status, number in rows:
            counts.setdefault(forum, {})[status] = number
        return counts

    # -- writing ---------------------------------------------------------------------------

    def record_listed(
        self, forum: str, listed: Sequence[Listed], now: dt.datetime, *, renarrate: bool
    ) -> list[tuple[Listed, Status, str]]:
        """Record a listing; return (post, status, reason) for posts new or changing status."""
        changes: list[tuple[Listed, Status, str]] = []
        stamp = iso(now)
        with self._db() as conn:
            for item in listed:
                old = conn.execute(
                    "SELECT status, content_hash, reason FROM watch_posts"
                    " WHERE forum = ? AND post_id = ?",
                    (forum, item.post_id),
                ).fetchone()
                status, reason = self._decide(conn, forum, item, old, renarrate)
                if old is None:
                    conn.execute(
                        "INSERT INTO watch_posts (forum, post_id, episode_id, title, url,"
                        " posted_at, status, reason, first_seen_at, updated_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (forum, item.post_id, item.episode_id, item.title, item.url,
                         iso(item.posted_at), str(status), reason, stamp, stamp),
                    )  # fmt: skip
                elif (status, reason) != (old[0], old[2]):
                    # Re-queued (rules now met, or edited): a fresh set of attempts.
                    conn.execute(
                        "UPDATE watch_posts SET status = :status, reason = :reason,"
                        " title = :title, url = :url,"
                        " attempts = CASE WHEN :status = 'queued' THEN 0 ELSE attempts END,"
                        " started_at = CASE WHEN :status = 'queued' THEN NULL ELSE started_at END,"
                        " updated_at = :now WHERE forum = :forum AND post_id = :post_id",
                        {"status": str(status), "reason": reason, "title": item.title,
                         "url": item.url, "now": stamp, "forum": forum, "post_id": item.post_id},
                    )  # fmt: skip
                else:
                    continue
                if old is None or status != old[0]:
                    changes.append((item, status, reason))
        return changes

    @staticmethod
    def _decide(
        conn: sqlite3.Connection,
        forum: str,
        item: Listed,
        old: tuple[str, str, str] | None,
        renarrate: bool,
    ) -> tuple[Status, str]:
        if old is not None and old[0] != Status.SKIPPED:
            status, content_hash, reason = Status(old[0]), old[1], old[2]
            if status == Status.DONE:
                edited = item.body_hash and content_hash and item.body_hash != content_hash
                if renarrate and edited:
                    return Status.QUEUED, "edited since it was narrated"
            elif status != Status.CONVERTING and item.skip_reason:
                return Status.SKIPPED, item.skip_reason  # e.g. its author opted out since
            return status, reason
        if item.skip_reason:
            return Status.SKIPPED, item.skip_reason
        marks = ",".join("?" * len(_CLAIMING))
        other = conn.execute(
            f"SELECT forum FROM watch_posts WHERE episode_id = ? AND forum != ?"
            f" AND status IN ({marks}) ORDER BY first_seen_at LIMIT 1",
            (item.episode_id, forum, *map(str, _CLAIMING)),
        ).fetchone()
        if other is not None:
            return Status.SKIPPED, f"cross-post: narrated from {other[0]}"
        return Status.QUEUED, ""

    def start(self, row: PostRow, now: dt.datetime) -> None:
        """Claim a post for conversion (counts an attempt)."""
        self._update(
            row,
            "status = 'converting', attempts = attempts + 1, started_at = ?, updated_at = ?",
            (iso(now), iso(now)),
        )

    def abandon(self, row: PostRow, now: dt.datetime) -> None:
        """Put a post back in the queue, uncounted: the watcher was asked to stop."""
        self._update(
            row,
            "status = 'queued', attempts = MAX(attempts - 1, 0), updated_at = ?",
            (iso(now),),
        )

    def done(self, row: PostRow, content_hash: str, now: dt.datetime, reason: str = "") -> None:
        self._update(
            row,
            "status = 'done', reason = ?, last_error = '', next_attempt_at = NULL,"
            " content_hash = ?, updated_at = ?",
            (reason, content_hash, iso(now)),
        )

    def skip(self, row: PostRow, reason: str, now: dt.datetime) -> None:
        self._update(
            row,
            "status = 'skipped', reason = ?, next_attempt_at = NULL, updated_at = ?",
            (reason, iso(now)),
        )

    def fail(
        self, row: PostRow, error: str, reason: str, retry_at: dt.datetime | None, now: dt.datetime
    ) -> None:
        """Record a failed attempt; ``retry_at`` None means given up."""
        self._update(
            row,
            "status = 'failed', reason = ?, last_error = ?, next_attempt_at = ?, updated_at = ?",
            (reason, error, iso(retry_at) if retry_at else None, iso(now)),
        )

    def requeue_given_up(self, forums: Sequence[str], now: dt.datetime) -> int:
        """Give every given-up post on ``forums`` a fresh set of attempts."""
        marks = ",".join("?" * len(forums))
        with self._db() as conn:
            cursor = conn.execute(
                "UPDATE watch_posts SET status = 'queued', attempts = 0, reason = 'retry asked',"
                f" updated_at = ? WHERE status = 'failed' AND next_attempt_at IS NULL"
                f" AND forum IN ({marks})",
                (iso(now), *forums),
            )
            return cursor.rowcount

    def forum_listed(self, forum: str, started: dt.datetime, now: dt.datetime) -> None:
        with self._db() as conn:
            conn.execute(
                "INSERT INTO watch_forums (forum, listed_at, failures, last_error,"
                " next_attempt_at, updated_at) VALUES (?, ?, 0, '', NULL, ?)"
                " ON CONFLICT (forum) DO UPDATE SET listed_at = excluded.listed_at,"
                " failures = 0, last_error = '', next_attempt_at = NULL,"
                " updated_at = excluded.updated_at",
                (forum, iso(started), iso(now)),
            )

    def forum_failed(
        self, forum: str, error: str, backoff_s: Callable[[int], float], now: dt.datetime
    ) -> ForumState:
        """Count a failed listing; no listing before ``backoff_s(failures in a row)`` passes."""
        failures = self.forum(forum).failures + 1
        retry_at = now + dt.timedelta(seconds=backoff_s(failures))
        with self._db() as conn:
            conn.execute(
                "INSERT INTO watch_forums (forum, listed_at, failures, last_error,"
                " next_attempt_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?)"
                " ON CONFLICT (forum) DO UPDATE SET failures = excluded.failures,"
                " last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at,"
                " updated_at = excluded.updated_at",
                (forum, failures, error, iso(retry_at), iso(now)),
            )
        return self.forum(forum)

    def _update(self, row: PostRow, assignments: str, params: tuple[object, ...]) -> None:
        with self._db() as conn:
            conn.execute(
                f"UPDATE watch_posts SET {assignments} WHERE forum = ? AND post_id = ?",
                (*params, row.forum, row.post_id),
            )


def _row(r: tuple[object, ...]) -> PostRow:
    return PostRow(
        forum=str(r[0]),
        post_id=str(r[1]),
        episode_id=str(r[2]),
        title=str(r[3]),
        url=str(r[4]),
        posted_at=dt.datetime.fromisoformat(str(r[5])),
        status=Status(str(r[6])),
        reason=str(r[7]),
        attempts=int(str(r[8])),
        last_error=str(r[9]),
        next_attempt_at=_time(r[10] if isinstance(r[10], str) else None),
        content_hash=str(r[11]),
        started_at=_time(r[12] if isinstance(r[12], str) else None),
        updated_at=dt.datetime.fromisoformat(str(r[13])),
    )
