"""Intelligibility per voice profile: what a speech recogniser hears, as a word error rate.

For every voice profile (``tts-pipeline voices``), speaks the bundled sample post and a list of
community terms through the real stages (clean with the pronunciation lexicon, plan chunks,
synthesise), transcribes each chunk with the verifier's Whisper model (tiny.en, bundled) and
prints one line per voice:

- ``sample``: word error rate over the sample post (intro and outro included);
- ``terms``: word error rate over one short sentence per term, and how many of the terms
  themselves were heard (as written, after Whisper's English normaliser);
- then, per voice, the words most often missed: input for the lexicon and the cleaner.

``--try TERM=RESPELLING,RESPELLING...`` (repeatable) instead says each candidate respelling
of a term (and the term as written, without the lexicon) in a few carrier sentences and prints
how often the recogniser heard the term as written: pick the respelling heard most often.
``--model`` takes a faster-whisper model name or a CTranslate2 model folder (e.g. a larger
Whisper model, to tell the voice's errors from the recogniser's; ``base`` is bundled with the
verify extra). ``--word-gap N`` (repeatable) scores each espeak-ng voice at each of these word
gaps side by side, in place of its own; ``--rate WPM`` (repeatable) each at these rates.
``--agi-ruin N`` also scores the first N chunks of the AGI Ruin fixture (-1: all of it).
``--decoding judge`` (the default) transcribes with faster-whisper's own defaults, as an outside
judge would; ``--decoding verifier`` with the greedy setting of ``convert --verify``, which
scores long chunks worse (see ``verify.whisper.JUDGE_DECODING``) and, on espeak-ng, scored
the same code's AGI Ruin 0.078 in one run and 0.105 in the next. Each
post's line gives its pace as a listener counts it: the words of the script as written ("don't"
and "AGI" one word each) over the whole audio, the engine's own silences and the pauses between
chunks included. ``--pauses SENTENCE,PARAGRAPH,HEADING`` (milliseconds, repeatable) adds the
pace each set of pauses would give: the chunks and their audio do not change with the pauses
(and each chunk is transcribed on its own), so only the pace is recomputed.

    .venv/bin/python benchmarks/intelligibility.py [--voice NAME ...] [--model tiny.en]
    .venv/bin/python benchmarks/intelligibility.py --voice default --try "EA=E-eigh,ee-ay"
    .venv/bin/python benchmarks/intelligibility.py --voice default --word-gap 0 --word-gap 5
    .venv/bin/python benchmarks/intelligibility.py --voice default --model base --agi-ruin 40 \
        --rate 160 --rate 175 --word-gap 3 --word-gap 5 --pauses 150,400,700
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.clean import Lexicon, clean, speaker
from tts_pipeline.config import Config
from tts_pipeline.errors import TTSPipelineError
from tts_pipeline.ingest import fetch_post
from tts_pipeline.models import Chunk, Pauses, Post, Script, VoiceProfile
from tts_pipeline.net.http import http_client
from tts_pipeline.sample import sample_forum
from tts_pipeline.synth.chunking import plan_chunks
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import WORD_GAP_ENGINES, list_voices
from tts_pipeline.verify.check import ChunkCheck, check_chunk
from tts_pipeline.verify.textnorm import normalise
from tts_pipeline.verify.whisper import JUDGE_DECODING, VERIFIER_DECODING, Transcriber

TERMS = (
    "AGI", "RLHF", "LessWrong", "NeurIPS", "grokking", "Yudkowsky", "Bostrom", "MIRI", "CFAR",
    "EA", "the Alignment Forum", "GiveWell", "Open Philanthropy", "Christiano", "corrigibility",
    "mesa-optimizer", "inner alignment", "instrumental convergence", "Goodhart's law",
    "interpretability", "superintelligence", "existential risk", "longtermism", "GPT-4",
    "DeepMind", "Anthropic", "OpenAI", "Metaculus", "Bayesian", "utilitarianism",
)  # fmt: skip
DECODINGS = {"judge": JUDGE_DECODING, "verifier": VERIFIER_DECODING}
_CANDIDATE_COMMA = re.compile(r",(?![^\[]*\]\])")  # a comma outside [[phonemes]]
# tiny.en hears "We wrote about X last week." in espeak's voice as "We wrote an out ...": a
# carrier it follows (measured: plain words in it come out right) isolates the term.
CARRIER = "The next word is {}."
# --try: more than one sentence around each candidate, as one carrier's quirks would decide it.
TRY_CARRIERS = (
    CARRIER,
    "Here is a post about {} and why it matters.",
    "{}, he said, is the point.",
)


def sample_post() -> Post:
    with sample_forum(Config()) as (config, url):
        return fetch_post(url, config.sites, http_client(config))


AGI_RUIN = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/forummagnum/post_agi-ruin_graphql.json"
)


def agi_ruin_post(path: Path = AGI_RUIN) -> Post:
    """The AGI Ruin post (about 9,000 words) from its GraphQL fixture."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]["post"]["result"]
    return Post(
        id=data["_id"], title=data["title"], authors=(data["user"]["displayName"],),
        published=datetime.fromisoformat(data["postedAt"].replace("Z", "+00:00")),
        url=data["pageUrl"], html=data["htmlBody"], site_name="LessWrong", prefix="LW",
    )  # fmt: skip


def pace_wpm(checks: list[ChunkCheck], chunks: list[Chunk]) -> float:
    """Words per minute as a listener counts them: the words of the script as written over
    the chunks' audio plus the pauses between them (as the episode joins them).

    Not the scored words: Whisper's normaliser writes "don't" as "do not" and "well-organized"
    as "well organized", and the spoken form says "Yudkowsky" as "Yud-cow-ski": counting
    those made the pace 3-4% higher than a listener's count (AGI Ruin's first 40 chunks: 6,051
    to 6,106 scored words against 5,881 written)."""
    words = sum(len((c.shown or c.text).split()) for c in chunks)
    pauses = sum(c.pause_after_ms for c in chunks[:-1]) / 1000
    minutes = (sum(c.audio_s for c in checks) + pauses) / 60
    return words / minutes if minutes else 0.0


def paces(
    checks: list[ChunkCheck], script: Script, voice: VoiceProfile, n: int, pause_sets: list[Pauses]
) -> str:
    """The pace with the profile's pauses ("pace 128"), then with each of ``pause_sets``
    ("150/400/700 131"): the same chunks (the first ``n``; 0 or -1: all), planned again."""
    out = ""
    for pauses in [voice.pauses, *pause_sets]:
        chunks = spoken_chunks(script, replace(voice, pauses=pauses), body_only=False)
        chunks = chunks[:n] if n > 0 else chunks
        label = "pace" if pauses is voice.pauses else pauses_label(pauses)
        out += f"{', ' if out else ''}{label} {pace_wpm(checks, chunks):.0f}"
    return out + " wpm"


def pauses_label(pauses: Pauses) -> str:
    return f"{pauses.sentence_ms}/{pauses.paragraph_ms}/{pauses.heading_ms}"


def parse_pauses(spec: str) -> Pauses:
    """``"150,400,700"`` -> sentence, paragraph and heading pauses in milliseconds."""
    try:
        sentence, paragraph, heading = (int(v) for v in spec.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r}: want SENTENCE,PARAGRAPH,HEADING ms") from None
    return Pauses(sentence, paragraph, heading)


def terms_post() -> Post:
    body = "".join(f"<p>{CARRIER.format(term)}</p>" for term in TERMS)
    return Post(
        id="terms",
        title="Terms",
        authors=("Ada Example",),
        published=datetime(2024, 1, 1, tzinfo=UTC),
        url="https://forum.example/posts/terms",
        html=body,
        site_name="The Sample Forum",
        prefix="SAMPLE",
    )


def spoken_chunks(script: Script, voice: VoiceProfile, *, body_only: bool) -> list[Chunk]:
    """The chunks the pipeline would synthesise (same planner, same lexicon)."""
    engine = get_engine(voice.engine)
    chunks = plan_chunks(
        script, engine.max_chars, voice.pauses, speak=speaker(voice.name, engine=voice.engine)
    )
    if body_only:  # the terms list: no intro and outro
        chunks = [c for c in chunks if 0 <= c.section < len(script.sections)]
    return chunks


def listen(
    chunks: list[Chunk], voice: VoiceProfile, cache: Path, model: Transcriber, jobs: int
) -> tuple[list[ChunkCheck], float, float]:
    """Checks in chunk order, synthesis seconds, transcription seconds."""
    start = time.perf_counter()
    audio = synthesize_chunks(chunks, voice, cache, jobs=jobs)
    synth_s = time.perf_counter() - start
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        checks = list(pool.map(lambda a: check_chunk(model, a), audio))
    return checks, synth_s, time.perf_counter() - start


def wer(checks: list[ChunkCheck]) -> float:
    words = sum(c.score.words for c in checks)
    return sum(c.score.errors for c in checks) / max(words, 1)


def terms_heard(checks: list[ChunkCheck]) -> tuple[list[str], list[str]]:
    """(heard, missed): a term counts as heard if its normalised letters appear in the
    transcript, spaces ignored ("deep mind" is DeepMind, "less wrong" is LessWrong)."""
    heard: list[str] = []
    missed: list[str] = []
    for term, check in zip(TERMS, checks, strict=True):
        (heard if heard_term(term, check.heard) else missed).append(term)
    return heard, missed


def heard_term(term: str, transcript: str) -> bool:
    """Whether ``transcript`` holds ``term`` as written: its normalised letters as one or more
    whole adjacent words ("deep mind" is DeepMind, "less wrong" is LessWrong), never inside a
    longer word ("the a" is not "EA")."""
    said = normalise(transcript, spoken=False).split()
    wanted = normalise(term).replace(" ", "")
    return any(
        "".join(said[i : i + n]) == wanted
        for i in range(len(said))
        for n in range(1, 6)  # the longest term is a few words
    )


def parse_tries(specs: list[str]) -> list[tuple[str, list[str]]]:
    """``["EA=E-eigh,ee-ay"]`` -> ``[("EA", ["EA", "E-eigh", "ee-ay"])]`` (the written term
    first: how the voice says it with no lexicon entry). A comma inside ``[[phonemes]]`` marks
    secondary stress, not the next candidate.

    >>> parse_tries(["debiasing=de-biasing,[[,di:b'aI@sIN]]"])
    [('debiasing', ['debiasing', 'de-biasing', "[[,di:b'aI@sIN]]"])]
    """
    tries = []
    for spec in specs:
        term, _, spellings = spec.partition("=")
        parts = _CANDIDATE_COMMA.split(spellings)
        candidates = [term.strip()] + [s.strip() for s in parts if s.strip()]
        tries.append((term.strip(), list(dict.fromkeys(candidates))))
    return tries


def try_respellings(
    tries: list[tuple[str, list[str]]],
    voice: VoiceProfile,
    cache: Path,
    model: Transcriber,
    jobs: int,
) -> None:
    """Print, per candidate, how many carrier sentences the term was heard in and their WER
    against the written sentence (each candidate is the term's only lexicon entry, so an
    espeak-ng voice can try "[[phonemes]]" too)."""
    chunks: list[Chunk] = []
    keys: list[tuple[str, str]] = []
    for term, candidates in tries:
        for spelling in candidates:
            say = speaker(
                voice.name, engine=voice.engine, lexicon=Lexicon({}, {voice.name: {term: spelling}})
            )
            for carrier in TRY_CARRIERS:
                text = say(carrier.format(term))
                display = carrier.format(term)
                chunks.append(Chunk(len(chunks), text, 0, 0, display=display))
                keys.append((term, spelling))
    checks, _, _ = listen(chunks, voice, cache, model, jobs)
    for term, candidates in tries:
        for spelling in candidates:
            mine = [c for c, k in zip(checks, keys, strict=True) if k == (term, spelling)]
            hits = sum(heard_term(term, c.heard) for c in mine)
            heard = " | ".join(c.heard for c in mine)
            print(
                f"{voice.name:<8} {term} = {spelling!r:<26} heard {hits}/{len(mine)}"
                f"  WER {wer(mine):.2f}  [{heard}]",
                flush=True,
            )


def variants(
    voices: list[VoiceProfile], gaps: list[int] | None, rates: list[int] | None = None
) -> list[tuple[str, VoiceProfile]]:
    """(label, profile) to score: each voice as it is, or each espeak-ng voice at each gap in
    ``gaps`` and each rate in ``rates`` (the profile keeps its name: the lexicon's per-voice
    entries still apply)."""
    out: list[tuple[str, VoiceProfile]] = []
    for voice in voices:
        if (gaps or rates) and voice.engine in WORD_GAP_ENGINES:
            for gap in gaps or [voice.word_gap]:
                for rate in rates or [voice.rate_wpm]:
                    label = f"{voice.name}/gap{gap}/{rate}wpm"
                    out.append((label, replace(voice, word_gap=gap, rate_wpm=rate)))
        else:
            out.append((voice.name, voice))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", action="append", help="voice profile (default: all)")
    parser.add_argument("--model", default="tiny.en", help="Whisper model name or folder")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--try",
        dest="tries",
        action="append",
        metavar="TERM=SPELLING,...",
        help="compare respellings of a term instead of scoring the sample post",
    )
    parser.add_argument(
        "--rate",
        dest="rates",
        type=int,
        action="append",
        metavar="WPM",
        help="score espeak-ng voices at this rate (repeatable: side by side)",
    )
    parser.add_argument(
        "--agi-ruin",
        type=int,
        default=0,
        metavar="N",
        help="also score the first N chunks of the AGI Ruin fixture (0: not at all; -1: all)",
    )
    parser.add_argument(
        "--agi-ruin-json",
        type=Path,
        default=AGI_RUIN,
        metavar="PATH",
        help="the AGI Ruin fixture (default: ../shared/fixtures beside this checkout)",
    )
    parser.add_argument(
        "--pauses",
        dest="pause_sets",
        type=parse_pauses,
        action="append",
        default=[],
        metavar="S,P,H",
        help="also give the pace with these pauses in ms (sentence, paragraph, heading)",
    )
    parser.add_argument(
        "--word-gap",
        dest="gaps",
        type=int,
        action="append",
        metavar="N",
        help="score espeak-ng voices at this word gap (repeatable: side by side)",
    )
    parser.add_argument(
        "--decoding",
        choices=sorted(DECODINGS),
        default="judge",
        help="judge: faster-whisper's own defaults, as an outside judge transcribes (default);"
        " verifier: the greedy setting convert --verify uses",
    )
    args = parser.parse_args()
    if args.agi_ruin and not args.agi_ruin_json.is_file():
        parser.error(f"--agi-ruin: no fixture at {args.agi_ruin_json} (see --agi-ruin-json)")
    config = Config()
    model = Transcriber(args.model, threads=1, workers=args.jobs, decoding=DECODINGS[args.decoding])
    voices = [v for v in list_voices() if not args.voice or v.name in args.voice]
    if args.tries:
        with tempfile.TemporaryDirectory() as tmp:
            for voice in voices:
                try_respellings(parse_tries(args.tries), voice, Path(tmp), model, args.jobs)
        return 0
    sample = clean(sample_post(), config.templates, config.clean)
    terms = clean(terms_post(), config.templates, config.clean)
    ruin_post = agi_ruin_post(args.agi_ruin_json) if args.agi_ruin else None
    ruin = clean(ruin_post, config.templates, config.clean) if ruin_post else None
    load = os.getloadavg()[0]
    print(
        f"model {args.model} ({args.decoding} decoding), {len(TERMS)} terms, jobs {args.jobs},"
        f" load average {load:.1f}"
    )
    missed_by_voice: dict[str, Counter[str]] = {}
    missed_terms: dict[str, list[str]] = {}
    chosen = variants(voices, args.gaps, args.rates)
    width = max((len(label) for label, _ in chosen), default=8)
    with tempfile.TemporaryDirectory() as tmp:
        for label, voice in chosen:
            try:
                sample_chunks = spoken_chunks(sample, voice, body_only=False)
                post_checks, synth_s, asr_s = listen(
                    sample_chunks, voice, Path(tmp), model, args.jobs
                )
                if ruin is not None:
                    ruin_chunks = spoken_chunks(ruin, voice, body_only=False)
                    if args.agi_ruin > 0:
                        ruin_chunks = ruin_chunks[: args.agi_ruin]
                    ruin_checks, _, _ = listen(ruin_chunks, voice, Path(tmp), model, args.jobs)
                    print(
                        f"{label:<{width}} {voice.engine:<8} AGI Ruin WER {wer(ruin_checks):.3f}"
                        f" ({sum(c.score.words for c in ruin_checks)} words,"
                        f" {len(ruin_chunks)} chunks,"
                        f" {sum(c.audio_s for c in ruin_checks):.0f} s)"
                        f"  {paces(ruin_checks, ruin, voice, args.agi_ruin, args.pause_sets)}",
                        flush=True,
                    )
                term_checks, _, _ = listen(
                    spoken_chunks(terms, voice, body_only=True), voice, Path(tmp), model, args.jobs
                )
            except TTSPipelineError as exc:
                print(f"{label:<{width}} skipped: {exc}")
                continue
            heard, missed = terms_heard(term_checks)
            audio_s = sum(c.audio_s for c in post_checks)
            print(
                f"{label:<{width}} {voice.engine:<8} sample WER {wer(post_checks):.3f}"
                f" ({sum(c.score.words for c in post_checks)} words, {audio_s:.0f} s,"
                f" {paces(post_checks, sample, voice, 0, args.pause_sets)})"
                f"  terms WER {wer(term_checks):.3f}, terms heard {len(heard)}/{len(TERMS)}"
                f"  (synth {synth_s:.1f} s, transcribe {asr_s:.1f} s)",
                flush=True,
            )
            missed_by_voice[label] = Counter(w for c in post_checks for w in c.score.missed)
            missed_terms[label] = missed
    for name, counts in missed_by_voice.items():
        common = ", ".join(f"{w} ({n})" if n > 1 else w for w, n in counts.most_common(25))
        print(f"{name}: sample post words missed: {common}")
        print(f"{name}: terms not heard: {', '.join(missed_terms[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
