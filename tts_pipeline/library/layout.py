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
import logging
import os
import re
import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.errors import LibraryError
from tts_pipeline.library.sidecars import SCRIPT_SUFFIX, chapters_path, vtt_path
from tts_pipeline.library.state import (
    LIBRARY_SCHEMA,
    EpisodeRecord,
    PendingEpisode,
    VerificationRecord,
    episode_row,
    file_identity,
    open_state,
)
from tts_pipeline.models import Episode, Post, Verification

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
EPISODES_FOLDER = "episodes"
STALE_PART_S = 24 * 3600  # a temporary file this old belongs to a run that was killed


def _drop_note(conn: sqlite3.Connection, note: PendingEpisode) -> None:
    """Delete this note only: a later run may have noted the same episode again since."""
    conn.execute("DELETE FROM pending_episodes WHERE id = ? AND row = ?", (note.id, note.row))


def episode_id(post: Post) -> str:
    """A filename-safe id derived from the post id only (never from the title)."""
    if _SAFE_ID.fullmatch(post.id):
        return post.id
    return "h-" + hashlib.sha256(post.id.encode("utf-8")).hexdigest()[:24]


class Library:
    def __init__(self, root: Path, *, episodes_folder: str = EPISODES_FOLDER) -> None:
        self.root = root
        self._episodes_folder = episodes_folder
        self._swept = False

    @property
    def episodes_folder(self) -> str:
        """The episodes folder, relative to the library."""
        return self._episodes_folder

    @property
    def episodes_dir(self) -> Path:
        return self.root / self._episodes_folder

    def held(self) -> Library:
        """This library with its episode files under ``held/``: where an episode is made when
        a verification bar may hold it back, so it never overwrites the published one; it is
        published (:meth:`publish`) only once it passes."""
        return Library(self.root, episodes_folder="held")

    def staging(self) -> Library:
        """This library with its episode files under ``cache/staging/``: where a new episode is
        made, so that its files reach ``episodes/`` (:meth:`publish`, the MP3 last) only right
        before it is recorded. A crash while it is made never leaves an MP3 the state and the
        feed do not know about."""
        return Library(self.root, episodes_folder="cache/staging")

    def publish(self, staged: Library, episode: Episode, inputs_hash: str | None) -> None:
        """Move ``episode``'s files from ``staged`` into this library's episodes folder (the
        MP3 last) and record it with the hash of its inputs.

        Files and record cannot change in one atomic step, so the episode is first noted as
        pending: a run killed between the moves and the record leaves that note, and the next
        run's :meth:`prepare` finishes the move. No MP3 stays in episodes/ without its record.
        """
        mp3 = staged.mp3_path(episode.id)
        identity = file_identity(mp3)
        if identity is None:
            raise LibraryError(f"cannot publish episode {episode.id}: {mp3} is missing")
        row = json.dumps(episode_row(episode))
        note = PendingEpisode(episode.id, staged.episodes_folder, row, inputs_hash, *identity)
        with self._db() as conn:
            conn.execute("INSERT OR REPLACE INTO pending_episodes VALUES (?,?,?,?,?,?,?)", note)
        self._move_in(staged, note.id)
        self._record(note)

    def _move_in(self, staged: Library, eid: str) -> None:
        """Rename episode ``eid``'s files in, the MP3 last (each an atomic rename within the
        library). A file not made (no verification) is skipped."""
        for source, target in zip(staged.episode_files(eid), self.episode_files(eid), strict=True):
            try:
                os.replace(source, target)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise LibraryError(
                    f"cannot move {source} into {self.episodes_dir}: {exc.strerror}"
                ) from exc

    def _record(self, note: PendingEpisode) -> None:
        """Record the noted episode and its inputs, and drop the note, in one transaction."""
        row = json.loads(note.row)
        marks = ",".join("?" * len(row))
        with self._db() as conn:
            conn.execute(f"INSERT OR REPLACE INTO episodes VALUES ({marks})", row)
            if note.inputs_hash is not None:
                inputs = (note.id, note.inputs_hash)
                conn.execute("INSERT OR REPLACE INTO episode_inputs VALUES (?,?)", inputs)
            _drop_note(conn, note)

    def _finish_pending(self) -> None:
        """Finish what a run killed inside :meth:`publish` began.

        The noted MP3 still waiting: the files move in and the episode is recorded. The noted
        MP3 already in episodes/ (so every file moved before it): it is recorded. Neither (the
        episode was made again since, or its files removed by hand): the note is dropped, and
        so is the episode's inputs hash, as its side files may have moved without their MP3;
        the next conversion of the post makes it again."""
        if not self.state_path.exists():
            return
        with self._db() as conn:
            notes = [PendingEpisode(*r) for r in conn.execute("SELECT * FROM pending_episodes")]
        for note in notes:
            staged = Library(self.root, episodes_folder=note.folder)
            if file_identity(staged.mp3_path(note.id)) == note.mp3_identity:
                log.info("finishing the publication of %s, which a killed run began", note.id)
                self._move_in(staged, note.id)
            elif file_identity(self.mp3_path(note.id)) != note.mp3_identity:
                log.info("dropping the publication of %s, made again since it began", note.id)
                with self._db() as conn:
                    conn.execute("DELETE FROM episode_inputs WHERE episode_id = ?", (note.id,))
                    _drop_note(conn, note)
                continue
            self._record(note)

    def discard(self, eid: str) -> None:
        """Remove episode ``eid``'s files here: a made-aside folder cleared before the episode
        is made there again, so no older file (a verification report) is published with it."""
        for path in self.episode_files(eid):
            path.unlink(missing_ok=True)

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

    def episode_files(self, eid: str) -> list[Path]:
        """Every file episode ``eid`` may have here, the MP3 last."""
        return [
            self.script_path(eid),
            self.vtt_path(eid),
            self.chapters_path(eid),
            self.verify_report_path(eid),
            self.mp3_path(eid),
        ]

    def prepare(self) -> None:
        """Create the folders, or fail with one clear line if the library is unusable.

        Each call also finishes the publications killed runs began (``_finish_pending``, one
        query when there are none), so a watch loop finishes what a killed ``convert`` left.
        The first call sweeps what killed runs left (``_sweep_stale_parts``): once per library,
        as the sweep lists the whole chunk cache (0.13 s at 100,000 chunks). A view such as
        :meth:`staging` does neither: the library's own calls cover its folder."""
        try:
            for folder in (self.root, self.episodes_dir, self.cache_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot use library folder {self.root}: {exc.strerror}") from exc
        if self._episodes_folder != EPISODES_FOLDER:
            return
        self._finish_pending()
        if not self._swept:
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
        folders = (self.root, *self._episode_folders(), self.feeds_dir, self.previews_dir)
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

    def _episode_folders(self) -> tuple[Path, Path, Path]:
        """Where episode files are written: episodes/ and the two folders made aside."""
        return self.episodes_dir, self.staging().episodes_dir, self.held().episodes_dir

    def remove_partial_files(self, eid: str) -> None:
        """Temporary files a killed run left for episode ``eid`` where episode files are
        written (never under a final name); call only when no other run is making it."""
        for folder in self._episode_folders():
            for leftover in folder.glob(f".{eid}.*.part"):
                log.info("removing %s, left by an interrupted conversion", leftover)
                leftover.unlink(missing_ok=True)

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return open_state(self.state_path, LIBRARY_SCHEMA)

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
