"""``tts-pipeline backfill``: narrate a forum's archive, or its top posts."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import Any

from tts_pipeline.batch.backfill import BackfillOptions, BackfillReport, backfill
from tts_pipeline.cli.output import (
    EXIT_BUSY,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PostsBar,
    add_synth_options,
    bars_wanted,
    chunk_bar,
    fail,
    positive_int,
    print_episode,
    shared_library,
    since,
    summary_line,
)
from tts_pipeline.cli.publish import Publishing
from tts_pipeline.cli.voices import command_voice
from tts_pipeline.cli.watch import print_report
from tts_pipeline.config import Config
from tts_pipeline.errors import WatcherBusyError
from tts_pipeline.execution import open_executor
from tts_pipeline.models import Episode
from tts_pipeline.synth.engine import require_installed
from tts_pipeline.watch.lock import watch_lock
from tts_pipeline.watch.runner import Watcher
from tts_pipeline.watch.stop import StopSignals

_EPILOG = f"""\
exit status:
  0    every selected post is done or skipped
  1    the forum could not be listed, or a post failed (a later backfill or watch run retries
       it once its backoff has passed)
  2    usage error
  {EXIT_BUSY}   a watcher or another backfill is running on this library: nothing was
       done
  130  stopped by SIGINT or SIGTERM (the post in progress goes back in the queue; run again to
       resume)

Posts are recorded in the watcher's state: a post the watcher has done is not redone, and a
backfill that was killed resumes where it stopped when run again with the same options.
"""


def add_backfill(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "backfill",
        parents=list(parents),
        help="narrate a forum's archive, or its top posts",
        description=(
            "List a forum's posts from --since (default: its whole archive), paged by date,\n"
            "apply the watcher's rules (karma, length, opt-outs, tags), keep the --top N by\n"
            "karma if asked, and convert them with the watcher's state: each post exactly\n"
            "once. --executor dask://HOST:PORT speaks the chunks on a Dask cluster."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--forum", required=True, metavar="KEY", help="forum profile, e.g. af")
    parser.add_argument(
        "--since",
        type=since,
        metavar="DATE",
        help="posts from DATE (2024-05-01) or from 30d ago (default: the whole archive)",
    )
    parser.add_argument("--min-karma", type=int, metavar="N", help="karma threshold")
    parser.add_argument(
        "--top",
        type=positive_int,
        metavar="N",
        help="only the N highest-karma posts that meet the rules",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="convert at most N posts in this run (the rest stay queued)",
    )
    add_synth_options(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per new episode")
    parser.set_defaults(run=run_backfill)


def run_backfill(args: argparse.Namespace, config: Config) -> int:
    voice = command_voice(args.voice, config)
    require_installed(voice)
    config.site(args.forum)  # an unknown forum is an error before anything else
    library = shared_library(config)
    library.prepare()
    tty = bars_wanted(args.quiet)
    bar = PostsBar(f"Backfill {args.forum}") if tty else None
    stop = StopSignals()
    options = BackfillOptions(
        forum=args.forum,
        since=args.since,
        min_karma=args.min_karma,
        top=args.top,
        limit=args.limit,
    )
    jobs = args.jobs or config.effective_jobs()
    publishing = Publishing(library, config, quiet=args.quiet)

    def on_episode(episode: Episode) -> None:
        _print_episode(bar, episode, config, as_json=args.json)
        publishing.episode(episode)

    try:
        with (
            watch_lock(library.root),
            stop.installed(),
            open_executor(config.executor, batch_jobs=jobs) as remote,
        ):
            watcher = Watcher(
                config,
                library,
                voice=voice,
                jobs=jobs,
                progress=chunk_bar(args.quiet),
                stop=stop,
                on_episode=on_episode,
                executor=remote,
            )
            try:
                report = backfill(
                    watcher,
                    options,
                    on_start=bar.start if bar else None,
                    on_post=(lambda event: bar.post(event.result)) if bar else None,
                )
            finally:
                watcher.close()
                if bar:
                    bar.close()
    except WatcherBusyError as exc:
        fail(exc)
        return EXIT_BUSY
    print_report(report.run, quiet=True)  # one error line per failure
    publishing.finish()
    if not args.quiet:
        print(summary(args.forum, report), file=sys.stderr)
    if report.run.stopped:
        print(f"tts-pipeline: stopped by {stop.signal_name}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if report.ok else EXIT_ERROR


def _print_episode(
    bar: PostsBar | None, episode: Episode, config: Config, *, as_json: bool
) -> None:
    with bar.printing() if bar else contextlib.nullcontext():
        print_episode(episode, config, as_json=as_json)


def summary(forum: str, report: BackfillReport) -> str:
    run = report.run
    skipped = report.already_done + len(run.recovered) + len(run.skipped)
    parts = [f"{report.already_done} already done"] if report.already_done else []
    if run.recovered:
        parts.append(f"{len(run.recovered)} finished by an earlier run")
    if run.skipped:
        parts.append(f"{len(run.skipped)} by the rules")
    line = summary_line(
        f"backfill {forum}: {report.listed} listed, {report.selected} selected",
        converted=len(run.converted),
        skipped=skipped,
        failed=len(run.failed) + len(run.gave_up),
        wall_s=report.wall_s,
        extra=", ".join(parts),
    )
    waiting = report.waiting + report.left_queued
    return line + (f"; {waiting} left for a later run" if waiting else "")
