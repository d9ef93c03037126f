"""Publishing one more episode into a large paged feed: what it costs, against the library size.

Builds N synthetic episodes (show notes of a few KB, like real ones), renders every item once
into the fragment cache (the first publish), then adds one episode and measures the steps of a
re-publish: digesting every item (the cache lookup), planning with the previous plan, finding
the changed pages and rendering them. Also prints the single feed of the same N episodes for
comparison (``render_feed``, what every conversion does today).

    .venv/bin/python benchmarks/feed_pages.py [--episodes 20000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from tts_pipeline.package.feed_pages import PageNames, changed_pages, plan_pages
from tts_pipeline.package.rss import FeedChannel, FeedItem, render_feed
from tts_pipeline.package.rss_pages import ItemCache, render_pages

T0 = datetime(2015, 1, 1, tzinfo=UTC)
BASE = "https://podcast.example/"
CHANNEL = FeedChannel(
    title="Benchmark library",
    link="https://forum.example/",
    description="Synthetic episodes.",
    self_url=BASE + "feed.xml",
    image_url=BASE + "cover.png",
    author="Readers",
)


def episode(i: int) -> FeedItem:
    notes = "".join(f"<p>Paragraph {j} of post {i}, some words of text.</p>" for j in range(40))
    return FeedItem(
        guid=f"af-{i:06d}",
        title=f"Post number {i}",
        link=f"https://forum.example/posts/{i}",
        description=f"Post {i}. " * 60,
        published=T0 + timedelta(hours=i),
        enclosure_url=f"{BASE}episodes/af-{i:06d}-abc.mp3",
        enclosure_length=10_000_000 + i,
        duration_s=900.0,
        content_html=notes,
    )


def timed(label: str, start: float) -> float:
    now = time.perf_counter()
    print(f"{label}: {now - start:.3f} s")
    return now


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=20_000)
    count = parser.parse_args().episodes
    names = PageNames("feed.xml")
    items = [episode(i) for i in range(count)]
    cache = ItemCache()

    start = time.perf_counter()
    rendered = cache.render_all(items)
    plan = plan_pages([r.planned() for r in rendered], names)
    pages = render_pages(CHANNEL, plan.pages, rendered, BASE)
    start = timed(f"first publish, {count} episodes, every page", start)
    print(f"pages: {len(pages)}; subscription document: {len(pages['feed.xml'])} bytes")

    items.append(episode(count))
    rendered = cache.render_all(items)
    start = timed(f"re-publish: digest {count + 1} items ({cache.renders - count} rendered)", start)
    new = plan_pages([r.planned() for r in rendered], names, previous=plan)
    start = timed("re-publish: plan", start)
    changes = changed_pages(plan, new)
    start = timed(f"re-publish: compare plans ({len(changes.write)} pages to write)", start)
    written = render_pages(CHANNEL, changes.write, rendered, BASE)
    size = sum(map(len, written.values()))
    timed(f"re-publish: render {len(written)} pages, {size} bytes", start)

    start = time.perf_counter()
    single = render_feed(CHANNEL, items)
    timed(f"single feed today: render_feed, {len(single)} bytes", start)


if __name__ == "__main__":
    main()
