"""Segment-wise encoding: an episode as 2-4 minute pieces, encoded in parallel, cached, joined.

LAME is single-threaded and the slowest stage, so an episode is cut into segments of 2-4 min
of audio, always after a chunk's pause (every join falls in silence), and up to ``jobs``
segments are encoded at once, longest first, each by its own ffmpeg (gain, the 4x oversampled
limiter, LAME CBR), then metered by decoding the MP3 written; a caller may have a segment
encoded once more, in the same thread, as soon as its meter has read it (``redo``). Each
encode starts with an empty bit reservoir, so the segments' frames concatenate into a valid
stream (``mp3frames``); a decoder outputs each segment's audio after the previous segment's
end padding and the next one's encoder delay, in silence, and the timeline is shifted by
exactly those samples.

Where a segment is cut depends on the chunks themselves (past 120 s, after a chunk whose cache
key has a given bit, or before 240 s would be passed), so an edit moves no cut far from it.
A segment's MP3 is cached under the address of everything it is made from (its chunks, their
pauses, gain, limiter ceiling, encoder settings and version): an edited paragraph re-encodes
only its segment(s). Segments unused by the latest package of the episode are pruned.
"""

from __future__ import annotations

import array
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tts_pipeline.audio.chunkstats import CACHE_KEY, gated_loudness
from tts_pipeline.errors import PackagingError
from tts_pipeline.fsutil import atomic_path, atomic_write_text
from tts_pipeline.memory import return_freed_memory
from tts_pipeline.models import ChunkAudio, Loudness
from tts_pipeline.package.ffmpeg import encoder_version
from tts_pipeline.package.join import ChunkSpan, Timeline, join_chunks
from tts_pipeline.package.mp3frames import (
    Mp3Stream,
    crc16_combine,
    joined_info_frame,
    split_stream,
)

log = logging.getLogger(__name__)

# 2: shorter resampling filters; 3: the limiter's products above the source's band removed
SEGMENT_SCHEMA = "tts_pipeline.segment/3"
# Each segment costs two ffmpeg start-ups (encoder and meter, ~0.05 CPU-s each, measured),
# 12 % of encoding a minute of audio; an edit re-encodes one or two segments (2-4 minutes:
# ~3 CPU-s). 37 segments of 1-2 min for 63 minutes of speech cost 2.3 CPU-s more than 21 of
# 2-4 min (measured); an edited paragraph stayed under 7 % of the cold run.
MIN_SEGMENT_S = 120.0
MAX_SEGMENT_S = 240.0


# Given segment n's fresh encode and the ceiling it was limited to, another (segment, ceiling)
# to encode it as instead, or None.
Redo = Callable[[int, "EncodedSegment", float], "tuple[Segment, float] | None"]


class Encode(Protocol):
    """``ffmpeg.encode_mp3``'s signature, as the package stage passes it in."""

    def __call__(
        self, src: Path, dst: Path, *, bitrate_kbps: int, sample_rate: int,
        gain_db: float | None = None, limit_dbtp: float = 0.0, measure: bool = False,
        momentary: list[float] | None = None, source_rate: int = 0,
    ) -> Loudness | None: ...  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """Chunks ``first`` up to ``stop`` (positions in the episode's audio), with their pauses."""

    first: int
    stop: int
    key: str


@dataclass(frozen=True)
class EncodedSegment:
    segment: Segment
    mp3: Path
    frames: int  # audio frames (the Info frame not counted)
    samples_per_frame: int
    sample_rate: int  # of the MP3
    content_samples: int  # samples of the segment's own audio, at the MP3's rate
    loudness: Loudness  # this segment alone, as metered while it was encoded
    blocks: array.array[float]  # its 400 ms block loudnesses above -70 LUFS
    encoded: bool  # False when it came from the cache


def chunk_identity(item: ChunkAudio) -> str:
    """The chunk's cache key (its file name), or for a WAV outside the cache its content hash."""
    gain = f"{item.gain_db:+.2f}dB" if item.gain_db else ""  # a voice matched in loudness
    if CACHE_KEY.fullmatch(item.wav.stem):
        return item.wav.stem + gain
    try:
        return hashlib.sha256(item.wav.read_bytes()).hexdigest() + gain
    except OSError as exc:
        raise PackagingError(f"cannot read {item.wav}: {exc}", path=str(item.wav)) from exc


def plan_segments(timeline: Timeline, identities: Sequence[str]) -> list[tuple[int, int]]:
    """Cut the chunks into runs of 2-4 minutes, after pauses, at places their content decides."""
    rate, spans = timeline.sample_rate, timeline.spans
    shortest, longest = MIN_SEGMENT_S * rate, MAX_SEGMENT_S * rate
    cuts: list[tuple[int, int]] = []
    first = length = 0
    for pos, span in enumerate(spans[:-1]):
        length += span.frames + span.pause_frames
        after = spans[pos + 1].frames + spans[pos + 1].pause_frames
        marked = int(identities[pos][:8], 16) % 2 == 0
        if span.pause_frames and length >= shortest and (marked or length + after > longest):
            cuts.append((first, pos + 1))
            first, length = pos + 1, 0
    cuts.append((first, len(spans)))
    return cuts


def segment_key(
    spans: Sequence[ChunkSpan], identities: Sequence[str], *, sample_rate: int,
    settings: Sequence[object],
) -> str:  # fmt: skip
    fields: list[object] = [SEGMENT_SCHEMA, encoder_version(), sample_rate, list(settings)]
    fields += [[i, s.frames, s.pause_frames] for i, s in zip(identities, spans, strict=True)]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


def keyed_segments(
    timeline: Timeline, identities: Sequence[str], cuts: Sequence[tuple[int, int]],
    settings: Sequence[object],
) -> list[Segment]:  # fmt: skip
    """The segments of ``cuts``, each addressed by its chunks, pauses and ``settings``."""
    last = len(timeline.spans)
    return [
        Segment(
            first,
            stop,
            segment_key(
                timeline.spans[first:stop],
                identities[first:stop],
                sample_rate=timeline.sample_rate,
                settings=[*settings, stop == last],
            ),
        )
        for first, stop in cuts
    ]


def _encoded_segment(
    segment: Segment, mp3: Path, stream: Mp3Stream, loudness: Loudness, blocks: Sequence[float],
    *, encoded: bool,
) -> EncodedSegment:  # fmt: skip
    return EncodedSegment(
        segment, mp3, stream.info.frames, stream.header.samples, stream.header.sample_rate,
        stream.content_samples, loudness, array.array("d", blocks), encoded=encoded,
    )  # fmt: skip


def _cached(segment: Segment, cache: Path) -> EncodedSegment | None:
    mp3, meta = cache / f"{segment.key}.mp3", cache / f"{segment.key}.json"
    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
        stream = split_stream(mp3.read_bytes(), name=str(mp3))
        loudness = Loudness(float(record["lufs"]), float(record["true_peak"]))
        blocks = array.array("d", record["blocks"])
    except (OSError, ValueError, KeyError, TypeError, PackagingError):
        return None
    return _encoded_segment(segment, mp3, stream, loudness, blocks, encoded=False)


def _encode(
    audio: Sequence[ChunkAudio], segment: Segment, last: bool, *, cache: Path, tmp: Path,
    encode: Encode, bitrate_kbps: int, sample_rate: int, gain_db: float, limit_dbtp: float,
) -> EncodedSegment:  # fmt: skip
    wav = tmp / f"segment-{segment.first}.wav"
    mp3 = cache / f"{segment.key}.mp3"
    try:
        join_chunks(audio[segment.first : segment.stop], wav, trailing_pause=not last)
        blocks: list[float] = []
        with atomic_path(mp3) as part:
            loudness = encode(
                wav, part, bitrate_kbps=bitrate_kbps, sample_rate=sample_rate,
                gain_db=gain_db, limit_dbtp=limit_dbtp, measure=True, momentary=blocks,
                source_rate=audio[segment.first].sample_rate,
            )  # fmt: skip
            if loudness is None:
                raise PackagingError("the encoder was not metered", path=str(wav))
            stream = split_stream(part.read_bytes(), name=str(mp3))
    finally:
        wav.unlink(missing_ok=True)
    record = {"lufs": loudness.integrated_lufs, "true_peak": loudness.true_peak_dbtp}
    atomic_write_text(mp3.with_suffix(".json"), json.dumps({**record, "blocks": blocks}))
    return_freed_memory()  # each encode's freed buffers (malloc_trim walks every arena)
    return _encoded_segment(segment, mp3, stream, loudness, blocks, encoded=True)


def encode_segments(
    audio: Sequence[ChunkAudio], segments: Sequence[Segment], *, cache: Path, tmp: Path,
    jobs: int, encode: Encode, bitrate_kbps: int, sample_rate: int, gain_db: float,
    limit_dbtp: float | Sequence[float], redo: Redo | None = None,
) -> list[EncodedSegment]:  # fmt: skip
    """Every segment's MP3: from ``cache`` when there, else encoded, ``jobs`` at a time.

    ``limit_dbtp`` is the limiter's ceiling for all segments, or one per segment. ``redo``
    sees each fresh encode in the thread that made it and may ask for it once more under
    another key and ceiling: a segment that missed is re-encoded while the others are still
    encoding, not after all of them."""
    limits = [limit_dbtp] * len(segments) if isinstance(limit_dbtp, float | int) else limit_dbtp
    encode_one = functools.partial(
        _encode, audio, cache=cache, tmp=tmp, encode=encode, bitrate_kbps=bitrate_kbps,
        sample_rate=sample_rate, gain_db=gain_db,
    )  # fmt: skip

    def make(n: int) -> EncodedSegment:
        last = n == len(segments) - 1
        result = encode_one(segments[n], last, limit_dbtp=limits[n])
        again = redo(n, result, limits[n]) if redo else None
        if again is None:
            return result
        return _cached(again[0], cache) or encode_one(again[0], last, limit_dbtp=again[1])

    cache.mkdir(parents=True, exist_ok=True)
    done: list[EncodedSegment | None] = [_cached(s, cache) for s in segments]
    todo = [n for n, found in enumerate(done) if found is None]
    # Longest first: the last encodes to start are the shortest, so the jobs finish together.
    todo.sort(key=lambda n: -sum(a.frames for a in audio[segments[n].first : segments[n].stop]))
    log.info("%d of %d segments to encode in %d jobs", len(todo), len(segments), jobs)
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
            futures = {n: pool.submit(make, n) for n in todo}
            try:
                for n, future in futures.items():
                    done[n] = future.result()
            except BaseException:
                for future in futures.values():  # start nothing more; running encodes finish
                    future.cancel()
                raise
    return [d for d in done if d is not None]


def combined_loudness(encoded: Sequence[EncodedSegment]) -> Loudness:
    """The joined MP3's loudness from its segments' meters: their blocks gated together
    (BS.1770's integration over every block of the stream) and the highest true peak."""
    if len(encoded) == 1:
        return encoded[0].loudness
    lufs = gated_loudness(b for e in encoded for b in e.blocks)
    peak = max(e.loudness.true_peak_dbtp for e in encoded)
    return Loudness(integrated_lufs=round(lufs, 1), true_peak_dbtp=peak)


def shifted_timeline(timeline: Timeline, encoded: Sequence[EncodedSegment]) -> Timeline:
    """Where every chunk is heard in the joined MP3, in frames at the chunks' own rate.

    A gapless decoder skips the stream's delay, so segment n's audio starts exactly after
    the frames of segments 0..n-1; its chunks keep their places within it. Each join
    lengthens the pause before it by the padding and the encoder delay between the two.
    """
    spans: list[ChunkSpan] = []
    out_start = 0  # where the segment's audio starts in the MP3's output, in output samples
    out_rate = 1
    for seg in encoded:
        out_rate = seg.sample_rate
        base = timeline.spans[seg.segment.first].start_frame
        start = round(out_start * timeline.sample_rate / out_rate)
        for span in timeline.spans[seg.segment.first : seg.segment.stop]:
            spans.append(ChunkSpan(span.index, start + span.start_frame - base, span.frames, 0))
        out_start += seg.frames * seg.samples_per_frame
    end = out_start - encoded[-1].frames * encoded[-1].samples_per_frame
    total = round((end + encoded[-1].content_samples) * timeline.sample_rate / out_rate)
    fixed = [
        ChunkSpan(s.index, s.start_frame, s.frames, nxt - s.end_frame)
        for s, nxt in zip(spans, [t.start_frame for t in spans[1:]] + [total], strict=True)
    ]
    return Timeline(timeline.sample_rate, total, tuple(fixed))


def assemble(encoded: Sequence[EncodedSegment], out: Path) -> None:
    """Write one Info frame for the whole stream, then every segment's frames, into ``out``.

    One segment is read at a time (memory does not grow with the episode); the Info frame
    is written first as a placeholder and again once the frame count and CRC are known.
    """
    total_frames = sum(e.frames for e in encoded)
    marks = sorted({min(i * total_frames // 100, total_frames - 1) for i in range(1, 100)})
    ends: dict[int, int] = {}
    crc = first_frame = padding = delay = 0
    template = b""
    try:
        with open(out, "wb") as sink:
            for n, seg in enumerate(encoded):
                stream = split_stream(seg.mp3.read_bytes(), name=str(seg.mp3))
                if stream.info.frames != seg.frames:
                    raise PackagingError(f"{seg.mp3} changed while packaging", path=str(seg.mp3))
                if n == 0:
                    template, delay = stream.info_frame, stream.info.delay
                    sink.write(template)
                padding = stream.info.padding  # the stream's end is the last segment's
                base = sink.tell()
                for mark in marks:
                    if first_frame <= mark < first_frame + seg.frames:
                        ends[mark] = base + stream.frame_ends[mark - first_frame]
                sink.write(stream.audio)
                crc = crc16_combine(crc, stream.info.music_crc, len(stream.audio))
                first_frame += seg.frames
            total_bytes = sink.tell()
            info = joined_info_frame(
                template, frames=total_frames, total_bytes=total_bytes, delay=delay,
                padding=padding, music_crc=crc,
                frame_ends=ends,
            )  # fmt: skip
            sink.seek(0)
            sink.write(info)
    except OSError as exc:
        raise PackagingError(f"cannot write {out}: {exc}", path=str(out)) from exc


def prune(cache: Path, keep: set[str]) -> int:
    """Remove cached segments (and strays) not in ``keep``; return how many MP3s went."""
    removed = 0
    for path in cache.iterdir():
        if path.name.split(".")[0] in keep:
            continue
        removed += path.suffix == ".mp3"
        path.unlink(missing_ok=True)
    return removed
