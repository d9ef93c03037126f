"""Keeping the heap from holding freed memory (glibc; elsewhere these do nothing).

Audio work allocates and frees buffers of a few hundred KB to a few MB many thousands of
times. glibc serves a freed block of that size from the heap next time (its mmap threshold
rises to the largest block freed), and a heap fragmented by long-lived small objects cannot
give those pages back: a process's RSS then grows with the length of the post. A fixed
threshold keeps every block over 128 KiB in its own mapping, returned to the system when
freed; ``return_freed_memory`` gives back what the heap can release.

Fixing the threshold also fixes glibc's trim threshold at 128 KiB: every free that leaves
that much at the top of the heap hands it back, and the next allocation faults it in again.
Code that allocates and frees blocks just under 128 KiB in a loop (the chunk statistics'
FFT pieces) then spends most of its time in page faults, so the trim threshold is set to
1 MiB: at most that much freed heap is held back.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
_LARGE = 128 * 1024  # glibc's own starting threshold, kept fixed
_TRIM = 1024 * 1024


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc
        return None
    return function


def map_large_blocks() -> None:
    """Serve blocks over 128 KiB from their own mappings for the rest of this process, and
    keep up to 1 MiB of freed heap for reuse."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return
    for name, option, value in (
        ("M_MMAP_THRESHOLD", _M_MMAP_THRESHOLD, _LARGE),
        ("M_TRIM_THRESHOLD", _M_TRIM_THRESHOLD, _TRIM),
    ):
        if not mallopt(option, value):
            log.debug("mallopt(%s) refused", name)


def return_freed_memory() -> None:
    """Give the heap's freed pages back to the system."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
