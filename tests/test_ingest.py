"""Ingest against a real local ForumMagnum stand-in on 127.0.0.1 (no mocks of requests)."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from tts_pipeline.config import BUILTIN_SITES
from tts_pipeline.errors import IngestError, PostNotFoundError, UnsupportedURLError
from tts_pipeline.ingest import fetch_post
from tts_pipeline.ingest.article import fetch_article
from tts_pipeline.ingest.forummagnum import fetch_forummagnum
from tts_pipeline.models import ForumSite, PostRef
from tts_pipeline.net.http import HttpClient, default_user_agent
from tts_pipeline.sample.forum_server import ForumServer

CONTACT = "https://example.org/tts-pipeline-tests"
PID = "Tq3pXk7mWnZa8bCdE"
BODY = "<p>Tests should talk to a real server.</p><h2>Why</h2><p>Mocks drift from reality.</p>"
POST: dict[str, Any] = {
    "_id": PID,
    "slug": "on-testing-with-real-servers",
    "title": "  On Testing With Real Servers\n",
    "pageUrl": f"https://www.alignmentforum.org/posts/{PID}/on-testing-with-real-servers",
    "postedAt": "2024-02-29T23:59:58.123Z",
    "htmlBody": BODY,
    "contents": {"html": BODY, "wordCount": 11},
    "user": {"displayName": "Jane_Q_Tester", "username": "jane_q"},
    "coauthors": [
        {"displayName": "Sam Second", "username": "sam"},
        {"displayName": "Jane_Q_Tester", "username": "jane_q"},
    ],
    "hideAuthor": False,
}

ARTICLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Why Lighthouses Blink | The Harbour Journal</title>
<meta name="author" content="Ada Keeper">
<meta property="og:site_name" content="The Harbour Journal">
<meta property="article:published_time" content="2024-03-14T09:30:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article>
<h1>Why Lighthouses Blink</h1>
<p>Every lighthouse along a coast has its own rhythm of light and dark, and sailors learn
these rhythms the way others learn the faces of friends. A steady light could be mistaken
for a house window or a ship at anchor.</p>
<h2>Reading the pattern</h2>
<p>The pattern is called the character of the light. A chart lists it in a short code, such
as one flash every ten seconds, so a navigator can time the flashes and know which tower
they are looking at.</p>
<p>In fog the light is joined by a horn with a pattern of its own, because light does not
travel far through thick weather while sound carries for miles across calm water.</p>
<p>Modern ships carry satellite receivers, yet the old towers still shine: a receiver can
fail, but a light on a headland needs nothing from the ship to be understood.</p>
</article>
<footer>Copyright 2024 The Harbour Journal</footer>
</body></html>
"""

UNDATED = ARTICLE.replace(
    '<meta property="article:published_time" content="2024-03-14T09:30:00Z">\n', ""
).replace("Copyright 2024", "Copyright")


@pytest.fixture
def server() -> Iterator[ForumServer]:
    articles = {"/essays/lighthouses": ARTICLE, "/undated": UNDATED, "/empty": "<html></html>"}
    with ForumServer({PID: POST}, articles, redirects={"/old": "/essays/lighthouses"}) as srv:
        yield srv


@pytest.fixture
def site(server: ForumServer) -> ForumSite:
    return ForumSite(
        key="local",
        name="The Local Forum",
        prefix="LF",
        hosts=(server.host,),
        graphql=server.graphql_url,
    )


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient(
        default_user_agent(CONTACT),
        timeout=(1.0, 2.0),
        retries=3,
        backoff_factor=0.01,
        retry_after_max=5,
    )
    with client:
        yield client


def ref_for(site: ForumSite, post_id: str = PID) -> PostRef:
    return PostRef(site=site, post_id=post_id, url=f"http://{site.hosts[0]}/posts/{post_id}")


def json_reply(body: Any) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"headers": {"Content-Type": "application/json"}, "body": text}


# -- ForumMagnum: success ------------------------------------------------------------------


def test_fetch_post_maps_every_field(
    server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    post = fetch_post(f"{server.base_url}/posts/{PID}/on-testing", [site], http)
    assert post.id == PID
    assert post.title == "On Testing With Real Servers"
    assert post.authors == ("Jane Q Tester", "Sam Second")
    assert post.published == datetime(2024, 2, 29, 23, 59, 58, 123000, tzinfo=UTC)
    assert post.url == POST["pageUrl"]
    assert post.html == BODY
    assert (post.site_name, post.prefix) == ("The Local Forum", "LF")

    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/graphql")
    assert request.json()["variables"] == {"id": PID}
    assert "post(input: {selector: {_id: $id}})" in request.json()["query"]
    assert request.headers["User-Agent"].startswith("tts-pipeline/")
    assert CONTACT in request.headers["User-Agent"]


@pytest.mark.parametrize("form", ["input", "selector"])
def test_both_selector_forms(
    form: Literal["input", "selector"], server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    post = fetch_forummagnum(ref_for(site), http, selector_form=form)
    assert post.title == "On Testing With Real Servers"
    query = server.requests[-1].json()["query"]
    expected = (
        "post(input: {selector:" if form == "input" else "post(selector: {_id: $id}, allowNull"
    )
    assert expected in query


SAM = {"displayName": "Sam Second", "username": "sam"}


@pytest.mark.parametrize(
    ("changes", "authors"),
    [
        ({"user": None}, ("Anonymous",)),
        ({"hideAuthor": True, "coauthors": [SAM]}, ("Anonymous", "Sam Second")),
        ({"user": {"displayName": "", "username": "only_username"}}, ("only username",)),
    ],
)
def test_hidden_or_missing_authors(
    changes: dict[str, Any], authors: tuple[str, ...], http: HttpClient
) -> None:
    with ForumServer({PID: {**POST, "coauthors": [], **changes}}) as srv:
        local = ForumSite("local", "Local", "LF", (srv.host,), srv.graphql_url)
        assert fetch_forummagnum(ref_for(local), http).authors == authors


def test_relative_page_url_and_contents_fallback(http: HttpClient) -> None:
    raw = {**POST, "pageUrl": f"/posts/{PID}/x", "htmlBody": None}
    with ForumServer({PID: raw}) as srv:
        local = ForumSite("local", "Local", "LF", (srv.host,), srv.graphql_url)
        post = fetch_forummagnum(ref_for(local), http)
        assert post.url == f"{srv.base_url}/posts/{PID}/x"
    assert post.html == BODY


# -- ForumMagnum: errors -------------------------------------------------------------------


@pytest.mark.parametrize("form", ["input", "selector"])
def test_missing_document_is_not_found(
    form: Literal["input", "selector"], site: ForumSite, http: HttpClient
) -> None:
    with pytest.raises(PostNotFoundError, match="not found"):
        fetch_forummagnum(ref_for(site, "NoSuchPost2345678"), http, selector_form=form)


def test_server_answers_slug_selector_with_400(server: ForumServer, http: HttpClient) -> None:
    query = 'query {\n  post(input: {selector: {slug: "some-post"}}) { result { _id } }\n}'
    status, body = http.post_json(server.graphql_url, {"query": query})
    assert status == 400
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["locations"] == [{"line": 2, "column": 27}]


def test_validation_error_quotes_the_server(
    server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    reply = {"errors": [{"message": 'Unknown argument "frobnicate" on field "Query.post".'}]}
    server.fail_next(400, **json_reply(reply))
    with pytest.raises(IngestError) as info:
        fetch_forummagnum(ref_for(site), http)
    assert not isinstance(info.value, PostNotFoundError)
    assert 'Unknown argument "frobnicate"' in str(info.value)
    assert "HTTP 400" in str(info.value)


def test_not_allowed(server: ForumServer, site: ForumSite, http: HttpClient) -> None:
    reply = {"errors": [{"message": "app.operation_not_allowed"}], "data": {"post": None}}
    server.fail_next(200, **json_reply(reply))
    with pytest.raises(IngestError, match="not allowed") as info:
        fetch_forummagnum(ref_for(site), http)
    assert not isinstance(info.value, PostNotFoundError)


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", '{"data": {"post": {"result": "nope"}}}', '{"data": null}'],
)
def test_malformed_or_unexpected_replies(
    body: str, server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    server.fail_next(200, **json_reply(body))
    with pytest.raises(IngestError) as info:
        fetch_forummagnum(ref_for(site), http)
    assert "\n" not in str(info.value)


# -- HTTP behaviour: retries, Retry-After, timeouts, refusals ------------------------------


def test_503_twice_then_success(server: ForumServer, site: ForumSite, http: HttpClient) -> None:
    server.fail_next(503, 2)
    assert fetch_forummagnum(ref_for(site), http).id == PID
    assert len(server.requests) == 3


def test_503_until_retries_run_out(server: ForumServer, site: ForumSite, http: HttpClient) -> None:
    server.fail_next(503, 10)
    with pytest.raises(IngestError, match=r"HTTP 503 from .*/graphql after 3 retries"):
        fetch_forummagnum(ref_for(site), http)
    assert len(server.requests) == 4


def test_429_retry_after_is_respected(
    server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    server.fail_next(429, headers={"Retry-After": "1"})
    start = time.monotonic()
    assert fetch_forummagnum(ref_for(site), http).id == PID
    assert time.monotonic() - start >= 0.9
    assert len(server.requests) == 2


@pytest.mark.parametrize("wait", ["3600", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_huge_retry_after_fails_fast(
    wait: str, server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    server.fail_next(429, headers={"Retry-After": wait})
    start = time.monotonic()
    with pytest.raises(IngestError, match=r"asked us to wait \d+ s, more than the 5 s") as info:
        fetch_forummagnum(ref_for(site), http)
    assert time.monotonic() - start < 1.0
    assert "HTTP 429" in str(info.value)
    assert len(server.requests) == 1


def test_connection_refused_is_one_line(http: HttpClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(IngestError) as info:
        http.get_text(f"http://127.0.0.1:{port}/posts/x")
    assert str(info.value) == f"cannot reach 127.0.0.1:{port}: connection refused"


def test_read_timeout(server: ForumServer) -> None:
    server.fail_next(200, body="{}", delay=1.0)
    impatient = HttpClient("t", timeout=(1.0, 0.2), retries=0)
    with impatient, pytest.raises(IngestError, match=r"did not answer within 0.2 s"):
        impatient.post_json(server.graphql_url, {"query": "{}"})


def test_size_cap_and_schemes(server: ForumServer) -> None:
    with HttpClient("t", max_bytes=1000) as small:
        with pytest.raises(IngestError, match="too large"):
            small.get_text(f"{server.base_url}/essays/lighthouses")
        for url in ("file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi"):
            with pytest.raises(IngestError, match="only http and https"):
                small.get_text(url)


def test_get_text_refuses_binary_and_http_errors(server: ForumServer, http: HttpClient) -> None:
    server.fail_next(200, headers={"Content-Type": "application/pdf"}, body=b"%PDF-1.7")
    with pytest.raises(IngestError, match="not a web page"):
        http.get_text(f"{server.base_url}/essays/lighthouses")
    with pytest.raises(IngestError, match="HTTP 404"):
        http.get_text(f"{server.base_url}/nowhere")


def test_server_speaks_get_inline_ids_and_listing(server: ForumServer, http: HttpClient) -> None:
    query = f'{{ post(input: {{selector: {{_id: "{PID}"}}}}) {{ result {{ _id }} }} }}'
    status, body = http.post_json(server.graphql_url, {"query": query})
    assert (status, body["data"]["post"]["result"]["_id"]) == (200, PID)
    text, _ = http.get_text(f"{server.graphql_url}?query={query}")
    assert json.loads(text)["data"]["post"]["result"]["_id"] == PID
    listing = '{ posts(input: {terms: {view: "new", limit: 1}}) { results { _id } } }'
    _, body = http.post_json(server.graphql_url, {"query": listing})
    assert [p["_id"] for p in body["data"]["posts"]["results"]] == [PID]


# -- the shared real-data fixtures ---------------------------------------------------------


def test_real_agi_ruin_reply(shared_fixtures: Path, http: HttpClient) -> None:
    raw = json.loads((shared_fixtures / "forummagnum" / "post_agi-ruin_graphql.json").read_text())
    result = raw["data"]["post"]["result"]
    with ForumServer({result["_id"]: result}) as srv:
        lw_local = ForumSite("lw", "LessWrong", "LW", (srv.host,), srv.graphql_url)
        url = f"{srv.base_url}/posts/uMQ3cqWDPHhjtiesc/agi-ruin-a-list-of-lethalities"
        post = fetch_post(url, [lw_local], http)
    assert post.title == "AGI Ruin: A List of Lethalities"
    assert post.authors == ("Eliezer Yudkowsky",)
    assert post.published == datetime(2022, 6, 5, 22, 5, 52, 224000, tzinfo=UTC)
    assert post.url.startswith("https://www.lesswrong.com/posts/uMQ3cqWDPHhjtiesc/")
    assert len(post.html) == 61065 == len(result["htmlBody"])


def test_real_slug_validation_error(
    shared_fixtures: Path, server: ForumServer, site: ForumSite, http: HttpClient
) -> None:
    body = (shared_fixtures / "forummagnum" / "error_400_slug_selector.json").read_text()
    server.fail_next(400, **json_reply(body))
    with pytest.raises(IngestError) as info:
        fetch_forummagnum(ref_for(site), http)
    message = str(info.value)
    assert not isinstance(info.value, PostNotFoundError)
    assert 'Field "slug" is not defined by type "SelectorInput".' in message
    assert "GraphQLError" not in message and "\n" not in message  # no stack trace


# -- generic articles ----------------------------------------------------------------------


def test_article_through_trafilatura(server: ForumServer, http: HttpClient) -> None:
    url = f"{server.base_url}/essays/lighthouses"
    post = fetch_article(url, http)
    assert post.title == "Why Lighthouses Blink"
    assert post.authors == ("Ada Keeper",)
    assert post.published == datetime(2024, 3, 14, 9, 30, tzinfo=UTC)
    assert (post.site_name, post.prefix, post.url) == ("The Harbour Journal", "WEB", url)
    assert post.id == "web-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    assert "<h2>Reading the pattern</h2>" in post.html
    assert post.html.count("<p>") == 4
    assert "character of the light" in post.html
    assert "Why Lighthouses Blink" not in post.html  # the title is spoken by the intro
    assert "Home" not in post.html and "Copyright" not in post.html


def test_fetch_post_falls_back_to_article_and_follows_redirects(
    server: ForumServer, http: HttpClient
) -> None:
    post = fetch_post(f"{server.base_url}/old", BUILTIN_SITES, http)
    assert post.url == f"{server.base_url}/essays/lighthouses"
    assert post.title == "Why Lighthouses Blink"


def test_undated_article_gets_now(server: ForumServer, http: HttpClient) -> None:
    post = fetch_article(f"{server.base_url}/undated", http)
    assert abs(datetime.now(UTC) - post.published) < timedelta(minutes=1)


def test_article_without_text(server: ForumServer, http: HttpClient) -> None:
    with pytest.raises(IngestError, match="no article text"):
        fetch_article(f"{server.base_url}/empty", http)


def test_fetch_post_refuses_unsupported(http: HttpClient) -> None:
    with pytest.raises(UnsupportedURLError):
        fetch_post("file:///etc/passwd", BUILTIN_SITES, http)
