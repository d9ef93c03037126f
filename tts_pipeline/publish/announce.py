"""Tell directories that a feed changed, so apps see a new episode in minutes, not hours.

Two ways, each to a URL from the config: Podcast Index's ``pubnotify?url=<feed>`` (a GET),
and a WebSub hub (a form POST of ``hub.mode=publish`` and ``hub.url=<feed>``, W3C WebSub
section 7 as hubs implement it). Send only after the feed is public.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from tts_pipeline import __version__
from tts_pipeline.errors import PublishError
from tts_pipeline.net.http import HttpClient


def pubnotify_url(endpoint: str, feed_url: str) -> str:
    """``endpoint`` with ``url=<feed_url>`` added to its query."""
    parts = urlsplit(endpoint)
    query = "&".join(q for q in (parts.query, urlencode({"url": feed_url})) if q)
    return urlunsplit(parts._replace(query=query))


def announce(
    feed_urls: list[str],
    *,
    pubnotify: str | None = None,
    websub_hub: str | None = None,
    http: HttpClient | None = None,
) -> int:
    """Announce each feed to the configured services; return the number of requests sent.
    PublishError (naming the service) when one does not answer with a 2xx status."""
    client = http or HttpClient(f"tts-pipeline/{__version__} (announce)")
    sent = 0
    try:
        for feed in feed_urls:
            if pubnotify:
                _send(client, "GET", pubnotify_url(pubnotify, feed), feed)
                sent += 1
            if websub_hub:
                form = {"hub.mode": "publish", "hub.url": feed}
                _send(client, "POST", websub_hub, feed, data=form)
                sent += 1
    finally:
        if http is None:
            client.close()
    return sent


def _send(client: HttpClient, method: str, url: str, feed: str, **kwargs: object) -> None:
    service = urlsplit(url)._replace(query="").geturl()
    try:
        with client.session.request(
            method,
            url,
            timeout=client.timeout,
            **kwargs,  # type: ignore[arg-type]
        ) as response:
            status = response.status_code
    except requests.RequestException as exc:
        raise PublishError(
            f"cannot announce {feed} to {service}: {type(exc).__name__}", location=service
        ) from exc
    if not 200 <= status < 300:
        raise PublishError(
            f"{service} answered HTTP {status} to the announcement of {feed}", location=service
        )
