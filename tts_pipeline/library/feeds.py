"""A library's feeds: ``feed.xml`` with every episode and ``feeds/<prefix>.xml`` per forum.

This module says which feeds there are and which episodes each lists (``plan_feeds``: an
SQL selection per feed); :mod:`feed_writer` pages, renders and writes them.

Per-forum feeds exist for every configured forum profile (empty until it has episodes, so
their addresses can be subscribed to at once) and for any other prefix the library holds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from tts_pipeline.config import Config
from tts_pipeline.errors import FeedError
from tts_pipeline.library.feed_items import library_url as library_url  # re-exported
from tts_pipeline.library.state import EpisodeRecord
from tts_pipeline.models import ARTICLE_PREFIX

log = logging.getLogger(__name__)

ALL_FEED = "feed.xml"
FEEDS_DIR = "feeds"
COVER_NAME = "cover.png"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".test", ".example", ".invalid", ".internal")


@dataclass(frozen=True)
class FeedPlan:
    """One feed of the library: where it lives, what it is called, which episodes it lists."""

    path: str  # relative to the library root, with "/": "feed.xml", "feeds/AF.xml"
    title: str
    description: str
    prefix: str | None  # None: every episode

    def selection(self) -> tuple[str, tuple[object, ...]]:
        """Which episodes the feed lists: an SQL condition on ``episodes`` and its values."""
        return ("1", ()) if self.prefix is None else ("episodes.prefix = ?", (self.prefix,))

    @property
    def incremental(self) -> bool:
        """Whether an episode's membership depends on that episode alone (not a top N), so a
        publish need only look at the episodes changed since the last one."""
        return True


def feed_file_name(prefix: str) -> str:
    """``<prefix>.xml`` when the prefix is a safe file name, else a safe, distinct stand-in."""
    if _SAFE_NAME.fullmatch(prefix):
        return f"{prefix}.xml"
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", prefix).strip("_")[:24] or "feed"
    digest = hashlib.sha256(prefix.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable}-{digest}.xml"


def _format_title(template: str, **fields: str) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + f + "}" for f in fields)
        raise FeedError(
            f"the forum_feed_title template {template!r} is invalid ({exc!r}); it may use {allowed}"
        ) from exc


def plan_feeds(config: Config, records: Iterable[EpisodeRecord]) -> list[FeedPlan]:
    """The library's feeds: all episodes first, then one per forum prefix."""
    return plan_feeds_for(config, (record.prefix for record in records))


def plan_feeds_for(config: Config, prefixes: Iterable[str]) -> list[FeedPlan]:
    """``plan_feeds`` from the prefixes the library holds (``Library.prefixes``)."""
    name = config.templates.podcast_name
    plans = [
        FeedPlan(
            ALL_FEED,
            name,
            f"{name}: forum posts from "
            + ", ".join(dict.fromkeys(s.name for s in config.sites))
            + ", narrated with text-to-speech.",
            None,
        )
    ]
    forums: dict[str, tuple[str, str]] = {}  # prefix -> (name in titles, spoken name)
    for site in config.sites:
        # The first profile with a prefix names its feed, unless a later one (a configured
        # mirror after the built-ins) sets feed_name itself.
        if site.prefix not in forums or site.feed_name:
            forums[site.prefix] = (site.feed_name or site.name, site.name)
    for prefix in prefixes:
        if prefix == ARTICLE_PREFIX:
            forums.setdefault(prefix, ("Articles", "around the web"))
        forums.setdefault(prefix, (prefix, prefix))
    taken = {ALL_FEED}
    for prefix, (forum, spoken) in forums.items():
        path = f"{FEEDS_DIR}/{feed_file_name(prefix)}"
        if path in taken:  # a safe prefix spelling out another's stand-in name
            continue
        taken.add(path)
        title = _format_title(
            config.templates.forum_feed_title, podcast_name=name, forum=forum, prefix=prefix
        )
        description = f"{name}: posts from {spoken}, narrated with text-to-speech."
        plans.append(FeedPlan(path, title, description, prefix))
    return plans


def check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedError(f"base URL {base_url!r} must be an absolute http:// or https:// URL")
    return base_url


def is_public_url(url: str) -> bool:
    """False for loopback, private and reserved hosts (a preview server, a test domain)."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a bare intranet name is not a public address
    return address.is_global
