"""``tts-pipeline watch``: convert new forum posts as they appear (the watcher itself lives in
``watch/``)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import Any

from tts_pipeline.cli.output import (
    EXIT_BUSY,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    add_synth_options,
    chunk_bar,
    duration,
    fail,
    positive_int,
    print_episode,
    shared_library,
    since,
    when,
)
from tts_pipeline.cli.publish import Publishing
from tts_pipeline.cli.voices import command_voice
from tts_pipeline.config import Config
from tts_pipeline.errors import TTSPipelineError, WatcherBusyError
from tts_pipeline.execution import open_executor
from tts_pipeline.models import Episode
from tts_pipeline.watch.lock import watch_lock
from tts_pipeline.watch.report import RunReport
from tts_pipeline.watch.runner import RunOptions, Watcher, run_forever
from tts_pipeline.watch.stop import StopSignals

_EXIT_HELP = f"""\
exit status:
  0    the run finished (with --every: stopped by SIGINT or SIGTERM)
  1    a forum could not be listed or a post failed (retried on a later run)
  2    usage error
  {EXIT_BUSY}   another watcher is already running on this library; nothing was done
  130  --once was stopped by SIGINT or SIGTERM (the post in progress goes back in the queue)

Rules (karma threshold, minimum length, author opt-outs, tags, posts per run, earliest date,
re-narration of edited posts) come from the [watch] and [watch.<forum>] config tables.
Without --since, the first run looks back [watch] lookback_days (default 7), never further.
"""


def add_watch(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser(
        "watch",
        parents=list(parents),
        help="convert new forum posts as they appear",
        description=(
            "List each watched forum's recent posts and convert every one that meets the\n"
            "rules, exactly once. --once suits a systemd timer or cron; --every runs its own\n"
            "loop until SIGINT or SIGTERM. One watcher per library at a time."
        ),
        epilog=_EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = watch.add_mutually_exclusive_group(required=True)
    mode.add_argument("--once", action="store_true", help="one pass, then exit")
    mode.add_argument(
        "--every",
        type=duration,
        metavar="INTERVAL",
        help="a pass every INTERVAL (e.g. 30m, 2h, 90s) until stopped",
    )
    watch.add_argument(
        "--forum",
        action="append",
        metavar="KEY",
        help="watch this forum profile, e.g. af (repeatable; default: [watch] forums)",
    )
    watch.add_argument(
        "--since",
        type=since,
        metavar="DATE",
        help="list posts from DATE (2024-05-01, 2024-05-01T12:00Z) or from 3d / 12h ago",
    )
    watch.add_argument("--min-karma", type=int, metavar="N", help="karma threshold, all forums")
    watch.add_argument("--limit", type=positive_int, metavar="N", help="convert at most N posts")
    watch.add_argument(
        "--retry-failed", action="store_true", help="try posts that were given up on again"
    )
    add_synth_options(watch)
    watch.add_argument("--json", action="store_true", help="one JSON object per new episode")
    watch.set_defaults(run=run_watch)


def run_watch(args: argparse.Namespace, config: Config) -> int:
    voice = command_voice(args.voice, config)
    library = shared_library(config)
    options = RunOptions(
        forums=tuple(args.forum) if args.forum else None,
        since=args.since,
        min_karma=args.min_karma,
        limit=args.limit,
        retry_given_up=args.retry_failed,
    )
    stop = StopSignals()
    executor = contextlib.ExitStack()
    publishing = Publishing(library, config, quiet=args.quiet)

    def on_episode(episode: Episode) -> None:
        print_episode(episode, config, as_json=args.json)
        publishing.episode(episode)

    def on_report(report: RunReport) -> None:
        print_report(report, quiet=args.quiet)
        try:
            publishing.finish()
        except TTSPipelineError as exc:  # the loop goes on; the next pass publishes again
            fail(exc)

    watcher = Watcher(
        config,
        library,
        voice=voice,
        jobs=args.jobs or config.effective_jobs(),
        progress=chunk_bar(args.quiet),
        stop=stop,
        on_episode=on_episode,
    )
    watcher.sites(options)  # an unknown --forum is an error before anything else
    library.prepare()
    try:
        with watch_lock(library.root), stop.installed(), executor:
            # Connected once the lock is held; None: the local process pool.
            watcher.executor = executor.enter_context(open_executor(config.executor))
            if args.once:
                report = watcher.run_once(options)
                print_report(report, quiet=args.quiet)
                publishing.finish()
                if report.stopped:
                    print(f"tts-pipeline: stopped by {stop.signal_name}", file=sys.stderr)
                    return EXIT_INTERRUPTED
                return EXIT_OK if report.ok else EXIT_ERROR
            run_forever(
                watcher,
                options,
                args.every,
                on_report=on_report,
                on_error=fail,
            )
    except WatcherBusyError as exc:
        fail(exc)
        return EXIT_BUSY
    finally:
        watcher.close()
    if not args.quiet:
        print(f"tts-pipeline: watcher stopped by {stop.signal_name}", file=sys.stderr)
    return EXIT_OK


def print_report(report: RunReport, *, quiet: bool) -> None:
    """Failures always (one line each, on stderr); the summary unless quiet."""
    for item in report.forum_errors:
        retry = report.backing_off.get(item.forum)
        after = f"; next listing after {when(retry)}" if retry else ""
        fail(f"{item.forum}: {item.detail}{after}")
    for item in report.failed:
        fail(f"{item.forum} post {item.post_id} ({item.title}): {item.detail}; will retry")
    for item in report.gave_up:
        fail(f"gave up on {item.forum} post {item.post_id} ({item.title}): {item.detail}")
    if quiet:
        return
    forums = [f"{key} {number} listed" for key, number in report.listed.items()]
    forums += [
        f"{key} backing off until {when(until)}"
        for key, until in report.backing_off.items()
        if key not in {e.forum for e in report.forum_errors}
    ]
    parts = [
        f"{len(report.converted)} converted",
        f"{len(report.skipped)} newly skipped",
        f"{len(report.failed) + len(report.gave_up)} failed",
    ]
    if report.recovered:
        parts.append(f"{len(report.recovered)} finished by an earlier run")
    if report.left_queued:
        parts.append(f"{report.left_queued} left for later runs")
    print(f"tts-pipeline: watch: {', '.join(forums) or 'nothing listed'};"
          f" {', '.join(parts)}", file=sys.stderr)  # fmt: skip
