"""Clean shutdown: SIGINT/SIGTERM become a stop request, honoured at safe points.

During *interruptible* work (listing, fetching, converting, sleeping) the signal raises
:class:`StopRequested` at once: the conversion unwinds, every file being written is still a
temporary one and is removed (``fsutil.atomic_path``), synthesis workers are stopped, and the
runner puts the post back in the queue. Outside those sections (state-database writes) the
request is only noted, and the runner stops at the next boundary.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(BaseException):
    """A stop signal arrived during interruptible work (not an Exception: nothing may
    swallow it on the way up)."""


class StopSignals:
    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""
        self._depth = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Handle SIGINT and SIGTERM while inside (main thread only)."""
        previous: dict[signal.Signals, Any] = {s: signal.getsignal(s) for s in STOP_SIGNALS}
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        if self._depth:
            self._depth = 0  # raise once; the unwinding code must not be interrupted again
            raise StopRequested(self.signal_name)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Work inside may be abandoned by a stop signal (StopRequested is raised)."""
        if self.requested:
            raise StopRequested(self.signal_name)
        self._depth += 1
        try:
            yield
        finally:
            self._depth = max(self._depth - 1, 0)

    def sleep(self, seconds: float) -> None:
        """Sleep, returning early if a stop is requested."""
        with contextlib.suppress(StopRequested), self.interruptible():
            time.sleep(seconds)
