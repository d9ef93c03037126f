"""One publish of a library as the ``[publish]`` config (or the command line) describes it:
the feeds rendered for the public address, the files mirrored to the target in order, then,
when asked, the public copy checked as an app sees it and new episodes announced.

One publish runs per library at a time (``publish.lock``); a second one waits ``wait_s`` for
it, then gives up with PublishBusyError (exit 75). :class:`AfterEpisodes` publishes after each
episode of a ``convert``, ``watch`` or ``backfill`` run when a target is configured.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from tts_pipeline.config import Config
from tts_pipeline.errors import PublishBusyError, PublishError
from tts_pipeline.library.feed_writer import publish_feeds
from tts_pipeline.library.feeds import check_base_url, library_url
from tts_pipeline.library.layout import Library
from tts_pipeline.library.locks import sole
from tts_pipeline.publish.announce import announce
from tts_pipeline.publish.check import CheckReport, check_public
from tts_pipeline.publish.sync import Progress, PublishReport, publish_library
from tts_pipeline.publish.targets import open_target
from tts_pipeline.publish.tree import ALL_FEED, ATOM_NS

log = logging.getLogger(__name__)

LOCK_NAME = "publish.lock"
AFTER_EPISODE_WAIT_S = 600.0  # a publish after an episode waits this long for another one


@dataclass(frozen=True)
class PublishOutcome:
    report: PublishReport
    base_url: str
    checked: CheckReport | None = None
    announced: int = 0
    announce_error: str = ""


def publish_configured(
    library: Library,
    config: Config,
    *,
    to: str | None = None,
    base_url: str | None = None,
    dry_run: bool = False,
    check: bool = False,
    progress: Progress | None = None,
    wait_s: float = 0.0,
) -> PublishOutcome:
    """Publish ``library`` to ``to`` (default: ``[publish] target``) for ``base_url``
    (default: the config's public base URL). ``check``: list the target instead of trusting
    the upload record, and check every public file as an app would afterwards."""
    settings = config.publish
    spec = to or settings.target
    if not spec:
        raise PublishError(
            "no publish target: give --to s3://BUCKET/PREFIX or a folder, or set target in"
            " the config's [publish] table"
        )
    base = check_base_url(base_url or config.public_base_url)
    if not library.state_path.is_file() and not library.feed_path.is_file():
        raise PublishError(f"{library.root} is not a library yet: convert a post first")

    def busy(pid: int | None) -> PublishBusyError:
        who = f"pid {pid}" if pid else "another process"
        return PublishBusyError(f"another publish of {library.root} is running ({who})", pid=pid)

    with sole(library.root / LOCK_NAME, busy, wait_s=wait_s):
        if library.feed_behind() or _rendered_for(library) != library_url(base, ALL_FEED):
            publish_feeds(library, config, base)
        target = open_target(
            spec,
            settings.endpoint_url or None,
            region=settings.region or None,
            profile=settings.profile or None,
            retry_mode=settings.retry_mode,
            max_attempts=settings.max_attempts,
        )
        report = publish_library(
            library.root,
            target,
            base_url=base,
            dry_run=dry_run,
            check=check,
            grace_s=settings.grace_s,
            progress=progress,
            workers=settings.workers,
            feeds_lock=library.writing_feeds(),  # every page read from one generation of feeds
        )
        if dry_run:
            return PublishOutcome(report, base)
        feeds = [library_url(base, page) for page in report.subscription_pages]
        checked = None
        if check or settings.check_after:
            checked = check_public(feeds, only=None if check else report.uploaded_paths)
        return _announced(PublishOutcome(report, base, checked), config, feeds)


def _rendered_for(library: Library) -> str | None:
    """The address feed.xml says it lives at (its atom:link rel=self), if any."""
    try:
        root = ET.parse(library.feed_path).getroot()
    except (OSError, ET.ParseError):
        return None
    for link in root.iter(f"{{{ATOM_NS}}}link"):
        if link.get("rel") == "self":
            return link.get("href")
    return None


def _announced(outcome: PublishOutcome, config: Config, feeds: list[str]) -> PublishOutcome:
    """Tell the configured services about the feeds when new audio went up. A service that
    fails is reported, not fatal: the episodes are online either way."""
    settings = config.publish
    new_audio = any(p.lower().endswith(".mp3") for p in outcome.report.uploaded_paths)
    if not new_audio or not (settings.pubnotify_url or settings.websub_hub):
        return outcome
    try:
        sent = announce(
            feeds, pubnotify=settings.pubnotify_url or None, websub_hub=settings.websub_hub or None
        )
    except PublishError as exc:
        log.warning("%s", exc)
        return PublishOutcome(outcome.report, outcome.base_url, outcome.checked, 0, str(exc))
    return PublishOutcome(outcome.report, outcome.base_url, outcome.checked, sent)


class AfterEpisodes:
    """Publishing during a ``convert``, ``watch`` or ``backfill`` run with ``[publish] target``
    set: after each episode (a failure is logged and left to the next try), and once at the
    end of the run, whose failure is the run's."""

    def __init__(self, library: Library, config: Config) -> None:
        self.library = library
        self.config = config
        self.published: list[PublishOutcome] = []

    @classmethod
    def configured(cls, library: Library, config: Config) -> AfterEpisodes | None:
        return cls(library, config) if config.publish.target else None

    def episode_done(self) -> PublishOutcome | None:
        """Publish now; a failure is logged (None), and the end of the run tries again."""
        try:
            outcome = self._publish()
        except PublishError as exc:
            log.warning("publishing after the episode failed (the run tries again): %s", exc)
            return None
        except PublishBusyError as exc:
            log.warning("%s; the episode goes up with the next publish", exc)
            return None
        self.published.append(outcome)
        return outcome

    def finish(self) -> PublishOutcome:
        """Publish what is not up yet (PublishError, PublishBusyError on failure)."""
        outcome = self._publish()
        self.published.append(outcome)
        return outcome

    def _publish(self) -> PublishOutcome:
        return publish_configured(self.library, self.config, wait_s=AFTER_EPISODE_WAIT_S)
