"""Where a podcast library keeps its episodes, feeds, cache and state.

Layout (DESIGN.md): ``feed.xml``, ``feeds/<prefix>.xml``, ``episodes/<id>.mp3`` with its
``<id>.txt`` script, ``state.sqlite3`` and ``cache/``. The state database is the record of
published episodes: feeds are rendered from it, never edited in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.errors import LibraryError
from tts_pipeline.models import Episode, Post

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

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


class Library:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def feeds_dir(self) -> Path:
        return self.root / "feeds"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def feed_path(self) -> Path:
        return self.root / "feed.xml"

    @property
    def state_path(self) -> Path:
        return self.root / "state.sqlite3"

    def mp3_path(self, eid: str) -> Path:
        return self.episodes_dir / f"{eid}.mp3"

    def script_path(self, eid: str) -> Path:
        return self.episodes_dir / f"{eid}.txt"

    def prepare(self) -> None:
        """Create the folders, or fail with one clear line if the library is unusable."""
        try:
            for folder in (self.root, self.episodes_dir, self.cache_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot use library folder {self.root}: {exc.strerror}") from exc

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.state_path, timeout=5.0)
        except sqlite3.Error as exc:
            raise LibraryError(f"cannot open state database {self.state_path}: {exc}") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(_SCHEMA)
            with conn:
                yield conn
        except sqlite3.Error as exc:
            raise LibraryError(f"state database {self.state_path}: {exc}") from exc
        finally:
            conn.close()

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
        with self._db() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO episodes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row
            )

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
