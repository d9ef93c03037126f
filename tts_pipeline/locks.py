"""Named exclusive locks on files: an ``flock`` the kernel drops when its process ends,
however it ends (SIGKILL included), so a stale lock file never blocks the next run.

The file stays; it holds the pid of the current holder, for a refusal message naming it.
``watch.lock`` keeps one watcher or backfill per library, ``publish.lock`` one publish.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

POLL_S = 0.2


@contextlib.contextmanager
def exclusive(
    path: Path, busy: Callable[[int | None], Exception], *, wait_s: float = 0.0
) -> Iterator[Path]:
    """Hold the lock at ``path`` (its folder must exist) while inside. Held elsewhere: wait
    up to ``wait_s`` seconds, then raise ``busy(holder's pid or None)``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy(_holder(fd)) from None
                time.sleep(POLL_S)
        mine = f"{os.getpid()}\n".encode()
        os.pwrite(fd, mine, 0)
        os.ftruncate(fd, len(mine))
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # still ours: nobody reads a stale pid after a clean exit
    finally:
        os.close(fd)  # releases the lock


def holder(path: Path) -> int | None:
    """The pid of the process holding the lock at ``path``, if any.

    Read-only: taking the lock even briefly could turn a process starting at that moment
    away. The pid is written by the holder and cleared on exit; a killed holder's pid is
    recognised by the process being gone.
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
