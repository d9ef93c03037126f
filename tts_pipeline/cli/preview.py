"""``tts-pipeline preview``: hear a post or an episode, or read its spoken script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tts_pipeline.cli.output import EXIT_OK, clock, positive_int, seconds
from tts_pipeline.cli.voices import command_voice
from tts_pipeline.config import Config
from tts_pipeline.errors import PreviewError
from tts_pipeline.library.layout import Library
from tts_pipeline.net.http import http_client
from tts_pipeline.preview.episode import episode_file, find_episode, is_url, preview_episode
from tts_pipeline.preview.post import preview_url
from tts_pipeline.preview.script import episode_script, url_script


def add_preview(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "preview",
        parents=list(parents),
        help="hear a post or an episode before publishing",
        description=(
            "Play the intro and the first seconds of a post (only those are synthesised), one"
            " chapter of it, or an episode of the library from the start or from a chapter."
            " Without a sound device the preview is written to a WAV file, whose path is"
            " printed, and the command still succeeds."
        ),
    )
    parser.add_argument(
        "target",
        metavar="URL|EPISODE|MP3",
        help="post URL, episode id, or the path of an episode's MP3 (in any library)",
    )
    parser.add_argument(
        "--seconds",
        type=seconds,
        metavar="N",
        help="how much to hear (a URL: 30 s of the post after the intro; an episode: to the end)",
    )
    parser.add_argument(
        "--chapter",
        type=positive_int,
        metavar="K",
        help="start at chapter K (from 1)",
    )
    parser.add_argument(
        "--script",
        action="store_true",
        help="print the spoken script with section markers (and its chapters); play nothing",
    )
    parser.add_argument("--voice", metavar="NAME", help="voice profile for a URL (see 'voices')")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write the WAV (default LIBRARY/previews/<id>.wav)",
    )
    parser.set_defaults(run=run_preview)


def run_preview(args: argparse.Namespace, config: Config) -> int:
    library = Library(config.library)
    found = find_episode(library, args.target)
    in_file = episode_file(args.target) if found is None else None
    if in_file is not None:  # an episode's MP3, in whichever library holds it
        library = in_file[0]
        found = find_episode(library, in_file[1])
    if found is None and not is_url(args.target):
        raise PreviewError(
            f"{args.target!r} is neither an episode in {library.root}, an episode's MP3 nor a URL"
        )
    on_play = None if args.quiet else _announce
    if found is not None:
        if args.voice:
            raise PreviewError(f"--voice applies to a URL; episode {found[0]} is already spoken")
        if args.script:
            print(episode_script(library, found[0], chapter=args.chapter), end="")
            return EXIT_OK
        outcome = preview_episode(
            library, *found, seconds=args.seconds, chapter=args.chapter, output=args.output,
            on_play=on_play,
        )  # fmt: skip
    else:
        voice = command_voice(args.voice, config)
        if args.script:
            text = url_script(
                args.target, config=config, voice=voice, http=http_client(config),
                chapter=args.chapter,
            )  # fmt: skip
            print(text, end="")
            return EXIT_OK
        outcome = preview_url(
            args.target, config=config, library=library, voice=voice, http=http_client(config),
            seconds=args.seconds, chapter=args.chapter, output=args.output,
            jobs=config.effective_jobs(), on_play=on_play,
        )  # fmt: skip
    if outcome.not_played is not None:
        print(
            f"tts-pipeline: {outcome.not_played}; the preview"
            f" ({outcome.duration_s:.1f} s) was written to a file instead",
            file=sys.stderr,
        )
        print(outcome.wav)
    return EXIT_OK


def _announce(title: str, output: str, seconds: float) -> None:
    print(f"Playing {title} ({clock(seconds)}) on {output}", file=sys.stderr, flush=True)
