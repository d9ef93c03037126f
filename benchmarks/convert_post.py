"""Wall time, peak memory and audio length of converting one long post end to end.

Serves the AGI Ruin post (about 9,000 words) from ``../shared/fixtures`` on a local forum
server, or the bundled sample repeated to a similar length when the fixture is absent, and
runs the real CLI on it in a fresh library. Prints one line per figure.

    .venv/bin/python benchmarks/convert_post.py [--jobs N] [--voice NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tts_pipeline.sample import sample_post_result
from tts_pipeline.sample.forum_server import ForumServer

FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/forummagnum/post_agi-ruin_graphql.json"
)


def load_post() -> dict[str, Any]:
    if FIXTURE.is_file():
        post: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))["data"]["post"][
            "result"
        ]
        return post
    post = sample_post_result()
    post["htmlBody"] = post["htmlBody"] * 45  # about 9,000 words, like the fixture
    return post


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(entry))
        rss[int(entry)] = int(statm[1]) * page
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_cli(
    cmd: list[str], measure: Callable[[int], tuple[int, ...]] = lambda pid: (tree_rss_bytes(pid),)
) -> tuple[float, tuple[int, ...], dict[str, Any]]:
    """Wall time, the peak of each of ``measure``'s figures for the process tree (by default
    its summed RSS), and the CLI's JSON answer."""
    peaks: tuple[int, ...] = ()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peaks
        while not done.is_set():
            now = measure(proc.pid)
            peaks = tuple(map(max, peaks, now)) if peaks else now
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"conversion failed: {err.strip()}")
    answer: dict[str, Any] = json.loads(out)
    return wall, peaks, answer


def write_bench_config(folder: Path, server: ForumServer) -> Path:
    """A config whose forum profile points at the local server, written into ``folder``."""
    config = folder / "bench.toml"
    config.write_text(
        f'[forums.bench]\nname = "LessWrong"\nprefix = "LW"\nhosts = ["{server.host}"]\n'
        f'graphql = "{server.graphql_url}"\n',
        encoding="utf-8",
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--voice", default="default", help="voice profile (e.g. joe for Piper)")
    args = parser.parse_args()
    post = load_post()
    source = "AGI Ruin fixture" if FIXTURE.is_file() else "bundled sample x45"
    with ForumServer({post["_id"]: post}) as server, tempfile.TemporaryDirectory() as tmp:
        config = write_bench_config(Path(tmp), server)
        url = f"{server.base_url}/posts/{post['_id']}"
        cmd = [sys.executable, "-m", "tts_pipeline", "convert", url, "--json", "--quiet"]
        cmd += ["--config", str(config), "--library", str(Path(tmp) / "lib")]
        cmd += ["--jobs", str(args.jobs), "--voice", args.voice]
        wall, peaks, episode = run_cli(cmd)
        words = len(Path(episode["script"]).read_text(encoding="utf-8").split())
    print(f"source: {source}, {words} spoken words, jobs={args.jobs}, voice={args.voice}")
    print(f"wall time: {wall:.1f} s")
    print(f"peak RSS (process tree): {max(peaks, default=0) / 2**20:.0f} MiB")
    print(f"audio length: {episode['duration_s'] / 60:.1f} min ({episode['duration_s']:.0f} s)")
    print(f"real-time factor: {episode['duration_s'] / wall:.0f}x")
    print(f"loudness: {episode['loudness_lufs']} LUFS, true peak {episode['true_peak_dbtp']} dBTP")


if __name__ == "__main__":
    main()
