"""A small local ForumMagnum stand-in: a real HTTP server on 127.0.0.1 for tests and the demo.

It answers just enough GraphQL for the ingest stage and a watcher:

- ``post(input: {selector: {_id: …}})`` (old form) and ``post(selector: {_id: …})`` (new form),
  with the id as a variable or an inline string literal; unknown ids give the Apollo
  "app.missing_document" error (HTTP 200, ``data.post: null``), or ``result: null`` when the
  query says ``allowNull: true``; a selector with ``slug`` gives HTTP 400 validation error;
- ``posts(…)``: every post, newest ``postedAt`` first, cut to ``limit: N`` if given.

The stored ``result`` objects are returned whole, whatever fields the query selects. Plain
GET paths serve ``articles`` (HTML pages) and ``redirects``. ``fail_next`` makes the next
requests fail on cue, to exercise retries. The server never logs to stderr.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
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

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Scripted:
    """A canned reply to send instead of the normal one."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


_POST_CALL = re.compile(r"\bpost\s*\(")
_POSTS_CALL = re.compile(r"\bposts\s*\(")
_ID_ARG = re.compile(r"\b(?:_id|documentId)\s*:\s*(?:\$(?P<var>\w+)|\"(?P<literal>[^\"]*)\")")
_SLUG_ARG = re.compile(r"\bslug\s*:")
_ALLOW_NULL = re.compile(r"\ballowNull\s*:\s*true\b")
_LIMIT = re.compile(r"\blimit\s*:\s*(\d+)")


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
    ) -> None:
        """Answer the next ``count`` requests with ``status``, ``headers`` and ``body``.

        E.g. ``fail_next(503, 2)`` then recovery; ``fail_next(429, headers={"Retry-After":
        "1"})``; ``fail_next(200, body="{oops")`` for malformed JSON; ``delay`` (seconds)
        holds the reply back, to provoke a client read timeout.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            for _ in range(count):
                self._scripted.append(_Scripted(status, dict(headers or {}), raw, delay))

    # -- request handling (called from handler threads) -------------------------------------

    def _record(self, request: RecordedRequest) -> _Scripted | None:
        with self._lock:
            self.requests.append(request)
            return self._scripted.pop(0) if self._scripted else None

    def _graphql(self, query: str, variables: Mapping[str, Any]) -> tuple[int, Any]:
        """Answer one GraphQL operation: (HTTP status, JSON reply)."""
        if _POSTS_CALL.search(query):
            return 200, {"data": {"posts": {"results": self._listing(query)}}}
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

    def _listing(self, query: str) -> list[dict[str, Any]]:
        newest_first = sorted(
            self.posts.values(), key=lambda p: str(p.get("postedAt", "")), reverse=True
        )
        limit = _LIMIT.search(query)
        return newest_first[: int(limit.group(1))] if limit else newest_first


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
        request = RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
        scripted = self.forum._record(request)
        if scripted is not None:
            time.sleep(scripted.delay)
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

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


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
