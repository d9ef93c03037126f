"""The one place the stages are chained: URL -> Post -> Script -> chunks -> audio -> Episode."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from tts_pipeline.clean import clean
from tts_pipeline.config import Config
from tts_pipeline.fsutil import atomic_write_bytes, atomic_write_text
from tts_pipeline.ingest import fetch_post
from tts_pipeline.ingest.http import HttpClient, default_user_agent
from tts_pipeline.library import Library, episode_id
from tts_pipeline.models import ChunkAudio, Episode, Post, Script, VoiceProfile
from tts_pipeline.package import package_episode
from tts_pipeline.package.cover import default_cover
from tts_pipeline.package.feed import FeedChannel, FeedItem, write_feed
from tts_pipeline.package.tags import TagInfo
from tts_pipeline.synth.chunking import plan_chunks
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.runner import synthesize_chunks

log = logging.getLogger(__name__)

DESCRIPTION_CHARS = 600
COVER_NAME = "cover.png"


class Progress(Protocol):
    """What the CLI hands in to show progress; the library itself never prints."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, audio: ChunkAudio) -> None: ...

    def finish(self) -> None: ...


def make_http(config: Config) -> HttpClient:
    return HttpClient(
        default_user_agent(config.user_agent_contact),
        retries=config.http_retries,
        min_interval=config.request_interval_s,
    )


def convert_url(
    url: str,
    *,
    config: Config,
    library: Library,
    voice: VoiceProfile,
    jobs: int,
    http: HttpClient,
    progress: Progress | None = None,
) -> Episode:
    """Fetch one post and turn it into a published episode."""
    library.prepare()
    post = fetch_post(url, config.sites, http)
    log.info("fetched %r (%d chars of HTML)", post.title, len(post.html))
    return convert_post(
        post, config=config, library=library, voice=voice, jobs=jobs, progress=progress
    )


def convert_post(
    post: Post,
    *,
    config: Config,
    library: Library,
    voice: VoiceProfile,
    jobs: int,
    progress: Progress | None = None,
) -> Episode:
    script = clean(post, config.templates)
    engine = get_engine(voice.engine)
    chunks = plan_chunks(script, engine.max_chars, voice.pauses)
    log.info("%d chunks to speak with voice %s", len(chunks), voice.name)
    if progress:
        progress.start(script.title, len(chunks))
    try:
        audio = synthesize_chunks(
            chunks,
            voice,
            library.cache_dir / "chunks",
            jobs=jobs,
            on_progress=progress.advance if progress else None,
        )
    finally:
        if progress:
            progress.finish()

    eid = episode_id(post)
    description = describe(post, script)
    atomic_write_text(library.script_path(eid), script.text())
    packaged = package_episode(
        audio,
        library.mp3_path(eid),
        TagInfo(
            title=script.title,
            artists=post.authors,
            album=f"{config.templates.podcast_name}: {post.site_name}",
            date=post.published,
            source_url=post.url,
            description=description,
            cover=default_cover(),
        ),
        work_dir=library.cache_dir / "work",
        bitrate_kbps=config.bitrate_kbps,
        sample_rate=config.sample_rate,
        target_lufs=config.target_lufs,
        peak_dbtp=config.true_peak_dbtp,
    )
    episode = Episode(
        id=eid,
        title=script.title,
        post=post,
        mp3=library.mp3_path(eid),
        script_txt=library.script_path(eid),
        duration_s=packaged.duration_s,
        size_bytes=packaged.size_bytes,
        loudness=packaged.loudness,
        description=description,
    )
    # Record only once the files are in place, then render the feed from the record.
    library.record_episode(episode)
    publish_feed(library, config)
    return episode


def describe(post: Post, script: Script) -> str:
    """A short plain-text summary: the link first, then the opening of the post."""
    body = " ".join(s.text for section in script.sections for s in section.segments)
    if len(body) > DESCRIPTION_CHARS:
        body = body[:DESCRIPTION_CHARS].rsplit(" ", 1)[0] + " …"
    return f"Link to original article: {post.url}\n\n{body}"


def enclosure_url(config: Config, mp3: Path) -> str:
    return config.base_url.rstrip("/") + "/episodes/" + mp3.name


def publish_feed(library: Library, config: Config) -> Path:
    """Re-render feed.xml from the state database (atomically)."""
    templates = config.templates
    channel = FeedChannel(
        title=templates.podcast_name,
        link=config.base_url,
        description=(
            f"{templates.podcast_name}: forum posts from "
            + ", ".join(s.name for s in config.sites)
            + ", narrated with text-to-speech."
        ),
        language=config.language,
        author=templates.podcast_name,
        image_url=config.base_url.rstrip("/") + "/" + COVER_NAME,
        self_url=config.base_url.rstrip("/") + "/feed.xml",
    )
    items = [
        FeedItem(
            guid=record.id,
            title=record.title,
            link=record.url,
            description=record.description,
            published=record.published,
            enclosure_url=enclosure_url(config, library.episodes_dir / record.mp3),
            enclosure_length=record.size_bytes,
            duration_s=record.duration_s,
        )
        for record in library.episodes()
    ]
    cover = library.root / COVER_NAME
    if not cover.exists():
        atomic_write_bytes(cover, default_cover().read_bytes())
    write_feed(library.feed_path, channel, items)
    return library.feed_path
