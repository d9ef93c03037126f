"""Loudness normalisation: measure, gain + limit, re-measure, correct.

One gain step is not enough for TTS audio: espeak-ng speech peaks near 0 dBFS at about
-21 LUFS, so reaching -16 LUFS under a -1.5 dBTP ceiling means 6-7 dB of limiting on the
peaks, and the limiter takes 0.7-1.3 LU of the loudness back. Each pass applies a corrected
gain to the *source* (never to the previous output, so limiting does not stack) until the
result is within tolerance. ``volume`` + ``alimiter`` costs about a second per 10 minutes of
audio; ffmpeg's ``loudnorm`` costs ~50 s per hour and still lands 1-2 LU low on this audio.

``plan_gain`` runs the same search without writing anything, metering one second in N of a
long file, so an episode's packaging limits and encodes the full audio only once.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tts_pipeline.errors import PackagingError
from tts_pipeline.fsutil import atomic_write_text
from tts_pipeline.models import ChunkAudio, Loudness
from tts_pipeline.package.ffmpeg import (
    SILENCE_LUFS,
    apply_gain,
    limited_loudness,
    measure_integrated,
    measure_loudness,
)
from tts_pipeline.package.join import join_chunks

log = logging.getLogger(__name__)

_MIN_CEILING_DBTP = -20.0  # never tighten the limiter beyond this while chasing a peak
_CEILING_MARGIN_DB = 0.1  # extra tightening per overshoot, so the next pass lands below
# LU gained per dB of extra gain once the limiter bites: 0.4-0.5 measured on espeak-ng
# speech limited to -3..-1.5 dBTP. Overestimating it undershoots the target (one more pass);
# underestimating overshoots it.
_FIRST_SLOPE = 0.45
# The limiter sees 4x oversampled audio, but resampling back down can add up to ~0.1 dB of
# true peak; start that far below the ceiling so the first pass that hits the loudness
# also passes the true-peak check.
_LIMITER_MARGIN_DB = 0.15


def normalise(
    src_wav: Path,
    dst_wav: Path,
    *,
    target_lufs: float = -16.0,
    peak_dbtp: float = -1.5,
    tolerance_lu: float = 0.3,
    max_passes: int = 3,
) -> Loudness:
    """Write ``src_wav`` to ``dst_wav`` at ``target_lufs`` with true peak <= ``peak_dbtp``.

    Returns the loudness measured on ``dst_wav``. If the passes run out first, the last
    attempt is kept and a warning logged: the caller measures the final file anyway.
    """
    before = measure_integrated(src_wav)
    if before <= SILENCE_LUFS + 1.0:
        raise PackagingError(f"{src_wav} is silent; nothing to normalise", path=str(src_wav))
    gain = target_lufs - before
    ceiling = peak_dbtp - _LIMITER_MARGIN_DB
    previous: tuple[float, float] | None = None  # (gain, loudness) of the previous pass
    for n in range(1, max_passes + 1):
        lufs = apply_gain(src_wav, dst_wav, gain, ceiling)
        error = target_lufs - lufs
        if abs(error) <= tolerance_lu + 1e-6:  # ebur128 prints one decimal
            # Loudness is right; now the (slower) true-peak meter, once.
            after = measure_loudness(dst_wav)
            overshoot = after.true_peak_dbtp - peak_dbtp
            log.debug(
                "pass %d: gain %+.2f dB, ceiling %.2f dBTP -> %.1f LUFS, %.1f dBTP",
                n, gain, ceiling, after.integrated_lufs, after.true_peak_dbtp,
            )  # fmt: skip
            if overshoot <= 1e-6:
                log.info(
                    "normalised %s: %.1f -> %.1f LUFS, %.1f dBTP in %d pass(es)",
                    src_wav.name, before, after.integrated_lufs, after.true_peak_dbtp, n,
                )  # fmt: skip
                return after
            # The limiter works on 4x oversampled audio; the way back down can still
            # overshoot a little. Tighten by the excess and keep the gain.
            ceiling = max(ceiling - overshoot - _CEILING_MARGIN_DB, _MIN_CEILING_DBTP)
            continue
        log.debug("pass %d: gain %+.2f dB, ceiling %.2f dBTP -> %.1f LUFS", n, gain, ceiling, lufs)
        # A second pass is only needed when the limiter bit, and then each extra dB of gain
        # buys well under 1 LU; later passes use the secant through the last two.
        slope = _FIRST_SLOPE
        if previous is not None and gain != previous[0]:
            slope = (lufs - previous[1]) / (gain - previous[0])
            slope = min(max(slope, 0.3), 1.0)
        previous = (gain, lufs)
        gain += error / slope
    after = measure_loudness(dst_wav)
    log.warning(
        "loudness of %s still %.1f LUFS / %.1f dBTP after %d passes (target %.1f / %.1f)",
        src_wav.name, after.integrated_lufs, after.true_peak_dbtp, max_passes,
        target_lufs, peak_dbtp,
    )  # fmt: skip
    return after


# Below this length the whole file is cheap to limit; above it, one second in N is enough
# (N grows with the length, so the search costs about as much as 5 minutes of audio).
_FULL_SEARCH_S = 300


def plan_gain(
    src_wav: Path,
    *,
    before_lufs: float,
    duration_s: float,
    target_lufs: float,
    peak_dbtp: float,
    tolerance_lu: float = 0.2,
    max_passes: int = 4,
    source_rate: int,
) -> tuple[float, float]:
    """The (gain dB, limiter ceiling dBTP) that bring ``src_wav`` to ``target_lufs``.

    Like :func:`normalise` but nothing is written: each trial is metered on a sample of the
    audio (see ``limited_loudness``), so the search costs a few seconds whatever the length,
    and the caller applies the result in the same ffmpeg run that encodes the MP3.
    ``source_rate`` is ``src_wav``'s sample rate (the caller knows it: no probe per trial).
    """
    if before_lufs <= SILENCE_LUFS + 1.0:
        raise PackagingError(f"{src_wav} is silent; nothing to normalise", path=str(src_wav))
    every = max(1, int(duration_s // _FULL_SEARCH_S))
    gain = target_lufs - before_lufs
    ceiling = peak_dbtp - _LIMITER_MARGIN_DB
    previous: tuple[float, float] | None = None
    for n in range(1, max_passes + 1):
        lufs = limited_loudness(
            src_wav, gain, ceiling, source_rate=source_rate, sample_every_s=every
        )
        error = target_lufs - lufs
        log.debug("trial %d: gain %+.2f dB (1 s in %d) -> %.1f LUFS", n, gain, every, lufs)
        if abs(error) <= tolerance_lu + 1e-6:
            break
        slope = _FIRST_SLOPE
        if previous is not None and gain != previous[0]:
            slope = min(max((lufs - previous[1]) / (gain - previous[0]), 0.3), 1.0)
        previous = (gain, lufs)
        gain += error / slope
    return gain, ceiling


# The limiter's cost in loudness is a property of the speech, so the gain search runs on a
# sample of the episode: whole chunks spread evenly over it, about this long in all (the
# final check corrects the rest).
SAMPLE_S = 120.0


def gain_sample(audio: Sequence[ChunkAudio], out_wav: Path) -> float:
    """Join every n-th chunk (with its pause) into ``out_wav``; return its length in seconds."""
    speech = sum(a.frames / a.sample_rate for a in audio)
    every = max(1, math.ceil(speech / SAMPLE_S))
    return join_chunks(audio[::every], out_wav).duration_s


@dataclass(frozen=True)
class GainRecord:
    """What the last package of an episode used, for gain hysteresis."""

    before_lufs: float  # loudness of the chunks before gain and limiter
    gain_db: float
    ceiling_dbtp: float
    settings: tuple[float, ...]  # target, ceiling, bitrate, rate: the record holds only for these
    # Segments whose MP3 overshot the true-peak limit at ``ceiling_dbtp``: their key at that
    # ceiling -> the tighter ceiling they passed with, so a re-run reuses their encode.
    tightened: dict[str, float] = field(default_factory=dict)


def read_gain(path: Path, settings: tuple[float, ...]) -> GainRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = GainRecord(
            float(data["before_lufs"]), float(data["gain_db"]), float(data["ceiling_dbtp"]),
            tuple(float(v) for v in data["settings"]),
            {str(k): float(v) for k, v in data.get("tightened", {}).items()},
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if record.settings == settings else None


def write_gain(path: Path, record: GainRecord) -> None:
    atomic_write_text(path, json.dumps(asdict(record)))
