"""The package stage against real espeak-ng speech, real ffmpeg and real mutagen."""

from __future__ import annotations

import array
import math
import os
import shutil
import struct
import subprocess
import wave
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode

import tts_pipeline.package as package
from tts_pipeline.errors import PackagingError
from tts_pipeline.models import Chunk, ChunkAudio
from tts_pipeline.package import PackagedAudio, TagInfo, package_episode
from tts_pipeline.package import ffmpeg as ff
from tts_pipeline.package.cover import SIZE, default_cover, render_rows
from tts_pipeline.package.join import join_chunks
from tts_pipeline.package.loudness import normalise
from tts_pipeline.package.tags import read_tags, write_tags

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None,
    reason="needs ffmpeg and espeak-ng",
)

PARAGRAPHS = (
    "Welcome to the test podcast. This is: a short post about alignment, published by"
    " Ada Lovelace on May 26, 2023.",
    "The alignment problem is the challenge of making advanced systems pursue goals that are"
    " compatible with human values, even when those systems are more capable than we are.",
    "Researchers have proposed many approaches, including interpretability, scalable oversight"
    " and debate. None of them is known to be sufficient on its own.",
    "Thanks for listening. To learn more, please visit the forum.",
)
PAUSES_MS = (600, 1000, 250, 600)


def _wav_chunk(path: Path, index: int, pause_ms: int, text: str = "") -> ChunkAudio:
    with wave.open(str(path), "rb") as reader:
        frames, rate = reader.getnframes(), reader.getframerate()
    return ChunkAudio(Chunk(index, text, pause_ms, 0), path, frames, rate)


def _sine_wav(path: Path, frames: int, rate: int = 22050, freq: float = 440.0) -> None:
    samples = array.array(
        "h", (round(8000 * math.sin(2 * math.pi * freq * n / rate)) for n in range(frames))
    )
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())


def _espeak_chunks(folder: Path) -> list[ChunkAudio]:
    chunks = []
    for n, (text, pause) in enumerate(zip(PARAGRAPHS, PAUSES_MS, strict=True)):
        wav = folder / f"chunk{n}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "175", "-w", str(wav), text], check=True)
        chunks.append(_wav_chunk(wav, n, pause, text))
    return chunks


def _tag_info(cover: Path | None = None) -> TagInfo:
    return TagInfo(
        title="AF - A short post about alignment by Ada Lovelace",
        artists=("Ada Lovelace", "Émilie du Châtelet"),
        album="The Test Library",
        date=datetime(2023, 5, 26, 14, 30, tzinfo=UTC),
        source_url="https://www.alignmentforum.org/posts/abc123/a-short-post",
        description="A short post, read aloud.",
        cover=cover,
    )


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[PackagedAudio, list[ChunkAudio]]:
    root = tmp_path_factory.mktemp("package")
    chunks = _espeak_chunks(root)
    result = package_episode(
        chunks,
        root / "out" / "AF-abc123.mp3",
        _tag_info(),
        work_dir=root / "work",
        bitrate_kbps=64,
        sample_rate=44100,
    )
    return result, chunks


# --- join -----------------------------------------------------------------------------------


def test_join_writes_exact_frames_and_pauses(tmp_path: Path) -> None:
    sizes, pauses = (1000, 2205, 500), (100, 200, 1000)  # 100 ms = 2205 frames at 22.05 kHz
    chunks = []
    for n, (frames, pause) in enumerate(zip(sizes, pauses, strict=True)):
        _sine_wav(tmp_path / f"c{n}.wav", frames, freq=300 + 100 * n)
        chunks.append(_wav_chunk(tmp_path / f"c{n}.wav", n, pause))
    out = tmp_path / "joined.wav"

    timeline = join_chunks(chunks, out)

    expected_total = 1000 + 2205 + 2205 + 4410 + 500  # no pause after the last chunk
    assert timeline.total_frames == expected_total
    assert [s.start_frame for s in timeline.spans] == [0, 3205, 9820]
    assert [s.pause_frames for s in timeline.spans] == [2205, 4410, 0]
    assert timeline.sample_rate == 22050
    with wave.open(str(out), "rb") as reader:
        assert reader.getnframes() == expected_total
        assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
        joined = reader.readframes(expected_total)
    for chunk, span in zip(chunks, timeline.spans, strict=True):
        with wave.open(str(chunk.wav), "rb") as reader:
            original = reader.readframes(chunk.frames)
        assert joined[2 * span.start_frame : 2 * span.end_frame] == original
        gap = joined[2 * span.end_frame : 2 * (span.end_frame + span.pause_frames)]
        assert gap == bytes(2 * span.pause_frames)


def test_join_rejects_mixed_formats_and_lying_chunks(tmp_path: Path) -> None:
    _sine_wav(tmp_path / "a.wav", 1000)
    _sine_wav(tmp_path / "b.wav", 1000, rate=16000)
    a = _wav_chunk(tmp_path / "a.wav", 0, 100)
    b = _wav_chunk(tmp_path / "b.wav", 1, 100)
    out = tmp_path / "out.wav"
    with pytest.raises(PackagingError, match="16000 Hz"):
        join_chunks([a, b], out)
    truncated = ChunkAudio(a.chunk, a.wav, 5000, 22050)
    with pytest.raises(PackagingError, match="expected 5000"):
        join_chunks([truncated], out)
    with pytest.raises(PackagingError, match="no audio"):
        join_chunks([], out)
    missing = ChunkAudio(a.chunk, tmp_path / "gone.wav", 10, 22050)
    with pytest.raises(PackagingError, match=r"gone\.wav"):
        join_chunks([a, missing], out)
    assert not out.exists()


# --- the whole stage on real speech -----------------------------------------------------------


def test_mp3_is_clean_cbr_mono_44k(packaged: tuple[PackagedAudio, list[ChunkAudio]]) -> None:
    result, _ = packaged
    assert result.mp3.is_file()
    assert ff.decode_errors(result.mp3) == ""
    info = ff.probe(result.mp3)
    assert (info.codec, info.sample_rate, info.channels) == ("mp3", 44100, 1)
    assert info.bit_rate == 64000
    mp3 = MP3(result.mp3)
    assert mp3.info.bitrate_mode == BitrateMode.CBR
    assert mp3.info.bitrate == 64000


def test_durations_agree(packaged: tuple[PackagedAudio, list[ChunkAudio]]) -> None:
    result, chunks = packaged
    pcm_frames = sum(c.frames for c in chunks) + sum(
        round(c.chunk.pause_after_ms * 22050 / 1000) for c in chunks[:-1]
    )
    assert result.timeline.total_frames == pcm_frames
    assert result.duration_s == pytest.approx(pcm_frames / 22050)
    assert 15 < result.duration_s < 40
    assert abs(ff.probe(result.mp3).duration_s - result.duration_s) < 0.1
    assert abs(MP3(result.mp3).info.length - result.duration_s) < 0.5
    starts = [s.start_frame for s in result.timeline.spans]
    assert starts == sorted(starts) and starts[0] == 0
    assert [s.index for s in result.timeline.spans] == [0, 1, 2, 3]


def test_loudness_meets_podcast_spec(packaged: tuple[PackagedAudio, list[ChunkAudio]]) -> None:
    result, _ = packaged
    measured = ff.measure_loudness(result.mp3)
    # The result's figure is the encoder's own meter (4x oversampled peak, to 0.1 dB).
    assert abs(measured.integrated_lufs - result.loudness.integrated_lufs) <= 0.1
    assert abs(measured.true_peak_dbtp - result.loudness.true_peak_dbtp) <= 0.2
    assert -17.0 <= measured.integrated_lufs <= -15.0
    assert measured.true_peak_dbtp <= -1.0


def test_tags_are_id3v23(packaged: tuple[PackagedAudio, list[ChunkAudio]]) -> None:
    result, _ = packaged
    raw = ID3(result.mp3, translate=False)
    assert raw.version[:2] == (2, 3)
    assert "TYER" in raw and str(raw["TYER"]) == "2023"
    assert "TDRC" not in raw
    assert str(raw["TDAT"]) == "2605"
    tags = read_tags(result.mp3)
    assert tags["TIT2"] == "AF - A short post about alignment by Ada Lovelace"
    assert tags["TPE1"] == "Ada Lovelace/Émilie du Châtelet"
    assert tags["TALB"] == "The Test Library"
    assert tags["TCON"] == "Podcast"
    assert tags["COMM"] == "A short post, read aloud."
    assert tags["WOAS"] == "https://www.alignmentforum.org/posts/abc123/a-short-post"
    assert tags["APIC"] == "image/png"
    apic = raw.getall("APIC")[0]
    assert apic.type == 3 and apic.data == default_cover().read_bytes()
    assert result.size_bytes == os.stat(result.mp3).st_size


def test_no_litter(packaged: tuple[PackagedAudio, list[ChunkAudio]]) -> None:
    result, _ = packaged
    assert [p.name for p in result.mp3.parent.iterdir()] == [result.mp3.name]
    assert list((result.mp3.parent.parent / "work").iterdir()) == []


# --- failures ---------------------------------------------------------------------------------


@pytest.fixture
def short_chunks(tmp_path: Path) -> list[ChunkAudio]:
    wav = tmp_path / "c0.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "A short failing test."], check=True)
    return [_wav_chunk(wav, 0, 0)]


def test_failed_encode_leaves_nothing(
    tmp_path: Path, short_chunks: list[ChunkAudio], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_encode = ff.encode_mp3

    def encode_from_missing_input(src: Path, dst: Path, **kwargs: int) -> None:
        real_encode(src.with_name("missing.wav"), dst, **kwargs)  # a real ffmpeg failure

    monkeypatch.setattr(package, "encode_mp3", encode_from_missing_input)
    out = tmp_path / "out" / "ep.mp3"
    out.parent.mkdir()
    with pytest.raises(PackagingError, match=r"missing\.wav") as caught:
        package_episode(short_chunks, out, _tag_info(), work_dir=tmp_path / "work")
    assert caught.value.path is not None and "missing.wav" in caught.value.path
    assert list(out.parent.iterdir()) == []
    assert list((tmp_path / "work").iterdir()) == []


def test_failure_keeps_previous_episode(
    tmp_path: Path, short_chunks: list[ChunkAudio], monkeypatch: pytest.MonkeyPatch
) -> None:
    def encode_then_crash(src: Path, dst: Path, **kwargs: int) -> None:
        dst.write_bytes(b"half an mp3")
        raise PackagingError("simulated crash mid-encode")

    monkeypatch.setattr(package, "encode_mp3", encode_then_crash)
    out = tmp_path / "ep.mp3"
    out.write_bytes(b"the old episode")
    with pytest.raises(PackagingError, match="simulated"):
        package_episode(short_chunks, out, _tag_info(), work_dir=tmp_path / "work")
    assert out.read_bytes() == b"the old episode"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c0.wav", "ep.mp3", "work"]


def test_invalid_bitrate_fails_before_any_work(
    tmp_path: Path, short_chunks: list[ChunkAudio]
) -> None:
    out = tmp_path / "ep.mp3"
    with pytest.raises(PackagingError, match="1 kbps"):
        package_episode(short_chunks, out, _tag_info(), work_dir=tmp_path / "w", bitrate_kbps=1)
    assert not out.exists()


def test_missing_ffmpeg_is_a_clear_error(
    tmp_path: Path, short_chunks: list[ChunkAudio], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ff, "FFMPEG", "ffmpeg-not-here")
    with pytest.raises(PackagingError, match=r"not installed \(apt-get install ffmpeg\)"):
        ff.measure_loudness(short_chunks[0].wav)


def test_mp3_that_misses_the_target_is_redone(
    tmp_path: Path,
    short_chunks: list[ChunkAudio],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Pretend the encoder gains 1.5 LU instead of losing 0.5: the first MP3 lands ~2 LU low.
    monkeypatch.setattr(package, "MP3_LOUDNESS_LOSS_LU", -1.5)
    caplog.set_level("DEBUG", logger="tts_pipeline.package")
    result = package_episode(short_chunks, tmp_path / "ep.mp3", _tag_info(), work_dir=tmp_path)
    attempts = [r for r in caplog.records if r.getMessage().startswith("attempt ")]
    assert len(attempts) >= 2
    assert -16.5 <= result.loudness.integrated_lufs <= -15.5
    assert result.loudness.true_peak_dbtp <= -1.0


def test_normalise_hits_target_and_ceiling(tmp_path: Path, short_chunks: list[ChunkAudio]) -> None:
    before = ff.measure_loudness(short_chunks[0].wav)
    assert before.integrated_lufs < -19  # espeak-ng speaks at about -21 LUFS
    out = tmp_path / "levelled.wav"
    result = normalise(short_chunks[0].wav, out, target_lufs=-16.0, peak_dbtp=-1.5)
    assert result == ff.measure_loudness(out)
    assert abs(result.integrated_lufs + 16.0) <= 0.3 + 1e-6
    assert result.true_peak_dbtp <= -1.5
    with wave.open(str(out), "rb") as reader:  # same rate, same length: timings survive
        assert reader.getframerate() == short_chunks[0].sample_rate
        assert reader.getnframes() == short_chunks[0].frames


def test_silence_is_refused(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    _sine_wav(silent, 22050, freq=0.0)
    with pytest.raises(PackagingError, match="silent"):
        normalise(silent, tmp_path / "out.wav")


# --- tags and cover ---------------------------------------------------------------------------


def test_cover_mime_comes_from_content_and_retagging_replaces(tmp_path: Path) -> None:
    mp3, jpeg = tmp_path / "tone.mp3", tmp_path / "looks-like.png"
    lavfi = ["ffmpeg", "-v", "error", "-f", "lavfi"]
    subprocess.run([*lavfi, "-i", "sine=d=1", "-c:a", "libmp3lame", str(mp3)], check=True)
    subprocess.run(
        [*lavfi, "-i", "color=c=red:s=64x64", "-frames:v", "1", "-f", "mjpeg", str(jpeg)],
        check=True,
    )
    write_tags(mp3, _tag_info())
    write_tags(mp3, _tag_info(cover=jpeg))
    raw = ID3(mp3, translate=False)
    assert len(raw.getall("APIC")) == 1 and raw.getall("APIC")[0].mime == "image/jpeg"
    assert len(raw.getall("TIT2")) == 1
    with pytest.raises(PackagingError, match="neither PNG nor JPEG"):
        write_tags(mp3, _tag_info(cover=mp3))
    naive = TagInfo("t", (), "a", datetime(2023, 1, 1))
    with pytest.raises(PackagingError, match="time zone"):
        write_tags(mp3, naive)


def test_default_cover_is_square_rgb_png_from_the_generator() -> None:
    data = default_cover().read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (1400, 1400, 8, 2)  # 8-bit RGB
    assert len(data) < 100_000
    # Compare pixels, not bytes: another zlib may compress the same rows differently.
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 3 * SIZE
    assert raw[::stride] == bytes(SIZE)  # filter type 0 everywhere
    assert [raw[y * stride + 1 : (y + 1) * stride] for y in range(SIZE)] == render_rows()
