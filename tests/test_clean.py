"""The clean stage: body HTML -> sections (golden files) and Post -> Script.

Golden files: ``tests/golden/<name>.html`` (inputs written for these tests) and ``<name>.txt``
(the expected sections). Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest``
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tts_pipeline.clean import clean
from tts_pipeline.clean.html import html_to_sections, normalise_text
from tts_pipeline.clean.tex import speak_tex
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Post, Section, SegmentKind, Templates

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_INPUTS = sorted(GOLDEN.glob("*.html"))
FORBIDDEN = ("http", "{", "}", "↩", "[1]", "\u00a0", "&nbsp;", "<", ">", "display:", "font-size")


def render(sections: tuple[Section, ...]) -> str:
    lines: list[str] = []
    for section in sections:
        lines.append(f"== section: {section.title}")
        lines.extend(f"[{segment.kind.value}] {segment.text}" for segment in section.segments)
    return "\n".join(lines) + "\n"


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
    assert len(GOLDEN_INPUTS) >= 10


@pytest.mark.parametrize("source", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden(source: Path) -> None:
    sections = html_to_sections(source.read_text(encoding="utf-8"))
    actual = render(sections)
    expected_path = source.with_suffix(".txt")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text(actual, encoding="utf-8")
    assert expected_path.exists(), f"no golden output; run with UPDATE_GOLDEN=1: {expected_path}"
    assert actual == expected_path.read_text(encoding="utf-8")
    for text in all_texts(sections):
        assert_clean_text(text)


# --- specific behaviours ---------------------------------------------------------------------


def test_headings_start_sections() -> None:
    sections = html_to_sections("<p>Lead.</p><h2>One</h2><p>a</p><h3><strong>Two</strong></h3>")
    assert [s.title for s in sections] == [None, "One", "Two"]
    assert sections[1].segments[0].kind is SegmentKind.HEADING
    assert sections[2].segments == (sections[2].segments[0],)


def test_footnotes_read_once_at_end() -> None:
    sections = html_to_sections((GOLDEN / "ckeditor_footnotes.html").read_text())
    texts = all_texts(sections)
    assert sections[-1].title == "Footnotes"
    assert texts[-3:] == [
        "Footnote 1: Straw, mostly.",
        "Footnote 2: Hot composting kills seeds.",
        "Cold composting is slower but easier.",
    ]
    assert texts[0] == "Gardeners disagree about mulch, and about compost too."
    assert not any("^" in t for t in texts)


def test_style_and_glyph_spans_never_read() -> None:
    texts = " ".join(all_texts(html_to_sections((GOLDEN / "mathjax2.html").read_text())))
    assert "a squared plus b squared equals c squared" in texts
    assert "mjx" not in texts and "inline-block" not in texts and "\u03b1" not in texts


@pytest.mark.parametrize(
    ("tex", "spoken"),
    [
        ("x^2 + y^2 = z^2", "x squared plus y squared equals z squared"),
        (r"\frac{1}{2}", "1 over 2"),
        (r"\(\alpha \cdot \beta\)", "alpha times beta"),
        (r"e^{i\pi} + 1 = 0", "e to the power of i pi plus 1 equals 0"),
        (r"\mathbb{R}^n", "R to the power of n"),
        (r"a \leq b", "a less than or equal to b"),
    ],
)
def test_speak_tex(tex: str, spoken: str) -> None:
    assert speak_tex(tex) == spoken


@pytest.mark.parametrize(
    "tex", [r"\left\{ x \in \mathbb{R} : x > 0 \right\}", r"\hat{\theta}_{t+1}", r"a_{i,j}^{(k)}"]
)
def test_speak_tex_never_reads_markup(tex: str) -> None:
    spoken = speak_tex(tex)
    assert spoken and not set(spoken) & set("{}\\^_$")


def test_xml_declaration_tolerated() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?><p>Declared.</p>'
    assert all_texts(html_to_sections(html)) == ["Declared."]


def test_normalise_text() -> None:
    assert normalise_text("a\u00a0\u00a0b\n c\u200b") == "a b c"
    assert (
        normalise_text("see https://www.example.org/x?y=1 now") == "see a link to example.org now"
    )
    assert normalise_text("word .") == "word."
    assert normalise_text("note ↩\ufe0e") == "note"


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


# --- clean() ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize("html", ["", "  \n\t", "<p>&nbsp;</p><p> </p>", "<script>x()</script>"])
def test_clean_rejects_unspeakable_body(html: str) -> None:
    with pytest.raises(CleanError) as info:
        clean(make_post(html), Templates())
    message = str(info.value)
    assert "\n" not in message and "a-test-post" in message


def test_clean_is_pure() -> None:
    post = make_post((GOLDEN / "lists.html").read_text())
    assert clean(post, Templates()) == clean(post, Templates())


# --- shared fixtures (real forum data) -------------------------------------------------------


def test_agi_ruin_post(shared_fixtures: Path) -> None:
    data = json.loads((shared_fixtures / "forummagnum" / "post_agi-ruin_graphql.json").read_text())
    result = data["data"]["post"]["result"]
    post = make_post(result["htmlBody"], title=result["title"], authors=("Eliezer Yudkowsky",))
    script = clean(post, Templates())
    assert len(script.sections) >= 4
    assert [s.title for s in script.sections] == [
        "Preamble:",
        "Section A:",
        "Section B:",
        "Section C:",
    ]
    text = script.text()
    for bad in ("&nbsp;", "\u00a0", "http", "{", "}", "font-size", "<"):
        assert bad not in text
    framing = len(script.intro.text.split()) + len(script.outro.text.split())
    body_words = len(text.split()) - framing
    expected = result["contents"]["wordCount"]  # 9087
    assert abs(body_words - expected) / expected < 0.03
    assert "2. The second thing looks unworkable" in text


def test_rss_description(shared_fixtures: Path) -> None:
    html = (shared_fixtures / "forummagnum" / "rss_description_G9HdpyREaCbFJjKu5.html").read_text()
    sections = html_to_sections(html)
    texts = all_texts(sections)
    joined = "\n".join(texts)
    assert "Published on" not in joined and "Discuss" not in joined
    headings = [s for sec in sections for s in sec.segments if s.kind is SegmentKind.HEADING]
    assert len(headings) == 5
    notes = [t for t in texts if t.startswith("Footnote")]
    assert len(notes) == 1 and notes[0].startswith("Footnote 1: In the sense that")
    assert joined.count("In the sense that I think it's hard") == 1
    assert texts[3].endswith("go about doing it")  # marker gone, nothing dangling
    assert not re.search(r"\[\d+\]|↩|\^", joined)
    for text in texts:
        assert_clean_text(text)
