"""How close the WebVTT cues land to where each sentence really starts.

Paragraphs of the AGI Ruin post from ``../shared/fixtures`` (the bundled sample post when the
fixture is absent) are packed into engine-sized chunks and spoken by a real voice. Truth for
sentence k of a chunk: the same voice speaking the chunk's first k sentences alone, which
lasts until sentence k+1 begins (its pause included). Each chunk's pauses are then found
(its statistics, ``chunkstats``) and its cues placed exactly as the package stage does.
Prints one line per figure.

    .venv/bin/python benchmarks/caption_alignment.py [--voice NAME] [--paragraphs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from tts_pipeline.audio.chunkstats import chunk_stats
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.models import Chunk
from tts_pipeline.package.join import plan_timeline
from tts_pipeline.package.transcript import build_cues
from tts_pipeline.sample import sample_post_result
from tts_pipeline.sentences import split_sentences
from tts_pipeline.synth.chunking import pack
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice

FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/forummagnum/post_agi-ruin_graphql.json"
)


def paragraphs(count: int) -> tuple[str, list[str]]:
    if FIXTURE.is_file():
        post = json.loads(FIXTURE.read_text(encoding="utf-8"))["data"]["post"]["result"]
        source = "AGI Ruin (fixture)"
    else:
        post, source = sample_post_result(), "the bundled sample post"
    texts = [s.text for sec in html_to_sections(post["htmlBody"]) for s in sec.segments]
    return source, [t for t in texts if len(split_sentences(t)) >= 3][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="default", help="voice profile (default: default)")
    parser.add_argument("--paragraphs", type=int, default=15, help="how many (default 15)")
    args = parser.parse_args()
    voice = load_voice(args.voice)
    max_chars = get_engine(voice.engine).max_chars
    source, texts = paragraphs(args.paragraphs)
    chunk_texts = [pack(split_sentences(t), max_chars)[0] for t in texts]

    plan: list[tuple[int, list[str]]] = []  # (index of the whole chunk, its sentences)
    spoken: list[str] = []
    for text in chunk_texts:
        sentences = split_sentences(text)
        plan.append((len(spoken), sentences))
        spoken.append(text)
        spoken.extend(" ".join(sentences[:k]) for k in range(1, len(sentences)))
    chunks = [Chunk(n, t, 0, 0) for n, t in enumerate(spoken)]

    errors: list[float] = []
    placing_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        audio = synthesize_chunks(chunks, voice, Path(tmp) / "cache", jobs=2)
        for first, sentences in plan:
            whole = audio[first]
            started = time.perf_counter()
            timeline = plan_timeline([whole])
            rate = whole.sample_rate
            stats = chunk_stats(whole.wav, whole.frames)
            pauses = [(a / rate, b / rate) for a, b in stats.silences]
            cues = build_cues([whole], timeline, pauses)
            placing_s += time.perf_counter() - started
            for k, sentence in enumerate(sentences[1:], 1):
                cue = next(c for c in cues if sentence.startswith(c.text))
                errors.append(
                    abs(cue.start_frame / whole.sample_rate - audio[first + k].duration_s)
                )

    audio_s = sum(audio[first].duration_s for first, _ in plan)
    print(f"source: {source}; voice {voice.name} ({voice.engine}, chunks <= {max_chars} chars)")
    print(f"chunks: {len(plan)}, {audio_s:.0f} s of speech, {len(errors)} sentence starts")
    for limit in (0.15, 0.5):
        within = sum(e <= limit for e in errors)
        print(f"within {limit:.2f} s of truth: {within}/{len(errors)}")
    print(f"median error: {statistics.median(errors):.3f} s; worst: {max(errors):.2f} s")
    speed = audio_s / placing_s
    print(f"join + pause detection + placement: {placing_s:.2f} s ({speed:.0f}x real time)")


if __name__ == "__main__":
    main()
