"""Where the paged feeds keep their plan: tables of the state database, and reading them.

A migration step of its own (``FEED_PAGES_SCHEMA``, run after the library's base schema):

- ``episode_changes``: every insert, update or delete of an ``episodes`` row, in order (kept
  by triggers, so any process that records an episode logs it). A publish reads the changes
  since its cursor: adding one episode costs one change, whatever the library's size.
- ``feed_items``: each episode's rendered ``<item>`` (its URLs under ``ITEM_BASE``, replaced
  by the real address when a page is written), the digest of what it is made from and a
  digest of the ``episodes`` row and files it was rendered from (``source``).
- ``feed_pages``: each feed's full archive pages, their members (oldest first, as
  ``[guid, size, digest]``) and totals; ``feed_members``: which page each episode is on
  (0: the open tail); ``feed_heads``: per feed, what its header was rendered from, the
  change cursor, the next page number, the open tail, the subscription document's
  signature, and a version bumped whenever any of its pages is written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from tts_pipeline.package.feed_pages import PlannedItem

FEED_PAGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS episode_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS episodes_inserted AFTER INSERT ON episodes BEGIN
    INSERT INTO episode_changes (episode_id) VALUES (new.id);
END;
CREATE TRIGGER IF NOT EXISTS episodes_updated AFTER UPDATE ON episodes BEGIN
    INSERT INTO episode_changes (episode_id) VALUES (old.id);
    INSERT INTO episode_changes (episode_id) SELECT new.id WHERE new.id IS NOT old.id;
END;
CREATE TRIGGER IF NOT EXISTS episodes_deleted AFTER DELETE ON episodes BEGIN
    INSERT INTO episode_changes (episode_id) VALUES (old.id);
END;
-- Newest first, and the fields the local server's page searches: a search scans this
-- index (a few dozen bytes an episode), not the episodes' rows.
CREATE INDEX IF NOT EXISTS episodes_listing ON episodes (published, id, title, post_title, authors);
CREATE INDEX IF NOT EXISTS episodes_by_prefix ON episodes (prefix, published, id);
CREATE TABLE IF NOT EXISTS feed_items (
    episode_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    digest TEXT NOT NULL,
    urls INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    xml BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_heads (
    feed TEXT PRIMARY KEY,
    header TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    next_number INTEGER NOT NULL,
    tail TEXT NOT NULL,
    subscription TEXT NOT NULL,
    version INTEGER NOT NULL
);
-- items last: reading the totals of every page must not read their (long) member lists.
CREATE TABLE IF NOT EXISTS feed_pages (
    feed TEXT NOT NULL,
    number INTEGER NOT NULL,
    episodes INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    items TEXT NOT NULL,
    PRIMARY KEY (feed, number)
);
CREATE TABLE IF NOT EXISTS feed_members (
    feed TEXT NOT NULL,
    episode_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    PRIMARY KEY (feed, episode_id)
) WITHOUT ROWID;
"""

# SQLite's default limit on host parameters is 32,766 (999 before 3.32): stay well below.
_CHUNK = 500


@dataclass(frozen=True)
class FeedHead:
    feed: str
    header: str  # digest of the channel header and page settings the pages were written with
    cursor: int  # the last episode change this feed has taken in
    next_number: int
    tail: tuple[PlannedItem, ...]
    subscription: str  # digest of the subscription document's signature
    version: int


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def items_json(items: Iterable[PlannedItem]) -> str:
    return json.dumps([[i.key, i.size, i.digest] for i in items], separators=(",", ":"))


def items_from_json(text: str) -> tuple[PlannedItem, ...]:
    return tuple(PlannedItem(str(k), int(s), str(d)) for k, s, d in json.loads(text))


# The distinct prefixes by skipping through the prefix index: a lookup per prefix, not a
# read of every episode.
PREFIXES_SQL = """
WITH RECURSIVE found(prefix) AS (
    SELECT min(prefix) FROM episodes
    UNION ALL
    SELECT (SELECT min(prefix) FROM episodes WHERE prefix > found.prefix) FROM found
    WHERE found.prefix IS NOT NULL
)
SELECT prefix FROM found WHERE prefix IS NOT NULL
"""


def last_change(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT max(seq) FROM episode_changes").fetchone()
    return int(row[0] or 0)


def changed_since(conn: sqlite3.Connection, cursor: int, limit: int) -> list[str] | None:
    """Episode ids changed after ``cursor`` (each once), or None if more than ``limit``."""
    rows = conn.execute(
        "SELECT DISTINCT episode_id FROM episode_changes WHERE seq > ? LIMIT ?",
        (cursor, limit + 1),
    ).fetchall()
    return None if len(rows) > limit else [str(r[0]) for r in rows]


def forget_changes(conn: sqlite3.Connection, feeds: Sequence[str]) -> None:
    """Drop the changes every feed in ``feeds`` has taken in, and the state of other feeds."""
    stored = [str(r[0]) for r in conn.execute("SELECT feed FROM feed_heads")]
    for feed in set(stored) - set(feeds):
        conn.execute("DELETE FROM feed_heads WHERE feed = ?", (feed,))
        clear_feed(conn, feed)
    row = conn.execute("SELECT count(*), min(cursor) FROM feed_heads").fetchone()
    if row[0] == len(feeds) and row[1] is not None:
        conn.execute("DELETE FROM episode_changes WHERE seq <= ?", (row[1],))


def load_head(conn: sqlite3.Connection, feed: str) -> FeedHead | None:
    row = conn.execute(
        "SELECT header, cursor, next_number, tail, subscription, version FROM feed_heads"
        " WHERE feed = ?",
        (feed,),
    ).fetchone()
    if row is None:
        return None
    return FeedHead(feed, row[0], row[1], row[2], items_from_json(row[3]), row[4], row[5])


def save_head(conn: sqlite3.Connection, head: FeedHead) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO feed_heads VALUES (?,?,?,?,?,?,?)",
        (
            head.feed,
            head.header,
            head.cursor,
            head.next_number,
            items_json(head.tail),
            head.subscription,
            head.version,
        ),
    )


PageTotals = tuple[int, int, int]  # (number, episodes, bytes)


class PageIndex:
    """One feed's full pages (number, episodes, bytes), read from the database only as far as
    asked, with pending changes laid over them (``overrides``: a page's new totals, or None
    for a page that goes away). Finding a page's neighbours or the newest pages costs a few
    rows, whatever the number of pages."""

    def __init__(
        self, conn: sqlite3.Connection, feed: str, overrides: dict[int, tuple[int, int] | None]
    ) -> None:
        self.conn, self.feed, self.overrides = conn, feed, overrides

    def walk(self, *, newest_first: bool, beyond: int | None = None) -> Iterator[PageTotals]:
        """Pages in order, starting after page ``beyond`` (exclusive) if given."""
        order, compare = ("DESC", "<") if newest_first else ("ASC", ">")
        bound = beyond if beyond is not None else (1 << 62 if newest_first else -1)
        pending = sorted(
            (
                (n, *totals)
                for n, totals in self.overrides.items()
                if totals is not None and (n < bound if newest_first else n > bound)
            ),
            reverse=newest_first,
        )
        rows = self.conn.execute(
            f"SELECT number, episodes, bytes FROM feed_pages WHERE feed = ? AND number {compare} ?"
            f" ORDER BY number {order}",
            (self.feed, bound),
        )
        index = 0
        for number, episodes, size in rows:
            while index < len(pending) and (
                pending[index][0] >= number if newest_first else pending[index][0] <= number
            ):
                yield pending[index]
                index += 1
            if number not in self.overrides:
                yield number, episodes, size
        yield from pending[index:]

    def older(self, number: int) -> int | None:
        return next((n for n, _, _ in self.walk(newest_first=True, beyond=number)), None)

    def newer(self, number: int) -> int | None:
        return next((n for n, _, _ in self.walk(newest_first=False, beyond=number)), None)

    def oldest(self) -> int | None:
        return next((n for n, _, _ in self.walk(newest_first=False)), None)


def load_pages(
    conn: sqlite3.Connection, feed: str, numbers: Iterable[int] | None = None
) -> dict[int, tuple[PlannedItem, ...]]:
    """Stored full pages of ``feed`` by number (all of them when ``numbers`` is None)."""
    if numbers is None:
        rows = conn.execute("SELECT number, items FROM feed_pages WHERE feed = ?", (feed,))
        return {n: items_from_json(text) for n, text in rows}
    found = {}
    for number in numbers:
        row = conn.execute(
            "SELECT items FROM feed_pages WHERE feed = ? AND number = ?", (feed, number)
        ).fetchone()
        if row is not None:
            found[number] = items_from_json(row[0])
    return found


def save_pages(
    conn: sqlite3.Connection, feed: str, pages: dict[int, tuple[PlannedItem, ...]]
) -> None:
    """Store full pages (an empty one is deleted) and point their members at them."""
    for number, items in pages.items():
        if not items:
            conn.execute("DELETE FROM feed_pages WHERE feed = ? AND number = ?", (feed, number))
            continue
        conn.execute(
            "INSERT OR REPLACE INTO feed_pages VALUES (?,?,?,?,?)",
            (feed, number, len(items), sum(i.size for i in items), items_json(items)),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO feed_members VALUES (?,?,?)",
            [(feed, item.key, number) for item in items],
        )


def feed_members(conn: sqlite3.Connection, feed: str) -> set[str]:
    """Every episode ``feed`` lists now (on a page or in the open tail)."""
    rows = conn.execute("SELECT episode_id FROM feed_members WHERE feed = ?", (feed,))
    return {str(r[0]) for r in rows}


def member_pages(conn: sqlite3.Connection, feed: str, ids: Sequence[str]) -> dict[str, int]:
    """The page (0: the open tail) each of ``ids`` is on in ``feed``, if it is a member."""
    found: dict[str, int] = {}
    for part in chunks(ids):
        rows = conn.execute(
            f"SELECT episode_id, number FROM feed_members WHERE feed = ?"
            f" AND episode_id IN ({marks(part)})",
            (feed, *part),
        )
        found.update((str(eid), int(number)) for eid, number in rows)
    return found


def set_members(conn: sqlite3.Connection, feed: str, members: dict[str, int | None]) -> None:
    """Record each episode's page (0: the tail); None: no longer a member."""
    conn.executemany(
        "DELETE FROM feed_members WHERE feed = ? AND episode_id = ?",
        [(feed, eid) for eid, number in members.items() if number is None],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO feed_members VALUES (?,?,?)",
        [(feed, eid, number) for eid, number in members.items() if number is not None],
    )


def clear_feed(conn: sqlite3.Connection, feed: str) -> None:
    conn.execute("DELETE FROM feed_pages WHERE feed = ?", (feed,))
    conn.execute("DELETE FROM feed_members WHERE feed = ?", (feed,))
