"""A library's feeds: one per channel (``[channels.<name>]``, see ``config.channels``).

The default channels are The Nonlinear Library's: ``feed.xml`` with every episode,
``feeds/<prefix>.xml`` per forum, and per forum its daily and weekly best and its top 400
(``feeds/<prefix>-daily.xml``, ``-weekly.xml``, ``-top.xml``).

This module says which feeds there are and which episodes each lists: ``plan_feeds_for``
plans them from the forums the library holds, and ``FeedPlan.selection`` gives a feed's
episodes as an SQL condition (its channel's rules, or the members ``channel_sql`` picks when
an episode's place depends on others); ``plan_feeds`` also lists them from records
(``channels.select``). :mod:`feed_writer` pages, renders and writes them.

Per-forum feeds exist for every configured forum profile (empty until it has episodes, so
their addresses can be subscribed to at once) and for any other prefix the library holds
(articles only in channels karma does not decide).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tts_pipeline.config import Config
from tts_pipeline.config.channels import Channel
from tts_pipeline.errors import FeedError
from tts_pipeline.library.channel_sql import (
    channel_members,
    lists_by_itself,
    period_moves,
    sql_filter,
    top_moves,
)
from tts_pipeline.library.channels import select
from tts_pipeline.library.feed_items import library_url as library_url  # re-exported
from tts_pipeline.library.state import EpisodeRecord
from tts_pipeline.models import ARTICLE_PREFIX

log = logging.getLogger(__name__)

ALL_FEED = "feed.xml"
FEEDS_DIR = "feeds"
COVER_NAME = "cover.png"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".test", ".example", ".invalid", ".internal")
_MEMBERS_SQL = "episodes.id IN (SELECT value FROM json_each(?))"


@dataclass(frozen=True)
class FeedPlan:
    """One feed of the library: where it lives, what it is called, which episodes it lists."""

    path: str  # relative to the library root, with "/": "feed.xml", "feeds/AF.xml"
    title: str
    description: str
    prefix: str | None  # the forum of a per-forum feed; None: not one forum's
    channel: str = ""  # the [channels.<name>] it comes from
    episodes: tuple[EpisodeRecord, ...] = ()  # what it lists, in its order (``plan_feeds``)
    # Its channel's rules with the forums it lists as prefixes (``channel_sql`` reads them).
    rules: Channel | None = None

    @property
    def by_karma(self) -> bool:
        """Whether karma decides what it lists: a karma update can then drop or add an older
        episode anywhere in it, not only add the newest."""
        return self.rules is not None and self.rules.by_karma

    @property
    def incremental(self) -> bool:
        """Whether an episode's place in the feed depends on that episode alone, so a
        publish need only look at the episodes changed since the last one."""
        return self.rules is None or (lists_by_itself(self.rules) and not self._tagged)

    @property
    def _tagged(self) -> bool:
        return self.rules is not None and bool(self.rules.tags_include or self.rules.tags_exclude)

    def selection(
        self, conn: sqlite3.Connection | None = None, now: datetime | None = None
    ) -> tuple[str, tuple[object, ...]]:
        """Which episodes the feed lists at ``now``: an SQL condition on ``episodes`` and
        its values. A feed whose episodes depend on one another (a daily best, a top N) or
        on tags is its members, picked through ``conn`` (none without one)."""
        if self.rules is None:
            return ("1", ()) if self.prefix is None else ("episodes.prefix = ?", (self.prefix,))
        moment = now or datetime.now(UTC)
        if self.incremental:
            where, values = sql_filter(self.rules, moment)
            return where, tuple(values)
        members = channel_members(conn, self.rules, moment) if conn is not None else []
        return _MEMBERS_SQL, (json.dumps(members),)

    def moves(
        self, conn: sqlite3.Connection, changed: list[str], now: datetime
    ) -> tuple[set[str], set[str]] | None:
        """After the episodes ``changed`` changed: the episodes whose place in the feed may
        have changed, and which of them it lists now, found from as little as it takes (a top
        N through the karma index, a daily or weekly best again only for the periods the
        changes fall in). None when that cannot be told without planning the feed in full
        (tags, a rolling window, a limited period feed, a removed member)."""
        rules = self.rules
        if rules is None or self._tagged or rules.within_days is not None:
            return None
        if rules.period is None:
            return top_moves(conn, rules, self.path, changed, now)
        if rules.limit is not None or rules.order != "newest":
            return None
        return period_moves(conn, rules, self.path, changed, now)


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


def _forum_names(config: Config, prefixes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Every forum prefix with its name in titles and its spoken name: the configured
    profiles', then any other prefix the library holds (a profile since removed, articles)."""
    forums: dict[str, tuple[str, str]] = {}  # prefix -> (name in titles, spoken name)
    for site in config.sites:
        # The first profile with a prefix names its feed, unless a later one (a configured
        # mirror after the built-ins) sets feed_name itself.
        if site.prefix not in forums or site.feed_name:
            forums[site.prefix] = (site.feed_name or site.name, site.name)
    for prefix in dict.fromkeys(prefixes):
        if prefix == ARTICLE_PREFIX:
            forums.setdefault(prefix, ("Articles", "around the web"))
        forums.setdefault(prefix, (prefix, prefix))
    return forums


def plan_feeds(
    config: Config, records: Iterable[EpisodeRecord], now: datetime | None = None
) -> list[FeedPlan]:
    """:func:`plan_feeds_for` the forums of ``records``, each plan with the episodes it
    lists among them (``channels.select`` at ``now``), in its order."""
    records = list(records)
    moment = now or datetime.now(UTC)
    return [
        replace(plan, episodes=tuple(select(plan.rules, records, moment)) if plan.rules else ())
        for plan in plan_feeds_for(config, (r.prefix for r in records))
    ]


def plan_feeds_for(config: Config, prefixes: Iterable[str]) -> list[FeedPlan]:
    """The library's feeds, one per channel (``config.channels``), a per-forum channel one
    per forum prefix (the configured forums' and ``prefixes``, those the library holds).

    A path already taken by an earlier feed is skipped (a safe prefix spelling out another's
    stand-in name), and so are articles in a channel karma decides (they have none).
    """
    forums = _forum_names(config, prefixes)
    plans: list[FeedPlan] = []
    taken: set[str] = set()
    for channel in config.channels:
        named = _named_prefixes(config, channel)
        wanted: list[str | None] = [None]
        if channel.per_forum:  # each forum it names (every forum when it names none)
            wanted = [p for p in forums if not named or p in named]
        for prefix in wanted:
            if prefix == ARTICLE_PREFIX and channel.by_karma:
                continue
            path = channel.path
            if prefix is not None:
                path = path.replace("{prefix}", feed_file_name(prefix).removesuffix(".xml"))
            if path not in taken:
                taken.add(path)
                plans.append(_plan(config, channel, prefix, path, forums))
    return plans


def _named_prefixes(config: Config, channel: Channel) -> set[str]:
    """The prefixes a channel names, by prefix or by forum profile (none: every forum)."""
    return set(channel.prefixes) | {config.site(key).prefix for key in channel.forums}


def _plan(
    config: Config,
    channel: Channel,
    prefix: str | None,
    path: str,
    forums: dict[str, tuple[str, str]],
) -> FeedPlan:
    """One channel's feed (for one forum prefix, or for all the forums it names)."""
    name = config.templates.podcast_name
    site_names = ", ".join(dict.fromkeys(s.name for s in config.sites))
    wanted = _named_prefixes(config, channel) if prefix is None else {prefix}
    if wanted:
        forum = ", ".join(forums[p][0] for p in forums if p in wanted)
        spoken = ", ".join(forums[p][1] for p in forums if p in wanted)
    else:
        forum, spoken = name, site_names
    fields = {"podcast_name": name, "forum": forum, "prefix": prefix or "", "site": spoken,
              "sites": site_names}  # fmt: skip
    if channel.title:
        title = channel.title.format(**fields)
    elif prefix is not None:
        title = _format_title(
            config.templates.forum_feed_title, podcast_name=name, forum=forum, prefix=prefix
        )
    else:
        title = name
    if channel.description:
        description = channel.description.format(**fields)
    elif prefix is not None:
        description = f"{name}: posts from {spoken}, narrated with text-to-speech."
    else:
        description = f"{name}: forum posts from {site_names}, narrated with text-to-speech."
    # No prefixes: every forum. Named ones the library does not hold yet still narrow it.
    ordered = [p for p in forums if p in wanted] + sorted(wanted - forums.keys())
    rules = replace(channel, forums=(), prefixes=tuple(ordered))
    return FeedPlan(path, title, description, prefix, channel.name, (), rules)


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
