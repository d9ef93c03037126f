"""``tts-pipeline publish``: put the library online (a bucket or a folder), then check it as
a podcast app would."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from tts_pipeline.cli.output import (
    EXIT_BUSY,
    EXIT_ERROR,
    EXIT_OK,
    Bar,
    bars_wanted,
    shared_library,
)
from tts_pipeline.config import Config
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode
from tts_pipeline.publish.run import AfterEpisodes, PublishOutcome, publish_configured
from tts_pipeline.publish.sync import PublishStep

_EPILOG = f"""\
The target is s3://BUCKET/PREFIX (AWS S3, or any S3 service with [publish] endpoint_url:
Cloudflare R2, Backblaze B2, MinIO, SeaweedFS) or a folder (for a web server, rsync or
GitHub Pages). Credentials come from the environment or the shared AWS config
(AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws/credentials), never from the command line.

Media and side files go up first, then archive feed pages, then the subscription feeds; files
no feed names any more are removed last, after [publish] grace_days. A run with nothing new
sends no request.

exit status:
  {EXIT_OK}    published (and checked, when asked)
  {EXIT_ERROR}    the target refused or failed, or --check found a file an app cannot play
  {EXIT_BUSY}   another publish of this library is running; nothing was done
"""


def add_publish(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    publish = sub.add_parser(
        "publish",
        parents=list(parents),
        help="upload the library's feeds and episodes to a bucket or a folder",
        description=(
            "Mirror the library's public files (feeds, MP3s, transcripts, chapters, cover) to\n"
            "the [publish] target of the config or --to, in an order that never lets a feed\n"
            "name a missing file. One publish per library at a time."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.add_argument(
        "--to",
        metavar="TARGET",
        help="s3://BUCKET/PREFIX or a folder (default: [publish] target from the config)",
    )
    publish.add_argument(
        "--base-url",
        metavar="URL",
        help="the public address of the target (default: base_url from the config)",
    )
    publish.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would be uploaded and removed; change nothing",
    )
    publish.add_argument(
        "--check",
        action="store_true",
        help="list the target instead of trusting the upload record, and afterwards fetch every"
        " public feed and file as a podcast app does",
    )
    publish.add_argument("--json", action="store_true", help="print the outcome as one JSON object")
    publish.set_defaults(run=run_publish)


def run_publish(args: argparse.Namespace, config: Config) -> int:
    library = shared_library(config)
    bar = Bar("Publishing", "file") if bars_wanted(args.quiet) else None

    def progress(step: PublishStep) -> None:
        if bar is not None:
            if step.done == 0:
                bar.close()
                bar.open(step.total)
            bar.step()

    try:
        outcome = publish_configured(
            library,
            config,
            to=args.to,
            base_url=args.base_url,
            dry_run=args.dry_run,
            check=args.check,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(outcome_json(outcome)))
    elif not args.quiet or args.dry_run:
        for line in outcome_lines(outcome):
            print(line)
    return EXIT_OK


def outcome_lines(outcome: PublishOutcome) -> list[str]:
    report = outcome.report
    verb = "would upload" if report.dry_run else "uploaded"
    gone = "would remove" if report.dry_run else "removed"
    lines = [
        f"{report.target}: {verb} {report.uploaded} files ({report.uploaded_bytes / 1e6:.1f} MB),"
        f" {gone} {report.deleted}, {report.skipped} unchanged,"
        f" {report.waiting_removal} awaiting removal ({report.seconds:.1f} s)"
    ]
    if report.dry_run:
        lines += [f"  upload {path}" for path in report.uploaded_paths]
        lines += [f"  remove {path}" for path in report.deleted_paths]
    if outcome.checked is not None:
        checked = outcome.checked
        lines.append(
            f"checked {checked.feeds} feeds at {outcome.base_url}: {checked.enclosures} episodes"
            f" and {checked.other_files} other files answer as apps expect"
        )
    if outcome.announced:
        lines.append(f"announced to {outcome.announced} services")
    return lines


def outcome_json(outcome: PublishOutcome) -> dict[str, Any]:
    report = outcome.report
    return {
        "target": report.target,
        "base_url": outcome.base_url,
        "dry_run": report.dry_run,
        "uploaded": list(report.uploaded_paths),
        "uploaded_bytes": report.uploaded_bytes,
        "removed": list(report.deleted_paths),
        "unchanged": report.skipped,
        "awaiting_removal": report.waiting_removal,
        "listed": report.listed,
        "seconds": round(report.seconds, 3),
        "checked": None
        if outcome.checked is None
        else {
            "feeds": outcome.checked.feeds,
            "enclosures": outcome.checked.enclosures,
            "other_files": outcome.checked.other_files,
        },
        "announced": outcome.announced,
        "announce_error": outcome.announce_error,
    }


class Publishing:
    """A ``convert``, ``watch`` or ``backfill`` run's publishing when the config names a
    target: after each new episode, and once at the end of the run (or of each pass)."""

    def __init__(
        self, library: Library, config: Config, *, quiet: bool, enabled: bool = True
    ) -> None:
        self._after = AfterEpisodes.configured(library, config) if enabled else None
        self._quiet = quiet

    def episode(self, episode: Episode) -> None:
        if self._after is not None and not episode.unchanged:
            self._say(self._after.episode_done())

    def finish(self) -> None:
        """Publish what is not up yet; PublishError (the run fails) if that fails."""
        if self._after is not None:
            self._say(self._after.finish())

    def _say(self, outcome: PublishOutcome | None) -> None:
        if outcome is not None and not self._quiet:
            for line in outcome_lines(outcome):
                print(f"tts-pipeline: publish: {line}", file=sys.stderr)
