"""Bring one paged feed's stored plan up to date with the episodes, and say what to write.

The common case is incremental: the episodes changed since the feed's cursor (a handful)
are looked up, their items rendered if new or changed, the open tail cut into full pages
when it fills, and only the pages that change are returned to be written (the subscription
document, a new archive page, the page of a re-made or removed episode and the page whose
link pointed past a page that went away). Its cost depends on the changes, not on the
library. A feed without a stored plan, with a new header (title, address, settings), with
too many changes or whose selection depends on other episodes is planned again in full
(``plan_pages`` with the stored plan, so full pages still keep their members).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import islice

from tts_pipeline.library.feed_items import ItemStore
from tts_pipeline.library.page_store import (
    FeedHead,
    PageIndex,
    changed_since,
    clear_feed,
    load_pages,
    member_pages,
    save_head,
    save_pages,
    set_members,
)
from tts_pipeline.package.feed_pages import (
    Page,
    PageNames,
    PagePlan,
    PageSettings,
    PlannedItem,
    archive_page,
    changed_pages,
    cut_pages,
    merged_from_newest,
    plan_pages,
    subscription_page,
)

# More changes than this since the last publish: planning in full is as cheap.
CHANGE_LIMIT = 2_000

Pages = dict[int, tuple[PlannedItem, ...]]
# (connection, changed episode ids) -> (the episodes whose place may have moved, which of them
# are members now), or None
Delta = Callable[[sqlite3.Connection, list[str]], tuple[set[str], set[str]] | None]
MEMBERS_SQL = "episodes.id IN (SELECT value FROM json_each(?))"


@dataclass(frozen=True)
class FeedTarget:
    """A feed as the pager sees it: its file, which episodes (SQL over ``episodes``)."""

    path: str
    where: str
    params: tuple[object, ...]
    header: str  # digest of what every page's header is made from
    settings: PageSettings
    incremental: bool = True  # False: membership depends on other episodes (a top N)
    # For a feed that is not incremental: its whole selection, made only when it is planned
    # in full (``where``/``params`` are then unused) ...
    full_selection: Callable[[], tuple[str, tuple[object, ...]]] | None = None
    # ... and what moved in it when some episodes changed (None: it cannot say without
    # planning in full): a day's best, a top N move only a few.
    delta: Delta | None = None

    @property
    def names(self) -> PageNames:
        return PageNames(self.path)

    def selection(self) -> tuple[str, tuple[object, ...]]:
        return self.full_selection() if self.full_selection else (self.where, self.params)


@dataclass
class FeedUpdate:
    target: FeedTarget
    head: FeedHead
    write: list[Page]  # archive pages by number, then the subscription document
    delete: list[str] = field(default_factory=list)  # archive pages gone: after writing
    pages: Pages = field(default_factory=dict)  # stored full pages to replace (empty: drop)
    members: dict[str, int | None] = field(default_factory=dict)
    full: bool = False  # the feed's stored pages are replaced by ``pages`` entirely


def signature_digest(page: Page) -> str:
    text = json.dumps(page.signature(), separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def update_feed(
    conn: sqlite3.Connection,
    store: ItemStore,
    target: FeedTarget,
    base_url: str,
    head: FeedHead | None,
    cursor: int,
    *,
    rewrite_all: bool = False,
    check_header: bool = True,
) -> FeedUpdate:
    """What to write (and store) to bring ``target`` up to change ``cursor``.

    ``check_header=False`` keeps a stored plan made with another header (a reader
    rendering for its own address)."""
    new_header = check_header and head is not None and head.header != target.header
    if head is None or new_header or rewrite_all:
        return _full(conn, store, target, base_url, head, cursor, rewrite_all=True)
    changed = changed_since(conn, head.cursor, CHANGE_LIMIT)
    if changed and not target.incremental and target.delta is not None:
        moves = target.delta(conn, changed)
        if moves is not None:  # only the episodes whose membership or item changed
            affected, after = sorted(moves[0]), moves[1]
            picked = json.dumps(sorted(after.intersection(affected)))
            moved = replace(target, where=MEMBERS_SQL, params=(picked,), incremental=True)
            return _incremental(conn, store, moved, base_url, head, cursor, affected)
    if changed is None or (changed and not target.incremental):
        return _full(conn, store, target, base_url, head, cursor, rewrite_all=False)
    return _incremental(conn, store, target, base_url, head, cursor, changed)


def _full(
    conn: sqlite3.Connection,
    store: ItemStore,
    target: FeedTarget,
    base_url: str,
    head: FeedHead | None,
    cursor: int,
    *,
    rewrite_all: bool,
) -> FeedUpdate:
    where, params = target.selection()
    items = [s.planned(base_url) for s in store.members(conn, where, params, [])]
    previous = None
    if head is not None:
        stored = sorted(load_pages(conn, target.path).items())
        previous = PagePlan.from_pages(
            target.names, target.settings, stored, head.tail, head.next_number
        )
    plan = plan_pages(items, target.names, target.settings, previous)
    changes = changed_pages(previous, plan)
    write = [*plan.archives, plan.subscription] if rewrite_all else list(changes.write)
    pages = {page.number: page.items for page in plan.archives}
    members: dict[str, int | None] = {item.key: 0 for item in plan.tail}
    new_head = FeedHead(
        target.path,
        target.header,
        cursor,
        plan.next_number,
        plan.tail,
        signature_digest(plan.subscription),
        (head.version if head else 0) + 1,
    )
    return FeedUpdate(target, new_head, write, list(changes.delete), pages, members, full=True)


def _apply_changes(
    conn: sqlite3.Connection,
    store: ItemStore,
    target: FeedTarget,
    base_url: str,
    head: FeedHead,
    changed: list[str],
) -> tuple[Pages, Pages, dict[str, PlannedItem], dict[str, int | None]]:
    """The stored pages the changes touch (before, after) and the open tail after them."""
    items = {}
    if changed:
        found = store.members(conn, target.where, target.params, changed)
        items = {s.key: s.planned(base_url) for s in found}
    before = member_pages(conn, target.path, changed)
    stored = load_pages(conn, target.path, sorted({n for n in before.values() if n > 0}))
    pages = {number: list(members) for number, members in stored.items()}
    tail = {item.key: item for item in head.tail}
    members: dict[str, int | None] = {}
    for eid in changed:
        item, number = items.get(eid), before.get(eid, 0)
        if number in pages:
            page = pages[number]
            index = next(n for n, old in enumerate(page) if old.key == eid)
            if item is None:
                del page[index]
                members[eid] = None
            else:
                page[index] = item
            continue
        tail.pop(eid, None)
        if item is not None:
            tail[eid] = item
        members[eid] = None if item is None else 0
    after = {n: tuple(page) for n, page in pages.items()}
    return stored, after, tail, members


def _top(
    index: PageIndex, settings: PageSettings, rest: tuple[PlannedItem, ...]
) -> tuple[list[int], int | None, int | None]:
    """The full pages shown in the subscription document (oldest first), the newest page
    its ``next`` leads to, and the oldest page (``last``): read newest first, no further."""
    rest_size = (len(rest), sum(item.size for item in rest))
    newest = ((count, size) for _, count, size in index.walk(newest_first=True))
    merged = merged_from_newest(settings, newest, rest_size)
    pages = list(islice(index.walk(newest_first=True), merged + 1))
    top = [number for number, _, _ in pages[:merged]]
    reachable = pages[merged][0] if len(pages) > merged else None
    return top[::-1], reachable, index.oldest() if reachable is not None else None


def _incremental(
    conn: sqlite3.Connection,
    store: ItemStore,
    target: FeedTarget,
    base_url: str,
    head: FeedHead,
    cursor: int,
    changed: list[str],
) -> FeedUpdate:
    names, settings = target.names, target.settings
    stored, after, tail, members = _apply_changes(conn, store, target, base_url, head, changed)
    modified = {n: page for n, page in after.items() if page != stored[n]}
    new_full, rest = cut_pages([tail[k] for k in store.by_date(conn, list(tail))], settings)
    created: Pages = {}
    number = head.next_number
    for page in new_full:
        created[number] = page
        members.update((item.key, number) for item in page)
        number += 1
    changes = {**modified, **created}
    index = PageIndex(
        conn,
        target.path,
        {n: (len(p), sum(i.size for i in p)) if p else None for n, p in changes.items()},
    )
    dropped = [n for n, page in modified.items() if not page]
    relinked = {m for d in dropped if (m := index.newer(d)) is not None}
    top, reachable, oldest = _top(index, settings, rest)
    known = {**stored, **changes}
    known.update(load_pages(conn, target.path, [n for n in {*top, *relinked} if n not in known]))
    subscription = subscription_page(
        names, tuple(item for n in top for item in known[n]) + rest, reachable, oldest
    )
    write: list[Page] = [
        archive_page(names, n, known[n], index.older(n))
        for n in sorted({*changes, *relinked})
        if known[n]
    ]
    digest = signature_digest(subscription)
    if digest != head.subscription:
        write.append(subscription)
    delete = [names.archive(n) for n in dropped]
    version = head.version + (1 if write or delete else 0)
    new_head = FeedHead(target.path, target.header, cursor, number, rest, digest, version)
    return FeedUpdate(target, new_head, write, delete, changes, members)


def store_update(conn: sqlite3.Connection, update: FeedUpdate) -> None:
    """Record ``update`` (after its pages are written)."""
    feed = update.target.path
    if update.full:
        clear_feed(conn, feed)
    save_pages(conn, feed, update.pages)
    set_members(conn, feed, update.members)
    save_head(conn, update.head)


def current_page(
    conn: sqlite3.Connection, target: FeedTarget, head: FeedHead, relative: str
) -> Page | None:
    """The stored plan's page at ``relative`` (the subscription document or an archive)."""
    names = target.names
    index = PageIndex(conn, target.path, {})
    if relative != target.path:
        digits = relative.removeprefix(names.archive_dir + "/page-").removesuffix(".xml")
        number = int(digits) if digits.isdigit() and len(digits) < 12 else 0
        found = load_pages(conn, target.path, [number]) if number else {}
        if number not in found or names.archive(number) != relative:
            return None
        return archive_page(names, number, found[number], index.older(number))
    top, reachable, oldest = _top(index, target.settings, head.tail)
    known = load_pages(conn, target.path, top)
    items = tuple(item for n in top for item in known[n]) + head.tail
    return subscription_page(names, items, reachable, oldest)
