"""Each episode's ``<item>``, rendered once and kept in the state database (``feed_items``).

An item is made from its ``episodes`` row and its files: the MP3's size on disk, which side
files exist, the opening of the script (the show notes). Those are read once, when the item
is first rendered, and again only when the row changes (re-made audio is a new row, a new
``created_at`` and MP3 name). Its URLs are rendered under ``ITEM_BASE`` and replaced by the
real address when a page is put together, so one rendering serves every address (the
published one, the local server's); the item's size on a page is its size at that address.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from tts_pipeline.library.layout import Library
from tts_pipeline.library.page_store import chunks, marks
from tts_pipeline.package.feed_pages import PlannedItem
from tts_pipeline.package.rss import FeedItem, Transcript, show_notes_html
from tts_pipeline.package.rss_pages import ITEM_JOIN_BYTES, RENDER_VERSION, item_digest, render_item

# Where an item's library URLs point until a page is written for a real address.
ITEM_BASE = "https://library.invalid/"
_ITEM_BASE_BYTES = ITEM_BASE.encode()
# The index SQLite makes for ``episodes``'s TEXT primary key (always this name).
_EPISODES_KEY = "sqlite_autoindex_episodes_1"
# Enough of an episode's script to fill the show notes (4,000 bytes of HTML) and then some.
_NOTES_READ_BYTES = 16 * 1024
# What an item is made from, as SQL over ``episodes``: compared with the stored ``source``.
# (Every field the item shows, by value or length, and the row's creation: a re-made episode.)
SOURCE_SQL = (
    "episodes.created_at || '|' || episodes.mp3 || '|' || episodes.size_bytes || '|'"
    " || episodes.published || '|' || episodes.duration_s || '|' || episodes.url || '|'"
    " || length(episodes.title) || '|' || length(episodes.description) || '|'"
    " || length(episodes.authors) || '|' || episodes.title"
)


def library_url(base_url: str, relative: str) -> str:
    """The public URL of a file in the library (path segments percent-encoded)."""
    return base_url.rstrip("/") + "/" + quote(relative, safe="/")


def attribute_text(text: str) -> str:
    """``text`` as ElementTree writes it in an attribute value."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        text = text.replace(char, entity)
    return text


def at_base(data: bytes, base_url: str) -> bytes:
    """Rendered items (or a page of them) with their library URLs under ``base_url``."""
    return data.replace(_ITEM_BASE_BYTES, attribute_text(base_url.rstrip("/") + "/").encode())


@dataclass(frozen=True)
class StoredItem:
    key: str
    digest: str
    urls: int  # library URLs in the item (each grows or shrinks with the base URL)
    bytes: int  # of the XML under ITEM_BASE

    def planned(self, base_url: str) -> PlannedItem:
        extra = len(attribute_text(base_url.rstrip("/") + "/")) - len(ITEM_BASE)
        return PlannedItem(self.key, self.bytes + ITEM_JOIN_BYTES + self.urls * extra, self.digest)


def source_key(source: str, language: str) -> str:
    return f"{RENDER_VERSION}|{language}|{source}"


def _script_paragraphs(path: Path) -> list[str]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_NOTES_READ_BYTES)
    except OSError:
        return []
    paragraphs = head.decode("utf-8", "ignore").split("\n\n")
    if len(head) == _NOTES_READ_BYTES:
        paragraphs = paragraphs[:-1]  # the last one may be cut mid-word
    return paragraphs


def feed_item(library: Library, language: str, row: Sequence[object]) -> FeedItem | None:
    """The item for an ``episodes`` row (id, title, url, description, published, mp3,
    authors, duration_s) under ITEM_BASE; None when its MP3 is not there."""
    eid, title, url, description, published, mp3, authors, duration = map(str, row)
    try:
        size = (library.episodes_dir / mp3).stat().st_size  # the file as served
    except OSError:
        return None
    transcripts = tuple(
        Transcript(library_url(ITEM_BASE, f"episodes/{path.name}"), kind, language, captions=cap)
        for path, kind, cap in (
            (library.vtt_path(eid), "text/vtt", True),
            (library.script_path(eid), "text/plain", False),
        )
        if path.is_file()
    )
    chapters = library.chapters_path(eid)
    return FeedItem(
        guid=eid,
        title=title,
        link=url,
        description=description,
        published=datetime.fromisoformat(published),
        enclosure_url=library_url(ITEM_BASE, f"episodes/{mp3}"),
        enclosure_length=size,
        duration_s=float(duration),
        content_html=show_notes_html(url, _script_paragraphs(library.script_path(eid))),
        author=authors,
        transcripts=transcripts,
        chapters_url=(
            library_url(ITEM_BASE, f"episodes/{chapters.name}") if chapters.is_file() else ""
        ),
    )


class ItemStore:
    """Stored items of one library, rendering (and storing) those missing or out of date."""

    def __init__(self, library: Library, language: str) -> None:
        self.library = library
        self.language = language
        self.renders = 0  # items rendered by this store: tests and benchmarks check it

    def members(
        self, conn: sqlite3.Connection, where: str, params: Sequence[object], ids: Sequence[str]
    ) -> list[StoredItem]:
        """The items of episodes matching ``where`` (among ``ids``, unless empty: all of
        them), oldest first; an episode whose MP3 is missing has none."""
        columns = f"episodes.id, {SOURCE_SQL}, f.source, f.digest, f.urls, f.bytes"
        joined = "LEFT JOIN feed_items AS f ON f.episode_id = episodes.id"
        query = f"SELECT {columns} FROM episodes {joined} WHERE ({where})"
        if ids:
            # Looked up by id (the primary key's index), whatever index the selection names.
            by_id = f"SELECT {columns} FROM episodes INDEXED BY {_EPISODES_KEY} {joined}"
            rows = []
            for part in chunks(ids):
                rows += conn.execute(
                    f"{by_id} WHERE ({where}) AND episodes.id IN ({marks(part)})",
                    (*params, *part),
                ).fetchall()
            order = {eid: n for n, eid in enumerate(self.by_date(conn, [r[0] for r in rows]))}
            rows.sort(key=lambda row: order[row[0]])
        else:
            rows = conn.execute(
                f"{query} ORDER BY episodes.published, episodes.id", tuple(params)
            ).fetchall()
        found = []
        for eid, source, stored, digest, urls, size in rows:
            if stored == source_key(source, self.language):
                found.append(StoredItem(eid, digest, urls, size))
            elif (item := self._render(conn, eid, source)) is not None:
                found.append(item)
        return found

    @staticmethod
    def by_date(conn: sqlite3.Connection, ids: Sequence[str]) -> list[str]:
        """``ids`` oldest first (by publication date, then id)."""
        found: list[tuple[str, str]] = []
        for part in chunks(ids):
            found += conn.execute(
                f"SELECT published, id FROM episodes WHERE id IN ({marks(part)})", tuple(part)
            ).fetchall()
        return [eid for _, eid in sorted(found)]

    def _render(self, conn: sqlite3.Connection, eid: str, source: str) -> StoredItem | None:
        row = conn.execute(
            "SELECT id, title, url, description, published, mp3, authors, duration_s"
            " FROM episodes WHERE id = ?",
            (eid,),
        ).fetchone()
        item = feed_item(self.library, self.language, row)
        if item is None:
            return None
        xml = render_item(item)
        stored = StoredItem(eid, item_digest(item), xml.count(_ITEM_BASE_BYTES), len(xml))
        conn.execute(
            "INSERT OR REPLACE INTO feed_items VALUES (?,?,?,?,?,?)",
            (eid, source_key(source, self.language), stored.digest, stored.urls, len(xml), xml),
        )
        self.renders += 1
        return stored

    @staticmethod
    def fragments(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """``{guid: (digest, xml under ITEM_BASE)}`` for the stored items of ``ids``."""
        found: dict[str, tuple[str, bytes]] = {}
        for part in chunks(ids):
            rows = conn.execute(
                f"SELECT episode_id, digest, xml FROM feed_items"
                f" WHERE episode_id IN ({marks(part)})",
                tuple(part),
            )
            found.update((str(eid), (str(digest), bytes(xml))) for eid, digest, xml in rows)
        return found
