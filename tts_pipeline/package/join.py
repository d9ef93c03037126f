"""Join synthesised chunk WAVs into one WAV, with the planned pauses, in flat memory.

Each chunk is copied block by block into a single output file, so memory does not grow with
the episode (pydub's ``+`` copies the whole episode on every join: quadratic time and memory).
The returned :class:`Timeline` records where every chunk starts, in frames of the joined PCM;
chapters and timed transcripts are computed from it, never from MP3 headers.
"""

from __future__ import annotations

import contextlib
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.audio.gain import scaled
from tts_pipeline.errors import PackagingError
from tts_pipeline.models import ChunkAudio

_BLOCK_FRAMES = 64 * 1024  # ~3 s at 22.05 kHz: large enough for speed, small enough for memory


@dataclass(frozen=True)
class ChunkSpan:
    """Where one chunk's audio sits in the joined PCM."""

    index: int  # the Chunk's index
    start_frame: int
    frames: int  # the chunk's own audio
    pause_frames: int  # silence written after it (0 after the last chunk)

    @property
    def end_frame(self) -> int:
        """First frame after the chunk's own audio (the pause starts here)."""
        return self.start_frame + self.frames


@dataclass(frozen=True)
class Timeline:
    """The joined audio's layout: per-chunk spans, total length and sample rate."""

    sample_rate: int
    total_frames: int
    spans: tuple[ChunkSpan, ...]

    @property
    def duration_s(self) -> float:
        return self.total_frames / self.sample_rate

    def seconds(self, frame: int) -> float:
        return frame / self.sample_rate


@dataclass(frozen=True)
class _Format:
    channels: int
    sample_width: int
    sample_rate: int


def _read_format(item: ChunkAudio) -> tuple[_Format, int]:
    try:
        with wave.open(str(item.wav), "rb") as reader:
            fmt = _Format(reader.getnchannels(), reader.getsampwidth(), reader.getframerate())
            return fmt, reader.getnframes()
    except (OSError, EOFError, wave.Error) as exc:
        raise PackagingError(
            f"chunk {item.chunk.index}: cannot read {item.wav}: {exc}", path=str(item.wav)
        ) from exc


def _plan(audio: Sequence[ChunkAudio], trailing_pause: bool) -> tuple[Timeline, _Format]:
    """Check every chunk's WAV header against the first and lay the chunks out end to end."""
    if not audio:
        raise PackagingError("no audio chunks to join")
    first_fmt: _Format | None = None
    spans: list[ChunkSpan] = []
    position = 0
    for n, item in enumerate(audio):
        fmt, frames = _read_format(item)
        if first_fmt is None:
            first_fmt = fmt
        elif fmt != first_fmt:
            raise PackagingError(
                f"chunk {item.chunk.index}: {item.wav} is {fmt.channels} ch,"
                f" {8 * fmt.sample_width}-bit, {fmt.sample_rate} Hz but earlier chunks are"
                f" {first_fmt.channels} ch, {8 * first_fmt.sample_width}-bit,"
                f" {first_fmt.sample_rate} Hz",
                path=str(item.wav),
            )
        # A mismatch means a truncated cache file or a placeholder header (espeak-ng --stdout
        # writes a ~13.5 h size); either way the timeline would be wrong.
        if frames != item.frames or fmt.sample_rate != item.sample_rate:
            raise PackagingError(
                f"chunk {item.chunk.index}: {item.wav} holds {frames} frames at"
                f" {fmt.sample_rate} Hz, expected {item.frames} at {item.sample_rate} Hz",
                path=str(item.wav),
            )
        # No pause after the last chunk: the engine's own trailing silence ends the episode.
        last = n == len(audio) - 1 and not trailing_pause
        pause = 0 if last else round(max(item.chunk.pause_after_ms, 0) * fmt.sample_rate / 1000)
        spans.append(ChunkSpan(item.chunk.index, position, frames, pause))
        position += frames + pause
    assert first_fmt is not None
    return Timeline(first_fmt.sample_rate, position, tuple(spans)), first_fmt


def _copy_frames(item: ChunkAudio, writer: wave.Wave_write, expected: int) -> None:
    copied = 0
    try:
        with wave.open(str(item.wav), "rb") as reader:
            while block := reader.readframes(_BLOCK_FRAMES):
                writer.writeframesraw(scaled(block, item.gain_db))
                copied += len(block) // (reader.getsampwidth() * reader.getnchannels())
    except (OSError, EOFError, wave.Error) as exc:
        raise PackagingError(
            f"chunk {item.chunk.index}: cannot read {item.wav}: {exc}", path=str(item.wav)
        ) from exc
    if copied != expected:
        raise PackagingError(
            f"chunk {item.chunk.index}: {item.wav} is truncated"
            f" ({copied} of {expected} frames readable)",
            path=str(item.wav),
        )


def plan_timeline(audio: Sequence[ChunkAudio]) -> Timeline:
    """The layout :func:`join_chunks` would write, from the WAV headers alone."""
    return _plan(audio, False)[0]


def join_chunks(
    audio: Sequence[ChunkAudio], out_wav: Path, *, trailing_pause: bool = False
) -> Timeline:
    """Write the chunks, each followed by its pause, into ``out_wav``; return the layout.

    The last chunk's pause is written only with ``trailing_pause`` (a piece of an episode
    that more audio follows). All chunks must share channels, sample width and rate. On
    failure ``out_wav`` is removed.
    """
    timeline, fmt = _plan(audio, trailing_pause)
    frame_bytes = fmt.sample_width * fmt.channels
    longest_pause = max(span.pause_frames for span in timeline.spans)
    silence = bytes(min(_BLOCK_FRAMES, longest_pause) * frame_bytes)
    try:
        with wave.open(str(out_wav), "wb") as writer:
            writer.setnchannels(fmt.channels)
            writer.setsampwidth(fmt.sample_width)
            writer.setframerate(fmt.sample_rate)
            # Declaring the final length up front means the header is written once, correct.
            writer.setnframes(timeline.total_frames)
            for item, span in zip(audio, timeline.spans, strict=True):
                _copy_frames(item, writer, span.frames)
                remaining = span.pause_frames
                while remaining > 0:
                    step = min(remaining, _BLOCK_FRAMES)
                    writer.writeframesraw(silence[: step * frame_bytes])
                    remaining -= step
    except BaseException as exc:
        with contextlib.suppress(OSError):
            out_wav.unlink()
        if isinstance(exc, (OSError, wave.Error)):
            raise PackagingError(f"cannot write {out_wav}: {exc}", path=str(out_wav)) from exc
        raise
    return timeline
