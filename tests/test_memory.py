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


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's allocator only",
)
def test_large_blocks_are_returned_once_freed() -> None:
    # Without glibc's tunables from the environment (Dask sets MALLOC_TRIM_THRESHOLD_ when
    # imported, which also fixes the threshold): the child starts with the allocator's defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}

    def retained_kib(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, mode],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return int(out.stdout)

    dynamic, fixed = retained_kib("dynamic"), retained_kib("fixed")
    assert dynamic >= 1024, dynamic  # what a long post did to the heap before
    assert fixed <= 256, fixed
