"""How close a conversion comes to its floor, and how it scales with the post's length.

Builds posts of about 10k, 50k and 100k words by repeating the AGI Ruin fixture's body (the
bundled sample when the fixture is absent), each repetition's paragraphs made distinct so
the chunk cache cannot dedupe them, and runs the real CLI on each in a fresh library.
Prints one line per figure:

1. floor (first size only): the pipeline's wall time against the engine alone (the spawn
   pool synthesising the same chunks on the same cores into an empty cache, its workers
   measuring each chunk's loudness as they write it, as in the pipeline) and ffmpeg alone
   (encoding the joined audio to the same MP3), measured right before it in the same run,
   and the CPU seconds of each (which a machine shared with other work changes less);
2. peak memory of the CLI's process tree at each size: RSS summed over the processes (the
   ffmpeg and Python libraries every process maps are counted once per process) and PSS
   summed (each shared page divided among the processes that map it: the memory used);
3. cold vs warm (unchanged, complete episode) vs one-paragraph-edited re-runs (first size);
4. seconds per 10k words at each size.

    .venv/bin/python benchmarks/pipeline_scaling.py [--words 10000 50000 100000] [--jobs N]
        [--repeat N]

A machine shared with other work moves single timings by several percent: ``--repeat``
alternates floor and pipeline N times and prints every round and the median ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from convert_post import FIXTURE, load_post
from convert_post import run_cli as measured_run

from tts_pipeline.config import Config
from tts_pipeline.models import Post
from tts_pipeline.package.ffmpeg import encode_mp3
from tts_pipeline.package.join import join_chunks
from tts_pipeline.pipeline import plan_post
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice

_TAG = re.compile(r"<[^>]+>")


def words_of(html: str) -> int:
    return len(_TAG.sub(" ", html).split())


def long_body(body: str, words: int) -> str:
    """Paragraphs of ``body``, cycled until ``words`` words, each cycle's made distinct."""
    paragraphs = [p + "</p>" for p in body.split("</p>") if p.strip()]
    out: list[str] = []
    total = cycle = 0
    while total < words:
        cycle += 1
        for paragraph in paragraphs:
            out.append(paragraph.replace("<p>", f"<p>Part {cycle}. ", 1))
            total += words_of(paragraph) + 2
            if total >= words:
                break
    return "".join(out)


def tree_memory(root: int) -> tuple[int, int]:
    """RSS and PSS (bytes) of a process and all its descendants, summed (Linux /proc).

    A child caught between fork and exec (Python starts ffmpeg with vfork) still runs in
    its parent's memory under its parent's command line: the same memory, which would be
    counted twice for that instant. Such a child is skipped (its own children cannot exist
    before it has exec'd).
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(stat[1]), []).append(int(entry))
    rss = pss = 0
    stack: list[tuple[int, bytes]] = [(root, b"")]
    while stack:
        pid, parent_cmdline = stack.pop()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        if cmdline == parent_cmdline:
            continue
        stack.extend((child, cmdline) for child in children.get(pid, []))
        for line in rollup.splitlines():
            name, _, value = line.partition(":")
            if name in ("Rss", "Pss"):
                kib = int(value.split()[0]) * 1024
                rss, pss = (rss + kib, pss) if name == "Rss" else (rss, pss + kib)
    return rss, pss


def run_cli(cmd: list[str]) -> tuple[float, int, int, dict[str, Any]]:
    """Wall time, peak summed RSS and PSS of the process tree, and the CLI's JSON answer."""
    wall, peaks, answer = measured_run(cmd, tree_memory)
    peak_rss, peak_pss = peaks or (0, 0)
    return wall, peak_rss, peak_pss, answer


def cpu_seconds() -> float:
    """CPU time used so far by this process and its waited-for descendants."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def floor(result: dict[str, Any], jobs: int, tmp: Path) -> tuple[float, float, float, float]:
    """Wall and CPU seconds for the engine alone on the post's chunks, then for ffmpeg alone
    encoding their audio: (engine wall, encoder wall, engine CPU, encoder CPU)."""
    post = Post(
        id=result["_id"],
        title=result["title"],
        authors=("Author",),
        published=datetime(2022, 6, 5, tzinfo=UTC),
        url="https://www.lesswrong.com/posts/x",
        html=result["htmlBody"],
        site_name="LessWrong",
        prefix="LW",
    )
    voice = load_voice("default")
    _, chunks = plan_post(post, Config(), voice)
    shutil.rmtree(tmp / "engine-cache", ignore_errors=True)  # the engine speaks every chunk
    started, cpu = time.perf_counter(), cpu_seconds()
    audio = synthesize_chunks(chunks, voice, tmp / "engine-cache", jobs=jobs)
    engine_s, engine_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    joined = tmp / "joined.wav"
    join_chunks(audio, joined)
    started, cpu = time.perf_counter(), cpu_seconds()
    encode_mp3(joined, tmp / "encoded.mp3", bitrate_kbps=64, sample_rate=44100)
    return engine_s, time.perf_counter() - started, engine_cpu, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--repeat", type=lambda v: max(1, int(v)), default=1, metavar="N",
        help="measure the floor and a cold run N times, alternately (first size only)",
    )  # fmt: skip
    args = parser.parse_args()
    base = load_post()
    source = "AGI Ruin fixture" if FIXTURE.is_file() else "bundled sample"
    print(f"source: {source} body repeated; jobs={args.jobs}; cores={os.cpu_count()}")
    for n, words in enumerate(args.words):
        post = {
            **base,
            "_id": f"Scaling{words:010d}",
            "htmlBody": long_body(base["htmlBody"], words),
        }
        with ForumServer({post["_id"]: post}) as server, tempfile.TemporaryDirectory() as t:
            tmp = Path(t)
            config = tmp / "bench.toml"
            config.write_text(
                f'[forums.bench]\nname = "LessWrong"\nprefix = "LW"\nhosts = ["{server.host}"]\n'
                f'graphql = "{server.graphql_url}"\n',
                encoding="utf-8",
            )
            cmd = [sys.executable, "-m", "tts_pipeline", "convert", "--json", "--quiet"]
            cmd += [f"{server.base_url}/posts/{post['_id']}", "--config", str(config)]
            cmd += ["--library", str(tmp / "lib"), "--jobs", str(args.jobs)]
            rounds = []  # (pipeline wall, pipeline CPU, engine wall, encoder wall, their CPU)
            for _ in range(args.repeat if n == 0 else 1):
                shutil.rmtree(tmp / "lib", ignore_errors=True)  # each round a cold run
                if n == 0:  # the floor right before the pipeline: the same load on the machine
                    engine_s, encoder_s, engine_cpu, encoder_cpu = floor(post, args.jobs, tmp)
                cpu = cpu_seconds()
                cold, peak, pss, answer = run_cli(cmd)
                cold_cpu = cpu_seconds() - cpu
                if n == 0:
                    rounds.append((cold, cold_cpu, engine_s, encoder_s, engine_cpu, encoder_cpu))
            spoken = len(Path(answer["script"]).read_text(encoding="utf-8").split())
            audio_min = answer["duration_s"] / 60
            print(
                f"{words} words ({spoken} spoken, {audio_min:.0f} min audio): cold {cold:.1f} s,"
                f" peak RSS {peak / 2**20:.0f} MiB (PSS {pss / 2**20:.0f} MiB),"
                f" {cold / spoken * 10_000:.1f} s per 10k words,"
                f" {answer['loudness_lufs']} LUFS / {answer['true_peak_dbtp']} dBTP"
            )
            if n > 0:
                continue
            warm, _, _, again = run_cli(cmd)
            assert again["unchanged"], "the unchanged re-run was not recognised"
            # Edit one paragraph of the first copy: only its chunk(s) are spoken again.
            server.posts[post["_id"]] = {
                **post,
                "htmlBody": post["htmlBody"].replace("<p>Part 1. ", "<p>Part 1, edited. ", 1),
            }
            edited, _, _, _ = run_cli(cmd)
            print(
                f"{words} words re-runs: cold {cold:.1f} s, warm {warm:.2f} s"
                f" ({100 * warm / cold:.1f}% of cold), one paragraph edited {edited:.1f} s"
                f" ({100 * edited / cold:.1f}% of cold)"
            )
            for k, (wall, wall_cpu, engine, encoder, engine_c, encoder_c) in enumerate(rounds, 1):
                label = f"{words} words floor" + (f" (round {k})" if len(rounds) > 1 else "")
                print(
                    f"{label}: pipeline {wall:.1f} s, engine alone {engine:.1f} s,"
                    f" encoder alone {encoder:.1f} s;"
                    f" pipeline/max = {wall / max(engine, encoder):.2f},"
                    f" pipeline/sum = {wall / (engine + encoder):.2f};"
                    f" CPU time: pipeline {wall_cpu:.1f} s, engine alone {engine_c:.1f} s,"
                    f" encoder alone {encoder_c:.1f} s"
                )
            if len(rounds) > 1:
                ratios = sorted(r[0] / max(r[2], r[3]) for r in rounds)
                print(
                    f"{words} words pipeline/max over {len(rounds)} rounds: median"
                    f" {statistics.median(ratios):.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}"
                )


if __name__ == "__main__":
    main()
