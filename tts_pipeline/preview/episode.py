"""Hear a post or an episode before publishing it.

For a post URL only what is needed is synthesised: the intro and the first N seconds of the
body (chunks chosen by an estimate from the voice's words per minute, the audio then cut at
the first pause past N seconds), or one chapter. Chunks go through the library's chunk
cache, so a later ``convert`` of the same post reuses them. For an episode already in the
library, the MP3 is played from the start or from chapter K.

Chapters are numbered from 1 as in the episode's chapters file: the intro, the text before
the first heading (named after the post), then one per heading; the outro ends the last.

Playback goes through :mod:`tts_pipeline.preview.playback`. When there is no sound output the preview
is written to a WAV file instead (``<library>/previews/<id>.wav`` unless told otherwise) and
the caller says so: that is a normal outcome, not an error.
"""

from __future__ import annotations

import logging
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tts_pipeline.audio.chunkstats import ChunkStats, chunk_stats
from tts_pipeline.config import Config
from tts_pipeline.errors import PlaybackError, PreviewError
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.ingest import fetch_post
from tts_pipeline.library.layout import Library, episode_id
from tts_pipeline.library.sidecars import read_chapters, read_cues
from tts_pipeline.models import Chunk, ChunkAudio, Post, Script, VoiceProfile
from tts_pipeline.net.http import HttpClient
from tts_pipeline.package.ffmpeg import decode_wav, probe
from tts_pipeline.package.join import Timeline, join_chunks
from tts_pipeline.package.loudness import normalise
from tts_pipeline.pipeline import plan_post
from tts_pipeline.preview.playback import NO_OUTPUT, find_audio_output, play
from tts_pipeline.synth.runner import synthesize_chunks

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 30.0

# Told (title, sound output, seconds) just before playback starts.
Announce = Callable[[str, str, float], None]


@dataclass(frozen=True)
class ScriptChapter:
    number: int  # from 1, as in the chapters file
    title: str
    first_chunk: int  # index of the chunk that opens it


@dataclass(frozen=True)
class PreviewOutcome:
    """What a preview did: played it, or (no sound output) wrote it to ``wav``."""

    title: str
    duration_s: float  # of the audio heard or written
    wav: Path | None  # the preview written to disk (None: played straight from the MP3)
    played_on: str | None  # the sound output it was played on
    not_played: str | None  # why it was not played (then ``wav`` holds it)


# -- chapters and the script -----------------------------------------------------------------


def script_chapters(script: Script, chunks: Sequence[Chunk], post: Post) -> list[ScriptChapter]:
    """The chapters an episode of ``script`` gets, each with the chunk it starts at."""
    try:
        from tts_pipeline.package.chapters import plan_chapters
    except ImportError:  # a package stage without chapters: same layout, computed here
        marks = _simple_marks(script, chunks, post.title)
    else:
        marks = [
            (m.chunk_index, m.title)
            for m in plan_chapters(script, chunks, opening_title=post.title)
        ]
    return [ScriptChapter(n, title, first) for n, (first, title) in enumerate(marks, 1)]


def _simple_marks(script: Script, chunks: Sequence[Chunk], opening: str) -> list[tuple[int, str]]:
    marks: list[tuple[int, str]] = []
    seen: set[int] = set()
    for chunk in chunks:
        if chunk.section in seen or chunk.section >= len(script.sections):
            continue
        seen.add(chunk.section)
        if chunk.is_intro:
            marks.append((chunk.index, "Introduction"))
            continue
        title = script.sections[chunk.section].title
        if title is None and marks and marks[-1][1] == opening:
            continue  # consecutive untitled sections make one opening chapter
        marks.append((chunk.index, title or opening))
    return marks


def chapter_chunks(
    chunks: Sequence[Chunk], chapters: Sequence[ScriptChapter], number: int
) -> list[Chunk]:
    """The chunks of chapter ``number`` (from 1); PreviewError if there is no such chapter."""
    if not 1 <= number <= len(chapters):
        raise PreviewError(f"there is no chapter {number}: chapters are 1 to {len(chapters)}")
    start = chapters[number - 1].first_chunk
    end = chapters[number].first_chunk if number < len(chapters) else len(chunks)
    return [c for c in chunks if start <= c.index < end]


def render_script(
    script: Script,
    chapters: Sequence[ScriptChapter],
    chunks: Sequence[Chunk],
    only: int | None = None,
    speak: Callable[[str], str] | None = None,
) -> str:
    """The script with a marker line before each chapter (only chapter ``only``); with
    ``speak``, each segment as it will be spoken."""
    first_section = {ch.number: chunks[ch.first_chunk].section for ch in chapters}

    def chapter_of(section: int) -> ScriptChapter:
        found = chapters[0]
        for chapter in chapters:
            if first_section[chapter.number] <= section:
                found = chapter
        return found

    placed = [(-1, script.intro)]
    placed += [(n, s) for n, section in enumerate(script.sections) for s in section.segments]
    placed.append((len(script.sections), script.outro))
    lines: list[str] = [] if only is not None else [script.title, ""]
    current = None
    for section, segment in placed:
        chapter = chapter_of(section)
        if only is not None and chapter.number != only:
            continue
        if chapter is not current:
            lines += [f"=== Chapter {chapter.number}: {chapter.title} ===", ""]
            current = chapter
        lines += [speak(segment.text) if speak else segment.text, ""]
    return "\n".join(lines)


# -- choosing what to synthesise -------------------------------------------------------------


def estimate_seconds(chunk: Chunk, rate_wpm: int) -> float:
    """How long ``chunk`` will last when spoken at ``rate_wpm``, with its pause."""
    return len(chunk.text.split()) * 60.0 / rate_wpm + chunk.pause_after_ms / 1000.0


def first_seconds(chunks: Sequence[Chunk], seconds: float, rate_wpm: int) -> list[Chunk]:
    """The leading chunks whose estimated length first reaches ``seconds``."""
    chosen: list[Chunk] = []
    total = 0.0
    for chunk in chunks:
        if total >= seconds:
            break
        chosen.append(chunk)
        total += estimate_seconds(chunk, rate_wpm)
    return chosen


def cut_frame(timeline: Timeline, stats: Sequence[ChunkStats], start: int, seconds: float) -> int:
    """Where ``seconds`` from frame ``start`` end: at the first pause from then on (between
    chunks or inside one), or at the end of the audio."""
    target = start + round(seconds * timeline.sample_rate)
    for span, chunk in zip(timeline.spans, stats, strict=True):
        for frame in [*(span.start_frame + a for a, _ in chunk.silences), span.end_frame]:
            if frame >= target:
                return frame
    return timeline.total_frames


def preview_seconds(seconds: float | None, chapter: int | None) -> float | None:
    """How much a preview plays past the intro: ``seconds``; else 30, or a chapter whole
    (None)."""
    return DEFAULT_SECONDS if seconds is None and chapter is None else seconds


def _cut_to_length(
    joined: Path, timeline: Timeline, audio: Sequence[ChunkAudio], wanted: float | None,
    *, after_intro: bool,
) -> Path:  # fmt: skip
    """The preview cut at the first pause once ``wanted`` seconds are heard (None: kept
    whole): its whole chunks were chosen by an estimate. With ``after_intro`` the intro is
    heard whole and the seconds count from its end."""
    if wanted is None:
        return joined
    intro = sum(a.chunk.is_intro for a in audio) if after_intro else 0
    start = timeline.spans[intro].start_frame if intro < len(audio) else timeline.total_frames
    stop = cut_frame(timeline, [chunk_stats(a.wav, a.frames) for a in audio], start, wanted)
    return _first_frames(joined, stop, joined.with_name("cut.wav"))


def _first_frames(src: Path, frames: int, dst: Path) -> Path:
    """``src`` if it is no longer than ``frames``, else its first ``frames`` in ``dst``."""
    with wave.open(str(src), "rb") as reader:
        if reader.getnframes() <= frames:
            return src
        with wave.open(str(dst), "wb") as writer:
            writer.setparams(reader.getparams())
            writer.writeframes(reader.readframes(frames))
    return dst


def select_chunks(
    chunks: Sequence[Chunk],
    chapters: Sequence[ScriptChapter],
    *,
    voice: VoiceProfile,
    seconds: float | None,
    chapter: int | None,
) -> list[Chunk]:
    """The intro and the first ``seconds`` (default 30) of the body; or chapter ``chapter``,
    cut to its first ``seconds`` if given."""
    wanted = preview_seconds(seconds, chapter)
    if chapter is not None:
        lead, body = [], chapter_chunks(chunks, chapters, chapter)
    else:
        lead, body = [c for c in chunks if c.is_intro], [c for c in chunks if not c.is_intro]
    return lead + (body if wanted is None else first_seconds(body, wanted, voice.rate_wpm))


# -- entry points ----------------------------------------------------------------------------


def is_url(target: str) -> bool:
    parts = urlsplit(target)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def find_episode(library: Library, target: str) -> tuple[str, str] | None:
    """(id, title) of the library episode called ``target``, if there is one."""
    if "/" in target or not library.mp3_path(target).is_file():
        return None
    titles = {record.id: record.title for record in library.episodes()}
    return target, titles.get(target, target)


def _fetch_script(
    url: str, config: Config, http: HttpClient, voice: VoiceProfile
) -> tuple[Post, Script, list[Chunk], list[ScriptChapter]]:
    post = fetch_post(url, config.sites, http)
    script, chunks = plan_post(post, config, voice)  # exactly as the episode will be planned
    return post, script, chunks, script_chapters(script, chunks, post)


def url_script(
    url: str, *, config: Config, voice: VoiceProfile, http: HttpClient, chapter: int | None
) -> str:
    """The spoken script of the post at ``url`` with section markers, after a list of its
    chapters; with ``chapter``, that chapter alone. Nothing is synthesised."""
    _, script, chunks, chapters = _fetch_script(url, config, http, voice)
    if chapter is not None:
        chapter_chunks(chunks, chapters, chapter)  # checks the number
        return render_script(script, chapters, chunks, only=chapter, speak=_speaker(voice))
    listing = ", ".join(f"{c.number} {c.title}" for c in chapters)
    header = f"{script.title}\nChapters (--chapter K): {listing}\n\n"
    try:
        from tts_pipeline.clean import render_marked
    except ImportError:  # a cleaner without its own marked rendering
        return header + render_script(script, chapters, chunks, speak=_speaker(voice))
    return header + render_marked(script, _speaker(voice))


def _speaker(voice: VoiceProfile) -> Callable[[str], str] | None:
    """Written -> spoken text for ``voice`` (lexicon, numbers), if the cleaner offers it."""
    try:
        from tts_pipeline.clean import speaker
    except ImportError:
        return None
    return speaker(voice.name)


def episode_script(library: Library, eid: str, *, chapter: int | None) -> str:
    """An episode's spoken script; with chapter markers when it has chapters and a timed
    transcript to place them by."""
    chapters = read_chapters(library.chapters_path(eid))
    cues = read_cues(library.vtt_path(eid))
    if chapter is not None:
        _episode_start(chapters, chapter, eid)
    if not chapters or not cues:
        if chapter is not None:
            raise PreviewError(
                f"episode {eid} has no timed transcript to find chapter {chapter} in"
            )
        try:
            return library.script_path(eid).read_text(encoding="utf-8")
        except OSError as exc:
            raise PreviewError(f"cannot read the script of episode {eid}: {exc}") from exc
    blocks: list[str] = []
    number = 0
    for cue in cues:
        while number < len(chapters) and chapters[number].start_s <= cue.start_s + 0.001:
            number += 1
            if chapter in (None, number):
                blocks.append(f"\n=== Chapter {number}: {chapters[number - 1].title} ===\n")
        if chapter in (None, number):
            blocks.append(cue.text)
    return "\n".join(blocks).lstrip("\n") + "\n"


def _episode_start(chapters: Sequence[object] | None, chapter: int, eid: str) -> None:
    if not chapters:
        raise PreviewError(f"episode {eid} has no chapters file")
    if not 1 <= chapter <= len(chapters):
        raise PreviewError(
            f"episode {eid} has no chapter {chapter}: chapters are 1 to {len(chapters)}"
        )


def default_output(library: Library, eid: str, chapter: int | None) -> Path:
    name = eid if chapter is None else f"{eid}-chapter{chapter}"
    return library.previews_dir / f"{name}.wav"


def preview_url(
    url: str,
    *,
    config: Config,
    library: Library,
    voice: VoiceProfile,
    http: HttpClient,
    seconds: float | None = None,
    chapter: int | None = None,
    output: Path | None = None,
    jobs: int = 1,
    on_play: Announce | None = None,
) -> PreviewOutcome:
    """Synthesise the needed part of the post at ``url`` into a WAV, then play it."""
    library.prepare()
    post, script, chunks, chapters = _fetch_script(url, config, http, voice)
    selected = select_chunks(chunks, chapters, voice=voice, seconds=seconds, chapter=chapter)
    log.info("previewing %d of %d chunks", len(selected), len(chunks))
    audio = synthesize_chunks(selected, voice, library.cache_dir / "chunks", jobs=jobs)
    wav = output or default_output(library, episode_id(post), chapter)
    work = library.work_dir
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="preview-", dir=work) as tmp, atomic_path(wav) as part:
        joined = Path(tmp) / "joined.wav"
        timeline = join_chunks(audio, joined)
        wanted = preview_seconds(seconds, chapter)
        joined = _cut_to_length(joined, timeline, audio, wanted, after_intro=chapter is None)
        # Heard at the episode's loudness, so a level problem shows in the preview too.
        normalise(joined, part, target_lufs=config.target_lufs, peak_dbtp=config.true_peak_dbtp)
    duration = wav_seconds(wav)
    return _play_or_keep(script.title, wav, duration, lambda: play(wav), on_play=on_play)


def preview_episode(
    library: Library,
    eid: str,
    title: str,
    *,
    seconds: float | None = None,
    chapter: int | None = None,
    output: Path | None = None,
    on_play: Announce | None = None,
) -> PreviewOutcome:
    """Play an episode from the start or from chapter ``chapter``, for ``seconds`` if given."""
    start = 0.0
    if chapter is not None:
        chapters = read_chapters(library.chapters_path(eid))
        _episode_start(chapters, chapter, eid)
        assert chapters is not None
        start = chapters[chapter - 1].start_s
    mp3 = library.mp3_path(eid)
    wav = output or default_output(library, eid, chapter)

    def keep() -> Path:
        with atomic_path(wav) as part:
            decode_wav(mp3, part, start_s=start, duration_s=seconds)
        return wav

    heard = seconds if seconds is not None else max(probe(mp3).duration_s - start, 0.0)
    return _play_or_keep(
        title, None, heard, lambda: play(mp3, start_s=start, duration_s=seconds), keep, on_play
    )


def _play_or_keep(
    title: str,
    wav: Path | None,
    duration: float | None,
    player: Callable[[], None],
    keep: Callable[[], Path] | None = None,
    on_play: Announce | None = None,
) -> PreviewOutcome:
    """Play when there is an output; otherwise (or if playing fails) keep the audio as a WAV."""
    output = find_audio_output()
    reason = NO_OUTPUT
    if output is not None:
        if on_play is not None:
            on_play(title, output, duration or 0.0)
        try:
            player()
        except PlaybackError as exc:
            reason = str(exc)
        else:
            return PreviewOutcome(title, duration or 0.0, wav, output, None)
    if wav is None:
        assert keep is not None
        wav = keep()
    return PreviewOutcome(title, wav_seconds(wav), wav, None, reason)


def wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as reader:
            return reader.getnframes() / reader.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise PreviewError(f"cannot read preview {path}: {exc}") from exc
