"""For each community term a voice gets wrong, the spelling it says right: lexicon entries
found by ear, the recogniser's.

Runs ``lexicon_terms.py``'s measurement (the top N terms, each in its carrier sentence, said
by each voice through the real cleaner and lexicon, heard by Whisper base), then for every
term a voice missed tries the candidates of ``respellings.py`` (the written form without an
entry, the lexicon's entry, the CMU dictionary's pronunciations spelled as syllables, letters,
the parts of a joined word, and ``respellings.toml``'s spellings written by ear). Each
candidate is said, with no lexicon, in two sentences (``SENTENCES``) and scores how many of
them were heard (spelled, or a homophone: see ``lexicon_terms.verdict``). Prints, per term,
how each candidate scored for each voice, then the entries to try, per voice
(``[voices.NAME]``): the first candidate heard in both sentences (in every take, with
``--takes N``: for a voice that samples, such as joe, a spelling heard in one lucky take
may not hold). Where several voices take
the same spelling it may serve as one ``[words]`` entry: re-run ``lexicon_terms.py`` after
adding entries, as an entry for every voice changes what the others say too.

    .venv/bin/python benchmarks/lexicon_search.py [--top 300] [--voices default,joe,uk]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

from lexicon_terms import (
    CARRIER,
    Heard,
    Term,
    hear,
    hear_voice,
    prepare,
    shares,
    take_name,
    takes,
    verdict,
)
from respellings import candidates

from tts_pipeline.clean import Lexicon, load_lexicon, speaker
from tts_pipeline.clean.lexicon import PHONEME_ENGINES
from tts_pipeline.models import VoiceProfile
from tts_pipeline.verify.whisper import Transcriber

SENTENCES = (CARRIER, "Here is the word {}.")
BY_EAR = Path(__file__).with_name("respellings.toml")
Scores = dict[str, int]  # candidate -> sentences heard


def missed_terms(
    terms: list[Term], voice: VoiceProfile, heard: Heard, args: argparse.Namespace,
    model: Transcriber,
) -> list[Term]:  # fmt: skip
    said = hear_voice(terms, voice, heard, args, model)
    return [t for t in terms if shares(t.term, said[t.term])[1] < 1]


def try_candidates(
    term: Term, tried: list[str], voice: VoiceProfile, heard: Heard, args: argparse.Namespace,
    model: Transcriber,
) -> Scores:  # fmt: skip
    """Each candidate, as the term's only lexicon entry (no other entry), said in
    ``SENTENCES`` (in each take, ``--takes``): how many were heard. A candidate missed once is
    not said again (it cannot serve)."""
    says = {
        c: speaker(
            voice.name, engine=voice.engine, lexicon=Lexicon({}, {voice.name: {term.term: c}})
        )
        for c in tried
    }
    scores = dict.fromkeys(tried, 0)
    rounds = [(take, sentence) for take in takes(voice, args) for sentence in SENTENCES]
    for earlier, (take, sentence) in enumerate(rounds):
        alive = [c for c in tried if scores[c] == earlier]
        spoken = [says[c](sentence.format(term.term)) for c in alive]
        said = hear(spoken, voice, heard, args, model, take_name(take, "search"))
        for c, text in zip(alive, said, strict=True):
            scores[c] += verdict(term.term, text)[1]
    return scores


def propose(term: str, results: dict[str, Scores], rounds: dict[str, int]) -> list[str]:
    """lexicon.toml lines for ``term``: per voice that missed it, the first candidate heard in
    every sentence of every take (``rounds``: voice -> how many; "" when that is the written
    form: the voice needs no entry)."""
    key = term if term.replace("-", "").isalnum() else f'"{term}"'
    lines = []
    for voice, scores in results.items():
        best = [c for c, s in scores.items() if s == rounds[voice]]
        if best:
            lines.append(f'[voices.{voice}] {key} = "{"" if best[0] == term else best[0]}"')
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by-ear", type=Path, default=BY_EAR, help="TOML: term -> spellings")
    setup = prepare(parser)
    if setup is None:
        return 1
    args, terms, voices, model, heard = setup
    by_ear: dict[str, list[str]] = tomllib.loads(args.by_ear.read_text(encoding="utf-8"))
    lexicon = load_lexicon(())
    results: dict[str, dict[str, Scores]] = defaultdict(dict)
    for voice in voices:
        missed = missed_terms(terms, voice, heard, args, model)
        print(f"{voice.name}: {len(missed)} of {len(terms)} missed", flush=True)
        entries = lexicon.entries(voice.name, voice.engine)
        for term in missed:
            tried = candidates(
                term.term, entries.get(term.term), by_ear.get(term.term, ()),
                phonemes=voice.engine in PHONEME_ENGINES,
            )  # fmt: skip
            scores = try_candidates(term, tried, voice, heard, args, model)
            results[term.term][voice.name] = scores
            shown = ", ".join(f"{c!r} {s}" for c, s in scores.items())
            print(f"  #{term.rank:<4} {term.term:<20} {shown}", flush=True)
    print("\nentries to try (the first spelling heard in every sentence):")
    rounds = {v.name: len(takes(v, args)) * len(SENTENCES) for v in voices}
    for written in (t.term for t in terms if t.term in results):
        for line in propose(written, results[written], rounds):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
