"""The public copy as a podcast app sees it: fetch each feed from its public URL, then ask
for every file it names the way Apple Podcasts and Safari do.

Per enclosure: HEAD answers 200 with ``Content-Length`` equal to the enclosure's ``length``
and type ``audio/mpeg``; ``Range: bytes=0-1`` answers 206 with ``Content-Range: bytes
0-1/<length>`` (a server that ignores ranges answers 200, and iOS will not play from it).
Transcripts, chapters and artwork must answer HEAD with 200. The first file that does not
hold raises a PublishError naming it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from tts_pipeline import __version__
from tts_pipeline.errors import PublishError
from tts_pipeline.net.http import HttpClient
from tts_pipeline.publish.tree import ALL_FEED, Role, feed_pages, public_tree

_MAX_FEED_BYTES = 64 * 1024 * 1024
_ITUNES_IMAGE = "{http://www.itunes.com/dtds/podcast-1.0.dtd}image"


@dataclass(frozen=True)
class CheckReport:
    feeds: int
    enclosures: int
    other_files: int


def public_feed_urls(library_root: Path, base_url: str, *, archives: bool = False) -> list[str]:
    """The public URL of every subscription page of the library (and of its archive pages
    with ``archives``), as the library's feeds are laid out."""
    tree = public_tree(library_root, base_url)
    base = base_url.rstrip("/") + "/"
    return [
        base + page
        for page in feed_pages(library_root)
        if archives or tree.files[page].role is Role.SUBSCRIPTION
    ]


def check_public(
    feeds: str | Sequence[str],
    http: HttpClient | None = None,
    *,
    only: Collection[str] | None = None,
) -> CheckReport:
    """Check every public feed in ``feeds`` (feed URLs, or a base URL meaning its
    ``feed.xml``) and the files it names.

    ``only``: check just the named files whose URL ends with one of these paths (the
    ``uploaded_paths`` of a publish report), still fetching every feed.
    """
    urls = [feeds.rstrip("/") + "/" + ALL_FEED] if isinstance(feeds, str) else list(feeds)
    if isinstance(feeds, str) and feeds.endswith(".xml"):
        urls = [feeds]
    client = http or HttpClient(f"tts-pipeline/{__version__} (publish check)")
    enclosures = others = 0
    try:
        for url in urls:
            channel = _fetch_feed(client, url)
            for kind, file_url, length in _named(channel):
                if only is not None and not any(file_url.endswith("/" + p) for p in only):
                    continue
                if kind == "enclosure":
                    _check_enclosure(client, file_url, length)
                    enclosures += 1
                else:
                    _check_present(client, file_url)
                    others += 1
    finally:
        if http is None:
            client.close()
    return CheckReport(len(urls), enclosures, others)


def _request(client: HttpClient, method: str, url: str, **kwargs: object) -> requests.Response:
    try:
        return client.session.request(
            method,
            url,
            timeout=client.timeout,
            allow_redirects=True,
            **kwargs,  # type: ignore[arg-type]
        )
    except requests.RequestException as exc:
        raise PublishError(f"{url} cannot be fetched: {type(exc).__name__}", location=url) from exc


def _fetch_feed(client: HttpClient, url: str) -> ET.Element:
    response = _request(client, "GET", url)
    if response.status_code != 200:
        raise PublishError(f"feed {url} answers HTTP {response.status_code}", location=url)
    if len(response.content) > _MAX_FEED_BYTES:
        raise PublishError(f"feed {url} is larger than {_MAX_FEED_BYTES} bytes", location=url)
    try:
        return ET.fromstring(response.content)
    except ET.ParseError as exc:
        raise PublishError(f"feed {url} is not well-formed XML: {exc}", location=url) from exc


def _named(rss: ET.Element) -> Iterator[tuple[str, str, int | None]]:
    """(kind, URL, declared length) of each file the feed names."""
    for element in rss.iter():
        local = element.tag.rpartition("}")[2]
        if local == "enclosure":
            length = element.get("length", "")
            yield "enclosure", element.get("url", ""), int(length) if length.isdigit() else None
        elif local in ("transcript", "chapters") and element.get("url"):
            yield local, element.get("url", ""), None
        elif element.tag == _ITUNES_IMAGE and element.get("href"):
            yield "image", element.get("href", ""), None


def _check_enclosure(client: HttpClient, url: str, length: int | None) -> None:
    if length is None:
        raise PublishError(f"the enclosure {url} has no length in its feed", location=url)
    head = _request(client, "HEAD", url)
    if head.status_code != 200:
        raise PublishError(f"{url} answers HEAD with HTTP {head.status_code}", location=url)
    size = head.headers.get("Content-Length", "")
    if size != str(length):
        raise PublishError(
            f"{url} is {size or 'of unknown size'} bytes, its feed says {length}", location=url
        )
    kind = head.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind != "audio/mpeg":
        raise PublishError(f"{url} is served as {kind or 'no type'}, not audio/mpeg", location=url)
    # Streamed: a server that ignores Range would otherwise send the whole episode.
    with _request(
        client,
        "GET",
        url,
        headers={"Range": "bytes=0-1", "Accept-Encoding": "identity"},
        stream=True,
    ) as ranged:
        body = _first_bytes(ranged, 3)
    if ranged.status_code != 206:
        raise PublishError(
            f"{url} answers a Range request with HTTP {ranged.status_code}, not 206: players"
            " cannot seek and iOS will not play it",
            location=url,
        )
    expected = f"bytes 0-1/{length}"
    if ranged.headers.get("Content-Range") != expected or len(body) != 2:
        raise PublishError(
            f"{url} answers bytes=0-1 with Content-Range"
            f" {ranged.headers.get('Content-Range')!r} and {len(body)} bytes,"
            f" not {expected!r}",
            location=url,
        )


def _first_bytes(response: requests.Response, limit: int) -> bytes:
    data = b""
    try:
        for chunk in response.iter_content(limit):
            data += chunk
            if len(data) >= limit:
                break
    except requests.RequestException as exc:
        raise PublishError(f"{response.url} broke off: {type(exc).__name__}") from exc
    return data[:limit]


def _check_present(client: HttpClient, url: str) -> None:
    head = _request(client, "HEAD", url)
    if head.status_code != 200:
        raise PublishError(f"{url} answers HEAD with HTTP {head.status_code}", location=url)
