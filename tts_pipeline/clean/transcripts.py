"""Transcripts written as plain paragraphs: each turn opens with the speaker's name in bold
("<p><strong>Alice:</strong> I think ...</p>"), as older dialogues and interviews are.

Bold lead-ins are common in ordinary posts too ("<strong>Summary:</strong> ..."), so a body is
read as a transcript only when it evidently is one: at least ``MIN_TURNS`` paragraphs open with
a name, the names are few and they come back (at least two speakers with two turns each).
Each turn, with the paragraphs, lists and quotes that follow it up to the next named
paragraph, heading or rule, is then wrapped in the same ``section.dialogue-message`` element
ForumMagnum's dialogue editor writes, so the walker reads it as a turn like any other.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import lxml.html

Element = Any  # lxml.html.HtmlElement

MIN_TURNS = 4
MAX_SPEAKERS = 8
_NAME = re.compile(r"^[A-Z][\w.'\u2019-]*(?: [A-Z][\w.'\u2019-]*){0,2}$")
_COLON = re.compile(r"^\s*[:\uff1a]")
_BOLD = frozenset({"strong", "b"})
_CARRIED = frozenset({"p", "ul", "ol", "blockquote", "figure", "pre"})
_OUTSIDE = frozenset({"table", "li", "blockquote", "details"})
_OUTSIDE_CLASSES = frozenset({"dialogue-message", "footnotes", "footnote-section"})


def _tag(el: Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def opening_name(p: Element) -> str:
    """The speaker's name a paragraph opens with in bold, or ""."""
    if (p.text or "").strip() or not len(p) or _tag(p[0]) not in _BOLD:
        return ""
    bold = p[0]
    name = " ".join(bold.text_content().split())
    if name.endswith(":"):
        name = name[:-1].rstrip()
    elif not _COLON.match(bold.tail or ""):
        return ""  # a name, not a bold phrase: it is followed by a colon
    return name if _NAME.match(name) else ""


def _inside_other_block(p: Element) -> bool:
    parent = p.getparent()
    while parent is not None:
        if _tag(parent) in _OUTSIDE or _OUTSIDE_CLASSES & set(str(parent.get("class", "")).split()):
            return True
        parent = parent.getparent()
    return False


def is_transcript(names: list[str]) -> bool:
    """Whether these paragraph-opening names are a conversation's speakers."""
    counts = Counter(names)
    recurring = [n for n, c in counts.items() if c >= 2]
    return (
        len(names) >= MIN_TURNS
        and len(recurring) >= 2
        and len(counts) <= min(MAX_SPEAKERS, len(names) // 2)
    )


def mark_turns(body: Element) -> int:
    """Wrap each bold-name turn of a transcript body in a dialogue section; return how many."""
    named = [
        (p, name)
        for p in body.iter("p")
        if not _inside_other_block(p) and (name := opening_name(p))
    ]
    if not is_transcript([name for _, name in named]):
        return 0
    for p, name in named:
        _wrap(p, name)
    return len(named)


def _wrap(p: Element, name: str) -> None:
    parent = p.getparent()
    run = [p]
    sibling = p.getnext()
    while sibling is not None and _tag(sibling) in _CARRIED and not opening_name(sibling):
        run.append(sibling)
        sibling = sibling.getnext()
    section = lxml.html.Element("section")
    section.set("class", "dialogue-message")
    section.set("display-name", name)
    parent.insert(parent.index(p), section)
    for el in run:
        section.append(el)  # moves it, with its tail
    bold = p[0]
    bold.drop_tree()  # the name is said by the turn, not read as text
    p.text = _COLON.sub("", p.text or "", count=1).lstrip()
