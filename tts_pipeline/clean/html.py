"""Post body HTML -> sections of speakable segments.

The reader walks the lxml tree once. Each element is handed to a *handler* chosen first by a
predicate (class / attribute based: footnotes, math) and then by tag; anything unknown is read
as inline text (block tags flush a paragraph around it). Richer treatments of footnotes, math,
images, tables or code plug in by replacing one entry in ``RULES`` or ``TAG_HANDLERS``.

Everything that leaves this module has been through ``normalise_text``: no markup, no URLs,
no non-breaking spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import lxml.etree
import lxml.html

from tts_pipeline.clean.tex import speak_tex
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Section, Segment, SegmentKind

Element = Any  # lxml.html.HtmlElement; lxml ships no type stubs here
Handler = Callable[["Reader", Element], None]

FOOTNOTES_TITLE = "Footnotes"
TABLE_OMITTED = "A table is omitted."
CODE_OMITTED = "A code block is omitted."
EQUATION = "an equation"

_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\ufe0e\ufe0f\u21a9]")
_SPACE = re.compile(r"\s+")  # str patterns: also matches U+00A0 and the other Unicode spaces
_URL = re.compile(r"\b(?:https?://|www\.)([^\s/?#<>\"']+)[^\s<>\"]*", re.IGNORECASE)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])(?=\s|$)")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SPEAKABLE = re.compile(r"[^\W_]")  # at least one letter or digit
_PARAGRAPH_BREAK = re.compile(r"\n *\n")
_RSS_PREFIX = re.compile(
    r"^\s*Published on\s+\w+\s+\d{1,2},\s+\d{4}\s+\d{1,2}:\d{2}\s*[AP]M\s+GMT\s*", re.IGNORECASE
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_FOOTNOTE_LABEL = re.compile(r"^\s*\[?\s*\d+\s*\]?\s*$")
_FILE_NAME = re.compile(r"^\S+\.(?:png|jpe?g|gif|svg|webp|avif|bmp)$", re.IGNORECASE)

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "center", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "html", "li", "main",
    "nav", "ol", "p", "section", "summary", "ul",
})  # fmt: skip
SILENT_TAGS = frozenset({
    "audio", "button", "canvas", "embed", "head", "iframe", "input", "link", "meta", "noscript",
    "object", "script", "select", "source", "style", "svg", "template", "textarea", "title",
    "track", "video",
})  # fmt: skip


def normalise_text(text: str) -> str:
    """Plain text as it should reach the engine: one line, single spaces, no URLs."""
    text = _INVISIBLE.sub("", text)
    text = _SPACE.sub(" ", text)
    # A bare URL as link text: say where it goes, never spell it out.
    text = _URL.sub(lambda m: "a link to " + m.group(1).removeprefix("www."), text)
    text = _EMPTY_BRACKETS.sub("", text)
    # Removed markers (footnote refs, math) can leave "word ." behind.
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def is_speakable(text: str) -> bool:
    return bool(_SPEAKABLE.search(text))


class Reader:
    """Collects inline text into paragraphs and paragraphs into sections."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.footnotes: list[Segment] = []
        self._title: str | None = None
        self._segments: list[Segment] = []
        self._parts: list[str] = []
        self._prefix = ""

    def add_text(self, text: str | None) -> None:
        if text:
            # Source newlines are soft (Markdown posts wrap inside <p>); only <br> breaks lines.
            self._parts.append(_SPACE.sub(" ", text))

    def line_break(self) -> None:
        self._parts.append("\n")

    def set_prefix(self, prefix: str) -> None:
        """Say ``prefix`` before the next paragraph (list numbers, "Footnote 1: ")."""
        self.flush()
        self._prefix = prefix

    def flush(self) -> None:
        raw = "".join(self._parts)
        self._parts.clear()
        # Two <br> in a row separate paragraphs in older HTML; one is just a pause-free space.
        for block in _PARAGRAPH_BREAK.split(raw):
            self.paragraph(block)

    def paragraph(self, text: str) -> None:
        text = normalise_text(text)
        if not is_speakable(text):
            return
        text, self._prefix = self._prefix + text, ""
        self._segments.append(Segment(SegmentKind.PARAGRAPH, text))

    def heading(self, title: str) -> None:
        self.flush()
        self._prefix = ""
        title = normalise_text(title)
        if not is_speakable(title):
            return
        self._close_section()
        self._title = title
        self._segments = [Segment(SegmentKind.HEADING, title)]

    def segments(self) -> list[Segment]:
        """Everything read so far, flattened (for sub-readers: headings, captions, notes)."""
        self.flush()
        self._close_section()
        return [seg for section in self.sections for seg in section.segments]

    def finish(self) -> tuple[Section, ...]:
        self.flush()
        self._close_section()
        if self.footnotes:
            # A chapter of its own so listeners can skip it; each note says "Footnote N".
            self.sections.append(Section(FOOTNOTES_TITLE, tuple(self.footnotes)))
            self.footnotes = []
        return tuple(self.sections)

    def _close_section(self) -> None:
        if self._segments:
            self.sections.append(Section(self._title, tuple(self._segments)))
        self._segments = []


# --- walking ---------------------------------------------------------------------------------


def read_children(reader: Reader, el: Element) -> None:
    reader.add_text(el.text)
    for child in el:
        if isinstance(child.tag, str):  # comments and processing instructions have no str tag
            read_element(reader, child)
        reader.add_text(child.tail)


def read_element(reader: Reader, el: Element) -> None:
    handler_for(el)(reader, el)


def handler_for(el: Element) -> Handler:
    for predicate, handler in RULES:
        if predicate(el):
            return handler
    tag = el.tag.lower()
    if tag in TAG_HANDLERS:
        return TAG_HANDLERS[tag]
    return read_block if tag in BLOCK_TAGS else read_children


def read_block(reader: Reader, el: Element) -> None:
    reader.flush()
    read_children(reader, el)
    reader.flush()


def skip(reader: Reader, el: Element) -> None:
    """Never spoken (its tail still is: the walker reads tails, not handlers)."""


def text_of(el: Element) -> str:
    sub = Reader()
    read_children(sub, el)
    return " ".join(seg.text for seg in sub.segments())


def _classes(el: Element) -> set[str]:
    return set(str(el.get("class", "")).split())


# --- headings, lists, breaks -----------------------------------------------------------------


def read_heading(reader: Reader, el: Element) -> None:
    reader.heading(text_of(el))


def read_list(reader: Reader, el: Element) -> None:
    reader.flush()
    ordered = el.tag.lower() == "ol"
    number = _int(el.get("start"), 1)
    reader.add_text(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag.lower() == "li":
            # Each item is its own segment, so it gets a paragraph pause; numbers are said
            # the way a reader would ("3. ..."), bullets are not spoken.
            reader.set_prefix(f"{number}. " if ordered else "")
            read_children(reader, child)
            reader.set_prefix("")
            number += 1
        elif isinstance(child.tag, str):
            read_element(reader, child)
        reader.add_text(child.tail)
    reader.flush()


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


# --- footnotes -------------------------------------------------------------------------------


def is_footnote_section(el: Element) -> bool:
    return el.get("data-footnote-section") is not None or (
        el.tag in ("section", "ol", "div")
        and bool(_classes(el) & {"footnotes", "footnote-section"})
    )


def is_footnote_ref(el: Element) -> bool:
    if el.get("data-footnote-reference") is not None or el.get("role") == "doc-noteref":
        return True
    if _classes(el) & {"footnote-ref", "footnote-reference"}:
        return True
    href = str(el.get("href", ""))
    return (
        el.tag == "a"
        and href.startswith("#fn")
        and not href.startswith("#fnref")
        and bool(_FOOTNOTE_LABEL.match(el.text_content()))
    )


def is_footnote_backlink(el: Element) -> bool:
    if _classes(el) & {"footnote-backref", "footnote-back-link"}:
        return True
    return el.tag == "a" and str(el.get("href", "")).startswith("#fnref")


def read_footnote_section(reader: Reader, el: Element) -> None:
    """Keep the notes for the end of the post, each introduced as "Footnote N: "."""
    reader.flush()
    # Top-level items only: a note may itself contain a list.
    items = el.xpath(".//li[not(ancestor::li)]")
    number = _int(el.get("start"), 1)
    for li in items:
        number = _int(li.get("data-footnote-index"), number)
        sub = Reader()
        sub.set_prefix(f"Footnote {number}: ")
        read_children(sub, li)
        reader.footnotes.extend(Segment(SegmentKind.PARAGRAPH, s.text) for s in sub.segments())
        number += 1


# --- math ------------------------------------------------------------------------------------

_MATH_CLASSES = frozenset({"math-tex", "mjpage", "mjx-chtml", "mjx-math", "MathJax"})


def is_math(el: Element) -> bool:
    tag = el.tag.lower()
    return tag in ("mjx-container", "math") or bool(_classes(el) & _MATH_CLASSES)


def read_math(reader: Reader, el: Element) -> None:
    """Say the TeX from the accessible label; the glyph spans beneath are never read."""
    tex = ""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        tex = str(node.get("data-tex") or node.get("aria-label") or node.get("alttext") or "")
        if tex:
            break
    if not tex and ("math-tex" in _classes(el) or el.tag.lower() == "math"):
        tex = el.text_content()  # un-rendered "\(x\)" or plain MathML tokens
    spoken = speak_tex(tex) if tex.strip() else ""
    reader.add_text(f" {spoken or EQUATION} ")


# --- images, tables, code --------------------------------------------------------------------


def _alt_text(el: Element) -> str:
    alt = normalise_text(str(el.get("alt") or ""))
    # Editors often put the file name or URL in alt; that is not a description.
    return "" if _FILE_NAME.match(alt) or alt.startswith("a link to") else alt


def _say_image(reader: Reader, description: str) -> None:
    reader.flush()
    if is_speakable(description):
        reader.paragraph(f"Image: {description}")


def read_image(reader: Reader, el: Element) -> None:
    _say_image(reader, _alt_text(el))


def read_figure(reader: Reader, el: Element) -> None:
    if any(True for _ in el.iter("table")):
        read_table(reader, el)
        return
    images = list(el.iter("img"))
    if not images:
        read_block(reader, el)
        return
    caption = " ".join(text_of(c) for c in el.iter("figcaption"))
    _say_image(reader, normalise_text(caption) or _alt_text(images[0]))


def read_table(reader: Reader, el: Element) -> None:
    reader.flush()
    reader.paragraph(TABLE_OMITTED)


def read_code_block(reader: Reader, el: Element) -> None:
    reader.flush()
    reader.paragraph(CODE_OMITTED)


# --- dispatch tables -------------------------------------------------------------------------


def is_hidden(el: Element) -> bool:
    return el.get("aria-hidden") == "true" or el.get("hidden") is not None


# Checked in order before the tag table: class/attribute rules win over the tag.
RULES: list[tuple[Callable[[Element], bool], Handler]] = [
    (is_footnote_section, read_footnote_section),
    (is_footnote_ref, skip),
    (is_footnote_backlink, skip),
    (is_math, read_math),
    (is_hidden, skip),
]

TAG_HANDLERS: dict[str, Handler] = {
    **{tag: skip for tag in SILENT_TAGS},
    **{f"h{n}": read_heading for n in range(1, 7)},
    "ul": read_list,
    "ol": read_list,
    "br": lambda reader, el: reader.line_break(),
    "hr": lambda reader, el: reader.flush(),
    "img": read_image,
    "figure": read_figure,
    "table": read_table,
    "pre": read_code_block,
}


# --- entry point -----------------------------------------------------------------------------


def parse_body(html: str) -> Element:
    """The <body> element of ``html`` (a fragment or a whole document)."""
    # The text is already decoded: an XML declaration naming an encoding makes lxml refuse it.
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        return lxml.html.document_fromstring(html).body
    except lxml.etree.ParserError:
        return None  # libxml2 only gives up on documents with no content at all
    except ValueError as exc:  # e.g. an XML encoding declaration inside a str
        raise CleanError(f"post body HTML could not be parsed: {exc}") from exc


def strip_rss_wrapping(body: Element) -> None:
    """Drop the old RSS "Published on … GMT" prefix and the trailing "Discuss" link."""
    if body.text:
        body.text = _RSS_PREFIX.sub("", body.text)
    last = next((el for el in reversed(body) if isinstance(el.tag, str)), None)
    if last is None or last.tag != "a" or (last.tail or "").strip():
        return
    if last.text_content().strip() == "Discuss":
        last.drop_tree()


def html_to_sections(html: str) -> tuple[Section, ...]:
    """Body HTML -> sections; empty when nothing in it is speakable."""
    body = parse_body(html) if html.strip() else None
    if body is None:
        return ()
    strip_rss_wrapping(body)
    reader = Reader()
    read_children(reader, body)
    return reader.finish()
