"""Intelligibility of a dialogue read by its cast against the same dialogue read by one voice.

Speaks the conversations of ``tests/golden`` (a three-person ForumMagnum dialogue and a
bold-name transcript) twice through the real stages: with the cast (each participant in the
voice the default cast gives them, names said by the narrator) and with the cast disabled
(the narrator reads everything, "Alice says: ..."). Every chunk is transcribed by a Whisper
model and scored against the text it was given; prints one line per reading with the word
error rate over all chunks and over the participants' turns alone, then the cast's rate per
voice (what ``--verify`` would score for each voice's turns).

    .venv/bin/python benchmarks/dialogue_intelligibility.py --model PATH_OR_NAME [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.config import Config
from tts_pipeline.config.cast import CastOptions
from tts_pipeline.models import Chunk, ChunkAudio, Post
from tts_pipeline.pipeline import plan_post
from tts_pipeline.synth.cast import speak_cast
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.verify.check import ChunkCheck, check_chunk
from tts_pipeline.verify.whisper import Transcriber

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"
DIALOGUES = ("dialogue_three_voices", "transcript_bold_names")


def dialogue_post(name: str) -> Post:
    return Post(
        id=name,
        title=name.replace("_", " ").title(),
        authors=("Ada Example",),
        published=datetime(2024, 1, 1, tzinfo=UTC),
        url=f"https://forum.example/posts/{name}",
        html=(GOLDEN / f"{name}.html").read_text(encoding="utf-8"),
        site_name="The Sample Forum",
        prefix="SAMPLE",
    )


def wer(checks: list[ChunkCheck]) -> tuple[float, int]:
    words = sum(c.score.words for c in checks)
    return sum(c.score.errors for c in checks) / max(words, 1), words


def read(
    config: Config, cache: Path, model: Transcriber, jobs: int
) -> list[tuple[Chunk, ChunkCheck]]:
    """Every chunk of every dialogue, spoken as ``config`` casts it, with what was heard."""
    narrator = load_voice(config.voice)
    heard: list[tuple[Chunk, ChunkCheck]] = []
    for name in DIALOGUES:
        _, chunks = plan_post(dialogue_post(name), config, narrator)
        voices = {v: load_voice(v) for v in {c.voice for c in chunks if c.voice}}
        audio: list[ChunkAudio] = speak_cast(chunks, narrator, voices, cache, jobs=jobs)
        with ThreadPoolExecutor(jobs) as pool:
            checks = list(pool.map(lambda a: check_chunk(model, a), audio))
        heard += list(zip(chunks, checks, strict=True))
    return heard


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", help="Whisper model name or folder")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    model = Transcriber(args.model, threads=1, workers=args.jobs)
    print(f"model {args.model}, jobs {args.jobs}, load average {os.getloadavg()[0]:.1f}")
    cast = Config()
    one_voice = replace(cast, cast=CastOptions(enabled=False))
    with tempfile.TemporaryDirectory() as tmp:
        for label, config in (("cast", cast), ("one voice", one_voice)):
            start = time.perf_counter()
            heard = read(config, Path(tmp), model, args.jobs)
            everything, words = wer([check for _, check in heard])
            turns, turn_words = wer([check for chunk, check in heard if chunk.speaker])
            print(
                f"{label:<9} WER {everything:.3f} over {words} words;"
                f" turns {turns:.3f} over {turn_words} words"
                f" ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            if config.cast.enabled:
                by_voice: dict[str, list[ChunkCheck]] = defaultdict(list)
                for chunk, check in heard:
                    by_voice[chunk.voice or config.voice].append(check)
                for voice, checks in sorted(by_voice.items()):
                    rate, count = wer(checks)
                    print(f"  voice {voice:<10} WER {rate:.3f} over {count} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
