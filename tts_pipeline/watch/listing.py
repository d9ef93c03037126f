"""List a ForumMagnum site's recent posts through GraphQL ``posts``, newest first, paged by date.

ForumMagnum refuses ``offset`` beyond 2000, so pages are cut by date: each next page asks for
posts ``before`` the oldest one seen plus a millisecond (``before`` is exclusive, and two posts
can share a timestamp; ids already seen are dropped). Only a page made entirely of posts
already seen, i.e. more posts at one instant than a page holds, makes it step past that instant.
The listing asks for metadata only (no bodies) unless edits are to be detected, which needs
each body's hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from tts_pipeline.config.watch import name_key
from tts_pipeline.errors import IngestError
from tts_pipeline.models import ForumSite
from tts_pipeline.net.http import HttpClient

log = logging.getLogger(__name__)

_USER = "displayName username slug"
_FIELDS = (
    "_id title slug pageUrl postedAt baseScore wordCount af hideAuthor"
    f" user {{ {_USER} }} coauthors {{ {_USER} }} tags {{ name slug }}"
)
# The deprecated ``input`` form is the one every known client uses against production.
_QUERY = (
    "query ListPosts($terms: JSON) {{ posts(input: {{terms: $terms}}) {{ results {{ {} }} }} }}"
)


@dataclass(frozen=True)
class ListedPost:
    """One post as a listing shows it: enough to decide whether to narrate it."""

    id: str
    title: str
    url: str
    posted_at: dt.datetime  # aware, UTC
    karma: float
    word_count: int | None
    authors: tuple[str, ...]  # display names, primary author first
    author_keys: frozenset[str]  # every form of every author's name, normalised
    tags: tuple[str, ...]  # tag names
    tag_keys: frozenset[str]  # tag names and slugs, normalised
    body_hash: str | None = None  # only when bodies were asked for


@dataclass(frozen=True)
class Listing:
    posts: tuple[ListedPost, ...]  # newest first, each id once
    pages: int
    truncated: bool  # stopped at max_pages before reaching ``since``


def content_hash(html: str) -> str:
    """The hash that tells an edited post from the narrated one."""
    return "sha256:" + hashlib.sha256(html.encode("utf-8")).hexdigest()


def iso_ms(moment: dt.datetime) -> str:
    """ForumMagnum's date format: UTC, milliseconds, ``Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def list_posts(
    site: ForumSite,
    http: HttpClient,
    *,
    since: dt.datetime,
    page_size: int = 50,
    max_pages: int = 20,
    af_only: bool = False,
    with_body: bool = False,
) -> Listing:
    """Every post on ``site`` posted at or after ``since``, newest first.

    Raises IngestError (one line naming the site) if the forum cannot be listed.
    """
    query = _QUERY.format(_FIELDS + (" htmlBody" if with_body else ""))
    seen: dict[str, ListedPost] = {}
    before: dt.datetime | None = None
    pages = 0
    while True:
        terms: dict[str, Any] = {
            "view": "new",
            "after": iso_ms(since),
            "limit": page_size,
            "excludeEvents": True,
        }
        if before is not None:
            terms["before"] = iso_ms(before)
        if af_only:
            terms["af"] = True
        results = _fetch_page(site, http, query, terms)
        pages += 1
        page = _parse_all(results, site)
        fresh = [p for p in page if p.id not in seen]
        for post in fresh:
            if post.posted_at >= since:
                seen[post.id] = post
        if len(results) < page_size or not page:
            return Listing(_newest_first(seen.values()), pages, truncated=False)
        oldest = min(p.posted_at for p in page)
        if oldest < since:
            return Listing(_newest_first(seen.values()), pages, truncated=False)
        if pages >= max_pages:
            log.warning("%s: listing stopped after %d pages at %s", site.name, pages, oldest)
            return Listing(_newest_first(seen.values()), pages, truncated=True)
        if fresh:
            before = oldest + dt.timedelta(milliseconds=1)
        else:
            # The whole page shares one timestamp: step past it (more at that instant are lost).
            log.warning("%s: more than %d posts at %s", site.name, page_size, iso_ms(oldest))
            before = oldest


def _newest_first(posts: Iterable[ListedPost]) -> tuple[ListedPost, ...]:
    return tuple(sorted(posts, key=lambda p: (p.posted_at, p.id), reverse=True))


def _fetch_page(site: ForumSite, http: HttpClient, query: str, terms: dict[str, Any]) -> list[Any]:
    where = f"listing {site.name} ({urlsplit(site.graphql).netloc})"
    status, body = http.post_json(site.graphql, {"query": query, "variables": {"terms": terms}})
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        first = errors[0] if isinstance(errors, list) and errors else errors
        message = first.get("message") if isinstance(first, dict) else first
        text = " ".join(str(message).split())[:300] or "(no message)"
        raise IngestError(f"{where}: the server refused the query (HTTP {status}): {text}")
    if status == 403:
        raise IngestError(f"{where}: HTTP 403, access refused")
    if status != 200:
        raise IngestError(f"{where}: HTTP {status}")
    data = body.get("data") if isinstance(body, dict) else None
    posts = data.get("posts") if isinstance(data, dict) else None
    results = posts.get("results") if isinstance(posts, dict) else None
    if not isinstance(results, list):
        raise IngestError(f"{where}: unexpected reply, no posts.results list")
    return results


def _parse_all(results: list[Any], site: ForumSite) -> list[ListedPost]:
    posts = []
    for raw in results:
        post = _parse(raw, site) if isinstance(raw, dict) else None
        if post is None:
            log.warning("%s: ignoring a listed post without id, title or date", site.name)
        else:
            posts.append(post)
    return posts


def _parse(raw: dict[str, Any], site: ForumSite) -> ListedPost | None:
    post_id, title, posted = raw.get("_id"), raw.get("title"), raw.get("postedAt")
    if not (isinstance(post_id, str) and post_id and isinstance(title, str)):
        return None
    try:
        posted_at = dt.datetime.fromisoformat(str(posted).strip())
    except ValueError:
        return None
    if posted_at.tzinfo is None:
        posted_at = posted_at.replace(tzinfo=dt.UTC)
    users = [raw.get("user"), *(raw.get("coauthors") or [])]
    users = [u for u in users if isinstance(u, dict)]
    if raw.get("hideAuthor"):
        users = []
    names = [_first_text(u, "displayName", "username") for u in users]
    author_keys = {name_key(v) for u in users for v in u.values() if isinstance(v, str) and v}
    tags = [t for t in raw.get("tags") or [] if isinstance(t, dict)]
    tag_keys = {name_key(v) for t in tags for v in t.values() if isinstance(v, str) and v}
    word_count = raw.get("wordCount")
    body = raw.get("htmlBody")
    return ListedPost(
        id=post_id,
        title=" ".join(title.split()),
        url=_page_url(raw, site, post_id),
        posted_at=posted_at.astimezone(dt.UTC),
        karma=float(raw.get("baseScore") or 0),
        word_count=int(word_count) if isinstance(word_count, int | float) else None,
        authors=tuple(n for n in names if n),
        author_keys=frozenset(author_keys),
        tags=tuple(_first_text(t, "name", "slug") for t in tags),
        tag_keys=frozenset(tag_keys),
        body_hash=content_hash(body) if isinstance(body, str) else None,
    )


def _first_text(item: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.replace("_", " ").split())
    return ""


def _page_url(raw: dict[str, Any], site: ForumSite, post_id: str) -> str:
    parts = urlsplit(site.graphql)
    origin = f"{parts.scheme}://{parts.netloc}/"
    page = raw.get("pageUrl")
    if isinstance(page, str) and page.strip():
        return urljoin(origin, page.strip())
    return urljoin(origin, f"posts/{post_id}")
