"""Publish over plain local HTTP servers: a bucket endpoint that throttles (503 SlowDown,
429), a web server that ignores Range (Python's own), and announcement endpoints."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from publishkit import build_library, have_ffmpeg
from seaweed import isolated_aws_env

from tts_pipeline.errors import PublishError
from tts_pipeline.publish import (
    FolderTarget,
    announce,
    check_public,
    public_feed_urls,
    publish_library,
    pubnotify_url,
)

SLOWDOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class Recorder(BaseHTTPRequestHandler):
    """Records each request; answers the first ``failures`` PUTs with ``fail_status``."""

    server: RecordingServer

    def log_message(self, *args: object) -> None:
        return None

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))

    def do_PUT(self) -> None:
        body = self._body()
        srv = self.server
        srv.requests.append(("PUT", self.path, body))
        if len(srv.requests) <= srv.failures:
            self.send_response(srv.fail_status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOWDOWN)))
            self.end_headers()
            self.wfile.write(SLOWDOWN)
            return
        self.send_response(200)
        self.send_header("ETag", f'"{hashlib.md5(body).hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, b""))
        self._reply(self.server.answer)

    def do_POST(self) -> None:
        self.server.requests.append(("POST", self.path, self._body()))
        self._reply(self.server.answer)

    def _reply(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class RecordingServer(ThreadingHTTPServer):
    def __init__(self, failures: int = 0, fail_status: int = 503, answer: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.failures, self.fail_status, self.answer = failures, fail_status, answer
        self.requests: list[tuple[str, str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def running(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in isolated_aws_env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local-test-secret")


@pytest.mark.parametrize("status", [503, 429])
def test_throttled_uploads_are_retried(aws_env: None, status: int) -> None:
    pytest.importorskip("boto3")
    from tts_pipeline.publish.s3 import S3Target

    with running(RecordingServer(failures=2, fail_status=status)) as server:
        assert isinstance(server, RecordingServer)
        target = S3Target("pod", "show", endpoint_url=server.url, max_attempts=4)
        etag = target.put(
            "feed.xml", b"<rss/>", content_type="x", cache_control="y", md5=_md5(b"<rss/>")
        )
    assert etag == _md5(b"<rss/>")
    assert [(m, p) for m, p, _ in server.requests] == [("PUT", "/pod/show/feed.xml")] * 3


def test_throttling_that_never_ends_is_one_line_naming_the_key(aws_env: None) -> None:
    pytest.importorskip("boto3")
    from tts_pipeline.publish.s3 import S3Target

    with running(RecordingServer(failures=99)) as server:
        target = S3Target("pod", "show", endpoint_url=server.url, max_attempts=3)
        with pytest.raises(PublishError) as caught:
            target.put("episodes/a.mp3", b"x", content_type="x", cache_control="y", md5=_md5(b"x"))
    message = str(caught.value)
    assert "\n" not in message
    assert "s3://pod/show/episodes/a.mp3" in message and "SlowDown (HTTP 503)" in message
    assert len(server.requests) == 3  # type: ignore[attr-defined]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None


@pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")
def test_check_public_fails_on_a_server_that_ignores_range(tmp_path: Path) -> None:
    """Python's own file server answers HEAD correctly but sends 200 for a Range request."""
    lib, out = tmp_path / "lib", tmp_path / "out"
    handler = functools.partial(Quiet, directory=str(out))
    with running(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        build_library(lib, base, 2)
        publish_library(lib, FolderTarget(out), base_url=base)
        with pytest.raises(PublishError) as caught:
            check_public(public_feed_urls(lib, base))
    message = str(caught.value)
    assert "\n" not in message
    # feed.xml lists the newest episode first: that is the first enclosure checked.
    assert f"{base}episodes/ep00001.mp3 answers a Range request with HTTP 200" in message


def test_pubnotify_and_websub_announcements() -> None:
    feed = "https://podcast.example/show/feed.xml"
    assert pubnotify_url("https://x.test/hub/pubnotify?a=1", feed) == (
        "https://x.test/hub/pubnotify?a=1&url=https%3A%2F%2Fpodcast.example%2Fshow%2Ffeed.xml"
    )
    with running(RecordingServer(answer=204)) as server:
        assert isinstance(server, RecordingServer)
        sent = announce(
            [feed], pubnotify=f"{server.url}/api/pubnotify", websub_hub=f"{server.url}/hub"
        )
    assert sent == 2
    (get, get_path, _), (post, post_path, form) = server.requests
    assert (get, urlsplit(get_path).path, post, post_path) == (
        "GET",
        "/api/pubnotify",
        "POST",
        "/hub",
    )
    assert parse_qs(urlsplit(get_path).query) == {"url": [feed]}
    assert parse_qs(form.decode()) == {"hub.mode": ["publish"], "hub.url": [feed]}


def test_a_refused_announcement_names_the_service() -> None:
    with running(RecordingServer(answer=400)) as server:
        assert isinstance(server, RecordingServer)
        with pytest.raises(PublishError, match=r"/hub answered HTTP 400"):
            announce(["https://podcast.example/feed.xml"], websub_hub=f"{server.url}/hub")
