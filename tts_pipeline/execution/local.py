"""A local spawn pool kept for a whole batch of posts (``backfill``, ``convert`` of several
URLs), fed through the same seam as a cluster (``seam.ExecutionBackend``).

The per-post pool of ``synth.runner`` starts its workers, and their engines, for every post; for
short posts that costs more than speaking them. These workers start once and keep their engine
(``synth.remote``) for the whole batch; they return the audio and the caller writes the cache.
A worker that dies (killed, or a crashing engine) breaks a ``ProcessPoolExecutor`` for good:
the post in progress fails, and the next post gets a fresh pool.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import ParamSpec, TypeVar

from tts_pipeline.execution.seam import ExecutionBackend
from tts_pipeline.synth.remote import share_cores
from tts_pipeline.synth.workers import POOL_BREAKING, shut_down_pool, start_worker_process

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class RenewingPool(Executor):
    """A spawn ProcessPoolExecutor that is replaced by a fresh one once a worker death has
    broken it (the tasks it was running fail; later submissions go to the new pool)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._lock = threading.Lock()
        self._closed = False
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context("spawn"),  # never fork: pyttsx3 bug #7
            initializer=_init_worker,
            initargs=(os.getpid(), max(1, (os.cpu_count() or 1) // self.jobs)),
        )

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            try:
                return self._pool.submit(fn, *args, **kwargs)
            except POOL_BREAKING as exc:
                # A worker death breaks the pool (see POOL_BREAKING for how submit() may say
                # so). Only our own shutdown is final.
                if self._closed:
                    raise
                log.info("a synthesis worker died (%s): starting a fresh local pool", exc)
                shut_down_pool(self._pool, orderly=False)
                self._pool = self._start()
                return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            shut_down_pool(self._pool, orderly=wait and not cancel_futures)


@contextlib.contextmanager
def local_pool(jobs: int) -> Iterator[ExecutionBackend]:
    """``jobs`` local workers for a batch, while inside; stopped (not awaited) on an error."""
    pool = RenewingPool(jobs)
    orderly = False
    try:
        yield ExecutionBackend(pool, window=2 * jobs, name="local process pool")
        orderly = True
    finally:
        pool.shutdown(wait=orderly, cancel_futures=not orderly)


def _init_worker(parent: int, threads: int) -> None:
    """A synthesis worker (see ``start_worker_process``) whose engines get a share of the
    cores."""
    start_worker_process(parent)
    share_cores(threads)
