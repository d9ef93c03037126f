"""Paged feeds at 1k, 10k and 100k episodes: what one more episode costs, and what serve costs.

For each size, a synthetic library (real ``episodes`` rows inserted in bulk, a real short MP3,
a script and some side files per episode: tests/feedkit.py) is published once; then, in a
fresh subprocess each time, the feeds are published again after one episode is added, and
the publish's wall time and the subprocess's peak memory (``VmHWM``: the interpreter, imports
and the publish; not ``ru_maxrss``, which Linux carries over from the parent when a vforked
child execs) are printed, the median of three. Then the size of each feed's
subscription document and its number of pages. At the largest size, ``tts-pipeline serve``
runs in a subprocess and the page, a search, each subscription document and an archive page
are fetched (first and cached), with the server's peak memory (VmHWM). One line per figure.

    .venv/bin/python benchmarks/feed_scale.py [--sizes 1000 10000 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from feedkit import add_episodes  # noqa: E402

from tts_pipeline.library.layout import Library  # noqa: E402

BASE = "https://podcast.example.org/nl/"
GOALS = {"publish_s": 0.2, "publish_mb": 120, "ratio": 1.2, "page_bytes": 1_000_000}

# Run in a subprocess once the episode is added: publish, report seconds and peak memory.
ONE_MORE = """
import json, sys, time
from pathlib import Path
from tts_pipeline.config import parse_config
from tts_pipeline.library.feed_writer import publish_feeds
from tts_pipeline.library.layout import Library
library = Library(Path({root!r}))
config = parse_config({{"base_url": {base!r}}})
start = time.perf_counter()
publish_feeds(library, config)
seconds = time.perf_counter() - start
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak_mb = int(status.split()[0]) / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak_mb}}))
"""


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


def one_more(root: Path, number: int) -> dict[str, float]:
    add_episodes(Library(root), number, 1)
    return publish_in_subprocess(root)


def publish_in_subprocess(root: Path) -> dict[str, float]:
    code = ONE_MORE.format(root=str(root), base=BASE)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def build(root: Path, size: int) -> float:
    start = time.perf_counter()
    library = Library(root)
    step = 10_000
    for first in range(0, size, step):
        add_episodes(library, first, min(step, size - first))
    built = time.perf_counter() - start
    print(f"{size} episodes: library built (rows and files) in {built:.1f} s")
    first = publish_in_subprocess(root)
    print(
        f"{size} episodes: first publish (every item and page) {first['seconds']:.1f} s,"
        f" peak memory {first['peak_mb']:.0f} MB"
    )
    return built


def _next_number(root: Path) -> int:
    with sqlite3.connect(root / "state.sqlite3") as conn:
        (newest,) = conn.execute("SELECT max(id) FROM episodes").fetchone()
    return int(newest.removeprefix("ep")) + 1


def measure_publishes(roots: dict[int, Path], rounds: int) -> dict[int, tuple[float, float]]:
    """Medians over ``rounds`` of one more episode's publish at each size, the sizes taken in
    turn in every round (so a busy moment on the machine falls on all of them alike)."""
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in roots}
    for _ in range(rounds):
        for size, root in roots.items():
            runs[size].append(one_more(root, _next_number(root)))
    results = {}
    for size, found in runs.items():
        seconds = statistics.median(r["seconds"] for r in found)
        peak = statistics.median(r["peak_mb"] for r in found)
        print(f"{size} episodes: publish after one new episode {seconds:.3f} s (median, {rounds})")
        print(f"{size} episodes: publish peak memory {peak:.0f} MB (VmHWM of the process)")
        results[size] = (seconds, peak)
    return results


def measure_pages(root: Path, size: int) -> int:
    largest = 0
    subscriptions = [root / "feed.xml", *sorted((root / "feeds").glob("*.xml"))]
    for path in subscriptions:
        relative = path.relative_to(root).as_posix()
        pages = len(list(path.with_suffix("").glob("page-*.xml")))
        data = path.read_bytes()
        largest = max(largest, len(data))
        items = data.count(b"<item>")
        print(
            f"{size} episodes: {relative} subscription {len(data)} bytes, {items} episodes,"
            f" {pages} archive pages"
        )
    return largest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _fetch(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as reply:
        body = reply.read()
    return time.perf_counter() - start, len(body)


def measure_serve(root: Path, size: int) -> None:
    port = _free_port()
    config = root / "serve.toml"
    config.write_text(f'library = "{root}"\nbase_url = "{BASE}"\n', encoding="utf-8")
    cmd = [sys.executable, "-m", "tts_pipeline", "serve", "--config", str(config)]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.PIPE, env=_env())
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # "Serving ..." once listening
        url = f"http://127.0.0.1:{port}/"
        paths = ["", "?q=title+of+ordinary", "?start=5000", "feed.xml", "feeds/AF.xml"]
        paths += ["feeds/LW.xml", "feeds/EA.xml", "feed/page-000001.xml"]
        for path in paths:
            first, length = _fetch(url + path)
            again, _ = _fetch(url + path)
            print(
                f"{size} episodes: serve /{path} {first:.3f} s first, {again:.3f} s again"
                f" ({length} bytes)"
            )
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        print(f"{size} episodes: serve peak memory {int(peak.split()[1]) / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument(
        "--keep", type=Path, help="build the libraries here and keep them (reused when there)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="publishes measured per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feed-scale-") as scratch:
        where = args.keep or Path(scratch)
        roots = {size: where / f"lib-{size}" for size in args.sizes}
        for size, root in roots.items():
            if (root / "state.sqlite3").is_file():
                print(f"{size} episodes: reusing the library in {root}")
            else:
                build(root, size)
        published = measure_publishes(roots, args.rounds)
        largest = {size: measure_pages(root, size) for size, root in roots.items()}
        smallest, biggest = min(roots), max(roots)
        seconds, peak = published[biggest]
        ratio = seconds / published[smallest][0]
        print(f"publish time {biggest} vs {smallest} episodes: {ratio:.2f}x")
        print(
            f"goals: publish <= {GOALS['publish_s']} s: {seconds <= GOALS['publish_s']};"
            f" <= {GOALS['publish_mb']} MB: {peak <= GOALS['publish_mb']};"
            f" within {GOALS['ratio']}x: {ratio <= GOALS['ratio']};"
            f" subscriptions <= 1 MB: {max(largest.values()) <= GOALS['page_bytes']}"
        )
        measure_serve(roots[biggest], biggest)


if __name__ == "__main__":
    main()
