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

Batches on the local machine use a pool kept for all their posts (``synth.batch_pool``), fed
through the same seam.

Any ``concurrent.futures.Executor`` works behind :class:`RemoteExecutor`; ``submit_bounded``
keeps a window of tasks in flight (never a whole archive's worth at once) and submits again a
task whose worker was lost, a bounded number of times.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tts_pipeline.errors import ConfigError, WorkerLostError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

LOCAL = "local"
DEFAULT_RESUBMITS = 3


@dataclass
class RemoteExecutor:
    """An executor on other machines (or processes) and how to feed it."""

    executor: Executor
    window: int  # tasks in flight at most: about twice the workers' threads
    name: str  # for messages, e.g. "dask://10.0.0.5:8786"
    is_lost: Callable[[BaseException], bool] = field(default=lambda exc: False)
    resubmits: int = DEFAULT_RESUBMITS  # per task, after a lost worker
    whole_posts: bool = False  # batches may send whole posts (workers have ffmpeg too)


def parse_spec(spec: str | None) -> str:
    """``spec`` normalised: ``local`` or ``tcp://HOST:PORT``; ConfigError if unreadable."""
    text = (spec or "").strip()
    if not text or text == LOCAL:
        return LOCAL
    for scheme in ("dask://", "tcp://"):
        if text.startswith(scheme):
            host, _, port = text[len(scheme) :].rstrip("/").rpartition(":")
            if host and port.isdigit():
                return f"tcp://{host}:{port}"
    raise ConfigError(f"executor must be 'local' or dask://HOST:PORT, got {text!r}")


@contextlib.contextmanager
def open_executor(spec: str | None, *, batch_jobs: int = 0) -> Iterator[RemoteExecutor | None]:
    """The executor ``spec`` names, while inside: a connected cluster, closed (not shut down:
    it is shared) on exit; for ``local``, None (the synthesis runner starts a pool per post),
    or with ``batch_jobs`` a pool of that many workers kept for the whole batch of posts."""
    address = parse_spec(spec)
    if address == LOCAL:
        if batch_jobs < 1:
            yield None
            return
        from tts_pipeline.execution.local import local_pool  # it imports this module

        with local_pool(batch_jobs) as pool:
            yield pool
        return
    from tts_pipeline.execution.dask import connect

    with connect(address) as remote:
        yield remote


def submit_bounded(
    remote: RemoteExecutor,
    fn: Callable[..., R],
    items: Iterable[T],
    args: Callable[[T], tuple[Any, ...]],
) -> Iterator[tuple[T, R]]:
    """Run ``fn(*args(item))`` for every item on ``remote``; yield (item, result) as each
    finishes. At most ``remote.window`` tasks are in flight. A task whose worker was lost
    (``remote.is_lost``) is submitted again up to ``remote.resubmits`` times; any other
    exception is raised from here, after cancelling the tasks not yet started."""
    pending = iter(items)
    running: dict[Future[R], tuple[T, int]] = {}

    def submit(item: T, tries: int) -> None:
        running[remote.executor.submit(fn, *args(item))] = (item, tries)

    try:
        for item in pending:
            submit(item, 0)
            if len(running) >= max(1, remote.window):
                break
        while running:
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                item, tries = running.pop(future)
                try:
                    result = future.result()
                except BaseException as exc:
                    if not remote.is_lost(exc):
                        raise
                    if tries >= remote.resubmits:
                        raise WorkerLostError(
                            f"{remote.name}: a task's worker was lost {tries + 1} times: {exc}"
                        ) from exc
                    log.warning("%s: worker lost (%s); submitting the task again", remote.name,
                                type(exc).__name__)  # fmt: skip
                    submit(item, tries + 1)
                    continue
                yield item, result
                nxt = next(pending, None)
                if nxt is not None:
                    submit(nxt, 0)
    finally:
        for future in running:  # an error or an abandoned generator: start nothing more
            future.cancel()
