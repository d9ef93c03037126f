"""Tables read aloud: announced with their size; small ones read row by row with their headers
("Variety: Roma; Yield: 12 kg."), large ones summarised and skipped.

A header row is a ``thead`` row or a first row of ``th`` cells; a first column of ``th`` cells
names each row. Tables without any ``th`` (most CKEditor tables) are read with no headers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tts_pipeline.clean.blocks import text_of
from tts_pipeline.clean.reader import Reader, as_sentence, is_speakable, tidy_text

Element = Any  # lxml.html.HtmlElement
Walk = Callable[[Reader, Element], None]


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


def read_table(reader: Reader, el: Element, walk: Walk) -> None:
    table = el if el.tag == "table" else next(el.iter("table"), None)
    reader.flush()
    if table is None:
        return
    caption = " ".join(
        text_of(reader, c, walk) for c in [*table.iter("caption"), *el.iter("figcaption")]
    )
    caption = tidy_text(caption)
    rows = [[tidy_text(text_of(reader, c, walk)) for c in _cells(tr)] for tr in _rows(table)]
    header_rows = [i for i, tr in enumerate(_rows(table)) if _is_header_row(tr)]
    rows_with_text = [r for r in rows if any(is_speakable(c) for c in r)]
    if not rows_with_text:
        return
    width = max(len(r) for r in rows_with_text)
    headers = rows[header_rows[0]] if header_rows else []
    body = [
        r for i, r in enumerate(rows) if i not in header_rows and any(is_speakable(c) for c in r)
    ]
    titled = f", titled {caption.rstrip('.')}" if is_speakable(caption) else ""
    size = f"{_plural(len(body) or len(rows_with_text), 'row')} and {_plural(width, 'column')}"
    cells = sum(len(r) for r in rows_with_text)
    with reader.held():
        if cells > reader.options.table_max_cells:
            reader.cue(f"A table{titled}, with {size}, is omitted.")
            return
        reader.cue(f"A table{titled}, with {size}.")
        for row in body or rows_with_text:
            reader.cue(as_sentence(_row_words(row, headers)))
        reader.cue("End of table.")


def _row_words(row: list[str], headers: list[str]) -> str:
    parts: list[str] = []
    for i, cell in enumerate(row):
        if not is_speakable(cell):
            continue
        header = headers[i] if i < len(headers) and is_speakable(headers[i]) else ""
        parts.append(f"{header.rstrip(':')}: {cell}" if header else cell)
    return "; ".join(parts)
