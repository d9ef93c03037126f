"""Write a library's paged feeds, and render their pages for any address.

``publish_feeds`` brings every feed's stored plan (:mod:`paging`) up to date and writes the
pages that changed, atomically: new and changed archive pages first, then the subscription
documents, ``feed.xml`` last, and only then removes pages that went away, so no written page
ever links to a missing one. The plan is stored in the same transaction, after the files.
``render_feed_pages`` renders pages for another address (the local server's) from the same
plan without writing anything: a library with episodes not yet published is planned in a
transaction that is rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path

from tts_pipeline.config import Config
from tts_pipeline.errors import FeedError
from tts_pipeline.fsutil import atomic_write_bytes
from tts_pipeline.library.feed_items import ItemStore, at_base
from tts_pipeline.library.feeds import (
    COVER_NAME,
    FeedPlan,
    check_base_url,
    is_public_url,
    library_url,
    plan_feeds_for,
)
from tts_pipeline.library.layout import Library
from tts_pipeline.library.page_store import (
    PREFIXES_SQL,
    FeedHead,
    forget_changes,
    last_change,
    load_head,
)
from tts_pipeline.library.paging import (
    FeedTarget,
    FeedUpdate,
    current_page,
    store_update,
    update_feed,
)
from tts_pipeline.package.cover import default_cover
from tts_pipeline.package.feed_pages import Page, PageKind, PageSettings, subscription_page
from tts_pipeline.package.rss import FeedChannel, podcast_guid
from tts_pipeline.package.rss_pages import RENDER_VERSION, render_page

log = logging.getLogger(__name__)

# Bumped when the page layout changes, so every stored plan's pages are written again.
PAGES_VERSION = "1"


@dataclass(frozen=True)
class FeedSource:
    """One feed with what its pages are rendered from, at one address."""

    plan: FeedPlan
    channel: FeedChannel
    target: FeedTarget


def _source(
    conn: sqlite3.Connection | None,
    plan: FeedPlan,
    config: Config,
    base: str,
    guids: dict[str, str],
    settings: PageSettings,
) -> FeedSource:
    self_url = library_url(base, plan.path)
    channel = FeedChannel(
        title=plan.title,
        link=base,
        description=plan.description,
        self_url=self_url,
        image_url=library_url(base, COVER_NAME),
        author=config.templates.podcast_name,
        language=config.language,
        podcast_guid=guids.get(plan.path) or podcast_guid(self_url),
    )
    made_from = [PAGES_VERSION, RENDER_VERSION, list(astuple(channel)), list(astuple(settings))]
    header = hashlib.sha256(json.dumps(made_from).encode("utf-8", "surrogatepass")).hexdigest()
    if plan.incremental:
        where, params = plan.selection(conn)
        target = FeedTarget(plan.path, where, params, header, settings)
    else:  # its whole selection only if it is planned in full; else what changed in it
        now = datetime.now(UTC)
        target = FeedTarget(
            plan.path, "", (), header, settings, incremental=False,
            full_selection=lambda: plan.selection(conn, now),
            delta=lambda c, changed: plan.moves(c, changed, now),
        )  # fmt: skip
    return FeedSource(plan, channel, target)


def page_settings(config: Config) -> PageSettings:
    """The paging settings in ``config`` (FeedError if they do not fit together)."""
    return PageSettings(
        page_items=config.feed_page_items,
        subscription_items=config.feed_items,
        max_page_bytes=config.feed_max_bytes,
    )


def feed_sources(
    conn: sqlite3.Connection | None, config: Config, base: str, *, assign_guids: bool = False
) -> list[FeedSource]:
    """Every feed of the library (none but the configured ones without ``conn``), rendered
    at ``base``. With ``assign_guids``, a feed without a podcast:guid is given one from
    its URL at ``base`` (the first public address it is published at keeps it)."""
    prefixes: list[str] = []
    guids: dict[str, str] = {}
    if conn is not None:
        prefixes = [str(r[0]) for r in conn.execute(PREFIXES_SQL)]
    plans = plan_feeds_for(config, prefixes)
    if conn is not None and assign_guids:
        now = datetime.now(UTC).isoformat()
        conn.executemany(
            "INSERT OR IGNORE INTO feed_guids VALUES (?,?,?,?)",
            [
                (plan.path, podcast_guid(url), url, now)
                for plan in plans
                if (url := library_url(base, plan.path))
            ],
        )
    if conn is not None:
        guids = dict(conn.execute("SELECT feed, guid FROM feed_guids").fetchall())
    settings = page_settings(config)
    return [_source(conn, plan, config, base, guids, settings) for plan in plans]


def render(conn: sqlite3.Connection | None, source: FeedSource, page: Page, base: str) -> bytes:
    """One page as XML bytes, its items taken from the stored renderings."""
    keys = [item.key for item in page.items]
    found = ItemStore.fragments(conn, keys) if conn is not None and keys else {}
    fragments = {item.digest: found[item.key][1] for item in page.items if item.key in found}
    base = base.rstrip("/") + "/"
    return at_base(render_page(source.channel, page, fragments, base), base)


def _write(library: Library, relative: str, data: bytes) -> None:
    try:
        atomic_write_bytes(library.root / relative, data)
    except OSError as exc:
        raise FeedError(f"cannot write the feed page {relative} in {library.root}: {exc}") from exc


def _write_updates(
    library: Library,
    conn: sqlite3.Connection,
    updates: list[tuple[FeedSource, FeedUpdate]],
    base: str,
) -> int:
    """Archive pages of every feed, then subscription documents (feed.xml last), then the
    removal of pages gone; one page in memory at a time. Returns the pages written."""
    pages = [(source, page) for source, update in updates for page in update.write]
    order = sorted(
        range(len(pages)),
        key=lambda n: (pages[n][1].kind is PageKind.SUBSCRIPTION, pages[n][1].path == "feed.xml"),
    )
    for n in order:
        source, page = pages[n]
        _write(library, page.path, render(conn, source, page, base))
    for _, update in updates:
        for relative in update.delete:
            (library.root / relative).unlink(missing_ok=True)
    return len(pages)


def _write_cover(library: Library) -> None:
    try:
        cover, art = library.root / COVER_NAME, default_cover().read_bytes()
        if not cover.is_file() or cover.read_bytes() != art:
            atomic_write_bytes(cover, art)
    except OSError as exc:
        raise FeedError(f"cannot write the cover in {library.root}: {exc}") from exc


def publish_feeds(library: Library, config: Config, base_url: str | None = None) -> list[Path]:
    """Bring every feed's pages up to date (writing only the pages that change) with the
    cover; return the subscription documents' paths, ``feed.xml`` first.

    A feed's podcast:guid is kept from the first time it is published at a public URL; a
    loopback or test address never fixes it. One process at a time renders and writes
    (``Library.writing_feeds``), each from the state as it is then: two processes that
    published at once cannot leave the feeds without the episode the other recorded. MP3
    names the feeds no longer give go once they are written (``Library.sweep_retired``).
    """
    with library.writing_feeds():
        written = _write_feeds(library, config, base_url)
        library.sweep_retired()
    return written


def _write_feeds(library: Library, config: Config, base_url: str | None) -> list[Path]:
    base = check_base_url(base_url or config.public_base_url)
    page_settings(config)  # a bad setting fails before anything is written
    _write_cover(library)
    store = ItemStore(library, config.language)
    with library.state() as conn:
        conn.execute("BEGIN IMMEDIATE")  # one publisher at a time: plans follow the files
        sources = feed_sources(conn, config, base, assign_guids=is_public_url(base))
        cursor = last_change(conn)
        updates = []
        for source in sources:
            head = load_head(conn, source.plan.path)
            gone = not (library.root / source.plan.path).is_file()
            update = update_feed(conn, store, source.target, base, head, cursor, rewrite_all=gone)
            updates.append((source, update))
        written = _write_updates(library, conn, updates, base)
        for _, update in updates:
            store_update(conn, update)
        forget_changes(conn, [source.plan.path for source in sources])
    log.info("wrote %d feed pages (%d items rendered)", written, store.renders)
    return [library.root / source.plan.path for source in sources]


def _heads(
    conn: sqlite3.Connection, store: ItemStore, sources: list[FeedSource], base: str
) -> dict[str, FeedHead]:
    """Every feed's head, planned forward (in the open transaction) when behind; as stored
    when another process holds the database for longer than the busy timeout."""
    cursor = last_change(conn)
    heads = {source.plan.path: load_head(conn, source.plan.path) for source in sources}
    stored = {path: head for path, head in heads.items() if head is not None}
    if all(head is not None and head.cursor >= cursor for head in heads.values()):
        return stored
    try:
        conn.execute("BEGIN IMMEDIATE")  # rolled back by the caller: nothing is kept
    except sqlite3.OperationalError as exc:  # busy: a publisher at work
        log.info("feed pages as last published (%s)", exc)
        return stored
    found = {}
    for source in sources:
        head = heads[source.plan.path]
        update = update_feed(conn, store, source.target, base, head, cursor, check_header=False)
        store_update(conn, update)
        found[source.plan.path] = update.head
    return found


def feeds_version(library: Library) -> tuple[object, ...]:
    """Changes whenever any feed page would: a key for caches of rendered pages."""
    if not library.state_path.exists():
        return ()
    with library.state() as conn:
        heads = conn.execute("SELECT feed, version, cursor FROM feed_heads ORDER BY feed")
        return (last_change(conn), *heads.fetchall())


def render_feed_pages(
    library: Library, config: Config, base_url: str, paths: Iterable[str] | None = None
) -> dict[str, bytes]:
    """Pages of the library's feeds rendered at ``base_url``, by path in the library: those
    in ``paths`` that exist, or every page. Nothing is written or kept."""
    base = check_base_url(base_url)
    wanted = None if paths is None else set(paths)
    if not library.state_path.exists():  # no library yet: empty feeds, no database made
        sources = feed_sources(None, config, base)
        empty = [(s, subscription_page(s.target.names, (), None, None)) for s in sources]
        return {
            page.path: render(None, source, page, base)
            for source, page in empty
            if wanted is None or page.path in wanted
        }
    store = ItemStore(library, config.language)
    pages: dict[str, bytes] = {}
    with library.state() as conn:
        try:
            sources = feed_sources(conn, config, base)
            heads = _heads(conn, store, sources, base)
            for source in sources:
                head = heads.get(source.plan.path)
                if head is None:
                    continue
                for relative in _paths(conn, source, head, wanted):
                    page = current_page(conn, source.target, head, relative)
                    if page is not None:
                        pages[page.path] = render(conn, source, page, base)
        finally:
            conn.rollback()
    return pages


def _paths(
    conn: sqlite3.Connection, source: FeedSource, head: FeedHead, wanted: set[str] | None
) -> list[str]:
    names = source.target.names
    if wanted is not None:
        mine = names.archive_dir + "/"
        return [p for p in wanted if p == names.subscription or p.startswith(mine)]
    rows = conn.execute("SELECT number FROM feed_pages WHERE feed = ?", (head.feed,))
    return [names.subscription, *(names.archive(int(n)) for (n,) in rows)]


def render_library_feeds(
    library: Library, config: Config, base_url: str | None = None
) -> dict[str, bytes]:
    """Every page of every feed, rendered at ``base_url`` (default: the config's); nothing
    is written. For small libraries and tests: the server renders the page asked for."""
    return render_feed_pages(library, config, base_url or config.public_base_url)
