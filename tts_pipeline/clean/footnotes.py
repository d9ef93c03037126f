"""Footnotes in the three ForumMagnum formats, plus Lexical hovernotes.

1. markdown-it-footnote: ``sup.footnote-ref > a[href=#fn…]`` and ``section.footnotes > ol >
   li.footnote-item`` ending in ``a.footnote-backref`` (↩︎).
2. CKEditor: ``span.footnote-reference[data-footnote-id]`` and ``ol.footnote-section >
   li.footnote-item`` with a ``span.footnote-back-link`` (^) and ``div.footnote-content``.
3. The current Markdown editor: format 2's attributes with format 1's back-links.
Hovernotes (``span.hovernote[data-footnote-id]``) wrap text that is read as usual and cite a
note kept in the same footnote list.

The notes are read first (``collect_notes``); the walk then skips the footnote list, and each
reference only *cites* its note, which the Reader places after the paragraph, at the end of the
section or at the end of the post (``CleanOptions.footnotes``). Markers and back-links are
never spoken.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tts_pipeline.clean.reader import Note, NoteBook, Reader

Element = Any  # lxml.html.HtmlElement
Walk = Callable[[Reader, Element], None]  # reads an element's children into a reader

_LABEL = re.compile(r"^\s*\[?\s*(\d+)\s*\]?\s*$")


def _classes(el: Element) -> set[str]:
    return set(str(el.get("class", "")).split())


def _int(value: object, default: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def is_footnote_section(el: Element) -> bool:
    if el.get("data-footnote-section") is not None or el.get("role") == "doc-endnotes":
        return True
    return el.tag in ("section", "ol", "div") and bool(
        _classes(el) & {"footnotes", "footnote-section"}
    )


def is_hovernote(el: Element) -> bool:
    return el.get("data-hovernote") is not None or "hovernote" in _classes(el)


def is_footnote_ref(el: Element) -> bool:
    if is_hovernote(el):
        return False
    if el.get("data-footnote-reference") is not None or el.get("role") == "doc-noteref":
        return True
    if _classes(el) & {"footnote-ref", "footnote-reference"}:
        return True
    href = str(el.get("href", ""))
    return (
        el.tag == "a"
        and href.startswith("#fn")
        and not href.startswith("#fnref")
        and bool(_LABEL.match(el.text_content()))
    )


def is_footnote_backlink(el: Element) -> bool:
    if _classes(el) & {"footnote-backref", "footnote-back-link"}:
        return True
    if el.get("data-footnote-back-link") is not None:
        return True
    return el.tag == "a" and str(el.get("href", "")).startswith("#fnref")


def _ref_ids(el: Element) -> list[str]:
    """Every id a reference may use to name its note: data-footnote-id, then link targets."""
    ids = [str(el.get("data-footnote-id") or "")]
    links = [el] if el.tag == "a" else list(el.iter("a"))
    ids += [str(a.get("href", "")).removeprefix("#") for a in links]
    return [i for i in ids if i]


def collect_notes(body: Element, walk: Walk, reader: Reader) -> NoteBook:
    """Read every footnote list in ``body`` into a NoteBook (ids -> notes), in order."""
    book = reader.notes
    for section in [el for el in body.iter() if isinstance(el.tag, str)]:
        if not is_footnote_section(section) or _inside_footnotes(section):
            continue
        number = _int(section.get("start"), 1)
        # Top-level items only: a note may itself contain a list.
        for li in section.xpath(".//li[not(ancestor::li)]"):
            number = _int(li.get("data-footnote-index"), number)
            sub = Reader(reader.options, NoteBook(), reader.macros)
            sub._hold = 1  # notes inside notes are not placed
            walk(sub, li)
            paragraphs = [s.text for s in sub.segments()]
            ids = [str(li.get("id") or ""), str(li.get("data-footnote-id") or "")]
            book.add(Note(number, paragraphs), ids)
            number += 1
    return book


def _inside_footnotes(el: Element) -> bool:
    parent = el.getparent()
    while parent is not None:
        if isinstance(parent.tag, str) and is_footnote_section(parent):
            return True
        parent = parent.getparent()
    return False


def read_footnote_ref(reader: Reader, el: Element) -> None:
    """The marker is silent; its note is cited for the reader to place."""
    note = reader.notes.find(_ref_ids(el))
    if note is not None:
        reader.cite(note)


def make_hovernote_reader(walk: Walk) -> Walk:
    def read_hovernote(reader: Reader, el: Element) -> None:
        walk(reader, el)  # the highlighted text is part of the sentence
        note = reader.notes.find(_ref_ids(el))
        if note is not None:
            reader.cite(note)

    return read_hovernote
