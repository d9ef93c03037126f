"""A watcher's per-post steps: claim a due post, fetch it, convert it, record its fate.

A post is marked done only once ``convert_post`` has returned: its files, its record and the
feeds are in place. Exactly-once rests on three facts: the lock (one watcher per library), the
``converting`` mark written (:meth:`PostConverter.start_row`) before the work, and the episode
id being the post id (a re-run overwrites the same files and the same feed item, never adds
one). A conversion that finished just before a crash is recognised by its MP3 being newer than
the attempt, and not redone (:meth:`PostConverter.recover_finished`).

The run that picks the posts is ``watch.runner``; ``batch.whole`` uses the steps one by one
for posts made on other machines.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace

from tts_pipeline.config import Config
from tts_pipeline.errors import (
    CleanError,
    ConfigError,
    HeldBackError,
    IngestError,
    LibraryBusyError,
    LibraryError,
    PostNotFoundError,
    TTSPipelineError,
)
from tts_pipeline.execution.seam import ExecutionBackend
from tts_pipeline.ingest.forummagnum import fetch_forummagnum
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode, ForumSite, Post, PostRef, VoiceProfile
from tts_pipeline.net.http import http_client
from tts_pipeline.pipeline import Progress, convert_post, publish_feed
from tts_pipeline.verify.policy import HoldBar
from tts_pipeline.watch.listing import content_hash
from tts_pipeline.watch.report import Outcome, RunReport
from tts_pipeline.watch.state import PostRow, Status, WatchState
from tts_pipeline.watch.stop import StopRequested, StopSignals

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PostConverter:
    """Converts due posts of one library, one at a time, and records each one's fate in the
    watch state. Hold ``lock.watch_lock`` around it."""

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
        self.http = http_client(config, timeout=(min(5.0, timeout), timeout))

    def close(self) -> None:
        self.http.close()

    def mark_interrupted(self, now: dt.datetime) -> None:
        """Rows a dead watcher left ``converting`` count as failed attempts, due at once."""
        for row in self.state.posts(status=Status.CONVERTING):
            log.warning("%s post %s: the previous watcher stopped while converting it",
                        row.forum, row.post_id)  # fmt: skip
            self._fail(row, row.attempts, "interrupted: the watcher stopped mid-conversion",
                       now, retry_now=True, report=None)  # fmt: skip

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
        record = self.library.episode(row.episode_id)
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
        """Claim ``row`` (counts an attempt). What a killed attempt left is removed once
        the episode's lock is held (``Library.converting``): another process may be making
        it now."""
        self.state.start(row, self.clock())

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
        except LibraryBusyError as exc:  # another process is converting it: not an attempt
            self.state.abandon(row, self.clock())
            log.warning("%s post %s: %s", row.forum, row.post_id, exc)
            report.left_queued += 1
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
