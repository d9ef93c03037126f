"""Chunk synthesis on a remote worker (a Dask worker, or any executor's process).

Remote workers share no disk with the coordinating process, so a task returns the chunk's
audio itself (mono s16le bytes, a few hundred KiB at most) and the coordinator writes the
cache file. Each worker process keeps one engine per engine name in a module-level cache, built
on its first task: a task is an importable function here, never a closure, so any worker with
``tts_pipeline`` installed can run it.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

from tts_pipeline.audio.chunkstats import ChunkStats, try_measure
from tts_pipeline.errors import SynthesisError, TTSPipelineError
from tts_pipeline.models import VoiceProfile
from tts_pipeline.synth.engine import Engine, first_words, get_engine, set_threads

# A worker thread count of 1 is the recommended set-up (`dask worker --nthreads 1`, one worker
# process per core); engines that compute with threads then use one each.
_threads = 1


class SpokenChunk(NamedTuple):
    key: str
    sample_rate: int
    samples: bytes  # mono s16le
    stats: ChunkStats | None  # measured on the worker; None if that failed


def share_cores(threads: int) -> None:
    """How many CPU threads this process's engines may use (before the first task)."""
    global _threads
    _threads = max(1, threads)


_engines: dict[str, Engine] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _engine(voice: VoiceProfile) -> tuple[Engine, threading.Lock]:
    with _guard:
        engine = _engines.get(voice.engine)
        if engine is None:
            engine = get_engine(voice.engine)
            set_threads(engine, _threads)
            _engines[voice.engine] = engine
            _locks[voice.engine] = threading.Lock()
        return engine, _locks[voice.engine]


def speak_chunk(voice: VoiceProfile, key: str, index: int, text: str) -> SpokenChunk:
    """Speak one chunk with ``voice``; SynthesisError naming the chunk if the engine fails."""
    engine, lock = _engine(voice)
    # pyttsx3 holds one engine per process: worker threads take turns on it.
    with lock:
        try:
            engine.check_voice(voice)
            pcm = engine.synthesize(text, voice)
        except TTSPipelineError as exc:
            raise SynthesisError(
                f"chunk {index} ({first_words(text)!r}): {exc}", engine=engine.name
            ) from None
    stats = try_measure(pcm.samples, pcm.sample_rate, f"chunk {index}")  # outside the lock
    return SpokenChunk(key, pcm.sample_rate, pcm.samples, stats)
