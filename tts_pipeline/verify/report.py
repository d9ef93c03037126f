"""An episode's verification: its figures, the summary kept with the episode, the sidecar.

The sidecar ``episodes/<id>.verify.json`` keeps every chunk's transcript and the words the
recogniser missed, most often first: that list is what the pronunciation lexicon is fed from,
and lexicon entries to try for the words that look like terms (``suggest.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tts_pipeline.fsutil import atomic_write_text
from tts_pipeline.models import Verification
from tts_pipeline.verify.check import ChunkCheck
from tts_pipeline.verify.suggest import suggest

REPORT_SUFFIX = ".verify.json"
REPORT_VERSION = 1


def report_path(episodes_dir: Path, episode_id: str) -> Path:
    return episodes_dir / f"{episode_id}{REPORT_SUFFIX}"


@dataclass(frozen=True)
class VerifyReport:
    model: str
    threshold: float
    checks: tuple[ChunkCheck, ...]  # the kept take of every chunk, in chunk order
    first_takes: tuple[ChunkCheck, ...]  # the first take of each chunk that was spoken again
    flagged: tuple[int, ...]
    wait_s: float  # how long the pipeline waited for verification after synthesis ended
    # A conversation read by a cast: the voice profile of each chunk, by chunk index (empty
    # for an episode read by one voice); the report then scores each voice's turns.
    voices: tuple[tuple[int, str], ...] = ()

    @property
    def retried(self) -> tuple[int, ...]:
        return tuple(c.index for c in self.first_takes)

    @property
    def words(self) -> int:
        return sum(c.score.words for c in self.checks)

    @property
    def errors(self) -> int:
        return sum(c.score.errors for c in self.checks)

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0

    @property
    def audio_s(self) -> float:
        return sum(c.audio_s for c in self.checks)

    @property
    def transcribe_s(self) -> float:
        """Wall time spent transcribing, summed over chunks (and retries)."""
        return sum(c.seconds for c in (*self.checks, *self.first_takes))

    def missed_words(self) -> list[tuple[str, int]]:
        """Reference words substituted or deleted in the kept takes, most often first."""
        counts = Counter(word for c in self.checks for word in c.score.missed)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def by_voice(self) -> dict[str, dict[str, Any]]:
        """Words, errors and word error rate of each voice's chunks (empty: one voice)."""
        voice_of = dict(self.voices)
        totals: dict[str, list[int]] = {}
        for check in self.checks:
            if check.index in voice_of:
                total = totals.setdefault(voice_of[check.index], [0, 0])
                total[0] += check.score.words
                total[1] += check.score.errors
        return {
            voice: {
                "words": words,
                "errors": errors,
                "wer": round(errors / words, 4) if words else 0.0,
            }
            for voice, (words, errors) in sorted(totals.items())
        }

    def summary(self, report: Path) -> Verification:
        return Verification(
            model=self.model,
            threshold=self.threshold,
            words=self.words,
            errors=self.errors,
            flagged=self.flagged,
            retried=self.retried,
            report=report,
        )

    def to_json(self, episode_id: str) -> dict[str, Any]:
        retried = {c.index: c for c in self.first_takes}
        return {
            "version": REPORT_VERSION,
            "episode": episode_id,
            "model": self.model,
            "threshold": self.threshold,
            "words": self.words,
            "errors": self.errors,
            "wer": round(self.wer, 4),
            "flagged": list(self.flagged),
            "retried": list(self.retried),
            "audio_s": round(self.audio_s, 2),
            "transcribe_s": round(self.transcribe_s, 2),
            "wait_after_synthesis_s": round(self.wait_s, 2),
            "missed_words": [{"word": w, "count": n} for w, n in self.missed_words()],
            **({"voices": self.by_voice()} if self.voices else {}),
            "suggested_entries": [s.to_json() for s in suggest(self.checks)],
            "chunks": [
                _chunk_json(c, retried.get(c.index), c.index in self.flagged) for c in self.checks
            ],
        }


def _chunk_json(check: ChunkCheck, first: ChunkCheck | None, flagged: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "index": check.index,
        "wer": round(check.wer, 4),
        "words": check.score.words,
        "errors": check.score.errors,
        "flagged": flagged,
        "attempts": check.attempt,
        "audio_s": round(check.audio_s, 2),
        "reference": check.reference,
        "heard": check.heard,
        "missed": list(check.score.missed),
    }
    if first is not None:
        item["first_take"] = {"wer": round(first.wer, 4), "heard": first.heard}
    return item


def write_report(path: Path, report: VerifyReport, episode_id: str) -> None:
    """Write the sidecar atomically (a crash never leaves half a report)."""
    text = json.dumps(report.to_json(episode_id), ensure_ascii=False, indent=1)
    atomic_write_text(path, text + "\n")


def episode_wer(checks: Sequence[ChunkCheck]) -> float:
    words = sum(c.score.words for c in checks)
    return sum(c.score.errors for c in checks) / words if words else 0.0
