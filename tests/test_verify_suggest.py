"""Lexicon entries suggested from what the recogniser missed (real normaliser and aligner)."""

from __future__ import annotations

import pytest

pytest.importorskip("jiwer", reason="needs the verify extra")

from tts_pipeline.verify.check import ChunkCheck
from tts_pipeline.verify.suggest import entry_for, suggest
from tts_pipeline.verify.textnorm import normalise
from tts_pipeline.verify.wer import score


def check(index: int, written: str, heard: str) -> ChunkCheck:
    reference = normalise(written)
    return ChunkCheck(
        index=index, reference=reference, heard=heard,
        score=score(reference, normalise(heard, spoken=False)),
        audio_s=3.0, seconds=0.1, attempt=1, written=written,
    )  # fmt: skip


def test_terms_and_repeated_misses_are_suggested_with_what_was_heard() -> None:
    checks = [
        check(0, "We met at NeurIPS to talk about the gradient.", "We met at new rips to talk"
              " about the radiant."),
        check(1, "NeurIPS papers on DeepMind and CAIS, and a gradient.", "Nurips papers on deep"
              " mine and case, and a radiant."),
        check(2, "A walk in the park.", "A work in the park."),
    ]  # fmt: skip
    found = {s.word: s for s in suggest(checks)}
    assert found["NeurIPS"].count == 2
    assert "nurips" in found["NeurIPS"].heard_as
    assert found["gradient"].heard_as == ("radiant",)  # missed twice: worth an entry
    assert found["CAIS"].entry.startswith('CAIS = "C-A-I-S"')
    assert found["DeepMind"].entry == 'DeepMind = "Deep Mind"'
    assert "walk" not in found  # an ordinary word missed once is noise


def test_entry_for_spells_acronyms_and_plurals() -> None:
    assert entry_for("LLMs").startswith('LLMs = "L-L-M\'s"')
    assert entry_for("Pareto").startswith('Pareto = ""')
    assert entry_for("p(doom)").startswith('"p(doom)" = ""')
