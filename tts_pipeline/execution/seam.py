"""The execution seam: where the pipeline's parallel chunk work runs.

``executor`` (the CLI's ``--executor``, the config's ``executor``) names it:

- empty or ``local``: a spawn process pool on this machine, started per post by the synthesis
  runner with one engine per worker, whose workers write the chunk cache themselves (no audio
  crosses a process boundary; see ``synth.runner``);
- ``dask://HOST:PORT`` (or ``tcp://HOST:PORT``): a Dask distributed cluster, through
  ``Client.get_executor(pure=False)`` (``tts_pipeline.execution.dask`` wraps the library). Remote
  workers share no disk with this process: they send each chunk's audio back and this process,
  which owns the library, the state database and packaging, writes the cache file. A backfill
  sends them whole posts instead (``batch.whole``): they return the episode's files.

Batches on the local machine use a pool kept for all their posts (``execution.local``), fed
through the same seam. ``tts_pipeline.execution.open_executor`` opens the backend a spec names;
this module imports no backend, so every stage may depend on it alone.

Any ``concurrent.futures.Executor`` works behind :class:`ExecutionBackend`; ``submit_bounded``
keeps a window of tasks in flight (never a whole archive's worth at once) and submits again a
task whose worker was lost, a bounded number of times. ``submit_bounded_futures`` does the
same but hands back each finished task's future, for callers that settle failures one by one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tts_pipeline.errors import WorkerLostError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_RESUBMITS = 3


@dataclass
class ExecutionBackend:
    """An executor (a cluster, a local process pool, or inline) and how to feed it."""

    executor: Executor
    window: int  # tasks in flight at most: about twice the workers' threads
    name: str  # for messages, e.g. "dask://10.0.0.5:8786"
    is_lost: Callable[[BaseException], bool] = field(default=lambda exc: False)
    resubmits: int = DEFAULT_RESUBMITS  # per task, after a lost worker
    whole_posts: bool = False  # batches may send whole posts (workers have ffmpeg too)


def submit_bounded(
    backend: ExecutionBackend,
    fn: Callable[..., R],
    items: Iterable[T],
    args: Callable[[T], tuple[Any, ...]],
) -> Iterator[tuple[T, R]]:
    """Run ``fn(*args(item))`` for every item on ``backend``; yield (item, result) as each
    finishes. At most ``backend.window`` tasks are in flight. A task whose worker was lost
    (``backend.is_lost``) is submitted again up to ``backend.resubmits`` times; any other
    exception is raised from here, after cancelling the tasks not yet started."""
    with contextlib.closing(submit_bounded_futures(backend, fn, items, args)) as finished:
        for item, future, tries in finished:
            try:
                result = future.result()
            except BaseException as exc:
                if not backend.is_lost(exc):
                    raise
                raise WorkerLostError(
                    f"{backend.name}: a task's worker was lost {tries + 1} times: {exc}"
                ) from exc
            yield item, result


def submit_bounded_futures(
    backend: ExecutionBackend,
    fn: Callable[..., R],
    items: Iterable[T],
    args: Callable[[T], tuple[Any, ...]],
    *,
    waiting: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> Generator[tuple[T, Future[R], int], None, None]:
    """``submit_bounded``'s window and resubmissions, yielding (item, its finished future, how
    many times it was submitted again) instead of the result: the future holds the result, or
    the exception (a lost worker's once the resubmissions are spent). The next item is taken
    from ``items`` only once the caller has dealt with a finished one. ``waiting()`` is entered
    around each wait for a task (e.g. to let a stop signal interrupt it). Closing the
    generator (an error, or a caller that stops early) cancels the tasks not yet started."""
    pending = iter(items)
    running: dict[Future[R], tuple[T, int]] = {}

    def submit(item: T, tries: int) -> None:
        running[backend.executor.submit(fn, *args(item))] = (item, tries)

    try:
        for item in pending:
            submit(item, 0)
            if len(running) >= max(1, backend.window):
                break
        while running:
            with waiting():
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                item, tries = running.pop(future)
                lost = _lost_worker(backend, future) if tries < backend.resubmits else None
                if lost is not None:
                    log.warning("%s: worker lost (%s); submitting the task again", backend.name,
                                type(lost).__name__)  # fmt: skip
                    submit(item, tries + 1)
                    continue
                yield item, future, tries
                nxt = next(pending, None)
                if nxt is not None:
                    submit(nxt, 0)
    finally:
        for future in running:  # an error or an abandoned generator: start nothing more
            future.cancel()


def _lost_worker(backend: ExecutionBackend, future: Future[Any]) -> BaseException | None:
    """The finished ``future``'s exception if it means its worker was lost, else None."""
    try:
        future.result()
    except BaseException as exc:
        return exc if backend.is_lost(exc) else None
    return None
