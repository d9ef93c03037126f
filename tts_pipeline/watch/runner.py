"""One watcher run: list each forum, record every post's fate, convert what is due.

A run (``watch --once``), in order:

1. posts a dead watcher left ``converting`` become failed attempts, due again at once;
2. each forum is listed from ``since`` (``--since``; else the earlier of the last listing's
   start and ``lookback_days`` ago; never before ``earliest``), unless it is backing off
   after failed listings; each listed post is recorded as queued or skipped with a reason;
3. due posts (queued, or failed and past their retry time), oldest first, up to the per-forum
   ``max_posts`` and the run's ``--limit``, are fetched and converted, each by the steps of
   ``watch.converter`` (where exactly-once is explained).

``run_forever`` repeats runs (``watch --every``).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from tts_pipeline.config.watch import ForumRules
from tts_pipeline.errors import ConfigError, IngestError, TTSPipelineError
from tts_pipeline.library.layout import episode_id
from tts_pipeline.models import ForumSite, Post
from tts_pipeline.pipeline import publish_feed
from tts_pipeline.watch.converter import PostConverter
from tts_pipeline.watch.listing import ListedPost, Listing, list_posts
from tts_pipeline.watch.report import Outcome, RunReport
from tts_pipeline.watch.rules import skip_reason
from tts_pipeline.watch.state import Listed, Status
from tts_pipeline.watch.stop import StopRequested

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class RunOptions:
    """Overrides of the config's rules for one run (the CLI flags)."""

    forums: tuple[str, ...] | None = None
    since: dt.datetime | None = None
    min_karma: int | None = None
    limit: int | None = None  # conversions in this run, all forums together
    retry_given_up: bool = False


class Watcher(PostConverter):
    """Runs watch passes over one library: lists the forums, then converts the due posts
    (the per-post steps are :class:`PostConverter`'s). Hold ``lock.watch_lock`` around it."""

    def sites(self, options: RunOptions) -> list[ForumSite]:
        keys = options.forums or self.settings.forums
        return [self.config.site(key) for key in dict.fromkeys(keys)]

    def rules(self, site: ForumSite, options: RunOptions) -> ForumRules:
        rules = self.settings.rules(site.key, site.prefix)
        if options.min_karma is not None:
            rules = replace(rules, min_karma=options.min_karma)
        return rules

    def run_once(self, options: RunOptions | None = None) -> RunReport:
        options = options or RunOptions()
        sites = self.sites(options)  # unknown --forum keys fail before any work
        self.library.prepare()
        report = RunReport()
        try:
            now = self.clock()
            if options.retry_given_up:
                self.state.requeue_given_up([s.key for s in sites], now)
            self.mark_interrupted(now)
            reachable = [site for site in sites if self._list(site, options, report)]
            self._convert_due(reachable, options, report)
        except StopRequested:
            report.stopped = True
        self.publish_rescored(report)
        return report

    def refresh_scores(self, site: ForumSite, posts: Iterable[ListedPost]) -> int:
        """Record the karma and tags ``posts`` show for the episodes already made of them
        (karma grows for days after posting, and channels rank by it); none is narrated
        again. The number of episodes changed."""
        scores = [(_episode_id(p.id, site), p.karma, p.tags) for p in posts]
        return self.library.refresh_scores(scores)

    def publish_rescored(self, report: RunReport) -> None:
        """Render the feeds again if karma changed since they were (a conversion in the run
        renders them too, so only a run that made nothing after the change needs this)."""
        if report.rescored and self.library.feed_behind():
            publish_feed(self.library, self.config)

    # -- listing ---------------------------------------------------------------------------

    def _list(self, site: ForumSite, options: RunOptions, report: RunReport) -> bool:
        """List ``site`` and record what was listed; False if it cannot be reached now."""
        now = self.clock()
        forum = self.state.forum(site.key)
        if forum.next_attempt_at and forum.next_attempt_at > now and options.since is None:
            report.backing_off[site.key] = forum.next_attempt_at
            return False
        rules = self.rules(site, options)
        since = rules.start(options.since or self._since(forum.listed_at, now))
        try:
            listing = self.list_site(
                site, rules, since, self.settings.max_pages, with_body=rules.renarrate_edits
            )
        except IngestError as exc:
            failed = self.state.forum_failed(site.key, str(exc), self.settings.backoff_s, now)
            report.forum_errors.append(Outcome(site.key, "", "", str(exc)))
            if failed.next_attempt_at:
                report.backing_off[site.key] = failed.next_attempt_at
            return False
        listed = [self.listed(site, post, rules) for post in listing.posts]
        changes = self.state.record_listed(
            site.key, listed, self.clock(), renarrate=rules.renarrate_edits
        )
        # A truncated listing keeps the older start, so the next run looks as far back again.
        self.state.forum_listed(
            site.key, (forum.listed_at or since) if listing.truncated else now, self.clock()
        )
        report.listed[site.key] = len(listing.posts)
        report.rescored += self.refresh_scores(site, listing.posts)
        for item, status, reason in changes:
            if status == Status.SKIPPED:
                report.skipped.append(Outcome(site.key, item.post_id, item.title, reason))
        return True

    def _since(self, listed_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
        # Karma grows for days after posting, so every run re-checks the whole lookback
        # window; after a long pause it reaches back to where the last listing began.
        window = now - dt.timedelta(days=self.settings.lookback_days)
        return min(listed_at, window) if listed_at else window

    def list_site(
        self,
        site: ForumSite,
        rules: ForumRules,
        since: dt.datetime,
        max_pages: int,
        *,
        with_body: bool = False,
    ) -> Listing:
        """``site``'s posts from ``since`` (a stop request ends the wait); IngestError if the
        forum cannot be listed."""
        with self.stop.interruptible():
            return list_posts(
                site,
                self.http,
                since=since,
                page_size=self.settings.page_size,
                max_pages=max_pages,
                af_only=rules.af_only,
                with_body=with_body,
            )

    def listed(self, site: ForumSite, post: ListedPost, rules: ForumRules) -> Listed:
        """What the rules decide about one listed post (its row, queued or skipped)."""
        return Listed(
            post_id=post.id,
            episode_id=_episode_id(post.id, site),
            title=post.title,
            url=post.url,
            posted_at=post.posted_at,
            skip_reason=skip_reason(post, rules),
            body_hash=post.body_hash,
        )

    # -- converting ------------------------------------------------------------------------

    def _convert_due(self, sites: list[ForumSite], options: RunOptions, report: RunReport) -> None:
        by_key = {site.key: site for site in sites}
        if not by_key:
            return
        due = self.state.due(list(by_key), self.clock())
        per_forum: Counter[str] = Counter()
        paused: set[str] = set()  # forums that refused or timed out a fetch in this run
        total = 0
        for row in due:
            site = by_key[row.forum]
            full = options.limit is not None and total >= options.limit
            if (
                full
                or row.forum in paused
                or per_forum[row.forum] >= self.rules(site, options).max_posts
            ):
                report.left_queued += 1
                continue
            if self.stop.requested:
                raise StopRequested(self.stop.signal_name)
            if self.recover_finished(row, report):
                continue
            per_forum[row.forum] += 1
            total += 1
            if self.convert_row(site, row, report):
                paused.add(row.forum)


def run_forever(
    watcher: Watcher,
    options: RunOptions,
    every_s: float,
    on_report: Callable[[RunReport], None],
    on_error: Callable[[TTSPipelineError], None],
) -> None:
    """Run, sleep ``every_s`` (plus or minus up to 10 %, at most a minute), run again, until
    a stop signal. A failing run is reported and the loop goes on."""
    while not watcher.stop.requested:
        try:
            report = watcher.run_once(options)
        except ConfigError:
            raise
        except TTSPipelineError as exc:
            on_error(exc)
        else:
            on_report(report)
            if report.stopped:
                return
        jitter = min(0.1 * every_s, 60.0) * (2 * random.random() - 1)
        watcher.stop.sleep(max(every_s + jitter, 0.0))


def _episode_id(post_id: str, site: ForumSite) -> str:
    """The library's episode id for a post on ``site`` (only the id matters to it)."""
    stub = Post(post_id, "", (), _EPOCH, "", "", site.name, site.prefix)
    return episode_id(stub)
