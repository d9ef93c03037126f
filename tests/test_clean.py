"""The clean stage: body HTML -> spoken script (golden files), Post -> Script, placement options.

Golden files: ``tests/golden/<name>.html`` (inputs written for these tests) and ``<name>.txt``
(the spoken script: ``render_sections`` with the default voice's speaker). An input may start
with ``<!-- clean: key=value, ... -->`` to set ``CleanOptions``. Regenerate after an intended
change with ``UPDATE_GOLDEN=1 pytest tests/test_clean.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tts_pipeline.clean import CleanOptions, clean, render_marked, render_sections, speaker
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.clean.reader import tidy_text
from tts_pipeline.config import parse_config
from tts_pipeline.errors import CleanError, ConfigError
from tts_pipeline.models import Post, Section, SegmentKind, Templates

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_INPUTS = sorted(GOLDEN.glob("*.html"))
FORBIDDEN = ("http", "{", "}", "↩", "[1]", "\u00a0", "&nbsp;", "<", ">", "display:", "font-size")
SPEAK = speaker("default", engine="pyttsx3")
_OPTIONS = re.compile(r"^<!--\s*clean:(.*?)-->")


def golden_options(html: str) -> CleanOptions:
    found = _OPTIONS.match(html)
    if not found:
        return CleanOptions()
    pairs = (item.split("=", 1) for item in found.group(1).split(",") if item.strip())
    return CleanOptions(**{k.strip(): _value(v.strip()) for k, v in pairs})  # type: ignore[arg-type]


def _value(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def make_post(html: str, **changes: object) -> Post:
    post = Post(
        id="abcdefghijkmnopqr",
        title="A Test Post",
        authors=("Ada Lovelace",),
        published=datetime(2022, 6, 5, 22, 5, 52, tzinfo=UTC),
        url="https://www.alignmentforum.org/posts/abcdefghijkmnopqr/a-test-post",
        html=html,
        site_name="The AI Alignment Forum",
        prefix="AF",
    )
    return replace(post, **changes)  # type: ignore[arg-type]


def assert_clean_text(text: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in text, f"{bad!r} in {text!r}"
    assert "  " not in text and text == text.strip()


def all_texts(sections: tuple[Section, ...]) -> list[str]:
    return [segment.text for section in sections for segment in section.segments]


# --- golden files ----------------------------------------------------------------------------


def test_golden_inputs_exist() -> None:
    assert len(GOLDEN_INPUTS) >= 20


@pytest.mark.parametrize("source", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden(source: Path) -> None:
    html = source.read_text(encoding="utf-8")
    sections = html_to_sections(html, golden_options(html))
    actual = render_sections(sections, SPEAK)
    expected_path = source.with_suffix(".txt")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"no golden output; run with UPDATE_GOLDEN=1: {expected_path}"
    assert actual == expected_path.read_text(encoding="utf-8")
    for text in all_texts(sections):
        assert_clean_text(text)
        assert_clean_text(SPEAK(text))


# --- footnotes -------------------------------------------------------------------------------


def test_footnote_after_its_paragraph_by_default() -> None:
    texts = all_texts(html_to_sections((GOLDEN / "ckeditor_footnotes.html").read_text()))
    assert texts == [
        "Gardeners disagree about mulch, and about compost too.",
        "Footnote 1: Straw, mostly.",
        "Footnote 2: Hot composting kills seeds.",
        "Cold composting is slower but easier.",
        "End of footnote.",  # a long note read mid-text says where it ends
        "Either way, the tomatoes grew.",
    ]


@pytest.mark.parametrize("name", ["markdown_it_footnotes", "markdown_editor_footnotes"])
@pytest.mark.parametrize("placement", ["paragraph", "section", "end"])
def test_each_format_reads_each_note_once(name: str, placement: str) -> None:
    html = (GOLDEN / f"{name}.html").read_text()
    sections = html_to_sections(html, CleanOptions(footnotes=placement))
    texts = all_texts(sections)
    notes = [t for t in texts if t.startswith("Footnote ")]
    assert len(notes) == len(set(notes)) >= 1
    assert not any(re.search(r"\[\d\]|↩|\^", t) for t in texts)
    if placement == "end":
        assert sections[-1].title == "Footnotes"
        assert all(s.title != "Footnotes" for s in sections[:-1])
    else:
        assert all(s.title != "Footnotes" for s in sections)


def test_placement_by_section_and_at_end() -> None:
    html = (GOLDEN / "footnotes_by_section.html").read_text()
    by_section = html_to_sections(html, CleanOptions(footnotes="section"))
    soil = all_texts(by_section[:1])
    assert soil[-2:] == ["Footnote 1: Mostly.", "Footnote 2: Quickly."]
    assert by_section[-1].title == "Footnotes"  # the note nothing cites still gets read
    assert all_texts(by_section[-1:]) == ["Footnote 3: Never cited."]
    at_end = html_to_sections(html, CleanOptions(footnotes="end"))
    assert all_texts(at_end[-1:]) == [
        "Footnote 1: Mostly.",
        "Footnote 2: Quickly.",
        "Footnote 3: Never cited.",
    ]


def test_notes_cited_in_lists_and_quotes_wait_for_the_block() -> None:
    texts = all_texts(html_to_sections((GOLDEN / "footnotes_in_lists.html").read_text()))
    assert texts.index("Footnote 1: Per kilogram, in 2023.") == texts.index("3. Taste.") + 1
    assert texts.index("Footnote 2: Said a grocer.") == texts.index("End quote.") + 1


def test_hovernote_text_is_read_and_its_note_placed() -> None:
    texts = all_texts(html_to_sections((GOLDEN / "hovernotes.html").read_text()))
    assert texts[:2] == ["Before highlighted text after.", "Footnote 1: The hovernote body."]


# --- math ------------------------------------------------------------------------------------


def test_style_and_glyph_spans_never_read() -> None:
    texts = " ".join(all_texts(html_to_sections((GOLDEN / "mathjax2.html").read_text())))
    assert "a squared plus b squared equals c squared" in texts
    assert "mjx" not in texts and "inline-block" not in texts and "\u03b1" not in texts


def test_long_display_equation_has_stand_in_and_keeps_tex_for_the_transcript() -> None:
    sections = html_to_sections((GOLDEN / "math_more.html").read_text())
    omitted = [s for s in sections[0].segments if s.text == "A displayed equation is omitted."]
    assert len(omitted) == 2  # an aligned environment and a very long polynomial
    assert omitted[0].display is not None and "\\begin{aligned}" in omitted[0].display
    assert omitted[1].shown.startswith("\\[ f(x) = a_0")
    script = clean(make_post((GOLDEN / "math_more.html").read_text()), Templates())
    assert "a_9 x^9 \\]" in script.text()  # the transcript (.txt) shows the equation


def test_equation_word_limit_is_an_option() -> None:
    html = (
        '<p><span class="math-tex"><span class="mjpage mjpage__block">'
        '<span class="mjx-math" aria-label="x^2 + y^2 = 1"></span></span></span></p>'
    )
    assert all_texts(html_to_sections(html)) == ["Equation: x squared plus y squared equals 1."]
    short = html_to_sections(html, CleanOptions(equation_max_words=3))
    assert all_texts(short) == ["A displayed equation is omitted."]


# --- other structures ------------------------------------------------------------------------


def test_images_mid_paragraph_do_not_split_it() -> None:
    texts = all_texts(html_to_sections((GOLDEN / "images_inline.html").read_text()))
    assert texts[:3] == [
        "The chart shows the trend, and this one too.",
        "Image: Loss falls with compute.",
        "Image.",
    ]


def test_tables_small_read_large_skipped() -> None:
    texts = all_texts(html_to_sections((GOLDEN / "tables_read.html").read_text()))
    assert "A table, titled Results, with 2 rows and 2 columns." in texts
    assert "Model: Small; Score: 61.5%." in texts
    assert "A table, with 6 rows and 6 columns, is omitted." in texts


def test_headings_start_sections() -> None:
    sections = html_to_sections("<p>Lead.</p><h2>One</h2><p>a</p><h3><strong>Two</strong></h3>")
    assert [s.title for s in sections] == [None, "One", "Two"]
    assert sections[1].segments[0].kind is SegmentKind.HEADING
    assert sections[2].segments == (sections[2].segments[0],)


def test_xml_declaration_tolerated() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?><p>Declared.</p>'
    assert all_texts(html_to_sections(html)) == ["Declared."]


@pytest.mark.parametrize(
    ("raw", "tidy"),
    [
        ("a\u00a0\u00a0b\n c\u200b", "a b c"),
        ("see https://www.example.org/x?y=1 now", "see a link to example.org now"),
        ("or www.example.com/page.", "or a link to example.com"),
        ("ftp://files.example.net/a", "a link to files.example.net"),
        ("word .", "word."),
        ("note ↩\ufe0e", "note"),
        ("escaped <b>tags</b> go", "escaped tags go"),
        ("bell\x07 and \u202eoverride", "bell and override"),
        ("raw \\(x^2\\) math and \\alpha", "raw x squared math and alpha"),
        ("2^10 and {braces}", "2 to the power of 10 and braces"),
    ],
)
def test_tidy_text(raw: str, tidy: str) -> None:
    assert tidy_text(raw) == tidy


def test_rss_prefix_only_stripped_at_start() -> None:
    html = "<p>Published on March 3, 2024 9:05 PM GMT was the date.</p>"
    assert all_texts(html_to_sections(html)) == [
        "Published on March 3, 2024 9:05 PM GMT was the date."
    ]


def test_discuss_in_middle_kept() -> None:
    html = '<p>x</p><a href="#comments">Discuss</a><p>more</p>'
    assert all_texts(html_to_sections(html)) == ["x", "Discuss", "more"]


@pytest.mark.parametrize(
    "html", ["", "   \n", "<p>&nbsp;</p>", "<!-- nothing -->", "<style>p{}</style><p> </p>"]
)
def test_nothing_speakable(html: str) -> None:
    assert html_to_sections(html) == ()


def test_deep_nesting_is_read_not_crashed() -> None:
    html = "<div>" * 300 + "deep text" + "</div>" * 300
    assert all_texts(html_to_sections(html)) == ["deep text"]


# --- clean(), options, rendering -------------------------------------------------------------


def test_clean_builds_script() -> None:
    script = clean(make_post("<p>Hello there.</p>"), Templates())
    assert script.title == "AF - A Test Post by Ada Lovelace"
    assert script.intro.kind is SegmentKind.INTRO
    assert script.intro.text.startswith("Welcome to The Nonlinear Library")
    assert (
        "published by Ada Lovelace on June 5, 2022 on The AI Alignment Forum." in script.intro.text
    )
    assert script.outro.kind is SegmentKind.OUTRO
    assert [s.text for s in script.sections[0].segments] == ["Hello there."]


def test_clean_passes_options() -> None:
    html = (GOLDEN / "footnotes_by_section.html").read_text()
    script = clean(make_post(html), Templates(), CleanOptions(footnotes="end"))
    assert script.sections[-1].title == "Footnotes"
    assert len(script.sections[-1].segments) == 3


@pytest.mark.parametrize("html", ["", "  \n\t", "<p>&nbsp;</p><p> </p>", "<script>x()</script>"])
def test_clean_rejects_unspeakable_body(html: str) -> None:
    with pytest.raises(CleanError) as info:
        clean(make_post(html), Templates())
    message = str(info.value)
    assert "\n" not in message and "a-test-post" in message


def test_clean_is_pure() -> None:
    post = make_post((GOLDEN / "lists.html").read_text())
    assert clean(post, Templates()) == clean(post, Templates())


def test_render_marked() -> None:
    html = "<p>Lead.</p><h2>Two</h2><p>It costs $5.</p>"
    script = clean(make_post(html), Templates())
    written = render_marked(script)
    assert written.splitlines()[0] == "== intro"
    assert "== section 1\nLead.\n== section 2: Two\n# Two\nIt costs $5.\n== outro\n" in written
    spoken = render_marked(script, SPEAK)
    assert "It costs five dollars." in spoken and "$" not in spoken


def test_config_clean_table() -> None:
    config = parse_config({"clean": {"footnotes": "end", "table_max_cells": 12}})
    assert config.clean == CleanOptions(footnotes="end", table_max_cells=12)
    assert parse_config({}).clean == CleanOptions()
    for bad in ({"footnotes": "margin"}, {"colour": "red"}, {"table_max_cells": -1}):
        with pytest.raises(ConfigError, match=r"\[clean\]"):
            parse_config({"clean": bad})
