"""Where a podcast library keeps its episodes, feeds, cache and state.

Layout (DESIGN.md): ``feed.xml``, ``feeds/<prefix>.xml``, ``episodes/<id>.mp3`` with its
``<id>.txt`` script, ``<id>.vtt`` transcript and ``<id>.chapters.json``, ``state.sqlite3``
and ``cache/``. The state database is the record of
published episodes: feeds are rendered from it, never edited in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.errors import LibraryError
from tts_pipeline.models import Episode, Post, Verification
from tts_pipeline.sidecars import SCRIPT_SUFFIX, chapters_path, vtt_path

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
EPISODES_FOLDER = "episodes"
STALE_PART_S = 24 * 3600  # a temporary file this old belongs to a run that was killed
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

_SCHEMA = """
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
"""

# Each feed's podcast:guid, kept from the first time the feed was published at a public URL.
_FEED_GUIDS_SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_guids (
    feed TEXT PRIMARY KEY,
    guid TEXT NOT NULL,
    seed_url TEXT NOT NULL,
    assigned_at TEXT NOT NULL
)
"""

# What the speech recogniser heard in each verified episode (``verify``). Kept for a held-back
# episode too, which has no row in ``episodes``; flagged/retried are JSON lists of chunks.
_VERIFICATIONS_SCHEMA = """
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
)
"""


# What each published episode was made from (``incremental.inputs_hash``), so a re-run with
# the same inputs can do nothing.
_INPUTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS episode_inputs (
    episode_id TEXT PRIMARY KEY,
    inputs_hash TEXT NOT NULL
)
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


def episode_id(post: Post) -> str:
    """A filename-safe id derived from the post id only (never from the title)."""
    if _SAFE_ID.fullmatch(post.id):
        return post.id
    return "h-" + hashlib.sha256(post.id.encode("utf-8")).hexdigest()[:24]


@contextlib.contextmanager
def open_state(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """One transaction on the state database (WAL, busy timeout), with ``schema`` ensured.

    Every SQLite fault becomes one LibraryError naming the file.
    """
    try:
        conn = sqlite3.connect(path, timeout=5.0)
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot open state database {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(schema)
        with conn:
            yield conn
    except sqlite3.Error as exc:
        raise LibraryError(f"state database {path}: {exc}") from exc
    finally:
        conn.close()


class Library:
    def __init__(self, root: Path, *, episodes_folder: str = EPISODES_FOLDER) -> None:
        self.root = root
        self._episodes_folder = episodes_folder
        self._swept = False

    @property
    def episodes_dir(self) -> Path:
        return self.root / self._episodes_folder

    def held(self) -> Library:
        """This library with its episode files under ``held/``: where an episode is made when
        a verification bar may hold it back, so it never overwrites the published one; it is
        moved into ``episodes/`` (:meth:`promote`) only once it passes."""
        return Library(self.root, episodes_folder="held")

    def staging(self) -> Library:
        """This library with its episode files under ``cache/staging/``: where a new episode is
        made, so that its files reach ``episodes/`` (:meth:`promote`, the MP3 last) only right
        before it is recorded. A crash while it is made never leaves an MP3 the state and the
        feed do not know about."""
        return Library(self.root, episodes_folder="cache/staging")

    def promote(self, staged: Library, eid: str) -> None:
        """Move episode ``eid``'s files from ``staged`` into this library's episodes folder,
        the MP3 last (each move is an atomic rename within the library)."""
        moves = [
            (staged.script_path, self.script_path),
            (staged.vtt_path, self.vtt_path),
            (staged.chapters_path, self.chapters_path),
            (staged.verify_report_path, self.verify_report_path),
            (staged.mp3_path, self.mp3_path),
        ]
        for source, target in moves:
            if source(eid).exists():
                try:
                    os.replace(source(eid), target(eid))
                except OSError as exc:
                    raise LibraryError(
                        f"cannot move {source(eid)} into {self.episodes_dir}: {exc.strerror}"
                    ) from exc

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

    def mp3_path(self, eid: str) -> Path:
        return self.episodes_dir / f"{eid}.mp3"

    def script_path(self, eid: str) -> Path:
        return self.episodes_dir / f"{eid}{SCRIPT_SUFFIX}"

    def vtt_path(self, eid: str) -> Path:
        """The timed transcript (WebVTT)."""
        return vtt_path(self.episodes_dir, eid)

    def chapters_path(self, eid: str) -> Path:
        """The Podcasting 2.0 JSON chapters file."""
        return chapters_path(self.episodes_dir, eid)

    def verify_report_path(self, eid: str) -> Path:
        """The speech recogniser's report: every chunk's transcript and score."""
        return self.episodes_dir / f"{eid}.verify.json"

    def prepare(self) -> None:
        """Create the folders, or fail with one clear line if the library is unusable.

        The first call also sweeps what killed runs left (``_sweep_stale_parts``): once per
        library, as it lists the whole chunk cache (0.13 s at 100,000 chunks), and never from
        a view such as :meth:`staging`, whose folder the library's own sweep covers."""
        try:
            for folder in (self.root, self.episodes_dir, self.cache_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot use library folder {self.root}: {exc.strerror}") from exc
        if self._episodes_folder == EPISODES_FOLDER and not self._swept:
            self._sweep_stale_parts()
            self._swept = True

    def _sweep_stale_parts(self) -> None:
        """Remove temporary files a killed run left beside the published ones, and its work
        folder.

        A SIGKILL or power cut skips atomic_path's cleanup; each such run would otherwise leave
        a hidden partial MP3 in episodes/ (or a partial chunk or segment in the caches). Only
        files a day old go, so a conversion still writing in another process is never touched.
        """
        cutoff = time.time() - STALE_PART_S
        caches = [*self.cache_dir.glob("chunks/*/"), *self.cache_dir.glob("segments/*/")]
        aside = {self.staging().episodes_dir, self.held().episodes_dir} - {self.episodes_dir}
        folders = (self.root, self.episodes_dir, self.feeds_dir, self.previews_dir, *aside)
        for folder in (*folders, *caches):
            for part in folder.glob(".*.part"):
                with contextlib.suppress(OSError):  # gone already, or not ours to remove
                    if part.stat().st_mtime < cutoff:
                        part.unlink()
        # A killed package or preview also leaves its temporary folder (segment WAVs, MP3s).
        # A running package creates and removes a segment WAV in its folder every few seconds,
        # and each of those moves the folder's mtime: only a dead one gets a day old.
        with contextlib.suppress(OSError):
            for leftover in self.work_dir.iterdir():
                with contextlib.suppress(OSError):
                    if leftover.stat().st_mtime < cutoff:
                        if leftover.is_dir():
                            shutil.rmtree(leftover, ignore_errors=True)
                        else:
                            leftover.unlink()

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return open_state(self.state_path, _SCHEMA)

    def record_episode(self, episode: Episode) -> None:
        """Remember a finished episode; call only once its files are in place."""
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
        stored = [_LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in row]
        with self._db() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO episodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", stored
            )

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
            conn.execute(_VERIFICATIONS_SCHEMA)
            conn.execute("INSERT OR REPLACE INTO verifications VALUES (?,?,?,?,?,?,?,?,?,?)", row)

    def forget_verification(self, eid: str) -> None:
        """Drop episode ``eid``'s verification: its audio was made again, unchecked."""
        if not self.state_path.exists():
            return
        with self._db() as conn:
            conn.execute(_VERIFICATIONS_SCHEMA)
            conn.execute("DELETE FROM verifications WHERE episode_id = ?", (eid,))
        self.verify_report_path(eid).unlink(missing_ok=True)

    def verifications(self) -> dict[str, VerificationRecord]:
        """Every verified episode's record, by episode id (held-back episodes included)."""
        if not self.state_path.exists():
            return {}
        with self._db() as conn:
            conn.execute(_VERIFICATIONS_SCHEMA)
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

    def record_inputs(self, eid: str, digest: str) -> None:
        """Remember the inputs hash of episode ``eid``, just published."""
        with self._db() as conn:
            conn.execute(_INPUTS_SCHEMA)
            conn.execute("INSERT OR REPLACE INTO episode_inputs VALUES (?,?)", (eid, digest))

    def episode_inputs(self, eid: str) -> str | None:
        """The inputs hash episode ``eid`` was last published from, if any."""
        if not self.state_path.exists():
            return None
        with self._db() as conn:
            conn.execute(_INPUTS_SCHEMA)
            row = conn.execute(
                "SELECT inputs_hash FROM episode_inputs WHERE episode_id = ?", (eid,)
            ).fetchone()
        return None if row is None else str(row[0])

    def feed_guids(self) -> dict[str, str]:
        """The podcast:guid assigned to each feed so far, by its path in the library."""
        if not self.state_path.exists():
            return {}
        with self._db() as conn:
            conn.execute(_FEED_GUIDS_SCHEMA)
            return dict(conn.execute("SELECT feed, guid FROM feed_guids").fetchall())

    def assign_feed_guid(self, feed: str, guid: str, seed_url: str) -> str:
        """Keep ``guid`` for ``feed`` unless it already has one; return the one it keeps.

        A podcast's guid is assigned once and follows it when its URL changes (the
        podcast namespace's rule), so the first assignment wins.
        """
        with self._db() as conn:
            conn.execute(_FEED_GUIDS_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO feed_guids VALUES (?,?,?,?)",
                (feed, guid, seed_url, datetime.now(UTC).isoformat()),
            )
            row = conn.execute("SELECT guid FROM feed_guids WHERE feed = ?", (feed,)).fetchone()
        return str(row[0])

    def episodes(self) -> list[EpisodeRecord]:
        """Every recorded episode whose MP3 is present, newest post first."""
        if not self.state_path.exists():
            return []
        with self._db() as conn:
            rows = conn.execute(
                "SELECT id, post_id, prefix, title, post_title, authors, url, published,"
                " description, mp3, size_bytes, duration_s, loudness_lufs, true_peak_dbtp"
                " FROM episodes ORDER BY published DESC, id"
            ).fetchall()
        records = [
            EpisodeRecord(
                id=r[0],
                post_id=r[1],
                prefix=r[2],
                title=r[3],
                post_title=r[4],
                authors=r[5],
                url=r[6],
                published=datetime.fromisoformat(r[7]),
                description=r[8],
                mp3=r[9],
                size_bytes=r[10],
                duration_s=r[11],
                loudness_lufs=r[12],
                true_peak_dbtp=r[13],
            )
            for r in rows
        ]
        return [r for r in records if (self.episodes_dir / r.mp3).is_file()]
