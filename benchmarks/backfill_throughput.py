"""Backfill throughput: the local process pool against a 2-worker Dask LocalCluster on this
machine, in one run, on the same posts, each in a fresh library; and Dask's coordination cost.

Serves N short posts (a few paragraphs each) from a local forum server, backfills them once
through the local pool and once through ``LocalCluster(n_workers=2, threads_per_worker=1)``,
and prints posts per minute for each: the local pool as a single ``convert`` uses it (started
per post) and as batches use it (kept for all posts); the cluster speaking chunks (this process
packages) and making whole posts (the workers package, as ``backfill`` does). Then the
difference per post against the local batch pool, and the round trip of a no-op task through
the cluster's executor (submission, scheduling, result back): the coordination overhead.

    .venv/bin/python benchmarks/backfill_throughput.py [--posts 8] [--voice default] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

from tts_pipeline.batch.backfill import BackfillOptions, backfill
from tts_pipeline.config import parse_config
from tts_pipeline.execution import open_executor
from tts_pipeline.library.layout import Library
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.watch.runner import Watcher

PARAGRAPH = (
    "Backfilling a forum means narrating many posts, one after another. Each paragraph here is"
    " spoken as a chunk or two, so a post takes a few seconds of synthesis and packaging."
)


def make_posts(count: int) -> dict[str, dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    posts = {}
    for i in range(count):
        post_id = f"Bench{i:02d}"
        posted = (now - dt.timedelta(hours=1 + i)).isoformat(timespec="milliseconds")
        posts[post_id] = {
            "_id": post_id,
            "slug": post_id.lower(),
            "title": f"Benchmark post {i}",
            "pageUrl": f"https://forum.test/posts/{post_id}",
            "postedAt": posted.replace("+00:00", "Z"),
            "baseScore": 50,
            "wordCount": 150,
            "af": True,
            "isEvent": False,
            "htmlBody": "".join(f"<p>Post {i}, part {n}. {PARAGRAPH}</p>" for n in range(4)),
            "contents": {"html": "", "wordCount": 150},
            "user": {"displayName": "Bench Author", "username": "bench"},
            "coauthors": [],
            "tags": [],
            "hideAuthor": False,
        }
    return posts


def run(
    server: ForumServer,
    spec: str,
    voice_name: str,
    jobs: int,
    batch_jobs: int = 0,
    whole_posts: bool = True,
) -> tuple[float, int]:
    config = parse_config(
        {
            "request_interval_s": 0.0,
            "jobs": jobs,
            "forums": {
                "af": {
                    "name": "The AI Alignment Forum",
                    "prefix": "AF",
                    "hosts": [server.host],
                    "graphql": server.graphql_url,
                }
            },
            "watch": {"forums": ["af"], "min_words": 5},
        }
    )
    with (
        tempfile.TemporaryDirectory(prefix="backfill-bench-") as tmp,
        open_executor(spec, batch_jobs=batch_jobs) as remote,
    ):
        if remote is not None:
            remote = replace(remote, whole_posts=remote.whole_posts and whole_posts)
        watcher = Watcher(
            config, Library(Path(tmp)), voice=load_voice(voice_name), jobs=jobs, executor=remote
        )
        started = time.perf_counter()
        report = backfill(watcher, BackfillOptions(forum="af"))
        wall = time.perf_counter() - started
        watcher.close()
    if not report.ok:
        sys.exit(f"backfill through {spec} failed: {report.run.failed or report.run.gave_up}")
    return wall, len(report.run.converted)


def noop(value: int) -> int:
    return value


def round_trip_ms(address: str, tasks: int = 200) -> float:
    """Median wall time of one no-op task, submitted and awaited one at a time."""
    with Client(address) as client:
        executor = client.get_executor(pure=False)
        times = []
        for i in range(tasks):
            started = time.perf_counter()
            executor.submit(noop, i).result()
            times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=8)
    parser.add_argument("--voice", default="default", help="voice profile (e.g. joe for Piper)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of the four set-ups, interleaved (best kept)"
    )
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    labels = {
        "per-post": "local pool started per post (a single convert)",
        "batch": "local pool kept for the batch (2 spawn workers)",
        "chunks": "Dask LocalCluster, chunks on the workers",
        "whole": "Dask LocalCluster, whole posts on the workers",
    }
    walls: dict[str, list[float]] = {key: [] for key in labels}
    with ForumServer(make_posts(args.posts)) as server:
        started = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        start_s = time.perf_counter() - started
        address = cluster.scheduler_address
        try:
            # Interleaved rounds, best of each: other load on the machine hits every set-up.
            for _ in range(args.rounds):
                walls["per-post"].append(run(server, "local", args.voice, jobs=2)[0])
                walls["batch"].append(run(server, "local", args.voice, jobs=2, batch_jobs=2)[0])
                walls["chunks"].append(
                    run(server, address, args.voice, jobs=2, whole_posts=False)[0]
                )
                walls["whole"].append(run(server, address, args.voice, jobs=2)[0])
            trip = round_trip_ms(address)
        finally:
            cluster.close()
    best = {key: min(values) for key, values in walls.items()}
    print(f"posts: {args.posts} (about 150 words each), voice={args.voice}, 2 cores,"
          f" best of {args.rounds} interleaved rounds")  # fmt: skip
    for key, label in labels.items():
        rounds = ", ".join(f"{w:.1f}" for w in walls[key])
        print(f"{label}: {60 * args.posts / best[key]:.1f} posts/min"
              f" ({best[key]:.1f} s; rounds {rounds} s)")  # fmt: skip
    print(f"(cluster start {start_s:.1f} s, not counted)")
    for key in ("chunks", "whole"):
        overhead_ms = (best[key] - best["batch"]) / args.posts * 1000
        print(f"{labels[key]} minus local batch pool, per post: {overhead_ms:+.0f} ms")
    print(f"no-op task round trip through the Dask executor: {trip:.2f} ms (median of 200)")


if __name__ == "__main__":
    main()
