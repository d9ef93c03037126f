"""Command line: argv -> library calls; expected errors -> one line on stderr and exit 1.

Each command lives in a module of its own beside this one (``add_<command>`` builds its
parser, ``run_<command>`` runs it); ``output`` holds what they share.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from tts_pipeline import __version__
from tts_pipeline.cli.backfill import add_backfill
from tts_pipeline.cli.check import add_check
from tts_pipeline.cli.convert import add_convert, add_demo
from tts_pipeline.cli.feed import add_feed
from tts_pipeline.cli.output import EXIT_BUSY, EXIT_ERROR, EXIT_INTERRUPTED, fail
from tts_pipeline.cli.preview import add_preview
from tts_pipeline.cli.publish import add_publish
from tts_pipeline.cli.say import add_lexicon, add_say
from tts_pipeline.cli.serve import add_serve
from tts_pipeline.cli.status import add_status
from tts_pipeline.cli.voices import add_voices
from tts_pipeline.cli.watch import add_watch
from tts_pipeline.config import Config, load_config, parse_executor_spec
from tts_pipeline.errors import BusyError, TTSPipelineError
from tts_pipeline.memory import map_large_blocks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tts-pipeline",
        description="Turn forum posts into narrated podcast episodes.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, metavar="FILE", help="TOML config file")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    with_library = argparse.ArgumentParser(add_help=False)
    with_library.add_argument(
        "--library", type=Path, metavar="DIR", help="library folder (default ./podcast)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_convert, add_demo, add_feed):
        add(sub, [common, with_library])
    add_voices(sub, [common])
    add_say(sub, [common])
    add_lexicon(sub, [common])
    for add in (add_preview, add_serve, add_watch, add_status, add_backfill, add_publish):
        add(sub, [common, with_library])
    add_check(sub, [common, with_library])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    map_large_blocks()  # a long post must not grow the heap it packages in
    try:
        config = load_config(args.config)
        if getattr(args, "library", None) is not None:
            config = replace(config, library=args.library)
        if getattr(args, "verify", None) is not None:
            config = replace(config, verify=args.verify)
        if getattr(args, "executor", None) is not None:
            parse_executor_spec(args.executor)  # a bad spec is an error before any work
            config = replace(config, executor=args.executor)
        run: Callable[[argparse.Namespace, Config], int] = args.run
        return run(args, config)
    except BusyError as exc:
        fail(exc)
        return EXIT_BUSY
    except TTSPipelineError as exc:
        fail(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tts-pipeline: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # urllib3 logs every retry as a warning; our own error line already says what failed.
    logging.getLogger("urllib3").setLevel(logging.ERROR if verbosity == 0 else level)


if __name__ == "__main__":
    raise SystemExit(main())
