"""``tts-pipeline feed``: render the library's feeds again from its records."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from tts_pipeline.cli.output import EXIT_OK, shared_library
from tts_pipeline.config import Config
from tts_pipeline.errors import LibraryError
from tts_pipeline.library.feed_writer import publish_feeds


def add_feed(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    feed = sub.add_parser(
        "feed",
        parents=list(parents),
        help="rebuild feed.xml and the per-forum feeds from the library",
        description=(
            "Render feed.xml (every episode) and feeds/<prefix>.xml (one per forum) again from"
            " the library's episode files and state database, e.g. after a config change."
        ),
    )
    feed.add_argument(
        "--base-url",
        metavar="URL",
        help="where the library is published (default: base_url from the config)",
    )
    feed.set_defaults(run=run_feed)


def run_feed(args: argparse.Namespace, config: Config) -> int:
    library = shared_library(config)
    if not library.state_path.is_file():
        raise LibraryError(f"{library.root} is not a library yet (no {library.state_path.name})")
    written = publish_feeds(library, config, args.base_url)
    print(f"{written[0]} ({library.episode_count()} episodes)")
    for path in written[1:]:
        print(path)
    return EXIT_OK
