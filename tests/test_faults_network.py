"""What the world's servers send, through the real CLI against a real local forum server.

Each case: exit 1 with one ``tts-pipeline: error:`` line (or, where the fault is transient or
harmless, a finished episode), no traceback, and a library that is still sound (see
tests/faultkit.py). HttpClient-level behaviour is tested in test_ingest.py; this file checks
what reaches the user and the disk.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faultkit import (
    assert_library_sound,
    assert_one_line_failure,
    convert,
    forum_post,
    write_config,
)

from tts_pipeline.sample.forum_server import ForumServer

OK_ID = "FaultOkPostAbc234"
EMPTY_ID = "FaultEmptyBody234"
BLANK_ID = "FaultBlankBody234"
SHORT_ID = "FaultShortBody234"
NESTED_ID = "FaultNestedHtml23"
HOSTILE_ID = "FaultHostileName2"
NULL_USER_ID = "FaultNullUser2345"
EVIL_ID = "FaultEvilIdAbc234"  # its reply claims the id "../../evil"

HOSTILE = (
    "<script>&amp; \"quoted\" 'apos' ]]> </title>\x00\x07\x1b\x7f \u202eevil\u202c"
    " \u200f../../etc/passwd /tmp/x C:\\x "
)
HOSTILE_TITLE = HOSTILE + "T" * 2000
HOSTILE_AUTHOR = HOSTILE + "A" * 2000

POSTS = {
    OK_ID: forum_post(OK_ID),
    EMPTY_ID: forum_post(EMPTY_ID, htmlBody="", contents={"html": ""}),
    BLANK_ID: forum_post(BLANK_ID, htmlBody=" \n\t&nbsp; ", contents={"html": " "}),
    SHORT_ID: forum_post(SHORT_ID, htmlBody="<p>A short note.</p>"),
    NESTED_ID: forum_post(NESTED_ID, htmlBody="<div>" * 10_000 + "Deep." + "</div>" * 10_000),
    HOSTILE_ID: forum_post(
        HOSTILE_ID,
        title=HOSTILE_TITLE,
        user={"displayName": HOSTILE_AUTHOR, "username": "../x"},
        coauthors=[{"displayName": "<b>&</b>", "username": "/"}],
    ),
    NULL_USER_ID: forum_post(NULL_USER_ID, user=None),
    EVIL_ID: forum_post("../../evil"),
}

ARTICLE = """<!doctype html><html><head><meta charset="{charset}"><title>Café Lights</title>
</head><body><article><h1>Café Lights</h1>
<p>The café by the harbour keeps its lamp lit all night, and the fishermen steer by it when
the fog rolls in from the sea and the lighthouse cannot be seen from the water at all.</p>
<p>Nobody remembers who first lit it, but everybody knows that it must never go out, because
a boat that loses the café light will find the rocks before it finds the harbour wall.</p>
<p>So the owner trims the wick each evening and pours the oil, and goes to bed content.</p>
</article></body></html>"""


@pytest.fixture
def forum() -> Iterator[ForumServer]:
    with ForumServer(POSTS) as server:
        yield server


@pytest.fixture
def web() -> Iterator[ForumServer]:
    """A plain web server (not a forum profile): articles and redirects."""
    with ForumServer(
        {}, redirects={"/to-file": "file:///etc/passwd", "/loop": "/loop", "/to-ftp": "ftp://x/y"}
    ) as server:
        yield server


@pytest.fixture
def tmp(forum: ForumServer, tmp_path: Path) -> Path:
    write_config(tmp_path, forum)
    return tmp_path


def post_url(forum: ForumServer, post_id: str) -> str:
    return f"{forum.base_url}/posts/{post_id}/slug"


def json_body(reply: Any) -> dict[str, Any]:
    return {"headers": {"Content-Type": "application/json"}, "body": json.dumps(reply)}


def lib(tmp: Path) -> Path:
    return tmp / "lib"


# -- HTTP status faults --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, "Not found"), (410, "Gone"), (500, "oops"), (502, "<html>Bad gateway</html>")],
)
def test_http_error_status_is_one_line(
    forum: ForumServer, tmp: Path, status: int, body: str
) -> None:
    forum.fail_next(status, 10, body=body, match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result, f"HTTP {status}", forum.host)
    assert_library_sound(lib(tmp), episodes=0)


def test_transient_5xx_and_429_then_recovery(forum: ForumServer, tmp: Path) -> None:
    """500, then 429 with Retry-After in seconds and as an HTTP date: each post's fetch fails
    once and clears within the retry budget; one run, three episodes, none twice. (503
    twice then success is the same path: test_ingest.py.)"""
    date = email.utils.formatdate(time.time() + 1, usegmt=True)
    cases: dict[str, tuple[int, dict[str, str]]] = {
        OK_ID: (500, {}),
        NULL_USER_ID: (429, {"Retry-After": "1"}),
        HOSTILE_ID: (429, {"Retry-After": date}),
    }
    for post_id, (status, headers) in cases.items():
        forum.fail_next(status, 1, headers=headers, match=post_id)
    urls = [post_url(forum, post_id) for post_id in cases]
    result = convert(urls[0], tmp, *urls[1:], "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == list(cases)
    fetches = [r for r in forum.requests if r.path.startswith("/graphql")]
    assert len(fetches) == 2 * len(cases)  # one failure and one success each
    assert sorted(assert_library_sound(lib(tmp), episodes=3)) == sorted(cases)


def test_503_beyond_the_retry_budget(forum: ForumServer, tmp: Path) -> None:
    forum.fail_next(503, 3, match=OK_ID)  # 1 try + 2 retries
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result, "HTTP 503", "after 2 retries")
    assert_library_sound(lib(tmp), episodes=0)


@pytest.mark.parametrize("wait", ["3600", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_429_asking_too_long_a_wait_fails_fast(forum: ForumServer, tmp: Path, wait: str) -> None:
    forum.fail_next(429, headers={"Retry-After": wait}, match=OK_ID)
    started = time.monotonic()
    result = convert(post_url(forum, OK_ID), tmp)
    assert time.monotonic() - started < 30
    assert_one_line_failure(result, "HTTP 429", "try again later")
    assert_library_sound(lib(tmp), episodes=0)


# -- broken transport and bodies -----------------------------------------------------------


def test_connection_reset_mid_body(forum: ForumServer, tmp: Path) -> None:
    reply = json.dumps({"data": {"post": {"result": POSTS[OK_ID]}}})
    forum.fail_next(200, 10, body=reply, cut_after=40, match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    # The config allows 2 retries: three requests, each cut, then one line saying so.
    assert_one_line_failure(result, forum.host, "(3 attempts)")
    assert sum(OK_ID.encode() in r.body for r in forum.requests) == 3
    assert_library_sound(lib(tmp), episodes=0)


def test_connection_reset_mid_body_once_is_asked_again(forum: ForumServer, tmp: Path) -> None:
    reply = json.dumps({"data": {"post": {"result": POSTS[OK_ID]}}})
    forum.fail_next(200, 1, body=reply, cut_after=40, match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert result.returncode == 0, result.stderr
    assert sum(OK_ID.encode() in r.body for r in forum.requests) == 2
    assert_library_sound(lib(tmp), episodes=1)


@pytest.mark.parametrize(
    "body",
    [
        '{"data": {"post": {"result": {"_id": "Fau',  # truncated
        "{oops",  # malformed
        "",  # empty
        "   \n\t ",  # whitespace only
        "<html><body>Service temporarily unavailable</body></html>",
        '{"data": {"post": {"result": "a string"}}}',  # valid JSON, wrong shape
        '{"data": {"post": {"result": {"_id": 5, "title": [], "htmlBody": {}}}}}',
        "[" * 100_000 + "]" * 100_000,  # deep enough to hit the JSON parser's recursion limit
    ],
    ids=["truncated", "malformed", "empty", "whitespace", "html", "shape", "types", "deep"],
)
def test_bad_json_replies(forum: ForumServer, tmp: Path, body: str) -> None:
    forum.fail_next(200, headers={"Content-Type": "application/json"}, body=body, match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result)
    assert_library_sound(lib(tmp), episodes=0)


def test_non_utf8_json_reply(forum: ForumServer, tmp: Path) -> None:
    reply = json.dumps({"data": {"post": {"result": forum_post(OK_ID, title="Café")}}})
    latin1 = reply.replace("\\u00e9", "é").encode("latin-1")
    headers = {"Content-Type": "application/json; charset=iso-8859-1"}
    forum.fail_next(200, headers=headers, body=latin1, match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result, "valid JSON")
    assert_library_sound(lib(tmp), episodes=0)


def test_reply_over_the_size_cap(forum: ForumServer, tmp: Path) -> None:
    forum.fail_next(200, body=b" " * 20_000_001, match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result, "too large")
    assert_library_sound(lib(tmp), episodes=0)


# -- GraphQL-level errors ------------------------------------------------------------------


def test_graphql_validation_error_400(forum: ForumServer, tmp: Path) -> None:
    message = 'Field "slug" is not defined by type "SelectorInput".'
    reply = {"errors": [{"message": message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}
    forum.fail_next(400, **json_body(reply), match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result, message)
    assert_library_sound(lib(tmp), episodes=0)


def test_missing_document(forum: ForumServer, tmp: Path) -> None:
    result = convert(post_url(forum, "NoSuchPostAbc2345"), tmp)
    assert_one_line_failure(result, "not found")
    assert_library_sound(lib(tmp), episodes=0)


def test_operation_not_allowed(forum: ForumServer, tmp: Path) -> None:
    reply = {"errors": [{"message": "app.operation_not_allowed"}], "data": {"post": None}}
    forum.fail_next(200, **json_body(reply), match=OK_ID)
    result = convert(post_url(forum, OK_ID), tmp)
    assert_one_line_failure(result, "not allowed")
    assert_library_sound(lib(tmp), episodes=0)


# -- odd but legal posts -------------------------------------------------------------------


@pytest.mark.parametrize("post_id", [EMPTY_ID, BLANK_ID])
def test_empty_or_blank_body_is_refused(forum: ForumServer, tmp: Path, post_id: str) -> None:
    result = convert(post_url(forum, post_id), tmp)
    assert_one_line_failure(result, "body")
    assert_library_sound(lib(tmp), episodes=0)


def test_odd_but_legal_posts_in_one_batch(forum: ForumServer, tmp: Path) -> None:
    """One convert run over five odd posts: each is spoken or refused in one line, every
    file is named from the post id, and the feed stays well-formed.

    - 10,000 nested <div>s: refused as "nested too deeply" (libxml2 would drop all text below
      level 2048 and everything after it), never a RecursionError or a silent cut;
    - a body under 250 characters: an explicit convert honours it (the watcher's min_words
      rule is what skips short posts, with a reason);
    - a title and author names with XML/HTML specials, control characters, right-to-left
      marks, 2,000 characters, path separators and ``..``;
    - ``user: null``;
    - a reply whose ``_id`` is ``../../evil``.
    """
    ids = [NESTED_ID, SHORT_ID, HOSTILE_ID, NULL_USER_ID, EVIL_ID]
    made_before = set(Path("/tmp").iterdir())
    result = convert(post_url(forum, ids[0]), tmp, *[post_url(forum, i) for i in ids[1:]])
    assert "Traceback" not in result.stderr, result.stderr
    # libxml2 keeps 2048 levels and drops the rest: refused in one line, not half-read
    (error,) = result.stderr.strip().splitlines()
    assert error.startswith("tts-pipeline: error: ") and NESTED_ID in error
    assert "nested too deeply" in error
    assert result.returncode == 1  # one of the URLs failed; the others were converted
    recorded = assert_library_sound(lib(tmp), episodes=4)
    assert {eid for eid in recorded if not eid.startswith("h-")} == {
        SHORT_ID,
        HOSTILE_ID,
        NULL_USER_ID,
    }
    evil = [eid for eid in recorded if eid.startswith("h-")]
    assert len(evil) == 1  # "../../evil" became a hashed, filename-safe id
    # every file the run made is inside the library, named from an id
    for path in tmp.rglob("*"):
        rel = path.relative_to(tmp)
        assert ".." not in rel.parts and "passwd" not in str(rel) and "evil" not in str(rel)
    assert not Path("/tmp/x").exists() or Path("/tmp/x") in made_before
    feed = (lib(tmp) / "feed.xml").read_text(encoding="utf-8")
    assert "<script>" not in feed  # escaped, not injected
    assert not any(c in feed for c in "\x00\x07\x1b")
    assert "T" * 2000 in feed or "T" * 100 in feed  # long titles kept or cut, not dropped


# -- articles: charsets, redirects ---------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "encoding", "expect"),
    [
        ("windows-1252", "cp1252", "café"),  # non-UTF-8, labelled correctly
        ("utf-8", "cp1252", "caf"),  # mislabelled: decoded with replacement characters
        ("no-such-charset", "utf-8", "café"),  # unknown label: falls back to UTF-8
    ],
)
def test_article_charsets(
    web: ForumServer, tmp: Path, label: str, encoding: str, expect: str
) -> None:
    page = ARTICLE.format(charset=label).encode(encoding)
    headers = {"Content-Type": f"text/html; charset={label}"}
    web.fail_next(200, headers=headers, body=page)
    result = convert(f"{web.base_url}/cafe-{encoding}", tmp, "--json")
    assert result.returncode == 0, result.stderr
    (eid,) = assert_library_sound(lib(tmp), episodes=1)
    script = (lib(tmp) / "episodes" / f"{eid}.txt").read_text(encoding="utf-8")
    assert expect in script.lower()


@pytest.mark.parametrize(
    ("path", "needle"),
    [("/to-file", "not http or https"), ("/to-ftp", "not http or https"), ("/loop", "redirected")],
)
def test_redirects_only_to_http_and_bounded(
    web: ForumServer, tmp: Path, path: str, needle: str
) -> None:
    result = convert(f"{web.base_url}{path}", tmp)
    assert_one_line_failure(result, needle)
    assert_library_sound(lib(tmp), episodes=0)
    assert all(not p.is_file() for p in (tmp / "lib" / "episodes").glob("*"))


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.org/x", "data:text/html,<p>hi</p>", "javascript:1"],
)
def test_only_http_urls_are_fetched(tmp: Path, url: str) -> None:
    result = convert(url, tmp)
    assert_one_line_failure(result, "http")
    assert not (tmp / "lib" / "feed.xml").exists()
