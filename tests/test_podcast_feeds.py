"""Feeds of a real library: episodes made by the pipeline (local forum, espeak-ng, ffmpeg),
read back the way podcast clients and players read them.

Every produced feed is parsed by gPodder's podcastparser and by feedparser; enclosure lengths
are checked against the files, durations against ffprobe, chapters (ffprobe's reading of the
MP3, the JSON file) against each other and against the WebVTT transcript.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import jsonschema
import podcastparser
import pytest
from clirun import run_cli
from mutagen.id3 import ID3
from webvtt_reader import parse_vtt

from tts_pipeline.config import Config, parse_config
from tts_pipeline.library.feed_writer import publish_feeds, render_library_feeds
from tts_pipeline.library.feeds import (
    feed_file_name,
)
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode
from tts_pipeline.net.http import http_client
from tts_pipeline.package.rss import NS, podcast_guid
from tts_pipeline.package.tags import read_tags, tag_text
from tts_pipeline.pipeline import convert_url
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
    reason="needs ffmpeg and espeak-ng",
)

BASE = "https://podcast.example.org/nl/"
SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "json_chapters_1.2.schema.json").read_text("utf-8")
)
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# XML specials, a closing CDATA marker, emoji, right-to-left text and its override mark,
# C0 controls, a lone surrogate and a noncharacter, then enough to make 2,000+ characters.
HOSTILE = (
    "<script>alert(\"x\")</script> & ]]> 'q' 🎧🦜 שלום עולם \u202ereversed\u202c "
    + "".join(map(chr, range(1, 32)))
    + "\ud800\ufffe "
)
HOSTILE_TITLE = HOSTILE + "long " * 400
HOSTILE_PREFIX = 'Q&A/../<"x">'


def _post(post_id: str, title: str, posted: str, html: str, *authors: str) -> dict[str, Any]:
    return {
        "_id": post_id,
        "slug": "a-post",
        "title": title,
        "pageUrl": f"https://www.example.org/posts/{post_id}/a-post?x=1&y=<2>",
        "postedAt": posted,
        "htmlBody": html,
        "contents": {"html": "", "wordCount": 40},
        "user": {"displayName": authors[0], "username": "a"},
        "coauthors": [{"displayName": a, "username": "b"} for a in authors[1:]],
        "hideAuthor": False,
    }


_FOOTNOTE_REF = (
    '<span class="footnote-reference" data-footnote-reference="" data-footnote-index="1"'
    ' data-footnote-id="n1" role="doc-noteref"><sup><a href="#fnn1">[1]</a></sup></span>'
)
_FOOTNOTES = (
    '<ol class="footnote-section footnotes" data-footnote-section="" role="doc-endnotes">'
    '<li class="footnote-item" data-footnote-item="" data-footnote-index="1"'
    ' data-footnote-id="n1" role="doc-endnote"><div class="footnote-content"'
    ' data-footnote-content=""><p>Straw, mostly.</p></div></li></ol>'
)
AF_POST = _post(
    "FeedTestAfPost234",
    "Chapters for Listeners",
    "2024-03-07T09:15:00.000Z",
    "<p>Listeners skip around. Chapters help them.</p>"
    f"<h2>Why it works</h2><p>A heading becomes a chapter{_FOOTNOTE_REF}. It is that simple.</p>"
    "<h2>What comes next</h2><p>The transcript follows. Every sentence is timed.</p>" + _FOOTNOTES,
    "Ada Example",
    "Grace Example",
)
LW_POST = _post(
    "FeedTestLwPost234",
    "A Short One",
    "2024-05-01T12:00:00.000Z",
    "<p>Short posts make short episodes.</p>",
    "Alan Example",
)
HOSTILE_POST = _post(
    "FeedTestHxPost234",
    HOSTILE_TITLE,
    "2024-04-01T08:30:00.000Z",
    f"<p>Hostile text follows.</p><h2>{html.escape(HOSTILE)}</h2><p>Still readable. The end.</p>",
    HOSTILE,
)


@dataclass(frozen=True)
class Made:
    library: Library
    config: Config
    hostile_config: Config
    episodes: dict[str, Episode]


def _site(key: str, server: ForumServer, prefix: str, name: str) -> dict[str, Any]:
    return {
        key: {
            "name": name,
            "prefix": prefix,
            "hosts": [server.host],
            "graphql": server.graphql_url,
        }
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    tmp = tmp_path_factory.mktemp("feeds")
    with (
        ForumServer({AF_POST["_id"]: AF_POST}) as af,
        ForumServer({LW_POST["_id"]: LW_POST}) as lw,
        ForumServer({HOSTILE_POST["_id"]: HOSTILE_POST}) as hx,
    ):
        forums = {
            **_site("afmirror", af, "AF", "The AI Alignment Forum"),
            **_site("lwmirror", lw, "LW", "LessWrong"),
        }
        settings = {"base_url": BASE, "request_interval_s": 0, "http_retries": 1}
        config = parse_config({**settings, "forums": forums})
        # The hostile post comes through a profile with a hostile prefix, and is framed with
        # a short intro (its 2,000-character title is not spoken) and a hostile podcast name.
        hostile_config = parse_config(
            {
                **settings,
                "forums": {**forums, **_site("hx", hx, HOSTILE_PREFIX, HOSTILE[:40])},
                "templates": {
                    "intro": "A hostile test by {authors}.",
                    "outro": "Bye.",
                    "podcast_name": "Q&A <Library> " + HOSTILE[:30],
                },
            }
        )
        library = Library(tmp / "lib")
        voice = load_voice("default")
        episodes = {}
        for key, server, post, cfg in (
            ("af", af, AF_POST, config),
            ("lw", lw, LW_POST, config),
            ("hx", hx, HOSTILE_POST, hostile_config),
        ):
            url = f"{server.base_url}/posts/{post['_id']}/{post['slug']}"
            episodes[key] = convert_url(
                url, config=cfg, library=library, voice=voice, jobs=2, http=http_client(cfg)
            )
        publish_feeds(library, config)  # the last conversion published with its own config
        yield Made(library, config, hostile_config, episodes)


def _feeds(library: Library) -> dict[str, bytes]:
    paths = [library.feed_path, *sorted(library.feeds_dir.glob("*.xml"))]
    return {p.relative_to(library.root).as_posix(): p.read_bytes() for p in paths}


def _q(prefixed: str) -> str:
    prefix, _, local = prefixed.partition(":")
    return f"{{{NS[prefix]}}}{local}"


def _local_file(library: Library, url: str) -> Path:
    """The library file a published URL names (the URL must lie under BASE)."""
    assert url.startswith(BASE), url
    return library.root / urlsplit(url).path.removeprefix(urlsplit(BASE).path)


def _ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_every_library_feed_is_written(made: Made) -> None:
    feeds = _feeds(made.library)
    hostile_file = f"feeds/{feed_file_name(HOSTILE_PREFIX)}"
    stems = ["AF", "LW", "EA", hostile_file.removeprefix("feeds/").removesuffix(".xml")]
    # Each forum's feed, and its daily, weekly and top posts (the default channels).
    per_forum = {
        f"feeds/{s}{kind}.xml" for s in stems for kind in ("", "-daily", "-weekly", "-top")
    }
    assert set(feeds) == {"feed.xml", *per_forum}
    assert re.fullmatch(r"feeds/[A-Za-z0-9_-]+\.xml", hostile_file)
    # Rendering for the configured base URL gives exactly what is on disk.
    assert render_library_feeds(made.library, made.config) == feeds
    # No temporary or stray files beside the finished ones.
    names = sorted(p.name for p in made.library.root.rglob("*") if p.is_file())
    assert not [n for n in names if n.endswith(".part") or n.startswith(".")]
    for episode in made.episodes.values():
        for suffix in (".mp3", ".txt", ".vtt", ".chapters.json"):
            assert (made.library.episodes_dir / f"{episode.id}{suffix}").is_file()


def test_channels_carry_the_required_tags(made: Made) -> None:
    guids = made.library.feed_guids()
    titles = {}
    for path, data in _feeds(made.library).items():
        channel = ET.fromstring(data).find("channel")
        assert channel is not None
        titles[path] = channel.findtext("title")
        for tag in ("title", "link", "description", "language", "itunes:author"):
            assert (channel.findtext(_q(tag) if ":" in tag else tag) or "").strip(), (path, tag)
        assert channel.findtext("language") == "en-us"
        assert channel.findtext(_q("itunes:explicit")) == "false"
        assert channel.findtext(_q("podcast:locked")) in ("yes", "no")
        image = channel.find(_q("itunes:image"))
        assert image is not None and image.get("href") == BASE + "cover.png"
        category = channel.find(_q("itunes:category"))
        assert category is not None and category.get("text")
        self_link = channel.find(_q("atom:link"))
        assert self_link is not None
        assert self_link.attrib == {
            "href": BASE + path,
            "rel": "self",
            "type": "application/rss+xml",
        }
        guid = channel.findtext(_q("podcast:guid")) or ""
        assert GUID_RE.match(guid) and guid == podcast_guid(BASE + path) == guids[path]
    assert titles["feed.xml"] == "The Nonlinear Library"
    assert titles["feeds/AF.xml"] == "The Nonlinear Library: Alignment Forum"
    assert titles["feeds/LW.xml"] == "The Nonlinear Library: LessWrong"
    assert titles["feeds/EA.xml"] == "The Nonlinear Library: EA Forum"
    # Cover art: 1400-3000 px square RGB PNG, named for its real type.
    cover = (made.library.root / "cover.png").read_bytes()
    assert cover.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(cover[16:20], "big"), int.from_bytes(cover[20:24], "big")
    assert width == height and 1400 <= width <= 3000 and cover[25] == 2  # colour type RGB


def test_items_newest_first_with_every_tag(made: Made) -> None:
    feeds = _feeds(made.library)
    items = ET.fromstring(feeds["feed.xml"]).findall("channel/item")
    eps = made.episodes
    assert [i.findtext("guid") for i in items] == [eps["lw"].id, eps["hx"].id, eps["af"].id]
    by_id = {e.id: e for e in eps.values()}
    for item in items:
        episode = by_id[item.findtext("guid") or ""]
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        assert item.findtext("link") == episode.post.url
        assert parsedate_to_datetime(item.findtext("pubDate") or "") == episode.post.published
        assert (item.findtext("description") or "").startswith(
            f"Link to original article: {episode.post.url}"
        )
        content = item.findtext(_q("content:encoded")) or ""
        assert content.startswith("<p><a href=")
        assert ">Link to original article</a></p><p>" in content
        assert len(content.encode("utf-8")) <= 4000
        enclosure = item.find("enclosure")
        assert enclosure is not None and enclosure.get("type") == "audio/mpeg"
        assert enclosure.get("url") == f"{BASE}episodes/{episode.public_name}"
        assert episode.public_name.startswith(f"{episode.id}.")
        assert re.fullmatch(r"\d+", item.findtext(_q("itunes:duration")) or "")
        transcripts = {t.get("type"): t.attrib for t in item.findall(_q("podcast:transcript"))}
        assert transcripts["text/vtt"] == {
            "url": f"{BASE}episodes/{episode.id}.vtt",
            "type": "text/vtt",
            "language": "en-us",
            "rel": "captions",
        }
        assert transcripts["text/plain"]["url"] == f"{BASE}episodes/{episode.id}.txt"
        chapters = item.find(_q("podcast:chapters"))
        assert chapters is not None and chapters.attrib == {
            "url": f"{BASE}episodes/{episode.id}.chapters.json",
            "type": "application/json+chapters",
        }
    # Each forum's feed lists its own episodes only; a forum with none is a valid empty feed.
    for path, expected in (("feeds/AF.xml", [eps["af"].id]), ("feeds/LW.xml", [eps["lw"].id])):
        assert [i.findtext("guid") for i in ET.fromstring(feeds[path]).iter("item")] == expected
    assert ET.fromstring(feeds["feeds/EA.xml"]).find("channel/item") is None


def test_podcast_clients_parse_every_feed(made: Made) -> None:
    library = made.library
    for path, data in _feeds(library).items():
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        client = podcastparser.parse(BASE + path, io.BytesIO(data))
        assert client["title"] == " ".join(parsed.feed.title.split())
        assert client["cover_url"] == BASE + "cover.png"
        assert client.get("explicit") is False
        assert len(client["episodes"]) == len(parsed.entries)
        for entry, episode in zip(parsed.entries, client["episodes"], strict=True):
            assert episode["guid"] == entry.id
            assert episode["title"] == " ".join(entry.title.split())
            (enclosure,) = episode["enclosures"]
            mp3 = _local_file(library, enclosure["url"])
            assert enclosure["file_size"] == mp3.stat().st_size
            assert enclosure["mime_type"] == "audio/mpeg"
            assert int(entry.enclosures[0]["length"]) == mp3.stat().st_size
            assert episode["total_time"] == int(entry.itunes_duration)
            assert episode["published"] == int(parsedate_to_datetime(entry.published).timestamp())
            assert episode["description"].startswith("Link to original article")
            assert "Link to original article" in episode["description_html"]
            assert entry.content[0].value.startswith('<p><a href="')
            # podcastparser 0.6 knows the podcast namespace only by its old GitHub URI, so
            # transcript and chapter links are checked through ElementTree (other tests).


def test_enclosures_match_files_and_durations_match_ffprobe(made: Made) -> None:
    data = _feeds(made.library)["feed.xml"]
    for item in ET.fromstring(data).iter("item"):
        enclosure = item.find("enclosure")
        assert enclosure is not None
        mp3 = _local_file(made.library, enclosure.get("url") or "")
        assert int(enclosure.get("length") or -1) == mp3.stat().st_size
        probed = float(_ffprobe(mp3)["format"]["duration"])
        duration = int(item.findtext(_q("itunes:duration")) or -1)
        assert abs(duration - probed) <= 0.6  # whole seconds of the same length
        record = next(r for r in made.library.episodes() if r.mp3 == mp3.name)
        assert abs(record.duration_s - probed) < 0.15  # samples vs. MP3 headers + encoder delay


def test_chapters_agree_in_mp3_json_and_transcript(made: Made) -> None:
    library = made.library
    for key, episode in made.episodes.items():
        document = json.loads(library.chapters_path(episode.id).read_text("utf-8"))
        jsonschema.validate(document, SCHEMA)
        chapters = document["chapters"]
        starts = [c["startTime"] for c in chapters]
        assert starts == sorted(starts) and starts[0] == 0
        assert chapters[-1]["endTime"] == pytest.approx(episode.duration_s, abs=1e-6)
        assert document["fileName"] == f"{episode.id}.mp3"

        # ffprobe reads the ID3 chapters, in order, with the same titles and times (ms).
        probed = _ffprobe(library.mp3_path(episode.id))
        mp3_chapters = probed["chapters"]
        assert [c["tags"]["title"] for c in mp3_chapters] == [c["title"] for c in chapters]
        for in_mp3, in_json in zip(mp3_chapters, chapters, strict=True):
            assert in_mp3["start"] == round(in_json["startTime"] * 1000)
            assert in_mp3["end"] == round(in_json["endTime"] * 1000)

        # Every chapter starts exactly where a transcript cue starts, and the cues cover
        # the audio in order without overlapping.
        cues = parse_vtt(library.vtt_path(episode.id).read_bytes())
        cue_starts = {start: text for start, _, text in cues}
        for chapter in chapters:
            ms = round(chapter["startTime"] * 1000)
            assert ms in cue_starts, (key, chapter["title"], ms)
        assert all(s < e for s, e, _ in cues)
        assert all(a[1] <= b[0] for a, b in pairwise(cues))
        assert cues[-1][1] <= round(episode.duration_s * 1000)

        if key == "af":
            titles = [c["title"] for c in chapters]
            assert titles[:4] == [
                "Introduction",
                "Chapters for Listeners",
                "Why it works",
                "What comes next",
            ]
            # Footnotes get a chapter of their own when the cleaner gathers them at the end.
            assert titles[4:] in ([], ["Footnotes"])
            for chapter in chapters[2:]:  # a heading's chapter opens with the heading
                text = cue_starts[round(chapter["startTime"] * 1000)]
                assert text.startswith(chapter["title"])
            spoken = " ".join(t for _, _, t in cues)
            assert "Chapters help them." in spoken and "Every sentence is timed." in spoken


def test_mp3_tags_are_id3v23_and_readable(made: Made) -> None:
    for episode in made.episodes.values():
        mp3 = made.library.mp3_path(episode.id)
        tags = read_tags(mp3)
        assert tags["version"] == "2.3"
        assert tags["TIT2"] == tag_text(episode.title)
        assert "TYER" in tags and "TDRC" not in tags
        raw = ID3(mp3, translate=False)
        (toc,) = raw.getall("CTOC")
        assert toc.child_element_ids == [c.element_id for c in raw.getall("CHAP")]
        probed = _ffprobe(mp3)["format"]["tags"]
        assert probed["title"] == tags["TIT2"]
        assert probed["album"].startswith("The Nonlinear Library") or episode is made.episodes["hx"]


def test_hostile_metadata_is_safe_everywhere(made: Made) -> None:
    episode = made.episodes["hx"]
    library = made.library
    # The title is long and keeps its specials, emoji and right-to-left text.
    assert len(episode.title) > 2000
    for fragment in ('alert("x")', "&", "]]>", "'q'", "🎧🦜", "שלום עולם", '<"x">'):
        assert fragment in episode.title
    # Feeds rendered with the hostile podcast name and prefix are well-formed, and parse.
    rendered = render_library_feeds(library, made.hostile_config)
    assert f"feeds/{feed_file_name(HOSTILE_PREFIX)}" in rendered
    for path, data in {**rendered, **_feeds(library)}.items():
        root = ET.fromstring(data)  # raises on anything malformed
        assert not feedparser.parse(data).bozo, path
        assert podcastparser.parse(BASE + path, io.BytesIO(data))["title"]
        for item in root.iter("item"):
            if item.findtext("guid") == episode.id:
                title = item.findtext("title") or ""
                assert "🎧🦜" in title and "שלום עולם" in title and "]]>" in title
                assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800\ufffe]", title)
    channel_titles = [ET.fromstring(d).findtext("channel/title") or "" for d in rendered.values()]
    assert all(t.startswith('Q&A <Library> <script>alert("x")') for t in channel_titles)
    # Tags: readable by mutagen and by ffprobe, the title intact but for illegal characters.
    mp3 = library.mp3_path(episode.id)
    tags = read_tags(mp3)
    assert tags["TIT2"] == tag_text(episode.title)
    assert tags["TPE1"].startswith('<script>alert("x")</script> & ]]>')
    assert not re.search("[\x00-\x1f\ud800-\udfff]", tags["TPE1"])
    probed = _ffprobe(mp3)["format"]["tags"]
    assert probed["title"] == tags["TIT2"] and probed["artist"].startswith("<script>")
    # Side files parse: the hostile heading became a chapter title, safely.
    document = json.loads(library.chapters_path(episode.id).read_text("utf-8"))
    jsonschema.validate(document, SCHEMA)
    titles = [c["title"] for c in document["chapters"]]
    assert any("<script>" in t and "🎧" in t for t in titles)
    assert all(not re.search("[\x00-\x1f]", t) and len(t) <= 120 for t in titles)
    assert not any(re.search("[\u202a-\u202e\u2066-\u2069]", t) for t in titles)
    cues = parse_vtt(library.vtt_path(episode.id).read_bytes())
    assert any("&amp; ]]&gt; 'q' 🎧🦜 שלום" in text for _, _, text in cues)
    assert not any(re.search("[<>\x00-\x09\x0b-\x1f\ufffe]", text) for _, _, text in cues)
    # File names stay safe: the episode id from the post id, the feed name sanitised.
    names = [p.name for p in library.root.rglob("*") if p.is_file()]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", n) for n in names), names


def test_feed_command_rebuilds_for_another_base_url(made: Made, tmp_path: Path) -> None:
    library = Library(tmp_path / "copy")
    shutil.copytree(made.library.root, library.root)
    config_file = tmp_path / "tts-pipeline.toml"
    config_file.write_text(f'base_url = "{BASE}"\n', encoding="utf-8")
    moved = "https://cdn.example.net/podcast/"
    result = run_cli(
        "feed", "--config", str(config_file), "--library", str(library.root), "--base-url", moved
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{library.feed_path} (3 episodes)"
    feeds = _feeds(library)
    for path, data in feeds.items():
        channel = ET.fromstring(data).find("channel")
        assert channel is not None
        self_link = channel.find(_q("atom:link"))
        assert self_link is not None and self_link.get("href") == moved + path
        # The podcast:guid stays the one first assigned, though the feed moved.
        assert channel.findtext(_q("podcast:guid")) == podcast_guid(BASE + path)
        for enclosure in channel.iter("enclosure"):
            assert (enclosure.get("url") or "").startswith(moved + "episodes/")
    # A preview address neither fixes nor changes a guid.
    local = render_library_feeds(library, made.config, "http://127.0.0.1:8000/")
    assert b'href="http://127.0.0.1:8000/feed.xml"' in local["feed.xml"]
    assert podcast_guid(BASE + "feed.xml").encode() in local["feed.xml"]
    # Bad base URLs fail in one line.
    bad = run_cli("feed", "--library", str(library.root), "--base-url", "ftp:/nowhere")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("tts-pipeline: error:") and "base URL" in bad.stderr
