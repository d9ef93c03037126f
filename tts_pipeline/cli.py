"""Command line: argv -> library calls; expected errors -> one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tts_pipeline import __version__
from tts_pipeline.config import Config, load_config
from tts_pipeline.errors import TTSPipelineError
from tts_pipeline.library import Library
from tts_pipeline.models import ChunkAudio, Episode
from tts_pipeline.pipeline import convert_url, enclosure_url, make_http, publish_feed
from tts_pipeline.synth.voices import list_voices, load_voice

log = logging.getLogger("tts_pipeline")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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

    convert = sub.add_parser(
        "convert",
        parents=[common, with_library],
        help="convert post URLs into episodes",
        description="Fetch each post, narrate it, and add the episode to the feed.",
    )
    convert.add_argument("urls", nargs="+", metavar="URL", help="post or article URL")
    _add_synth_options(convert)
    convert.add_argument("--json", action="store_true", help="print one JSON object per episode")
    convert.set_defaults(run=cmd_convert)

    demo = sub.add_parser(
        "demo",
        parents=[common, with_library],
        help="convert the bundled sample post (no network needed)",
        description="Serve the bundled sample post from a local forum server and convert it.",
    )
    _add_synth_options(demo)
    demo.add_argument("--json", action="store_true", help="print the episode as JSON")
    demo.set_defaults(run=cmd_demo)

    feed = sub.add_parser(
        "feed",
        parents=[common, with_library],
        help="rebuild feed.xml from the library",
        description="Render the podcast feed again from the library's state database.",
    )
    feed.set_defaults(run=cmd_feed)

    voices = sub.add_parser(
        "voices",
        parents=[common],
        help="list voice profiles",
        description="List the voice profiles --voice can name.",
    )
    voices.set_defaults(run=cmd_voices)
    return parser


def _add_synth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voice", metavar="NAME", help="voice profile (see 'voices')")
    parser.add_argument(
        "--jobs", type=_positive_int, metavar="N", help="parallel synthesis processes"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        config = load_config(args.config)
        if getattr(args, "library", None) is not None:
            config = replace(config, library=args.library)
        run: Callable[[argparse.Namespace, Config], int] = args.run
        return run(args, config)
    except TTSPipelineError as exc:
        _fail(exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tts-pipeline: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # urllib3 logs every retry as a warning; our own error line already says what failed.
    logging.getLogger("urllib3").setLevel(logging.ERROR if verbosity == 0 else level)


def _fail(exc: BaseException) -> None:
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"tts-pipeline: error: {message}", file=sys.stderr)


def cmd_convert(args: argparse.Namespace, config: Config) -> int:
    return _convert_all(args, config, args.urls)


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.sample import sample_forum

    with sample_forum(config) as (demo_config, url):
        status = _convert_all(args, demo_config, [url])
    if status == EXIT_OK and not args.json:
        library = Library(config.library)
        print(f"Feed: {library.feed_path.resolve()}")
    return status


def _convert_all(args: argparse.Namespace, config: Config, urls: Sequence[str]) -> int:
    voice = load_voice(args.voice or config.voice)
    jobs = args.jobs or config.effective_jobs()
    library = Library(config.library)
    http = make_http(config)
    progress = None if args.quiet or not sys.stderr.isatty() else _ProgressBar()
    failures = 0
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
            )
        except TTSPipelineError as exc:
            failures += 1
            _fail(exc if len(urls) == 1 else TTSPipelineError(f"{url}: {exc}"))
            continue
        if args.json:
            print(json.dumps(_episode_json(episode, config)), flush=True)
        else:
            print(f"{episode.title}\n  {episode.mp3} ({_clock(episode.duration_s)})", flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def _episode_json(episode: Episode, config: Config) -> dict[str, Any]:
    return {
        "id": episode.id,
        "title": episode.title,
        "mp3": str(episode.mp3),
        "duration_s": round(episode.duration_s, 3),
        "url": episode.post.url,
        "enclosure_url": enclosure_url(config, episode.mp3),
        "size_bytes": episode.size_bytes,
        "loudness_lufs": round(episode.loudness.integrated_lufs, 2),
        "true_peak_dbtp": round(episode.loudness.true_peak_dbtp, 2),
        "script": str(episode.script_txt),
    }


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class _ProgressBar:
    """A tqdm bar on stderr per episode."""

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, label: str, total: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc="Speaking", unit="chunk", file=sys.stderr, leave=False)

    def advance(self, audio: ChunkAudio) -> None:
        self._bar.update(1)

    def finish(self) -> None:
        self._bar.close()


def cmd_feed(args: argparse.Namespace, config: Config) -> int:
    library = Library(config.library)
    path = publish_feed(library, config)
    print(f"{path} ({len(library.episodes())} episodes)")
    return EXIT_OK


def cmd_voices(args: argparse.Namespace, config: Config) -> int:
    for voice in list_voices():
        marker = "*" if voice.name == config.voice else " "
        print(f"{marker} {voice.name:<12} {voice.engine:<8} {voice.voice:<16} {voice.rate_wpm} wpm")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
