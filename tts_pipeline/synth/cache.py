"""The content-addressed cache of spoken chunks: keys, paths, entries.

Cache key = sha256 over (key schema, engine name, engine version, the voice's speaking fields
and the chunk text); the file is ``cache_dir/<key[:2]>/<key>.wav``, mono s16le, with its
loudness and pause statistics beside it (``audio.chunkstats``). Pauses are not part of the
key: silence is added when packaging, so changing a pause re-uses every cached chunk.
Entries are written atomically, by whichever process spoke the chunk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import wave
from pathlib import Path
from typing import NamedTuple

from tts_pipeline.audio.chunkstats import ChunkStats, save_stats
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.models import Pcm, VoiceProfile
from tts_pipeline.synth.engine import Engine

log = logging.getLogger(__name__)

# Bump when the cached audio for the same inputs would change for reasons outside the engine
# (e.g. a different WAV layout), so old entries stop matching.
CACHE_SCHEMA = "tts_pipeline.synth/1"


class CachedChunk(NamedTuple):
    """A cache entry's record, as a worker answers: small enough to pickle cheaply; the
    audio stays on disk."""

    key: str
    frames: int
    sample_rate: int


def cache_key(engine: Engine, voice: VoiceProfile, text: str) -> str:
    """The content address of ``text`` spoken by ``engine`` with ``voice``."""
    fields: list[object] = [CACHE_SCHEMA, engine.name, engine.version]
    fields += [voice.engine, voice.voice, voice.rate_wpm, text]
    if voice.model or voice.deterministic:  # only when set, so older keys stay valid
        fields += [voice.model, voice.deterministic]
    if voice.word_gap:  # likewise: profiles without a word gap keep their keys
        fields += ["word_gap", voice.word_gap]
    if voice.speaker is not None:  # one speaker of a multi-speaker model
        fields += ["speaker", voice.speaker]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.wav"


def read_cached(path: Path, key: str) -> CachedChunk | None:
    """The cache entry at ``path`` if it is a readable, non-empty mono s16 WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            ok = wav.getnchannels() == 1 and wav.getsampwidth() == 2
    except FileNotFoundError:
        return None
    except (OSError, EOFError, wave.Error) as exc:
        log.warning("ignoring unreadable cache file %s: %s", path, exc)
        return None
    # Writes are atomic, so a bad entry means outside damage; it is simply synthesised again.
    if not ok or frames == 0 or path.stat().st_size < 44 + 2 * frames:
        log.warning("ignoring damaged cache file %s", path)
        return None
    return CachedChunk(key, frames, rate)


def store(cache_dir: Path, key: str, pcm: Pcm, stats: ChunkStats | None) -> CachedChunk:
    """Write ``pcm`` as the cache entry for ``key`` (atomically), with its loudness and pause
    statistics beside it (measured by the worker that spoke it, while other chunks are still
    being spoken), and return its record.

    An entry another process stored meanwhile (processes converting posts that share a
    sentence, such as the outro) is kept and its record returned: an engine's takes of one
    text may differ by a frame, and a process already packaging that entry must find the
    file its record describes. Only a damaged entry is replaced."""
    wav = cache_path(cache_dir, key)
    if not _write_wav(wav, pcm, replace=False):
        existing = read_cached(wav, key)
        if existing is not None:
            return existing
        _write_wav(wav, pcm, replace=True)
    if stats is not None and stats.frames == pcm.frames:
        save_stats(wav, stats)
    return CachedChunk(key, pcm.frames, pcm.sample_rate)


def _write_wav(path: Path, pcm: Pcm, *, replace: bool) -> bool:
    """Write the entry; False (and nothing written) if one is there and not ``replace``."""
    try:
        _write_frames(path, pcm, replace=replace)
    except FileExistsError:
        return False
    return True


def _write_frames(path: Path, pcm: Pcm, *, replace: bool) -> None:
    with atomic_path(path, replace=replace) as tmp, wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(pcm.sample_rate)
        wav.writeframes(pcm.samples)
