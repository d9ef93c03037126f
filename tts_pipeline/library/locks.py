"""Locks that let many processes (a watcher, a backfill, a manual ``convert``, ``serve``) work
on one library at once: an exclusive ``flock`` on a small file under ``cache/locks/``.

- one per episode (``<id>.lock``), held while that episode is made aside, published and
  recorded: two processes never stage the same file names at once, and a second process
  converting the same post waits, then finds it done (or gives up with LibraryBusyError);
- one for the feeds (``feeds.lock``), held while the feeds are rendered from the state and
  written: the last writer always renders the newest state, so a slower process can never
  leave a feed older than the record;
- ``sole`` locks for work one process at a time does on a library and a second refuses
  (``watch.lock``: one watcher or backfill; ``publish.lock``: one publish).

A lock file holds its holder's pid, for a refusal message naming it (``holder``).

The kernel drops a lock when its process ends, however it ends (SIGKILL included), so a
killed run never blocks the next. A holder removes its lock file on release (so one file per
episode does not pile up); a waiter that then gets the lock on the removed file notices that
the path names another file (or none) and tries again on the path's file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tts_pipeline.errors import LibraryBusyError, LibraryError, TTSPipelineError

LOCKS_FOLDER = "cache/locks"
FEEDS_LOCK = "feeds"
POLL_S = (0.02, 0.5)  # first and longest pause between tries while waiting

Notify = Callable[[str], None]


def _try_lock(path: Path) -> int | None:
    """An fd holding the exclusive lock on ``path``'s file, or None if another holds it."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the folder itself was removed: make it again
            path.parent.mkdir(parents=True, exist_ok=True)
            continue
        except OSError as exc:
            raise LibraryError(f"cannot open lock file {path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            mine = f"{os.getpid()}\n".encode()
            os.pwrite(fd, mine, 0)
            os.ftruncate(fd, len(mine))
            return fd
        os.close(fd)  # locked a file its holder removed on release: take the path's own


def _release(path: Path, fd: int) -> None:
    path.unlink(missing_ok=True)  # still ours: a waiter on this file will notice it is gone
    os.close(fd)


@contextlib.contextmanager
def holding(
    path: Path,
    *,
    what: str,
    wait_s: float,
    on_wait: Notify | None = None,
) -> Iterator[bool]:
    """Hold the lock at ``path`` while inside; yield whether another process held it first.

    Waits up to ``wait_s`` seconds, saying once through ``on_wait`` that it waits (``what``
    names the holder's work: "converting X"), then raises LibraryBusyError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _try_lock(path)
    waited = fd is None
    started = time.monotonic()
    pause, tries = POLL_S[0], 0
    while fd is None:
        if time.monotonic() - started >= wait_s:
            raise LibraryBusyError(
                f"another process has been {what} for {wait_s:g} s; gave up waiting"
                " (try again later)",
                what=what,
            )
        tries += 1
        if on_wait is not None and tries == 3:  # held longer than a moment's probe
            on_wait(f"waiting for another process {what}")
        time.sleep(min(pause, max(started + wait_s - time.monotonic(), 0.0)))
        pause = min(pause * 2, POLL_S[1])
        fd = _try_lock(path)
    try:
        yield waited
    finally:
        _release(path, fd)


@contextlib.contextmanager
def claimed_if_free(path: Path) -> Iterator[bool]:
    """Hold the lock at ``path`` while inside if nobody holds it; yield whether it is held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _try_lock(path)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            _release(path, fd)


def is_held(path: Path) -> bool:
    """Whether a process holds the lock at ``path`` now: a moment's shared probe, which
    neither creates nor removes the file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no file: nobody holds it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def sole(
    path: Path, busy: Callable[[int | None], TTSPipelineError], *, wait_s: float = 0.0
) -> Iterator[Path]:
    """Hold the lock at ``path`` while inside, as the one process doing its work; if another
    holds it for more than ``wait_s`` seconds, raise ``busy(that process's pid or None)``."""
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(holding(path, what="holding it", wait_s=wait_s))
    except LibraryBusyError:
        raise busy(holder(path)) from None
    with stack:
        yield path


def holder(path: Path) -> int | None:
    """The pid of the process holding the lock at ``path``, if any.

    Read-only: taking the lock even briefly could turn a process starting at that moment
    away. A killed holder's pid is recognised by the process being gone.
    """
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    return int(text)
