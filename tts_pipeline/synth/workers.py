"""Synthesis worker processes: their set-up and their tear-down.

Every pool of synthesis workers (the per-post pool of ``synth.runner``, the batch pool of
``execution.local``) starts its processes with the ``spawn`` method and sets each one up here:
it dies with the process that started it (Linux), keeps its memory flat and prints nothing.
Tearing a pool down after a crash or an interrupt ends the workers ourselves, and a
resource tracker that a per-post pool started is stopped once nothing uses it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from multiprocessing.process import BaseProcess

from tts_pipeline.memory import map_large_blocks

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# What ProcessPoolExecutor.submit() raises when a worker death is breaking the pool while
# submit() spawns a new worker. CPython 3.11 may report it as any of these, depending on which
# of the pool's pipes its manager thread has closed by then: BrokenProcessPool, RuntimeError,
# OSError ("handle is closed"), or ValueError ("bad value(s) in fds_to_keep": the closed pipe's
# number was reused by the new worker's own pipe before the spawn).
POOL_BREAKING: tuple[type[Exception], ...] = (BrokenProcessPool, OSError, RuntimeError, ValueError)


def start_worker_process(parent: int) -> None:
    """Set up a synthesis worker process: it dies with ``parent`` (when given), keeps its
    memory flat, and prints nothing."""
    if parent:
        _die_with_parent(parent)
    map_large_blocks()  # audio buffers of every size, thousands of chunks: keep RSS flat
    # Workers share the parent's stdout; nothing they print may reach `--json` output
    # (pyttsx3 prints "Audio saved to ...", bug #11). fd 1 is redirected too, for C code.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this worker when the thread that spawned it dies: the pool's own
    clean-up never runs when the main process is SIGKILLed, and an orphaned worker would hold
    an engine (and a core) for good. Elsewhere (no prctl) the pool's clean-up is all there is."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError) as exc:
        log.debug("cannot set PR_SET_PDEATHSIG: %s", exc)
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def shut_down_pool(pool: ProcessPoolExecutor, *, orderly: bool) -> None:
    """Shut ``pool`` down: orderly, waiting for its running tasks; otherwise starting nothing
    more and ending its workers (``stop_workers``)."""
    # Private but long-standing; shutdown() drops it, so read it first.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=orderly, cancel_futures=True)
    if not orderly:
        stop_workers(processes)


def stop_workers(processes: list[BaseProcess]) -> None:
    """After a crash or an interrupt, end the remaining workers ourselves. CPython 3.11's own
    clean-up joins every worker, and one spawned while the pool was breaking is never sent
    its terminate: that run hung for good (seen when a worker was killed at start-up)."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=2)
        if process.is_alive():
            process.kill()
            process.join(timeout=2)


def tracker_running() -> bool:
    """Whether multiprocessing's resource tracker already runs. Where its private attributes
    are missing, say yes: a tracker that may be someone else's is never stopped."""
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    return tracker is None or getattr(tracker, "_fd", None) is not None


def stop_tracker() -> None:
    """Stop the resource tracker a pool started, now that nothing uses it.

    A spawn pool starts multiprocessing's tracker, a Python process (~12 MB) that unlinks the
    pool's semaphores should this process die. After an orderly shutdown it watches nothing,
    yet it would live as long as this process: through the packaging that follows, the
    longest and largest part of a conversion. Only a tracker the pool started is stopped
    (another user, such as a pool kept for a batch, may still rely on one that was already
    running: call this only when ``tracker_running()`` was False before the pool started).
    Its ``_stop`` is private; where it is missing the tracker simply stays. Each pool of this
    kind (one per post in ``watch``) thus starts a tracker of its own.
    """
    gc.collect()  # the pool's queues unregister their semaphores when collected
    stop = getattr(getattr(resource_tracker, "_resource_tracker", None), "_stop", None)
    if stop is not None:
        try:
            stop()
        except Exception as exc:  # a tracker that stays is harmless
            log.debug("cannot stop the resource tracker: %s", exc)
