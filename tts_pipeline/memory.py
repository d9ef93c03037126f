"""Keeping the heap from holding freed memory (glibc; elsewhere these do nothing).

Audio work allocates and frees buffers of a few hundred KB to a few MB many thousands of
times. glibc serves a freed block of that size from the heap next time (its mmap threshold
rises to the largest block freed), and a heap fragmented by long-lived small objects cannot
give those pages back: a process's RSS then grows with the length of the post. A fixed
threshold keeps every block over 128 KiB in its own mapping, returned to the system when
freed; ``return_freed_memory`` gives back what the heap can release.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # <malloc.h>
_LARGE = 128 * 1024  # glibc's own starting threshold, kept fixed


@functools.cache
def _libc_function(name: str) -> Callable[..., int] | None:
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc
        return None
    return function


def map_large_blocks() -> None:
    """Serve blocks over 128 KiB from their own mappings for the rest of this process."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None and not mallopt(_M_MMAP_THRESHOLD, _LARGE):
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")


def return_freed_memory() -> None:
    """Give the heap's freed pages back to the system."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
