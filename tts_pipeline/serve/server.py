"""Serve a library over HTTP, so a browser or a podcast app on the local network can use it.

What is served (GET and HEAD only):

- ``/``: an HTML page with the newest episodes (``?start=N`` pages on, ``?q=text`` searches
  titles and authors in the database), each with a player, chapter links and the transcript;
- ``/feed.xml``, ``/feeds/<name>.xml`` and their archive pages (``/feed/page-000001.xml``,
  ``/feeds/<name>/page-000001.xml``): the library's paged feeds, rendered from the stored
  page plan for this server's address as the client reached it (its ``Host`` header), so a
  phone that fetched the feed from ``http://192.168.1.20:8000/`` downloads the episodes,
  transcripts and chapters from there too. Rendered pages are kept per address until the
  library changes, and answered with an ETag (304 to ``If-None-Match``);
- the library's media and side files: MP3, WebVTT, chapters JSON, scripts, cover art.

Why Starlette and uvicorn rather than ``http.server``: podcast apps need byte ranges (Safari
and iOS will not play an enclosure without a 206 to ``Range: bytes=0-1``), and CPython's
handler has none, nor ETags. Starlette's ``FileResponse`` (>= 0.39) implements RFC 9110
ranges: single, suffix and multiple ranges, 416 with ``Content-Range: bytes */size``,
``If-Range``, HEAD; uvicorn serves the many parallel, kept-alive connections a browser's media
element opens. What they do not do for us is done here: conditional requests
(``If-None-Match``/``If-Modified-Since`` -> 304) and the choice of what may be served at all.

Nothing outside the library can be read: a path is served only if every segment is a plain
name (no ``..``, no dot files, no empty segments, so no absolute paths), its type is one of
``MEDIA_TYPES``, it is not under ``cache/``, and the file it resolves to (symlinks followed)
passes the same checks inside the library. ``state.sqlite3`` has no served type.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from tts_pipeline.config import Config
from tts_pipeline.errors import ServeError
from tts_pipeline.library.catalog import list_episodes
from tts_pipeline.library.feeds import plan_feeds_for
from tts_pipeline.library.layout import Library
from tts_pipeline.package.rss import NS, xml_text  # importing it registers the feed prefixes
from tts_pipeline.serve.feed_cache import FeedPageCache
from tts_pipeline.serve.page import FeedLink, PageNav, load_view, render_index, static_file

log = logging.getLogger(__name__)

# What the library publishes, and nothing else (no other JSON: reports are not for listeners).
MEDIA_TYPES: tuple[tuple[str, str], ...] = (
    (".chapters.json", "application/json+chapters"),
    (".mp3", "audio/mpeg"),
    (".vtt", "text/vtt; charset=utf-8"),
    (".txt", "text/plain; charset=utf-8"),
    (".xml", "application/rss+xml"),
    (".png", "image/png"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
)
NOT_SERVED_DIRS = frozenset({"cache"})
COVER_NAMES = ("cover.png", "cover.jpg")  # the podcast's artwork, beside feed.xml
_MAX_DEPTH = 3
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_HOST_HEADER = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
_COMMON_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-cache"}
_PAGE_POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
PAGE_EPISODES = 50  # episodes on one page of the index
_MAX_QUERY = 200


def media_type(name: str) -> str | None:
    lower = name.lower()
    for suffix, kind in MEDIA_TYPES:
        if lower.endswith(suffix):
            return kind
    return None


def _servable(parts: tuple[str, ...]) -> bool:
    return (
        0 < len(parts) <= _MAX_DEPTH
        and all(_NAME.fullmatch(part) for part in parts)
        and parts[0] not in NOT_SERVED_DIRS
        and media_type(parts[-1]) is not None
    )


def library_file(root: Path, url_path: str) -> Path | None:
    """The file inside ``root`` that the (percent-decoded) ``url_path`` names, or None if
    that path must not be served or names no regular file."""
    parts = tuple(url_path.removeprefix("/").split("/"))
    if not _servable(parts):
        return None
    try:
        real_root = root.resolve(strict=True)
        real = real_root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
        return None
    # The same rules again for where a symlink leads: it must stay inside, and not reach
    # the state database or the cache by another name.
    if not real.is_relative_to(real_root) or not _servable(real.relative_to(real_root).parts):
        return None
    return real if real.is_file() else None


def request_base(request: Request, fallback: str) -> str:
    """``http://<host as the client named it>/``, or ``fallback`` for an odd Host header."""
    host = request.headers.get("host", "")
    if _HOST_HEADER.fullmatch(host):
        return f"http://{host}/"
    return fallback


def rebase_feed(data: bytes, served_as: str, new_base: str, old_base: str) -> bytes:
    """Point every URL in a feed that lies under the library's published address at
    ``new_base`` instead.

    The published address is read from the feed's own ``atom:link rel="self"`` (its URL minus
    ``served_as``, the feed's path in the library), so a feed rendered under any earlier
    ``base_url`` is rewritten correctly; ``old_base`` is used when the feed has no self link.
    Attributes (enclosure, transcript, chapters, image, self link) and elements whose whole
    text is such a URL are rewritten; prose is left alone.
    """
    root = ET.fromstring(data)
    for link in root.iter(f"{{{NS['atom']}}}link"):
        href = link.get("href", "")
        if link.get("rel") == "self" and href.endswith("/" + served_as):
            old_base = href[: -len(served_as)]
            break
    old = old_base.rstrip("/") + "/"
    new = new_base.rstrip("/") + "/"

    def moved(value: str) -> str | None:
        if value.startswith(old):
            return new + value[len(old) :]
        return new if value == old.rstrip("/") else None

    for element in root.iter():
        for key, value in element.attrib.items():
            if (rebased := moved(value)) is not None:
                element.set(key, rebased)
        text = (element.text or "").strip()
        if text and not any(c.isspace() for c in text) and (rebased := moved(text)) is not None:
            element.text = rebased
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out + b"\n"


def _etag_matches(header: str, etag: str) -> bool:
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    candidates = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in candidates or etag.removeprefix("W/") in candidates


def not_modified(headers: Mapping[str, str], etag: str, mtime: float) -> bool:
    """Whether a GET/HEAD with these request headers gets a 304 (RFC 9110 section 13.2.2)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etag)
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(mtime) <= since
    return False


def _not_modified_response(etag: str, mtime: float) -> Response:
    headers = {"etag": etag, "last-modified": formatdate(mtime, usegmt=True), **_COMMON_HEADERS}
    return Response(status_code=304, headers=headers)


def _not_found() -> Response:
    return PlainTextResponse("not found\n", status_code=404, headers=_COMMON_HEADERS)


def _offset(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 10 else 0


def create_app(library: Library, config: Config, *, fallback_base: str) -> Starlette:
    """The ASGI application serving ``library``. ``fallback_base`` is this server's own
    address, used when a request carries no usable Host header.

    Handlers that touch the disk or the database are plain functions: Starlette runs them
    in its thread pool, so media streaming never waits for them.
    """

    pages = FeedPageCache(library, config)

    def index(request: Request) -> Response:
        base = request_base(request, fallback_base)
        feeds = [
            FeedLink(" ".join(xml_text(plan.title).split()) or plan.path, base + plan.path)
            for plan in plan_feeds_for(config, library.prefixes())
        ]
        query = request.query_params.get("q", "")[:_MAX_QUERY]
        start = _offset(request.query_params.get("start", ""))
        listing = list_episodes(library, query=query, offset=start, limit=PAGE_EPISODES)
        views = [load_view(record, library.episodes_dir) for record in listing.episodes]
        icon = next((f"/{n}" for n in COVER_NAMES if library_file(library.root, n)), None)
        nav = PageNav(listing.query, listing.offset, listing.limit, listing.total)
        page = render_index(config.templates.podcast_name, feeds, views, icon, nav)
        headers = {**_COMMON_HEADERS, "content-security-policy": _PAGE_POLICY}
        return HTMLResponse(page, headers=headers)

    async def no_icon(request: Request) -> Response:
        # Browsers ask for it even when the page names an icon; an empty answer, not a 404.
        return Response(status_code=204, headers=_COMMON_HEADERS)

    async def static(request: Request) -> Response:
        data = static_file(request.path_params["name"])
        if data is None:
            return _not_found()
        kind = "text/javascript" if request.path_params["name"].endswith(".js") else "text/css"
        return Response(data, media_type=kind, headers=_COMMON_HEADERS)

    def library_path(request: Request) -> Response:
        url_path: str = request.scope["path"]  # percent-decoded by the server
        if url_path.lower().endswith(".xml"):
            return feed(request, url_path.removeprefix("/"))
        path = library_file(library.root, url_path)
        if path is None:
            return _not_found()
        stat = path.stat()
        response = FileResponse(
            path, media_type=media_type(path.name), stat_result=stat, headers=_COMMON_HEADERS
        )
        if not_modified(request.headers, response.headers["etag"], stat.st_mtime):
            return _not_modified_response(response.headers["etag"], stat.st_mtime)
        return response

    def feed(request: Request, relative: str) -> Response:
        found = pages.get(request_base(request, fallback_base), relative)
        if found is None:
            return _not_found()
        # The page is rendered for the address the client used: the ETag covers exactly
        # these bytes; there is no file date to offer as Last-Modified.
        data, etag = found
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and _etag_matches(if_none_match, etag):
            return Response(status_code=304, headers={"etag": etag, **_COMMON_HEADERS})
        headers = {**_COMMON_HEADERS, "etag": etag}
        return Response(data, media_type="application/rss+xml; charset=utf-8", headers=headers)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/favicon.ico", no_icon),
            Route("/_static/{name}", static),
            Route("/{path:path}", library_path),
        ]
    )


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket, bound now, so a taken port is reported before serving."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ServeError(f"cannot listen on {host}: {exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class LibraryServer:
    """The library's HTTP server, bound on construction.

    ``serve_forever()`` blocks (the CLI); as a context manager it runs in a background thread
    (tests), ready when ``__enter__`` returns.
    """

    def __init__(
        self,
        library: Library,
        *,
        config: Config | None = None,
        host: str = "127.0.0.1",
        port: int = 8000,
        access_log: bool = False,
    ) -> None:
        if not library.root.is_dir():
            raise ServeError(f"library folder {library.root} does not exist")
        self.library = library
        self._socket = _listen(host, port)
        self.host: str = self._socket.getsockname()[0]
        self.port: int = self._socket.getsockname()[1]
        app = create_app(library, config or Config(), fallback_base=self.url)
        settings = uvicorn.Config(
            app,
            lifespan="off",
            access_log=access_log,
            log_level="info" if access_log else "warning",
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(settings)
        self._thread: threading.Thread | None = None

    @property
    def all_interfaces(self) -> bool:
        return self.host in ("0.0.0.0", "::")

    @property
    def url(self) -> str:
        """The server's base URL; for a wildcard bind, its loopback address."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://{_url_host(host)}:{self.port}/"

    def serve_forever(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self.serve_forever, name="serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(f"the server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
