"""The one place the stages are chained: URL -> Post -> Script -> chunks -> audio -> Episode."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tts_pipeline.clean import clean, render_marked, speaker
from tts_pipeline.config import Config
from tts_pipeline.errors import HeldBackError
from tts_pipeline.execution.seam import ExecutionBackend
from tts_pipeline.fsutil import atomic_write_bytes, atomic_write_text
from tts_pipeline.ingest import fetch_post
from tts_pipeline.library.feed_writer import publish_feeds
from tts_pipeline.library.feeds import library_url
from tts_pipeline.library.folders import EpisodeFolder
from tts_pipeline.library.inputs import inputs_hash, unchanged_episode
from tts_pipeline.library.layout import Library, episode_id
from tts_pipeline.models import Chunk, ChunkAudio, Episode, Post, Script, VoiceProfile
from tts_pipeline.net.http import HttpClient
from tts_pipeline.package import chapters_json, package_episode, plan_chapters, render_vtt
from tts_pipeline.package.cover import default_cover
from tts_pipeline.package.tags import TagInfo
from tts_pipeline.synth.cast import Cast, choose_cast, speak_cast
from tts_pipeline.synth.chunking import plan_chunks
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.verify.policy import HoldBar, hold_reason
from tts_pipeline.verify.report import VerifyReport
from tts_pipeline.verify.stage import check_verifier, each_chunk, save_report, start_verifier

log = logging.getLogger(__name__)

DESCRIPTION_CHARS = 600


class Progress(Protocol):
    """What the CLI hands in to show progress; the library itself never prints."""

    def start(self, label: str, total: int) -> None: ...

    def advance(self, audio: ChunkAudio) -> None: ...

    def finish(self) -> None: ...


def convert_url(
    url: str,
    *,
    config: Config,
    library: Library,
    voice: VoiceProfile,
    jobs: int,
    http: HttpClient,
    progress: Progress | None = None,
    executor: ExecutionBackend | None = None,
) -> Episode:
    """Fetch one post and turn it into a published episode (its chunks spoken on
    ``executor`` when given, else in a local process pool)."""
    if config.verify:
        check_verifier(config)  # a missing extra fails before the fetch, not after it
    library.prepare()
    post = fetch(url, config, http)
    return convert_post(
        post,
        config=config,
        library=library,
        voice=voice,
        jobs=jobs,
        progress=progress,
        executor=executor,
    )


def fetch(url: str, config: Config, http: HttpClient) -> Post:
    """The post at ``url``, from whichever ingester knows its site."""
    post = fetch_post(url, config.sites, http)
    log.info("fetched %r (%d chars of HTML)", post.title, len(post.html))
    return post


def speaker_for(voice: VoiceProfile) -> Callable[[str], str]:
    """Written -> spoken text for ``voice`` (its lexicon, numbers)."""
    return speaker(voice.name, engine=voice.engine)


def marked_script(script: Script, voice: VoiceProfile, config: Config | None = None) -> str:
    """The script as ``voice`` will speak it, with section markers; with ``config``, a
    conversation's cast first."""
    cast = cast_for(script, config, voice) if config is not None else None
    voices = {name: v.name for name, v in cast.speakers.items()} if cast else None
    return render_marked(script, speaker_for(voice), voices)


def cast_for(script: Script, config: Config, voice: VoiceProfile) -> Cast | None:
    """The voices that read ``script``'s conversation (None: ``voice`` reads it all)."""
    return choose_cast(script.speakers(), voice, config.cast)


def speak_chunks(
    chunks: Sequence[Chunk],
    voice: VoiceProfile,
    library: Library,
    *,
    jobs: int,
    on_progress: Callable[[ChunkAudio], None] | None = None,
    executor: ExecutionBackend | None = None,
) -> list[ChunkAudio]:
    """The chunks spoken through the library's chunk cache (a chunk spoken before is read);
    a conversation's chunks each by the voice the plan gave it (``voice`` for the rest)."""
    cast = {c.voice for c in chunks if c.voice}
    if cast:
        return speak_cast(
            chunks, voice, {name: load_voice(name) for name in sorted(cast)},
            library.cache_dir / "chunks", jobs=jobs, on_progress=on_progress, executor=executor,
        )  # fmt: skip
    return synthesize_chunks(
        chunks, voice, library.cache_dir / "chunks", jobs=jobs, on_progress=on_progress,
        executor=executor,
    )  # fmt: skip


def plan_post(post: Post, config: Config, voice: VoiceProfile) -> tuple[Script, list[Chunk]]:
    """The script of ``post`` and the engine calls that speak it. Previews plan with this too,
    so their chunks are the episode's: the same cache entries and the same chapters."""
    script = clean(post, config.templates, config.clean)
    engine = get_engine(voice.engine)
    cast = cast_for(script, config, voice)
    return script, plan_chunks(
        script, engine.max_chars, voice.pauses, speak=speaker_for(voice),
        cast=cast.casting(speaker_for) if cast else None,
    )  # fmt: skip


def plan_text(text: str, config: Config, voice: VoiceProfile) -> list[Chunk]:
    """The engine calls that speak ``text`` (plain text; a blank line starts a paragraph)
    through the real cleaner, lexicon and planner, without an intro or outro: what ``say``
    plays and what the lexicon check hears."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    post = Post(
        id="say", title="", authors=(), published=datetime(2000, 1, 1, tzinfo=UTC),
        url="", html=body or " ", site_name="", prefix="SAY",
    )  # fmt: skip
    script, chunks = plan_post(post, config, voice)
    body_chunks = [c for c in chunks if 0 <= c.section < len(script.sections)]
    return [replace(c, index=i) for i, c in enumerate(body_chunks)]


def speak_text(
    text: str, config: Config, voice: VoiceProfile, folder: Path, *, jobs: int = 1
) -> list[ChunkAudio]:
    """``text`` spoken by ``voice`` (``plan_text``), its chunks written under ``folder``."""
    return synthesize_chunks(plan_text(text, config, voice), voice, folder, jobs=jobs)


def convert_post(
    post: Post,
    *,
    config: Config,
    library: Library,
    voice: VoiceProfile,
    jobs: int,
    progress: Progress | None = None,
    hold: HoldBar | None = None,
    executor: ExecutionBackend | None = None,
) -> Episode:
    """Turn a fetched post into a published episode. With ``config.verify`` every chunk is
    checked by a speech recogniser while later ones are synthesised; an episode below
    ``hold`` is then made and recorded but not published (HeldBackError).

    One process at a time converts a post (``Library.converting``): another converting it
    now is waited for (LibraryBusyError after ``library.wait_s``), and what it published
    meanwhile is then found unchanged, not made twice."""
    with library.converting(episode_id(post)):
        return _convert_post_alone(
            post, config=config, library=library, voice=voice, jobs=jobs,
            progress=progress, hold=hold, executor=executor,
        )  # fmt: skip


def _convert_post_alone(
    post: Post,
    *,
    config: Config,
    library: Library,
    voice: VoiceProfile,
    jobs: int,
    progress: Progress | None,
    hold: HoldBar | None,
    executor: ExecutionBackend | None,
) -> Episode:
    """``convert_post`` with the post's lock held."""
    script, chunks = plan_post(post, config, voice)
    eid, description = episode_id(post), describe(post, script)
    engine = get_engine(voice.engine)
    digest = inputs_hash(
        post, chunks, voice, config,
        engine=(engine.name, engine.version), title=script.title, description=description,
    )  # fmt: skip
    unchanged = unchanged_episode(library, eid, digest, post)
    if unchanged is not None:
        log.info("%s is complete and unchanged: nothing to do", unchanged.mp3.name)
        if post.karma is not None:  # karma grows: a newer score can change the channels
            library.refresh_scores([(eid, post.karma, post.tags)])
        if library.feed_behind():  # a run was killed right after recording its episode
            publish_feed(library, config)
        return unchanged
    log.info("%d chunks to speak with voice %s", len(chunks), voice.name)
    audio, checked = _speak_checked(
        script.title, chunks, voice, config=config, library=library, jobs=jobs,
        progress=progress, executor=executor,
    )  # fmt: skip
    # The episode is made aside and moved into place right before it is recorded. With a bar
    # that may hold it back, aside is held/, where a person can listen to one that fails: a
    # published episode is never overwritten by it.
    folder = make_aside(library, eid, held=hold is not None and hold.active)
    episode = _package(
        post, script, chunks, audio, folder,
        config=config, library=library, description=description, jobs=jobs,
    )  # fmt: skip
    episode = replace(episode, verification=save_report(folder, eid, checked))
    held = hold_reason(episode.verification, hold or HoldBar())
    if held:  # the files stay under held/ for a person to listen to
        assert episode.verification is not None
        held_episode = replace(
            episode, mp3=folder.mp3_path(eid), script_txt=folder.script_path(eid)
        )
        library.record_verification(eid, episode.verification, held_back=held)
        raise HeldBackError(held, episode=held_episode)
    return publish_made(library, config, folder, episode, digest)


def _speak_checked(
    title: str,
    chunks: Sequence[Chunk],
    voice: VoiceProfile,
    *,
    config: Config,
    library: Library,
    jobs: int,
    progress: Progress | None,
    executor: ExecutionBackend | None,
) -> tuple[list[ChunkAudio], VerifyReport | None]:
    """Every chunk spoken; with ``config.verify`` each checked by the recogniser while later
    ones are spoken, and the chunks it could not follow spoken again."""
    verifier = start_verifier(config, jobs) if config.verify else None  # fails before work
    checked: VerifyReport | None = None
    if progress:
        progress.start(title, len(chunks))
    try:
        audio = speak_chunks(
            chunks, voice, library, jobs=jobs, on_progress=each_chunk(progress, verifier),
            executor=executor,
        )  # fmt: skip
        if verifier:  # re-speaks chunks the recogniser could not follow
            audio, checked = verifier.finish(
                audio, voice=voice, cache_dir=library.cache_dir / "chunks", jobs=jobs
            )
            if any(c.voice for c in chunks):  # a cast: each voice's turns scored apart
                voices = tuple((c.index, c.voice or voice.name) for c in chunks)
                checked = replace(checked, voices=voices)
    finally:
        if verifier:
            verifier.close()
        if progress:
            progress.finish()
    return audio, checked


def make_aside(library: Library, eid: str, *, held: bool = False) -> EpisodeFolder:
    """The folder episode ``eid`` is made in before it is published, emptied of an older
    make's files (a verification report must not go with it)."""
    folder = library.held() if held else library.staging()
    folder.prepare()
    folder.discard(eid)
    return folder


def _package(
    post: Post,
    script: Script,
    chunks: Sequence[Chunk],
    audio: Sequence[ChunkAudio],
    folder: EpisodeFolder,
    *,
    config: Config,
    library: Library,
    description: str,
    jobs: int,
) -> Episode:
    """The episode's MP3 and side files, written in ``folder``; the side files follow the
    MP3, so the episode is recorded only once all are in place."""
    eid = episode_id(post)
    atomic_write_text(folder.script_path(eid), script.text())
    packaged = package_episode(
        audio,
        folder.mp3_path(eid),
        TagInfo(
            title=script.title,
            artists=post.authors,
            album=f"{config.templates.podcast_name}: {post.site_name}",
            date=post.published,
            source_url=post.url,
            description=description,
            cover=default_cover(),
        ),
        work_dir=library.work_dir,
        bitrate_kbps=config.bitrate_kbps,
        sample_rate=config.sample_rate,
        target_lufs=config.target_lufs,
        peak_dbtp=config.true_peak_dbtp,
        chapters=plan_chapters(script, chunks, opening_title=post.title),
        jobs=jobs,
        segment_cache=library.cache_dir / "segments" / eid,
    )
    atomic_write_bytes(folder.vtt_path(eid), render_vtt(packaged.cues))
    atomic_write_bytes(
        folder.chapters_path(eid),
        chapters_json(
            packaged.chapters,
            title=script.title,
            podcast_name=config.templates.podcast_name,
            author=", ".join(post.authors),
            file_name=library.mp3_path(eid).name,
        ),
    )
    return Episode(
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


def publish_made(
    library: Library,
    config: Config,
    folder: EpisodeFolder,
    episode: Episode,
    inputs_hash: str | None,
) -> Episode:
    """Publish an episode made in ``folder``: its verification recorded (or an older one
    forgotten: it heard older audio), its files moved in (the MP3 last) and at once its
    record; then the feeds from the record."""
    eid = episode.id
    if episode.verification:
        verified = replace(episode.verification, report=library.verify_report_path(eid))
        episode = replace(episode, verification=verified)
        library.record_verification(eid, verified)
    else:
        library.forget_verification(eid)
    public = library.publish(folder, episode, inputs_hash)
    episode = replace(episode, public_name=public.name)
    publish_feed(library, config)
    return episode


def describe(post: Post, script: Script) -> str:
    """A short plain-text summary: the link first, then the opening of the post."""
    body = " ".join(s.text for section in script.sections for s in section.segments)
    if len(body) > DESCRIPTION_CHARS:
        body = body[:DESCRIPTION_CHARS].rsplit(" ", 1)[0] + " …"
    return f"Link to original article: {post.url}\n\n{body}"


def enclosure_url(config: Config, episode: Episode) -> str:
    """Where the feeds say the episode's audio is."""
    return library_url(
        config.public_base_url, f"episodes/{episode.public_name or episode.mp3.name}"
    )


def publish_feed(library: Library, config: Config, base_url: str | None = None) -> Path:
    """Re-render feed.xml and every per-forum feed from the state database (atomically)."""
    publish_feeds(library, config, base_url)
    return library.feed_path
