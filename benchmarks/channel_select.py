"""Choosing what every channel lists: time to select all default channels over N episodes.

Builds N synthetic episode records (three forums, about 30 posts a day across them, karma
spread like a forum's: most posts low, a few high), then plans the default channels (The
Nonlinear Library's: all, per forum, per-forum daily, weekly and top 400), each selection a
pass over the records. Prints one line per figure: the whole plan, then each channel family.
With ``--state`` it also writes the records into a real state database (and an empty MP3 per
episode, as ``Library.episodes`` lists only episodes whose MP3 is there) and times reading
them back, which is what planning the feeds of a library starts with.

    .venv/bin/python benchmarks/channel_select.py [--episodes 100000] [--repeat 3] [--state]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from sqlite3 import Connection

from tts_pipeline.config import parse_config
from tts_pipeline.library.channel_sql import channel_members
from tts_pipeline.library.channels import select
from tts_pipeline.library.feeds import FeedPlan, plan_feeds
from tts_pipeline.library.layout import Library
from tts_pipeline.library.state import (
    LIBRARY_MIGRATIONS,
    LIBRARY_SCHEMA,
    EpisodeRecord,
    encode_tags,
    insert_episode,
    open_state,
)

T0 = datetime(2016, 1, 1, tzinfo=UTC)
PREFIXES = ("AF", "LW", "EA")


def records(count: int) -> list[EpisodeRecord]:
    rng = random.Random(7)
    made = []
    for i in range(count):
        prefix = PREFIXES[i % 3]
        made.append(
            EpisodeRecord(
                id=f"{prefix.lower()}{i:07d}",
                post_id=f"p{i}",
                prefix=prefix,
                title=f"{prefix} - Post {i} by Someone",
                post_title=f"Post {i}",
                authors="Someone",
                url=f"https://forum.example/posts/{i}",
                published=T0 + timedelta(minutes=48 * i + rng.randrange(40)),
                description="d",
                mp3=f"{prefix.lower()}{i:07d}.mp3",
                size_bytes=1,
                duration_s=600.0,
                loudness_lufs=-16.0,
                true_peak_dbtp=-1.5,
                karma=float(int(rng.paretovariate(1.2) * 10)),
                tags=("AI",) if i % 5 == 0 else ("Rationality", "Practical"),
            )
        )
    made.sort(key=lambda r: (-r.published.timestamp(), r.id))  # as Library.episodes gives
    return made


def best_of(repeat: int, run: Callable[[], object]) -> str:
    """The fastest of ``repeat`` runs: wall time, and this process's CPU time (which other
    work on a shared machine inflates less)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return f"{min(walls):.3f} s wall, {min(cpus):.3f} s CPU"


def read_back(made: list[EpisodeRecord], plans: list[FeedPlan], repeat: int) -> None:
    """Time ``Library.episodes`` over ``made`` written into a real library, and reading
    each plan's episodes with ``channel_members`` instead (the rules as SQL)."""
    with tempfile.TemporaryDirectory() as folder:
        library = Library(Path(folder))
        library.prepare()
        rows = [
            [
                r.id, r.post_id, r.prefix, r.title, r.post_title, r.authors, r.url,
                r.published.isoformat(), r.description, r.mp3, r.size_bytes, r.duration_s,
                r.loudness_lufs, r.true_peak_dbtp, r.published.isoformat(), r.karma,
                encode_tags(r.tags),
            ]
            for r in made
        ]  # fmt: skip
        with open_state(library.state_path, LIBRARY_SCHEMA, LIBRARY_MIGRATIONS) as conn:
            for row in rows:
                insert_episode(conn, row)
        for record in made:
            (library.episodes_dir / record.mp3).touch()
        listed: list[EpisodeRecord] = []
        seconds = best_of(repeat, lambda: listed.extend(library.episodes()))
        assert listed[: len(made)] == made
        print(f"read {len(made)} episode records from the state database: {seconds}")
        now = made[0].published + timedelta(hours=1)
        with open_state(library.state_path, LIBRARY_SCHEMA, LIBRARY_MIGRATIONS) as conn:
            for kind in ("all", "forum", "daily", "weekly", "top"):
                chosen = [p for p in plans if p.channel == kind and p.rules is not None]
                lists: list[list[str]] = []
                seconds = best_of(repeat, lambda c=chosen, out=lists: read(conn, c, now, out))
                assert lists[: len(chosen)] == [[r.id for r in p.episodes] for p in chosen]
                print(f"read channel {kind!r} from the database (channel_members): {seconds}")


def read(conn: Connection, plans: list[FeedPlan], now: datetime, out: list[list[str]]) -> None:
    out.extend(channel_members(conn, p.rules, now) for p in plans if p.rules is not None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--state", action="store_true", help="also time reading a real library")
    args = parser.parse_args()
    config = parse_config({})
    library = records(args.episodes)
    now = library[0].published + timedelta(hours=1)
    plans = plan_feeds(config, library, now)
    seconds = best_of(args.repeat, lambda: plan_feeds(config, library, now))
    listed = sum(len(p.episodes) for p in plans)
    print(
        f"plan all {len(plans)} default channels over {args.episodes} episodes:"
        f" {seconds} ({listed} listings)"
    )
    if args.state:
        read_back(library, plans, args.repeat)
    by_prefix = {p: [r for r in library if r.prefix == p] for p in PREFIXES}
    for channel in config.channels:
        if channel.per_forum:
            pools = [(replace(channel, prefixes=(p,)), by_prefix[p]) for p in PREFIXES]
        else:
            pools = [(channel, library)]
        seconds = best_of(args.repeat, lambda pools=pools: [select(c, r, now) for c, r in pools])
        each = " (each forum's)" if channel.per_forum else ""
        print(f"select channel {channel.name!r}{each}: {seconds}")


if __name__ == "__main__":
    main()
