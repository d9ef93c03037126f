"""The package stage: chunk WAVs -> one loudness-normalised, tagged CBR MP3.

Each chunk's loudness blocks and pauses come from a small statistics file kept beside it
(``synth.chunkstats``: measured once per chunk as it is synthesised, never by decoding the
episode), so the episode's loudness is known before any audio is joined. The gain that brings
it to the target through the limiter is searched on a ~5 minute sample of chunks spread over
the episode (or reused from the episode's previous package when its loudness has not moved).
The episode is then encoded as 2-4 minute segments, ``jobs`` at a time, each with gain +
limiter + LAME in one ffmpeg run, then metered by decoding its MP3 (``segments``); segments
already encoded with the same chunks and settings come from the segment cache. The segments'
meters combine into the episode's loudness; if it misses the target the segments are encoded
again with a corrected gain. A segment whose true peak is over the limit is encoded again
with a tighter limiter at once, in the thread that encoded it, while the others are still
encoding; if any is still over once the pass is done and the loudness is on target, only
those are encoded again, up to three passes in all. Tighter ceilings are remembered in the
gain record for the next package. The segments' frames are joined behind one Info frame,
tagged (ID3v2.3 with CHAP/CTOC) and renamed into place, so a crash never leaves a
half-written episode. Chapters and caption cues are placed on the timeline of the joined
MP3, exact to the sample.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.audio.chunkstats import ChunkStats, chunk_stats, gated_loudness
from tts_pipeline.errors import PackagingError
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.memory import return_freed_memory
from tts_pipeline.models import ChunkAudio, Loudness
from tts_pipeline.package.chapters import (
    Chapter,
    ChapterMark,
    chapters_json,
    place_chapters,
    plan_chapters,
)
from tts_pipeline.package.encode_plan import (
    Ceilings,
    Encoding,
    Measured,
    Pass,
    Search,
    choose_gain,
    in_spec,
    on_target,
    retarget,
    segment_settings,
)
from tts_pipeline.package.ffmpeg import (
    SILENCE_LUFS,
    check_mp3_settings,
    encode_mp3,
    encoder_version,
    probe,
)
from tts_pipeline.package.join import ChunkSpan, Timeline, plan_timeline
from tts_pipeline.package.loudness import GainRecord, read_gain, write_gain
from tts_pipeline.package.segments import (
    assemble,
    chunk_identity,
    combined_loudness,
    encode_segments,
    keyed_segments,
    plan_segments,
    prune,
    shifted_timeline,
)
from tts_pipeline.package.tags import TagInfo, write_tags
from tts_pipeline.package.transcript import Cue, build_cues, render_vtt
from tts_pipeline.package.voices import heard_offsets, match_voices

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
_SPEC_LU = 1.0  # beyond this the episode is out of spec: warn
_MAX_ATTEMPTS = 3
GAIN_FILE = "gain.json"


def mp3_peak_headroom_db(bitrate_kbps: int) -> float:
    """How far below the final true-peak limit to limit the WAV before encoding."""
    return 2.0 if bitrate_kbps < 96 else 1.0


@dataclass(frozen=True)
class PackagedAudio:
    """The finished MP3, in place under its final name."""

    mp3: Path
    duration_s: float  # what a gapless decoder outputs, from sample counts, not durations
    size_bytes: int  # of the tagged file: the feed's enclosure length
    loudness: Loudness  # the final MP3's, from the meters of its segments' encodes
    timeline: Timeline  # where each chunk is heard in the MP3, for chapters and captions
    chapters: tuple[Chapter, ...] = ()  # as written to the MP3's CHAP frames
    cues: tuple[Cue, ...] = ()  # caption cues, for the WebVTT transcript
    segments_encoded: int = 0  # segments encoded by this package (the rest were cached)
    segments: int = 0


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
    jobs: int = 1,
    segment_cache: Path | None = None,
    voice_offsets: Mapping[str, float] | None = None,
) -> PackagedAudio:
    """Normalise, encode, join and tag ``audio`` into ``mp3_path``.

    Chunks of several voices (``Chunk.voice``) are matched in loudness first; if the MP3
    then still hears them more than ``VOICE_SPREAD_LU`` apart (the limiter takes more from
    a voice with sharper peaks), they are corrected by what was heard (``voice_offsets``)
    and packaged once more.

    ``target_lufs`` and ``peak_dbtp`` (the true-peak ceiling) apply to the final MP3.
    Temporary files live in a private directory under ``work_dir``, removed whatever
    happens. ``segment_cache`` (one folder per episode) keeps the encoded segments for the
    next package of the same episode; without it they are temporary too. ``chapters`` (from
    ``plan_chapters``) are written as ID3 chapters; caption cues are always computed.
    """
    check_mp3_settings(bitrate_kbps, sample_rate)  # before minutes of work, not after
    if not audio:
        raise PackagingError("no audio chunks to package")
    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    given = audio
    levels = (
        target_lufs + MP3_LOUDNESS_LOSS_LU, peak_dbtp - mp3_peak_headroom_db(bitrate_kbps),
    )  # fmt: skip
    measured, audio = _measure(audio, mp3_path, jobs, voice_offsets or {}, levels, work_dir)
    settings = (target_lufs, peak_dbtp, float(bitrate_kbps), float(sample_rate))
    with tempfile.TemporaryDirectory(prefix="package-", dir=work_dir) as tmp:
        cache = segment_cache or Path(tmp) / "segments"
        previous = read_gain(cache / GAIN_FILE, settings) if segment_cache else None
        cuts = plan_segments(measured.timeline, measured.identities)
        enc = Encoding(
            audio, measured, cuts, previous, cache, Path(tmp), jobs, bitrate_kbps, sample_rate,
            target_lufs, peak_dbtp,
        )  # fmt: skip
        state = _start_search(enc)
        done = _search(enc, state)
        if not in_spec(done.final, target_lufs, peak_dbtp, _SPEC_LU):
            log.warning(
                "%s: %.1f LUFS / %.1f dBTP is outside %.1f LUFS ±%.1f / %.1f dBTP",
                mp3_path.name, done.final.integrated_lufs, done.final.true_peak_dbtp,
                target_lufs, _SPEC_LU, peak_dbtp,
            )  # fmt: skip
        packaged = _write_mp3(enc, done, mp3_path, tags, chapters)
    if segment_cache:
        _keep_for_next(segment_cache, enc, state, done, settings)
    log.info(
        "packaged %s: %.1f s, %d bytes, %.1f LUFS, %.1f dBTP, %d of %d segments encoded,"
        " in %.1f s",
        mp3_path.name, packaged.duration_s, packaged.size_bytes,
        packaged.loudness.integrated_lufs, packaged.loudness.true_peak_dbtp,
        packaged.segments_encoded, packaged.segments, time.perf_counter() - started,
    )  # fmt: skip
    if voice_offsets is None:
        offsets = heard_offsets(packaged.mp3, packaged.timeline, audio, work_dir)
        if offsets:
            log.info("voices heard apart in %s: packaging again with %s", mp3_path.name, offsets)
            return package_episode(
                given, mp3_path, tags, work_dir=work_dir, bitrate_kbps=bitrate_kbps,
                sample_rate=sample_rate, target_lufs=target_lufs, peak_dbtp=peak_dbtp,
                chapters=chapters, jobs=jobs, segment_cache=segment_cache,
                voice_offsets=offsets,
            )  # fmt: skip
    return packaged


def _measure(
    audio: Sequence[ChunkAudio], mp3_path: Path, jobs: int, offsets: Mapping[str, float],
    levels: tuple[float, float], work_dir: Path,
) -> tuple[Measured, Sequence[ChunkAudio]]:  # fmt: skip
    """Every chunk's statistics and identity, and their loudness before any gain; and the
    chunks with each voice's loudness matched."""
    timeline = plan_timeline(audio)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pool.submit(encoder_version)  # part of every segment's key: asked once, meanwhile
        stats = list(pool.map(lambda a: chunk_stats(a.wav, a.frames), audio))
        audio, stats = match_voices(  # several voices: equally loud
            audio, stats, offsets, target_lufs=levels[0], ceiling_dbtp=levels[1],
            work_dir=work_dir,
        )  # fmt: skip
        identities = list(pool.map(chunk_identity, audio))  # the gain is part of one
    return_freed_memory()  # measuring a chunk without statistics leaves FFT buffers
    before = gated_loudness(b for s in stats for b in s.block_lufs)
    if before <= SILENCE_LUFS + 1.0:
        raise PackagingError(f"{mp3_path.name}: the audio is silent; nothing to normalise")
    return Measured(timeline, stats, identities, before), audio


def _start_search(enc: Encoding) -> Search:
    # Aim the segments so the *MP3* lands on target: a little loud, with peak headroom.
    wav_target = enc.target_lufs + MP3_LOUDNESS_LOSS_LU
    wav_ceiling = enc.peak_dbtp - mp3_peak_headroom_db(enc.bitrate_kbps)
    tight = dict(enc.previous.tightened) if enc.previous else {}
    return Search(wav_target, wav_ceiling, tight)


def _search(enc: Encoding, state: Search) -> Pass:
    """Encode the segments until the MP3 is on target, in at most ``_MAX_ATTEMPTS`` passes;
    return the last pass."""
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        if state.peaks_only:
            pass  # same gain and ceiling; only the segments that overshot are tightened
        else:
            choose_gain(enc, state, attempt)
        done = _encode_pass(enc, state, attempt)
        if on_target(enc, done):
            break
        retarget(enc, state, done)
    return done


def _encode_pass(enc: Encoding, state: Search, attempt: int) -> Pass:
    """Encode (or take from the cache) every segment at the state's gain and ceilings."""
    gain, ceiling = state.gain, state.ceiling
    log.debug(
        "gain %+.2f dB, ceiling %.2f dBTP (%.1f LUFS before)", gain, ceiling, enc.measured.before
    )
    settings_for = functools.partial(
        segment_settings, gain, bitrate_kbps=enc.bitrate_kbps, sample_rate=enc.sample_rate
    )
    ceilings = Ceilings(
        functools.partial(keyed_segments, enc.measured.timeline, enc.measured.identities),
        enc.cuts, settings_for, ceiling, enc.peak_dbtp, state.tight,
    )  # fmt: skip
    encoded = encode_segments(
        enc.audio, ceilings.segments(), cache=enc.cache, tmp=enc.tmp, jobs=enc.jobs,
        encode=encode_mp3, bitrate_kbps=enc.bitrate_kbps, sample_rate=enc.sample_rate,
        gain_db=gain, limit_dbtp=ceilings.limits(), redo=ceilings.tighten,
    )  # fmt: skip
    final = combined_loudness(encoded)
    log.debug(
        "attempt %d: WAV aimed at %.2f LUFS / %.2f dBTP -> MP3 %.1f LUFS / %.1f dBTP",
        attempt, state.wav_target, state.wav_ceiling, final.integrated_lufs,
        final.true_peak_dbtp,
    )  # fmt: skip
    return Pass(ceilings, encoded, final)


def _write_mp3(
    enc: Encoding, done: Pass, mp3_path: Path, tags: TagInfo, chapters: Sequence[ChapterMark]
) -> PackagedAudio:
    """Join, check and tag the segments into ``mp3_path``, renamed into place when whole."""
    encoded = done.encoded
    heard = shifted_timeline(enc.measured.timeline, encoded)
    placed = place_chapters(chapters, heard)
    cues = build_cues(enc.audio, heard, _pauses(enc.measured.stats, heard))
    with atomic_path(mp3_path) as part:
        assemble(encoded, part)
        _check_encoded(part, heard.duration_s, enc.sample_rate)
        write_tags(part, tags, placed)
        size = os.stat(part).st_size
    return PackagedAudio(
        mp3_path, heard.duration_s, size, done.final, heard, placed, cues,
        segments_encoded=sum(e.encoded for e in encoded), segments=len(encoded),
    )  # fmt: skip


def _keep_for_next(
    segment_cache: Path, enc: Encoding, state: Search, done: Pass,
    settings: tuple[float, ...],
) -> None:  # fmt: skip
    """Record the gain and tightened ceilings for the next package; drop unused segments."""
    tight = state.tight
    used = {b.key for b in done.ceilings.base} & tight.keys()
    planned = state.record.before_lufs if state.record else enc.measured.before
    write_gain(
        segment_cache / GAIN_FILE,
        GainRecord(
            planned, state.gain, state.ceiling, settings, {k: tight[k] for k in sorted(used)}
        ),
    )
    prune(segment_cache, {e.segment.key for e in done.encoded} | {GAIN_FILE.split(".")[0]})


def _pauses(stats: Sequence[ChunkStats], timeline: Timeline) -> list[tuple[float, float]]:
    """Every chunk's inner pauses, in seconds on ``timeline``."""
    rate = timeline.sample_rate
    return [
        ((span.start_frame + a) / rate, (span.start_frame + b) / rate)
        for chunk, span in zip(stats, timeline.spans, strict=True)
        for a, b in chunk.silences
    ]


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
