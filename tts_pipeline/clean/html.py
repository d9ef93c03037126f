"""Post body HTML -> sections of speakable segments.

The walker reads the lxml tree once. Each element is handed to a *handler* chosen first by a
predicate (class / attribute based: footnotes, math, embeds, spoilers) in ``RULES`` and then by
tag in ``TAG_HANDLERS``; anything unknown is read as inline text (block tags flush a paragraph
around it). Handlers live in small modules: ``footnotes``, ``math``, ``blocks``, ``tables``.

Everything that leaves this module has been through ``reader.tidy_text``: no markup, no URLs,
no non-breaking spaces, no TeX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import lxml.etree
import lxml.html

from tts_pipeline.clean import blocks, footnotes, tables, transcripts
from tts_pipeline.clean.math import collect_macros, is_math, read_math
from tts_pipeline.clean.reader import Reader, as_sentence
from tts_pipeline.config.clean import CleanOptions
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Section

Element = Any  # lxml.html.HtmlElement; lxml ships no type stubs here
Handler = Callable[[Reader, Element], None]

_RSS_PREFIX = re.compile(
    r"^\s*Published on\s+\w+\s+\d{1,2},\s+\d{4}\s+\d{1,2}:\d{2}\s*[AP]M\s+GMT\s*", re.IGNORECASE
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Characters libxml2 refuses (controls, lone surrogates, non-characters): dropped up front so
# hostile input can never make the parser raise.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_DEPTH = 120  # deeper elements are read as plain text, without recursion
_PARSER = lxml.html.HTMLParser(huge_tree=True)

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "body", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "footer", "form", "header", "html", "li", "main", "nav", "p", "section",
    "summary", "tr",
})  # fmt: skip
SILENT_TAGS = frozenset({
    "button", "canvas", "embed", "head", "input", "link", "meta", "noscript", "object",
    "script", "select", "source", "style", "svg", "template", "textarea", "title", "track",
    "map", "area", "param", "picture", "datalist", "dialog", "colgroup", "col",
})  # fmt: skip


# --- walking ---------------------------------------------------------------------------------


def read_children(reader: Reader, el: Element, depth: int = 0) -> None:
    reader.add_text(el.text)
    for child in el:
        if isinstance(child.tag, str):  # comments and processing instructions have no str tag
            if depth > MAX_DEPTH:
                reader.add_text(f" {flat_text(child)} ")
            else:
                read_element(reader, child, depth + 1)
        reader.add_text(child.tail)


def flat_text(el: Element) -> str:
    """The text of an absurdly deep subtree, without recursion: silent elements stay silent."""
    parts: list[str] = []
    muted = 0
    for event, node in lxml.etree.iterwalk(el, events=("start", "end")):
        if not isinstance(node.tag, str):
            continue
        if event == "start":
            if muted or handler_for(node) is skip or is_math(node):
                muted += 1
            elif node.text:
                parts.append(node.text)
        else:
            if muted:
                muted -= 1
            if not muted and node.tail and node is not el:
                parts.append(node.tail)
    return " ".join(parts)


def walk(reader: Reader, el: Element) -> None:
    """Read ``el``'s content (not ``el`` itself) with the full rules: what handlers call."""
    read_children(reader, el, _depth(el))


def _depth(el: Element) -> int:
    depth = 0
    parent = el.getparent()
    while parent is not None:
        depth += 1
        parent = parent.getparent()
    return depth


def read_element(reader: Reader, el: Element, depth: int = 0) -> None:
    handler_for(el)(reader, el)


def handler_for(el: Element) -> Handler:
    for predicate, handler in RULES:
        if predicate(el):
            return handler
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag in TAG_HANDLERS:
        return TAG_HANDLERS[tag]
    return read_block if tag in BLOCK_TAGS else walk


def read_block(reader: Reader, el: Element) -> None:
    reader.flush()
    walk(reader, el)
    reader.flush()


def skip(reader: Reader, el: Element) -> None:
    """Never spoken (its tail still is: the walker reads tails, not handlers)."""


def _with_walk(
    handler: Callable[[Reader, Element, Callable[[Reader, Element], None]], None],
) -> Handler:
    return lambda reader, el: handler(reader, el, walk)


# --- headings, lists -------------------------------------------------------------------------


def read_heading(reader: Reader, el: Element) -> None:
    reader.heading(blocks.text_of(reader, el, walk))


def read_list(reader: Reader, el: Element) -> None:
    ordered = el.tag.lower() == "ol"
    number = _int(el.get("start"), 1)
    with reader.held():  # a list's footnotes come after the whole list
        reader.add_text(el.text)
        for child in el:
            if isinstance(child.tag, str) and child.tag.lower() == "li":
                # Each item is its own segment, ending like a sentence, so it gets a pause;
                # numbers are said the way a reader would ("3. ..."), bullets are not spoken.
                reader.set_prefix(f"{number}. " if ordered else "")
                item = reader.child()
                walk(item, child)
                for segment in item.segments():
                    reader.paragraph(as_sentence(segment.text), segment.display)
                reader.set_prefix("")
                number += 1
            elif isinstance(child.tag, str):
                read_element(reader, child)
            reader.add_text(child.tail)


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def read_figure(reader: Reader, el: Element) -> None:
    if any(True for _ in el.iter("table")):
        tables.read_table(reader, el, walk)
    else:
        blocks.read_figure(reader, el, walk)


def is_hidden(el: Element) -> bool:
    if el.get("aria-hidden") == "true" or el.get("hidden") is not None:
        return True
    style = str(el.get("style", "")).replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


# --- dispatch tables -------------------------------------------------------------------------

# Checked in order before the tag table: class/attribute rules win over the tag.
RULES: list[tuple[Callable[[Element], bool], Handler]] = [
    (footnotes.is_footnote_section, skip),  # read up front by collect_notes
    (footnotes.is_hovernote, footnotes.make_hovernote_reader(walk)),
    (footnotes.is_footnote_ref, footnotes.read_footnote_ref),
    (footnotes.is_footnote_backlink, skip),
    (is_math, read_math),
    (is_hidden, skip),
    (lambda el: blocks.embed_cue(el) is not None, _with_walk(blocks.read_embed)),
    (blocks.is_spoiler, _with_walk(blocks.read_spoiler)),
    (blocks.is_dialogue_turn, _with_walk(blocks.read_dialogue_turn)),
    (blocks.is_llm_block, _with_walk(blocks.read_llm_block)),
    (lambda el: bool(blocks.classes(el) & {"footnotes-sep", "MathJax_Preview"}), skip),
]

TAG_HANDLERS: dict[str, Handler] = {
    **{tag: skip for tag in SILENT_TAGS},
    **{f"h{n}": read_heading for n in range(1, 7)},
    "ul": read_list,
    "ol": read_list,
    "br": lambda reader, el: reader.line_break(),
    "hr": lambda reader, el: reader.flush(),
    "img": _with_walk(blocks.read_image),
    "figure": lambda reader, el: read_figure(reader, el),
    "table": _with_walk(tables.read_table),
    "pre": _with_walk(blocks.read_code_block),
    "blockquote": _with_walk(blocks.read_blockquote),
    "details": _with_walk(blocks.read_details),
    "iframe": _with_walk(blocks.read_iframe),
    "video": _with_walk(blocks.read_media),
    "audio": _with_walk(blocks.read_media),
    "sup": _with_walk(blocks.read_sup),
    "sub": _with_walk(blocks.read_sub),
}


# --- entry point -----------------------------------------------------------------------------


def parse_body(html: str) -> Element:
    """The <body> element of ``html`` (a fragment or a whole document)."""
    # The text is already decoded: an XML declaration naming an encoding makes lxml refuse it.
    html = _NOT_XML.sub("", _XML_DECLARATION.sub("", html, count=1))
    try:
        # huge_tree: libxml2 otherwise drops text nested deeper than 255 elements.
        body = lxml.html.document_fromstring(html, parser=_PARSER).body
    except lxml.etree.ParserError:
        return None  # libxml2 only gives up on documents with no content at all
    except (ValueError, lxml.etree.LxmlError) as exc:
        raise CleanError(f"post body HTML could not be parsed: {exc}") from exc
    # Even with huge_tree, libxml2 stops at 2048 levels and silently drops everything after
    # that point, the rest of the post included: refuse rather than narrate half of it.
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in _PARSER.error_log):
        raise CleanError(
            "post body HTML is nested too deeply to read without losing text"
            " (more than 2048 levels)"
        )
    return body


def strip_rss_wrapping(body: Element) -> None:
    """Drop the old RSS "Published on … GMT" prefix and the trailing "Discuss" link."""
    if body.text:
        body.text = _RSS_PREFIX.sub("", body.text)
    last = next((el for el in reversed(body) if isinstance(el.tag, str)), None)
    if last is None or last.tag != "a" or (last.tail or "").strip():
        return
    if last.text_content().strip() == "Discuss":
        last.drop_tree()


def html_to_sections(html: str, options: CleanOptions | None = None) -> tuple[Section, ...]:
    """Body HTML -> sections; empty when nothing in it is speakable."""
    body = parse_body(html) if html.strip() else None
    if body is None:
        return ()
    strip_rss_wrapping(body)
    transcripts.mark_turns(body)  # bold-name turns become dialogue sections
    reader = Reader(options)
    collect_macros(body, reader.macros)
    footnotes.collect_notes(body, walk, reader)
    try:
        read_children(reader, body)
    except RecursionError as exc:  # MAX_DEPTH keeps real and hostile posts well clear of this
        raise CleanError("post body HTML is nested too deeply to read") from exc
    return reader.finish()
