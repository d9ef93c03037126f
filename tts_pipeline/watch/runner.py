"""One watcher run: list each forum, record every post's fate, convert what is due.

A run (``watch --once``), in order:

1. posts a dead watcher left ``converting`` become failed attempts, due again at once;
2. each forum is listed from ``since`` (``--since``; else the earlier of the last listing's
   start and ``lookback_days`` ago; never before ``earliest``), unless it is backing off
   after failed listings; each listed post is recorded as queued or skipped with a reason;
3. due posts (queued, or failed and past their retry time), oldest first, up to the per-forum
   ``max_posts`` and the run's ``--limit``, are fetched and converted. A post is marked done
   only once ``convert_post`` has returned: its files, its record and the feeds are in place.

Exactly-once rests on three facts: the lock (one watcher per library), the ``converting``
mark written before the work, and the episode id being the post id (a re-run overwrites the
same files and the same feed item, never adds one). A conversion that finished just before
a crash is recognised by its MP3 being newer than the attempt, and not redone.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tts_pipeline.config import Config
from tts_pipeline.config.watch import ForumRules
from tts_pipeline.errors import (
    CleanError,
    ConfigError,
    HeldBackError,
    IngestError,
    LibraryError,
    PostNotFoundError,
    TTSPipelineError,
)
from tts_pipeline.execution.seam import ExecutionBackend
from tts_pipeline.ingest.forummagnum import fetch_forummagnum
from tts_pipeline.library.layout import Library, episode_id
from tts_pipeline.models import Episode, ForumSite, Post, PostRef, VoiceProfile
from tts_pipeline.net.http import HttpClient, default_user_agent
from tts_pipeline.pipeline import Progress, convert_post, publish_feed
from tts_pipeline.verify.policy import HoldBar
from tts_pipeline.watch.listing import ListedPost, Listing, content_hash, list_posts
from tts_pipeline.watch.rules import skip_reason
from tts_pipeline.watch.state import Listed, PostRow, Status, WatchState
from tts_pipeline.watch.stop import StopRequested, StopSignals

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class RunOptions:
    """Overrides of the config's rules for one run (the CLI flags)."""

    forums: tuple[str, ...] | None = None
    since: dt.datetime | None = None
    min_karma: int | None = None
    limit: int | None = None  # conversions in this run, all forums together
    retry_given_up: bool = False


@dataclass(frozen=True)
class Outcome:
    forum: str
    post_id: str
    title: str
    detail: str  # the skip reason or the error


@dataclass
class RunReport:
    listed: dict[str, int] = field(default_factory=dict)  # forum -> posts in its listing
    converted: list[Episode] = field(default_factory=list)
    recovered: list[Outcome] = field(default_factory=list)  # finished by an earlier run
    skipped: list[Outcome] = field(default_factory=list)  # newly skipped in this run
    failed: list[Outcome] = field(default_factory=list)  # will be retried
    gave_up: list[Outcome] = field(default_factory=list)
    forum_errors: list[Outcome] = field(default_factory=list)  # post_id "" = the listing
    backing_off: dict[str, dt.datetime] = field(default_factory=dict)
    left_queued: int = 0  # due posts left for a later run (limits)
    stopped: bool = False  # a stop signal ended the run early

    @property
    def ok(self) -> bool:
        return not (self.failed or self.gave_up or self.forum_errors)


class Watcher:
    """Runs watch passes over one library. Hold ``lock.watch_lock`` around it."""

    def __init__(
        self,
        config: Config,
        library: Library,
        *,
        voice: VoiceProfile,
        jobs: int,
        progress: Progress | None = None,
        stop: StopSignals | None = None,
        on_episode: Callable[[Episode], None] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        executor: ExecutionBackend | None = None,
    ) -> None:
        self.config = config
        self.settings = config.watch
        self.library = library
        self.voice = voice
        self.jobs = jobs
        self.progress = progress
        self.stop = stop or StopSignals()
        self.on_episode = on_episode
        self.clock = clock
        self.executor = executor  # None: chunks are spoken in a local process pool
        self.state = WatchState(library.state_path)
        timeout = self.settings.request_timeout_s
        self.http = HttpClient(
            default_user_agent(config.user_agent_contact),
            timeout=(min(5.0, timeout), timeout),
            retries=config.http_retries,
            min_interval=config.request_interval_s,
        )

    def close(self) -> None:
        self.http.close()

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
        return report

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

    def mark_interrupted(self, now: dt.datetime) -> None:
        """Rows a dead watcher left ``converting`` count as failed attempts, due at once."""
        for row in self.state.posts(status=Status.CONVERTING):
            log.warning("%s post %s: the previous watcher stopped while converting it",
                        row.forum, row.post_id)  # fmt: skip
            self._fail(row, row.attempts, "interrupted: the watcher stopped mid-conversion",
                       now, retry_now=True, report=None)  # fmt: skip

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

    def recover_finished(self, row: PostRow, report: RunReport) -> bool:
        """Mark ``row`` done if an interrupted run already put its episode in place."""
        finished = self._finished_already(row)
        if not finished:
            return False
        publish_feed(self.library, self.config)
        self.state.done(row, row.content_hash, self.clock(), reason=finished)
        report.recovered.append(Outcome(row.forum, row.post_id, row.title, finished))
        return True

    def _finished_already(self, row: PostRow) -> str:
        """Why ``row`` needs no conversion ("" if it does): its episode is in place."""
        record = next((r for r in self.library.episodes() if r.id == row.episode_id), None)
        if record is None:
            return ""
        if row.started_at is None:
            # Never tried by a watcher; an edited post (re-queued) keeps its old hash.
            return "" if row.content_hash else "already in the library"
        try:
            stat = (self.library.episodes_dir / record.mp3).stat()
        except OSError:
            return ""
        if stat.st_mtime >= row.started_at.timestamp() and stat.st_size == record.size_bytes:
            return "finished by an interrupted run"
        return ""

    def convert_row(self, site: ForumSite, row: PostRow, report: RunReport) -> bool:
        """Convert one due post; True if its forum failed us (leave it alone this run)."""
        self.start_row(row)
        try:
            with self.stop.interruptible():
                post = self.fetch_row(site, row)
                rules = self.settings.rules(site.key, site.prefix)
                hold = HoldBar(rules.hold_flagged, rules.hold_wer_above)
                episode = convert_post(
                    post,
                    config=replace(self.config, verify=True) if hold.active else self.config,
                    library=self.library,
                    voice=self.voice,
                    jobs=self.jobs,
                    progress=self.progress,
                    hold=hold,
                    executor=self.executor,
                )
        except BaseException as exc:
            return self.settle_failure(row, exc, report)
        self.settle_done(row, post, episode, report)
        return False

    # The steps of convert_row, for callers that make the episode elsewhere (batch.whole).

    def start_row(self, row: PostRow) -> None:
        """Claim ``row`` (counts an attempt) and remove what a killed attempt left."""
        self.state.start(row, self.clock())
        self.library.remove_partial_files(row.episode_id)

    def fetch_row(self, site: ForumSite, row: PostRow) -> Post:
        return fetch_forummagnum(PostRef(site, row.post_id, row.url), self.http)

    def settle_done(self, row: PostRow, post: Post, episode: Episode, report: RunReport) -> None:
        """``row``'s episode is published: files, record and feeds in place."""
        self.state.done(row, content_hash(post.html), self.clock())
        report.converted.append(episode)
        if self.on_episode is not None:
            self.on_episode(episode)

    def settle_failure(self, row: PostRow, exc: BaseException, report: RunReport) -> bool:
        """Record what ``exc`` means for the claimed ``row``: skipped, failed (with backoff),
        or given back; re-raise what must end the run. True if its forum failed us."""
        attempts = row.attempts + 1
        try:
            raise exc
        except StopRequested:
            self.state.abandon(row, self.clock())
            raise
        except HeldBackError as exc:  # made and verified, but below the bar: not published
            self.state.skip(row, str(exc), self.clock())
            report.skipped.append(Outcome(row.forum, row.post_id, row.title, str(exc)))
        except CleanError as exc:
            reason = f"nothing to narrate: {exc}"
            self.state.skip(row, reason, self.clock())
            report.skipped.append(Outcome(row.forum, row.post_id, row.title, reason))
        except (LibraryError, ConfigError):
            self.state.abandon(row, self.clock())  # not the post's fault: stop the run
            raise
        except TTSPipelineError as exc:
            self._fail(row, attempts, str(exc), self.clock(), retry_now=False, report=report)
            # An error, a refusal or a timeout from the forum: no more fetches this run.
            return isinstance(exc, IngestError) and not isinstance(exc, PostNotFoundError)
        return False

    def _fail(
        self,
        row: PostRow,
        attempts: int,
        error: str,
        now: dt.datetime,
        *,
        retry_now: bool,
        report: RunReport | None,
    ) -> None:
        error = " ".join(error.split())
        outcome = Outcome(row.forum, row.post_id, row.title, error)
        if attempts >= self.settings.max_attempts:
            reason = f"gave up after {attempts} attempts"
            self.state.fail(row, error, reason, None, now)
            log.warning("%s post %s: %s: %s", row.forum, row.post_id, reason, error)
            if report is not None:
                report.gave_up.append(outcome)
            return
        wait = 0.0 if retry_now else self.settings.backoff_s(attempts)
        retry_at = now + dt.timedelta(seconds=wait)
        self.state.fail(row, error, f"attempt {attempts} failed; will retry", retry_at, now)
        if report is not None:
            report.failed.append(outcome)


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
