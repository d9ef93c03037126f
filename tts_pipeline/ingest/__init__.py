"""Ingest stage: URL -> Post.

An ordered registry of ingesters, one per forum *software*, with the generic article
extractor last. Each ingester looks at a URL and either declines (None) or returns the fetch
to run; the first one that accepts wins. Forum *sites* are data (``ForumSite`` profiles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from tts_pipeline.errors import UnsupportedURLError
from tts_pipeline.ingest.article import fetch_article
from tts_pipeline.ingest.forummagnum import fetch_forummagnum
from tts_pipeline.ingest.urls import parse_post_url
from tts_pipeline.models import ForumSite, Post
from tts_pipeline.net.http import HttpClient, default_user_agent

__all__ = [
    "INGESTERS",
    "HttpClient",
    "Ingester",
    "default_user_agent",
    "fetch_post",
    "parse_post_url",
]

Fetch = Callable[[HttpClient], Post]


@dataclass(frozen=True)
class Ingester:
    """``plan(url, sites)`` returns the fetch for ``url``, None to decline, or raises
    UnsupportedURLError when the URL is clearly this ingester's but unusable."""

    name: str
    plan: Callable[[str, Sequence[ForumSite]], Fetch | None]


def _plan_forummagnum(url: str, sites: Sequence[ForumSite]) -> Fetch | None:
    ref = parse_post_url(url, [s for s in sites if s.software == "forummagnum"])
    return None if ref is None else partial(fetch_forummagnum, ref)


def _plan_article(url: str, sites: Sequence[ForumSite]) -> Fetch | None:
    if urlsplit(url.strip()).scheme not in ("http", "https"):
        return None
    return partial(fetch_article, url.strip())


INGESTERS: tuple[Ingester, ...] = (
    Ingester("forummagnum", _plan_forummagnum),
    Ingester("article", _plan_article),  # last: it takes any http(s) URL
)


def fetch_post(url: str, sites: Sequence[ForumSite], http: HttpClient) -> Post:
    """Fetch the post or article ``url`` names, through the first ingester that accepts it."""
    for ingester in INGESTERS:
        fetch = ingester.plan(url, sites)
        if fetch is not None:
            return fetch(http)
    raise UnsupportedURLError(f"no ingester accepts {url!r}", url=url)
