"""Segment-wise encoding: exact join timing, loudness from statistics, the segment cache."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mutagen.mp3 import MP3

import tts_pipeline.package as package
import tts_pipeline.package.segments as segments
from tts_pipeline.audio.chunkstats import chunk_stats, gated_loudness, sidecar_path
from tts_pipeline.models import Chunk, ChunkAudio
from tts_pipeline.package import PackagedAudio, TagInfo, package_episode
from tts_pipeline.package import ffmpeg as ff
from tts_pipeline.package.join import join_chunks
from tts_pipeline.package.mp3frames import (
    crc16,
    crc16_combine,
    joined_info_frame,
    split_stream,
)

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
    reason="needs ffmpeg and espeak-ng",
)

RATE = 22050
SENTENCES = (
    "The alignment problem is the challenge of making advanced systems pursue goals that are"
    " compatible with human values. Researchers have proposed interpretability, oversight and"
    " debate; none of them is known to be sufficient on its own.",
    "Number {n}. A pause, then more words: the chunk statistics must find the same pauses and the"
    " same loudness as a measurement of the whole joined episode would.",
)


@pytest.fixture(autouse=True)
def short_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments of 30-60 s, so a two-minute test episode has several."""
    monkeypatch.setattr(segments, "MIN_SEGMENT_S", 30.0)
    monkeypatch.setattr(segments, "MAX_SEGMENT_S", 60.0)


def _tags() -> TagInfo:
    return TagInfo("Segments", ("Ada",), "Tests", datetime(2024, 1, 2, tzinfo=UTC))


def _write(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm.astype("<i2").tobytes())


def _item(path: Path, index: int, pause_ms: int) -> ChunkAudio:
    with wave.open(str(path), "rb") as reader:
        frames = reader.getnframes()
    return ChunkAudio(Chunk(index, f"chunk {index}", pause_ms, 0), path, frames, RATE)


ONSET = 441  # 20 ms of digital silence before each tone starts, at full amplitude


def _tone_chunks(folder: Path, count: int = 7) -> list[ChunkAudio]:
    """Tone bursts of 13-17 s with a hard onset: where each is heard can be found exactly."""
    chunks = []
    for n in range(count):
        frames = RATE * 13 + 9_973 * n
        t = np.arange(frames - ONSET) / RATE
        tone = 9000 * np.sin(2 * math.pi * (300 + 70 * n) * t + math.pi / 2)  # starts at peak
        _write(folder / f"tone{n}.wav", np.concatenate((np.zeros(ONSET), tone)))
        chunks.append(_item(folder / f"tone{n}.wav", n, 700 + 130 * n))
    return chunks


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> list[ChunkAudio]:
    folder = tmp_path_factory.mktemp("speech")
    chunks = []
    for n in range(8):
        wav = folder / f"speech{n}.wav"
        text = SENTENCES[n % 2].format(n=n)
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(wav), text], check=True)
        chunks.append(_item(wav, n, 800 if n % 3 else 400))
    return chunks


def _decode(mp3: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64)


def _without_id3(data: bytes) -> bytes:
    if data[:3] != b"ID3":
        return data
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | byte
    return data[10 + size :]


def test_chunks_are_heard_where_the_timeline_says(tmp_path: Path) -> None:
    chunks = _tone_chunks(tmp_path)
    result = package_episode(chunks, tmp_path / "ep.mp3", _tags(), work_dir=tmp_path / "w")
    assert result.segments >= 2  # ~105 s of audio in 30-60 s segments
    pcm = _decode(result.mp3)
    out_rate = 44100
    # A gapless decoder (the Info frame's delay and padding) outputs exactly the timeline.
    assert len(pcm) == result.timeline.total_frames * out_rate // RATE
    level = np.abs(pcm).max()
    for span in result.timeline.spans:
        expected = (span.start_frame + ONSET) / RATE
        lo = max(0, round((expected - 0.1) * out_rate))
        window = pcm[lo : round((expected + 0.1) * out_rate)]
        heard = (lo + int(np.argmax(np.abs(window) > 0.5 * level))) / out_rate
        assert abs(heard - expected) < 0.002, (span.index, heard, expected)
        # The pause before each chunk is silence, joins included.
        if span.index:
            gap = pcm[int((expected - 0.3) * out_rate) : int((expected - 0.02) * out_rate)]
            assert np.abs(gap).max() < 0.01 * level
    # Each join lengthens its pause by the end padding and the encoder delay: 25-52 ms.
    planned = {c.chunk.index: round(c.chunk.pause_after_ms * RATE / 1000) for c in chunks}
    added = [s.pause_frames - planned[s.index] for s in result.timeline.spans[:-1]]
    assert sum(1 for a in added if a) == result.segments - 1
    assert all(a == 0 or 1105 // 2 <= a <= (1105 + 1152) // 2 for a in added)
    assert result.timeline.spans[-1].pause_frames == 0
    # Players agree on the length: ffprobe and mutagen read the one Info frame.
    assert abs(ff.probe(result.mp3).duration_s - result.duration_s) < 0.1
    assert abs(MP3(result.mp3).info.length - result.duration_s) < 0.1
    assert ff.decode_errors(result.mp3) == ""
    # Chapters and cues use the same shifted timeline.
    assert result.cues[3].start_frame == result.timeline.spans[3].start_frame


def test_joined_stream_has_one_correct_info_frame(tmp_path: Path) -> None:
    chunks = _tone_chunks(tmp_path, count=5)
    result = package_episode(chunks, tmp_path / "ep.mp3", _tags(), work_dir=tmp_path / "w")
    stream = split_stream(_without_id3(result.mp3.read_bytes()))
    assert stream.info.delay == 576
    assert stream.content_samples == result.timeline.total_frames * 2
    assert stream.info.music_crc == crc16(stream.audio)
    assert result.segments >= 2


def test_info_frame_and_crc_match_what_ffmpeg_writes(tmp_path: Path) -> None:
    wav, mp3 = tmp_path / "a.wav", tmp_path / "a.mp3"
    _write(wav, 5000 * np.sin(np.arange(3 * RATE) / 7))
    ff.encode_mp3(wav, mp3, bitrate_kbps=64, sample_rate=44100)
    data = mp3.read_bytes()
    stream = split_stream(data)
    assert stream.content_samples == 3 * RATE * 2
    ends = {i: len(stream.info_frame) + end for i, end in enumerate(stream.frame_ends)}
    rebuilt = joined_info_frame(
        stream.info_frame,
        frames=stream.info.frames,
        total_bytes=len(data),
        delay=stream.info.delay,
        padding=stream.info.padding,
        music_crc=stream.info.music_crc,
        frame_ends=ends,
    )
    assert rebuilt == stream.info_frame  # byte for byte, seek table and tag CRC included
    audio = bytes(stream.audio)
    for cut in (0, 1, 417, len(audio) // 2, len(audio)):
        assert crc16_combine(crc16(audio[:cut]), crc16(audio[cut:]), len(audio) - cut) == crc16(
            audio
        )
    with pytest.raises(Exception, match="frames"):
        split_stream(data[:-100])


def test_chunk_statistics_agree_with_ffmpeg_on_the_joined_audio(
    tmp_path: Path, speech: list[ChunkAudio]
) -> None:
    joined = tmp_path / "joined.wav"
    timeline = join_chunks(speech, joined)
    stats = [chunk_stats(c.wav, c.frames) for c in speech]
    ours = gated_loudness(b for s in stats for b in s.block_lufs)
    assert abs(ours - ff.measure_integrated(joined)) <= 0.2
    # The pauses inside chunks are silencedetect's, to its printed precision.
    theirs = ff.detect_silences(joined)
    for s, span in zip(stats, timeline.spans, strict=True):
        assert s.silences  # espeak pauses between clauses
        for a, b in s.silences:
            start, end = (span.start_frame + a) / RATE, (span.start_frame + b) / RATE
            if a == 0 or b == span.frames:
                continue  # runs into the pause around the chunk: one longer silence there
            assert any(abs(x - start) < 0.002 and abs(y - end) < 0.002 for x, y in theirs)
    assert not sidecar_path(speech[0].wav).exists()  # not a cache entry: nothing written


def test_loudness_from_segment_meters_matches_the_final_mp3(
    tmp_path: Path, speech: list[ChunkAudio]
) -> None:
    result = package_episode(speech, tmp_path / "ep.mp3", _tags(), work_dir=tmp_path / "w")
    assert result.segments >= 2
    measured = ff.measure_loudness(result.mp3)
    assert abs(measured.integrated_lufs - result.loudness.integrated_lufs) <= 0.3
    assert abs(measured.true_peak_dbtp - result.loudness.true_peak_dbtp) <= 0.3
    assert -16.5 <= measured.integrated_lufs <= -15.5
    assert measured.true_peak_dbtp <= -1.0


def test_a_peak_overshoot_re_encodes_only_the_segments_over_and_is_remembered(
    tmp_path: Path, speech: list[ChunkAudio], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # No headroom below the limit for the codec's overshoot: the MP3s of the limited speech
    # land above -1 dBTP, so the segments over it must be limited harder and encoded again,
    # each at once in its own thread: one pass over the episode, not a second one after it.
    caplog.set_level(logging.DEBUG, logger="tts_pipeline.package")
    monkeypatch.setattr(package, "mp3_peak_headroom_db", lambda kbps: -0.5)
    encodes: list[float] = []
    real_encode = ff.encode_mp3

    def counting(*args: Any, **kwargs: Any) -> Any:
        encodes.append(kwargs["limit_dbtp"])
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(package, "encode_mp3", counting)
    result = _package(speech, tmp_path)
    measured = ff.measure_loudness(result.mp3)
    assert -16.5 <= measured.integrated_lufs <= -15.5
    assert measured.true_peak_dbtp <= -1.0
    assert abs(measured.true_peak_dbtp - result.loudness.true_peak_dbtp) <= 0.3
    tightened = json.loads((tmp_path / "segments" / "gain.json").read_text())["tightened"]
    assert tightened and len(encodes) == result.segments + len(tightened)
    assert sum(limit < encodes[0] for limit in encodes) == len(tightened)
    assert [r.getMessage() for r in caplog.records if "segments to encode" in r.getMessage()] == [
        f"{result.segments} of {result.segments} segments to encode in 2 jobs"
    ]
    # The next package knows which segments needed the tighter limit: nothing is encoded.
    encodes.clear()
    again = _package(speech, tmp_path)
    assert encodes == [] and again.segments_encoded == 0
    assert again.mp3.read_bytes() == result.mp3.read_bytes()


def _cached_copy(chunks: list[ChunkAudio], cache: Path) -> list[ChunkAudio]:
    """The chunks as content-addressed cache entries (named by a 64-hex key)."""
    out = []
    for c in chunks:
        key = hashlib.sha256(b"%d" % c.chunk.index).hexdigest()
        shutil.copy(c.wav, cache / f"{key}.wav")
        out.append(ChunkAudio(c.chunk, cache / f"{key}.wav", c.frames, c.sample_rate))
    return out


def _package(chunks: list[ChunkAudio], root: Path, jobs: int = 2) -> PackagedAudio:
    return package_episode(
        chunks, root / "ep.mp3", _tags(), work_dir=root / "work", jobs=jobs,
        segment_cache=root / "segments",
    )  # fmt: skip


def test_edit_re_encodes_only_its_segment_and_unused_ones_are_pruned(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    chunks = _cached_copy(_tone_chunks(tmp_path, count=9), tmp_path / "cache")
    first = _package(chunks, tmp_path)
    assert first.segments >= 3 and first.segments_encoded == first.segments
    assert all(sidecar_path(c.wav).is_file() for c in chunks)  # statistics cached beside them
    original = first.mp3.read_bytes()

    again = _package(chunks, tmp_path)
    assert again.segments_encoded == 0
    assert again.mp3.read_bytes() == original

    # One chunk in the middle changes (a different paragraph, same key scheme).
    middle = len(chunks) // 2
    edited_wav = tmp_path / "cache" / f"{'e' * 64}.wav"
    # As loud as the others, as an edited paragraph of the same voice is.
    _write(edited_wav, 9000 * np.sin(2 * math.pi * 500 * np.arange(RATE * 12) / RATE))
    edited = list(chunks)
    edited[middle] = ChunkAudio(chunks[middle].chunk, edited_wav, RATE * 12, RATE)
    gain_before = json.loads((tmp_path / "segments" / "gain.json").read_text())
    result = _package(edited, tmp_path)
    assert 1 <= result.segments_encoded <= 2 < result.segments
    assert json.loads((tmp_path / "segments" / "gain.json").read_text()) == gain_before
    kept = sorted(p.name for p in (tmp_path / "segments").glob("*.mp3"))
    assert len(kept) == result.segments  # the replaced segment was pruned
    # Untouched segments are the very same bytes: the audio before the edit is unchanged.
    before, after = _decode(first.mp3), _decode(result.mp3)
    head = result.timeline.spans[middle].start_frame * 2 - 44100
    assert head > 0 and np.array_equal(before[:head], after[:head])


_KILL_SCRIPT = """
import sys, wave
from datetime import UTC, datetime
from pathlib import Path
from tts_pipeline.models import Chunk, ChunkAudio
from tts_pipeline.package import TagInfo, package_episode, segments
segments.MIN_SEGMENT_S, segments.MAX_SEGMENT_S = 30.0, 60.0
root = Path(sys.argv[1])
chunks = []
for n, arg in enumerate(sys.argv[2:]):
    name, pause = arg.rsplit(":", 1)
    with wave.open(name) as r:
        chunks.append(ChunkAudio(Chunk(n, "c", int(pause), 0), Path(name), r.getnframes(), 22050))
package_episode(chunks, root / "ep.mp3", TagInfo("t", (), "a", datetime(2024, 1, 1, tzinfo=UTC)),
                work_dir=root / "work", jobs=1, segment_cache=root / "segments")
"""


def test_kill_mid_package_keeps_the_old_episode_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    chunks = _cached_copy(_tone_chunks(tmp_path, count=9), tmp_path / "cache")
    (tmp_path / "ep.mp3").write_bytes(b"the old episode")
    args = [
        sys.executable,
        "-c",
        _KILL_SCRIPT,
        str(tmp_path),
        *(f"{c.wav}:{c.chunk.pause_after_ms}" for c in chunks),
    ]
    proc = subprocess.Popen(args, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "segments").glob("*.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no segment was encoded"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (tmp_path / "ep.mp3").read_bytes() == b"the old episode"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ep.mp3")]
    done = len(list((tmp_path / "segments").glob("*.json")))
    assert done >= 1

    result = _package(chunks, tmp_path, jobs=1)
    assert result.segments_encoded <= result.segments - done  # the finished ones were kept
    assert ff.decode_errors(result.mp3) == ""
    assert not [p for p in (tmp_path / "segments").iterdir() if p.name.startswith(".")]
