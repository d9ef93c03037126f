"""The library server over real HTTP on 127.0.0.1: ranges, validators, types, feeds, refusals.

Requests go through ``http.client`` so that paths reach the server byte for byte (``requests``
and urllib3 would normalise ``..`` away before sending).
"""

from __future__ import annotations

import html
import http.client
import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
import pytest
from clirun import start_cli

from tts_pipeline.library.layout import Library
from tts_pipeline.serve.server import LibraryServer, library_file, not_modified, rebase_feed


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def fetch(server: LibraryServer, path: str, method: str = "GET", **headers: str) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        body = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(media_library: Any) -> Iterator[LibraryServer]:
    with LibraryServer(media_library.library, config=media_library.config, port=0) as running:
        yield running


@pytest.fixture(scope="module")
def mp3(media_library: Any) -> Path:
    path: Path = media_library.mp3(0)
    return path


def mp3_url(mp3: Path) -> str:
    return f"/episodes/{mp3.name}"


# -- ranges --------------------------------------------------------------------------------


def test_range_of_two_bytes_is_206_with_content_range(server: LibraryServer, mp3: Path) -> None:
    data = mp3.read_bytes()
    reply = fetch(server, mp3_url(mp3), Range="bytes=0-1")
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes 0-1/{len(data)}"
    assert reply.headers["content-length"] == "2"
    assert reply.body == data[:2] == b"ID"
    assert reply.headers["content-type"] == "audio/mpeg"
    assert reply.headers["accept-ranges"] == "bytes"


def test_middle_and_open_ended_ranges(server: LibraryServer, mp3: Path) -> None:
    data = mp3.read_bytes()
    middle = fetch(server, mp3_url(mp3), Range="bytes=1000-1999")
    assert middle.status == 206 and middle.body == data[1000:2000]
    rest = fetch(server, mp3_url(mp3), Range="bytes=5000-")
    assert rest.status == 206
    assert rest.headers["content-range"] == f"bytes 5000-{len(data) - 1}/{len(data)}"
    assert rest.body == data[5000:]


def test_suffix_range_returns_the_last_bytes(server: LibraryServer, mp3: Path) -> None:
    data = mp3.read_bytes()
    reply = fetch(server, mp3_url(mp3), Range="bytes=-500")
    assert reply.status == 206
    assert reply.headers["content-range"] == f"bytes {len(data) - 500}-{len(data) - 1}/{len(data)}"
    assert reply.body == data[-500:]


def test_range_past_the_end_is_416(server: LibraryServer, mp3: Path) -> None:
    size = mp3.stat().st_size
    reply = fetch(server, mp3_url(mp3), Range=f"bytes={size}-")
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{size}"
    assert fetch(server, mp3_url(mp3), Range=f"bytes={size + 10}-{size + 20}").status == 416


def test_several_ranges_come_back_as_multipart(server: LibraryServer, mp3: Path) -> None:
    data = mp3.read_bytes()
    reply = fetch(server, mp3_url(mp3), Range="bytes=0-9,100-109")
    assert reply.status == 206
    assert reply.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert data[0:10] in reply.body and data[100:110] in reply.body


def test_head_gives_the_file_size_and_no_body(
    server: LibraryServer, mp3: Path, media_library: Any
) -> None:
    reply = fetch(server, mp3_url(mp3), method="HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert int(reply.headers["content-length"]) == mp3.stat().st_size
    assert int(reply.headers["content-length"]) == media_library.episodes[0].size_bytes
    ranged = fetch(server, mp3_url(mp3), method="HEAD", Range="bytes=0-1")
    assert ranged.status == 206 and ranged.body == b""


# -- validators ------------------------------------------------------------------------------


def test_etag_and_last_modified_revalidate_to_304(server: LibraryServer, mp3: Path) -> None:
    first = fetch(server, mp3_url(mp3))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert re.fullmatch(r'"[^"]+"', etag)
    assert modified == formatdate(mp3.stat().st_mtime, usegmt=True)

    same = fetch(server, mp3_url(mp3), If_None_Match=etag)
    assert same.status == 304 and same.body == b""
    assert same.headers["etag"] == etag
    assert fetch(server, mp3_url(mp3), If_None_Match=f'"other", W/{etag}').status == 304
    assert fetch(server, mp3_url(mp3), If_None_Match='"other"').status == 200
    # If-None-Match wins over Range: nothing changed, nothing to send.
    assert fetch(server, mp3_url(mp3), If_None_Match=etag, Range="bytes=0-1").status == 304
    assert fetch(server, mp3_url(mp3), If_Modified_Since=modified).status == 304
    old = formatdate(mp3.stat().st_mtime - 3600, usegmt=True)
    assert fetch(server, mp3_url(mp3), If_Modified_Since=old).status == 200


def test_if_range_resumes_only_the_same_file(server: LibraryServer, mp3: Path) -> None:
    data = mp3.read_bytes()
    etag = fetch(server, mp3_url(mp3), method="HEAD").headers["etag"]
    resumed = fetch(server, mp3_url(mp3), Range="bytes=100-", If_Range=etag)
    assert resumed.status == 206 and resumed.body == data[100:]
    changed = fetch(server, mp3_url(mp3), Range="bytes=100-", If_Range='"an-older-version"')
    assert changed.status == 200 and changed.body == data


def test_not_modified_rules() -> None:
    assert not_modified({"if-none-match": '"a"'}, '"a"', 0.0)
    assert not_modified({"if-none-match": "*"}, '"a"', 0.0)
    assert not not_modified({"if-none-match": '"b"'}, '"a"', 0.0)
    # If-None-Match present: If-Modified-Since is not consulted.
    later = formatdate(2_000_000_000, usegmt=True)
    assert not not_modified({"if-none-match": '"b"', "if-modified-since": later}, '"a"', 10.0)
    assert not_modified({"if-modified-since": later}, '"a"', 10.0)
    assert not not_modified({"if-modified-since": "not a date"}, '"a"', 10.0)


# -- types and side files ---------------------------------------------------------------------


def test_media_types(server: LibraryServer, media_library: Any) -> None:
    eid = media_library.episodes[0].id
    expected = {
        f"/episodes/{eid}.mp3": "audio/mpeg",
        f"/episodes/{eid}.vtt": "text/vtt; charset=utf-8",
        f"/episodes/{eid}.chapters.json": "application/json+chapters",
        f"/episodes/{eid}.txt": "text/plain; charset=utf-8",
        "/feed.xml": "application/rss+xml; charset=utf-8",
        "/cover.png": "image/png",
        "/": "text/html; charset=utf-8",
    }
    for path, kind in expected.items():
        reply = fetch(server, path, method="HEAD")
        assert (reply.status, reply.headers["content-type"]) == (200, kind), path
        assert reply.headers["x-content-type-options"] == "nosniff"
    chapters = fetch(server, f"/episodes/{eid}.chapters.json")
    assert chapters.body == (media_library.root / "episodes" / f"{eid}.chapters.json").read_bytes()


# -- feeds -----------------------------------------------------------------------------------


def test_feed_points_at_the_address_the_client_used(
    server: LibraryServer, media_library: Any
) -> None:
    lan = "192.168.1.20:8000"  # only a Host header: nothing is sent to that address
    reply = fetch(server, "/feed.xml", Host=lan)
    assert reply.status == 200
    feed = feedparser.parse(reply.body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert len(feed.entries) == len(media_library.episodes)
    sizes = {e.public_name: e.mp3.stat().st_size for e in media_library.episodes}
    for entry in feed.entries:
        (enclosure,) = entry.enclosures
        assert enclosure.href.startswith(f"http://{lan}/episodes/")
        assert int(enclosure.length) == sizes[enclosure.href.rsplit("/", 1)[1]]
    assert f'href="http://{lan}/feed.xml"' in reply.body.decode()
    assert "podcast.test" not in reply.body.decode()  # the published base_url is gone
    # The rewritten feed is what a subscribed app then downloads from.
    direct = fetch(server, "/feed.xml")
    assert server.url + "episodes/" in direct.body.decode()


def test_feed_with_an_unusable_host_header_falls_back_to_the_bound_address(
    server: LibraryServer,
) -> None:
    reply = fetch(server, "/feed.xml", Host='evil.test"><script>')
    assert reply.status == 200
    assert "evil.test" not in reply.body.decode()
    assert server.url + "episodes/" in reply.body.decode()


def test_feed_revalidates(server: LibraryServer) -> None:
    first = fetch(server, "/feed.xml")
    assert fetch(server, "/feed.xml", If_None_Match=first.headers["etag"]).status == 304
    # A different Host makes a different document, so the old ETag no longer matches.
    other = fetch(server, "/feed.xml", Host="10.0.0.7:8000", If_None_Match=first.headers["etag"])
    assert other.status == 200


def test_rebase_feed_rewrites_urls_under_the_published_base_only() -> None:
    feed = b"""<?xml version='1.0' encoding='utf-8'?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<link>https://old.example/pod/</link>
<atom:link href="https://old.example/pod/feeds/AF.xml" rel="self" type="application/rss+xml"/>
<item><link>https://forum.example/posts/1</link>
<description>Listen at https://old.example/pod/ today</description>
<enclosure url="https://old.example/pod/episodes/a.mp3" length="1" type="audio/mpeg"/>
<podcast:transcript url="https://old.example/pod/episodes/a.vtt" type="text/vtt"/>
<podcast:chapters url="https://old.example/pod/episodes/a.chapters.json"
  type="application/json+chapters"/>
</item></channel></rss>"""
    out = rebase_feed(feed, "feeds/AF.xml", "http://127.0.0.1:9/", "http://unused/").decode()
    assert 'url="http://127.0.0.1:9/episodes/a.mp3"' in out
    assert 'url="http://127.0.0.1:9/episodes/a.vtt"' in out
    assert 'url="http://127.0.0.1:9/episodes/a.chapters.json"' in out
    assert 'href="http://127.0.0.1:9/feeds/AF.xml"' in out
    assert "<link>http://127.0.0.1:9/</link>" in out
    assert "<link>https://forum.example/posts/1</link>" in out  # the post's page stays
    assert "Listen at https://old.example/pod/ today" in out  # prose is not rewritten
    assert "podcast:transcript" in out  # namespace prefixes survive


# -- what is never served --------------------------------------------------------------------


REFUSED = [
    # secret.mp3 lies right beside the library folder, with a type the server would serve.
    "/../secret.mp3",
    "/episodes/../../secret.mp3",
    "/%2e%2e/secret.mp3",
    "/episodes/%2e%2e/%2E%2E/secret.mp3",
    "/episodes/%2e%2e%2f%2e%2e%2fsecret.mp3",
    "/..%2fsecret.mp3",
    "/../../../../etc/passwd",
    "/episodes/../state.sqlite3",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/episodes/%2e%2e/state.sqlite3",
    "/episodes/%2E%2E%2Fstate.sqlite3",
    "/episodes/..%2f..%2f..%2fetc%2fpasswd",
    "//etc/passwd",
    "/%2Fetc%2Fpasswd",
    "/etc/passwd",
    "/state.sqlite3",
    "/state.sqlite3-wal",
    "/episodes/.hidden.mp3",
    "/episodes/%00.mp3",
    "/episodes\\..\\state.sqlite3",
]


@pytest.fixture(scope="module")
def exposed_library(
    media_library: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LibraryServer, Path]]:
    """A copy of the library with tempting things in it: symlinks leading out, a secret
    outside, a file in the cache, a hidden file."""
    base = tmp_path_factory.mktemp("exposed")
    root = base / "library"
    shutil.copytree(media_library.root, root, symlinks=True)
    secret = base / "secret.mp3"
    secret.write_bytes(b"SECRET outside the library")
    episodes = root / "episodes"
    (episodes / "out.mp3").symlink_to(secret)
    (episodes / "passwd.txt").symlink_to("/etc/passwd")
    (episodes / "db.txt").symlink_to("../state.sqlite3")
    (episodes / "cached.mp3").symlink_to(root / "cache" / "x.mp3")
    (root / "cache" / "x.mp3").write_bytes(b"SECRET in the cache")
    (episodes / ".hidden.mp3").write_bytes(b"SECRET hidden")
    (root / "outside").symlink_to(base)  # a directory link out
    (episodes / "report.verify.json").write_text('{"SECRET": "not for listeners"}')
    first = media_library.episodes[0].mp3.name
    (episodes / "alias.mp3").symlink_to(first)  # inside: fine
    with LibraryServer(Library(root), port=0) as running:
        yield running, root


@pytest.mark.parametrize("path", REFUSED)
def test_paths_outside_the_library_are_refused(
    exposed_library: tuple[LibraryServer, Path], path: str
) -> None:
    server, _ = exposed_library
    reply = fetch(server, path)
    assert reply.status in (400, 404), path
    assert b"SECRET" not in reply.body and b"root:" not in reply.body
    assert b"SQLite" not in reply.body


@pytest.mark.parametrize(
    "path",
    [
        "/episodes/out.mp3",
        "/episodes/passwd.txt",
        "/episodes/db.txt",
        "/episodes/cached.mp3",
        "/cache/x.mp3",
        "/outside/secret.mp3",
        "/episodes/report.verify.json",
    ],
)
def test_symlinks_out_of_the_library_and_the_cache_are_refused(
    exposed_library: tuple[LibraryServer, Path], path: str
) -> None:
    server, _ = exposed_library
    reply = fetch(server, path)
    assert reply.status == 404, path
    assert b"SECRET" not in reply.body and b"root:" not in reply.body


def test_symlink_inside_the_library_is_served(
    exposed_library: tuple[LibraryServer, Path], media_library: Any
) -> None:
    server, _ = exposed_library
    reply = fetch(server, "/episodes/alias.mp3", Range="bytes=0-1")
    assert reply.status == 206 and reply.body == b"ID"


def test_library_file_rules(tmp_path: Path) -> None:
    (tmp_path / "episodes").mkdir()
    (tmp_path / "episodes" / "a.mp3").write_bytes(b"x")
    (tmp_path / "state.sqlite3").write_bytes(b"x")
    assert library_file(tmp_path, "/episodes/a.mp3") == (tmp_path / "episodes" / "a.mp3").resolve()
    for path in ("/episodes/../state.sqlite3", "/state.sqlite3", "/episodes", "/", "/a/../x.mp3"):
        assert library_file(tmp_path, path) is None, path
    assert library_file(tmp_path, "/episodes/missing.mp3") is None


def test_only_get_and_head(server: LibraryServer, mp3: Path) -> None:
    assert fetch(server, mp3_url(mp3), method="POST").status == 405
    assert fetch(server, mp3_url(mp3), method="DELETE").status == 405


# -- the page ------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_page_lists_episodes_with_escaped_text(server: LibraryServer, media_library: Any) -> None:
    reply = fetch(server, "/")
    page = reply.body.decode()
    assert "script-src" not in reply.headers["content-security-policy"]  # default-src 'self'
    parser = _Tags()
    parser.feed(page)
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{"src": "/_static/page.js", "defer": None}]  # no title made one
    for episode in media_library.episodes:
        assert f"<h2>{html.escape(episode.title)}</h2>" in page
    audios = [attrs["src"] for tag, attrs in parser.tags if tag == "audio"]
    assert audios == [f"/episodes/{e.public_name}" for e in media_library.episodes]
    assert fetch(server, "/_static/page.js").headers["content-type"].startswith("text/javascript")
    assert fetch(server, "/_static/other.js").status == 404


# -- the command -----------------------------------------------------------------------------


def test_serve_command_serves_until_interrupted(media_library: Any) -> None:
    proc = start_cli("serve", "--library", str(media_library.root), "--port", "0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"at http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        port = int(match.group(1))
        assert proc.stdout.readline().strip() == f"Feed: http://127.0.0.1:{port}/feed.xml"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/feed.xml")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_serve_command_reports_a_taken_port_in_one_line(media_library: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start_cli("serve", "--library", str(media_library.root), "--port", str(port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.startswith(f"tts-pipeline: error: cannot listen on 127.0.0.1:{port}:")
    assert len(err.strip().splitlines()) == 1


def test_serve_command_needs_an_existing_library(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = start_cli("serve", "--library", str(tmp_path / "nowhere"), "--port", "0")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert (
        err.strip() == f"tts-pipeline: error: library folder {tmp_path / 'nowhere'} does not exist"
    )
    assert time.monotonic() - started < 30
    assert not os.path.exists(tmp_path / "nowhere")


def test_page_escapes_every_piece_of_episode_text() -> None:
    from datetime import UTC, datetime

    from tts_pipeline.library.sidecars import SavedChapter as Chapter
    from tts_pipeline.library.sidecars import SavedCue as Cue
    from tts_pipeline.library.state import EpisodeRecord
    from tts_pipeline.serve.page import EpisodeView, FeedLink, render_index

    evil = '<img src=x onerror="alert(1)">&'
    record = EpisodeRecord(
        id="ep1", post_id="p", prefix="AF", title=f"Title {evil}", post_title=evil,
        authors=f"Author {evil}", url="javascript:alert(1)",
        published=datetime(2024, 1, 1, tzinfo=UTC), description=evil, mp3="ep1.mp3",
        size_bytes=1, duration_s=61.0, loudness_lufs=-16.0, true_peak_dbtp=-1.0,
    )  # fmt: skip
    view = EpisodeView(
        record, [Chapter(0.0, f"Chapter {evil}")], [Cue(1.0, 2.0, f"Cue {evil}")], None
    )
    page = render_index(f"Podcast {evil}", [FeedLink(f"Feed {evil}", 'http://h/"x".xml')], [view])
    parser = _Tags()
    parser.feed(page)
    assert [tag for tag, _ in parser.tags].count("img") == 0
    assert all("onerror" not in attrs for _, attrs in parser.tags)
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;"
    for text in ("Podcast ", "Feed ", "Title ", "Author ", "Chapter ", "Cue "):
        assert text + escaped in page
    assert "javascript:" not in page  # a post link that is not http(s) is left out
    assert 'href="http://h/&quot;x&quot;.xml"' in page
    assert 'data-start="1.000"' in page and "1:01" in page  # cue seek, duration as m:ss
