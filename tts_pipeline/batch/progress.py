"""Progress over many posts (a tqdm bar on stderr: done/total, failures, ETA) and the summary
line printed at the end. Command-line code: the library itself never prints."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


class PostsBar:
    """One bar for the whole batch; the per-post chunk bar appears below it."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: Any = None
        self.failed = 0

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=total, desc=self._label, unit="post", file=sys.stderr, position=0, leave=True
        )
        self._bar.set_postfix(failed=0)

    def post(self, result: str) -> None:
        if self._bar is None:
            return
        if result in ("failed", "gave up"):
            self.failed += 1
            self._bar.set_postfix(failed=self.failed, refresh=False)
        self._bar.update(1)

    @contextlib.contextmanager
    def printing(self) -> Iterator[None]:
        """Around a print to stdout: the bars step aside, and are drawn again after it."""
        if self._bar is None:
            yield
            return
        from tqdm import tqdm

        with tqdm.external_write_mode():
            yield

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def rate_per_min(posts: int, wall_s: float) -> float:
    return 60.0 * posts / wall_s if wall_s > 0 else 0.0


def summary_line(
    what: str, *, converted: int, skipped: int, failed: int, wall_s: float, extra: str = ""
) -> str:
    """``tts-pipeline: backfill af: 3 converted, 1 skipped, 0 failed in 42.0 s (4.3 posts/min)``"""
    minutes = f"{wall_s / 60:.1f} min" if wall_s >= 120 else f"{wall_s:.1f} s"
    detail = f" ({extra})" if extra else ""
    return (
        f"tts-pipeline: {what}: {converted} converted, {skipped} skipped{detail}, {failed} failed"
        f" in {minutes} ({rate_per_min(converted, wall_s):.1f} posts/min)"
    )
