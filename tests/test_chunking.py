"""Chunk planning: sentence packing, hard splits, pauses and section indexes."""

from __future__ import annotations

import pytest

from tts_pipeline.clean import speaker
from tts_pipeline.models import Chunk, Pauses, Script, Section, Segment, SegmentKind
from tts_pipeline.sentences import split_long, split_sentences
from tts_pipeline.synth.chunking import pack, plan_chunks

PAUSES = Pauses(sentence_ms=11, paragraph_ms=22, heading_ms=33)
INTRO = Segment(SegmentKind.INTRO, "Welcome. This is a post.")
OUTRO = Segment(SegmentKind.OUTRO, "Thanks for listening.")


def para(text: str) -> Segment:
    return Segment(SegmentKind.PARAGRAPH, text)


def heading(text: str) -> Segment:
    return Segment(SegmentKind.HEADING, text)


def script(*sections: Section) -> Script:
    return Script(title="T", intro=INTRO, sections=sections, outro=OUTRO)


def words(texts: list[str]) -> list[str]:
    return " ".join(texts).split()


def assert_well_formed(chunks: list[Chunk], max_chars: int) -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text.strip() == chunk.text and chunk.text
        assert len(chunk.text) <= max_chars


def test_structure_pauses_and_sections() -> None:
    s = script(
        Section(None, (para("Lead one. Lead two."),)),
        Section("H", (heading("H"), para("Body."), para("More body."))),
    )
    chunks = plan_chunks(s, 1000, PAUSES)
    assert [(c.text, c.pause_after_ms, c.section) for c in chunks] == [
        ("Welcome. This is a post.", 33, -1),
        ("Lead one. Lead two.", 22, 0),
        ("H", 33, 1),
        ("Body.", 22, 1),
        ("More body.", 22, 1),
        ("Thanks for listening.", 22, 2),
    ]


def test_sentence_pause_between_chunks_of_one_segment() -> None:
    s = script(Section(None, (para("First sentence here. Second sentence here."),)))
    chunks = plan_chunks(s, 25, PAUSES)
    body = [c for c in chunks if c.section == 0]
    assert [c.text for c in body] == ["First sentence here.", "Second sentence here."]
    assert [c.pause_after_ms for c in body] == [11, 22]
    intro = [c for c in chunks if c.section == -1]
    assert [c.pause_after_ms for c in intro] == [33]  # "Welcome. This is a post." fits


def test_chunks_never_span_segments() -> None:
    s = script(Section(None, (para("Short."), para("Also short."))))
    texts = [c.text for c in plan_chunks(s, 1000, PAUSES)]
    assert "Short." in texts and "Also short." in texts


def test_greedy_packing() -> None:
    sentences = ["aaaa.", "bbbb.", "cccc.", "dddd."]
    assert pack(sentences, 11) == ["aaaa. bbbb.", "cccc. dddd."]
    assert pack(sentences, 17) == ["aaaa. bbbb. cccc.", "dddd."]
    assert pack([], 10) == []


def test_huge_paragraph_is_split() -> None:
    sentence = "The quick brown fox jumps over the lazy dog near the river bank today. "
    text = (sentence * 300).strip()  # about 21,000 characters, one paragraph
    assert len(text) > 20_000
    s = script(Section(None, (para(text),)))
    chunks = plan_chunks(s, 4000, PAUSES)
    assert_well_formed(chunks, 4000)
    body = [c.text for c in chunks if c.section == 0]
    assert len(body) >= 6
    assert words(body) == text.split()


def test_over_long_sentence_cut_at_punctuation_then_spaces() -> None:
    clauses = "; ".join(f"clause number {n} goes on for a while" for n in range(40))
    pieces = split_long(clauses, 200)
    assert all(len(p) <= 200 for p in pieces)
    assert all(p.endswith(";") for p in pieces[:-1])
    assert words(pieces) == clauses.split()

    commas = ", ".join(f"item {n}" for n in range(100))
    assert all(p.endswith(",") for p in split_long(commas, 120)[:-1])

    plain = " ".join(f"word{n}" for n in range(500))  # no punctuation at all
    pieces = split_long(plain, 100)
    assert all(len(p) <= 100 for p in pieces) and words(pieces) == plain.split()


def test_numbers_are_not_cut_at_their_punctuation() -> None:
    text = "x" * 50 + " 1,000,000 people at 10:30 " + "y" * 50
    for piece in split_long(text, 70):
        assert piece in text and not piece.endswith(("1,", "10:"))


def test_word_longer_than_limit_is_hard_cut() -> None:
    assert split_long("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


@pytest.mark.parametrize(
    "sentence",
    [
        "Dr. Smith met Mr. Jones at 3 p.m. on Friday.",
        "Prices rose 3.5% in the U.S. last year.",
        "Some fruits, e.g. apples and pears, keep well.",
        "The results, i.e. the numbers, were published by Smith et al. in 2020.",
    ],
)
def test_abbreviations_do_not_split(sentence: str) -> None:
    assert split_sentences(f"{sentence} Next one here.") == [sentence, "Next one here."]


def test_paragraph_items_and_blanks_dropped() -> None:
    assert split_sentences("One.\n\nTwo.") == ["One.", "Two."]
    assert split_sentences("   ") == []


def test_never_emits_empty_chunks() -> None:
    s = script(Section("H", (heading("H"), para(""), para("   "), para("Real."))))
    chunks = plan_chunks(s, 50, PAUSES)
    assert_well_formed(chunks, 50)
    assert [c.text for c in chunks if c.section == 0] == ["H", "Real."]


def test_all_words_in_order_across_script() -> None:
    sections = tuple(
        Section(
            f"S{i}", (heading(f"S{i}"), *(para(f"Para {i}.{j}. It has words.") for j in range(5)))
        )
        for i in range(4)
    )
    s = script(*sections)
    chunks = plan_chunks(s, 30, PAUSES)
    assert_well_formed(chunks, 30)
    assert words([c.text for c in chunks]) == words([seg.text for seg in s.segments()])
    assert [c.section for c in chunks] == sorted(c.section for c in chunks)
    assert chunks[0].section == -1 and chunks[-1].section == len(sections)


def test_rejects_non_positive_limit() -> None:
    with pytest.raises(ValueError):
        plan_chunks(script(), 0, PAUSES)


# --- spoken text: speak(), display text for transcripts ---------------------------------------


def test_speak_changes_what_is_said_not_what_is_shown() -> None:
    s = script(Section(None, (para("It rose 3.5% in 2023. RLHF helped."),)))
    chunks = plan_chunks(s, 1000, PAUSES, speak=speaker("default", engine="pyttsx3"))
    body = next(c for c in chunks if c.section == 0)
    assert body.text == ("It rose three point five percent in twenty twenty-three. R-L-H-F helped.")
    assert body.display == "It rose 3.5% in 2023. RLHF helped."
    assert body.shown == body.display
    intro = chunks[0]
    assert intro.display is None and intro.shown == intro.text  # nothing to normalise


def test_speak_limit_applies_to_the_spoken_text() -> None:
    # Each "1%" becomes "one percent": the spoken text is far longer than the written.
    text = " ".join(f"{n}%" for n in range(1, 60)) + "."
    s = script(Section(None, (para(text),)))
    chunks = [
        c
        for c in plan_chunks(s, 80, PAUSES, speak=speaker("default", engine="pyttsx3"))
        if c.section == 0
    ]
    assert len(chunks) > 1
    assert all(0 < len(c.text) <= 80 for c in chunks)
    assert " ".join(c.shown for c in chunks).split() == text.split()


def test_stand_in_segment_carries_its_display_on_the_first_chunk() -> None:
    seg = Segment(SegmentKind.PARAGRAPH, "A displayed equation is omitted.", "\\[ x = 1 \\]")
    chunks = plan_chunks(script(Section(None, (seg,))), 1000, PAUSES)
    body = [c for c in chunks if c.section == 0]
    assert [(c.text, c.display) for c in body] == [
        ("A displayed equation is omitted.", "\\[ x = 1 \\]")
    ]


def test_without_speak_chunks_are_unchanged_and_have_no_display() -> None:
    s = script(Section(None, (para("It rose 3.5% in 2023."),)))
    body = [c for c in plan_chunks(s, 1000, PAUSES) if c.section == 0]
    assert [(c.text, c.display) for c in body] == [("It rose 3.5% in 2023.", None)]
