"""Hear the start of a post, or one chapter of it, before it is converted.

Only what is needed is synthesised: the intro and the first N seconds of the body (chunks
chosen by an estimate from the voice's words per minute, the audio then cut at the first
pause past N seconds), or one chapter. Chunks go through the library's chunk cache, so a
later ``convert`` of the same post reuses them. The preview is heard at the episode's
loudness, so a level problem shows in it too.
"""

from __future__ import annotations

import logging
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

from tts_pipeline.audio.chunkstats import ChunkStats, chunk_stats
from tts_pipeline.config import Config
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.library.layout import Library, episode_id
from tts_pipeline.models import Chunk, ChunkAudio, VoiceProfile
from tts_pipeline.net.http import HttpClient
from tts_pipeline.package.join import Timeline, join_chunks
from tts_pipeline.package.loudness import normalise
from tts_pipeline.pipeline import speak_chunks
from tts_pipeline.preview.episode import (
    Announce,
    PreviewOutcome,
    default_output,
    play_or_keep,
    wav_seconds,
)
from tts_pipeline.preview.playback import play
from tts_pipeline.preview.script import ScriptChapter, chapter_chunks, fetch_script

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 30.0


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
    post, script, chunks, chapters = fetch_script(url, config, http, voice)
    selected = select_chunks(chunks, chapters, voice=voice, seconds=seconds, chapter=chapter)
    log.info("previewing %d of %d chunks", len(selected), len(chunks))
    audio = speak_chunks(selected, voice, library, jobs=jobs)
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
    return play_or_keep(script.title, wav, duration, lambda: play(wav), on_play=on_play)
