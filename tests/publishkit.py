"""Small real libraries for the publish tests and benchmark, made without speech synthesis.

One short MP3 is encoded by ffmpeg (a sine tone) per process; each episode gets its own
copy with a distinct ID3 title, so every MP3 is real and different. Side files are written
in their documented formats, and the feeds are rendered by the project's own renderer with
enclosure URLs formed as the library forms them (``feeds.library_url``). Files that must
never be public (state, cache, previews, a verification report) are there too.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clirun import cli_env
from mutagen.id3 import ID3, TIT2

from tts_pipeline.library.feeds import COVER_NAME, library_url
from tts_pipeline.package.cover import default_cover
from tts_pipeline.package.rss import FeedChannel, FeedItem, Transcript, render_feed

ARCHIVE_MARK = '<fh:archive xmlns:fh="http://purl.org/syndication/history/1.0" />'
NOT_PUBLIC = ("state.sqlite3", "cache/chunks/a.wav", "previews/p.mp3", "held/x.mp3")


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None


@functools.cache
def tone_mp3(seconds: float = 1.0) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tone.mp3"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
             f"sine=frequency=440:duration={seconds}", "-ac", "1", "-ar", "44100",
             "-b:a", "64k", str(out)],
            check=True,
        )  # fmt: skip
        return out.read_bytes()


@dataclass(frozen=True)
class EpisodeSpec:
    eid: str
    prefix: str
    title: str
    published: datetime


def episode_specs(count: int, *, start: int = 0) -> list[EpisodeSpec]:
    first = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        EpisodeSpec(f"ep{n:05d}", ("AF", "LW")[n % 2], f"Episode {n}", first + timedelta(hours=n))
        for n in range(start, start + count)
    ]


def write_episode(root: Path, spec: EpisodeSpec, *, seconds: float = 1.0) -> None:
    episodes = root / "episodes"
    episodes.mkdir(parents=True, exist_ok=True)
    mp3 = episodes / f"{spec.eid}.mp3"
    mp3.write_bytes(tone_mp3(seconds))
    tags = ID3()
    tags.add(TIT2(encoding=3, text=spec.title))
    tags.save(mp3, v2_version=3)
    (episodes / f"{spec.eid}.txt").write_text(f"{spec.title}\n\nA short script.\n", "utf-8")
    (episodes / f"{spec.eid}.vtt").write_text(
        f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{spec.title}\n", "utf-8"
    )
    chapters = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": spec.title}]}
    (episodes / f"{spec.eid}.chapters.json").write_text(json.dumps(chapters), "utf-8")
    (episodes / f"{spec.eid}.verify.json").write_text("{}", "utf-8")  # a report: never public


def _item(root: Path, base: str, spec: EpisodeSpec) -> FeedItem:
    mp3 = root / "episodes" / f"{spec.eid}.mp3"
    return FeedItem(
        guid=spec.eid,
        title=spec.title,
        link=f"https://forum.example/posts/{spec.eid}",
        description=f"{spec.title}, narrated.",
        published=spec.published,
        enclosure_url=library_url(base, f"episodes/{spec.eid}.mp3"),
        enclosure_length=mp3.stat().st_size,
        duration_s=1.0,
        transcripts=(
            Transcript(library_url(base, f"episodes/{spec.eid}.vtt"), "text/vtt", captions=True),
            Transcript(library_url(base, f"episodes/{spec.eid}.txt"), "text/plain"),
        ),
        chapters_url=library_url(base, f"episodes/{spec.eid}.chapters.json"),
    )


def render_feeds(
    root: Path, base: str, specs: list[EpisodeSpec], *, archive: list[EpisodeSpec] | None = None
) -> list[str]:
    """feed.xml (every episode), feeds/<prefix>.xml per forum, and with ``archive`` an
    RFC 5005 archive page feeds/archive/1.xml holding those episodes. Returns the paths."""
    pages: dict[str, tuple[list[EpisodeSpec], bool]] = {"feed.xml": (specs, False)}
    for prefix in sorted({s.prefix for s in specs}):
        pages[f"feeds/{prefix}.xml"] = ([s for s in specs if s.prefix == prefix], False)
    if archive:
        pages["feeds/archive/1.xml"] = (archive, True)
    for relative, (chosen, is_archive) in pages.items():
        channel = FeedChannel(
            title=f"Test podcast {relative}",
            link=base,
            description="Posts, narrated.",
            self_url=library_url(base, relative),
            image_url=library_url(base, COVER_NAME),
            author="Test",
        )
        data = render_feed(channel, [_item(root, base, s) for s in chosen])
        if is_archive:
            data = data.replace(b"<channel>", b"<channel>" + ARCHIVE_MARK.encode(), 1)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return list(pages)


def build_library(
    root: Path, base: str, count: int, *, archive: int = 0, seconds: float = 1.0
) -> list[EpisodeSpec]:
    """A library of ``count`` episodes (the oldest ``archive`` of them only in an archive
    page) with its cover, feeds and the files that must stay private."""
    specs = episode_specs(count)
    for spec in specs:
        write_episode(root, spec, seconds=seconds)
    (root / COVER_NAME).write_bytes(default_cover().read_bytes())
    for private in NOT_PUBLIC:
        (root / private).parent.mkdir(parents=True, exist_ok=True)
        (root / private).write_bytes(b"private")
    render_feeds(root, base, specs[archive:], archive=specs[:archive] or None)
    return specs


def public_paths(specs: list[EpisodeSpec], feeds: list[str]) -> set[str]:
    files = {COVER_NAME, *feeds}
    for spec in specs:
        files.update(
            f"episodes/{spec.eid}{suffix}" for suffix in (".mp3", ".txt", ".vtt", ".chapters.json")
        )
    return files


def kill_publishes(
    lib: Path,
    base: str,
    specs: list[EpisodeSpec],
    argv: list[str],
    *,
    episodes: int,
    seconds: float,
    pause: tuple[float, float],
    seed: int,
    after_kill: Callable[[], object],
) -> int:
    """Five rounds of: ``episodes`` more episodes (``seconds`` long) in ``lib`` and its feeds
    rendered again, then ``argv`` (a publish) started and SIGKILLed after a random pause in
    ``pause``, then ``after_kill()`` (a check of the target). ``specs`` grows with the new
    episodes. Returns how many publishes were killed before they finished."""
    env = {**cli_env(), "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = random.Random(seed)
    killed = 0
    for _ in range(5):
        more = episode_specs(episodes, start=len(specs))
        for spec in more:
            write_episode(lib, spec, seconds=seconds)
        specs += more
        render_feeds(lib, base, specs)
        proc = subprocess.Popen(argv, env=env)
        time.sleep(rng.uniform(*pause))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait() == -signal.SIGKILL
        after_kill()
    return killed
