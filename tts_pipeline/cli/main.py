"""Command line: argv -> library calls; expected errors -> one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tts_pipeline import __version__
from tts_pipeline.batch.urls import UrlBatch, read_url_file
from tts_pipeline.cli import backfill as batch_commands
from tts_pipeline.cli import voices as voice_commands
from tts_pipeline.cli import watch as watch_commands
from tts_pipeline.config import Config, load_config
from tts_pipeline.errors import LibraryError, PreviewError, TTSPipelineError
from tts_pipeline.execution.seam import open_executor, parse_spec
from tts_pipeline.library.feeds import publish_feeds
from tts_pipeline.library.layout import Library
from tts_pipeline.memory import map_large_blocks
from tts_pipeline.models import ChunkAudio, Episode
from tts_pipeline.pipeline import convert_url, enclosure_url, make_http
from tts_pipeline.synth.engine import require_installed
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.verify.summary import verification_json, verification_line

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
    convert.add_argument("urls", nargs="*", metavar="URL", help="post or article URL")
    convert.add_argument(
        "--from-file",
        type=Path,
        metavar="FILE",
        help="also convert the URLs in FILE (one per line; blank lines and # comments ignored)",
    )
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
    feed.set_defaults(run=cmd_feed)

    voice_commands.add_commands(sub, [common])
    _add_preview_and_serve(sub, common, with_library)
    watch_commands.add_commands(sub, [common, with_library], _add_synth_options)
    batch_commands.add_commands(sub, [common, with_library], _add_synth_options)
    return parser


def _add_synth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voice", metavar="NAME", help="voice profile (see 'voices')")
    parser.add_argument(
        "--jobs",
        type=watch_commands.positive_int,
        metavar="N",
        help="parallel synthesis processes",
    )
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        help="check every chunk with a speech recogniser (default: verify in the config)",
    )
    parser.add_argument(
        "--executor",
        metavar="SPEC",
        help="where chunks are spoken: local (a process pool, the default) or dask://HOST:PORT",
    )


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
            parse_spec(args.executor)  # a bad spec is an error before any work
            config = replace(config, executor=args.executor)
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
    urls = list(args.urls)
    if args.from_file is not None:
        urls += read_url_file(args.from_file)
    if not urls:
        print("tts-pipeline: error: no URL given (name some, or --from-file FILE)", file=sys.stderr)
        return EXIT_USAGE
    return _convert_all(args, config, urls, summary=args.from_file is not None)


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.sample import sample_forum

    if args.voice is None:  # narrate with joe when it is installed
        args.voice = voice_commands.demo_voice(config)
    with sample_forum(config) as (demo_config, url):
        status = _convert_all(args, demo_config, [url])
    if status == EXIT_OK and not args.json:
        library = Library(config.library)
        print(f"Feed: {library.feed_path.resolve()}")
    return status


def _convert_all(
    args: argparse.Namespace, config: Config, urls: Sequence[str], *, summary: bool = False
) -> int:
    """Convert each URL; one failure does not stop the rest. ``summary``: end with a line of
    counts, wall time and posts per minute (``--from-file`` batches)."""
    voice = load_voice(args.voice or config.voice)
    require_installed(voice)
    jobs = args.jobs or config.effective_jobs()
    library = Library(config.library)
    http = make_http(config)
    progress = None if args.quiet or not sys.stderr.isatty() else _ProgressBar()
    batch = UrlBatch(len(urls), bar=progress is not None and len(urls) > 1)
    # Several posts: one local pool for them all (workers start once), or the cluster.
    pool_jobs = jobs if len(urls) > 1 else 0
    with open_executor(config.executor, batch_jobs=pool_jobs) as executor, batch:
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
                    executor=executor,
                )
            except TTSPipelineError as exc:
                batch.failed()
                with batch.printing():
                    _fail(exc if len(urls) == 1 else TTSPipelineError(f"{url}: {exc}"))
                continue
            batch.done(episode)
            with batch.printing():
                _print_converted(episode, config, as_json=args.json)
    if summary and not args.quiet:
        print(batch.summary(), file=sys.stderr)
    return EXIT_ERROR if batch.failures else EXIT_OK


def _print_converted(episode: Episode, config: Config, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_episode_json(episode, config)), flush=True)
        return
    print(f"{episode.title}\n  {episode.mp3} ({_clock(episode.duration_s)})", flush=True)
    if episode.unchanged:
        print("  unchanged since the last run: nothing to do", flush=True)
    if episode.verification:
        print(f"  {verification_line(episode.verification)}", flush=True)


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
        "unchanged": episode.unchanged,
        **({"verify": verification_json(episode.verification)} if episode.verification else {}),
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
    if not library.state_path.is_file():
        raise LibraryError(f"{library.root} is not a library yet (no {library.state_path.name})")
    written = publish_feeds(library, config, args.base_url)
    print(f"{written[0]} ({len(library.episodes())} episodes)")
    for path in written[1:]:
        print(path)
    return EXIT_OK


def _add_preview_and_serve(
    sub: Any, common: argparse.ArgumentParser, with_library: argparse.ArgumentParser
) -> None:
    preview = sub.add_parser(
        "preview",
        parents=[common, with_library],
        help="hear a post or an episode before publishing",
        description=(
            "Play the intro and the first seconds of a post (only those are synthesised), one"
            " chapter of it, or an episode of the library from the start or from a chapter."
            " Without a sound device the preview is written to a WAV file, whose path is"
            " printed, and the command still succeeds."
        ),
    )
    preview.add_argument("target", metavar="URL|EPISODE", help="post URL or episode id")
    preview.add_argument(
        "--seconds",
        type=_seconds,
        metavar="N",
        help="how much to hear (a URL: 30 s of the post after the intro; an episode: to the end)",
    )
    preview.add_argument(
        "--chapter",
        type=watch_commands.positive_int,
        metavar="K",
        help="start at chapter K (from 1)",
    )
    preview.add_argument(
        "--script",
        action="store_true",
        help="print the spoken script with section markers (and its chapters); play nothing",
    )
    preview.add_argument("--voice", metavar="NAME", help="voice profile for a URL (see 'voices')")
    preview.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write the WAV (default LIBRARY/previews/<id>.wav)",
    )
    preview.set_defaults(run=cmd_preview)

    serve = sub.add_parser(
        "serve",
        parents=[common, with_library],
        help="serve the library's feeds, episodes and a player page over HTTP",
        description=(
            "Serve the library over HTTP: an episode page, the feeds (pointing at this server),"
            " and the episodes with byte ranges. Bind to a LAN address (or 0.0.0.0) to"
            " subscribe from a phone on the same network."
        ),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000)")
    serve.set_defaults(run=cmd_serve)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 24 * 3600:
        raise argparse.ArgumentTypeError("must be from 0 to 86400")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535")
    return value


def cmd_preview(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.preview import episode as preview

    library = Library(config.library)
    found = preview.find_episode(library, args.target)
    if found is None and not preview.is_url(args.target):
        raise PreviewError(f"{args.target!r} is neither an episode in {library.root} nor a URL")
    on_play = None if args.quiet else _announce
    if found is not None:
        if args.voice:
            raise PreviewError(f"--voice applies to a URL; episode {found[0]} is already spoken")
        if args.script:
            print(preview.episode_script(library, found[0], chapter=args.chapter), end="")
            return EXIT_OK
        outcome = preview.preview_episode(
            library, *found, seconds=args.seconds, chapter=args.chapter, output=args.output,
            on_play=on_play,
        )  # fmt: skip
    else:
        voice = load_voice(args.voice or config.voice)
        if args.script:
            text = preview.url_script(
                args.target, config=config, voice=voice, http=make_http(config),
                chapter=args.chapter,
            )  # fmt: skip
            print(text, end="")
            return EXIT_OK
        outcome = preview.preview_url(
            args.target, config=config, library=library, voice=voice, http=make_http(config),
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
    print(f"Playing {title} ({_clock(seconds)}) on {output}", file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.serve.server import LibraryServer

    library = Library(config.library)
    server = LibraryServer(
        library, config=config, host=args.host, port=args.port, access_log=args.verbose > 0
    )
    print(f"Serving {library.root.resolve()} at {server.url} (Ctrl-C to stop)")
    print(f"Feed: {server.url}feed.xml", flush=True)
    if server.all_interfaces:
        print("Listening on every interface: from another device, use this machine's address.")
    with contextlib.suppress(KeyboardInterrupt):  # the normal way to stop a server
        server.serve_forever()
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
