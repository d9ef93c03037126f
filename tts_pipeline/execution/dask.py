"""The one wrapper around Dask distributed (the ``dask`` extra): connect to a scheduler and
hand out its ``concurrent.futures.Executor``.

``pure=False`` is essential: Dask's default keys a task by its arguments, so two identical
calls would be merged and run once. Tasks must be importable functions (workers import
``tts_pipeline``), never closures or code typed on stdin.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import logging
from collections.abc import Iterator
from typing import Any

from tts_pipeline.errors import ClusterError, ConfigError
from tts_pipeline.execution.seam import ExecutionBackend

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0


def _lost_types() -> tuple[type[BaseException], ...]:
    comm: Any = importlib.import_module("distributed.comm.core")
    return (
        _distributed().KilledWorker,
        comm.CommClosedError,
        concurrent.futures.CancelledError,
        asyncio.CancelledError,
    )


@contextlib.contextmanager
def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[ExecutionBackend]:
    """An ExecutionBackend on the scheduler at ``address`` (``tcp://HOST:PORT``), while inside."""
    try:
        distributed = _distributed()
    except ImportError:
        raise ConfigError(
            "--executor dask://... needs the dask extra: pip install 'tts-pipeline[dask]'"
        ) from None
    try:
        client = distributed.Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        threads = _wait_for_threads(client, address, timeout_s)
        lost = _lost_types()
        remote = ExecutionBackend(
            executor=client.get_executor(pure=False),
            window=2 * threads,
            name=f"dask {address}",
            is_lost=lambda exc: isinstance(exc, lost),
            whole_posts=True,
        )
        log.info("using Dask at %s: %d worker threads", address, threads)
        yield remote
    finally:
        client.close()


def _distributed() -> Any:
    """The library, untyped (it ships no annotations for most of its API)."""
    return importlib.import_module("distributed")


def _wait_for_threads(client: Any, address: str, timeout_s: float) -> int:
    """The worker threads the cluster has, waiting up to ``timeout_s`` for a first worker."""
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"the Dask scheduler at {address} has no workers (start some with"
            f" `dask worker {address} --nworkers N --nthreads 1`): {exc}"
        ) from None
    nthreads = client.nthreads()
    return max(1, sum(int(n) for n in nthreads.values()))
