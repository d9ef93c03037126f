"""``convert --from-file``: a list of URLs, converted one by one; a failure never stops the rest.
Reading the file is library code; ``UrlBatch`` is the CLI's tally, bar and summary."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from types import TracebackType

from tts_pipeline.batch.progress import PostsBar, summary_line
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import Episode


def read_url_file(path: Path) -> list[str]:
    """The URLs in ``path``, one per line; blank lines and ``#`` comments (a line starting
    with ``#``, or ``#`` after a space) are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the URL list {path}: {exc}") from None
    urls = []
    for line in text.splitlines():
        # A comment starts a line or follows a space: a URL's own #fragment is kept.
        url = line.split(" #", 1)[0].strip()
        if url and not url.startswith("#"):
            urls.append(url)
    return urls


class UrlBatch:
    """Counts what became of each URL; shows a posts bar when asked (a TTY, not quiet)."""

    def __init__(self, total: int, *, bar: bool) -> None:
        self.total = total
        self.converted = 0
        self.unchanged = 0
        self.failures = 0
        self._bar = PostsBar("Converting") if bar else None
        self._started = time.monotonic()
        self.wall_s = 0.0

    def __enter__(self) -> UrlBatch:
        self._started = time.monotonic()
        if self._bar:
            self._bar.start(self.total)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.wall_s = time.monotonic() - self._started
        if self._bar:
            self._bar.close()

    def printing(self) -> contextlib.AbstractContextManager[None]:
        """Around a print to stdout while the bar is shown (see PostsBar.printing)."""
        return self._bar.printing() if self._bar else contextlib.nullcontext()

    def done(self, episode: Episode) -> None:
        if episode.unchanged:
            self.unchanged += 1
        else:
            self.converted += 1
        if self._bar:
            self._bar.post("converted")

    def failed(self) -> None:
        self.failures += 1
        if self._bar:
            self._bar.post("failed")

    def summary(self) -> str:
        return summary_line(
            f"convert: {self.total} URLs",
            converted=self.converted,
            skipped=self.unchanged,
            failed=self.failures,
            wall_s=self.wall_s,
            extra="unchanged" if self.unchanged else "",
        )
