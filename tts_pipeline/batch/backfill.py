"""Backfill: narrate a forum's archive (or its top posts) with the watcher's state and rules.

A backfill lists a forum through the same GraphQL ``posts`` view as the watcher (paged by
date, never by offset), from ``--since`` (default: the forum's ``earliest`` rule, else the
beginning), decides each post with the watcher's rules (karma, length, opt-outs, tags,
cross-posts), keeps the ``--top N`` highest-karma posts that meet them if asked, records them in
the watcher's state (``queued`` or ``skipped``) and converts the due ones, oldest first, through
``Watcher.convert_row``: the very code a watch run uses. So a post the watcher has done is not
redone, a post left ``converting`` by a killed run is taken up again (or recognised as finished),
and a failed post gets the watcher's backoff: a later backfill or watch run retries it once due.
Hold the library's watcher lock around a backfill: it and the watcher never run at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tts_pipeline.batch.whole import convert_whole
from tts_pipeline.watch.listing import ListedPost
from tts_pipeline.watch.report import Outcome, RunReport
from tts_pipeline.watch.runner import RunOptions, Watcher
from tts_pipeline.watch.state import Listed, PostRow, Status
from tts_pipeline.watch.stop import StopRequested

log = logging.getLogger(__name__)

BEGINNING = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # before any ForumMagnum forum existed
MAX_PAGES = 1_000_000  # a backfill pages until it reaches ``since``


@dataclass(frozen=True)
class BackfillOptions:
    forum: str
    since: dt.datetime | None = None
    min_karma: int | None = None
    top: int | None = None  # only the N highest-karma posts that meet the rules
    limit: int | None = None  # convert at most N posts in this run


@dataclass
class BackfillReport:
    listed: int = 0  # posts in the listing
    selected: int = 0  # posts this backfill covers (all listed, or the top N)
    already_done: int = 0  # selected posts whose episode was already made (watcher or earlier)
    waiting: int = 0  # failed posts whose retry time has not come yet
    left_queued: int = 0  # due posts beyond --limit
    run: RunReport = field(default_factory=RunReport)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.run.ok


@dataclass(frozen=True)
class PostEvent:
    """One selected post has been dealt with in this run: what became of it."""

    post_id: str
    title: str
    result: str  # "converted", "recovered", "skipped", "failed", "gave up"


def backfill(
    watcher: Watcher,
    options: BackfillOptions,
    *,
    on_start: Callable[[int], None] | None = None,
    on_post: Callable[[PostEvent], None] | None = None,
) -> BackfillReport:
    """List, select, record and convert; ``on_start(number of due posts)`` once conversion
    begins and ``on_post`` after each due post. IngestError if the forum cannot be listed."""
    started = time.monotonic()
    report = BackfillReport()
    site = watcher.config.site(options.forum)  # an unknown forum fails before any work
    rules = watcher.rules(site, RunOptions(min_karma=options.min_karma))
    watcher.library.prepare()
    since = rules.start(options.since or rules.earliest or BEGINNING)
    try:
        listing = watcher.list_site(site, rules, since, MAX_PAGES)
        report.listed = len(listing.posts)
        report.run.rescored += watcher.refresh_scores(site, listing.posts)
        entries = [watcher.listed(site, post, rules) for post in listing.posts]
        if options.top is not None:
            entries = _top(entries, {p.id: p for p in listing.posts}, options.top)
        changes = watcher.state.record_listed(site.key, entries, watcher.clock(), renarrate=False)
        for item, status, reason in changes:
            if status == Status.SKIPPED:
                report.run.skipped.append(_outcome(site.key, item, reason))
        report.selected = len(entries)
        _convert(watcher, site.key, {e.post_id for e in entries}, options, report, on_start,
                 on_post)  # fmt: skip
    except StopRequested:
        report.run.stopped = True
    watcher.publish_rescored(report.run)
    report.wall_s = time.monotonic() - started
    return report


def _top(entries: list[Listed], posts: dict[str, ListedPost], top: int) -> list[Listed]:
    """The ``top`` highest in karma among the entries the rules accept (ties: the older post
    first). Posts outside the top are not recorded at all: a later watch run decides them."""
    accepted = [e for e in entries if not e.skip_reason]
    accepted.sort(key=lambda e: (-posts[e.post_id].karma, e.posted_at, e.post_id))
    return accepted[:top]


def _convert(
    watcher: Watcher,
    forum: str,
    selected: set[str],
    options: BackfillOptions,
    report: BackfillReport,
    on_start: Callable[[int], None] | None,
    on_post: Callable[[PostEvent], None] | None,
) -> None:
    now = watcher.clock()
    watcher.mark_interrupted(now)  # rows a killed run left `converting`: due again at once
    site = watcher.config.site(forum)
    rows = {r.post_id: r for r in watcher.state.due([forum], now) if r.post_id in selected}
    due = list(rows.values())  # oldest first
    for post_id in selected - set(rows):
        row = watcher.state.post(forum, post_id)
        if row is not None and row.status == Status.DONE:
            report.already_done += 1
        elif row is not None and row.status == Status.FAILED:
            report.waiting += 1
    if options.limit is not None and len(due) > options.limit:
        report.left_queued = len(due) - options.limit
        due = due[: options.limit]
    if on_start is not None:
        on_start(len(due))
    run = report.run
    before = [_counts(run)]

    def event(row: PostRow) -> None:  # called once per row, right after its outcome
        if on_post is not None:
            on_post(PostEvent(row.post_id, row.title, _result(run, before[0])))
        before[0] = _counts(run)

    rules = watcher.settings.rules(site.key, site.prefix)
    verifying = watcher.config.verify or rules.hold_flagged or rules.hold_wer_above
    remote = watcher.executor
    if remote is not None and remote.whole_posts and not verifying:  # the recogniser is here
        report.left_queued += convert_whole(watcher, site, due, remote, run, event)
        return
    for number, row in enumerate(due):
        if watcher.stop.requested:
            raise StopRequested(watcher.stop.signal_name)
        counts = _counts(run)
        forum_failed = False
        if not watcher.recover_finished(row, run):
            forum_failed = watcher.convert_row(site, row, run)
        if on_post is not None:
            on_post(PostEvent(row.post_id, row.title, _result(run, counts)))
        if forum_failed:  # refused or timed out: like the watcher, no more fetches this run
            report.left_queued += len(due) - number - 1
            return


def _counts(run: RunReport) -> tuple[int, int, int, int]:
    return len(run.converted), len(run.recovered), len(run.skipped), len(run.failed)


def _result(run: RunReport, before: tuple[int, int, int, int]) -> str:
    converted, recovered, skipped, failed = before
    if len(run.converted) > converted:
        return "converted"
    if len(run.recovered) > recovered:
        return "recovered"
    if len(run.skipped) > skipped:
        return "skipped"
    return "failed" if len(run.failed) > failed else "gave up"


def _outcome(forum: str, item: Listed, reason: str) -> Outcome:
    return Outcome(forum, item.post_id, item.title, reason)
