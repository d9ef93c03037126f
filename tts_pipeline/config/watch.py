"""The ``[watch]`` config section: which forums to watch and each forum's rules.

```toml
[watch]
forums = ["af", "lw", "ea"]   # forum profile keys, in order of precedence for cross-posts
lookback_days = 7             # first run, and how far back karma is re-checked
max_attempts = 5              # a failing post is given up after this many tries
retry_base_s = 600            # backoff: base * 2**(failures - 1), capped at retry_max_s
min_words = 50                # rule keys here apply to every forum ...
authors_opt_out = ["Someone Who Asked Not To Be Narrated"]

[watch.lw]                    # ... and a [watch.<key>] table overrides them for one forum
min_karma = 30
tags_exclude = ["Site Meta"]
```

Karma thresholds default to The Nonlinear Library's: 2 for the AI Alignment Forum, 30 for
LessWrong and the EA Forum (chosen by the site's prefix, so a mirror inherits them), 0 for
any other forum. This module depends on nothing but the error tree: ``config`` imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tts_pipeline.errors import ConfigError

DEFAULT_KARMA_BY_PREFIX: Mapping[str, int] = {"AF": 2, "LW": 30, "EA": 30}
DEFAULT_FORUMS = ("af", "lw", "ea")


@dataclass(frozen=True)
class ForumRules:
    """What a listed post must satisfy on one forum to be narrated."""

    min_karma: int = 0
    min_words: int = 50  # The Nonlinear Library skipped bodies of 250 characters or fewer
    authors_opt_out: frozenset[str] = frozenset()  # normalised with ``name_key``
    tags_include: frozenset[str] = frozenset()  # empty: no tag required
    tags_exclude: frozenset[str] = frozenset()
    max_posts: int = 10  # conversions per run on this forum
    earliest: dt.datetime | None = None  # never narrate posts older than this
    renarrate_edits: bool = False  # re-narrate a done post when its body changes
    af_only: bool = False  # ask for Alignment Forum posts only (``af: true``)
    # Verification by ear (turned on for the watcher's conversions when either is set): hold
    # an episode back, unpublished, if a chunk stays flagged or its word error rate is above.
    hold_flagged: bool = False
    hold_wer_above: float | None = None

    def start(self, since: dt.datetime) -> dt.datetime:
        """Where a listing from ``since`` begins: never before ``earliest``."""
        return since if self.earliest is None else max(since, self.earliest)


@dataclass(frozen=True)
class WatchSettings:
    forums: tuple[str, ...] = DEFAULT_FORUMS
    lookback_days: float = 7.0
    page_size: int = 50
    max_pages: int = 20  # a listing never pages further back than this many pages
    max_attempts: int = 5
    retry_base_s: float = 600.0
    retry_max_s: float = 6 * 3600.0
    request_timeout_s: float = 30.0
    # Validated rule values from [watch] (every forum) and [watch.<key>] (one forum).
    common: Mapping[str, Any] = field(default_factory=dict, hash=False)
    per_forum: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def rules(self, key: str, prefix: str) -> ForumRules:
        """The rules for forum ``key`` (whose episode prefix is ``prefix``)."""
        base = ForumRules(min_karma=DEFAULT_KARMA_BY_PREFIX.get(prefix.upper(), 0))
        return replace(base, **{**self.common, **self.per_forum.get(key, {})})

    def backoff_s(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (exponential, capped)."""
        if failures < 1:
            return 0.0
        return min(self.retry_max_s, self.retry_base_s * 2.0 ** min(failures - 1, 30))


def name_key(name: str) -> str:
    """How author names and tags are compared: case-folded, ``_`` as a space, one space."""
    return " ".join(name.replace("_", " ").split()).casefold()


# Rule keys, usable in [watch] and [watch.<key>]: name -> (kind, description for errors).
_RULES: dict[str, tuple[str, str]] = {
    "min_karma": ("int", "a whole number"),
    "min_words": ("int0", "a whole number, 0 or more"),
    "authors_opt_out": ("names", "a list of strings"),
    "tags_include": ("names", "a list of strings"),
    "tags_exclude": ("names", "a list of strings"),
    "max_posts": ("int1", "a whole number, 1 or more"),
    "earliest": ("date", "a date such as 2024-01-31"),
    "renarrate_edits": ("bool", "true or false"),
    "af_only": ("bool", "true or false"),
    "hold_flagged": ("bool", "true or false"),
    "hold_wer_above": ("pos", "a number above 0"),
}
_GLOBALS: dict[str, tuple[str, str]] = {
    "lookback_days": ("pos", "a number above 0"),
    "page_size": ("int1", "a whole number, 1 or more"),
    "max_pages": ("int1", "a whole number, 1 or more"),
    "max_attempts": ("int1", "a whole number, 1 or more"),
    "retry_base_s": ("num0", "a number, 0 or more"),
    "retry_max_s": ("num0", "a number, 0 or more"),
    "request_timeout_s": ("pos", "a number above 0"),
}


def parse_watch(raw: Any, where: str, forum_keys: list[str]) -> WatchSettings:
    """Validate a ``[watch]`` table; ``forum_keys`` are the known forum profiles."""
    if raw is None:
        return WatchSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [watch] must be a table")
    updates: dict[str, Any] = {}
    common: dict[str, Any] = {}
    per_forum: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            if name not in forum_keys:
                raise ConfigError(
                    f"{where}: [watch.{name}] names no forum profile"
                    f" (known: {', '.join(forum_keys)})"
                )
            per_forum[name] = _rule_table(value, f"{where}: [watch.{name}]")
        elif name == "forums":
            updates["forums"] = _forums(value, where, forum_keys)
        elif name in _GLOBALS:
            updates[name] = _value(value, *_GLOBALS[name], f"{where}: [watch] {name}")
        elif name in _RULES:
            common[name] = _value(value, *_RULES[name], f"{where}: [watch] {name}")
        else:
            raise ConfigError(f"{where}: [watch] has an unknown key: {name}")
    return replace(WatchSettings(), common=common, per_forum=per_forum, **updates)


def parse_date(value: Any) -> dt.datetime:
    """A TOML date or datetime, or an ISO string, as an aware UTC datetime (naive = UTC)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date: {text!r}") from None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        raise ValueError(f"not a date: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _rule_table(raw: dict[str, Any], where: str) -> dict[str, Any]:
    rules = {}
    for name, value in raw.items():
        if name not in _RULES:
            raise ConfigError(f"{where} has an unknown key: {name}")
        rules[name] = _value(value, *_RULES[name], f"{where} {name}")
    return rules


def _forums(value: Any, where: str, forum_keys: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [watch] forums must be a non-empty list of forum keys")
    unknown = [v for v in value if v not in forum_keys]
    if unknown:
        raise ConfigError(
            f"{where}: [watch] forums names unknown forum {unknown[0]!r}"
            f" (known: {', '.join(forum_keys)})"
        )
    return tuple(dict.fromkeys(value))


def _value(value: Any, kind: str, description: str, where: str) -> Any:
    """``value`` checked (and converted) for ``kind``; ConfigError naming ``where`` if not."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    whole = isinstance(value, int) and not isinstance(value, bool)
    if kind in ("int0", "int1") and whole and value >= (0 if kind == "int0" else 1):
        return value
    if kind == "num0" and number and value >= 0:
        return float(value)
    if kind == "pos" and number and value > 0:
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "names" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(name_key(v) for v in value if v.strip())
    if kind == "date":
        try:
            return parse_date(value)
        except ValueError:
            pass
    raise ConfigError(f"{where} must be {description}")
