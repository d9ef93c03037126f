"""Which episodes a channel lists, in which order: one pure pass over the records.

``select(channel, records, now)`` filters (prefixes, karma, tags, dates), keeps the best
episode of each day or week when the channel has a period rule, orders (newest first, or
highest karma first) and cuts to the channel's limit. Nothing here reads a file or the
database; a library of 100,000 episodes is a few linear passes and one sort.

"Best" is always the same ranking: the higher karma; on equal karma the earlier post (it got
there first), then the smaller episode id, so a tie is decided the same way on every run.
Episodes whose karma is unknown (an article, or an episode recorded before karma was and not
listed since) are left out of any channel that karma decides (a karma order, a period rule,
a minimum karma).
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from tts_pipeline.config.channels import Channel
from tts_pipeline.config.watch import name_key


class Listable(Protocol):
    """What selection reads of an episode: an ``EpisodeRecord``, or the few columns
    ``channel_sql`` reads of one."""

    @property
    def id(self) -> str: ...

    @property
    def prefix(self) -> str: ...

    @property
    def published(self) -> dt.datetime: ...

    @property
    def karma(self) -> float | None: ...

    @property
    def tags(self) -> Sequence[str]: ...


R = TypeVar("R", bound=Listable)

_PUBLISHED = operator.attrgetter("published")
_ID = operator.attrgetter("id")
_DAY = dt.timedelta(days=1)


def rank_key(record: Listable) -> tuple[float, dt.datetime, str]:
    """Sorts the best first: higher karma, then the earlier post, then the smaller id."""
    return (-(record.karma or 0.0), record.published, record.id)


def newest_first(records: Iterable[R]) -> list[R]:
    """Newest post first, posts at the same instant by id (the order of
    ``Library.episodes``). One sort on the date, in C (little work on ordered input); the
    sort by id as well only when two posts share an instant."""
    ordered = sorted(records, key=_PUBLISHED, reverse=True)
    dates = list(map(_PUBLISHED, ordered))
    if any(map(operator.eq, dates, dates[1:])):
        ordered.sort(key=_ID)
        ordered.sort(key=_PUBLISHED, reverse=True)
    return ordered


def select(channel: Channel, records: Iterable[R], now: dt.datetime) -> list[R]:
    """The episodes ``channel`` lists, in its order. ``channel.forums`` must already be
    folded into ``channel.prefixes`` (``feeds.plan_feeds`` does it); ``now`` bounds the
    rolling window (``within_days``) and leaves out posts dated in the future."""
    if channel.forums:
        raise ValueError(f"channel {channel.name}: resolve its forums to prefixes first")
    chosen = admitted(channel, records, now)
    if channel.period is not None:
        chosen = best_per_period(chosen, channel)
    if channel.order == "karma":
        return top_by_karma(chosen, channel.limit)
    ordered = newest_first(chosen)
    ahead = 0  # posts dated after now lead the newest-first order: cut them off there
    while ahead < len(ordered) and ordered[ahead].published > now:
        ahead += 1
    end = None if channel.limit is None else ahead + channel.limit
    return ordered[ahead:end] if ahead or end is not None else ordered


def admitted(channel: Channel, records: Iterable[R], now: dt.datetime) -> list[R]:
    """The records that pass each rule the channel sets: one comprehension per rule (each a
    C-speed loop with no call per record). A channel karma decides also leaves out posts
    dated after ``now`` here; for the others ``select`` cuts them from its sorted list."""
    chosen = list(records)
    if channel.prefixes:
        prefixes = frozenset(channel.prefixes)
        chosen = [r for r in chosen if r.prefix in prefixes]
    if channel.by_karma:  # unknown karma is never ranked
        floor = -math.inf if channel.min_karma is None else channel.min_karma
        chosen = [
            r for r in chosen if r.karma is not None and r.karma >= floor and r.published <= now
        ]
    include, exclude = channel.tags_include, channel.tags_exclude
    if include or exclude:
        chosen = [r for r in chosen if _tags_pass(r.tags, include, exclude)]
    start = channel.since
    if channel.within_days is not None:
        window = now - dt.timedelta(days=channel.within_days)
        start = window if start is None else max(start, window)
    if start is not None:
        chosen = [r for r in chosen if r.published >= start]
    if channel.until is not None:
        until = channel.until
        chosen = [r for r in chosen if r.published < until]
    return chosen


def _tags_pass(tags: Sequence[str], include: frozenset[str], exclude: frozenset[str]) -> bool:
    keys = {name_key(t) for t in tags}
    if keys & exclude:
        return False
    return not include or bool(keys & include)


def top_by_karma(records: Sequence[R], limit: int | None) -> list[R]:
    """The ``limit`` best (all, without one), best first. Only the records at or above the
    ``limit``-th highest karma are ranked in full: a sort of plain numbers finds it."""
    if limit is not None and limit < len(records):
        karmas = sorted([r.karma or 0.0 for r in records], reverse=True)
        cut = karmas[limit - 1]
        records = [r for r in records if (r.karma or 0.0) >= cut]
    ranked = sorted(records, key=rank_key)
    return ranked if limit is None else ranked[:limit]


def best_per_period(records: Iterable[R], channel: Channel) -> list[R]:
    """The best episode (``rank_key``) of each day or week, days as ``channel.timezone``
    has them (a week begins on ``channel.week_start``); in no particular order. Every
    record must have a karma (``admitted`` leaves out the others)."""
    period_of = PeriodKeys(channel.zone, 7 if channel.period == "weekly" else 1, channel.week_start)
    best: dict[int, R] = {}
    start = end = period_of.start
    key, leader, top = 0, None, -math.inf  # the current period's best so far, its karma
    for record in records:
        moment = record.published
        if not start <= moment < end:  # another period: the one conversion for its posts
            if leader is not None:
                best[key] = leader
            key = period_of(moment)
            start, end = period_of.start, period_of.end
            leader = best.get(key)
            top = -math.inf if leader is None else leader.karma  # type: ignore[assignment]
        karma = record.karma
        if karma > top or (  # type: ignore[operator]
            karma == top
            and leader is not None
            and (moment, record.id) < (leader.published, leader.id)
        ):
            leader, top = record, karma  # type: ignore[assignment]
    if leader is not None:
        best[key] = leader
    return list(best.values())


class PeriodKeys:
    """The local day (or week) a moment falls in, as the ordinal of its first day.

    The bounds of the last period found are kept, so records in time order cost one
    comparison each, not a time-zone conversion each.
    """

    def __init__(self, zone: dt.tzinfo, days: int, week_start: int = 0) -> None:
        self.zone, self.days, self.week_start = zone, days, week_start
        self.start = self.end = dt.datetime.max.replace(tzinfo=dt.UTC)
        self.key = 0

    def __call__(self, moment: dt.datetime) -> int:
        if self.start <= moment < self.end:
            return self.key
        day = moment.astimezone(self.zone).date()
        if self.days == 7:
            day -= dt.timedelta(days=(day.weekday() - self.week_start) % 7)
        first = dt.datetime.combine(day, dt.time(), self.zone)
        after = dt.datetime.combine(day + self.days * _DAY, dt.time(), self.zone)
        self.start, self.end = first.astimezone(dt.UTC), after.astimezone(dt.UTC)
        self.key = day.toordinal()
        return self.key
