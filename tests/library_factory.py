"""Build a small real library for the preview and serve tests: short posts served by the local
forum server, converted by the real pipeline (espeak-ng, ffmpeg), so the MP3s are real.

When the package stage writes no chapters JSON or WebVTT file (older pipelines), they are
written here in the documented formats (Podcasting 2.0 JSON chapters 1.2, WebVTT), at times
inside the real episode, so the tests of what reads them still run on a real MP3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tts_pipeline.config import Config
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode, ForumSite
from tts_pipeline.net.http import http_client
from tts_pipeline.pipeline import convert_url
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice


def _post(post_id: str, title: str, posted: str, html: str, author: str) -> dict[str, Any]:
    return {
        "_id": post_id,
        "slug": "test-post",
        "title": title,
        "pageUrl": f"https://www.alignmentforum.org/posts/{post_id}/test-post",
        "postedAt": posted,
        "htmlBody": html,
        "contents": {"html": "", "wordCount": 60},
        "user": {"displayName": author, "username": author.lower()},
        "coauthors": [],
        "hideAuthor": False,
    }


HOSTILE_TITLE = '<script>alert("x")</script> & <b>Bold</b> claims'

POSTS = (
    _post(
        "PreviewPostAaaa11",
        "Hearing Before Publishing",
        "2024-05-02T10:00:00.000Z",
        "<p>A preview lets you hear a post before it goes out. It takes seconds.</p>"
        "<h2>Chapters</h2>"
        "<p>Each heading starts a chapter. A listener can jump straight to it.</p>"
        "<h2>Transcripts</h2>"
        "<p>The transcript follows the audio. Every sentence has a time.</p>",
        "Ada Example",
    ),
    _post(
        "PreviewPostBbbb22",
        HOSTILE_TITLE,
        "2024-04-01T08:30:00.000Z",
        "<p>Titles can hold markup. The page must show it as text.</p>"
        "<h2>Second part</h2><p>Short and done.</p>",
        "Grace Example",
    ),
)


@dataclass(frozen=True)
class BuiltLibrary:
    root: Path
    library: Library
    config: Config
    episodes: tuple[Episode, ...]  # in POSTS order
    chapter_starts: dict[str, list[float]]  # episode id -> chapter start times as written
    pipeline_sidecars: bool  # the pipeline wrote real chapters and transcripts itself

    def mp3(self, index: int) -> Path:
        return self.episodes[index].mp3


def forum_config(server: ForumServer, library_root: Path) -> Config:
    site = ForumSite(
        key="local",
        name="The AI Alignment Forum",
        prefix="AF",
        hosts=(server.host,),
        graphql=server.graphql_url,
    )
    return replace(
        Config(),
        sites=(*Config().sites, site),
        library=library_root,
        request_interval_s=0.0,
        http_retries=0,
        base_url="http://podcast.test/",
        jobs=2,
    )


def post_url(server: ForumServer, post: dict[str, Any]) -> str:
    return f"{server.base_url}/posts/{post['_id']}/{post['slug']}"


def build_library(root: Path) -> BuiltLibrary:
    library = Library(root)
    voice = load_voice("default")
    episodes = []
    with ForumServer({p["_id"]: p for p in POSTS}) as server:
        config = forum_config(server, root)
        http = http_client(config)
        for post in POSTS:
            episode = convert_url(
                post_url(server, post),
                config=config,
                library=library,
                voice=voice,
                jobs=2,
                http=http,
            )
            episodes.append(episode)
    real = all(
        (library.episodes_dir / f"{e.id}{suffix}").is_file()
        for e in episodes
        for suffix in (".chapters.json", ".vtt")
    )
    starts = {e.id: ensure_sidecars(library, e) for e in episodes}
    return BuiltLibrary(root, library, config, tuple(episodes), starts, real)


def ensure_sidecars(library: Library, episode: Episode) -> list[float]:
    """Write a chapters file and a transcript if the pipeline did not; return chapter starts."""
    chapters = library.episodes_dir / f"{episode.id}.chapters.json"
    if not chapters.exists():
        duration = episode.duration_s
        data = {
            "version": "1.2.0",
            "chapters": [
                {"startTime": 0, "title": "Intro"},
                {"startTime": round(duration * 0.45, 3), "title": "Chapters"},
                {"startTime": round(duration * 0.5, 3), "title": "hidden", "toc": False},
                {"startTime": round(duration * 0.7, 3), "title": "Transcripts & <more>"},
            ],
        }
        chapters.write_text(json.dumps(data), encoding="utf-8")
    vtt = library.episodes_dir / f"{episode.id}.vtt"
    if not vtt.exists():
        paragraphs = [
            p.strip()
            for p in episode.script_txt.read_text(encoding="utf-8").split("\n\n")
            if p.strip()
        ]
        step = episode.duration_s / len(paragraphs)
        cues = ["WEBVTT", ""]
        for n, text in enumerate(paragraphs):
            cues += [f"{_stamp(n * step)} --> {_stamp((n + 1) * step)}", text, ""]
        vtt.write_text("\n".join(cues), encoding="utf-8")
    data = json.loads(chapters.read_text(encoding="utf-8"))
    return [float(c["startTime"]) for c in data["chapters"] if c.get("toc", True) is not False]


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
