"""How an episode enters the library, and what a killed run leaves behind.

An episode is made aside (:mod:`folders`: ``cache/staging/`` or ``held/``) and published by
moving its files into ``episodes/`` (the MP3 last) and recording it in the state database.
Files and record cannot change in one atomic step, so the episode is first noted as pending:
a run killed between the moves and the record leaves that note, and the next run's
:func:`finish_pending` finishes the move. No MP3 stays in episodes/ without its record.

An episode's MP3 is ``<id>.mp3``; its public name, the one feeds give as the enclosure URL, is
a hard link named by its content, ``<id>.<sha256 prefix>.mp3`` (:func:`public_mp3_name`). An
episode made again gets a new URL, as podcast apps need (Apple Podcasts ignores an enclosure
URL it has seen, and its client breaks when the bytes behind one change), while the old link
still holds the old bytes until the feeds no longer name it (:func:`sweep_retired`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tts_pipeline.errors import LibraryError
from tts_pipeline.library.folders import EpisodeFolder
from tts_pipeline.library.state import (
    MP3_COLUMN,
    PendingEpisode,
    episode_row,
    file_identity,
    insert_episode,
)
from tts_pipeline.models import Episode

log = logging.getLogger(__name__)

STALE_PART_S = 24 * 3600  # a temporary file this old belongs to a run that was killed

Connect = Callable[[], contextlib.AbstractContextManager[sqlite3.Connection]]
Claim = Callable[[str], contextlib.AbstractContextManager[bool]]


def publish_episode(
    connect: Connect,
    made: EpisodeFolder,
    final: EpisodeFolder,
    episode: Episode,
    inputs_hash: str | None,
) -> Path:
    """Move ``episode``'s files from ``made`` into ``final`` (the MP3 last) and record it with
    the hash of its inputs; noted as pending first, so a kill in between is finished later.
    Returns the MP3's public path (the name feeds give it)."""
    mp3 = made.mp3_path(episode.id)
    identity = file_identity(mp3)
    if identity is None:
        raise LibraryError(f"cannot publish episode {episode.id}: {mp3} is missing")
    row = json.dumps(episode_row(episode, public_mp3_name(episode.id, mp3)))
    note = PendingEpisode(episode.id, made.name, row, inputs_hash, *identity)
    with connect() as conn:
        conn.execute("INSERT OR REPLACE INTO pending_episodes VALUES (?,?,?,?,?,?,?)", note)
    _move_in(made, final, note.id)
    public = _link_public(final, note)
    _record(connect, note)
    return public


def public_mp3_name(eid: str, mp3: Path) -> str:
    """The name the feeds give episode ``eid``'s MP3: ``<id>.<first 12 hex of its SHA-256>.mp3``."""
    digest = hashlib.sha256()
    try:
        with open(mp3, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise LibraryError(f"cannot read {mp3}: {exc.strerror}") from exc
    return f"{eid}.{digest.hexdigest()[:12]}.mp3"


def _link_public(final: EpisodeFolder, note: PendingEpisode) -> Path:
    """Give the published MP3 its public name (a hard link; a copy where links are not
    possible). Idempotent: a re-run after a kill finds the link made."""
    public: Path = final.path / str(json.loads(note.row)[MP3_COLUMN])
    source = final.mp3_path(note.id)
    if public == source or file_identity(public) == file_identity(source):
        return public
    tmp = public.with_name(f".{public.name}.{os.getpid()}.part")
    try:
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(source, tmp)
        os.replace(tmp, public)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LibraryError(f"cannot name {source} as {public.name}: {exc.strerror}") from exc
    return public


def sweep_retired(connect: Connect, final: EpisodeFolder) -> None:
    """Remove the public MP3 names of episodes made again since, once no record names them.
    Call after the feeds are written: until then a feed on disk may still name them."""
    with connect() as conn:
        if conn.execute("SELECT 1 FROM retired_files LIMIT 1").fetchone() is None:
            return  # the usual case: nothing made again since (no scan of the episodes)
        names = [r[0] for r in conn.execute(
            "SELECT name FROM retired_files WHERE name NOT IN (SELECT mp3 FROM episodes)"
        )]  # fmt: skip
        conn.execute("DELETE FROM retired_files WHERE name IN (SELECT mp3 FROM episodes)")
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (final.path / name).unlink()
        with connect() as conn:
            conn.execute("DELETE FROM retired_files WHERE name = ?", (name,))


def finish_pending(connect: Connect, final: EpisodeFolder, claim: Claim) -> None:
    """Finish what a run killed inside :func:`publish_episode` began.

    A note whose episode another process is making now (``claim(id)`` yields False: that
    process holds the episode's lock) is that process's to finish, and left alone.

    The noted MP3 still waiting: the files move in and the episode is recorded. The noted
    MP3 already in episodes/ (so every file moved before it): it is recorded. Neither (the
    episode was made again since, or its files removed by hand): the note is dropped, and
    so is the episode's inputs hash, as its side files may have moved without their MP3;
    the next conversion of the post makes it again."""
    with connect() as conn:
        notes = [PendingEpisode(*r) for r in conn.execute("SELECT * FROM pending_episodes")]
    for note in notes:
        with claim(note.id) as ours:
            if ours:
                _finish(connect, final, note)


def _finish(connect: Connect, final: EpisodeFolder, note: PendingEpisode) -> None:
    """Finish one note's publication (see :func:`finish_pending`)."""
    made = EpisodeFolder(final.root, note.folder)
    if file_identity(made.mp3_path(note.id)) == note.mp3_identity:
        log.info("finishing the publication of %s, which a killed run began", note.id)
        _move_in(made, final, note.id)
    if file_identity(final.mp3_path(note.id)) == note.mp3_identity:
        _link_public(final, note)
    else:
        log.info("dropping the publication of %s, made again since it began", note.id)
        with connect() as conn:
            conn.execute("DELETE FROM episode_inputs WHERE episode_id = ?", (note.id,))
            _drop_note(conn, note)
        return
    _record(connect, note)


def _move_in(made: EpisodeFolder, final: EpisodeFolder, eid: str) -> None:
    """Rename episode ``eid``'s files in, the MP3 last (each an atomic rename within the
    library). A file not made (no verification) is skipped."""
    for source, target in zip(made.episode_files(eid), final.episode_files(eid), strict=True):
        try:
            os.replace(source, target)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LibraryError(f"cannot move {source} into {final.path}: {exc.strerror}") from exc


def _record(connect: Connect, note: PendingEpisode) -> None:
    """Record the noted episode and its inputs, and drop the note, in one transaction."""
    row = json.loads(note.row)
    with connect() as conn:
        # The name the feeds gave the episode until now goes once they no longer do.
        conn.execute(
            "INSERT OR IGNORE INTO retired_files SELECT mp3, ? FROM episodes"
            " WHERE id = ? AND mp3 != ? AND mp3 != ?",
            (time.time(), note.id, row[MP3_COLUMN], f"{note.id}.mp3"),
        )
        insert_episode(conn, row)
        if note.inputs_hash is not None:
            conn.execute("INSERT OR REPLACE INTO episode_inputs VALUES (?,?)",
                         (note.id, note.inputs_hash))  # fmt: skip
        _drop_note(conn, note)


def _drop_note(conn: sqlite3.Connection, note: PendingEpisode) -> None:
    """Delete this note only: a later run may have noted the same episode again since."""
    conn.execute("DELETE FROM pending_episodes WHERE id = ? AND row = ?", (note.id, note.row))


def sweep_stale_parts(folders: Iterable[Path], work_dir: Path) -> None:
    """Remove temporary files a killed run left in ``folders``, and its folder in
    ``work_dir``.

    A SIGKILL or power cut skips atomic_path's cleanup; each such run would otherwise leave
    a hidden partial MP3 in episodes/ (or a partial chunk or segment in the caches). Only
    files a day old go, so a conversion still writing in another process is never touched.
    """
    cutoff = time.time() - STALE_PART_S
    for folder in folders:
        for part in folder.glob(".*.part"):
            with contextlib.suppress(OSError):  # gone already, or not ours to remove
                if part.stat().st_mtime < cutoff:
                    part.unlink()
    # A killed package or preview also leaves its temporary folder (segment WAVs, MP3s).
    # A running package creates and removes a segment WAV in its folder every few seconds,
    # and each of those moves the folder's mtime: only a dead one gets a day old.
    with contextlib.suppress(OSError):
        for leftover in work_dir.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink()


def remove_partial_files(eid: str, folders: Iterable[EpisodeFolder]) -> None:
    """Temporary files a killed run left for episode ``eid`` where episode files are written
    (never under a final name); call only when no other run is making it."""
    for folder in folders:
        for leftover in folder.path.glob(f".{eid}.*.part"):
            log.info("removing %s, left by an interrupted conversion", leftover)
            leftover.unlink(missing_ok=True)
