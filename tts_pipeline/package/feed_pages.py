"""Which episodes go on which page of a paged feed, and which links each page carries (pure).

A feed ``X.xml`` is split into a bounded subscription document (``X.xml``: the newest
episodes) and archive pages ``X/page-000001.xml``, ``X/page-000002.xml``, … numbered from the
OLDEST, so adding episodes at the newest end never moves an episode between full pages: a
full page's items and links never change, and neither do its bytes. docs/feed-paging.md
records which link relations podcast apps follow and why the links below were chosen.

Boundaries are sticky: ``plan_pages`` takes the previous plan and keeps each full page's
members (minus removed episodes); only episodes on no full page are cut into new pages.
``changed_pages`` compares two plans page by page (item keys, item digests, links) and says
which files to write and which to delete. Nothing here renders or touches files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tts_pipeline.errors import FeedError

PAGE_ITEMS = 100
SUBSCRIPTION_ITEMS = 300
MAX_PAGE_BYTES = 1_000_000
# Room kept for the XML declaration, the channel header and the links: the channel
# description alone may be 4,000 bytes.
HEADER_BYTES = 8_192


class PageKind(StrEnum):
    SUBSCRIPTION = "subscription"
    ARCHIVE = "archive"


class Rel(StrEnum):
    """The ``atom:link`` relations written (RFC 5005 paged and archived feeds)."""

    SELF = "self"
    FIRST = "first"
    LAST = "last"
    NEXT = "next"  # the one paging apps follow: toward older episodes
    PREV_ARCHIVE = "prev-archive"
    CURRENT = "current"


@dataclass(frozen=True)
class PlannedItem:
    """An episode as the planner sees it: a key, its rendered size and a digest of its XML."""

    key: str  # the episode's guid: stable for life
    size: int  # bytes the item adds to a page
    digest: str  # changes whenever the item's XML would (e.g. a new enclosure URL)


@dataclass(frozen=True)
class PageSettings:
    page_items: int = PAGE_ITEMS  # episodes per archive page
    subscription_items: int = SUBSCRIPTION_ITEMS  # at most this many in the subscription
    max_page_bytes: int = MAX_PAGE_BYTES  # any page, header included
    header_bytes: int = HEADER_BYTES  # kept for the header out of max_page_bytes

    def __post_init__(self) -> None:
        if self.page_items < 1:
            raise FeedError(f"page_items must be at least 1, not {self.page_items}")
        # The subscription holds the open tail (up to page_items - 1 episodes) plus whole
        # pages; with fewer, it could be left with a single episode after a page fills.
        if self.subscription_items < 2 * self.page_items:
            raise FeedError(
                f"subscription_items ({self.subscription_items}) must be at least twice"
                f" page_items ({self.page_items})"
            )
        if self.max_page_bytes <= self.header_bytes:
            raise FeedError(
                f"max_page_bytes ({self.max_page_bytes}) must exceed header_bytes"
                f" ({self.header_bytes})"
            )

    @property
    def item_bytes(self) -> int:
        """Bytes the subscription document may spend on items."""
        return self.max_page_bytes - self.header_bytes

    @property
    def page_item_bytes(self) -> int:
        """Bytes an archive page may spend on items: its share of the count, in bytes too.

        Pages at most half the subscription's budget mean that, whatever the size of the
        open tail, at least one more whole page fits beside it: the subscription document
        never shrinks to a handful of episodes when a page fills.
        """
        return self.item_bytes * self.page_items // self.subscription_items


@dataclass(frozen=True)
class PageNames:
    """File names, relative to the library root: ``X.xml`` and ``X/page-000001.xml``."""

    subscription: str  # "feed.xml", "feeds/AF.xml"

    def __post_init__(self) -> None:
        if not self.subscription.endswith(".xml") or len(self.subscription) <= 4:
            raise FeedError(f"a feed file name must end in .xml: {self.subscription!r}")

    @property
    def archive_dir(self) -> str:
        return self.subscription.removesuffix(".xml")

    def archive(self, number: int) -> str:
        return f"{self.archive_dir}/page-{number:06d}.xml"


@dataclass(frozen=True)
class Page:
    path: str
    kind: PageKind
    number: int  # archive pages from 1 (the oldest); 0 for the subscription document
    items: tuple[PlannedItem, ...]  # oldest first (a renderer lists them newest first)
    links: tuple[tuple[Rel, str], ...]  # (relation, path relative to the library root)

    @property
    def item_bytes(self) -> int:
        return sum(item.size for item in self.items)

    def signature(self) -> tuple[object, ...]:
        """Everything the page's bytes depend on, apart from the channel header."""
        items = tuple((item.key, item.digest) for item in self.items)
        return (self.path, self.kind, items, self.links)


@dataclass(frozen=True)
class PagePlan:
    names: PageNames
    settings: PageSettings
    subscription: Page
    archives: tuple[Page, ...]  # every full page, ascending number (some merged into the top)
    next_number: int  # the number the next full page gets; numbers are never reused

    @property
    def pages(self) -> tuple[Page, ...]:
        return (self.subscription, *self.archives)

    def to_json(self) -> str:
        """The plan, to be stored and passed back as ``previous`` next time."""
        data = {
            "subscription": self.names.subscription,
            "next_number": self.next_number,
            "archives": [
                {"number": p.number, "items": [[i.key, i.size, i.digest] for i in p.items]}
                for p in self.archives
            ],
            "tail": [[i.key, i.size, i.digest] for i in _open_tail(self)],
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str, settings: PageSettings) -> PagePlan:
        data: dict[str, Any] = json.loads(text)
        names = PageNames(str(data["subscription"]))
        full = [
            (int(page["number"]), tuple(_item(row) for row in page["items"]))
            for page in data["archives"]
        ]
        tail = tuple(_item(row) for row in data["tail"])
        return _assemble(names, settings, full, tail, int(data["next_number"]))

    @classmethod
    def from_pages(
        cls,
        names: PageNames,
        settings: PageSettings,
        full: Sequence[tuple[int, tuple[PlannedItem, ...]]],
        tail: tuple[PlannedItem, ...],
        next_number: int,
    ) -> PagePlan:
        """A plan from stored full pages ``(number, members)`` and the open tail."""
        return _assemble(names, settings, list(full), tail, next_number)

    @property
    def tail(self) -> tuple[PlannedItem, ...]:
        """The episodes on no full page (the newest, oldest first)."""
        return _open_tail(self)


@dataclass(frozen=True)
class PageChanges:
    # New or different pages, in a safe order to publish them: archive pages (oldest first),
    # then the subscription document, so no page ever links to one not yet published.
    write: tuple[Page, ...]
    delete: tuple[str, ...]  # paths of pages that no longer exist: delete after writing


def _item(row: Sequence[Any]) -> PlannedItem:
    return PlannedItem(key=str(row[0]), size=int(row[1]), digest=str(row[2]))


def _open_tail(plan: PagePlan) -> tuple[PlannedItem, ...]:
    on_pages = {item.key for page in plan.archives for item in page.items}
    return tuple(item for item in plan.subscription.items if item.key not in on_pages)


def cut_pages(
    items: Sequence[PlannedItem], settings: PageSettings
) -> tuple[list[tuple[PlannedItem, ...]], tuple[PlannedItem, ...]]:
    """Full pages and the open tail, filled greedily from the oldest.

    A page is full at ``page_items`` episodes, or when the next episode would not fit its
    byte budget (``page_item_bytes``). Greedy from the oldest is prefix-stable: appending
    episodes never changes an earlier cut. An episode larger than the budget gets a page to
    itself.
    """
    full: list[tuple[PlannedItem, ...]] = []
    page: list[PlannedItem] = []
    used = 0
    for item in items:
        if page and used + item.size > settings.page_item_bytes:
            full.append(tuple(page))
            page, used = [], 0
        page.append(item)
        used += item.size
        if len(page) == settings.page_items:
            full.append(tuple(page))
            page, used = [], 0
    return full, tuple(page)


def plan_pages(
    items: Sequence[PlannedItem],
    names: PageNames,
    settings: PageSettings | None = None,
    previous: PagePlan | None = None,
) -> PagePlan:
    """Pages for ``items`` (oldest first), keeping ``previous``'s full pages where they were."""
    settings = settings or PageSettings()
    by_key: dict[str, PlannedItem] = {}
    for item in items:
        if item.key in by_key:
            raise FeedError(f"episode {item.key!r} is listed twice in feed {names.subscription}")
        by_key[item.key] = item
    full: list[tuple[int, tuple[PlannedItem, ...]]] = []
    placed: set[str] = set()
    next_number = 1
    if previous is not None:
        next_number = previous.next_number
        for page in previous.archives:
            kept = tuple(by_key[i.key] for i in page.items if i.key in by_key)
            placed.update(item.key for item in kept)
            if kept:  # an empty page would stop gPodder's walk: it is dropped
                full.append((page.number, kept))
    new_pages, tail = cut_pages([i for i in items if i.key not in placed], settings)
    for members in new_pages:
        full.append((next_number, members))
        next_number += 1
    return _assemble(names, settings, full, tail, next_number)


def _assemble(
    names: PageNames,
    settings: PageSettings,
    full: list[tuple[int, tuple[PlannedItem, ...]]],
    tail: tuple[PlannedItem, ...],
    next_number: int,
) -> PagePlan:
    full = sorted(full, key=lambda page: page[0])
    merged = merged_count(settings, [members for _, members in full], tail)
    reachable = full[: len(full) - merged]  # pages the subscription's `next` leads through
    top_items = tuple(item for _, members in full[len(full) - merged :] for item in members)
    subscription = subscription_page(
        names,
        top_items + tail,
        reachable[-1][0] if reachable else None,
        reachable[0][0] if reachable else None,
    )
    archives = tuple(
        archive_page(names, number, members, full[index - 1][0] if index else None)
        for index, (number, members) in enumerate(full)
    )
    return PagePlan(names, settings, subscription, archives, next_number)


def subscription_page(
    names: PageNames, items: tuple[PlannedItem, ...], newest: int | None, oldest: int | None
) -> Page:
    """The subscription document: ``items`` (oldest first), ``next`` to archive page
    ``newest`` (the newest one not merged into it) and ``last`` to ``oldest``."""
    links: list[tuple[Rel, str]] = [(Rel.SELF, names.subscription), (Rel.FIRST, names.subscription)]
    if newest is not None and oldest is not None:
        links += [
            (Rel.NEXT, names.archive(newest)),
            (Rel.PREV_ARCHIVE, names.archive(newest)),
            (Rel.LAST, names.archive(oldest)),
        ]
    return Page(names.subscription, PageKind.SUBSCRIPTION, 0, items, tuple(links))


def merged_count(
    settings: PageSettings, full: Sequence[tuple[PlannedItem, ...]], tail: tuple[PlannedItem, ...]
) -> int:
    """How many of the newest full pages the subscription document shows besides the tail."""
    sizes = [(len(members), sum(i.size for i in members)) for members in full]
    return merged_pages(settings, sizes, (len(tail), sum(i.size for i in tail)))


def merged_pages(
    settings: PageSettings, full: Sequence[tuple[int, int]], tail: tuple[int, int]
) -> int:
    """``merged_count`` from sizes alone: ``(episodes, bytes)`` of each full page (oldest
    first) and of the tail, so a caller need not load the pages' members."""
    return merged_from_newest(settings, reversed(full), tail)


def merged_from_newest(
    settings: PageSettings, newest_first: Iterable[tuple[int, int]], tail: tuple[int, int]
) -> int:
    """``merged_pages`` reading the full pages newest first, and no further than needed.

    Whole pages only, newest first, while they fit the item count and the byte budget; at
    least one when the tail is empty, so the subscription is never empty while pages exist.
    """
    (count, used), merged = tail, 0
    for items, size in newest_first:
        fits = count + items <= settings.subscription_items and used + size <= settings.item_bytes
        if not fits and count:
            break
        count, used, merged = count + items, used + size, merged + 1
    return merged


def archive_page(
    names: PageNames, number: int, members: tuple[PlannedItem, ...], older: int | None
) -> Page:
    # Only links that never change: nothing pointing at newer pages (previous, next-archive,
    # last), which would change when the next page fills up.
    links: list[tuple[Rel, str]] = [
        (Rel.SELF, names.archive(number)),
        (Rel.FIRST, names.subscription),
        (Rel.CURRENT, names.subscription),
    ]
    if older is not None:
        links += [(Rel.NEXT, names.archive(older)), (Rel.PREV_ARCHIVE, names.archive(older))]
    return Page(names.archive(number), PageKind.ARCHIVE, number, members, tuple(links))


def changed_pages(old: PagePlan | None, new: PagePlan) -> PageChanges:
    """Pages of ``new`` whose file must be (re)written, and files of ``old`` to delete.

    A page is unchanged when its path, kind, item keys, item digests and links are equal.
    The channel header is not compared: when it changes, the caller rewrites what it wants.
    """
    before = {page.path: page.signature() for page in old.pages} if old else {}
    changed = [*new.archives, new.subscription]
    write = tuple(page for page in changed if before.get(page.path) != page.signature())
    now = {page.path for page in new.pages}
    delete = tuple(path for path in before if path not in now)
    return PageChanges(write, delete)


def episode_keys(pages: Iterable[Page]) -> list[str]:
    """Keys in the order a client walking the pages sees them: newest first per page."""
    return [item.key for page in pages for item in reversed(page.items)]
