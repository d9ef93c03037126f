"""``tts-pipeline convert`` and ``tts-pipeline demo``: post URLs (or the bundled sample post)
into episodes; one failure never stops the rest."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tts_pipeline.batch.urls import read_url_file
from tts_pipeline.cli.output import (
    EXIT_BUSY,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    PostsBar,
    add_synth_options,
    chunk_bar,
    fail,
    print_episode,
    shared_library,
    summary_line,
)
from tts_pipeline.cli.publish import Publishing
from tts_pipeline.cli.voices import command_voice
from tts_pipeline.config import Config
from tts_pipeline.errors import LibraryBusyError, TTSPipelineError
from tts_pipeline.execution import open_executor
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode
from tts_pipeline.net.http import http_client
from tts_pipeline.pipeline import convert_url
from tts_pipeline.synth.engine import require_installed


def add_convert(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    convert = sub.add_parser(
        "convert",
        parents=list(parents),
        help="convert post URLs into episodes",
        description="Fetch each post, narrate it, and add the episode to the feed.",
    )
    convert.add_argument("urls", nargs="*", metavar="URL", help="post or article URL")
    convert.add_argument(
        "--from-file",
        type=Path,
        metavar="FILE",
        help="also convert the URLs in FILE (one per line; blank lines and # comments ignored)",
    )
    add_synth_options(convert)
    convert.add_argument("--json", action="store_true", help="print one JSON object per episode")
    convert.set_defaults(run=run_convert)


def add_demo(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        parents=list(parents),
        help="convert the bundled sample post (no network needed)",
        description="Serve the bundled sample post from a local forum server and convert it.",
    )
    add_synth_options(demo)
    demo.add_argument("--json", action="store_true", help="print the episode as JSON")
    demo.set_defaults(run=run_demo)


def run_convert(args: argparse.Namespace, config: Config) -> int:
    urls = list(args.urls)
    if args.from_file is not None:
        urls += read_url_file(args.from_file)
    if not urls:
        fail("no URL given (name some, or --from-file FILE)")
        return EXIT_USAGE
    return convert_all(args, config, urls, summary=args.from_file is not None)


def run_demo(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.sample import sample_forum  # starts a server: only for this command

    with sample_forum(config) as (demo_config, url):
        status = convert_all(args, demo_config, [url], publish=False)
    if status == EXIT_OK and not args.json:
        library = Library(config.library)
        print(f"Feed: {library.feed_path.resolve()}")
    return status


def convert_all(
    args: argparse.Namespace,
    config: Config,
    urls: Sequence[str],
    *,
    summary: bool = False,
    publish: bool = True,
) -> int:
    """Convert each URL; one failure does not stop the rest. ``summary``: end with a line of
    counts, wall time and posts per minute (``--from-file`` batches). ``publish``: publish
    after each episode and at the end when the config names a target."""
    voice = command_voice(args.voice, config)
    require_installed(voice)
    jobs = args.jobs or config.effective_jobs()
    library = shared_library(config)
    http = http_client(config)
    progress = chunk_bar(args.quiet)
    batch = UrlBatch(len(urls), bar=progress is not None and len(urls) > 1)
    publishing = Publishing(library, config, quiet=args.quiet, enabled=publish)
    # Several posts: one local pool for them all (workers start once), or the cluster.
    pool_jobs = jobs if len(urls) > 1 else 0
    with open_executor(config.executor, batch_jobs=pool_jobs) as executor, batch:
        for url in urls:
            try:
                episode = convert_url(
                    url,
                    config=config,
                    library=library,
                    voice=voice,
                    jobs=jobs,
                    http=http,
                    progress=progress,
                    executor=executor,
                )
            except TTSPipelineError as exc:
                batch.failed(busy=isinstance(exc, LibraryBusyError))
                with batch.printing():
                    fail(exc if len(urls) == 1 else f"{url}: {exc}")
                continue
            batch.done(episode)
            with batch.printing():
                print_episode(episode, config, as_json=args.json)
            publishing.episode(episode)
    publishing.finish()
    if summary and not args.quiet:
        print(batch.summary(), file=sys.stderr)
    if batch.failures:  # only waits given up on: try again later
        return EXIT_BUSY if batch.failures == batch.busy else EXIT_ERROR
    return EXIT_OK


class UrlBatch:
    """The tally of a batch of URLs: what became of each, a posts bar when asked (a TTY, not
    quiet), and the summary line."""

    def __init__(self, total: int, *, bar: bool) -> None:
        self.total = total
        self.converted = 0
        self.unchanged = 0
        self.failures = 0
        self.busy = 0  # failures that were waits for another process, given up on
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

    def failed(self, *, busy: bool = False) -> None:
        self.failures += 1
        self.busy += busy
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
