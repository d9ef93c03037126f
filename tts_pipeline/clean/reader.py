"""The Reader: collects inline text into paragraphs, paragraphs into sections, and places the
asides (images, footnotes) that interrupt a paragraph after it instead of inside it.

``tidy_text`` is the last word on every string that leaves the clean stage: no markup, braces,
backslash commands, URLs with a scheme, control characters or non-breaking spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tts_pipeline.clean.tex import MacroBook, command_words, speak_tex
from tts_pipeline.config.clean import CleanOptions
from tts_pipeline.models import Section, Segment, SegmentKind

FOOTNOTES_TITLE = "Footnotes"
END_OF_NOTE = "End of footnote."

_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\ufe0e\ufe0f\u21a9\u21aa]")
_SPACE = re.compile(r"\s+")  # str patterns: also matches U+00A0 and the other Unicode spaces
_TAG = re.compile(r"</?_*[A-Za-z!?][^<>]*>")  # escaped markup shown as text in a post
# ... and an unclosed one with attributes ('<_a href="..." title="x" and more'): never "a href".
_TAG_OPENING = re.compile(
    r"</?_*[A-Za-z][\w:.-]*(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s<>\"']+))+\s*/?>?"
)
_SCHEME_URL = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?:[^\s/?#<>\"'@]*@)?([^\s/?#<>\"':]*)[^\s<>\"]*"
)
_WWW_URL = re.compile(r"\bwww\.([^\s/?#<>\"']+?)(?=[.,;:!?)]*(?:[\s/?#]|$))[^\s<>\"]*")
_MAILTO = re.compile(r"\bmailto:", re.IGNORECASE)
_INLINE_TEX = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+)")
_CARET_POWER = re.compile(r"(?<=\w)\^(?=\w)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])(?=\s|$)")
_DOUBLE_COMMA = re.compile(r",(?:\s*,)+")
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?]+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SPEAKABLE = re.compile(r"[^\W_]")  # at least one letter or digit
_PARAGRAPH_BREAK = re.compile(r"\n *\n")
_ENDS_SENTENCE = re.compile("[.!?\u2026:;][\"'\u201d\u2019)\\]]*$")


def _strip_controls(text: str) -> str:
    # Cc (controls), Cf (format: bidi overrides, joiners), Cs (lone surrogates), Co (private).
    return "".join(
        " " if ch in "\t\n\r\f\v" else ch
        for ch in text
        if ch in "\t\n\r\f\v" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )


def _domain(host: str) -> str:
    host = host.lower().removeprefix("www.").strip(".")
    return host if _SPEAKABLE.search(host) else "a web address"


def tidy_text(text: str, *, title: bool = False) -> str:
    """Plain text as it leaves the clean stage: one line, single spaces, nothing unspeakable.

    ``title=True`` is for metadata that is also *shown* (post titles, author names): symbols
    such as braces stay, as the spoken form is made later, per voice.

    >>> tidy_text("see https://www.example.org/x?y=1 now")
    'see a link to example.org now'
    >>> tidy_text("a\\u00a0\\u00a0b <b>c</b> word .")
    'a b c word.'
    """
    text = _INVISIBLE.sub("", text)
    text = _strip_controls(text)
    if not title:
        text = _TAG_OPENING.sub(" ", _TAG.sub(" ", text))
    # A bare URL as link text: say where it goes, never spell it out.
    text = _SCHEME_URL.sub(lambda m: "a link to " + _domain(m.group(1)), text)
    text = _WWW_URL.sub(lambda m: "a link to " + _domain(m.group(1)), text)
    if title:
        return _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", text)).strip()
    text = _MAILTO.sub("", text).replace("://", " ")  # what is left is no address
    # Un-rendered inline TeX ("\(x^2\)") in a post's text is still math.
    text = _INLINE_TEX.sub(lambda m: " " + speak_tex(m.group(1) or m.group(2) or "") + " ", text)
    text = _TEX_COMMAND.sub(_command, text)
    text = _CARET_POWER.sub(" to the power of ", text)
    text = re.sub(r"[{}\\^]", " ", text)
    text = re.sub(r"<(?=[A-Za-z/!?])", "< ", text)  # a lone "<b" is a comparison, not a tag
    text = _SPACE.sub(" ", text)
    text = _EMPTY_BRACKETS.sub("", text)
    # Removed markers (footnote refs, math) can leave "word ." behind.
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = _DOUBLE_COMMA.sub(",", text)
    return _SPACE.sub(" ", text).strip()


def _command(found: re.Match[str]) -> str:
    """A TeX command in running text is said by its meaning, or not at all; a name TeX does
    not know is a word after a backslash (a Windows path), kept."""
    words = command_words(found.group(1))
    return found.group(1) if words is None else f" {words} "


def is_speakable(text: str) -> bool:
    return bool(_SPEAKABLE.search(text))


def as_sentence(text: str) -> str:
    """``text`` ending in punctuation, so a list item or cue gets a sentence's pause."""
    text = text.strip()
    if not text or _ENDS_SENTENCE.search(text):
        return text
    return text.rstrip(",").rstrip() + "."  # a list item ending "wage," is "wage.", not "wage, ."


@dataclass
class Note:
    """One footnote: its spoken number and its paragraphs (already tidy)."""

    number: int
    paragraphs: list[str]
    read: bool = False


@dataclass
class NoteBook:
    """Every footnote of a post, found before the walk, by each id a reference may use."""

    notes: list[Note] = field(default_factory=list)
    by_id: dict[str, Note] = field(default_factory=dict)

    def add(self, note: Note, ids: list[str]) -> None:
        self.notes.append(note)
        for key in ids:
            if key:
                self.by_id.setdefault(key, note)

    def find(self, ids: list[str]) -> Note | None:
        return next((self.by_id[k] for k in ids if k in self.by_id), None)


class Reader:
    """Collects inline text into paragraphs and paragraphs into sections."""

    def __init__(
        self,
        options: CleanOptions | None = None,
        notes: NoteBook | None = None,
        macros: MacroBook | None = None,
    ):
        self.options = options or CleanOptions()
        self.notes = notes or NoteBook()
        self.macros = macros or MacroBook()  # TeX macros the post defines, for every equation
        self.sections: list[Section] = []
        self._title: str | None = None
        self._segments: list[Segment] = []
        self._parts: list[str] = []
        self._prefix = ""
        self._images: list[str] = []  # said after the paragraph they interrupt
        self._cited: list[Note] = []  # notes cited since they were last placed
        self._hold = 0  # inside a list, quote or table: notes wait until it ends
        # Who is speaking (a conversation's turn; "" and 0 for the narrator), the turn count
        # shared with child readers, and how deep in block quotes the text is.
        self._speaker = ""
        self._turn = 0
        self._turns = [0]
        self._quoted = 0

    def child(self) -> Reader:
        """A reader for a fragment (heading, caption, cell) that shares this one's notes."""
        sub = Reader(self.options, self.notes, self.macros)
        sub._cited = self._cited
        sub._turns = self._turns
        sub._hold = 1  # a fragment never places notes itself; its parent does
        return sub

    # --- inline text --------------------------------------------------------------------

    def add_text(self, text: str | None) -> None:
        if text:
            # Source newlines are soft (Markdown posts wrap inside <p>); only <br> breaks lines.
            self._parts.append(_SPACE.sub(" ", text))

    def line_break(self) -> None:
        self._parts.append("\n")

    def set_prefix(self, prefix: str) -> None:
        """Say ``prefix`` before the next paragraph (list numbers, "Quote: ")."""
        self.flush()
        self._prefix = prefix

    def cite(self, note: Note) -> None:
        if not note.read and note not in self._cited:
            self._cited.append(note)

    def image(self, description: str) -> None:
        """An image inside running text: described once the paragraph ends."""
        self._images.append(description)

    # --- blocks -------------------------------------------------------------------------

    def flush(self) -> None:
        raw = "".join(self._parts)
        self._parts.clear()
        # Two <br> in a row separate paragraphs in older HTML; one is just a pause-free space.
        for block in _PARAGRAPH_BREAK.split(raw):
            self.paragraph(block)
        images, self._images = self._images, []
        for description in images:
            self.paragraph(description)
        if not self._hold and self.options.footnotes == "paragraph":
            self.place_notes()

    def last_word(self) -> str:
        """The last word of the paragraph being collected ("" at its start)."""
        words = "".join(self._parts[-3:]).split()
        return words[-1] if words else ""

    def paragraph(self, text: str, display: str | None = None) -> None:
        text = _LEADING_PUNCT.sub("", tidy_text(text))
        if not is_speakable(text):
            return
        if display is not None:
            display = _SPACE.sub(" ", _strip_controls(display)).strip() or None
        text, self._prefix = self._prefix + text, ""
        self._segments.append(self._said(text, display))

    def cue(self, text: str) -> None:
        """A spoken structural cue ("End quote.") as its own short paragraph."""
        self.flush()
        self._segments.append(self._said(text))

    def _said(self, text: str, display: str | None = None) -> Segment:
        """A paragraph, said by whoever has the turn."""
        return Segment(
            SegmentKind.PARAGRAPH, text, display, self._speaker, self._turn, self._quoted > 0
        )

    @contextmanager
    def turn(self, speaker: str) -> Iterator[None]:
        """Inside this block, paragraphs are ``speaker``'s turn in a conversation (headings
        and footnotes stay the narrator's)."""
        self.flush()
        self._turns[0] += 1
        saved = self._speaker, self._turn
        self._speaker, self._turn = speaker, self._turns[0]
        try:
            yield
        finally:
            self.flush()
            self._speaker, self._turn = saved

    @contextmanager
    def quoting(self) -> Iterator[None]:
        """Inside this block, paragraphs are a block quote."""
        self.flush()
        self._quoted += 1
        try:
            yield
        finally:
            self.flush()
            self._quoted -= 1

    def heading(self, title: str) -> None:
        self.flush()
        self._prefix = ""
        title = tidy_text(title)
        if not is_speakable(title):
            return
        if self.options.footnotes == "section":
            self.place_notes()
        self._close_section()
        self._title = title
        self._segments = [Segment(SegmentKind.HEADING, title)]

    def count(self) -> int:
        """Segments so far in the current section (to tell whether a block said anything)."""
        return len(self._segments)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Inside this block, notes cited are placed after the block, not after each paragraph."""
        self.flush()
        self._hold += 1
        try:
            yield
        finally:
            self.flush()
            self._hold -= 1
            if not self._hold and self.options.footnotes == "paragraph":
                self.place_notes()

    def place_notes(self) -> None:
        cited, self._cited[:] = list(self._cited), []
        for note in cited:
            self._say_note(note, inline=True)

    def _say_note(self, note: Note, *, inline: bool) -> None:
        if note.read or not note.paragraphs:
            return
        note.read = True
        first, *rest = note.paragraphs
        self._segments.append(Segment(SegmentKind.PARAGRAPH, f"Footnote {note.number}: {first}"))
        self._segments.extend(Segment(SegmentKind.PARAGRAPH, p) for p in rest)
        if inline and rest:
            # A long note read mid-text needs an end, or its last paragraph seems to be the post.
            self._segments.append(Segment(SegmentKind.PARAGRAPH, END_OF_NOTE))

    # --- results ------------------------------------------------------------------------

    def segments(self) -> list[Segment]:
        """Everything read so far, flattened (for sub-readers: headings, captions, notes)."""
        self.flush()
        self._close_section()
        return [seg for section in self.sections for seg in section.segments]

    def finish(self) -> tuple[Section, ...]:
        self.flush()
        if self.options.footnotes != "end":
            self.place_notes()
        self._close_section()
        # Notes placed at the end, and any note no reference pointed to, get a chapter of
        # their own so listeners can skip it; each still says "Footnote N".
        self._title = FOOTNOTES_TITLE
        for note in self.notes.notes:
            self._say_note(note, inline=False)
        self._close_section()
        return tuple(self.sections)

    def _close_section(self) -> None:
        if self._segments:
            self.sections.append(Section(self._title, tuple(self._segments)))
        self._segments = []
