"""A page of the library's episodes, newest first, optionally those whose title or authors
contain some text: one bounded query, whatever the library's size (the local server's page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tts_pipeline.library.layout import Library
from tts_pipeline.library.state import EpisodeRecord

_COLUMNS = (
    "id, post_id, prefix, title, post_title, authors, url, published, description, mp3,"
    " size_bytes, duration_s, loudness_lufs, true_peak_dbtp"
)


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
            f"SELECT {_COLUMNS} FROM episodes WHERE {where}"
            " ORDER BY published DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
    records = [
        EpisodeRecord(
            id=r[0],
            post_id=r[1],
            prefix=r[2],
            title=r[3],
            post_title=r[4],
            authors=r[5],
            url=r[6],
            published=datetime.fromisoformat(r[7]),
            description=r[8],
            mp3=r[9],
            size_bytes=r[10],
            duration_s=r[11],
            loudness_lufs=r[12],
            true_peak_dbtp=r[13],
        )
        for r in rows
    ]
    return Listing(records, int(total), offset, limit, query)
