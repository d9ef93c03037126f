"""Paged feeds, end to end: plan, render, serve on 127.0.0.1, walk with real feed parsers.

gPodder's podcastparser reports a page's ``atom:link rel="next"`` as ``paged_feed_next`` and
leaves fetching to its caller (as gPodder does); feedparser lists the channel's links. Both
walks must meet every episode exactly once, newest first.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import podcastparser
import pytest

from tts_pipeline.errors import FeedError
from tts_pipeline.package.feed_pages import (
    PageKind,
    PageNames,
    PagePlan,
    PageSettings,
    PlannedItem,
    Rel,
    changed_pages,
    plan_pages,
)
from tts_pipeline.package.rss import FeedChannel, FeedItem, Transcript, render_feed
from tts_pipeline.package.rss_pages import ItemCache, RenderedItem, render_pages

T0 = datetime(2019, 1, 1, tzinfo=UTC)
SMALL = PageSettings(page_items=10, subscription_items=30)
DEFAULT = PageSettings()
# Pages fill by bytes (about 12 KB each) long before 50 items (items here are 1-3 KB).
BYTES = PageSettings(
    page_items=50, subscription_items=150, max_page_bytes=40_000, header_bytes=4_096
)
FEED = PageNames("feed.xml")
CACHE = ItemCache()  # shared: each synthetic episode is rendered once for the whole module


def episode(i: int, *, audio: int = 0) -> FeedItem:
    words = " ".join(f"word{j}" for j in range(20 + (i * 37) % 300))
    return FeedItem(
        guid=f"ep-{i:05d}",
        title=f"Episode {i} & <friends>",
        link=f"https://forum.example/posts/{i}",
        description=words,
        published=T0 + timedelta(hours=i),
        enclosure_url=f"https://cdn.example/episodes/{i}-{audio}.mp3",
        enclosure_length=1_000_000 + i,
        duration_s=600.0 + i,
        content_html=f"<p>Show notes {i}</p>" if i % 3 == 0 else "",
        transcripts=(Transcript(f"https://cdn.example/{i}.vtt", "text/vtt", captions=True),),
    )


def rendered(count: int) -> list[RenderedItem]:
    return CACHE.render_all(episode(i) for i in range(count))


def planned(items: list[RenderedItem]) -> list[PlannedItem]:
    return [item.planned() for item in items]


def newest_first(count: int) -> list[str]:
    return [f"ep-{i:05d}" for i in reversed(range(count))]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1, and its URL."""
    root = tmp_path_factory.mktemp("site")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Publication:
    """One feed published into its own folder of the served site."""

    def __init__(self, site: tuple[Path, str], name: str) -> None:
        self.folder = site[0] / name
        self.base = f"{site[1]}{name}/"
        self.channel = FeedChannel(
            title="Paged library",
            link="https://forum.example/",
            description="Every post, read aloud.",
            self_url=self.base + FEED.subscription,
            image_url="https://cdn.example/cover.png",
            author="Readers",
        )

    @property
    def url(self) -> str:
        return self.base + FEED.subscription

    def render(self, plan: PagePlan, items: list[RenderedItem]) -> dict[str, bytes]:
        return render_pages(self.channel, plan.pages, items, self.base)

    def write(self, pages: dict[str, bytes], delete: tuple[str, ...] = ()) -> None:
        for path, data in pages.items():
            target = self.folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for path in delete:
            (self.folder / path).unlink()

    def on_disk(self) -> dict[str, bytes]:
        files = self.folder.rglob("*.xml")
        return {p.relative_to(self.folder).as_posix(): p.read_bytes() for p in files}


def walk_podcastparser(url: str) -> tuple[list[str], dict[str, str]]:
    """Follow ``paged_feed_next`` as gPodder does; guids in order and enclosure URLs."""
    guids: list[str] = []
    enclosures: dict[str, str] = {}
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        assert next_url not in seen, f"page loop at {next_url}"
        seen.add(next_url)
        with urllib.request.urlopen(next_url, timeout=10) as response:
            parsed = podcastparser.parse(next_url, response)
        assert parsed["episodes"], f"{next_url} lists no episode: gPodder would stop here"
        for entry in parsed["episodes"]:
            guids.append(entry["guid"])
            enclosures[entry["guid"]] = entry["enclosures"][0]["url"]
        next_url = parsed.get("paged_feed_next")
    return guids, enclosures


def walk_feedparser(url: str) -> list[str]:
    """Follow the channel's ``rel="next"`` link by hand."""
    guids: list[str] = []
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        assert next_url not in seen, f"page loop at {next_url}"
        seen.add(next_url)
        parsed = feedparser.parse(next_url)
        assert not parsed.bozo, parsed.get("bozo_exception")
        guids += [entry.id for entry in parsed.entries]
        nexts = [link.href for link in parsed.feed.get("links", []) if link.rel == "next"]
        assert len(nexts) <= 1
        next_url = nexts[0] if nexts else None
    return guids


@pytest.mark.parametrize("settings", [SMALL, DEFAULT, BYTES], ids=["small", "default", "bytes"])
@pytest.mark.parametrize("count", [1, 7, 10, 30, 31, 301, 2000])
def test_walking_next_links_finds_every_episode_once_newest_first(
    site: tuple[Path, str], settings: PageSettings, count: int
) -> None:
    items = rendered(count)
    plan = plan_pages(planned(items), FEED, settings)
    pub = Publication(site, f"walk-{count}-{settings.page_items}-{settings.max_page_bytes}")
    pages = pub.render(plan, items)
    pub.write(pages)

    guids, _ = walk_podcastparser(pub.url)
    assert guids == newest_first(count)
    assert walk_feedparser(pub.url) == newest_first(count)

    assert all(len(data) <= settings.max_page_bytes for data in pages.values())
    assert all(page.items for page in plan.pages)
    top = plan.subscription
    assert 0 < len(top.items) <= settings.subscription_items
    assert top.item_bytes <= settings.item_bytes
    older = [page for page in plan.archives if (Rel.NEXT, page.path) in top.links]
    if older:  # the subscription document is as full as whole pages allow
        fits_count = len(top.items) + len(older[0].items) <= settings.subscription_items
        fits_bytes = top.item_bytes + older[0].item_bytes <= settings.item_bytes
        assert not (fits_count and fits_bytes)
        if fits_count:  # then bytes were the limit: at most one page's worth short
            assert top.item_bytes > settings.item_bytes - settings.page_item_bytes
        else:
            assert len(top.items) > settings.subscription_items - settings.page_items
    else:
        assert len(top.items) == count
    assert b"<fh:archive" not in pages[FEED.subscription]
    for page in plan.archives:
        assert b"<fh:archive />" in pages[page.path]
        assert page.path == f"feed/page-{page.number:06d}.xml"


def test_byte_budget_is_what_fills_pages_when_items_are_large(site: tuple[Path, str]) -> None:
    items = rendered(400)
    plan = plan_pages(planned(items), FEED, BYTES)
    pages = Publication(site, "bytes").render(plan, items)
    assert max(len(page.items) for page in plan.archives) < BYTES.page_items
    assert all(len(data) <= BYTES.max_page_bytes for data in pages.values())
    # Full pages are filled: the next item would not have fitted.
    for older, newer in zip(plan.archives, plan.archives[1:], strict=False):
        assert older.item_bytes <= BYTES.page_item_bytes
        assert older.item_bytes + newer.items[0].size > BYTES.page_item_bytes


@pytest.mark.parametrize("settings", [SMALL, BYTES], ids=["small", "bytes"])
@pytest.mark.parametrize("with_previous", [True, False], ids=["sticky", "fresh"])
def test_full_pages_keep_their_bytes_when_episodes_are_added(
    site: tuple[Path, str], settings: PageSettings, with_previous: bool
) -> None:
    pub = Publication(site, f"grow-{settings.page_items}-{with_previous}")
    before_items = rendered(137)
    before = plan_pages(planned(before_items), FEED, settings)
    before_pages = pub.render(before, before_items)
    after_items = rendered(412)
    previous = before if with_previous else None
    after = plan_pages(planned(after_items), FEED, settings, previous)
    after_pages = pub.render(after, after_items)

    assert before.archives, "the test needs full pages"
    for page in before.archives:
        assert after_pages[page.path] == before_pages[page.path], page.path
    changes = changed_pages(before, after)
    old_paths = {page.path for page in before.archives}
    assert not old_paths & {page.path for page in changes.write}
    assert changes.delete == ()


def test_publishing_one_episode_at_a_time_writes_only_what_changed(
    site: tuple[Path, str],
) -> None:
    pub = Publication(site, "one-by-one")
    cache = ItemCache()
    plan: PagePlan | None = None
    for count in range(1, 75):
        items = cache.render_all(episode(i) for i in range(count))
        assert cache.renders == count  # one item rendered per new episode, never the others
        new = plan_pages(planned(items), FEED, SMALL, plan)
        changes = changed_pages(plan, new)
        assert len(changes.write) <= 2  # the subscription document, and a page that filled
        assert changes.write[-1].kind is PageKind.SUBSCRIPTION  # written last
        pub.write(render_pages(pub.channel, changes.write, items, pub.base), changes.delete)
        # What is on disk equals a complete fresh render: nothing was missed.
        assert pub.on_disk() == pub.render(new, items)
        plan = new
    guids, _ = walk_podcastparser(pub.url)
    assert guids == newest_first(74)


def test_remade_and_removed_episodes_rewrite_only_their_pages(site: tuple[Path, str]) -> None:
    pub = Publication(site, "remake")
    items = rendered(250)
    plan = plan_pages(planned(items), FEED, SMALL)
    pub.write(pub.render(plan, items))

    # Episode 5 is re-made: same guid, new audio, new enclosure URL. Only page 1 changes.
    remade = [CACHE.render(episode(5, audio=1)) if i == 5 else item for i, item in enumerate(items)]
    new = plan_pages(planned(remade), FEED, SMALL, plan)
    changes = changed_pages(plan, new)
    assert [page.path for page in changes.write] == ["feed/page-000001.xml"]
    pub.write(render_pages(pub.channel, changes.write, remade, pub.base))
    guids, enclosures = walk_podcastparser(pub.url)
    assert guids == newest_first(250)
    assert enclosures["ep-00005"] == "https://cdn.example/episodes/5-1.mp3"

    # Episode 15 is removed: only page 2 changes (it keeps its number and shrinks).
    # Episodes 20-29 (all of page 3) are removed: page 3 goes, page 4 now leads to page 2.
    gone = {15, *range(20, 30)}
    kept = [item for i, item in enumerate(remade) if i not in gone]
    newer = plan_pages(planned(kept), FEED, SMALL, new)
    changes = changed_pages(new, newer)
    assert sorted(page.path for page in changes.write) == [
        "feed/page-000002.xml",
        "feed/page-000004.xml",
    ]
    assert changes.delete == ("feed/page-000003.xml",)
    pub.write(render_pages(pub.channel, changes.write, kept, pub.base), changes.delete)
    assert pub.on_disk() == pub.render(newer, kept)
    expected = [f"ep-{i:05d}" for i in reversed(range(250)) if i not in gone]
    assert walk_podcastparser(pub.url)[0] == expected
    assert walk_feedparser(pub.url) == expected

    # New episodes after the removal get fresh page numbers: 3 is never reused.
    grown = [*kept, *CACHE.render_all(episode(i) for i in range(250, 300))]
    latest = plan_pages(planned(grown), FEED, SMALL, newer)
    assert "feed/page-000003.xml" not in {page.path for page in latest.pages}
    assert latest.next_number > newer.next_number


def test_a_stored_plan_reads_back_as_the_same_plan() -> None:
    items = rendered(123)
    plan = plan_pages(planned(items), FEED, SMALL)
    again = PagePlan.from_json(plan.to_json(), SMALL)
    assert [p.signature() for p in again.pages] == [p.signature() for p in plan.pages]
    assert again.next_number == plan.next_number
    assert changed_pages(plan, again).write == ()


def test_items_are_the_same_bytes_as_in_a_single_feed(site: tuple[Path, str]) -> None:
    """The fragments come from feed.py's own item rendering, not from a copy of it."""
    pub = Publication(site, "same-items")
    feed_items = [episode(i) for i in range(12)]
    items = CACHE.render_all(feed_items)
    plan = plan_pages(planned(items), FEED, SMALL)
    assert not plan.archives or len(plan.subscription.items) == 12
    page = pub.render(plan, items)[FEED.subscription]
    single = render_feed(pub.channel, feed_items)
    pattern = re.compile(rb"<item>.*?</item>", re.DOTALL)
    assert pattern.findall(page) == pattern.findall(single)


def test_settings_and_names_are_checked() -> None:
    with pytest.raises(FeedError):
        PageSettings(page_items=0)
    with pytest.raises(FeedError):
        PageSettings(page_items=100, subscription_items=150)
    with pytest.raises(FeedError):
        PageSettings(max_page_bytes=1000, header_bytes=1000)
    with pytest.raises(FeedError):
        PageNames("feed")
    assert PageNames("feeds/AF.xml").archive(7) == "feeds/AF/page-000007.xml"
    one = CACHE.render(episode(1))
    with pytest.raises(FeedError):
        plan_pages([one.planned(), one.planned()], FEED)


def test_an_empty_feed_is_one_empty_subscription_document() -> None:
    plan = plan_pages([], FEED)
    assert plan.archives == ()
    assert plan.subscription.kind is PageKind.SUBSCRIPTION
    assert plan.subscription.items == ()
