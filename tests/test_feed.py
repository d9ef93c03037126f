"""The RSS feed: required podcast tags, order, and XML that hostile titles cannot break."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest

from tts_pipeline.errors import FeedError
from tts_pipeline.package.rss import (
    NS,
    FeedChannel,
    FeedItem,
    podcast_guid,
    render_feed,
    write_feed,
)

CHANNEL = FeedChannel(
    title="The Test Library",
    link="https://example.org/podcast",
    description="Forum posts, read aloud.",
    self_url="https://example.org/podcast/feed.xml",
    image_url="https://example.org/podcast/cover.png",
    author="Test Library",
    category="Society & Culture",
    subcategory="Philosophy",
)
OLD = FeedItem(
    guid="AF-old111",
    title="AF - The older post by A",
    link="https://www.alignmentforum.org/posts/old111/older",
    description="Older.",
    published=datetime(2023, 5, 26, 9, 0, tzinfo=UTC),
    enclosure_url="https://example.org/podcast/episodes/AF-old111.mp3",
    enclosure_length=1_234_567,
    duration_s=612.6,
)
NEW = FeedItem(
    guid="LW-new222",
    title="LW - The newer post by B",
    link="https://www.lesswrong.com/posts/new222/newer",
    description="Newer.",
    # Not UTC on purpose: the feed writes UTC.
    published=datetime(2023, 6, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
    enclosure_url="https://example.org/podcast/episodes/LW-new222.mp3",
    enclosure_length=2_345,
    duration_s=59.4,
)
HOSTILE = (
    "<script>alert(1)</script> & \"quotes\" 'apostrophes' ]]> "
    + "".join(map(chr, range(32)))
    + "\u202e reversed \ufffe\ud800 🎧🦜 "
    + "x" * 2000
)


def _itunes(tag: str) -> str:
    return f"{{{NS['itunes']}}}{tag}"


def test_feed_has_required_tags_newest_first() -> None:
    data = render_feed(CHANNEL, [OLD, NEW])
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")

    root = ET.fromstring(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for tag in ("title", "link", "description", "language"):
        assert channel.findtext(tag)
    assert channel.findtext(_itunes("explicit")) == "false"
    assert channel.findtext(_itunes("author")) == "Test Library"
    image = channel.find(_itunes("image"))
    assert image is not None and image.get("href") == CHANNEL.image_url
    category = channel.find(_itunes("category"))
    assert category is not None and category.get("text") == "Society & Culture"
    assert category[0].get("text") == "Philosophy"
    self_link = channel.find(f"{{{NS['atom']}}}link")
    assert self_link is not None
    assert (self_link.get("href"), self_link.get("rel")) == (CHANNEL.self_url, "self")
    assert self_link.get("type") == "application/rss+xml"

    items = channel.findall("item")
    assert [i.findtext("guid") for i in items] == ["LW-new222", "AF-old111"]
    first = items[0]
    guid = first.find("guid")
    assert guid is not None and guid.get("isPermaLink") == "false"
    assert first.findtext("pubDate") == "Thu, 01 Jun 2023 10:30:00 +0000"
    assert parsedate_to_datetime(first.findtext("pubDate") or "") == NEW.published
    enclosure = first.find("enclosure")
    assert enclosure is not None
    assert enclosure.attrib == {"url": NEW.enclosure_url, "length": "2345", "type": "audio/mpeg"}
    assert [i.findtext(_itunes("duration")) for i in items] == ["59", "613"]

    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "The Test Library"
    assert parsed.feed.image.href == CHANNEL.image_url
    assert [e.id for e in parsed.entries] == ["LW-new222", "AF-old111"]
    assert parsed.entries[1].enclosures[0].length == "1234567"
    assert parsed.entries[1].enclosures[0].type == "audio/mpeg"
    assert parsed.entries[0].itunes_duration == "59"
    assert parsed.entries[0].published_parsed[:5] == (2023, 6, 1, 10, 30)


def test_hostile_title_stays_well_formed_and_round_trips() -> None:
    item = FeedItem(**{**OLD.__dict__, "title": HOSTILE, "description": HOSTILE})
    data = render_feed(CHANNEL, [item])

    # XML 1.0 cannot carry C0 controls (other than tab/LF/CR), lone surrogates or U+FFFE.
    # In a one-line field tab/LF/CR become spaces.
    illegal = {*map(chr, range(32)), "\ufffe", "\ud800"} - {"\t", "\n", "\r"}
    expected_title = "".join(" " if ch in "\t\n\r" else ch for ch in HOSTILE if ch not in illegal)
    expected_description = "".join(ch for ch in HOSTILE if ch not in illegal).replace("\r", "\n")

    entry = ET.fromstring(data).find("channel/item")
    assert entry is not None
    assert entry.findtext("title") == expected_title
    assert entry.findtext("description") == expected_description
    assert "\u202e" in expected_title and "🎧" in expected_title

    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == 1
    # feedparser sanitises what looks like HTML (drops <script>); the rest survives.
    title = parsed.entries[0].title
    assert "\u202e reversed" in title and "🎧🦜" in title and "x" * 2000 in title


def test_hostile_channel_fields_and_attributes() -> None:
    channel = FeedChannel(
        **{**CHANNEL.__dict__, "title": HOSTILE, "image_url": 'https://x/"a"&b\x00.png'}
    )
    data = render_feed(channel, [])
    root = ET.fromstring(data)
    image = root.find(f"channel/{_itunes('image')}")
    assert image is not None and image.get("href") == 'https://x/"a"&b.png'
    assert not feedparser.parse(data).bozo


def test_naive_dates_are_refused() -> None:
    naive = FeedItem(**{**OLD.__dict__, "published": datetime(2023, 5, 26)})
    with pytest.raises(FeedError, match="time zone"):
        render_feed(CHANNEL, [NEW, naive])


def test_write_feed_is_atomic_and_parseable(tmp_path: Path) -> None:
    path = tmp_path / "library" / "feed.xml"
    write_feed(path, CHANNEL, [OLD])
    write_feed(path, CHANNEL, [OLD, NEW])
    assert [p.name for p in path.parent.iterdir()] == ["feed.xml"]
    assert len(feedparser.parse(path.read_bytes()).entries) == 2
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(FeedError, match="cannot write feed"):
        write_feed(tmp_path / "a-file" / "feed.xml", CHANNEL, [OLD])


def test_show_notes_link_first_escaped_and_within_apples_limit() -> None:
    from tts_pipeline.package.rss import show_notes_html

    paragraphs = ["<b>bold</b> & co", "", "🎧 " * 3000, "never reached"]
    html = show_notes_html("https://example.org/p?a=1&b=2", paragraphs)
    assert html.startswith(
        '<p><a href="https://example.org/p?a=1&amp;b=2">Link to original article</a></p>'
    )
    assert "<p>&lt;b&gt;bold&lt;/b&gt; &amp; co</p>" in html
    assert html.endswith("<p>…</p>") and "never reached" not in html
    assert len(html.encode("utf-8")) <= 4000
    hostile = show_notes_html('javascript:alert("x")', ["text"])
    assert "<a " not in hostile and hostile.startswith("<p>Link to original article: ")


def test_podcast_guid_reproduces_the_spec_examples() -> None:
    assert podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid("podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert (
        podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml")
        == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )
