"""The package stage: chunk WAVs -> one loudness-normalised, tagged CBR MP3.

join (wave, flat memory) -> one decode for loudness and pauses -> place chapters and caption
cues on the joined PCM -> find the gain on a sample of the audio -> ONE ffmpeg run that
applies gain + limiter and encodes (libmp3lame CBR), while a second ffmpeg meters the MP3 as
it is written -> tag (ID3v2.3 with CHAP/CTOC) -> rename into place. The encoder is the floor
(single-threaded LAME); everything else costs a few seconds whatever the length, and a
re-encode happens only when the MP3 misses the target. The MP3 is written beside its final
name and renamed only when complete, so a crash never leaves a half-written episode. The
chapters and cues come back with the result, for the chapters JSON and WebVTT files.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.errors import PackagingError
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.models import ChunkAudio, Loudness
from tts_pipeline.package.chapters import (
    Chapter,
    ChapterMark,
    chapters_json,
    place_chapters,
    plan_chapters,
)
from tts_pipeline.package.ffmpeg import (
    check_mp3_settings,
    encode_mp3,
    measure_loudness,
    measure_with_silences,
    probe,
)
from tts_pipeline.package.join import ChunkSpan, Timeline, join_chunks
from tts_pipeline.package.loudness import plan_gain
from tts_pipeline.package.tags import TagInfo, write_tags
from tts_pipeline.package.transcript import Cue, build_cues, render_vtt

__all__ = [
    "Chapter",
    "ChapterMark",
    "ChunkSpan",
    "Cue",
    "PackagedAudio",
    "TagInfo",
    "Timeline",
    "chapters_json",
    "package_episode",
    "plan_chapters",
    "render_vtt",
]

log = logging.getLogger(__name__)

# Measured on espeak-ng speech, 10 s to 45 min: a 44.1 kHz MP3 at 64 or 128 kbps measures
# 0.4-0.5 LU quieter than the WAV it was encoded from. At 64 kbps its true peak lands
# 0.8-1.9 dB *above* the WAV's (codec noise on espeak's sharp glottal pulses; where exactly
# is chaotic: a 0.3 dB change of gain moves it by +-0.5 dB); at 96-128 kbps it lands at or
# below the WAV's. EBU Tech 3343 likewise asks for more true-peak headroom at low bitrates.
MP3_LOUDNESS_LOSS_LU = 0.5
_ACCEPT_LU = 0.5  # re-run if the MP3 misses the target by more than this
_SPEC_LU = 1.0  # beyond this the episode is out of spec: warn
_MAX_ATTEMPTS = 3
_RETRY_PEAK_MARGIN_DB = 0.5  # extra tightening on a retry: the overshoot itself varies


def mp3_peak_headroom_db(bitrate_kbps: int) -> float:
    """How far below the final true-peak limit to limit the WAV before encoding."""
    return 2.0 if bitrate_kbps < 96 else 1.0


@dataclass(frozen=True)
class PackagedAudio:
    """The finished MP3, in place under its final name."""

    mp3: Path
    duration_s: float  # from the joined PCM's sample count, not MP3 headers
    size_bytes: int  # of the tagged file: the feed's enclosure length
    loudness: Loudness  # measured on the final MP3
    timeline: Timeline  # per-chunk start frames, for chapters and captions
    chapters: tuple[Chapter, ...] = ()  # as written to the MP3's CHAP frames
    cues: tuple[Cue, ...] = ()  # caption cues, for the WebVTT transcript


def _in_spec(measured: Loudness, target_lufs: float, peak_dbtp: float, lu: float) -> bool:
    return (
        abs(measured.integrated_lufs - target_lufs) <= lu + 1e-6
        and measured.true_peak_dbtp <= peak_dbtp + 1e-6
    )


def package_episode(
    audio: Sequence[ChunkAudio],
    mp3_path: Path,
    tags: TagInfo,
    *,
    work_dir: Path,
    bitrate_kbps: int = 64,
    sample_rate: int = 44100,
    target_lufs: float = -16.0,
    peak_dbtp: float = -1.0,
    chapters: Sequence[ChapterMark] = (),
) -> PackagedAudio:
    """Join, normalise, encode and tag ``audio`` into ``mp3_path``.

    ``target_lufs`` and ``peak_dbtp`` (the true-peak ceiling) apply to the final MP3, not to
    an intermediate WAV. Intermediate WAVs live in a private directory under ``work_dir``
    and are removed whatever happens. ``chapters`` (from ``plan_chapters``) are placed on
    the joined audio and written as ID3 chapters; caption cues are always computed.
    """
    check_mp3_settings(bitrate_kbps, sample_rate)  # before minutes of work, not after
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="package-", dir=work_dir) as tmp:
        joined = Path(tmp) / "joined.wav"
        timeline = join_chunks(audio, joined)
        duration_s = timeline.duration_s
        placed = place_chapters(chapters, timeline)
        # One decode finds both the loudness and the pauses (on the joined PCM, whose frames
        # the timeline counts).
        before, silences = measure_with_silences(joined)
        cues = build_cues(audio, timeline, silences)
        # Aim the WAV so the *MP3* lands on target: a little loud, with peak headroom.
        wav_target = target_lufs + MP3_LOUDNESS_LOSS_LU
        wav_ceiling = peak_dbtp - mp3_peak_headroom_db(bitrate_kbps)
        with atomic_path(mp3_path) as part:
            for attempt in range(1, _MAX_ATTEMPTS + 1):
                gain, ceiling = plan_gain(
                    joined, before_lufs=before, duration_s=duration_s,
                    target_lufs=wav_target, peak_dbtp=wav_ceiling,
                )  # fmt: skip
                # Gain, limiter and encoder in one ffmpeg run, metered as it is written.
                final = encode_mp3(
                    joined, part, bitrate_kbps=bitrate_kbps, sample_rate=sample_rate,
                    gain_db=gain, limit_dbtp=ceiling, measure=True,
                ) or measure_loudness(part)  # fmt: skip
                log.debug(
                    "attempt %d: WAV aimed at %.2f LUFS / %.2f dBTP -> MP3 %.1f LUFS / %.1f dBTP",
                    attempt, wav_target, wav_ceiling, final.integrated_lufs, final.true_peak_dbtp,
                )  # fmt: skip
                if _in_spec(final, target_lufs, peak_dbtp, _ACCEPT_LU):
                    break
                wav_target += target_lufs - final.integrated_lufs
                if final.true_peak_dbtp > peak_dbtp:
                    overshoot = final.true_peak_dbtp - peak_dbtp
                    wav_ceiling -= overshoot + _RETRY_PEAK_MARGIN_DB
            if not _in_spec(final, target_lufs, peak_dbtp, _SPEC_LU):
                log.warning(
                    "%s: %.1f LUFS / %.1f dBTP is outside %.1f LUFS ±%.1f / %.1f dBTP",
                    mp3_path.name, final.integrated_lufs, final.true_peak_dbtp,
                    target_lufs, _SPEC_LU, peak_dbtp,
                )  # fmt: skip
            _check_encoded(part, duration_s, sample_rate)
            write_tags(part, tags, placed)
            size = os.stat(part).st_size
    log.info(
        "packaged %s: %.1f s, %d bytes, %.1f LUFS, %.1f dBTP in %.1f s",
        mp3_path.name, duration_s, size, final.integrated_lufs, final.true_peak_dbtp,
        time.perf_counter() - started,
    )  # fmt: skip
    return PackagedAudio(mp3_path, duration_s, size, final, timeline, placed, cues)


def _check_encoded(mp3: Path, duration_s: float, sample_rate: int) -> None:
    """Catch a truncated or mis-encoded file before it gets a final name."""
    info = probe(mp3)
    if info.codec != "mp3" or info.sample_rate != sample_rate or info.channels != 1:
        raise PackagingError(
            f"encoder produced {info.codec} {info.sample_rate} Hz {info.channels} ch,"
            f" expected mono MP3 at {sample_rate} Hz",
            path=str(mp3),
        )
    # LAME adds ~25 ms of encoder delay; anything beyond half a second is a broken encode.
    if abs(info.duration_s - duration_s) > 0.5:
        raise PackagingError(
            f"MP3 lasts {info.duration_s:.2f} s but the audio is {duration_s:.2f} s",
            path=str(mp3),
        )
