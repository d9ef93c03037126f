"""Check chunks while later chunks are still being synthesised; re-speak the bad ones once.

The synthesis runner reports each finished chunk in the calling process (``on_progress``);
``Verifier.submit`` queues it and returns at once. Worker threads transcribe the queue
(CTranslate2 releases the GIL, so a thread computes in parallel with the spawn workers).
While synthesis runs, only one transcription at a time is allowed, on one CPU thread, so the
recogniser takes at most one core from the engine; once synthesis is over, ``finish`` lets
every worker run, one per job.

A chunk whose word error rate is above the threshold is synthesised once more with a fresh
cache entry (its cache file is deleted, so the runner speaks it again and writes a new one)
and checked again; if it is still above, the new take is kept and the chunk is flagged.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tts_pipeline.errors import ConfigError
from tts_pipeline.models import Chunk, ChunkAudio, VoiceProfile
from tts_pipeline.synth.cache import cache_key, cache_path
from tts_pipeline.synth.cast import speak_cast
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.verify.check import ChunkCheck, Listener, check_chunk
from tts_pipeline.verify.report import VerifyReport
from tts_pipeline.verify.whisper import EXTRA_HINT, resolve_model, shared_transcriber

log = logging.getLogger(__name__)

REQUIRED_MODULES = ("faster_whisper", "whisper_normalizer", "jiwer")
_Task = tuple[ChunkAudio, int]  # the audio and which attempt it is


def check_installed() -> None:
    """Fail before any work if the verify extra is missing (not after synthesising)."""
    missing = [m for m in REQUIRED_MODULES if not _installed(m)]
    if missing:
        raise ConfigError(f"verification needs {', '.join(missing)}: {EXTRA_HINT}")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules (set to None)
        return False


class Verifier:
    """Transcribes submitted chunks on ``workers`` threads; see the module docstring."""

    def __init__(
        self,
        listener: Callable[[], Listener],
        *,
        model: str,
        threshold: float,
        workers: int = 1,
    ) -> None:
        self.model = model
        self.threshold = threshold
        self.workers = max(1, workers)
        self._make_listener = listener
        self._listener: Listener | None = None
        self._load_lock = threading.Lock()
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._limit = 1  # transcriptions allowed at once; raised when synthesis is over
        self._active = 0
        self._submitted = 0
        self._results: dict[tuple[int, int], ChunkCheck] = {}
        self._error: BaseException | None = None
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"verify-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def start(cls, model: str, threshold: float, *, jobs: int) -> Verifier:
        """A verifier with a faster-whisper model, loaded in the background (it overlaps the
        first chunks' synthesis); a missing extra or model folder fails here, before work."""
        check_installed()
        resolve_model(model)
        workers = max(1, min(jobs, os.cpu_count() or 1))
        return cls(
            lambda: shared_transcriber(model, workers),
            model=model,
            threshold=threshold,
            workers=workers,
        )

    # -- called from the pipeline (main thread) ------------------------------------------

    def submit(self, audio: ChunkAudio, attempt: int = 1) -> None:
        """Queue a finished chunk for checking; returns at once."""
        with self._cond:
            self._submitted += 1
        self._tasks.put((audio, attempt))

    def finish(
        self, audio: Sequence[ChunkAudio], *, voice: VoiceProfile, cache_dir: Path, jobs: int
    ) -> tuple[list[ChunkAudio], VerifyReport]:
        """Wait for every check (now on all workers), re-speak chunks above the threshold once,
        check them again; return the audio to package and the report."""
        waited_from = time.perf_counter()
        with self._cond:
            self._limit = self.workers
            self._cond.notify_all()
        firsts = self._wait_all()
        bad = [a.chunk for a in audio if firsts[a.chunk.index].failed(self.threshold)]
        kept = list(audio)
        final = {a.chunk.index: firsts[a.chunk.index] for a in audio}
        if bad:
            log.info("re-synthesising %d chunks above WER %.2f", len(bad), self.threshold)
            fresh = respeak(bad, voice, cache_dir, jobs=jobs)
            for take in fresh:
                self.submit(take, attempt=2)
            retakes = self._wait_all()
            by_index = {take.chunk.index: take for take in fresh}
            kept = [by_index.get(a.chunk.index, a) for a in audio]
            for chunk in bad:
                final[chunk.index] = retakes[chunk.index]
        checks = tuple(final[a.chunk.index] for a in audio)
        report = VerifyReport(
            model=self.model,
            threshold=self.threshold,
            checks=checks,
            first_takes=tuple(firsts[c.index] for c in bad),
            flagged=tuple(c.index for c in checks if c.attempt > 1 and c.failed(self.threshold)),
            wait_s=time.perf_counter() - waited_from,
        )
        self.close()
        return kept, report

    def close(self) -> None:
        """Stop the worker threads, dropping queued work; safe to call more than once."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._limit = self.workers
            self._cond.notify_all()
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()

    # -- worker threads -------------------------------------------------------------------

    def _wait_all(self) -> dict[int, ChunkCheck]:
        """Block until every submitted task has a result; the latest attempt per chunk."""
        with self._cond:
            while self._error is None and len(self._results) < self._submitted:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            latest: dict[int, ChunkCheck] = {}
            for (index, _attempt), check in sorted(self._results.items()):
                latest[index] = check
            return latest

    def _listen(self) -> Listener:
        with self._load_lock:
            if self._listener is None:
                self._listener = self._make_listener()
            return self._listener

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            audio, attempt = task
            with self._cond:
                while self._active >= self._limit and not self._closed:
                    self._cond.wait()
                if self._closed or self._error is not None:
                    continue  # the conversion is over or failed: drop the rest
                self._active += 1
            try:
                check = check_chunk(self._listen(), audio, attempt)
            except BaseException as exc:  # handed to the waiting pipeline thread
                with self._cond:
                    self._active -= 1
                    if self._error is None:
                        self._error = exc
                    self._cond.notify_all()
                continue
            with self._cond:
                self._active -= 1
                self._results[(audio.chunk.index, attempt)] = check
                self._cond.notify_all()


def respeak(
    chunks: Sequence[Chunk], voice: VoiceProfile, cache_dir: Path, *, jobs: int
) -> list[ChunkAudio]:
    """Synthesise ``chunks`` again, not from the cache: their entries are deleted first, so
    the runner writes fresh ones (a damaged or unlucky take is replaced, not re-used). A
    conversation's chunks are spoken again by their own voices (``Chunk.voice``)."""
    voices = {name: load_voice(name) for name in {c.voice for c in chunks if c.voice}}
    for chunk in chunks:
        own = voices[chunk.voice] if chunk.voice else voice
        key = cache_key(get_engine(own.engine), own, chunk.text)
        cache_path(cache_dir, key).unlink(missing_ok=True)
    jobs = max(1, min(jobs, len(chunks)))
    if voices:
        return speak_cast(chunks, voice, voices, cache_dir, jobs=jobs)
    return synthesize_chunks(chunks, voice, cache_dir, jobs=jobs)
