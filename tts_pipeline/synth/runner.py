"""Synthesise planned chunks into a content-addressed WAV cache, in parallel spawn workers.

The cache (keys, paths, entries) is ``synth.cache``; worker set-up and tear-down is
``synth.workers``.

The engine is never started in the calling process. pyttsx3 hangs children forked after its
``init()`` (notes §1 bug #7, pyttsx3 #131) and can hold only one engine per process, so work
runs in a ``ProcessPoolExecutor`` with the ``spawn`` start method and one engine per worker,
built by the pool initializer. Workers write the cache file and its statistics
(``chunkstats``) themselves and send back only (key, frames, sample rate), so no audio
crosses the process boundary. Each worker asks the kernel to end it when the process that
started it dies (Linux), so a SIGKILLed CLI leaves no orphaned workers behind.

Given an ExecutionBackend (``tts_pipeline.execution.seam``, e.g. a Dask cluster), chunks run
there instead: workers on other machines return the audio and this process writes the cache
file.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.audio.chunkstats import try_measure
from tts_pipeline.errors import ConfigError, SynthesisError, TTSPipelineError, WorkerCrashError
from tts_pipeline.execution.seam import ExecutionBackend, submit_bounded
from tts_pipeline.models import Chunk, ChunkAudio, Pcm, VoiceProfile
from tts_pipeline.synth.cache import CachedChunk, cache_key, cache_path, read_cached, store
from tts_pipeline.synth.engine import Engine, first_words, get_engine, set_threads
from tts_pipeline.synth.remote import SpokenChunk, speak_chunk
from tts_pipeline.synth.workers import (
    POOL_BREAKING,
    shut_down_pool,
    start_worker_process,
    stop_tracker,
    tracker_running,
)

log = logging.getLogger(__name__)


@dataclass
class SynthStats:
    """What one ``synthesize_chunks`` call did; pass one in to observe the cache."""

    cache_hits: int = 0  # chunks served from an existing cache file
    synthesized: int = 0  # chunks (unique texts) sent to the engine
    workers: int = 0  # worker processes started (0 when everything was cached)


def synthesize_chunks(
    chunks: Sequence[Chunk],
    voice: VoiceProfile,
    cache_dir: Path,
    *,
    jobs: int,
    on_progress: Callable[[ChunkAudio], None] | None = None,
    stats: SynthStats | None = None,
    executor: ExecutionBackend | None = None,
) -> list[ChunkAudio]:
    """Speak every chunk with ``voice``; return one ChunkAudio per chunk, in chunk order.

    Cached chunks are reported first and not re-synthesised; the rest run in up to ``jobs``
    spawn workers, or on ``executor`` when one is given. ``on_progress`` is called here, in
    the calling process, once per chunk.
    Raises SynthesisError naming the chunk (index and first words) if any chunk fails, and
    ConfigError for an unknown engine or voice id or a bad ``jobs``.
    """
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    stats = stats if stats is not None else SynthStats()
    engine = get_engine(voice.engine)  # cheap: only name/version/max_chars are used here
    for chunk in chunks:
        _check_chunk(chunk, engine)

    done: dict[str, CachedChunk] = {}
    todo: dict[str, list[int]] = {}  # key -> positions with that text (duplicates run once)
    results: list[ChunkAudio | None] = [None] * len(chunks)

    def report(position: int, record: CachedChunk) -> None:
        wav = cache_path(cache_dir, record.key)
        audio = ChunkAudio(chunks[position], wav, record.frames, record.sample_rate)
        results[position] = audio
        if on_progress is not None:
            on_progress(audio)

    for position, chunk in enumerate(chunks):
        key = cache_key(engine, voice, chunk.text)
        if key not in done and key not in todo:
            cached = read_cached(cache_path(cache_dir, key), key)
            if cached is not None:
                done[key] = cached
        if key in done:
            stats.cache_hits += 1
            report(position, done[key])
        else:
            todo.setdefault(key, []).append(position)

    if todo:
        workers = min(jobs, len(todo))
        stats.synthesized += len(todo)
        stats.workers += workers
        log.info(
            "synthesising %d chunks with %s in %d workers (%d cached)",
            len(todo),
            engine.name,
            workers,
            stats.cache_hits,
        )
        firsts = {key: chunks[positions[0]] for key, positions in todo.items()}
        if executor is not None:
            records = _run_remote(firsts, voice, cache_dir, executor)
        else:
            records = _run_pool(firsts, voice, cache_dir, workers)
        for record in records:
            for position in todo[record.key]:
                report(position, record)

    audio = [a for a in results if a is not None]
    if len(audio) != len(chunks):  # never drop a chunk silently
        missing = [chunks[i].index for i, a in enumerate(results) if a is None]
        raise SynthesisError(f"no audio for chunks {missing}", engine=engine.name)
    return audio


def _check_chunk(chunk: Chunk, engine: Engine) -> None:
    if not chunk.text.strip():
        # pyttsx3 asserts on empty text (notes §1 bug #9); the planner should have dropped it.
        raise SynthesisError(f"chunk {chunk.index} is empty", engine=engine.name)
    if len(chunk.text) > engine.max_chars:
        raise SynthesisError(
            f"chunk {chunk.index} ({first_words(chunk.text)!r}) has {len(chunk.text)} chars;"
            f" {engine.name} accepts at most {engine.max_chars} per call",
            engine=engine.name,
        )


def _run_remote(
    todo: dict[str, Chunk], voice: VoiceProfile, cache_dir: Path, remote: ExecutionBackend
) -> Iterator[CachedChunk]:
    """Yield each chunk's record as a remote worker returns its audio, written to the cache
    here (atomically): the workers may not share this machine's disk."""
    unfinished: dict[str, Chunk] = {}

    def task_args(item: tuple[str, Chunk]) -> tuple[object, ...]:
        unfinished[item[0]] = item[1]
        return (voice, item[0], item[1].index, item[1].text)

    try:
        for (key, chunk), spoken in submit_bounded(remote, speak_chunk, todo.items(), task_args):
            if not isinstance(spoken, SpokenChunk) or spoken.key != key or not spoken.samples:
                raise SynthesisError(f"chunk {chunk.index}: {remote.name} returned no audio")
            pcm = Pcm(samples=spoken.samples, sample_rate=spoken.sample_rate)
            record = store(cache_dir, key, pcm, spoken.stats)
            del unfinished[key]
            yield record
    except TTSPipelineError:
        raise
    except BrokenProcessPool as exc:
        raise _crashed(list(unfinished.values())) from exc
    except Exception as exc:  # the executor's own faults: one line, and the post fails
        raise SynthesisError(f"{remote.name}: {type(exc).__name__}: {exc}") from exc


def _run_pool(
    todo: dict[str, Chunk], voice: VoiceProfile, cache_dir: Path, workers: int
) -> Iterator[CachedChunk]:
    """Yield each chunk's record as its worker finishes it."""
    context = multiprocessing.get_context("spawn")  # never fork: bug #7
    # Engines that compute with threads (Piper's onnxruntime) get an equal share of the cores:
    # more threads than cores in total only adds contention (Piper: 2 x 1 thread beat 2 x 2).
    threads = max(1, (os.cpu_count() or 1) // workers)
    tracker_started_here = not tracker_running()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(voice, threads, os.getpid()),
    )
    orderly = False
    try:
        try:
            futures = {
                pool.submit(_synthesize_one, key, chunk.index, chunk.text, str(cache_dir)): chunk
                for key, chunk in todo.items()
            }
        except POOL_BREAKING as exc:
            # Workers are spawned on demand inside submit(); one dying this early makes
            # CPython 3.11 fail the next submit (see POOL_BREAKING).
            raise WorkerCrashError(f"a synthesis worker crashed while starting: {exc}") from exc
        for future in as_completed(futures):
            yield _result(future, futures[future], futures)
        orderly = True
    except SynthesisError as exc:
        # One chunk failed: let running chunks finish (their cache files stay useful).
        orderly = not isinstance(exc, WorkerCrashError)
        raise
    finally:  # on failure, start no chunk nobody will wait for
        shut_down_pool(pool, orderly=orderly)
    del pool
    if tracker_started_here:
        stop_tracker()


def _crashed(unfinished: list[Chunk]) -> WorkerCrashError:
    """The error for a worker that died with ``unfinished`` chunks (one or more): it names the
    earliest of them."""
    first = min(unfinished, key=lambda c: c.index)
    return WorkerCrashError(
        f"a synthesis worker crashed (killed, or the engine segfaulted) while"
        f" {len(unfinished)} chunks were unfinished, from chunk {first.index}"
        f" ({first_words(first.text)!r})"
    )


def _result(
    future: Future[CachedChunk], chunk: Chunk, futures: dict[Future[CachedChunk], Chunk]
) -> CachedChunk:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        # Every unfinished chunk fails with the same error; name the earliest of them.
        unfinished = [
            c
            for f, c in futures.items()
            if not f.done() or (not f.cancelled() and f.exception() is not None)
        ]
        raise _crashed(unfinished or [chunk]) from exc
    except TTSPipelineError:
        raise  # already names the chunk (see _synthesize_one)
    except Exception as exc:
        raise SynthesisError(
            f"chunk {chunk.index} ({first_words(chunk.text)!r}): {type(exc).__name__}: {exc}"
        ) from exc


# -- worker process ---------------------------------------------------------------------------

_worker_engine: Engine | None = None
_worker_voice: VoiceProfile | None = None
_worker_error: TTSPipelineError | None = None


def _init_worker(voice: VoiceProfile, threads: int = 0, parent: int = 0) -> None:
    """Build this worker's one engine. Errors are kept and raised from each task, because an
    exception in a pool initializer only surfaces as an uninformative BrokenProcessPool."""
    global _worker_engine, _worker_voice, _worker_error
    start_worker_process(parent)
    try:
        engine = get_engine(voice.engine)
        if threads:
            set_threads(engine, threads)
        engine.check_voice(voice)  # starts the engine; bug #8: a bad voice id is silent
    except TTSPipelineError as exc:
        _worker_error = exc
        return
    _worker_engine, _worker_voice = engine, voice


def _synthesize_one(key: str, index: int, text: str, cache_dir: str) -> CachedChunk:
    if _worker_error is not None:
        raise _worker_error
    assert _worker_engine is not None and _worker_voice is not None
    try:
        pcm = _worker_engine.synthesize(text, _worker_voice)
    except TTSPipelineError as exc:
        raise SynthesisError(
            f"chunk {index} ({first_words(text)!r}): {exc}", engine=_worker_engine.name
        ) from None
    stats = try_measure(pcm.samples, pcm.sample_rate, f"chunk {index}")
    return store(Path(cache_dir), key, pcm, stats)
