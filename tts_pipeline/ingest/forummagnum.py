"""Fetch one post from a ForumMagnum site (AF, LessWrong, EA Forum) through its GraphQL API.

Authors: the primary author's ``displayName`` (else ``username``), then co-authors, with
underscores read as spaces (Nonlinear Library convention) and duplicates dropped. A post whose
author is hidden (``hideAuthor``) or missing (``user: null``, a deleted account) gets the
primary author ``"Anonymous"``: ForumMagnum's own RSS writes ``[anonymous]``, but brackets
read badly in the spoken intro.

URL: ``pageUrl`` as the server gives it (it carries the host of the endpoint queried, so a
LessWrong endpoint yields lesswrong.com links even for AF posts). A relative ``pageUrl`` is
joined to the endpoint's origin; a missing one is built as ``<origin>/posts/<id>/<slug>``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from tts_pipeline.errors import IngestError, PostNotFoundError
from tts_pipeline.models import Post, PostRef
from tts_pipeline.net.http import HttpClient

log = logging.getLogger(__name__)

ANONYMOUS = "Anonymous"

POST_FIELDS = (
    "_id title slug pageUrl postedAt htmlBody contents { html wordCount }"
    " user { displayName username } coauthors { displayName username } hideAuthor"
    " baseScore tags { name slug }"
)
# The deprecated ``input`` form is what every known client uses and what production answered
# on record; the ``selector`` form is newer and kept behind a switch until seen live.
QUERIES: dict[str, str] = {
    "input": (
        "query GetPost($id: String) {\n"
        "  post(input: {selector: {_id: $id}}) {\n"
        f"    result {{ {POST_FIELDS} }}\n"
        "  }\n"
        "}"
    ),
    "selector": (
        "query GetPost($id: String) {\n"
        "  post(selector: {_id: $id}, allowNull: true) {\n"
        f"    result {{ {POST_FIELDS} }}\n"
        "  }\n"
        "}"
    ),
}

# Resolver error ids (ForumMagnum puts them in ``message``), mapped as GreaterWrong does.
_NOT_FOUND_MARKERS = ("app.missing_document", "document_not_found")
_NOT_ALLOWED_MARKER = "not_allowed"
_LOGIN_MARKER = "only visible to logged-in users"


def fetch_forummagnum(
    ref: PostRef,
    http: HttpClient,
    *,
    selector_form: Literal["input", "selector"] = "input",
) -> Post:
    """Fetch the post ``ref`` names from its site's GraphQL endpoint and map it to a Post."""
    site = ref.site
    endpoint = site.graphql
    where = f"post {ref.post_id} on {site.name} ({urlsplit(endpoint).netloc})"
    payload = {"query": QUERIES[selector_form], "variables": {"id": ref.post_id}}
    status, body = http.post_json(endpoint, payload)
    if not isinstance(body, dict):
        raise IngestError(f"unexpected reply for {where}: not a JSON object", url=ref.url)

    result = _result(body)
    errors = body.get("errors")
    if errors:
        messages = _messages(errors)
        joined = " | ".join(messages).lower()
        if any(marker in joined for marker in _NOT_FOUND_MARKERS):
            raise PostNotFoundError(f"{where} was not found", url=ref.url)
        if _LOGIN_MARKER in joined:
            raise IngestError(f"{where} is only visible to logged-in users", url=ref.url)
        if _NOT_ALLOWED_MARKER in joined:
            raise IngestError(f"{where}: not allowed ({messages[0]})", url=ref.url)
        if not isinstance(result, dict):
            # Validation errors (HTTP 400, no ``data``) land here; quote the server, since
            # "not found" would be a lie (e.g. a slug selector is simply not supported).
            raise IngestError(
                f"{where}: the server refused the query (HTTP {status}): {messages[0]}",
                url=ref.url,
            )
        # Apollo can return data plus errors from a single field; the post itself is usable.
        log.warning("%s: server reported errors alongside the post: %s", where, messages[0])
    elif status != 200:
        raise IngestError(f"HTTP {status} from {endpoint} for {where}", url=ref.url)

    if result is None:
        raise PostNotFoundError(f"{where} was not found", url=ref.url)
    if not isinstance(result, dict):
        raise IngestError(f"unexpected reply for {where}: no post object", url=ref.url)
    return _to_post(result, ref, where)


def _result(body: dict[str, Any]) -> Any:
    """``data.post.result`` if the reply has that shape, else None (also for ``data: null``)."""
    data = body.get("data")
    post = data.get("post") if isinstance(data, dict) else None
    return post.get("result") if isinstance(post, dict) else None


def _messages(errors: Any) -> list[str]:
    """Each error's message, one line each; never empty, so callers can quote ``[0]``."""
    items = errors if isinstance(errors, list) else [errors]
    messages = []
    for item in items:
        text = item.get("message") if isinstance(item, dict) else item
        if text:
            messages.append(" ".join(str(text).split())[:300])
    return messages or ["(no message)"]


def _to_post(result: dict[str, Any], ref: PostRef, where: str) -> Post:
    site = ref.site
    title = result.get("title")
    if not isinstance(title, str) or not title.strip():
        raise IngestError(f"unexpected reply for {where}: the post has no title", url=ref.url)
    post_id = result.get("_id") if isinstance(result.get("_id"), str) else ref.post_id
    return Post(
        id=str(post_id),
        title=title.strip(),  # real titles carry stray spaces and newlines
        authors=_authors(result),
        published=_published(result.get("postedAt"), where, ref.url),
        url=_page_url(result, site.graphql, str(post_id)),
        html=_body_html(result),
        site_name=site.name,
        prefix=site.prefix,
        karma=_karma(result.get("baseScore")),
        tags=_tags(result.get("tags")),
    )


def _authors(result: dict[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    user = result.get("user")
    if result.get("hideAuthor") or not isinstance(user, dict):
        names.append(ANONYMOUS)
    else:
        names.append(_display_name(user) or ANONYMOUS)
    coauthors = result.get("coauthors")
    for coauthor in coauthors if isinstance(coauthors, list) else []:
        name = _display_name(coauthor) if isinstance(coauthor, dict) else ""
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _display_name(user: dict[str, Any]) -> str:
    for key in ("displayName", "username"):
        value = user.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.replace("_", " ").split())
    return ""


def _karma(value: Any) -> float | None:
    """``baseScore`` as a number; None when the reply has none (channels then rank it last)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _tags(value: Any) -> tuple[str, ...]:
    """Tag names (else slugs), read as the listing reads them, each once."""
    names: list[str] = []
    for tag in value if isinstance(value, list) else []:
        for key in ("name", "slug"):
            text = tag.get(key) if isinstance(tag, dict) else None
            if isinstance(text, str) and text.strip():
                names.append(" ".join(text.replace("_", " ").split()))
                break
    return tuple(dict.fromkeys(names))


def _published(value: Any, where: str, url: str) -> datetime:
    if not isinstance(value, str):
        raise IngestError(f"unexpected reply for {where}: no postedAt date", url=url)
    try:
        moment = datetime.fromisoformat(value.strip())  # 3.11 reads the trailing "Z"
    except ValueError as exc:
        raise IngestError(f"unexpected reply for {where}: bad postedAt {value!r}", url=url) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # ForumMagnum dates are UTC
    return moment.astimezone(UTC)


def _page_url(result: dict[str, Any], endpoint: str, post_id: str) -> str:
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}/"
    page = result.get("pageUrl")
    if isinstance(page, str) and page.strip():
        return urljoin(origin, page.strip())
    slug = result.get("slug")
    suffix = f"/{slug}" if isinstance(slug, str) and slug else ""
    return urljoin(origin, f"posts/{post_id}{suffix}")


def _body_html(result: dict[str, Any]) -> str:
    """``htmlBody`` if present, else ``contents.html``; "" for a post with no body at all.

    An empty body is left for the clean stage to reject: it knows the minimum length.
    """
    body = result.get("htmlBody")
    if isinstance(body, str) and body.strip():
        return body
    contents = result.get("contents")
    html = contents.get("html") if isinstance(contents, dict) else None
    return html if isinstance(html, str) else ""
