"""The cleaner on real forum posts from ``../shared/fixtures`` (skipped when that folder is absent).

Golden without copying: the posts' text belongs to their authors, so the expected spoken script
is stored as one short hash per line (``golden/shared_fixtures.json``), and a mismatch reports
the line that changed, rendered from the fixture at test time. Regenerate with
``UPDATE_GOLDEN=1 pytest tests/test_clean_fixtures.py`` and review the reported lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tts_pipeline.clean import clean, render_sections, speaker
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.models import Post, Section, SegmentKind, Templates

GOLDEN = Path(__file__).parent / "golden" / "shared_fixtures.json"
SPEAK = speaker("default", engine="pyttsx3")


def agi_ruin(shared: Path) -> tuple[str, dict[str, object]]:
    data = json.loads((shared / "forummagnum" / "post_agi-ruin_graphql.json").read_text())
    result = data["data"]["post"]["result"]
    return str(result["htmlBody"]), result


def rss_item(shared: Path) -> str:
    return (shared / "forummagnum" / "rss_description_G9HdpyREaCbFJjKu5.html").read_text()


def texts(sections: tuple[Section, ...]) -> list[str]:
    return [segment.text for section in sections for segment in section.segments]


def _hashes(rendered: str) -> list[str]:
    return [hashlib.sha256(line.encode()).hexdigest()[:16] for line in rendered.splitlines()]


@pytest.mark.parametrize("name", ["agi_ruin", "rss_item"])
def test_golden_hashes(shared_fixtures: Path, name: str) -> None:
    html = agi_ruin(shared_fixtures)[0] if name == "agi_ruin" else rss_item(shared_fixtures)
    rendered = render_sections(html_to_sections(html), SPEAK)
    actual = _hashes(rendered)
    stored = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if os.environ.get("UPDATE_GOLDEN") == "1":
        stored[name] = actual
        GOLDEN.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    expected = stored.get(name)
    assert expected, f"no golden hashes for {name}; run with UPDATE_GOLDEN=1"
    lines = rendered.splitlines()
    for number, (got, want) in enumerate(zip(actual, expected, strict=False), start=1):
        assert got == want, f"{name} line {number} changed: {lines[number - 1]!r}"
    assert len(actual) == len(expected), f"{name}: {len(actual)} lines, golden has {len(expected)}"


def test_agi_ruin_post(shared_fixtures: Path) -> None:
    html, result = agi_ruin(shared_fixtures)
    post = Post(
        id=str(result["_id"]),
        title=str(result["title"]),
        authors=("Eliezer Yudkowsky",),
        published=datetime(2022, 6, 5, 22, 5, 52, tzinfo=UTC),
        url=str(result["pageUrl"]),
        html=html,
        site_name="LessWrong",
        prefix="LW",
    )
    script = clean(post, Templates())
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
    contents = result["contents"]
    assert isinstance(contents, dict)
    expected = contents["wordCount"]  # 9087
    assert abs(body_words - expected) / expected < 0.03
    body = texts(script.sections)
    # The one real <ol> (inside item 24) is numbered and each item ends a sentence.
    assert any(t.startswith("1. The first thing generally, or CEV specifically") for t in body)
    assert "2. The second thing looks unworkable" in text
    # Hand-numbered paragraphs ("-3.", "1.") keep their numbers, spoken as words.
    spoken = [SPEAK(t) for t in body]
    assert any(t.startswith("minus three. I'm assuming you are already familiar") for t in spoken)
    assert any(t.startswith("one. Alpha Zero blew past") for t in spoken)
    assert "A-G-I" in " ".join(spoken) and "AGI" not in " ".join(spoken)
    assert "Yud-cow-ski" in SPEAK(script.intro.text)


def test_rss_item(shared_fixtures: Path) -> None:
    sections = html_to_sections(rss_item(shared_fixtures))
    body = texts(sections)
    joined = "\n".join(body)
    assert "Published on" not in joined and "Discuss" not in joined
    headings = [s for sec in sections for s in sec.segments if s.kind is SegmentKind.HEADING]
    assert len(headings) == 5
    notes = [t for t in body if t.startswith("Footnote")]
    assert len(notes) == 1 and notes[0].startswith("Footnote 1: In the sense that")
    assert joined.count("In the sense that I think it's hard") == 1
    # The note follows the paragraph that cites it, before the first heading's section.
    assert body.index(notes[0]) == 4 and body[3].endswith("go about doing it")
    assert sections[0].title is None and sections[1].title == headings[0].text
    assert not re.search(r"\[\d+\]|↩|\^", joined)
    # The <ul> items are separate sentences.
    assert any(t.startswith("Adding a probe score to the reward in RL") and t.endswith(".")
               for t in body)  # fmt: skip
