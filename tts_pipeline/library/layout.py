"""Where a podcast library keeps its episodes, feeds, cache and state.

Layout (DESIGN.md): ``feed.xml``, ``feeds/<prefix>.xml``, ``episodes/<id>.mp3`` with its
``<id>.txt`` script, ``<id>.vtt`` transcript and ``<id>.chapters.json``, ``state.sqlite3``
and ``cache/``. The state database is the record of published episodes: feeds are rendered
from it, never edited in place. How an episode enters it is :mod:`episodes`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.errors import LibraryError
from tts_pipeline.library.episodes import (
    finish_pending,
    publish_episode,
    remove_partial_files,
    sweep_retired,
    sweep_stale_parts,
)
from tts_pipeline.library.folders import (
    EPISODES_FOLDER,
    HELD_FOLDER,
    STAGING_FOLDER,
    EpisodeFolder,
)
from tts_pipeline.library.locks import (
    FEEDS_LOCK,
    LOCKS_FOLDER,
    Notify,
    claimed_if_free,
    holding,
)
from tts_pipeline.library.page_store import FEED_PAGES_SCHEMA, PREFIXES_SQL
from tts_pipeline.library.state import (
    LIBRARY_MIGRATIONS,
    LIBRARY_SCHEMA,
    RECORD_COLUMNS,
    EpisodeRecord,
    VerificationRecord,
    open_state,
    record_from_row,
    update_scores,
)
from tts_pipeline.models import Episode, Post, Verification

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
LOCK_WAIT_S = 600.0  # how long a process waits for another converting the same post


def episode_id(post: Post) -> str:
    """A filename-safe id derived from the post id only (never from the title)."""
    if _SAFE_ID.fullmatch(post.id):
        return post.id
    return "h-" + hashlib.sha256(post.id.encode("utf-8")).hexdigest()[:24]


class Library:
    """A library folder. Any number of processes may use one at once (:mod:`locks`):
    ``wait_s`` is how long this one waits for another that holds what it needs, and
    ``on_wait`` hears one line when it starts waiting."""

    def __init__(
        self, root: Path, *, wait_s: float = LOCK_WAIT_S, on_wait: Notify | None = None
    ) -> None:
        self.root = root
        self.published = EpisodeFolder(root, EPISODES_FOLDER)  # what the feeds list
        self.wait_s = wait_s
        self.on_wait = on_wait
        self._swept = False

    @property
    def episodes_dir(self) -> Path:
        return self.published.path

    def staging(self) -> EpisodeFolder:
        """Where a new episode is made, so that its files reach ``episodes/`` (:meth:`publish`,
        the MP3 last) only right before it is recorded. A crash while it is made never leaves
        an MP3 the state and the feed do not know about."""
        return EpisodeFolder(self.root, STAGING_FOLDER)

    def held(self) -> EpisodeFolder:
        """Where an episode is made when a verification bar may hold it back, so it never
        overwrites the published one; it is published (:meth:`publish`) only once it passes."""
        return EpisodeFolder(self.root, HELD_FOLDER)

    def publish(self, made: EpisodeFolder, episode: Episode, inputs_hash: str | None) -> Path:
        """Move ``episode``'s files from ``made`` into episodes/ (the MP3 last) and record it
        with the hash of its inputs (see :mod:`episodes`); return the MP3's public path."""
        return publish_episode(self._db, made, self.published, episode, inputs_hash)

    def sweep_retired(self) -> None:
        """Remove public MP3 names no record uses any more (call once the feeds are written)."""
        if self.state_path.exists():
            sweep_retired(self._db, self.published)

    def remove_partial_files(self, eid: str) -> None:
        """Temporary files a killed run left for episode ``eid`` where episode files are
        written; call only when no other run is making it."""
        remove_partial_files(eid, self._episode_folders())

    def episode_lock_path(self, eid: str) -> Path:
        return self.root / LOCKS_FOLDER / f"episode-{eid}.lock"

    @contextlib.contextmanager
    def converting(self, eid: str) -> Iterator[bool]:
        """Be the one process making episode ``eid`` while inside (staging, publishing and
        recording it), waiting for another that is; yield whether it waited (the other may
        have made it meanwhile). What a killed run left for it is removed first."""
        lock = self.episode_lock_path(eid)
        with holding(lock, what=f"converting {eid}", wait_s=self.wait_s,
                     on_wait=self.on_wait) as waited:  # fmt: skip
            self.remove_partial_files(eid)
            yield waited

    def writing_feeds(self) -> contextlib.AbstractContextManager[bool]:
        """Be the one process rendering and writing the feeds while inside: each renders the
        state as it is once the lock is held, so the last to write wrote the newest."""
        lock = self.root / LOCKS_FOLDER / f"{FEEDS_LOCK}.lock"
        return holding(lock, what="writing the feeds", wait_s=self.wait_s, on_wait=self.on_wait)

    def _episode_folders(self) -> tuple[EpisodeFolder, ...]:
        """Where episode files are written: episodes/ and the two folders made aside."""
        return self.published, self.staging(), self.held()

    def mp3_path(self, eid: str) -> Path:
        return self.published.mp3_path(eid)

    def script_path(self, eid: str) -> Path:
        return self.published.script_path(eid)

    def vtt_path(self, eid: str) -> Path:
        return self.published.vtt_path(eid)

    def chapters_path(self, eid: str) -> Path:
        return self.published.chapters_path(eid)

    def verify_report_path(self, eid: str) -> Path:
        return self.published.verify_report_path(eid)

    @property
    def feeds_dir(self) -> Path:
        return self.root / "feeds"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def previews_dir(self) -> Path:
        """Where a preview is written when there is no sound output to play it."""
        return self.root / "previews"

    @property
    def work_dir(self) -> Path:
        """Where a package or preview keeps its temporary folder while it runs."""
        return self.cache_dir / "work"

    @property
    def feed_path(self) -> Path:
        return self.root / "feed.xml"

    @property
    def state_path(self) -> Path:
        return self.root / "state.sqlite3"

    def feed_behind(self) -> bool:
        """Whether the state was written after feed.xml (or there is none): a run killed
        between recording an episode and rendering the feeds from the record (feed.xml is
        written last of the feeds). Other writes to the state without a feed (a held-back
        episode's verification, SQLite's checkpoint when a connection closes) also count:
        they cost one needless re-render, never a missed one."""
        try:
            feed = self.feed_path.stat().st_mtime_ns
        except OSError:
            return True
        written = 0
        for path in (self.state_path, self.state_path.with_name(self.state_path.name + "-wal")):
            try:
                written = max(written, path.stat().st_mtime_ns)
            except FileNotFoundError:  # no WAL: no connection open, or it was just removed
                continue
            except OSError:
                return True
        return written > feed

    def prepare(self) -> None:
        """Create the folders, or fail with one clear line if the library is unusable.

        Each call also finishes the publications killed runs began (``finish_pending``, one
        query when there are none), so a watch loop finishes what a killed ``convert`` left.
        The first call sweeps what killed runs left (``sweep_stale_parts``): once per library,
        as the sweep lists the whole chunk cache (0.13 s at 100,000 chunks)."""
        try:
            for folder in (self.root, self.episodes_dir, self.cache_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot use library folder {self.root}: {exc.strerror}") from exc
        if self.state_path.exists():
            finish_pending(self._db, self.published, self._claim_if_free)
        if not self._swept:
            caches = [*self.cache_dir.glob("chunks/*/"), *self.cache_dir.glob("segments/*/")]
            folders = [f.path for f in self._episode_folders()]
            pages = [self.root / "feed", *self.feeds_dir.glob("*/")]  # archive pages
            sweep_stale_parts(
                [self.root, *folders, self.feeds_dir, *pages, self.previews_dir, *caches],
                self.work_dir,
            )
            self._swept = True

    def _claim_if_free(self, eid: str) -> contextlib.AbstractContextManager[bool]:
        """Episode ``eid``'s lock, if no process is making it (see :meth:`converting`)."""
        return claimed_if_free(self.episode_lock_path(eid))

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        # The feed pages' tables follow the base schema; named migrations (karma, tags) last.
        return open_state(self.state_path, LIBRARY_SCHEMA + FEED_PAGES_SCHEMA, LIBRARY_MIGRATIONS)

    def state(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One transaction on the state database (for the feed pager and readers)."""
        return self._db()

    def prefixes(self) -> list[str]:
        """The forum prefixes of the recorded episodes."""
        if not self.state_path.exists():
            return []
        with self._db() as conn:
            return [str(r[0]) for r in conn.execute(PREFIXES_SQL)]

    def record_verification(
        self, eid: str, verification: Verification, *, held_back: str = ""
    ) -> None:
        """Remember what the recogniser heard in episode ``eid`` (replacing older runs)."""
        row = (
            eid,
            verification.model,
            verification.threshold,
            verification.words,
            verification.errors,
            verification.wer,
            json.dumps(list(verification.flagged)),
            json.dumps(list(verification.retried)),
            held_back,
            datetime.now(UTC).isoformat(),
        )
        with self._db() as conn:
            conn.execute("INSERT OR REPLACE INTO verifications VALUES (?,?,?,?,?,?,?,?,?,?)", row)

    def forget_verification(self, eid: str) -> None:
        """Drop episode ``eid``'s verification: its audio was made again, unchecked."""
        if not self.state_path.exists():
            return
        with self._db() as conn:
            conn.execute("DELETE FROM verifications WHERE episode_id = ?", (eid,))
        self.verify_report_path(eid).unlink(missing_ok=True)

    def verifications(self) -> dict[str, VerificationRecord]:
        """Every verified episode's record, by episode id (held-back episodes included)."""
        if not self.state_path.exists():
            return {}
        with self._db() as conn:
            rows = conn.execute(
                "SELECT episode_id, model, threshold, words, errors, flagged, retried,"
                " held_back, verified_at FROM verifications ORDER BY verified_at, episode_id"
            ).fetchall()
        return {
            r[0]: VerificationRecord(
                episode_id=r[0],
                verification=Verification(
                    model=r[1],
                    threshold=r[2],
                    words=r[3],
                    errors=r[4],
                    flagged=tuple(json.loads(r[5])),
                    retried=tuple(json.loads(r[6])),
                    report=self.verify_report_path(r[0]),
                ),
                held_back=r[7],
                verified_at=datetime.fromisoformat(r[8]),
            )
            for r in rows
        }

    def episode_inputs(self, eid: str) -> str | None:
        """The inputs hash episode ``eid`` was last published from, if any."""
        if not self.state_path.exists():
            return None
        with self._db() as conn:
            row = conn.execute(
                "SELECT inputs_hash FROM episode_inputs WHERE episode_id = ?", (eid,)
            ).fetchone()
        return None if row is None else str(row[0])

    def feed_guids(self) -> dict[str, str]:
        """The podcast:guid assigned to each feed so far, by its path in the library."""
        if not self.state_path.exists():
            return {}
        with self._db() as conn:
            return dict(conn.execute("SELECT feed, guid FROM feed_guids").fetchall())

    def assign_feed_guid(self, feed: str, guid: str, seed_url: str) -> str:
        """Keep ``guid`` for ``feed`` unless it already has one; return the one it keeps.

        A podcast's guid is assigned once and follows it when its URL changes (the
        podcast namespace's rule), so the first assignment wins.
        """
        with self._db() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO feed_guids VALUES (?,?,?,?)",
                (feed, guid, seed_url, datetime.now(UTC).isoformat()),
            )
            row = conn.execute("SELECT guid FROM feed_guids WHERE feed = ?", (feed,)).fetchone()
        return str(row[0])

    def refresh_scores(self, scores: list[tuple[str, float, tuple[str, ...]]]) -> int:
        """Record the karma and tags a listing shows for already published episodes
        (episode id, karma, tag names), without touching their audio; the number changed.
        Only a change writes, so an unchanged listing leaves the feeds current."""
        if not scores or not self.state_path.exists():
            return 0
        with self._db() as conn:
            return update_scores(conn, scores)

    def episode(self, eid: str) -> EpisodeRecord | None:
        """Episode ``eid``'s record, if it is recorded and its MP3 is present (one row read,
        whatever the library's size)."""
        if not self.state_path.exists():
            return None
        with self._db() as conn:
            row = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM episodes WHERE id = ?", (eid,)
            ).fetchone()
        record = None if row is None else record_from_row(row)
        return record if record and (self.episodes_dir / record.mp3).is_file() else None

    def episode_count(self) -> int:
        """How many episodes are recorded."""
        if not self.state_path.exists():
            return 0
        with self._db() as conn:
            return int(conn.execute("SELECT count(*) FROM episodes").fetchone()[0])

    def episodes(self) -> list[EpisodeRecord]:
        """Every recorded episode whose MP3 is present, newest post first."""
        if not self.state_path.exists():
            return []
        with self._db() as conn:
            rows = conn.execute(
                f"SELECT {RECORD_COLUMNS} FROM episodes ORDER BY published DESC, id"
            ).fetchall()
        records = [record_from_row(r) for r in rows]
        return [r for r in records if (self.episodes_dir / r.mp3).is_file()]
