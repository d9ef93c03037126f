"""Which feeds a library has, what they are called and where they live (no audio needed)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tts_pipeline.config import parse_config
from tts_pipeline.errors import FeedError
from tts_pipeline.library.feed_writer import publish_feeds, render_library_feeds
from tts_pipeline.library.feeds import (
    feed_file_name,
    is_public_url,
    library_url,
    plan_feeds,
)
from tts_pipeline.library.layout import Library
from tts_pipeline.library.state import EpisodeRecord
from tts_pipeline.package.rss import NS, podcast_guid


def _record(prefix: str) -> EpisodeRecord:
    return EpisodeRecord(
        id=f"id-{len(prefix)}",
        post_id="p",
        prefix=prefix,
        title="t",
        post_title="t",
        authors="a",
        url="https://example.org/p",
        published=datetime(2024, 1, 1, tzinfo=UTC),
        description="d",
        mp3="x.mp3",
        size_bytes=1,
        duration_s=1.0,
        loudness_lufs=-16.0,
        true_peak_dbtp=-1.5,
    )


def test_default_feeds_follow_the_nonlinear_library() -> None:
    plans = plan_feeds(parse_config({}), [])
    nl = "The Nonlinear Library"
    forums = [("AF", "Alignment Forum"), ("LW", "LessWrong"), ("EA", "EA Forum")]
    assert [(p.path, p.title, p.prefix) for p in plans] == [
        ("feed.xml", nl, None),
        *[(f"feeds/{p}.xml", f"{nl}: {forum}", p) for p, forum in forums],
        *[(f"feeds/{p}-daily.xml", f"{nl}: {forum} Daily", p) for p, forum in forums],
        *[(f"feeds/{p}-weekly.xml", f"{nl}: {forum} Weekly", p) for p, forum in forums],
        *[(f"feeds/{p}-top.xml", f"{nl}: {forum} Top Posts", p) for p, forum in forums],
    ]
    assert "The Effective Altruism Forum" in plans[3].description


def test_profiles_templates_and_unknown_prefixes_name_feeds() -> None:
    config = parse_config(
        {
            "templates": {"podcast_name": "Forum Audio", "forum_feed_title": "{forum} ({prefix})"},
            "forums": {
                # A mirror sharing a prefix: its own feed_name wins, its name alone does not.
                "afmirror": {
                    "name": "Mirror",
                    "prefix": "AF",
                    "hosts": ["m.example"],
                    "graphql": "https://m.example/graphql",
                    "feed_name": "Alignment Forum Mirror",
                },
                "lwmirror": {
                    "name": "Other",
                    "prefix": "LW",
                    "hosts": ["o.example"],
                    "graphql": "https://o.example/graphql",
                },
                "local": {
                    "name": "Local Forum",
                    "prefix": "LOC",
                    "hosts": ["l.example"],
                    "graphql": "https://l.example/graphql",
                },
            },
        }
    )
    plans = plan_feeds(config, [_record("WEB"), _record("OLD")])
    titles = {p.path: p.title for p in plans if p.channel in ("all", "forum")}
    assert titles == {
        "feed.xml": "Forum Audio",
        "feeds/AF.xml": "Alignment Forum Mirror (AF)",
        "feeds/LW.xml": "LessWrong (LW)",
        "feeds/EA.xml": "EA Forum (EA)",
        "feeds/LOC.xml": "Local Forum (LOC)",
        "feeds/WEB.xml": "Articles (WEB)",
        "feeds/OLD.xml": "OLD (OLD)",  # an episode whose profile is gone keeps its feed
    }


def test_bad_feed_title_template_is_one_clear_error() -> None:
    config = parse_config({"templates": {"forum_feed_title": "{podcast_name}: {site}"}})
    with pytest.raises(FeedError, match=r"forum_feed_title .*\{forum\}"):
        plan_feeds(config, [])


@pytest.mark.parametrize(
    "prefix", ["AF", "a_b-c", "../../etc/passwd", "Q&A <x>", "🎧", "", "x" * 200, "CON", "a/b"]
)
def test_feed_file_names_are_safe_and_distinct(prefix: str) -> None:
    name = feed_file_name(prefix)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,60}\.xml", name)
    assert name != feed_file_name(prefix + "!")


def test_urls_are_percent_encoded_under_the_base() -> None:
    assert (
        library_url("https://a.example/p", "feeds/A B.xml") == "https://a.example/p/feeds/A%20B.xml"
    )
    assert library_url("https://a.example/p/", "feed.xml") == "https://a.example/p/feed.xml"


def test_base_url_must_be_http(tmp_path: Path) -> None:
    library = Library(tmp_path)
    with pytest.raises(FeedError, match="base URL"):
        render_library_feeds(library, parse_config({}), "file:///srv/podcast")


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://podcast.example.org/", True),
        ("http://127.0.0.1:8000/", False),
        ("http://[::1]/", False),
        ("http://192.168.1.20:8000/", False),
        ("http://localhost/", False),
        ("http://podcast.test/", False),
        ("http://intranet/", False),
        ("https://8.8.8.8/", True),
    ],
)
def test_public_addresses(url: str, public: bool) -> None:
    assert is_public_url(url) is public


def test_feed_guids_are_assigned_once_and_only_for_public_addresses(tmp_path: Path) -> None:
    library = Library(tmp_path / "lib")
    library.prepare()
    config = parse_config({"base_url": "http://localhost:8000/"})
    publish_feeds(library, config)
    assert library.feed_guids() == {}  # a preview address fixes nothing
    public = replace(config, base_url="https://a.example.com/p/")
    publish_feeds(library, public)
    first = library.feed_guids()
    assert set(first) == {p.path for p in plan_feeds(public, [])}
    publish_feeds(library, replace(config, base_url="https://b.example.com/"))
    assert library.feed_guids() == first
    channel = ET.fromstring(library.feed_path.read_bytes()).find("channel")
    assert channel is not None
    assert channel.findtext(f"{{{NS['podcast']}}}guid") == podcast_guid("a.example.com/p/feed.xml")
