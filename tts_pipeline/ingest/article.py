"""Fetch any web article and extract its main text with trafilatura.

The page is downloaded with our HttpClient (timeouts, retries, size cap, User-Agent), never
with trafilatura's own downloader; trafilatura only parses. This module is the one place
trafilatura's exceptions are translated.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from tts_pipeline.errors import IngestError
from tts_pipeline.models import ARTICLE_PREFIX, Post
from tts_pipeline.net.http import HttpClient

log = logging.getLogger(__name__)

# Keep the time of day when a page gives one, so the spoken date is right near midnight UTC.
_DATE_CONFIG = {"original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}


def article_id(url: str) -> str:
    """A stable, filename-safe id for a URL: ``web-`` and 16 hex digits of its SHA-256."""
    return "web-" + hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:16]


def fetch_article(url: str, http: HttpClient) -> Post:
    """Download ``url`` and return its main text as HTML (paragraphs and headings kept)."""
    page, final_url = http.get_text(url)
    # Imported here: trafilatura pulls in a lot, and forum-only runs never need it.
    import trafilatura

    try:
        body = trafilatura.extract(
            page,
            url=final_url,
            output_format="html",
            include_formatting=True,
            include_comments=False,
            include_tables=True,
            include_links=False,
            include_images=False,
        )
        meta = trafilatura.extract_metadata(page, default_url=final_url, date_config=_DATE_CONFIG)
    except Exception as exc:  # trafilatura/lxml raise many types on hostile pages
        raise IngestError(f"cannot extract an article from {url}: {exc}", url=url) from exc
    if not body or not body.strip():
        raise IngestError(f"no article text found at {url}", url=url)

    host = (urlsplit(final_url).hostname or "").removeprefix("www.")
    title = _clean(getattr(meta, "title", None)) or host or final_url
    html = _without_title_heading(body, title)
    if not html:
        raise IngestError(f"no article text found at {url}", url=url)
    return Post(
        id=article_id(url),
        title=title,
        authors=_authors(getattr(meta, "author", None)),
        published=_published(getattr(meta, "date", None)),
        url=final_url,
        html=html,
        site_name=_clean(getattr(meta, "sitename", None)) or host,
        prefix=ARTICLE_PREFIX,
    )


def _clean(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _authors(value: Any) -> tuple[str, ...]:
    """trafilatura joins several authors with "; "."""
    names = (_clean(part) for part in _clean(value).split(";"))
    return tuple(dict.fromkeys(name for name in names if name))


def _published(value: Any) -> datetime:
    text = _clean(value)
    if text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            log.debug("unreadable article date %r", text)
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
    # Many pages carry no date at all; the fetch time is the best honest stand-in, and the
    # episode still needs one for its intro and feed entry.
    return datetime.now(UTC)


def _without_title_heading(body: str, title: str) -> str:
    """The body as an HTML fragment, minus a leading heading that repeats the title.

    The intro already speaks the title; hearing it twice at once sounds like a glitch.
    """
    root = lxml.html.fromstring(body)
    container = root.find("body")
    if container is None:
        container = root
    children = list(container)
    if children and children[0].tag in ("h1", "h2") and _clean(children[0].text_content()) == title:
        container.remove(children[0])
    parts = [lxml.html.tostring(child, encoding="unicode") for child in container]
    return "".join(parts).strip()
