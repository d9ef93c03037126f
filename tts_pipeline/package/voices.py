"""Voices of one episode matched in loudness before they are joined.

Engines differ in level (Piper normalises every sentence to full scale, espeak-ng does not),
so a conversation read by several voices would jump in loudness at every turn. Each voice's
chunks are gated together (BS.1770, from the chunks' own statistics) and every voice louder
than the quietest is turned down to it; the episode's gain then brings the whole to the
target. Turning down only means no sample is pushed past full scale before the limiter.

The limiter that keeps the episode's true peak under its ceiling takes more loudness from a
voice with sharp peaks (espeak-ng's male voices) than from a smooth one: matched as WAVs,
espeak-ng's female and male voices were heard 2.5 LU apart in the MP3. So each voice's gain
is searched through the limiter on a sample of its own chunks (``limited_gains``, the same
search as the episode's gain), and the voices are matched at the loudness they will have
after it. The finished MP3 is then measured per voice (``heard_offsets``); voices still heard
more than ``VOICE_SPREAD_LU`` apart are corrected by what was heard, and the episode is
packaged once more.
"""

from __future__ import annotations

import array
import tempfile
import wave
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from tts_pipeline.audio.chunkstats import ChunkStats, gated_loudness, measure_pcm
from tts_pipeline.models import ChunkAudio
from tts_pipeline.package.ffmpeg import decode_wav
from tts_pipeline.package.join import Timeline
from tts_pipeline.package.loudness import gain_sample, plan_gain

MAX_MATCH_DB = 24.0  # a voice this much louder than another is a fault, not a level to match
VOICE_SPREAD_LU = 0.5  # voices heard further apart than this are corrected


def voice_loudness(audio: Sequence[ChunkAudio], stats: Sequence[ChunkStats]) -> dict[str, float]:
    """Each voice's integrated loudness (LUFS) over its chunks ("" is the narrator's)."""
    blocks: dict[str, list[float]] = {}
    for item, chunk_stats in zip(audio, stats, strict=True):
        blocks.setdefault(item.chunk.voice, []).extend(chunk_stats.block_lufs)
    return {voice: gated_loudness(found) for voice, found in blocks.items() if found}


def limited_gains(
    audio: Sequence[ChunkAudio],
    loudness: Mapping[str, float],
    *,
    target_lufs: float,
    ceiling_dbtp: float,
    work_dir: Path,
) -> dict[str, float]:
    """Each voice's gain (dB) to ``target_lufs`` through the limiter at ``ceiling_dbtp``,
    searched on a sample of that voice's chunks."""
    gains: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="voices-", dir=work_dir) as tmp:
        for n, (voice, before) in enumerate(sorted(loudness.items())):
            mine = [a for a in audio if a.chunk.voice == voice]
            wav = Path(tmp) / f"voice-{n}.wav"
            seconds = gain_sample(mine, wav)
            gains[voice], _ = plan_gain(
                wav, before_lufs=before, duration_s=seconds, target_lufs=target_lufs,
                peak_dbtp=ceiling_dbtp, source_rate=mine[0].sample_rate,
            )  # fmt: skip
    return gains


def match_voices(
    audio: Sequence[ChunkAudio],
    stats: Sequence[ChunkStats],
    offsets: Mapping[str, float] | None = None,
    *,
    target_lufs: float,
    ceiling_dbtp: float,
    work_dir: Path,
) -> tuple[list[ChunkAudio], list[ChunkStats]]:
    """The chunks with each voice's gain set (plus its ``offsets``, dB, from hearing an
    earlier package), and their statistics as they will sound before the episode's gain."""
    loudness = voice_loudness(audio, stats)
    if len(loudness) < 2:
        return list(audio), list(stats)
    through = limited_gains(
        audio, loudness, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp, work_dir=work_dir
    )
    wanted = {v: through[v] + (offsets or {}).get(v, 0.0) for v in loudness}
    top = max(0.0, *wanted.values())  # only ever turned down
    gains = {v: round(max(g - top, -MAX_MATCH_DB), 2) for v, g in wanted.items()}
    matched = [replace(a, gain_db=gains.get(a.chunk.voice, 0.0)) for a in audio]
    heard = [
        replace(s, block_lufs=array.array("d", (b + a.gain_db for b in s.block_lufs)))
        for a, s in zip(matched, stats, strict=True)
    ]
    return matched, heard


def heard_loudness(
    mp3: Path, timeline: Timeline, audio: Sequence[ChunkAudio], work_dir: Path
) -> dict[str, float]:
    """Each voice's loudness (LUFS) as the finished ``mp3`` plays it, over its chunks'
    places on ``timeline``."""
    with tempfile.TemporaryDirectory(prefix="voices-", dir=work_dir) as tmp:
        wav = Path(tmp) / "heard.wav"
        decode_wav(mp3, wav)
        with wave.open(str(wav), "rb") as reader:
            rate, samples = reader.getframerate(), reader.readframes(reader.getnframes())
    scale = rate / timeline.sample_rate
    parts: dict[str, list[bytes]] = {}
    for item, span in zip(audio, timeline.spans, strict=True):
        start, end = round(span.start_frame * scale), round(span.end_frame * scale)
        parts.setdefault(item.chunk.voice, []).append(samples[2 * start : 2 * end])
    return {
        voice: gated_loudness(measure_pcm(b"".join(found), rate).block_lufs)
        for voice, found in parts.items()
    }


def heard_offsets(
    mp3: Path, timeline: Timeline, audio: Sequence[ChunkAudio], work_dir: Path
) -> dict[str, float]:
    """The correction (dB) of each voice heard more than ``VOICE_SPREAD_LU`` from the others
    in ``mp3``; empty when they are heard alike (or there is one voice)."""
    if len({a.chunk.voice for a in audio}) < 2:
        return {}
    heard = heard_loudness(mp3, timeline, audio, work_dir)
    if max(heard.values()) - min(heard.values()) <= VOICE_SPREAD_LU:
        return {}
    middle = sorted(heard.values())[len(heard) // 2]
    return {voice: round(middle - lufs, 2) for voice, lufs in heard.items()}
