"""What the command line shows and returns: exit codes, the one-line error, progress bars,
episodes as lines or JSON, and the argument types the commands share.

The only module (with the command modules beside it) that prints; the library never does.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

from tts_pipeline.config import Config
from tts_pipeline.config.watch import parse_date
from tts_pipeline.library.layout import Library
from tts_pipeline.models import ChunkAudio, Episode
from tts_pipeline.pipeline import enclosure_url
from tts_pipeline.verify.summary import suggestion_lines, verification_json, verification_line

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BUSY = 75  # EX_TEMPFAIL: another process holds what this one needs; try again later

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


# -- errors -----------------------------------------------------------------------------------


def fail(problem: BaseException | str) -> None:
    """One line on stderr: ``tts-pipeline: error: ...`` (white space folded)."""
    message = " ".join(str(problem).split()) or type(problem).__name__
    print(f"tts-pipeline: error: {message}", file=sys.stderr)


def say_waiting(line: str) -> None:
    """One line on stderr when a process starts waiting for another (``Library.on_wait``)."""
    print(f"tts-pipeline: {line}", file=sys.stderr, flush=True)


def shared_library(config: Config) -> Library:
    """The config's library, for a command that writes to it: it waits up to
    ``lock_wait_s`` for another process that holds what it needs, and says so."""
    return Library(config.library, wait_s=config.lock_wait_s, on_wait=say_waiting)


# -- progress bars ----------------------------------------------------------------------------


def bars_wanted(quiet: bool) -> bool:
    """Bars go to stderr when it is a terminal and --quiet was not given."""
    return not quiet and sys.stderr.isatty()


class Bar:
    """The one tqdm wrapper: a bar on stderr, created once its total is known."""

    def __init__(self, label: str, unit: str, **options: Any) -> None:
        self._label, self._unit, self._options = label, unit, options
        self._bar: Any = None

    def open(self, total: int) -> None:
        from tqdm import tqdm  # only when a bar is shown: tqdm is slow to import

        self._bar = tqdm(
            total=total, desc=self._label, unit=self._unit, file=sys.stderr, **self._options
        )

    def step(self, count: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def update_to(self, done: int, total: int) -> None:
        """Progress as ``done`` of ``total`` (a download's callback)."""
        if self._bar is None:
            self.open(total)
        self.step(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @contextlib.contextmanager
    def printing(self) -> Iterator[None]:
        """Around a print to stdout: the bar steps aside, and is drawn again after it."""
        if self._bar is None:
            yield
            return
        from tqdm import tqdm

        with tqdm.external_write_mode():
            yield


class ChunkBar:
    """The pipeline's per-episode progress (``pipeline.Progress``): chunks spoken."""

    def __init__(self) -> None:
        self._bar = Bar("Speaking", "chunk", leave=False)

    def start(self, label: str, total: int) -> None:
        self._bar.open(total)

    def advance(self, audio: ChunkAudio) -> None:
        self._bar.step()

    def finish(self) -> None:
        self._bar.close()


def chunk_bar(quiet: bool) -> ChunkBar | None:
    return ChunkBar() if bars_wanted(quiet) else None


class PostsBar(Bar):
    """One bar for a whole batch of posts (done/total, failures, ETA); the per-post chunk bar
    appears below it."""

    def __init__(self, label: str) -> None:
        super().__init__(label, "post", position=0, leave=True)
        self.failed = 0

    def start(self, total: int) -> None:
        self.open(total)
        self._bar.set_postfix(failed=0)

    def post(self, result: str) -> None:
        if self._bar is None:
            return
        if result in ("failed", "gave up"):
            self.failed += 1
            self._bar.set_postfix(failed=self.failed, refresh=False)
        self.step()


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


# -- episodes ---------------------------------------------------------------------------------


def clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def episode_json(episode: Episode, config: Config) -> dict[str, Any]:
    return {
        "id": episode.id,
        "title": episode.title,
        "mp3": str(episode.mp3),
        "duration_s": round(episode.duration_s, 3),
        "url": episode.post.url,
        "enclosure_url": enclosure_url(config, episode),
        "size_bytes": episode.size_bytes,
        "loudness_lufs": round(episode.loudness.integrated_lufs, 2),
        "true_peak_dbtp": round(episode.loudness.true_peak_dbtp, 2),
        "script": str(episode.script_txt),
        "unchanged": episode.unchanged,
        **({"verify": verification_json(episode.verification)} if episode.verification else {}),
    }


def print_episode(episode: Episode, config: Config, *, as_json: bool) -> None:
    """An episode made (or found unchanged): its title, file and length, or one JSON line."""
    if as_json:
        print(json.dumps(episode_json(episode, config)), flush=True)
        return
    print(f"{episode.title}\n  {episode.mp3} ({clock(episode.duration_s)})", flush=True)
    if episode.unchanged:
        print("  unchanged since the last run: nothing to do", flush=True)
    if episode.verification:
        print(f"  {verification_line(episode.verification)}", flush=True)
        for line in suggestion_lines(episode.verification):
            print(f"    {line}", flush=True)


def when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


# -- argument types ---------------------------------------------------------------------------


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of 1 or more: {text!r}")
    return int(text)


def duration(text: str) -> float:
    """``30m`` -> 1800.0; units s, m, h, d; a bare number is seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration such as 30m, 2h or 90s: {text!r}")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def since(text: str) -> dt.datetime:
    """An ISO date or time (UTC unless it says otherwise), or a duration ago (``3d``)."""
    if _DURATION.match(text):
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=duration(text))
    try:
        return parse_date(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date such as 2024-05-01 or 3d: {text!r}") from None


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 24 * 3600:
        raise argparse.ArgumentTypeError("must be from 0 to 86400")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535")
    return value


def add_synth_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that speaks posts."""
    parser.add_argument("--voice", metavar="NAME", help="voice profile (see 'voices')")
    parser.add_argument(
        "--jobs",
        type=positive_int,
        metavar="N",
        help="parallel synthesis processes",
    )
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        help="check every chunk with a speech recogniser (default: verify in the config)",
    )
    parser.add_argument(
        "--executor",
        metavar="SPEC",
        help="where chunks are spoken: local (a process pool, the default) or dask://HOST:PORT",
    )
