"""Timeouts and size limits through the pipeline, in-process where the CLI's defaults (5 s to
connect, 30 s to read) would make a subprocess test slow: the same convert_url the CLI calls,
with an HttpClient whose timeouts are short."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import assert_library_sound, forum_post

from tts_pipeline.config import Config
from tts_pipeline.errors import IngestError
from tts_pipeline.library.layout import Library
from tts_pipeline.models import ForumSite
from tts_pipeline.net.http import HttpClient
from tts_pipeline.pipeline import convert_url
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice

PID = "LimitsPostAbc2345"


def _site(host: str) -> ForumSite:
    return ForumSite(
        key="local", name="The Local Forum", prefix="LF", hosts=(host,),
        graphql=f"http://{host}/graphql",
    )  # fmt: skip


def _convert(host: str, library: Path, http: HttpClient) -> None:
    site = _site(host)
    convert_url(
        f"http://{host}/posts/{PID}",
        config=Config(sites=(site,), library=library, request_interval_s=0),
        library=Library(library),
        voice=load_voice("default"),
        jobs=1,
        http=http,
    )


@pytest.fixture
def quick_http() -> Iterator[HttpClient]:
    with HttpClient("tts-pipeline-tests", timeout=(0.5, 0.5), retries=1) as client:
        yield client


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A port whose listen queue is full: new connections are never accepted (SYNs dropped)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for sock in [*fillers, server]:
            sock.close()


def test_connect_timeout(black_hole: str, quick_http: HttpClient, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"^cannot reach 127\.0\.0\.1:\d+: no connection within"):
        _convert(black_hole, tmp_path / "lib", quick_http)
    assert time.monotonic() - started < 5  # 2 tries of 0.5 s, plus backoff
    assert_library_sound(tmp_path / "lib", episodes=0)


def test_read_timeout_past_the_retry_budget(quick_http: HttpClient, tmp_path: Path) -> None:
    """A reply held back past the read timeout, twice: the first is retried, the second is
    the end of the retry budget and one clear line."""
    with ForumServer({PID: forum_post(PID)}) as forum:
        forum.fail_next(200, 2, body="{}", delay=1.0)
        with pytest.raises(IngestError, match=r"did not answer within 0\.5 s"):
            _convert(forum.host, tmp_path / "lib", quick_http)
        assert len(forum.requests) == 2
    assert_library_sound(tmp_path / "lib", episodes=0)


MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from faultkit import forum_post
from tts_pipeline.config import Config
from tts_pipeline.ingest import fetch_post
from tts_pipeline.net.http import HttpClient
from tts_pipeline.models import ForumSite
from tts_pipeline.pipeline import plan_post
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice

words = "the harbour light blinks over calm water while sailors count the seconds".split()
paragraph = "<p>" + " ".join(words[i % len(words)] for i in range(100)) + ".</p>"
html = paragraph * 3000  # 300,000 words, about 2 MB of HTML
pid = "HugeBodyAbcde2345"
with ForumServer({pid: forum_post(pid, htmlBody=html)}) as forum:
    site = ForumSite(key="l", name="L", prefix="L", hosts=(forum.host,), graphql=forum.graphql_url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with HttpClient("t", retries=0) as http:
        post = fetch_post(f"{forum.base_url}/posts/{pid}", (site,), http)
    script, chunks = plan_post(post, Config(sites=(site,)), load_voice("default"))
    words_spoken = sum(len(c.text.split()) for c in chunks)
print(json.dumps({
    "seconds": time.monotonic() - started,
    "rss_mb_before": before / 1024,
    "rss_mb_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "chunks": len(chunks),
    "words": words_spoken,
}))
"""


def test_300000_word_body_is_planned_in_bounded_memory() -> None:
    """Fetch, clean and chunk a 300,000-word post in a fresh process: the peak resident memory
    grows by a few MB (measured: 59 -> 63 MB), nowhere near the size of its audio.

    A post this long is accepted, not refused; its ~25 hours of synthesis are not run here.
    """
    tests = str(Path(__file__).parent)
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, tests], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["words"] >= 300_000
    assert figures["rss_mb_peak"] - figures["rss_mb_before"] < 100, figures
    print(figures)


def test_html_deeper_than_libxml2_keeps_is_refused_not_cut() -> None:
    """libxml2 keeps 2048 levels and silently drops everything below and after them; a post
    nested that deep is refused in one line. Under the limit, text after the deep part stays."""
    from tts_pipeline.clean.html import html_to_sections
    from tts_pipeline.errors import CleanError

    def spoken(html: str) -> str:
        return " ".join(seg.text for sec in html_to_sections(html) for seg in sec.segments)

    deep = "<p>Before.</p>" + "<div>" * 1500 + "Deep." + "</div>" * 1500 + "<p>After.</p>"
    assert all(word in spoken(deep) for word in ("Before.", "Deep.", "After."))
    too_deep = "<p>Before.</p>" + "<div>" * 3000 + "Deep." + "</div>" * 3000 + "<p>After.</p>"
    with pytest.raises(CleanError, match="nested too deeply"):
        html_to_sections(too_deep)
