"""The CLI side of the watcher: ``tts-pipeline watch`` and ``tts-pipeline status``.

This is command-line code (it prints); the watcher itself lives in ``runner``. The CLI's own
helpers are imported when a command runs, because ``cli`` imports this module.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tts_pipeline.config import Config
from tts_pipeline.config.watch import parse_date
from tts_pipeline.errors import WatcherBusyError
from tts_pipeline.execution.seam import open_executor
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode
from tts_pipeline.verify.summary import status_json as verify_status_json
from tts_pipeline.verify.summary import status_lines as verify_status_lines
from tts_pipeline.watch.lock import lock_holder, watch_lock
from tts_pipeline.watch.runner import RunOptions, RunReport, Watcher, run_forever, utc_now
from tts_pipeline.watch.state import Status, WatchState
from tts_pipeline.watch.stop import StopSignals

EXIT_BUSY = 75  # EX_TEMPFAIL: another watcher has the library; try again later

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
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_commands(
    sub: Any,
    parents: Sequence[argparse.ArgumentParser],
    add_synth_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add ``watch`` and ``status`` to the CLI's subcommands."""
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
    watch.set_defaults(run=cmd_watch)

    status = sub.add_parser(
        "status",
        parents=list(parents),
        help="show what the watcher has seen, done, skipped and failed",
        description="Counts of watched posts by forum and status, and the latest failures.",
    )
    status.add_argument(
        "--failures", type=int, default=10, metavar="N", help="show the N latest failures"
    )
    status.add_argument("--json", action="store_true", help="print the state as one JSON object")
    status.set_defaults(run=cmd_status)


def duration(text: str) -> float:
    """``30m`` -> 1800.0; units s, m, h, d; a bare number is seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration such as 30m, 2h or 90s: {text!r}")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def since(text: str) -> dt.datetime:
    """An ISO date or time (UTC unless it says otherwise), or a duration ago (``3d``)."""
    if _DURATION.match(text):
        return utc_now() - dt.timedelta(seconds=duration(text))
    try:
        return parse_date(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date such as 2024-05-01 or 3d: {text!r}") from None


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of 1 or more: {text!r}")
    return int(text)


def cmd_watch(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.cli.main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, _fail, _ProgressBar
    from tts_pipeline.synth.voices import load_voice

    voice = load_voice(args.voice or config.voice)
    library = Library(config.library)
    options = RunOptions(
        forums=tuple(args.forum) if args.forum else None,
        since=args.since,
        min_karma=args.min_karma,
        limit=args.limit,
        retry_given_up=args.retry_failed,
    )
    stop = StopSignals()
    executor = contextlib.ExitStack()
    watcher = Watcher(
        config,
        library,
        voice=voice,
        jobs=args.jobs or config.effective_jobs(),
        progress=None if args.quiet or not sys.stderr.isatty() else _ProgressBar(),
        stop=stop,
        on_episode=lambda episode: _print_episode(episode, config, as_json=args.json),
    )
    watcher.sites(options)  # an unknown --forum is an error before anything else
    library.prepare()
    try:
        with watch_lock(library.root), stop.installed(), executor:
            # Connected once the lock is held; None: the local process pool.
            watcher.executor = executor.enter_context(open_executor(config.executor))
            if args.once:
                report = watcher.run_once(options)
                _print_report(report, quiet=args.quiet)
                if report.stopped:
                    print(f"tts-pipeline: stopped by {stop.signal_name}", file=sys.stderr)
                    return EXIT_INTERRUPTED
                return EXIT_OK if report.ok else EXIT_ERROR
            run_forever(
                watcher,
                options,
                args.every,
                on_report=lambda report: _print_report(report, quiet=args.quiet),
                on_error=_fail,
            )
    except WatcherBusyError as exc:
        _fail(exc)
        return EXIT_BUSY
    finally:
        watcher.close()
    if not args.quiet:
        print(f"tts-pipeline: watcher stopped by {stop.signal_name}", file=sys.stderr)
    return EXIT_OK


def _print_episode(episode: Episode, config: Config, *, as_json: bool) -> None:
    from tts_pipeline.cli.main import _clock, _episode_json

    if as_json:
        print(json.dumps(_episode_json(episode, config)), flush=True)
    else:
        print(f"{episode.title}\n  {episode.mp3} ({_clock(episode.duration_s)})", flush=True)


def _print_report(report: RunReport, *, quiet: bool) -> None:
    """Failures always (one line each, on stderr); the summary unless quiet."""
    for item in report.forum_errors:
        retry = report.backing_off.get(item.forum)
        after = f"; next listing after {_when(retry)}" if retry else ""
        _error(f"{item.forum}: {item.detail}{after}")
    for item in report.failed:
        _error(f"{item.forum} post {item.post_id} ({item.title}): {item.detail}; will retry")
    for item in report.gave_up:
        _error(f"gave up on {item.forum} post {item.post_id} ({item.title}): {item.detail}")
    if quiet:
        return
    forums = [f"{key} {number} listed" for key, number in report.listed.items()]
    forums += [
        f"{key} backing off until {_when(until)}"
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


def _error(message: str) -> None:
    print(f"tts-pipeline: error: {' '.join(message.split())}", file=sys.stderr)


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


# -- status -----------------------------------------------------------------------------------

_COLUMNS = [str(s) for s in Status] + ["gave up"]


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    library = Library(config.library)
    if not library.state_path.is_file():
        print(f"Nothing watched yet in {library.root}.")
        return 0
    state = WatchState(library.state_path)
    counts = state.counts()
    forums = state.forums()
    failures = state.posts(status=Status.FAILED)[: max(args.failures, 0)]
    holder = lock_holder(library.root)
    if args.json:
        print(json.dumps({
            "library": str(library.root),
            "watcher_pid": holder,
            "counts": counts,
            "forums": [
                {"forum": f.forum, "listed_at": _iso(f.listed_at), "failures": f.failures,
                 "last_error": f.last_error, "next_attempt_at": _iso(f.next_attempt_at)}
                for f in forums
            ],
            "failures": [
                {"forum": r.forum, "post_id": r.post_id, "title": r.title, "url": r.url,
                 "attempts": r.attempts, "gave_up": r.gave_up, "error": r.last_error,
                 "next_attempt_at": _iso(r.next_attempt_at), "updated_at": _iso(r.updated_at)}
                for r in failures
            ],
            "verifications": verify_status_json(library),
        }))  # fmt: skip
        return 0
    running = f"a watcher is running (pid {holder})" if holder else "no watcher running"
    print(f"Library {library.root}: {running}")
    width = max([len("forum"), *map(len, counts)])
    print(f"{'forum':<{width}}  " + "  ".join(f"{c:>10}" for c in _COLUMNS))
    for forum in sorted(counts):
        row = "  ".join(f"{counts[forum].get(c, 0):>10}" for c in _COLUMNS)
        print(f"{forum:<{width}}  {row}")
    for f in forums:
        if f.failures:
            print(f"{f.forum}: {f.failures} failed listings in a row, next after"
                  f" {_when(f.next_attempt_at)}: {f.last_error}")  # fmt: skip
        else:
            print(f"{f.forum}: last listed {_when(f.listed_at)}")
    if failures:
        print("Latest failures:")
    for r in failures:
        when = "gave up" if r.gave_up else f"retry after {_when(r.next_attempt_at)}"
        print(f"  {r.forum} {r.post_id} ({r.title}): {r.attempts} attempts, {when}: {r.last_error}")
    for line in verify_status_lines(library):  # intelligibility of verified episodes
        print(line)
    return 0


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
