"""The package stage's loudness search: each encoding pass's gain and limiter ceilings.

A pass reuses the previous package's gain or plans one on a sample of the chunks; after a
pass that misses the target, either only the segments whose MP3 peaks over the limit are
limited harder (loudness on target) or the WAV's aim is corrected for the next pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.audio.chunkstats import ChunkStats
from tts_pipeline.models import ChunkAudio, Loudness
from tts_pipeline.package.join import Timeline
from tts_pipeline.package.loudness import GainRecord, gain_sample, plan_gain
from tts_pipeline.package.segments import EncodedSegment, Segment

__all__ = [
    "Ceilings",
    "Encoding",
    "Measured",
    "Pass",
    "Search",
    "choose_gain",
    "in_spec",
    "on_target",
    "retarget",
    "segment_settings",
]

_ACCEPT_LU = 0.5  # re-run if the MP3 misses the target by more than this
_RETRY_PEAK_MARGIN_DB = 0.5  # extra tightening on a retry: the overshoot itself varies
_MIN_CEILING_DBTP = -20.0  # alimiter accepts down to -24 dBFS
# Reuse the previous package's gain while the chunks' loudness moved less than this: far
# inside the +-0.5 LU acceptance, and it keeps unchanged segments' encodes valid.
_SAME_LU = 0.1


def segment_settings(
    gain_db: float, ceiling_dbtp: float, *, bitrate_kbps: int, sample_rate: int
) -> tuple[object, ...]:
    """The settings a segment's cache key holds besides its chunks."""
    return (round(gain_db, 3), round(ceiling_dbtp, 3), bitrate_kbps, sample_rate)


class Ceilings:
    """One encoding pass's segments and their limiter ceilings: the pass's own, or a tighter
    one where an MP3 of the segment was heard over the limit (``tight``, by the segment's key
    under the pass's ceiling: kept across passes and in the gain record)."""

    def __init__(
        self, keyed: Callable[[Sequence[tuple[int, int]], Sequence[object]], list[Segment]],
        cuts: Sequence[tuple[int, int]], settings: Callable[[float], Sequence[object]],
        ceiling: float, peak_dbtp: float, tight: dict[str, float],
    ) -> None:  # fmt: skip
        self._keyed, self._cuts, self._settings = keyed, cuts, settings
        self._ceiling, self._peak, self._tight = ceiling, peak_dbtp, tight
        self.base = keyed(cuts, settings(ceiling))

    def limits(self) -> list[float]:
        return [self._tight.get(b.key, self._ceiling) for b in self.base]

    def segments(self) -> list[Segment]:
        return [
            b if limit == self._ceiling else self._keyed([cut], self._settings(limit))[0]
            for b, cut, limit in zip(self.base, self._cuts, self.limits(), strict=True)
        ]

    def tighten(self, n: int, done: EncodedSegment, used: float) -> tuple[Segment, float] | None:
        """Segment ``n`` limited harder than ``used``, the ceiling its MP3 ``done`` was made
        with, if that MP3 peaks over the limit.

        Called from the encoding threads (and after a pass): each call writes only its own
        segment's entry, computed from its own arguments, so a repeated call is harmless."""
        over = done.loudness.true_peak_dbtp - self._peak
        if over <= 1e-6 or used <= _MIN_CEILING_DBTP:
            return None
        limit = max(used - over - _RETRY_PEAK_MARGIN_DB, _MIN_CEILING_DBTP)
        self._tight[self.base[n].key] = limit
        return self._keyed([self._cuts[n]], self._settings(limit))[0], limit


def in_spec(measured: Loudness, target_lufs: float, peak_dbtp: float, lu: float) -> bool:
    return (
        abs(measured.integrated_lufs - target_lufs) <= lu + 1e-6
        and measured.true_peak_dbtp <= peak_dbtp + 1e-6
    )


@dataclass(frozen=True)
class Measured:
    """The chunks as measured before any audio is joined."""

    timeline: Timeline
    stats: list[ChunkStats]
    identities: list[str]
    before: float  # the chunks' gated loudness in LUFS, before gain and limiter


@dataclass(frozen=True)
class Encoding:
    """What every encoding pass of one package shares."""

    audio: Sequence[ChunkAudio]
    measured: Measured
    cuts: list[tuple[int, int]]
    previous: GainRecord | None  # the last package's, if its settings were the same
    cache: Path
    tmp: Path
    jobs: int
    bitrate_kbps: int
    sample_rate: int
    target_lufs: float
    peak_dbtp: float


@dataclass
class Search:
    """The loudness search's state, carried from one encoding pass to the next."""

    wav_target: float  # what the segments' WAVs are aimed at, so the MP3 lands on target
    wav_ceiling: float
    tight: dict[str, float]  # as ``Ceilings`` keeps them
    gain: float = 0.0  # the pass's gain and ceiling, once chosen
    ceiling: float = 0.0
    sample: tuple[Path, float] | None = None  # the gain sample's WAV and length, once joined
    record: GainRecord | None = None  # the previous package's, while its gain is reused
    peaks_only: bool = False  # the next pass only tightens the segments that overshot


@dataclass(frozen=True)
class Pass:
    """One encoding pass: its segments' ceilings, their encodes and the MP3's loudness."""

    ceilings: Ceilings
    encoded: list[EncodedSegment]
    final: Loudness


def choose_gain(enc: Encoding, state: Search, attempt: int) -> None:
    """Set the pass's gain and ceiling: the previous package's, or planned on a sample."""
    previous, before = enc.previous, enc.measured.before
    if attempt == 1 and previous and abs(previous.before_lufs - before) <= _SAME_LU:
        # Within the tolerance of the last package: its gain keeps every unchanged
        # segment's encode valid (a new gain would re-encode the whole episode). The
        # record keeps the loudness it was planned for, so small edits cannot drift.
        state.gain, state.ceiling, state.record = (
            previous.gain_db, previous.ceiling_dbtp, previous,
        )  # fmt: skip
    else:
        state.record = None
        if state.sample is None:
            wav = enc.tmp / "sample.wav"
            state.sample = wav, gain_sample(enc.audio, wav)
        state.gain, state.ceiling = plan_gain(
            state.sample[0], before_lufs=before, duration_s=state.sample[1],
            target_lufs=state.wav_target, peak_dbtp=state.wav_ceiling,
            source_rate=enc.measured.timeline.sample_rate,
        )  # fmt: skip


def on_target(enc: Encoding, done: Pass) -> bool:
    """Whether the pass's MP3 is close enough to the target, and under the peak limit."""
    return in_spec(done.final, enc.target_lufs, enc.peak_dbtp, _ACCEPT_LU)


def retarget(enc: Encoding, state: Search, done: Pass) -> None:
    """Prepare the next pass after ``done`` missed the target: tighten peaks or re-aim."""
    final, target_lufs, peak_dbtp = done.final, enc.target_lufs, enc.peak_dbtp
    # Loudness on target but a peak still over (after the in-thread re-encode): the
    # MP3's overshoot is local (codec noise on a few glottal pulses), so only those
    # segments are limited harder and encoded again; the others, and the gain, stay.
    # (A pass whose loudness misses is encoded again at a new gain, so its in-thread
    # re-encodes were spent for nothing: rare, as the gain is searched beforehand.)
    state.peaks_only = abs(final.integrated_lufs - target_lufs) <= _ACCEPT_LU + 1e-6
    if state.peaks_only:
        for n, (e, limit) in enumerate(zip(done.encoded, done.ceilings.limits(), strict=True)):
            done.ceilings.tighten(n, e, limit)
        return
    state.wav_target += target_lufs - final.integrated_lufs
    if final.true_peak_dbtp > peak_dbtp:
        overshoot = final.true_peak_dbtp - peak_dbtp
        state.wav_ceiling -= overshoot + _RETRY_PEAK_MARGIN_DB
