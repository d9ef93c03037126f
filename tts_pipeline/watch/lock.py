"""One watcher (or backfill) per library: the ``sole`` lock ``<library>/watch.lock``
(see :mod:`tts_pipeline.library.locks`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tts_pipeline.errors import WatcherBusyError
from tts_pipeline.library.locks import holder, sole

LOCK_NAME = "watch.lock"


@contextlib.contextmanager
def watch_lock(root: Path) -> Iterator[Path]:
    """Hold the watcher lock of the library at ``root`` (which must exist) while inside."""

    def busy(pid: int | None) -> WatcherBusyError:
        who = f"pid {pid}" if pid else "another process"
        return WatcherBusyError(
            f"another watcher is already running on {root} ({who}); not starting a second",
            pid=pid,
        )

    with sole(root / LOCK_NAME, busy) as path:
        yield path


def lock_holder(root: Path) -> int | None:
    """The pid of the watcher running on the library at ``root``, if any."""
    return holder(root / LOCK_NAME)
