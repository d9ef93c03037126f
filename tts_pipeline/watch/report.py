"""What a watcher run did: every post's fate, by kind, and the forums' state.

Filled in by the run's steps (``watch.converter``, ``watch.runner``) and by the backfill;
the CLI prints it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tts_pipeline.models import Episode


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
    rescored: int = 0  # published episodes whose karma or tags the listings changed
    stopped: bool = False  # a stop signal ended the run early

    @property
    def ok(self) -> bool:
        return not (self.failed or self.gave_up or self.forum_errors)
