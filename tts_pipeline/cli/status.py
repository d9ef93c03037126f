"""``tts-pipeline status``: what the watcher has seen, done, skipped and failed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from tts_pipeline.cli.output import when
from tts_pipeline.config import Config
from tts_pipeline.library.layout import Library
from tts_pipeline.verify.summary import status_json as verify_status_json
from tts_pipeline.verify.summary import status_lines as verify_status_lines
from tts_pipeline.watch.lock import lock_holder
from tts_pipeline.watch.state import Status, WatchState


def add_status(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
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
    status.set_defaults(run=run_status)


_COLUMNS = [str(s) for s in Status] + ["gave up"]


def run_status(args: argparse.Namespace, config: Config) -> int:
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
                  f" {when(f.next_attempt_at)}: {f.last_error}")  # fmt: skip
        else:
            print(f"{f.forum}: last listed {when(f.listed_at)}")
    if failures:
        print("Latest failures:")
    for r in failures:
        next_try = "gave up" if r.gave_up else f"retry after {when(r.next_attempt_at)}"
        print(f"  {r.forum} {r.post_id} ({r.title}): {r.attempts} attempts, {next_try}:"
              f" {r.last_error}")  # fmt: skip
    for line in verify_status_lines(library):  # intelligibility of verified episodes
        print(line)
    return 0


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
