"""Freed audio buffers go back to the system instead of staying in the heap."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

# Frees buffers of 1-4 MB, each followed by a small object that stays: a heap cannot shrink
# past that object, so only buffers in their own mappings are really given back.
SCRIPT = """
import sys
from tts_pipeline.memory import map_large_blocks

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

if sys.argv[1] == "fixed":
    map_large_blocks()
pinned = []
big = bytearray(8 << 20)
del big  # a freed 8 MB block: glibc's own threshold now rises to serve such sizes from the heap
before = rss_kib()
for size in range(1 << 20, 4 << 20, 1 << 18):
    buf = bytearray(size)
    pinned.append(bytearray(64))
    del buf
print(rss_kib() - before)
"""


# Measures a minute of noise the way a synthesis worker measures each chunk it writes.
FAULTS = """
import resource, sys
import numpy as np
from tts_pipeline.memory import map_large_blocks
from tts_pipeline.audio import chunkstats

map_large_blocks()
rate = 22050
pcm = (np.random.default_rng(1).standard_normal(rate * 60) * 3000).astype("<i2")
chunkstats.measure_pcm(pcm[:rate].tobytes(), rate)  # numpy's first-use allocations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
chunkstats._blocks(pcm, rate)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's allocator only",
)


def _child(script: str, *args: str) -> int:
    # Without glibc's tunables from the environment (Dask sets MALLOC_TRIM_THRESHOLD_ when
    # imported, which also fixes the threshold): the child starts with the allocator's defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, env=env
    )
    return int(out.stdout)


@glibc_only
def test_large_blocks_are_returned_once_freed() -> None:
    dynamic, fixed = _child(SCRIPT, "dynamic"), _child(SCRIPT, "fixed")
    assert dynamic >= 1024, dynamic  # what a long post did to the heap before
    assert fixed <= 256, fixed


@glibc_only
def test_loudness_blocks_reuse_the_heap_instead_of_faulting_pages_in() -> None:
    # With the FFT buffers in fresh mappings, or the heap trimmed after every free, a minute
    # of audio cost ~10,000 page faults (half the measuring time); reused, under a hundred.
    assert _child(FAULTS) < 1000
