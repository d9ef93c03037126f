"""Fuzzing the URL parser and the HTTP client's URL gate with hypothesis.

Whatever a user pastes or a feed links to, ``parse_post_url`` answers a PostRef with a
filename-safe id, None (an article) or UnsupportedURLError, and nothing but http(s) ever
reaches the network. (The HTML cleaner's properties are in test_clean_properties.py.)
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from tts_pipeline.config import BUILTIN_SITES
from tts_pipeline.errors import IngestError, UnsupportedURLError
from tts_pipeline.ingest.urls import parse_post_url
from tts_pipeline.library.layout import episode_id
from tts_pipeline.models import PostRef
from tts_pipeline.net.http import _check_url

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
POST_ID = st.text(ID_CHARS, min_size=17, max_size=17) | st.text(
    "0123456789abcdef", min_size=24, max_size=24
)
FORUM_HOSTS = sorted({h for site in BUILTIN_SITES for h in site.hosts})
SCHEMES = st.sampled_from(["http", "https", "HTTP", "file", "ftp", "data", "javascript", "", "h"])
# Pieces hostile URLs are made of: separators, dots, encodings, whitespace, controls.
PIECES = [*list("/:?#@[]%.\\ \t\n\x00\u202e\u200bé"), "..", "%2e%2e", "%2F", "//"]
JUNK = st.lists(st.sampled_from(PIECES) | st.characters(), max_size=20).map("".join)
SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _answer(url: str) -> PostRef | UnsupportedURLError | None:
    try:
        return parse_post_url(url, BUILTIN_SITES)
    except UnsupportedURLError as exc:
        return exc


@FAST
@given(st.text(max_size=200))
@example("file:///etc/passwd")
@example("https://www.lesswrong.com/posts/../../../../etc/passwd")
@example("https://[::1")
@example("http://host:99999/x")
def test_any_text_gets_one_of_three_answers(text: str) -> None:
    answer = _answer(text)
    if isinstance(answer, UnsupportedURLError):
        assert "\n" not in str(answer).strip() or len(str(answer)) < 2000
        return
    # Anything accepted is an http(s) URL with a host, which the HTTP client will also accept.
    assert re.match(r"(?i)\s*https?://", text)
    _check_url(text.strip())
    if answer is not None:
        assert SAFE_ID.fullmatch(answer.post_id)


@FAST
@given(SCHEMES, st.sampled_from(FORUM_HOSTS), POST_ID, JUNK)
def test_forum_post_urls(scheme: str, host: str, post_id: str, tail: str) -> None:
    url = f"{scheme}://{host}/posts/{post_id}/{tail}"
    answer = _answer(url)
    if scheme.lower() not in ("http", "https"):
        assert isinstance(answer, UnsupportedURLError)
        return
    if isinstance(answer, PostRef):
        # the id comes from the path segment we built, never from the junk after it
        assert answer.post_id == post_id
        assert SAFE_ID.fullmatch(answer.post_id)
    else:
        # junk that breaks the URL itself (a bad port, whitespace in the host) is refused
        assert isinstance(answer, UnsupportedURLError), (url, answer)


@FAST
@given(urls())
def test_wellformed_urls_are_never_refused_by_scheme(url: str) -> None:
    answer = _answer(url)
    if isinstance(answer, UnsupportedURLError):
        assert "only http(s)" not in str(answer)


@FAST
@given(SCHEMES, JUNK)
def test_http_client_gate_lets_only_http_through(scheme: str, rest: str) -> None:
    url = f"{scheme}:{rest}"
    try:
        host = _check_url(url)
    except IngestError:
        return
    assert scheme.lower() in ("http", "https")
    assert host


@pytest.mark.parametrize("post_id", ["../../evil", "a/b", "", "x" * 65, "..", "con", "é"])
def test_episode_ids_are_filename_safe(post_id: str) -> None:
    from datetime import UTC, datetime

    from tts_pipeline.models import Post

    post = Post(
        id=post_id,
        title="t",
        authors=(),
        published=datetime(2024, 1, 1, tzinfo=UTC),
        url="https://example.org/",
        html="<p>x</p>",
        site_name="s",
        prefix="P",
    )
    eid = episode_id(post)
    assert SAFE_ID.fullmatch(eid) and eid not in (".", "..")
