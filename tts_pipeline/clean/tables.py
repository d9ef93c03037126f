"""Tables read aloud, by what they hold.

- A *dialogue* (an interview or transcript kept one turn per row: two columns, speaker |
  speech, or one cell per turn opening with the speaker's name, "Alice: ..." or a bold name)
  is read turn by turn the way dialogue sections are (each row a turn of its speaker),
  however long.
- A *prose* table (most of its words are in cells of a sentence or more) is read row by row,
  each cell with its column's header ("Question: ..."), however long.
- A *data* table (numbers, short cells) is read row by row when it has at most
  ``table_max_cells`` cells ("Variety: Roma; Yield: 12 kg."), and otherwise announced with its
  size and skipped.

Code blocks in cells are left out and announced once for the whole table. A header row is a
``thead`` row or a first row of ``th`` cells; tables without any ``th`` (most CKEditor tables)
are read with no headers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tts_pipeline.clean.blocks import code_language
from tts_pipeline.clean.reader import Reader, as_sentence, is_speakable, tidy_text

Element = Any  # lxml.html.HtmlElement
Walk = Callable[[Reader, Element], None]

PROSE_CELL_WORDS = 8  # a cell this long is a sentence, not a datum
_NAME = r"[A-Z][\w.'\u2019-]*(?: [A-Z][\w.'\u2019-]*){0,2}"
_SAID = re.compile(rf"^(?P<name>{_NAME})\s*:\s+(?P<rest>\S.*)$", re.DOTALL)
_SPEAKER_CELL = re.compile(rf"^{_NAME}:?$")


@dataclass
class Cell:
    paragraphs: list[str]
    speaker: str = ""  # a cell that opens with a speaker's name: the name
    speech: tuple[str, ...] = ()  # and then the paragraphs without it

    @property
    def text(self) -> str:
        return " ".join(self.paragraphs)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _rows(table: Element) -> list[Element]:
    """The table's own rows (not those of a table nested in a cell)."""
    return [tr for tr in table.iter("tr") if _owner(tr) is table]


def _owner(el: Element) -> Element | None:
    parent = el.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def _cells(tr: Element) -> list[Element]:
    return [c for c in tr if isinstance(c.tag, str) and c.tag.lower() in ("td", "th")]


def _is_header_row(tr: Element) -> bool:
    parent = tr.getparent()
    if parent is not None and parent.tag == "thead":
        return True
    cells = _cells(tr)
    return bool(cells) and all(c.tag.lower() == "th" for c in cells)


def _take_code(table: Element) -> list[str]:
    """Remove the code blocks in the table's cells (their text stays out of the cells) and
    return their languages."""
    blocks = [pre for pre in table.iter("pre") if _owner(pre) is table]
    languages = [code_language(pre) for pre in blocks]
    for pre in blocks:
        pre.drop_tree()  # keeps the text after it
    return languages


def _bold_speaker(el: Element) -> str:
    """The name in a cell that opens with a bold name ("<b>Alice</b> I think...")."""
    first = next((n for n in el.iter("strong", "b") if isinstance(n.tag, str)), None)
    if first is None:
        return ""
    before = "".join(el.itertext())
    name = tidy_text(first.text_content()).rstrip(":").strip()
    opens = tidy_text(before).startswith(tidy_text(first.text_content()))
    return name if opens and _SPEAKER_CELL.match(name) else ""


def _read_cell(reader: Reader, el: Element, walk: Walk) -> Cell:
    sub = reader.child()
    walk(sub, el)
    paragraphs = [p for p in (tidy_text(s.text) for s in sub.segments()) if is_speakable(p)]
    if not paragraphs:
        return Cell(paragraphs)
    said = _SAID.match(paragraphs[0])
    bold = _bold_speaker(el)
    if said and (not bold or bold == said["name"]):
        return Cell(paragraphs, said["name"], (said["rest"], *paragraphs[1:]))
    if bold and paragraphs[0].startswith(bold):
        rest = paragraphs[0][len(bold) :].lstrip(" :")
        if is_speakable(rest):
            return Cell(paragraphs, bold, (rest, *paragraphs[1:]))
    return Cell(paragraphs)


def _words(cells: list[Cell]) -> int:
    return sum(len(c.text.split()) for c in cells)


def _is_prose(cells: list[Cell]) -> bool:
    """Whether most of the words are in cells a sentence long (not numbers and labels)."""
    total = _words(cells)
    long = _words([c for c in cells if len(c.text.split()) >= PROSE_CELL_WORDS])
    return total > 0 and long * 2 >= total


def _recurring(names: list[str]) -> bool:
    """Speakers of a conversation come back: few names, at least one said twice."""
    counts = Counter(names)
    return bool(counts) and max(counts.values()) > 1 and len(counts) <= max(2, len(names) // 2)


def _turns(body: list[list[Cell]]) -> list[tuple[str, list[str]]] | None:
    """The table as (speaker, paragraphs) turns if it is a dialogue, else None."""
    filled = [row for row in ([c for c in r if c.paragraphs] for r in body) if row]
    if len(filled) < 3:
        return None
    pairs = [r for r in filled if len(r) == 2 and _SPEAKER_CELL.match(r[0].text)]
    names = [r[0].text.rstrip(":") for r in pairs]
    if len(pairs) * 5 >= len(filled) * 4 and _is_prose([r[1] for r in pairs]) and _recurring(names):
        turns = [
            (r[0].text.rstrip(":"), r[1].paragraphs)
            if r in pairs
            else ("", [p for c in r for p in c.paragraphs])
            for r in filled
        ]
        first = turns[0]
        if names.count(first[0]) == 1 and len(" ".join(first[1]).split()) <= 3:
            turns = turns[1:]  # a header row written as plain cells ("Speaker | Words")
        return turns
    singles = [r[0] for r in filled if len(r) == 1]
    named = [c for c in singles if c.speaker]
    speakers = [c.speaker for c in named]
    if len(singles) == len(filled) and len(named) * 5 >= len(filled) * 3 and _recurring(speakers):
        return [(c.speaker, list(c.speech or c.paragraphs)) for c in singles]
    return None


def read_table(reader: Reader, el: Element, walk: Walk) -> None:
    table = el if el.tag == "table" else next(el.iter("table"), None)
    reader.flush()
    if table is None:
        return
    caption = " ".join(
        tidy_text(_read_cell(reader, c, walk).text)
        for c in [*table.iter("caption"), *el.iter("figcaption")]
    )
    caption = tidy_text(caption)
    languages = _take_code(table)
    trs = _rows(table)
    rows = [[_read_cell(reader, c, walk) for c in _cells(tr)] for tr in trs]
    header_rows = [i for i, tr in enumerate(trs) if _is_header_row(tr)]
    headers = [c.text for c in rows[header_rows[0]]] if header_rows else []
    with_text = [r for r in rows if any(c.paragraphs for c in r)]
    body = [r for i, r in enumerate(rows) if i not in header_rows and any(c.paragraphs for c in r)]
    body = body or with_text
    titled = f", titled {caption.rstrip('.')}" if is_speakable(caption) else ""
    with reader.held():
        if not with_text:
            if languages:
                reader.cue(f"A table of code{titled} is omitted.")
            return
        _say_table(reader, body, headers, titled, _code_cue(languages))


def _code_cue(languages: list[str]) -> str:
    if not languages:
        return ""
    named = set(languages)
    name = f"{languages[0]} " if len(named) == 1 and languages[0] else ""
    return f"The {name}code in its cells is omitted."


def _say_table(
    reader: Reader, body: list[list[Cell]], headers: list[str], titled: str, code: str
) -> None:
    turns = _turns(body)
    if turns is not None:
        reader.cue(f"A table{titled}: a dialogue of {_plural(len(turns), 'turn')}.")
        if code:
            reader.cue(code)
        for speaker, paragraphs in turns:
            if speaker:
                with reader.turn(speaker):
                    for paragraph in paragraphs:
                        reader.paragraph(paragraph)
            else:
                for paragraph in paragraphs:
                    reader.paragraph(paragraph)
        reader.cue("End of table.")
        return
    width = max(len(r) for r in body)
    size = f"{_plural(len(body), 'row')} and {_plural(width, 'column')}"
    cells = [c for row in body for c in row]
    prose = _is_prose(cells)
    if not prose and len(cells) > reader.options.table_max_cells:
        reader.cue(f"A table{titled}, with {size}, is omitted.")
        return
    reader.cue(f"A table{titled}, with {size}.")
    if code:
        reader.cue(code)
    for row in body:
        if prose:
            _say_prose_row(reader, row, headers)
        else:
            reader.cue(as_sentence(_row_words([c.text for c in row], headers)))
    reader.cue("End of table.")


def _header(headers: list[str], i: int) -> str:
    header = headers[i] if i < len(headers) and is_speakable(headers[i]) else ""
    return header.rstrip(":")


def _say_prose_row(reader: Reader, row: list[Cell], headers: list[str]) -> None:
    """Each cell in its own paragraphs, the first one opening with its column's header."""
    for i, cell in enumerate(row):
        if not cell.paragraphs:
            continue
        header = _header(headers, i)
        first, *rest = cell.speech if cell.speaker else cell.paragraphs
        if cell.speaker:
            first = f"{cell.speaker}: {first}"
        reader.paragraph(as_sentence(f"{header}: {first}" if header else first))
        for paragraph in rest:
            reader.paragraph(paragraph)


def _row_words(row: list[str], headers: list[str]) -> str:
    parts: list[str] = []
    for i, cell in enumerate(row):
        if not is_speakable(cell):
            continue
        header = _header(headers, i)
        parts.append(f"{header}: {cell}" if header else cell)
    return "; ".join(parts)
