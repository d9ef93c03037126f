"""Whether a verified episode is published or held back (the watcher's bar).

An episode is held back when the bar asks for it and the recogniser found it wanting: any
chunk still flagged after its retry, or a word error rate over the episode above the bar's.
A held-back episode keeps its files and its verification record, but no feed lists it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tts_pipeline.models import Verification


@dataclass(frozen=True)
class HoldBar:
    """When to hold an episode back instead of publishing it."""

    flagged: bool = False  # hold back an episode with any flagged chunk
    max_wer: float | None = None  # hold back an episode whose word error rate is above this

    @property
    def active(self) -> bool:
        return self.flagged or self.max_wer is not None


def hold_reason(verification: Verification | None, bar: HoldBar) -> str | None:
    """Why the episode must be held back, or None to publish it."""
    if verification is None or not bar.active:
        return None
    if bar.flagged and verification.flagged:
        chunks = ", ".join(map(str, verification.flagged))
        return (
            f"held back: {len(verification.flagged)} chunk(s) unintelligible after a retry"
            f" (chunks {chunks}; word error rate above {verification.threshold:g})"
        )
    if bar.max_wer is not None and verification.wer > bar.max_wer:
        return (
            f"held back: word error rate {verification.wer:.3f} is above the bar of {bar.max_wer:g}"
        )
    return None


def should_publish(verification: Verification | None, bar: HoldBar) -> bool:
    """True unless ``hold_reason`` gives a reason to hold the episode back."""
    return hold_reason(verification, bar) is None
