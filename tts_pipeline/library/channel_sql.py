"""Which episodes a channel lists, read from the state database without loading whole records.

``channel_members(conn, channel, now)`` lists the same episodes, in the same order, as
``channels.select`` over the library's records (it does not check that each MP3 is there):
the rules SQL can test (forums, karma, dates) become the query's condition, and when nothing
is left to do in Python (no tags, no period rule) the database also orders and cuts it, so a
top 400 reads 400 rows through the ``(prefix, karma, published, id)`` index. Otherwise it
reads four short columns (five with tags) of the episodes the condition lets through, and
``select`` does the rest (a daily or weekly pick never leaves that index).

Dates compare as text: ``published`` is always written as UTC ISO 8601 (``+00:00``, see
``state.episode_row``), whose text order is time order.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace
from typing import NamedTuple

from tts_pipeline.config.channels import Channel
from tts_pipeline.library.channels import PeriodKeys, select
from tts_pipeline.library.page_store import chunks, feed_members, marks, member_pages
from tts_pipeline.library.state import decode_tags


class Member(NamedTuple):
    """The columns of an episode selection reads (``channels.Listable``)."""

    id: str
    prefix: str
    published: dt.datetime
    karma: float | None
    tags: tuple[str, ...]


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def sql_filter(channel: Channel, now: dt.datetime) -> tuple[str, list[object]]:
    """The channel's rules SQL can test, as a condition on ``episodes`` and its values: all
    of them but the tags (``select`` tests those). ``channel.forums`` must be folded into
    ``channel.prefixes`` already."""
    if channel.forums:
        raise ValueError(f"channel {channel.name}: resolve its forums to prefixes first")
    parts: list[str] = ["published <= ?"]
    values: list[object] = [_stamp(now)]
    if channel.prefixes:
        parts.append(f"prefix IN ({','.join('?' * len(channel.prefixes))})")
        values += channel.prefixes
    if channel.by_karma:
        parts.append("karma IS NOT NULL")
        if channel.min_karma is not None:
            parts.append("karma >= ?")
            values.append(channel.min_karma)
    start = channel.since
    if channel.within_days is not None:
        window = now - dt.timedelta(days=channel.within_days)
        start = window if start is None else max(start, window)
    if start is not None:
        parts.append("published >= ?")
        values.append(_stamp(start))
    if channel.until is not None:
        parts.append("published < ?")
        values.append(_stamp(channel.until))
    return " AND ".join(parts), values


def members_query(channel: Channel, now: dt.datetime) -> tuple[str, list[object]]:
    """The query ``channel_members`` reads (id, prefix, published, karma, tags) and its values:
    ordered and cut by the database when nothing is left to do in Python."""
    where, values = sql_filter(channel, now)
    tagged = bool(channel.tags_include or channel.tags_exclude)
    tags = "tags" if tagged else "'[]'"  # read and parsed only when a rule needs them
    table = "episodes"
    if not tagged and channel.period is None and channel.order == "karma":
        # Read in karma order and stop at the limit: the planner would rather take the
        # (prefix, published) index and sort a whole forum.
        table += " INDEXED BY episodes_by_karma"
    sql = f"SELECT id, prefix, published, karma, {tags} FROM {table} WHERE {where}"
    if not tagged and channel.period is None:
        if channel.order == "karma":
            sql += " ORDER BY karma DESC, published, id"
        else:
            sql += " ORDER BY published DESC, id"
        if channel.limit is not None:
            sql += " LIMIT ?"
            values.append(channel.limit)
    return sql, values


def channel_members(conn: sqlite3.Connection, channel: Channel, now: dt.datetime) -> list[str]:
    """The ids of the episodes ``channel`` lists at ``now``, in its order."""
    sql, values = members_query(channel, now)
    tagged = bool(channel.tags_include or channel.tags_exclude)
    parse = dt.datetime.fromisoformat
    members = [
        Member(r[0], r[1], parse(r[2]), r[3], decode_tags(r[4]) if tagged else ())
        for r in conn.execute(sql, values)
    ]
    return [member.id for member in select(channel, members, now)]


def top_moves(
    conn: sqlite3.Connection, channel: Channel, feed: str, changed: list[str], now: dt.datetime
) -> tuple[set[str], set[str]]:
    """A top N's moves after the episodes ``changed`` changed: (the episodes whose place may
    have changed: those changed, those that left and those that joined; its members now)."""
    old = feed_members(conn, feed)
    new = set(channel_members(conn, channel, now))
    return set(changed) | (old ^ new), new


def period_moves(
    conn: sqlite3.Connection, channel: Channel, feed: str, changed: list[str], now: dt.datetime
) -> tuple[set[str], set[str]] | None:
    """A daily or weekly channel's moves after the episodes ``changed`` changed: each period
    a changed episode falls in is picked again, reading that period's episodes only; every
    other period keeps its pick. (The episodes whose place may have changed, which of them
    are members now), or None if a changed member is no longer recorded (its period is not
    known: plan the feed in full)."""
    periods = PeriodKeys(channel.zone, 7 if channel.period == "weekly" else 1, channel.week_start)
    found: dict[str, dt.datetime] = {}
    for part in chunks(changed):
        rows = conn.execute(f"SELECT id, published FROM episodes WHERE id IN ({marks(part)})", part)
        found.update((str(r[0]), dt.datetime.fromisoformat(r[1])) for r in rows)
    if member_pages(conn, feed, [eid for eid in changed if eid not in found]):
        return None
    bounds = set()
    for moment in found.values():
        periods(moment)
        bounds.add((periods.start, periods.end))
    affected, winners = set(changed), set()
    for first, after in bounds:
        window = replace(
            channel,
            since=first if channel.since is None else max(channel.since, first),
            until=after if channel.until is None else min(channel.until, after),
        )
        where, values = sql_filter(replace(window, period=None), now)
        inside = [str(r[0]) for r in conn.execute(f"SELECT id FROM episodes WHERE {where}", values)]
        affected.update(member_pages(conn, feed, inside))  # the period's pick until now
        winners.update(channel_members(conn, window, now))
    return affected | winners, winners


def lists_by_itself(channel: Channel) -> bool:
    """Whether an episode's place in the channel depends on that episode alone (its forum,
    karma, tags, date), newest first: then a new or changed episode never moves another,
    and pages of older episodes can stay as they are. A period rule, a karma order, a limit
    or a rolling window make every episode's place depend on others (or on the clock)."""
    return (
        channel.period is None
        and channel.order == "newest"
        and channel.limit is None
        and channel.within_days is None
    )
