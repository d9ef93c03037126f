"""Voices of one episode matched in loudness before they are joined.

Engines differ in level (Piper normalises every sentence to full scale, espeak-ng does not),
so a conversation read by several voices would jump in loudness at every turn. Each voice's
chunks are gated together (BS.1770, from the chunks' own statistics) and every voice louder
than the quietest is turned down to it; the episode's gain then brings the whole to the
target. Turning down only means no sample is pushed past full scale before the limiter.
"""

from __future__ import annotations

import array
from collections.abc import Sequence
from dataclasses import replace

from tts_pipeline.audio.chunkstats import ChunkStats, gated_loudness
from tts_pipeline.models import ChunkAudio

MAX_MATCH_DB = 24.0  # a voice this much louder than another is a fault, not a level to match


def voice_loudness(audio: Sequence[ChunkAudio], stats: Sequence[ChunkStats]) -> dict[str, float]:
    """Each voice's integrated loudness (LUFS) over its chunks ("" is the narrator's)."""
    blocks: dict[str, list[float]] = {}
    for item, chunk_stats in zip(audio, stats, strict=True):
        blocks.setdefault(item.chunk.voice, []).extend(chunk_stats.block_lufs)
    return {voice: gated_loudness(found) for voice, found in blocks.items() if found}


def match_voices(
    audio: Sequence[ChunkAudio], stats: Sequence[ChunkStats]
) -> tuple[list[ChunkAudio], list[ChunkStats]]:
    """The chunks with each voice's gain set, and their statistics as they will sound."""
    loudness = voice_loudness(audio, stats)
    if len(loudness) < 2:
        return list(audio), list(stats)
    quietest = min(loudness.values())
    gains = {v: round(max(quietest - lufs, -MAX_MATCH_DB), 2) for v, lufs in loudness.items()}
    matched = [replace(a, gain_db=gains.get(a.chunk.voice, 0.0)) for a in audio]
    heard = [
        replace(s, block_lufs=array.array("d", (b + a.gain_db for b in s.block_lufs)))
        for a, s in zip(matched, stats, strict=True)
    ]
    return matched, heard
