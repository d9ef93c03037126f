"""The ``[channels.<name>]`` config tables: which feeds a library has, and what each lists.

A channel is data: which episodes (forums or prefixes, minimum karma, tags included and
excluded, a date range), in which order (``newest`` or ``karma``), how many (``limit``), and
an optional period rule, the best post per day or per week by karma in a time zone. With
``per_forum = true`` a channel becomes one feed per forum (``{prefix}`` in its path). The
defaults are The Nonlinear Library's set::

    [channels.all]       # feed.xml: every episode, newest first
    [channels.forum]     # feeds/<prefix>.xml: one per forum
    [channels.daily]     # feeds/<prefix>-daily.xml: each day's best post by karma
    [channels.weekly]    # feeds/<prefix>-weekly.xml: each week's best post by karma
    [channels.top]       # feeds/<prefix>-top.xml: the 400 highest-karma posts

A table naming a default changes only the keys it sets (``enabled = false`` drops it); any
other name adds a channel. This module depends on nothing but the error tree and ``watch``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, replace
from typing import Any

from tts_pipeline.config.watch import name_key, parse_date
from tts_pipeline.errors import ConfigError

ORDERS = ("newest", "karma")
PERIODS = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Fields a title or description may use; a per-forum channel's path may use {prefix}.
TEMPLATE_FIELDS = ("podcast_name", "forum", "prefix", "site", "sites")
# feed.xml or a file under feeds/: where publishing looks for the feeds that make files public.
_PATH = re.compile(r"feed\.xml|feeds/(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_{}-]+\.xml")


@dataclass(frozen=True)
class Channel:
    """One ``[channels.<name>]`` table, validated (templates not yet filled in)."""

    name: str
    path: str  # relative to the library; "{prefix}" is the forum's (per_forum) file stem
    title: str = ""  # str.format template; "" = the podcast name, or [templates]
    # forum_feed_title for a per-forum channel
    description: str = ""  # "" = "<podcast>: posts from <forum>, narrated ..."
    per_forum: bool = False  # one feed per forum prefix
    forums: tuple[str, ...] = ()  # forum profile keys; with ``prefixes`` empty: every forum
    prefixes: tuple[str, ...] = ()  # episode prefixes ("WEB" for articles)
    min_karma: float | None = None
    tags_include: frozenset[str] = frozenset()  # normalised with ``name_key``
    tags_exclude: frozenset[str] = frozenset()
    since: dt.datetime | None = None  # posts published at or after
    until: dt.datetime | None = None  # posts published before
    within_days: float | None = None  # posts published in the last N days
    order: str = "newest"
    period: str | None = None  # "daily" | "weekly": the best post of each
    timezone: str = "UTC"  # where a day (or week) begins and ends
    week_start: int = 0  # 0 = Monday
    limit: int | None = None
    enabled: bool = True

    @property
    def by_karma(self) -> bool:
        """Whether karma decides what it lists (so a karma update can change it)."""
        return self.order == "karma" or self.period is not None or self.min_karma is not None

    @property
    def zone(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo(self.timezone)


DEFAULT_CHANNELS: tuple[Channel, ...] = (
    Channel("all", "feed.xml"),
    Channel("forum", "feeds/{prefix}.xml", per_forum=True),
    Channel(
        "daily",
        "feeds/{prefix}-daily.xml",
        title="{podcast_name}: {forum} Daily",
        description="{podcast_name}: the day's best post from {site} by karma, narrated"
        " with text-to-speech.",
        per_forum=True,
        period="daily",
    ),
    Channel(
        "weekly",
        "feeds/{prefix}-weekly.xml",
        title="{podcast_name}: {forum} Weekly",
        description="{podcast_name}: the week's best post from {site} by karma, narrated"
        " with text-to-speech.",
        per_forum=True,
        period="weekly",
    ),
    Channel(
        "top",
        "feeds/{prefix}-top.xml",
        title="{podcast_name}: {forum} Top Posts",
        description="{podcast_name}: the 400 highest-karma posts of all time from {site},"
        " narrated with text-to-speech.",
        per_forum=True,
        order="karma",
        limit=400,
    ),
)

# key -> (kind, what it must be, for the error line)
_KEYS: dict[str, tuple[str, str]] = {
    "path": ("path", "feed.xml or a path under feeds/ ending in .xml, such as feeds/best.xml"),
    "title": ("template", "a string (fields: {podcast_name} {forum} {prefix} {site} {sites})"),
    "description": (
        "template",
        "a string (fields: {podcast_name} {forum} {prefix} {site} {sites})",
    ),
    "per_forum": ("bool", "true or false"),
    "forums": ("forums", "a list of forum profile keys"),
    "prefixes": ("strings", 'a list of episode prefixes such as "AF" or "WEB"'),
    "min_karma": ("number", "a number"),
    "tags_include": ("names", "a list of tag names"),
    "tags_exclude": ("names", "a list of tag names"),
    "since": ("date", "a date such as 2024-01-31"),
    "until": ("date", "a date such as 2024-01-31"),
    "within_days": ("positive", "a number above 0"),
    "order": ("order", f"one of {', '.join(ORDERS)}"),
    "period": ("period", f"one of {', '.join(PERIODS)}"),
    "timezone": ("zone", "a time zone name such as UTC or America/Los_Angeles"),
    "week_start": ("weekday", "a day name such as monday"),
    "limit": ("count", "a whole number, 1 or more"),
    "enabled": ("bool", "true or false"),
}


def parse_channels(raw: Any, where: str, forum_keys: list[str]) -> tuple[Channel, ...]:
    """The defaults, changed and extended by a ``[channels]`` table; ConfigError (one line
    naming the table and key) on anything unreadable."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [channels] must be a table of [channels.<name>] tables")
    channels = {c.name: c for c in DEFAULT_CHANNELS}
    for name, table in raw.items():
        here = f"{where}: [channels.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{here} must be a table")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name):
            raise ConfigError(f"{here}: a channel name is letters, digits, - and _")
        base = channels.get(name) or Channel(name, f"feeds/{name}.xml")
        changes = {key: _value(key, value, here, forum_keys) for key, value in table.items()}
        channels[name] = _checked(replace(base, **changes), here)
    enabled = [c for c in channels.values() if c.enabled]
    paths: dict[str, str] = {}
    for channel in enabled:
        if channel.path in paths:
            raise ConfigError(
                f"{where}: [channels.{channel.name}] path {channel.path} is already"
                f" [channels.{paths[channel.path]}]'s"
            )
        paths[channel.path] = channel.name
    return tuple(enabled)


def _checked(channel: Channel, here: str) -> Channel:
    if channel.per_forum and "{prefix}" not in channel.path:
        raise ConfigError(f"{here}: per_forum needs {{prefix}} in path (got {channel.path})")
    if not channel.per_forum and "{" in channel.path:
        raise ConfigError(f"{here}: path {channel.path} may use {{prefix}} only with per_forum")
    if "{" in channel.path.replace("{prefix}", "") or "}" in channel.path.replace("{prefix}", ""):
        raise ConfigError(f"{here}: path {channel.path} may use no field but {{prefix}}")
    if channel.since and channel.until and channel.since >= channel.until:
        raise ConfigError(f"{here}: since must be before until")
    return channel


def _value(key: str, value: Any, here: str, forum_keys: list[str]) -> Any:
    if key not in _KEYS:
        known = ", ".join(_KEYS)
        raise ConfigError(f"{here} has an unknown key: {key} (known: {known})")
    kind, description = _KEYS[key]
    try:
        return _convert(kind, value, forum_keys)
    except (ValueError, TypeError) as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise ConfigError(f"{here} {key} must be {description}{detail}") from None


def _convert(kind: str, value: Any, forum_keys: list[str]) -> Any:
    """``value`` as ``kind``; ValueError (with a detail, or none) if it is not one."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    strings = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "number" and number:
        return float(value)
    if kind == "positive" and number and value > 0:
        return float(value)
    if kind == "count" and isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if kind == "names" and strings:
        return frozenset(name_key(v) for v in value if v.strip())
    if kind == "date":
        return parse_date(value)
    if kind in ("forums", "strings") and strings:
        unknown = [v for v in value if v not in forum_keys] if kind == "forums" else []
        if unknown:
            raise ValueError(f"no forum profile {unknown[0]!r}; known: {', '.join(forum_keys)}")
        return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if kind in ("order", "period") and isinstance(value, str):
        allowed = ORDERS if kind == "order" else PERIODS
        if value.strip().lower() in allowed:
            return value.strip().lower()
    if kind == "weekday" and isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower())
    if kind == "zone" and isinstance(value, str) and value.strip():
        try:
            zoneinfo.ZoneInfo(value.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder
            raise ValueError(f"no time zone {value.strip()!r}") from None
        return value.strip()
    if kind == "path" and isinstance(value, str) and _PATH.fullmatch(value.strip()):
        return value.strip()
    if kind == "template" and isinstance(value, str):
        fields = dict.fromkeys(TEMPLATE_FIELDS, "x")
        try:
            value.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{value!r} does not fill in: {exc!r}") from None
        return value
    raise ValueError
