"""The one wrapper around ``requests``: polite, bounded HTTP with readable failures.

Everything the ingest stage fetches goes through :class:`HttpClient`, so this is the only
module that knows about requests/urllib3 exceptions; each becomes an :class:`IngestError`
whose message is one line naming the host or URL.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    InvalidHeader,
    MaxRetryError,
    NameResolutionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry

from tts_pipeline import __version__
from tts_pipeline.config import Config
from tts_pipeline.errors import IngestError, ResponseCutError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
# Reply types get_text accepts: pages and feeds, not PDFs, images or audio.
_TEXT_TYPE = re.compile(r"^(text/|application/(xhtml\+xml|xml|json|[\w.+-]+\+xml)$)")
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)

# urllib3 clamps a long Retry-After to retry_after_max and then sleeps that long; this
# instance, with an effectively unlimited cap, is only used to read the real requested wait.
_RETRY_AFTER_READER = Retry(retry_after_max=2**31)


def default_user_agent(contact: str) -> str:
    """A descriptive User-Agent; ForumMagnum endpoints refuse anonymous clients."""
    return f"tts-pipeline/{__version__} (+{contact})"


def requested_wait(response_headers: Any) -> float | None:
    """The wait a Retry-After header asks for, in seconds (None if absent or unreadable)."""
    value = response_headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, _RETRY_AFTER_READER.parse_retry_after(str(value)))
    except InvalidHeader:
        return None


class _BoundedRetry(Retry):
    """A Retry that gives up on a Retry-After beyond ``retry_after_max`` instead of obeying it.

    Stock urllib3 would sleep for the clamped maximum; a hostile or confused server could then
    stall a batch for minutes. Giving up returns the 429/503 reply to HttpClient, which turns
    it into a clear error.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        if response is not None:
            wait = requested_wait(response.headers)
            if wait is not None and wait > self.retry_after_max:
                reason = ResponseError(f"Retry-After {wait:.0f} s exceeds {self.retry_after_max} s")
                raise MaxRetryError(_pool, url, reason)
        return super().increment(method, url, response, error, _pool, _stacktrace)


DEFAULT_TIMEOUT = (5.0, 30.0)  # seconds to connect, and between bytes of the reply


class HttpClient:
    """One ``requests.Session`` with timeouts, retries, a size cap and a User-Agent.

    ``min_interval`` spaces requests to the same host (ForumMagnum asks for a crawl delay of
    3 s); 0 disables it. The client can be shared between threads for sequential-ish use.
    """

    def __init__(
        self,
        user_agent: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 4,
        backoff_factor: float = 0.5,
        max_bytes: int = 20_000_000,
        retry_after_max: float = 120.0,
        min_interval: float = 0.0,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.max_bytes = max_bytes
        self.retry_after_max = retry_after_max
        self.min_interval = min_interval
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()
        retry = _BoundedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            # requests follows redirects itself (bounded by max_redirects below).
            redirect=False,
            # GraphQL reads are POSTs and are safe to repeat.
            allowed_methods=frozenset({"GET", "HEAD", "POST"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=backoff_factor,
            respect_retry_after_header=True,
            # Hand the last bad reply back to us rather than raising, so we can say what it was.
            raise_on_status=False,
            retry_after_max=math.ceil(retry_after_max),
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.max_redirects = MAX_REDIRECTS
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post_json(self, url: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """POST ``payload`` as JSON; return (status, parsed body).

        4xx replies that carry JSON are returned, not raised: GraphQL validation errors come
        as HTTP 400 with an ``errors`` list the caller wants to quote.
        """
        body = json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}

        def attempt() -> tuple[int, bytes]:
            with self._request("POST", url, data=body, headers=headers) as response:
                return response.status_code, self._read_capped(response, url)

        status, raw = self._again_if_cut(attempt, url)
        try:
            parsed = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            if status >= 400:
                raise IngestError(f"HTTP {status} from {url}", url=url) from None
            raise IngestError(f"{url} did not answer with valid JSON", url=url) from None
        if status >= 500:
            raise IngestError(f"HTTP {status} from {url}", url=url)
        return status, parsed

    def get_text(self, url: str) -> tuple[str, str]:
        """GET a text page; return (decoded text, final URL after redirects)."""

        def attempt() -> tuple[str, str]:
            with self._request("GET", url) as response:
                if response.status_code >= 400:
                    raise IngestError(f"HTTP {response.status_code} from {url}", url=url)
                ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if ctype and not _TEXT_TYPE.match(ctype):
                    raise IngestError(f"{url} is not a web page (it is {ctype})", url=url)
                raw = self._read_capped(response, url)
                return _decode(raw, response.headers.get("Content-Type", "")), response.url

        return self._again_if_cut(attempt, url)

    def download(self, url: str, sink: Callable[[bytes], object], *, max_bytes: int) -> int:
        """GET ``url`` and hand its body to ``sink`` piece by piece (for files too large to
        hold, such as voice models); return the byte count. IngestError on HTTP >= 400 or a
        body over ``max_bytes``."""
        with self._request("GET", url) as response:
            if response.status_code >= 400:
                raise IngestError(f"HTTP {response.status_code} from {url}", url=url)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise IngestError(f"{url} is too large ({int(declared)} bytes)", url=url)
            size = 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise IngestError(
                            f"{url} is too large (more than {max_bytes} bytes)", url=url
                        )
                    sink(chunk)
            except requests.RequestException as exc:
                raise IngestError(self._describe(exc, url), url=url) from exc
            return size

    # -- internals -------------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request (with retries); return the streamed, not yet read response."""
        host = _check_url(url)
        self._wait_turn(host)
        try:
            response = self.session.request(
                method, url, timeout=self.timeout, stream=True, allow_redirects=True, **kwargs
            )
        except requests.RequestException as exc:
            raise IngestError(self._describe(exc, url), url=url) from exc
        if response.status_code in RETRY_STATUSES:
            message = self._give_up_message(response, url)
            response.close()
            raise IngestError(message, url=url)
        return response

    def _again_if_cut(self, attempt: Callable[[], _T], url: str) -> _T:
        """Run ``attempt``, repeating the whole request when the connection breaks mid-reply.

        urllib3 retries failures up to the response headers; a reset while the body streams
        happens after that, in our read, so it is retried here on the same budget.
        """
        for n in range(self.retries + 1):
            try:
                return attempt()
            except ResponseCutError as exc:
                if n == self.retries:
                    raise IngestError(f"{exc} ({n + 1} attempts)", url=url) from exc
                log.info("%s; asking again", exc)
                time.sleep(self.backoff_factor * 2**n)
        raise AssertionError("unreachable")

    def _give_up_message(self, response: requests.Response, url: str) -> str:
        status = response.status_code
        wait = requested_wait(response.headers)
        if wait is not None and wait > self.retry_after_max:
            return (
                f"HTTP {status} from {url}: the server asked us to wait {wait:.0f} s,"
                f" more than the {self.retry_after_max:g} s we allow; try again later"
            )
        history = getattr(getattr(response.raw, "retries", None), "history", ())
        tries = len(history) if history else self.retries
        return f"HTTP {status} from {url} after {tries} retries"

    def _read_capped(self, response: requests.Response, url: str) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise IngestError(f"{url} is too large ({int(declared)} bytes)", url=url)
        parts: list[bytes] = []
        size = 0
        try:
            # iter_content decompresses, so the cap also bounds a gzip bomb's output.
            chunks: Iterator[bytes] = response.iter_content(_CHUNK)
            for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise IngestError(
                        f"{url} is too large (more than {self.max_bytes} bytes)", url=url
                    )
                parts.append(chunk)
        except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
            raise ResponseCutError(self._describe(exc, url), url=url) from exc
        except requests.RequestException as exc:
            raise IngestError(self._describe(exc, url), url=url) from exc
        return b"".join(parts)

    def _wait_turn(self, host: str) -> None:
        if self.min_interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._last_request.get(host, -math.inf) + self.min_interval)
            self._last_request[host] = slot  # reserve it so concurrent callers queue up
        if slot > now:
            time.sleep(slot - now)

    def _describe(self, exc: BaseException, url: str) -> str:
        """One readable line for a requests/urllib3 failure."""
        host = urlsplit(url).netloc or url
        causes = list(_causes(exc))
        connect_s, read_s = self.timeout
        if isinstance(exc, requests.ConnectTimeout):
            return f"cannot reach {host}: no connection within {connect_s:g} s"
        if any(isinstance(c, requests.ReadTimeout | ReadTimeoutError) for c in causes):
            return f"{host} did not answer within {read_s:g} s"
        if isinstance(exc, requests.TooManyRedirects):
            return f"{url} redirected more than {MAX_REDIRECTS} times"
        if isinstance(exc, requests.exceptions.SSLError):
            return f"cannot reach {host}: TLS/SSL error ({_last_words(causes)})"
        if isinstance(exc, requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema):
            # The original URL was checked up front, so only a redirect can get here.
            return f"cannot fetch {url}: it redirects to a URL that is not http or https"
        if isinstance(exc, requests.exceptions.InvalidURL):
            return f"cannot fetch {url}: malformed URL"
        for cause in causes:
            if isinstance(cause, NameResolutionError):
                return f"cannot reach {host}: host name not found"
            if isinstance(cause, ConnectionRefusedError):
                return f"cannot reach {host}: connection refused"
            if isinstance(cause, ConnectionResetError):
                return f"connection to {host} was reset"
        if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.ConnectionError):
            if any(isinstance(c, ProtocolError) for c in causes):
                return f"{host} closed the connection unexpectedly"
            return f"cannot reach {host}: {_last_words(causes)}"
        if isinstance(exc, requests.exceptions.ContentDecodingError):
            return f"{host} sent a reply that could not be decompressed"
        return f"request to {url} failed: {_last_words(causes)}"


def _check_url(url: str) -> str:
    """Refuse anything but absolute http(s) URLs before requests sees them; return the host."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise IngestError(f"malformed URL {url!r}", url=url) from exc
    if parts.scheme not in ("http", "https"):
        scheme = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise IngestError(
            f"cannot fetch {url!r} ({scheme}): only http and https URLs are supported", url=url
        )
    if not parts.hostname:
        raise IngestError(f"malformed URL {url!r}: no host", url=url)
    return parts.netloc.lower()


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (args, ``reason``, ``__cause__``, ``__context__``).

    requests buries the useful part (e.g. ConnectionRefusedError) a few levels down, inside
    MaxRetryError.reason and NewConnectionError.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner: list[Any] = [*current.args, getattr(current, "reason", None)]
        inner += [current.__cause__, current.__context__]
        stack.extend(x for x in inner if isinstance(x, BaseException))


def _last_words(causes: list[BaseException]) -> str:
    """The innermost cause's message, squeezed to one line."""
    text = str(causes[-1]) if causes else "unknown error"
    text = " ".join(text.split())
    return text[:200] or type(causes[-1]).__name__


def _decode(raw: bytes, content_type: str) -> str:
    """Decode with the header charset, else a <meta charset> in the page, else UTF-8."""
    for source in (content_type.encode("latin-1", "replace"), raw[:4096]):
        match = _CHARSET.search(source)
        if match:
            try:
                return raw.decode(match.group(1).decode("ascii"), errors="replace")
            except LookupError:
                continue  # unknown codec name: try the next hint
    return raw.decode("utf-8", errors="replace")


def http_client(
    config: Config, *, timeout: tuple[float, float] | None = None, forum: bool = True
) -> HttpClient:
    """The client every command uses, set up from the config: our User-Agent and its retries;
    for a ``forum``, the pause between requests its crawlers are asked for; ``timeout``
    (connect, read) when not the usual."""
    return HttpClient(
        default_user_agent(config.user_agent_contact),
        timeout=timeout or DEFAULT_TIMEOUT,
        retries=config.http_retries,
        min_interval=config.request_interval_s if forum else 0.0,
    )
