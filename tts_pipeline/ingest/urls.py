"""Recognise ForumMagnum post URLs (AF, LW, EA Forum, their mirrors, configured profiles).

``parse_post_url`` answers three ways: a :class:`PostRef` for a link to a post, ``None`` for
any other http(s) URL (the generic article ingester takes it), or UnsupportedURLError for
something that cannot work: a non-http scheme, a malformed URL, or a forum page that names
no post (a forum page fed to the article extractor would give junk, so it is refused).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from tts_pipeline.errors import UnsupportedURLError
from tts_pipeline.models import ForumSite, PostRef

# Post ids: 24-hex legacy ids (2017-2019) first, then 17-character ids. The 17-character
# branch is deliberately lenient (any alphanumerics, not just ForumMagnum's unmistakable
# alphabet): a wrong guess only costs a "not found" reply, a refusal would block a real post.
_ID = r"(?P<id>[0-9a-f]{24}|[A-Za-z0-9]{17})(?=/|$)"

# Every route that names a post; trailing parts (slug, /comment/<cid>, /answer/<cid>) and the
# query (?commentId=) or fragment (#<cid>, #comment-<cid>) only point inside the post.
_POST_ROUTES = tuple(
    re.compile(pattern)
    for pattern in (
        rf"^/posts/{_ID}",  # /posts/<id>[/<slug>[/comment/<cid>]]
        rf"^/s/[^/]+/p/{_ID}",  # a post inside a sequence
        rf"^/g/[^/]+/p/{_ID}",  # a post inside a local group
        rf"^/events/{_ID}",  # an event post
        rf"^/api/post/{_ID}",  # the LW Markdown API
    )
)

# Read-only mirrors, mapped to the upstream profile whose API has the same post ids.
MIRRORS: dict[str, str] = {
    "www.greaterwrong.com": "lw",
    "greaterwrong.com": "lw",
    "lw2.issarice.com": "lw",
    "ea.greaterwrong.com": "ea",
    "eaforum.issarice.com": "ea",
}
# GreaterWrong serves AF and LW posts on one host; its AF view is marked by this query.
_GW_AF_VIEW = "alignment-forum"

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_post_url(url: str, sites: Sequence[ForumSite]) -> PostRef | None:
    """Return what forum post ``url`` names, None for a non-forum page, or raise.

    Raises UnsupportedURLError for non-http(s) or malformed URLs and for forum URLs that do not
    name a post (front page, user pages, ``/posts/slug/<slug>``, ``/lw/…``, ``/codex/…``).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise UnsupportedURLError(f"malformed URL {text!r}: {exc}", url=text) from exc
    if not parts.scheme:
        raise UnsupportedURLError(
            f"not a URL: {text!r}; expected a link such as"
            " https://www.lesswrong.com/posts/<id>/<slug> or any https:// article",
            url=text,
        )
    if parts.scheme not in _DEFAULT_PORTS:
        raise UnsupportedURLError(
            f"unsupported URL {_short(text)!r}: only http(s) links to a forum post or an"
            f" article can be fetched, not {parts.scheme}: URLs",
            url=text,
        )
    hostname = parts.hostname
    if not hostname or any(c.isspace() for c in parts.netloc):
        raise UnsupportedURLError(f"malformed URL {text!r}: no valid host", url=text)

    site = _site_for(_host_keys(parts.scheme, hostname, port), sites)
    if site is None:
        site = _mirror_site(hostname, parts.query, sites)
    if site is None:
        return None

    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    for route in _POST_ROUTES:
        match = route.match(path)
        if match:
            return PostRef(site=site, post_id=match.group("id"), url=text)
    raise UnsupportedURLError(_no_post_message(text, path, site, parts.netloc), url=text)


def _host_keys(scheme: str, hostname: str, port: int | None) -> list[str]:
    """The ``host[:port]`` spellings a profile might list for this URL."""
    host = f"[{hostname}]" if ":" in hostname else hostname  # IPv6 literals keep brackets
    default = _DEFAULT_PORTS[scheme]
    if port is None or port == default:
        return [host, f"{host}:{default}"]
    return [f"{host}:{port}"]


def _site_for(keys: list[str], sites: Sequence[ForumSite]) -> ForumSite | None:
    for site in sites:
        hosts = {h.lower() for h in site.hosts}
        if any(key in hosts for key in keys):
            return site
    return None


def _mirror_site(hostname: str, query: str, sites: Sequence[ForumSite]) -> ForumSite | None:
    key = MIRRORS.get(hostname)
    if key is None:
        return None
    if key == "lw" and _GW_AF_VIEW in parse_qs(query).get("view", []):
        key = "af"
    for site in sites:
        if site.key == key:
            return site
    raise UnsupportedURLError(
        f"{hostname} mirrors the forum profile {key!r}, but no such profile is configured"
    )


def _no_post_message(url: str, path: str, site: ForumSite, netloc: str) -> str:
    example = f"https://{netloc}/posts/<id>/<slug>"
    if path.startswith("/posts/slug/"):
        why = "slug-only links cannot be looked up (the API finds posts by id)"
    elif path.startswith("/lw/"):
        why = "old LessWrong 1.0 links are not supported"
    elif path.startswith(("/posts/", "/s/", "/g/", "/events/", "/api/post/")):
        why = "the post id should be 17 letters and digits or 24 hex digits"
    else:
        why = "it is not a link to a post"
    return (
        f"{_short(url)} is a {site.name} page but names no post: {why};"
        f" open the post and use its link, of the form {example}"
    )


def _short(text: str, limit: int = 120) -> str:
    """Keep messages one readable line, even for a huge data: URL."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
