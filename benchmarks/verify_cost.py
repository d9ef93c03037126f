"""What verification adds: the same long post converted without and with ``--verify``.

Serves the AGI Ruin post (about 9,000 words) from ``../shared/fixtures`` on a local forum
server, or the bundled sample repeated to a similar length when the fixture is absent, and runs
the real CLI twice, each in a fresh library (nothing cached), side by side in one run. Prints
the wall time of each, the difference per hour of audio, and from the verifier's report how
long transcription took and how long the pipeline waited for it after synthesis ended.

    .venv/bin/python benchmarks/verify_cost.py [--voice NAME] [--jobs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from convert_post import write_bench_config

from tts_pipeline.sample import sample_post_result
from tts_pipeline.sample.forum_server import ForumServer

FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/forummagnum/post_agi-ruin_graphql.json"
)


def load_post(repeat: int) -> tuple[dict[str, Any], str]:
    if FIXTURE.is_file() and repeat == 0:
        post: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))["data"]["post"][
            "result"
        ]
        return post, "AGI Ruin fixture"
    post = sample_post_result()
    post["htmlBody"] = post["htmlBody"] * max(repeat, 1)
    return post, f"bundled sample x{max(repeat, 1)}"


def convert(url: str, config: Path, library: Path, args: argparse.Namespace, *extra: str) -> Any:
    cmd = [sys.executable, "-m", "tts_pipeline", "convert", url, "--json", "--quiet"]
    cmd += ["--config", str(config), "--library", str(library), "--voice", args.voice]
    cmd += ["--jobs", str(args.jobs), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"convert failed: {result.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(result.stdout), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="default")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=0, help="use the sample repeated N times")
    args = parser.parse_args()
    post, source = load_post(args.repeat)
    with ForumServer({post["_id"]: post}) as server, tempfile.TemporaryDirectory() as tmp:
        config = write_bench_config(Path(tmp), server)
        url = f"{server.base_url}/posts/{post['_id']}"
        print(f"{source}, voice {args.voice}, jobs {args.jobs}, load {os.getloadavg()[0]:.1f}")
        plain, plain_wall, plain_cpu = convert(url, config, Path(tmp) / "a", args, "--no-verify")
        checked, wall, cpu = convert(url, config, Path(tmp) / "b", args, "--verify")
        report = json.loads(Path(checked["verify"]["report"]).read_text(encoding="utf-8"))
    hours = plain["duration_s"] / 3600
    print(f"audio: {plain['duration_s'] / 60:.1f} min")
    print(f"convert without verify: {plain_wall:.1f} s wall, {plain_cpu:.1f} s CPU")
    print(f"convert with verify:    {wall:.1f} s wall, {cpu:.1f} s CPU")
    print(
        f"verification adds {wall - plain_wall:.1f} s wall ({(wall - plain_wall) / hours:.0f} s"
        f" per hour of audio), {cpu - plain_cpu:.1f} s CPU ({(cpu - plain_cpu) / hours:.0f} s"
        " per hour of audio)"
    )
    print(
        f"transcription {report['transcribe_s']:.1f} s summed over chunks; waited"
        f" {report['wait_after_synthesis_s']:.1f} s after synthesis ended"
    )
    print(
        f"episode WER {report['wer']:.3f}; {len(report['retried'])} chunks re-spoken,"
        f" {len(report['flagged'])} flagged"
    )


if __name__ == "__main__":
    main()
