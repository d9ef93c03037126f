"""Post URL recognition: every ForumMagnum URL form, mirrors, profiles, and refusals."""

from __future__ import annotations

import pytest

from tts_pipeline.config import BUILTIN_SITES
from tts_pipeline.errors import UnsupportedURLError
from tts_pipeline.ingest.urls import parse_post_url
from tts_pipeline.models import ForumSite

PID = "uMQ3cqWDPHhjtiesc"  # 17-character id
LEGACY = "5bd75cc58225bf06703753ef"  # 24-hex id from 2017-2019
CID = "Xy7kQpR2mNbC3dEfG"  # a comment id
SEQ = "oLGCcbnvabyibnG9d"  # a sequence id
GROUP = "ZmbxkQNN6e9WQ3SsS"  # a local group id

LOCAL = ForumSite(
    key="mirror",
    name="The Local Mirror",
    prefix="AF",
    hosts=("127.0.0.1:8765",),
    graphql="http://127.0.0.1:8765/graphql",
)
SITES = (*BUILTIN_SITES, LOCAL)

AF = "https://www.alignmentforum.org"
LW = "https://www.lesswrong.com"
EA = "https://forum.effectivealtruism.org"
GW = "https://www.greaterwrong.com"

RECOGNISED = [
    # plain post links, with and without slug, trailing slash, query and fragment
    (f"{AF}/posts/{PID}", "af", PID),
    (f"{AF}/posts/{PID}/agi-ruin-a-list-of-lethalities", "af", PID),
    (f"https://alignmentforum.org/posts/{PID}/", "af", PID),
    (f"{LW}/posts/{PID}/agi-ruin-a-list-of-lethalities", "lw", PID),
    (f"{LW}/posts/{PID}/agi-ruin-a-list-of-lethalities/", "lw", PID),
    (f"https://lesswrong.com/posts/{PID}", "lw", PID),
    (f"http://www.lesswrong.com/posts/{PID}/slug", "lw", PID),
    (f"https://WWW.LessWrong.com/posts/{PID}/slug", "lw", PID),
    (f"https://www.lesswrong.com:443/posts/{PID}/slug", "lw", PID),
    (f"https://lesserwrong.com/posts/{PID}/slug", "lw", PID),
    (f"{LW}/posts/{PID}/slug?utm_source=rss#comments", "lw", PID),
    (f"  {LW}/posts/{PID}/slug  ", "lw", PID),
    # comment links
    (f"{LW}/posts/{PID}/slug?commentId={CID}", "lw", PID),
    (f"{LW}/posts/{PID}/slug#{CID}", "lw", PID),
    (f"{LW}/posts/{PID}/slug/comment/{CID}", "lw", PID),
    # sequences, groups, events, the Markdown API
    (f"{LW}/s/{SEQ}/p/{PID}", "lw", PID),
    (f"{LW}/s/{SEQ}/p/{PID}#{CID}", "lw", PID),
    (f"{EA}/g/{GROUP}/p/{PID}/", "ea", PID),
    (f"{EA}/events/{PID}/monthly-meetup", "ea", PID),
    (f"{LW}/api/post/{PID}", "lw", PID),
    (f"{LW}/api/post/{PID}?compact=1", "lw", PID),
    # EA Forum hosts
    (f"{EA}/posts/{PID}/slug", "ea", PID),
    (f"https://forum-bots.effectivealtruism.org/posts/{PID}", "ea", PID),
    # legacy 24-hex ids
    (f"{AF}/posts/{LEGACY}/an-old-post", "af", LEGACY),
    (f"{LW}/posts/{LEGACY}", "lw", LEGACY),
    (f"{LW}/s/{SEQ}/p/{LEGACY}/", "lw", LEGACY),
    # GreaterWrong and issarice mirrors map to the upstream profile
    (f"{GW}/posts/{PID}/slug", "lw", PID),
    (f"https://greaterwrong.com/posts/{PID}/slug/comment/{CID}", "lw", PID),
    (f"{GW}/posts/{PID}/slug/answer/{CID}", "lw", PID),
    (f"{GW}/posts/{PID}/slug#comment-{CID}", "lw", PID),
    (f"{GW}/posts/{PID}/slug?view=alignment-forum", "af", PID),
    (f"https://ea.greaterwrong.com/posts/{PID}/slug", "ea", PID),
    (f"https://lw2.issarice.com/posts/{PID}/slug", "lw", PID),
    (f"https://eaforum.issarice.com/posts/{PID}/slug", "ea", PID),
    # a configured profile with a port
    (f"http://127.0.0.1:8765/posts/{PID}/slug", "mirror", PID),
    (f"http://127.0.0.1:8765/posts/{PID}", "mirror", PID),
    (f"http://127.0.0.1:8765/s/{SEQ}/p/{LEGACY}", "mirror", LEGACY),
]


@pytest.mark.parametrize(("url", "key", "post_id"), RECOGNISED)
def test_post_urls_are_recognised(url: str, key: str, post_id: str) -> None:
    ref = parse_post_url(url, SITES)
    assert ref is not None
    assert (ref.site.key, ref.post_id) == (key, post_id)
    assert ref.url == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/blog/why-lighthouses-blink",
        f"https://example.com/posts/{PID}",
        f"http://127.0.0.1:9999/posts/{PID}",  # same address, another port: not the profile
        f"https://www.lesswrong.com.evil.example/posts/{PID}",
        "http://localhost/article",
    ],
)
def test_other_http_urls_go_to_the_article_ingester(url: str) -> None:
    assert parse_post_url(url, SITES) is None


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("file:///etc/passwd", "file:"),
        (f"ftp://www.lesswrong.com/posts/{PID}", "ftp:"),
        ("data:text/html,<p>hello</p>", "data:"),
        ("javascript:alert(1)", "javascript:"),
        (f"www.lesswrong.com/posts/{PID}", "https://"),
        ("", "not a URL"),
        ("https://", "no valid host"),
        ("http://[::1", "malformed"),
        (f"https://www.lesswrong.com:99999/posts/{PID}", "malformed"),
        ("https://www.lesswrong.com/", "names no post"),
        ("https://www.lesswrong.com", "names no post"),
        ("https://www.alignmentforum.org/allPosts", "names no post"),
        (f"{LW}/posts/slug/agi-ruin-a-list-of-lethalities", "slug"),
        (f"{LW}/lw/1/some_old_post/", "1.0"),
        (f"{LW}/codex/the-meditation-on-curiosity", "names no post"),
        (f"{LW}/users/eliezer_yudkowsky", "names no post"),
        (f"{LW}/posts/tooShort/slug", "17"),
        (f"{LW}/posts/{PID}x/slug", "17"),  # 18 characters
        (f"{GW}/index?view=alignment-forum", "names no post"),
        ("https://effective-altruism.com/ea/12x/old_post/", "names no post"),
        ("http://127.0.0.1:8765/", "The Local Mirror"),
    ],
)
def test_unusable_urls_are_refused_clearly(url: str, hint: str) -> None:
    with pytest.raises(UnsupportedURLError) as info:
        parse_post_url(url, SITES)
    message = str(info.value)
    assert hint in message
    assert "\n" not in message


def test_refusal_says_what_was_expected() -> None:
    with pytest.raises(UnsupportedURLError, match=r"/posts/<id>/<slug>"):
        parse_post_url(f"{LW}/posts/slug/some-post", SITES)


def test_profile_overrides_and_mirror_without_profile() -> None:
    af_only = tuple(s for s in BUILTIN_SITES if s.key == "af")
    with pytest.raises(UnsupportedURLError, match="no such profile"):
        parse_post_url(f"{GW}/posts/{PID}/slug", af_only)
    ref = parse_post_url(f"{GW}/posts/{PID}/slug?view=alignment-forum", af_only)
    assert ref is not None and ref.site.key == "af"


def test_returned_site_is_the_profile_object() -> None:
    ref = parse_post_url(f"http://127.0.0.1:8765/posts/{PID}", SITES)
    assert ref is not None
    assert ref.site is LOCAL
