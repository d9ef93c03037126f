"""``tts-pipeline check``: whether a library's state, episode files and feeds agree."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tts_pipeline.cli.output import EXIT_ERROR, EXIT_OK
from tts_pipeline.config import Config
from tts_pipeline.library.check import check_library
from tts_pipeline.library.layout import Library

_EPILOG = """\
checks:
  - the state database passes SQLite's integrity check
  - every recorded episode's MP3 is in episodes/ at its recorded size; no post is recorded
    twice; no publication is left half done
  - episodes/ holds no file that no record names, and no partial file
  - every feed file is well-formed XML, names only files that are there, lists no guid twice
    (across its pages too), and every recorded episode is in some feed

Nothing is written: it may run while watch, backfill, convert or serve use the library.

exit status:
  0    the library is whole
  1    one line per problem on stdout
"""


def add_check(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        parents=list(parents),
        help="check that the library's state, episode files and feeds agree",
        description="Check a library's state database, episode files and feeds.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run_check)


def run_check(args: argparse.Namespace, config: Config) -> int:
    library = Library(config.library)
    report = check_library(library, config.public_base_url)
    for problem in report.problems:
        print(problem)
    if report.problems:
        count = len(report.problems)
        print(f"{library.root}: {count} problem{'s' * (count != 1)}", file=sys.stderr)
        return EXIT_ERROR
    if not args.quiet:
        print(f"{library.root}: {report.episodes} episodes, {report.feeds} feed files: whole")
    return EXIT_OK
