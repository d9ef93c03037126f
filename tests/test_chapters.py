"""Chapters: planned from the script's sections, placed on the join's sample positions."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from tts_pipeline.errors import PackagingError
from tts_pipeline.models import Pauses, Script, Section, Segment, SegmentKind
from tts_pipeline.package.chapters import (
    MAX_TITLE_CHARS,
    ChapterMark,
    chapters_json,
    clean_title,
    frames_to_ms,
    place_chapters,
    plan_chapters,
)
from tts_pipeline.package.join import ChunkSpan, Timeline
from tts_pipeline.synth.chunking import plan_chunks

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "json_chapters_1.2.schema.json").read_text("utf-8")
)


def _p(text: str) -> Segment:
    return Segment(SegmentKind.PARAGRAPH, text)


def _h(text: str) -> Segment:
    return Segment(SegmentKind.HEADING, text)


def _script(*sections: Section) -> Script:
    return Script(
        title="AF - A Post by Ada",
        intro=Segment(SegmentKind.INTRO, "Welcome. This is: A Post, by Ada."),
        sections=sections,
        outro=Segment(SegmentKind.OUTRO, "Thanks for listening."),
    )


FULL = _script(
    Section(None, (_p("Opening words. More of them."),)),
    Section("Why it works", (_h("Why it works"), _p("Because. " * 30))),
    Section("Footnotes", (_p("Footnote 1: Straw, mostly."),)),
)


def test_plan_maps_sections_to_chapters() -> None:
    chunks = plan_chunks(FULL, 60, Pauses())
    marks = plan_chapters(FULL, chunks, opening_title="  A Post\n")
    assert [m.title for m in marks] == ["Introduction", "A Post", "Why it works", "Footnotes"]
    by_index = {c.index: c for c in chunks}
    # Each chapter opens at the first chunk of its section (intro -1, sections 0..2).
    sections = [by_index[m.chunk_index].section for m in marks]
    assert sections == [-1, 0, 1, 2]
    for mark, section in zip(marks, sections, strict=True):
        assert mark.chunk_index == min(c.index for c in chunks if c.section == section)
    # The outro opens no chapter of its own: it ends the last one.
    outro_chunks = [c for c in chunks if c.section == len(FULL.sections)]
    assert outro_chunks and all(c.index > marks[-1].chunk_index for c in outro_chunks)


def test_plan_without_untitled_opening_and_with_unusable_titles() -> None:
    script = _script(
        Section("First", (_h("First"), _p("One."))),
        Section("\x00\x07 \n", (_h("x"), _p("Two."))),  # nothing printable: untitled
        Section("Last", (_h("Last"), _p("Three."))),
    )
    chunks = plan_chunks(script, 100, Pauses())
    marks = plan_chapters(script, chunks, opening_title="\x01")
    assert [m.title for m in marks] == ["Introduction", "First", "Opening", "Last"]


def test_consecutive_untitled_sections_share_one_chapter() -> None:
    script = _script(Section(None, (_p("One."),)), Section(None, (_p("Two."),)))
    marks = plan_chapters(script, plan_chunks(script, 100, Pauses()), opening_title="Post")
    assert [m.title for m in marks] == ["Introduction", "Post"]


def test_clean_title_is_one_short_line() -> None:
    assert clean_title("  a\tb\r\nc\u0085d\ud800 ") == "a b c d"
    long = clean_title("word " * 100)
    assert len(long) <= MAX_TITLE_CHARS and long.endswith("…") and "  " not in long
    assert clean_title("🎧" * 300).endswith("…")


def _timeline(rate: int = 22050) -> Timeline:
    spans = (
        ChunkSpan(0, 0, 30_001, 22_050),
        ChunkSpan(1, 52_051, 11_111, 5_512),
        ChunkSpan(2, 68_674, 9_999, 13_230),
        ChunkSpan(3, 91_903, 40_000, 0),
    )
    return Timeline(rate, 131_903, spans)


def test_place_uses_exact_sample_positions() -> None:
    timeline = _timeline()
    marks = (ChapterMark(0, "Introduction"), ChapterMark(1, "Body"), ChapterMark(3, "End"))
    chapters = place_chapters(marks, timeline)
    assert [(c.start_frame, c.end_frame) for c in chapters] == [
        (0, 52_051),
        (52_051, 91_903),
        (91_903, 131_903),
    ]
    assert chapters[1].start_s == 52_051 / 22050
    assert chapters[-1].end_s == timeline.duration_s
    with pytest.raises(PackagingError, match="chunk 9"):
        place_chapters((ChapterMark(0, "a"), ChapterMark(9, "b")), timeline)
    with pytest.raises(PackagingError, match="order"):
        place_chapters((ChapterMark(0, "a"), ChapterMark(3, "b"), ChapterMark(1, "c")), timeline)


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 16000])
def test_milliseconds_round_half_up_exactly(rate: int) -> None:
    for frame in (0, 1, 11, 12, 22, rate // 2000, rate * 3600 * 5 + 7, 2**40 + 3):
        exact = Fraction(frame * 1000, rate)
        expected = int(exact + Fraction(1, 2))  # floor(x + 1/2): half up
        assert frames_to_ms(frame, rate) == expected


def test_chapters_json_validates_and_is_exact_to_the_sample() -> None:
    timeline = _timeline()
    chapters = place_chapters(
        (ChapterMark(0, 'Q&A <b>"x"</b> 🎧 שלום'), ChapterMark(2, "Two")), timeline
    )
    data = chapters_json(
        chapters,
        title="AF - A Post\x00 by Ada",
        podcast_name="The Library",
        author="Ada",
        file_name="abc.mp3",
    )
    document = json.loads(data.decode("utf-8"))
    jsonschema.validate(document, SCHEMA)
    assert document["version"] == "1.2.0"
    assert document["title"] == "AF - A Post by Ada"  # the NUL became a space, collapsed
    starts = [c["startTime"] for c in document["chapters"]]
    assert starts == sorted(starts) and starts[0] == 0
    for entry, chapter in zip(document["chapters"], chapters, strict=True):
        assert round(entry["startTime"] * timeline.sample_rate) == chapter.start_frame
        assert round(entry["endTime"] * timeline.sample_rate) == chapter.end_frame
    assert document["chapters"][0]["title"] == 'Q&A <b>"x"</b> 🎧 שלום'


def test_schema_refuses_what_the_format_refuses() -> None:
    for bad in (
        {"chapters": []},  # no version
        {"version": "1.2.0"},  # no chapters
        {"version": "1.2.0", "chapters": [{"title": "no start"}]},
        {"version": "1.2.0", "chapters": [{"startTime": "12"}]},
        {"version": "1.2.0", "chapters": [{"startTime": 1, "toc": "no"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)
