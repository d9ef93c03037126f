"""The community's words, heard or not: each top term said by each voice and recognised.

Reads ``../shared/data/community-terms.tsv`` (terms of about 2,600 LessWrong and Alignment
Forum posts, most used first), puts each of the top N terms in a carrier sentence ("The next
word is NeurIPS."), runs it through the real cleaner, pronunciation lexicon and engine of each
voice profile, transcribes it with Whisper (``base`` by default, the stronger judge) and judges
it heard or not (``tts_pipeline.verify.terms.heard_term``: case, hyphens, spacing and a plural
"s" do not count). Prints per voice how many of the top 300 and of the top N were heard, then
the misses with what was heard instead.

Two verdicts, side by side:
- ``spelled``: the transcript holds the term as written;
- ``heard``: spelled, or written as a homophone: a spelling that an English reader says exactly
  as the term (espeak-ng's own letter-to-sound rules, American English, stress and length
  marks ignored: "Hansen" for Hanson, "Cristiano" for Christiano). A recogniser cannot know
  which of two spellings of one sound a name takes; a listener who hears the sound has heard
  the name. A term the lexicon says in full (``SAID_IN_FULL``: "LW" as "Less Wrong") is heard
  when its full form is.

A voice that samples (Piper, unless its profile is ``deterministic``) says a word a little
differently each time, so one take per term is a noisy figure, and re-hearing the takes a search
chose (``lexicon_search.py``) flatters it: ``--takes N`` says each term N times, each take a
fresh synthesis, and counts the share of takes heard (the same one take for other voices).

Each term is said in a clip of its own (see ``hear``). Slow (about a second of CPU per term
and voice), so resumable: every transcript is kept in a cache file keyed by the model, the
voice's settings and the exact text the engine was given, and saved as it goes. A lexicon
change re-hears only the terms whose spoken text it changed.

    .venv/bin/python benchmarks/lexicon_terms.py [--top 300] [--voices default,joe] [--jobs 1]
    .venv/bin/python benchmarks/lexicon_terms.py --voices joe --takes 3
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tts_pipeline.config import Config
from tts_pipeline.errors import TTSPipelineError
from tts_pipeline.fsutil import atomic_write_text
from tts_pipeline.models import Chunk, VoiceProfile
from tts_pipeline.paths import user_cache_dir
from tts_pipeline.pipeline import plan_text
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import list_voices
from tts_pipeline.verify.terms import CARRIER, heard_term
from tts_pipeline.verify.whisper import Transcriber

TERMS_FILE = Path(__file__).resolve().parents[2] / "shared/data/community-terms.tsv"

BATCH = 40  # clips synthesised and heard between two saves of the cache
# "The next word is", as Whisper writes it down when it may not repeat any three words (the
# verifier's setting, kept here): "The NECTS word is", "TheNext Word is", "The next World is".
_CARRIER_SPLIT = re.compile(r"(?i)(?:\bthe ?)?\bn[ex]\w*,?(?: w\w*)?,?(?: is\b| it's\b)?")
# Abbreviations the lexicon expands to what they stand for: hearing the full form is right.
SAID_IN_FULL = {"LW": "LessWrong", "LWers": "LessWrongers", "OOD": "out of distribution"}
_MARKS = re.compile("[\u02c8\u02cc\u02d0\u1d7b\u0306_-]")  # stress, length, reduced vowel


@dataclass(frozen=True)
class Term:
    rank: int
    term: str
    kind: str
    posts: int


def read_terms(path: Path, top: int) -> list[Term]:
    with open(path, encoding="utf-8") as f:
        rows = [line for line in f if not line.startswith("#")]
    reader = csv.DictReader(rows, delimiter="\t")
    terms = [Term(i + 1, r["term"], r["kind"], int(r["posts"])) for i, r in enumerate(reader)]
    return terms[:top]


def cache_key(model: str, voice: VoiceProfile, spoken: str, take: str = "") -> str:
    setting = (
        f"{model}|repeats|{voice.engine}|{voice.voice}|{voice.rate_wpm}|{voice.word_gap}|{spoken}"
    )
    if take:  # the first measuring take keeps the key it always had
        setting += f"|{take}"
    return hashlib.sha256(setting.encode()).hexdigest()[:24]


def take_name(take: int, purpose: str = "") -> str:
    """The cache's name for a take: "" for the first take of a measurement, else one no
    other take shares. A search (``purpose="search"``) hears takes of its own, so that a
    measurement after it never re-hears the takes the search chose a spelling on."""
    return "-".join(p for p in (purpose, f"take{take}" if take > 1 else "") if p)


def takes(voice: VoiceProfile, args: argparse.Namespace) -> range:
    """The takes to hear: ``--takes`` for a voice that samples, one for any other."""
    sampling = voice.engine == "piper" and not voice.deterministic
    return range(1, (args.takes if sampling else 1) + 1)


class Heard:
    """The transcript cache: key -> what the recogniser heard; saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def save(self) -> None:
        """Merged with what is on disk, so two runs at once (before and after a lexicon
        change) keep each other's transcripts."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError, ValueError):
            self.data = {**json.loads(self.path.read_text(encoding="utf-8")), **self.data}
        atomic_write_text(self.path, json.dumps(self.data, indent=0, sort_keys=True))


def after_carrier(transcript: str) -> str:
    """What was heard after "The next word is", or all of it if the carrier was misheard."""
    pieces = _CARRIER_SPLIT.split(transcript, maxsplit=1)
    return pieces[1].strip(" .,") if len(pieces) == 2 else transcript.strip()


def hear_voice(
    terms: list[Term], voice: VoiceProfile, heard: Heard, args: argparse.Namespace,
    model: Transcriber,
) -> dict[str, list[str]]:  # fmt: skip
    """term -> what was heard where it was said (``hear``), in each take, each through the
    real cleaner, pronunciation lexicon and planner."""
    config = Config()
    spoken = [
        " ".join(c.text for c in plan_text(CARRIER.format(t.term), config, voice)) for t in terms
    ]
    said = [hear(spoken, voice, heard, args, model, take_name(n)) for n in takes(voice, args)]
    return {t.term: [after_carrier(texts[i]) for texts in said] for i, t in enumerate(terms)}


def hear(
    spoken: list[str], voice: VoiceProfile, heard: Heard, args: argparse.Namespace,
    model: Transcriber, take: str = "",
) -> list[str]:  # fmt: skip
    """What the recogniser heard of each sentence, said by ``voice`` exactly as given, one
    clip each, the cache first (``take``, from ``take_name``: a synthesis of its own, with
    its audio cached apart).
    One sentence to a clip, as a listener meets a word: several to
    a clip cost less (Whisper hears 30 s windows whatever the length) but judged worse than
    they were: the recogniser, which may not write three words twice (the verifier's setting,
    kept here), garbled the repeated carriers, a term ran into the next sentence's "The"
    ("generalize" heard as "generalized") and each term primed the next."""
    keys = [cache_key(args.model, voice, text, take) for text in spoken]
    audio_cache = args.cache / "-".join(p for p in ("chunks", take) if p)
    todo = sorted({(k, t) for k, t in zip(keys, spoken, strict=True) if k not in heard.data})
    started = time.perf_counter()
    for at in range(0, len(todo), BATCH):
        batch = todo[at : at + BATCH]
        chunks = [Chunk(i, text, 0, 0) for i, (_, text) in enumerate(batch)]
        audio = synthesize_chunks(chunks, voice, audio_cache, jobs=args.jobs)
        with ThreadPoolExecutor(args.jobs) as pool:
            texts = list(pool.map(lambda a: model.transcribe(a.wav), audio))
        for (key, _), text in zip(batch, texts, strict=True):
            heard.data[key] = text
        heard.save()
        print(
            f"  {voice.name}: heard {at + len(batch)}/{len(todo)} new clips"
            f" ({take or 'take1'}, {time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    return [heard.data[k] for k in keys]


@cache
def ipa_words(text: str) -> tuple[str, ...]:
    """How espeak-ng's American English rules say ``text``, word by word, marks dropped."""
    said = subprocess.run(
        ["espeak-ng", "-q", "-v", "en-us", "--ipa", text],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return tuple(_MARKS.sub("", word) for word in said.split())


def sounds_alike(term: str, transcript: str) -> bool:
    """Some run of the transcript's words is said exactly as ``term`` (or its plural)."""
    wanted = "".join(ipa_words(term))
    said = ipa_words(re.sub(r"[^\w' ]", " ", transcript))
    runs = ("".join(said[i : i + n]) for i in range(len(said)) for n in range(1, 7))
    return bool(wanted) and any(run in {wanted, wanted + "z", wanted + "s"} for run in runs)


def verdict(term: str, transcript: str) -> tuple[bool, bool]:
    """(spelled, heard): see the module's docstring."""
    spelled = heard_term(term, transcript) or (
        term in SAID_IN_FULL and heard_term(SAID_IN_FULL[term], transcript)
    )
    return spelled, spelled or sounds_alike(term, transcript)


def shares(term: str, transcripts: list[str]) -> tuple[float, float]:
    """(spelled, heard) as the share of the takes with each verdict."""
    verdicts = [verdict(term, text) for text in transcripts]
    return (
        sum(v[0] for v in verdicts) / len(verdicts),
        sum(v[1] for v in verdicts) / len(verdicts),
    )


def report(voice: VoiceProfile, terms: list[Term], transcripts: dict[str, list[str]]) -> None:
    """One line per voice (terms heard in the top 300 and the top N, a term counting as the
    share of its takes heard), then each term not spelled right in every take."""
    verdicts = {t.term: shares(t.term, transcripts[t.term]) for t in terms}
    parts = []
    for cut in sorted({min(300, len(terms)), len(terms)}):
        top = [verdicts[t.term] for t in terms if t.rank <= cut]
        spelled, heard = sum(v[0] for v in top), sum(v[1] for v in top)
        parts.append(
            f"top {cut}: heard {round(heard, 1):g}/{cut} ({heard / cut:.1%}),"
            f" spelled {round(spelled, 1):g}/{cut} ({spelled / cut:.1%})"
        )
    count = len(next(iter(transcripts.values()), [""]))
    print(f"{voice.name:<8} {voice.engine:<8} " + "  ".join(parts) + f"  ({count} take(s))")
    for t in terms:
        spelled, heard = verdicts[t.term]
        if spelled < 1:
            said = " | ".join(text.strip() for text in transcripts[t.term])
            mark = "homophone" if heard == 1 else "missed" if heard == 0 else f"{heard:.0%} heard"
            print(f"    #{t.rank:<4} {t.term:<22} {t.kind:<7} {mark:<9} heard: {said}", flush=True)


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


Setup = tuple[argparse.Namespace, list[Term], list[VoiceProfile], Transcriber, Heard]


def prepare(parser: argparse.ArgumentParser) -> Setup | None:
    """The options this benchmark and ``lexicon_search.py`` share, parsed; None (after one
    line on stderr) when the terms file is missing."""
    parser.add_argument("--top", type=int, default=300, help="how many terms (default 300)")
    parser.add_argument("--voices", help="comma-separated voice profiles (default: all)")
    parser.add_argument("--model", default="base", help="Whisper model (default base)")
    parser.add_argument("--jobs", type=int, default=1, help="threads (default 1: others share)")
    parser.add_argument("--terms", type=Path, default=TERMS_FILE)
    parser.add_argument(
        "--takes", type=positive, default=1,
        help="fresh takes of each term for a voice that samples, such as joe (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--cache", type=Path, default=user_cache_dir() / "bench-lexicon-terms",
        help="where transcripts and spoken chunks are kept between runs",
    )  # fmt: skip
    args = parser.parse_args()
    if not args.terms.is_file():
        print(f"{parser.prog}: {args.terms} not found", file=sys.stderr)
        return None
    terms = read_terms(args.terms, args.top)
    wanted = set(args.voices.split(",")) if args.voices else None
    voices = [v for v in list_voices() if wanted is None or v.name in wanted]
    model = Transcriber(args.model, threads=1, workers=args.jobs)
    return args, terms, voices, model, Heard(args.cache / f"heard-{args.model}.json")


def main() -> int:
    setup = prepare(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    if setup is None:
        return 1
    args, terms, voices, model, heard = setup
    print(
        f"model {args.model}, top {len(terms)} terms, carrier {CARRIER!r},"
        f" jobs {args.jobs}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for voice in voices:
        try:
            transcripts = hear_voice(terms, voice, heard, args, model)
        except TTSPipelineError as exc:
            print(f"{voice.name:<8} skipped: {exc}")
            continue
        report(voice, terms, transcripts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
