"""Paged feeds of a synthetic library (real state rows, real small files), read the way podcast
apps read them: from each feed's subscription document, follow ``next`` to the end with
gPodder's podcastparser and with feedparser, and find every episode exactly once, newest
first. Full archive pages never change; one more episode rewrites only the newest pages.
"""

from __future__ import annotations

import http.client
import io
import random
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest
from feedkit import add_episodes, episode_id, remove_episode

from tts_pipeline.config import Config, parse_config
from tts_pipeline.library.channel_sql import channel_members
from tts_pipeline.library.feed_items import ItemStore
from tts_pipeline.library.feed_writer import publish_feeds, render_feed_pages
from tts_pipeline.library.feeds import plan_feeds_for
from tts_pipeline.library.layout import Library
from tts_pipeline.library.page_store import last_change, load_head
from tts_pipeline.library.paging import FeedTarget, FeedUpdate, store_update, update_feed
from tts_pipeline.package.feed_pages import PageSettings
from tts_pipeline.publish.tree import Role, public_tree
from tts_pipeline.serve.server import LibraryServer

BASE = "https://podcast.example.org/nl/"
SUBSCRIPTIONS = ("feed.xml", "feeds/AF.xml", "feeds/LW.xml", "feeds/EA.xml")


def _config(root: Path, *, only_dated: bool = False) -> Config:
    """Small pages, so a few hundred episodes make many of them. ``only_dated``: only the
    feeds whose episodes are each placed by their own date (every episode, per forum), not
    the daily, weekly and top ones, whose members change with other episodes."""
    data: dict[str, object] = {
        "base_url": BASE, "library": str(root), "feed_items": 30, "feed_page_items": 10
    }  # fmt: skip
    if only_dated:
        data["channels"] = {name: {"enabled": False} for name in ("daily", "weekly", "top")}
    return parse_config(data)


def _local(root: Path, url: str) -> Path:
    assert url.startswith(BASE), url
    return root / url[len(BASE) :]


def _walk_podcastparser(root: Path, start: str) -> list[str]:
    guids: list[str] = []
    url: str | None = BASE + start
    seen = set()
    while url:
        assert url not in seen, f"{url} is reached twice"
        seen.add(url)
        with open(_local(root, url), "rb") as stream:
            parsed = podcastparser.parse(url, stream, max_episodes=0)
        assert parsed["episodes"], f"{url} has no episodes: gPodder stops at such a page"
        guids += [episode["guid"] for episode in parsed["episodes"]]
        url = parsed.get("paged_feed_next")
    return guids


def _walk_feedparser(root: Path, start: str) -> list[str]:
    guids: list[str] = []
    url: str | None = BASE + start
    while url:
        parsed: Any = feedparser.parse(io.BytesIO(_local(root, url).read_bytes()))
        assert not parsed.bozo, parsed.bozo_exception
        guids += [entry.id for entry in parsed.entries]
        url = next((link.href for link in parsed.feed.links if link.rel == "next"), None)
    return guids


def _expected(library: Library, prefix: str | None) -> list[str]:
    """Every episode of a feed, newest first."""
    with sqlite3.connect(library.state_path) as conn:
        rows = conn.execute(
            "SELECT id FROM episodes WHERE ? IS NULL OR prefix = ? ORDER BY published DESC, id",
            (prefix, prefix),
        ).fetchall()
    return [r[0] for r in rows]


def _files(root: Path) -> dict[str, tuple[int, bytes]]:
    paths = [root / "feed.xml", *(root / "feed").glob("*.xml"), *(root / "feeds").rglob("*.xml")]
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in paths}


def _check_walks(
    library: Library, *, newest_first: bool = True, with_feedparser: bool = True
) -> None:
    """Every episode once in each feed's walk, newest first (unless backdated episodes
    were added: they join the newest page, as full pages never change)."""
    for path in SUBSCRIPTIONS:
        prefix = None if path == "feed.xml" else path.split("/")[1].removesuffix(".xml")
        expected = _expected(library, prefix)
        walks = [_walk_podcastparser(library.root, path)]
        if with_feedparser:  # the slower of the two
            walks.append(_walk_feedparser(library.root, path))
        for walked in walks:
            if newest_first:
                assert walked == expected, path
            else:
                assert len(walked) == len(set(walked)), path
                assert set(walked) == set(expected), path


@pytest.fixture
def library(tmp_path: Path) -> Library:
    library = Library(tmp_path / "lib")
    add_episodes(library, 0, 250)
    publish_feeds(library, _config(library.root))
    return library


def test_every_episode_once_newest_first_through_the_pages(library: Library) -> None:
    assert len(list((library.root / "feed").glob("page-*.xml"))) >= 20
    _check_walks(library)
    for relative, (_, data) in _files(library.root).items():
        channel = ET.fromstring(data).find("channel")
        assert channel is not None
        assert len(data) < 1_000_000, relative
        assert len(channel.findall("item")) <= 30, relative


def test_one_more_episode_rewrites_only_the_newest_pages(library: Library) -> None:
    config = _config(library.root, only_dated=True)
    before = _files(library.root)
    full = {p for p in before if "/page-" in p}
    for number in range(250, 275):  # one at a time, as conversions publish them
        add_episodes(library, number, 1)
        publish_feeds(library, config)
        now = _files(library.root)
        changed = {p for p in now if before.get(p) != now[p]}
        new_pages = {p for p in changed if p not in before}
        assert changed - new_pages <= {"feed.xml", f"feeds/{('AF', 'LW', 'EA')[number % 3]}.xml"}
        assert len(new_pages) <= 2  # at most one new full page in each of its two feeds
        before = now
    # Every page that was full at the start is byte-for-byte and file-for-file the same.
    assert all(before[p] == _files(library.root)[p] for p in full)
    _check_walks(library)


def test_removed_and_remade_episodes_touch_only_their_pages(library: Library) -> None:
    config = _config(library.root, only_dated=True)
    before = _files(library.root)
    remove_episode(library, episode_id(30))  # on an old full page of feed.xml and of AF
    publish_feeds(library, config)
    after = _files(library.root)
    changed = {p for p in after if before.get(p) != after[p]} | (set(before) - set(after))
    assert 1 <= len(changed - {"feed.xml", "feeds/AF.xml"}) <= 2
    _check_walks(library)
    # Re-made: a new MP3 name, so a new enclosure URL on its page.
    with sqlite3.connect(library.state_path) as conn:
        conn.execute("UPDATE episodes SET mp3 = ?, created_at = 'later' WHERE id = ?",
                     ("ep0000031-new.mp3", episode_id(31)))  # fmt: skip
    (library.episodes_dir / "ep0000031-new.mp3").write_bytes(b"\xff\xfb\x90\x64" + bytes(100))
    before = _files(library.root)
    publish_feeds(library, config)
    after = _files(library.root)
    changed = {p for p in after if before.get(p) != after[p]}
    assert len(changed) == 2  # its page in feed.xml and in feeds/LW.xml
    assert all(b"ep0000031-new.mp3" in after[p][1] for p in changed)
    _check_walks(library)


def test_a_new_title_or_address_rewrites_every_page(library: Library) -> None:
    config = _config(library.root)
    publish_feeds(library, replace(config, base_url="https://elsewhere.example.net/"))
    data = (library.root / "feed" / "page-000001.xml").read_bytes()
    assert b"https://elsewhere.example.net/episodes/" in data
    assert BASE.encode() not in data


def test_rendering_for_another_address_writes_nothing(library: Library) -> None:
    config = _config(library.root)
    before = _files(library.root)
    add_episodes(library, 250, 1)  # recorded, not yet published: shown all the same
    pages = render_feed_pages(library, config, "http://10.0.0.7:8000/", ["feed.xml"])
    assert episode_id(250).encode() in pages["feed.xml"]
    assert b"http://10.0.0.7:8000/episodes/" in pages["feed.xml"]
    assert _files(library.root) == before
    publish_feeds(library, config)  # and the stored plan was not moved on by the render
    assert episode_id(250).encode() in (library.root / "feed.xml").read_bytes()


def _get(server: LibraryServer, path: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    reply = conn.getresponse()
    reply.body = reply.read()  # type: ignore[attr-defined]
    conn.close()
    return reply


def test_server_pages_follow_the_library(library: Library) -> None:
    config = _config(library.root)
    with LibraryServer(library, config=config, port=0) as server:
        first = _get(server, "/feed.xml")
        assert first.status == 200
        body: bytes = first.body  # type: ignore[attr-defined]
        assert f"{server.url}feed/page-".encode() in body
        archive = _get(server, "/feed/page-000001.xml")
        assert archive.status == 200 and b"<fh:archive" in archive.body  # type: ignore[attr-defined]
        assert _get(server, "/feed.xml", If_None_Match=first.headers["etag"]).status == 304
        assert _get(server, "/feed/page-999999.xml").status == 404
        add_episodes(library, 250, 1)
        publish_feeds(library, config)
        again = _get(server, "/feed.xml", If_None_Match=first.headers["etag"])
        assert again.status == 200
        assert episode_id(250).encode() in again.body  # type: ignore[attr-defined]


def test_server_page_lists_the_newest_and_searches(library: Library) -> None:
    with LibraryServer(library, config=_config(library.root), port=0) as server:
        page = _get(server, "/").body.decode()  # type: ignore[attr-defined]
        assert page.count('class="episode"') == 50
        assert f'id="episode-{episode_id(249)}"' in page
        assert "Episodes 1 to 50 of 250" in page and 'rel="next" href="/?start=50"' in page
        older = _get(server, "/?start=200").body.decode()  # type: ignore[attr-defined]
        assert f'id="episode-{episode_id(49)}"' in older
        assert f'id="episode-{episode_id(50)}"' not in older
        found = _get(server, "/?q=post+123%3A").body.decode()  # type: ignore[attr-defined]
        assert found.count('class="episode"') == 1 and episode_id(123) in found
        by_author = _get(server, "/?q=Author+52").body.decode()  # type: ignore[attr-defined]
        assert "Episodes 1 to 4 of 4" in by_author  # 52, 105, 158, 211
        none = _get(server, "/?q=%25").body.decode()  # type: ignore[attr-defined]
        assert "No episode matches" in none


def test_random_changes_keep_every_feed_walkable(library: Library) -> None:
    """Additions (new and backdated), removals and re-made episodes in random batches: after
    every publish each feed still lists every episode once, newest first, and no page that
    no change touched was written again."""
    rng = random.Random(18)
    config = _config(library.root)
    present = [episode_id(n) for n in range(250)]
    next_number = 250
    backdated = False
    for _ in range(8):
        before = _files(library.root)
        touched: set[str] = set()
        for _ in range(rng.randint(1, 6)):
            action = rng.choice(["add", "add", "backfill", "remove", "remake"])
            if action == "add":
                count = rng.randint(1, 12)
                present += add_episodes(library, next_number, count)
                next_number += count
            elif action == "backfill":  # an old post converted late: joins the open tail
                present += add_episodes(library, next_number, 1)
                with sqlite3.connect(library.state_path) as conn:
                    conn.execute("UPDATE episodes SET published = '2018-06-01T00:00:00+00:00'"
                                 " WHERE id = ?", (present[-1],))  # fmt: skip
                next_number += 1
                backdated = True
            elif action == "remove":
                victim = present.pop(rng.randrange(len(present)))
                remove_episode(library, victim)
                touched.add(victim)
            else:
                eid = rng.choice(present)
                name = f"{eid}-remade{next_number}.mp3"
                (library.episodes_dir / name).write_bytes(b"\xff\xfb\x90\x64" + bytes(50))
                with sqlite3.connect(library.state_path) as conn:
                    conn.execute("UPDATE episodes SET mp3 = ? WHERE id = ?", (name, eid))
                touched.add(eid)
                next_number += 1
        publish_feeds(library, config)
        _check_walks(library, newest_first=not backdated, with_feedparser=False)
        after = _files(library.root)
        for path, (mtime, data) in after.items():
            if "/page-" in path and path in before and before[path][0] != mtime:
                # rewritten: it must hold or have held a touched episode, or be relinked
                assert data != before[path][1] or touched, path
    _check_walks(library, newest_first=not backdated)


def test_a_page_left_empty_goes_and_its_newer_neighbour_is_relinked(library: Library) -> None:
    config = _config(library.root)
    page2 = ET.fromstring((library.root / "feed/page-000002.xml").read_bytes())
    guids = [guid.text or "" for guid in page2.iter("guid")]
    assert len(guids) == 10
    for eid in guids:
        remove_episode(library, eid)
    publish_feeds(library, config)
    assert not (library.root / "feed/page-000002.xml").exists()
    page3 = (library.root / "feed/page-000003.xml").read_bytes()
    assert f'{BASE}feed/page-000001.xml" rel="next"'.encode() in page3
    _check_walks(library)


def test_a_selection_that_depends_on_other_episodes_is_planned_in_full(tmp_path: Path) -> None:
    """A top N: one episode's arrival can push another out, so such a feed is planned again
    from its selection on each change, its full pages still kept where they were."""
    library = Library(tmp_path / "lib")
    add_episodes(library, 0, 80)
    store = ItemStore(library, "en-us")
    top = "episodes.id IN (SELECT id FROM episodes ORDER BY published DESC LIMIT 50)"
    settings = PageSettings(page_items=10, subscription_items=20)
    target = FeedTarget("feeds/top.xml", top, (), "header", settings, incremental=False)

    def publish() -> FeedUpdate:
        with library.state() as conn:
            cursor = last_change(conn)
            head = load_head(conn, target.path)
            update = update_feed(conn, store, target, BASE, head, cursor)
            store_update(conn, update)
        return update

    first = publish()
    assert len(first.write) == 5 + 1  # five full pages of 10, the subscription (the newest 20)
    assert publish().write == []  # nothing changed
    add_episodes(library, 80, 1)  # pushes episode 30 out of the top 50: its page changes
    written = {page.path for page in publish().write}
    assert written == {"feeds/top/page-000001.xml", "feeds/top.xml"}


def test_the_public_tree_holds_every_page_archives_before_subscriptions(library: Library) -> None:
    tree = public_tree(library.root, BASE)
    pages = set(_files(library.root))
    assert pages <= set(tree.files)
    order = [f.relative for f in tree.in_upload_order() if f.relative in pages]
    archives = [p for p in order if "/page-" in p]
    assert all(tree.files[p].role is Role.ARCHIVE for p in archives)
    assert order[: len(archives)] == archives and order[-1] == "feed.xml"


def test_daily_weekly_and_top_feeds_follow_changes_without_a_full_plan(library: Library) -> None:
    """The feeds whose members depend on one another (a day's best, a week's best, a top N)
    take in new episodes and karma changes from the few periods they touch, and still list
    exactly what planning them in full would: every episode once, walked page by page."""
    config = _config(library.root)
    plans = [p for p in plan_feeds_for(config, ("AF", "LW", "EA")) if not p.incremental]
    assert {p.channel for p in plans} == {"daily", "weekly", "top"}
    rng = random.Random(11)
    for round_ in range(6):
        add_episodes(library, 250 + round_, 1)
        with sqlite3.connect(library.state_path) as conn:
            for eid in rng.sample([episode_id(n) for n in range(250)], 4):  # karma moves
                conn.execute(
                    "UPDATE episodes SET karma = ? WHERE id = ?", (rng.uniform(0, 900), eid)
                )
        publish_feeds(library, config)
        with library.state() as conn:
            heads = {p.path: load_head(conn, p.path) for p in plans}
            for plan in plans:
                assert plan.rules is not None
                expected = set(channel_members(conn, plan.rules, datetime.now(UTC)))
                walked = _walk_podcastparser(library.root, plan.path)
                assert len(walked) == len(set(walked)), plan.path
                assert set(walked) == expected, (round_, plan.path)
        assert all(head is not None for head in heads.values())
