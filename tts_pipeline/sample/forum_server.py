"""A small local ForumMagnum stand-in: a real HTTP server on 127.0.0.1 for tests and the demo.

It answers just enough GraphQL for the ingest stage and a watcher:

- ``post(input: {selector: {_id: …}})`` (old form) and ``post(selector: {_id: …})`` (new form),
  with the id as a variable or an inline string literal; unknown ids give the Apollo
  "app.missing_document" error (HTTP 200, ``data.post: null``), or ``result: null`` when the
  query says ``allowNull: true``; a selector with ``slug`` gives HTTP 400 validation error;
- ``posts(…)``: a listing, with the terms of the old form ``posts(input: {terms: …})`` given
  inline or as a variable (``terms: $terms``): ``view`` (``new``/``rss`` newest ``postedAt``
  first, the default; ``old`` oldest first), ``after`` (postedAt >= after) and ``before``
  (postedAt < before), ``karmaThreshold`` (baseScore >= N), ``af`` (only posts with
  ``af: true``), ``excludeEvents`` (drops ``isEvent: true``) and ``limit``. A query without
  terms (e.g. the ``selector`` form) gets every post, newest first, cut to ``limit: N``.

The stored ``result`` objects are returned whole, whatever fields the query selects. Plain
GET paths serve ``articles`` (HTML pages) and ``redirects``. ``fail_next`` makes the next
requests fail on cue, to exercise retries. The server never logs to stderr.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received, for assertions in tests."""

    method: str
    path: str  # path and query
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when it arrived: spacing between requests

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Scripted:
    """A canned reply to send instead of the normal one."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    match: bytes | None = None  # only for a request whose body contains this
    cut_after: int | None = None  # send only this many body bytes, then reset the connection


_POST_CALL = re.compile(r"\bpost\s*\(")
_POSTS_CALL = re.compile(r"\bposts\s*\(")
_ID_ARG = re.compile(r"\b(?:_id|documentId)\s*:\s*(?:\$(?P<var>\w+)|\"(?P<literal>[^\"]*)\")")
_SLUG_ARG = re.compile(r"\bslug\s*:")
_ALLOW_NULL = re.compile(r"\ballowNull\s*:\s*true\b")
_LIMIT = re.compile(r"\blimit\s*:\s*(\d+)")
_TERMS_VARIABLE = re.compile(r"\bterms\s*:\s*\$(\w+)")
_TERMS_INLINE = re.compile(r"\bterms\s*:\s*\{([^{}]*)\}")
_TERM = re.compile(r'(\w+)\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false)')


class ForumServer:
    """Serve ``posts`` (id -> API ``result`` object) over GraphQL on an ephemeral port.

    Use as a context manager; ``base_url``, ``host`` and ``graphql_url`` are valid inside.
    """

    def __init__(
        self,
        posts: Mapping[str, dict[str, Any]],
        articles: Mapping[str, str] | None = None,
        *,
        redirects: Mapping[str, str] | None = None,
    ) -> None:
        self.posts: dict[str, dict[str, Any]] = dict(posts)
        self.articles: dict[str, str] = dict(articles or {})
        self.redirects: dict[str, str] = dict(redirects or {})
        self.requests: list[RecordedRequest] = []
        self._scripted: list[_Scripted] = []
        self._lock = threading.Lock()
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("_BoundHandler", (_Handler,), {"forum": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        # A short poll interval keeps stop() (and so every test using the server) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="forum-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, the value a forum profile's ``hosts`` needs."""
        if self._httpd is None:
            raise RuntimeError("ForumServer is not running; use it as a context manager")
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    # -- misbehaviour on cue -----------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        delay: float = 0.0,
        match: str | None = None,
        cut_after: int | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status``, ``headers`` and ``body``.

        E.g. ``fail_next(503, 2)`` then recovery; ``fail_next(429, headers={"Retry-After":
        "1"})``; ``fail_next(200, body="{oops")`` for malformed JSON; ``delay`` (seconds)
        holds the reply back, to provoke a client read timeout. With ``match``, only requests
        whose body contains that text are answered so (e.g. ``match="GetPost"``: fetches of
        single posts, not listings); others are served normally meanwhile. With ``cut_after``,
        the reply announces the whole body's length but the connection is reset after that
        many body bytes: a connection dropped mid-body.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        needle = match.encode("utf-8") if match is not None else None
        with self._lock:
            for _ in range(count):
                scripted = _Scripted(status, dict(headers or {}), raw, delay, needle, cut_after)
                self._scripted.append(scripted)

    # -- request handling (called from handler threads) -------------------------------------

    def _record(self, request: RecordedRequest) -> _Scripted | None:
        with self._lock:
            self.requests.append(request)
            for index, scripted in enumerate(self._scripted):
                if scripted.match is None or scripted.match in request.body:
                    return self._scripted.pop(index)
            return None

    def _graphql(self, query: str, variables: Mapping[str, Any]) -> tuple[int, Any]:
        """Answer one GraphQL operation: (HTTP status, JSON reply)."""
        if _POSTS_CALL.search(query):
            results = self._listing(_listing_terms(query, variables))
            return 200, {"data": {"posts": {"results": results}}}
        call = _POST_CALL.search(query)
        if call is None:
            return 400, _error("This test server only answers post(…) and posts(…) queries.")
        args = _balanced_args(query, call.end())
        slug = _SLUG_ARG.search(args)
        if slug:
            return 400, _validation_error(query, call.end() + slug.start())
        match = _ID_ARG.search(args)
        post_id = None
        if match:
            post_id = match["literal"] if match["var"] is None else variables.get(match["var"])
        result = self.posts.get(post_id) if isinstance(post_id, str) else None
        if result is not None:
            return 200, {"data": {"post": {"result": result}}}
        if _ALLOW_NULL.search(args):
            return 200, {"data": {"post": {"result": None}}}
        return 200, {
            "errors": [
                {
                    "message": "app.missing_document",
                    "path": ["post"],
                    "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                }
            ],
            "data": {"post": None},
        }

    def _listing(self, terms: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The posts a ForumMagnum view with these terms would list (see the module doc)."""
        posts = list(self.posts.values())
        if "after" in terms:
            posts = [p for p in posts if _posted(p) >= _date(terms["after"])]
        if "before" in terms:
            posts = [p for p in posts if _posted(p) < _date(terms["before"])]
        if terms.get("karmaThreshold") is not None:
            posts = [p for p in posts if p.get("baseScore", 0) >= terms["karmaThreshold"]]
        if terms.get("af"):
            posts = [p for p in posts if p.get("af")]
        if terms.get("excludeEvents"):
            posts = [p for p in posts if not p.get("isEvent")]
        posts.sort(key=_posted, reverse=terms.get("view", "new") != "old")
        limit = terms.get("limit")
        return posts[: int(limit)] if limit is not None else posts


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (e.g. a timeout test) is routine: log, don't print."""
        log.debug("forum server: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    forum: ForumServer  # set on the per-server subclass
    server_version = "ForumServer/1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and the demo own stderr."""

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(length))

    def _handle(self, body: bytes) -> None:
        request = RecordedRequest(
            self.command, self.path, dict(self.headers.items()), body, time.monotonic()
        )
        scripted = self.forum._record(request)
        if scripted is not None:
            time.sleep(scripted.delay)
            if scripted.cut_after is not None:
                self._send_cut(scripted)
                return
            self._send(scripted.status, scripted.body, scripted.headers)
            return
        url = urlsplit(self.path)
        if url.path == "/graphql":
            self._answer_graphql(url.query, body)
        elif url.path in self.forum.redirects:
            self._send(301, b"", {"Location": self.forum.redirects[url.path]})
        elif url.path in self.forum.articles:
            page = self.forum.articles[url.path].encode("utf-8")
            self._send(200, page, {"Content-Type": "text/html; charset=utf-8"})
        else:
            self._send(404, b"Not found", {"Content-Type": "text/plain"})

    def _answer_graphql(self, query_string: str, body: bytes) -> None:
        try:
            if self.command == "POST":
                request = json.loads(body)
            else:
                params = {k: v[0] for k, v in parse_qs(query_string).items()}
                request = {"query": params.get("query", "")}
                request["variables"] = json.loads(params.get("variables") or "{}")
            query = request["query"]
            variables = request.get("variables") or {}
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError("query must be a string and variables an object")
        except (ValueError, KeyError, TypeError) as exc:
            self._send_json(400, _error(f"Bad GraphQL request: {exc}"))
            return
        status, reply = self.forum._graphql(query, variables)
        self._send_json(status, reply)

    def _send_json(self, status: int, reply: Any) -> None:
        payload = json.dumps(reply).encode("utf-8")
        self._send(status, payload, {"Content-Type": "application/json; charset=utf-8"})

    def _send_cut(self, scripted: _Scripted) -> None:
        self.send_response(scripted.status)
        for name, value in scripted.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(scripted.body)))
        self.end_headers()
        self.wfile.write(scripted.body[: scripted.cut_after])
        self.wfile.flush()
        _reset(self.connection)
        self.close_connection = True

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _reset(connection: socket.socket) -> None:
    """Close with an RST rather than a FIN, as a crashed server or a middlebox would."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _balanced_args(query: str, start: int) -> str:
    """The text between the parenthesis that ends at ``start`` and its matching close."""
    depth = 1
    for index in range(start, len(query)):
        if query[index] == "(":
            depth += 1
        elif query[index] == ")":
            depth -= 1
            if depth == 0:
                return query[start:index]
    return query[start:]


def _listing_terms(query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The ``terms`` of a ``posts`` query, from a variable or inline; else just its limit."""
    variable = _TERMS_VARIABLE.search(query)
    if variable:
        value = variables.get(variable.group(1))
        return dict(value) if isinstance(value, dict) else {}
    inline = _TERMS_INLINE.search(query)
    if inline:
        return {key: json.loads(value) for key, value in _TERM.findall(inline.group(1))}
    limit = _LIMIT.search(query)
    return {"limit": int(limit.group(1))} if limit else {}


def _date(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _posted(post: Mapping[str, Any]) -> datetime:
    return _date(post.get("postedAt") or "1970-01-01T00:00:00Z")


def _error(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}


def _validation_error(query: str, offset: int) -> dict[str, Any]:
    """Apollo's reply to a selector with ``slug``: HTTP 400 and no ``data`` key."""
    line = query.count("\n", 0, offset) + 1
    column = offset - (query.rfind("\n", 0, offset) + 1) + 1
    message = 'Field "slug" is not defined by type "SelectorInput".'
    return {
        "errors": [
            {
                "message": message,
                "locations": [{"line": line, "column": column}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }
