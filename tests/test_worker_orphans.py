"""A SIGKILLed CLI leaves no synthesis workers behind: the local pool's workers ask Linux
(PR_SET_PDEATHSIG) to end them with their parent. Real spawn pool, real espeak-ng."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")

# Many chunks, so the pool is still busy when the parent is killed.
_PARENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tts_pipeline.models import Chunk
    from tts_pipeline.synth.runner import synthesize_chunks
    from tts_pipeline.synth.voices import load_voice

    chunks = [Chunk(i, f"Sentence number {i} keeps the workers busy for a while.", 0, 0)
              for i in range(400)]
    synthesize_chunks(chunks, load_voice("default"), Path(sys.argv[1]), jobs=2)
    """
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has already died


def test_workers_die_with_a_sigkilled_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path / "cache")])
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 30
        # Two pool workers (the resource tracker is a spawn child too, hence >= 2), and a
        # first chunk in the cache: the workers are initialised and busy.
        while time.monotonic() < deadline:
            workers = _children(parent.pid)
            if len(workers) >= 2 and any((tmp_path / "cache").rglob("*.wav")):
                break
            time.sleep(0.05)
        assert len(workers) >= 2, "the pool never started"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.05)
        assert [w for w in workers if _alive(w)] == []
    finally:
        if parent.poll() is None:
            parent.kill()
        for worker in workers:  # never leave one behind, whatever the outcome
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)
