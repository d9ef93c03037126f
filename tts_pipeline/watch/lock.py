"""One watcher per library: an exclusive ``flock`` on ``<library>/watch.lock``.

The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
stale lock file never blocks the next run. The file itself stays; it only holds the pid of
the current holder, for the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tts_pipeline.errors import WatcherBusyError

LOCK_NAME = "watch.lock"


@contextlib.contextmanager
def watch_lock(root: Path) -> Iterator[Path]:
    """Hold the watcher lock of the library at ``root`` (which must exist) while inside."""
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            who = f"pid {pid}" if pid else "another process"
            raise WatcherBusyError(
                f"another watcher is already running on {root} ({who}); not starting a second",
                pid=pid,
            ) from None
        mine = f"{os.getpid()}\n".encode()
        os.pwrite(fd, mine, 0)
        os.ftruncate(fd, len(mine))
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # still ours: nobody reads a stale pid after a clean exit
    finally:
        os.close(fd)  # releases the lock


def lock_holder(root: Path) -> int | None:
    """The pid of the watcher running on the library at ``root``, if any.

    Read-only: taking the lock even briefly could turn a watcher starting at that moment
    away. The pid is written by the holder and cleared on exit; a killed holder's pid is
    recognised by the process being gone.
    """
    try:
        text = (root / LOCK_NAME).read_text(encoding="ascii", errors="replace").strip()
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


def _holder(fd: int) -> int | None:
    """The holder's pid; it writes it just after taking the lock, so allow it a moment."""
    for _ in range(20):
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.005)
    return None
