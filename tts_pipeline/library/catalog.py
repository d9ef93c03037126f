"""A page of the library's episodes, newest first, optionally those whose title or authors
contain some text: one bounded query, whatever the library's size (the local server's page).
"""

from __future__ import annotations

from dataclasses import dataclass

from tts_pipeline.library.layout import Library
from tts_pipeline.library.state import RECORD_COLUMNS, EpisodeRecord, record_from_row


@dataclass(frozen=True)
class Listing:
    episodes: list[EpisodeRecord]
    total: int  # episodes matching the search, on every page
    offset: int
    limit: int
    query: str


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_episodes(
    library: Library, *, query: str = "", offset: int = 0, limit: int = 50
) -> Listing:
    """Episodes ``offset`` .. ``offset + limit`` of the newest first, among those whose title,
    post title or authors contain ``query`` (case-insensitive for ASCII) when it is given."""
    query, offset, limit = query.strip(), max(0, offset), max(1, limit)
    if not library.state_path.exists():
        return Listing([], 0, offset, limit, query)
    where = "1"
    params: tuple[str, ...] = ()
    if query:
        pattern = _like(query)
        where = (
            "(title LIKE ? ESCAPE '\\' OR post_title LIKE ? ESCAPE '\\'"
            " OR authors LIKE ? ESCAPE '\\')"
        )
        params = (pattern, pattern, pattern)
    with library.state() as conn:
        total = conn.execute(f"SELECT count(*) FROM episodes WHERE {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM episodes WHERE {where}"
            " ORDER BY published DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
    records = [record_from_row(r) for r in rows]
    return Listing(records, int(total), offset, limit, query)
