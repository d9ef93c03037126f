"""Preview through the real CLI: a real local forum, espeak-ng, ffmpeg and ffplay.

This machine has no sound device, which is the case the preview must handle clearly: one
line saying so, the preview written to a WAV whose path is printed, exit 0. The play path
itself runs with ``SDL_AUDIODRIVER=dummy`` (ffplay then plays in real time into nothing).
"""

from __future__ import annotations

import os
import shutil
import time
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli
from library_factory import POSTS, post_url

from tts_pipeline.audio.chunkstats import ChunkStats
from tts_pipeline.models import Chunk, Script, Section, Segment, SegmentKind, VoiceProfile
from tts_pipeline.package.ffmpeg import decode_wav
from tts_pipeline.package.join import ChunkSpan, Timeline
from tts_pipeline.preview.playback import find_audio_output
from tts_pipeline.preview.post import cut_frame, estimate_seconds, first_seconds, select_chunks
from tts_pipeline.preview.script import ScriptChapter, render_script
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice


def quiet_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a machine with no sound output (whatever this one has)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SDL_AUDIODRIVER", "PULSE_SERVER")}
    runtime = tmp_path / "runtime"
    runtime.mkdir(exist_ok=True)
    env.update(XDG_RUNTIME_DIR=str(runtime), PYTHONWARNINGS="ignore", **extra)
    return env


@pytest.fixture
def no_sound_device(tmp_path: Path) -> dict[str, str]:
    env = quiet_env(tmp_path)
    if find_audio_output(env) is not None:
        pytest.skip("this machine has a sound device; the no-device path cannot be shown here")
    return env


def wav_info(path: Path) -> tuple[float, int]:
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate(), reader.getframerate()


def samples(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as reader:
        data = array("h")
        data.frombytes(reader.readframes(reader.getnframes()))
        return data


@pytest.fixture(scope="module")
def forum() -> Iterator[ForumServer]:
    with ForumServer({p["_id"]: p for p in POSTS}) as server:
        yield server


@pytest.fixture
def config_file(tmp_path: Path, forum: ForumServer) -> Path:
    path = tmp_path / "tts-pipeline.toml"
    path.write_text(
        f"""
base_url = "http://podcast.test/"
request_interval_s = 0.0
jobs = 2
[forums.local]
name = "The AI Alignment Forum"
prefix = "AF"
hosts = ["{forum.host}"]
graphql = "{forum.graphql_url}"
""",
        encoding="utf-8",
    )
    return path


def chunk_files(library: Path) -> dict[str, float]:
    """Cached chunk WAVs -> seconds."""
    return {p.name: wav_info(p)[0] for p in (library / "cache" / "chunks").rglob("*.wav")}


# -- finding a sound output -------------------------------------------------------------------


def test_find_audio_output(tmp_path: Path) -> None:
    runtime, snd = tmp_path / "run", tmp_path / "snd"
    runtime.mkdir()
    snd.mkdir()
    env = {"XDG_RUNTIME_DIR": str(runtime)}
    assert find_audio_output(env, snd) is None
    (snd / "controlC0").touch()
    (snd / "pcmC0D0c").touch()  # a capture-only device plays nothing
    assert find_audio_output(env, snd) is None
    (snd / "pcmC0D0p").touch()
    assert find_audio_output(env, snd) == f"ALSA device {snd / 'pcmC0D0p'}"
    (runtime / "pipewire-0").touch()
    assert find_audio_output(env, snd) == f"PipeWire socket {runtime / 'pipewire-0'}"
    (runtime / "pulse").mkdir()
    (runtime / "pulse" / "native").touch()
    assert find_audio_output(env, snd) == f"PulseAudio socket {runtime / 'pulse' / 'native'}"
    assert find_audio_output({**env, "SDL_AUDIODRIVER": "dummy"}, snd) == "SDL_AUDIODRIVER=dummy"
    assert find_audio_output({"PULSE_SERVER": "tcp:host"}, tmp_path / "none") is not None


# -- an episode of the library ------------------------------------------------------------------


def test_episode_preview_without_a_sound_device_writes_the_chapter_to_a_wav(
    media_library: Any, no_sound_device: dict[str, str], tmp_path: Path
) -> None:
    episode = media_library.episodes[0]
    start = media_library.chapter_starts[episode.id][1]
    out = tmp_path / "out" / "chapter.wav"
    result = run_cli(
        "preview", episode.id, "--library", str(media_library.root),
        "--chapter", "2", "--seconds", "3", "--output", str(out),
        env=no_sound_device, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("tts-pipeline: no sound device found")
    assert "written to a file instead" in line
    assert result.stdout.strip() == str(out)
    duration, rate = wav_info(out)
    assert duration == pytest.approx(3.0, abs=0.001)
    assert rate == 44100
    # It is the episode's audio from the chapter's start: aligned with a full decode.
    full = tmp_path / "full.wav"
    decode_wav(episode.mp3, full)
    whole, part = samples(full), samples(out)
    offset = round(start * rate)
    mismatch = sum(abs(whole[offset + i] - part[i]) for i in range(0, len(part), 5))
    shifted = sum(abs(whole[offset + 2000 + i] - part[i]) for i in range(0, len(part), 5))
    loudness = sum(abs(part[i]) for i in range(0, len(part), 5))
    assert mismatch < 0.05 * loudness < shifted


def test_episode_preview_by_default_is_the_whole_episode_in_the_library(
    media_library: Any, no_sound_device: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "library"
    shutil.copytree(media_library.root, root)
    episode = media_library.episodes[1]
    result = run_cli(
        "preview", episode.id, "--library", str(root), env=no_sound_device, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    written = root / "previews" / f"{episode.id}.wav"
    assert result.stdout.strip() == str(written)
    assert wav_info(written)[0] == pytest.approx(episode.duration_s, abs=0.05)
    assert not list(written.parent.glob("*.part"))


def test_episode_preview_by_the_path_of_its_mp3_finds_its_library(
    media_library: Any, no_sound_device: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "elsewhere" / "library"
    shutil.copytree(media_library.root, root)
    episode = media_library.episodes[1]
    mp3 = root / "episodes" / f"{episode.id}.mp3"
    # No --library: the current folder has none; the MP3's folder says which library it is in.
    result = run_cli("preview", str(mp3), "--seconds", "2", env=no_sound_device, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = root / "previews" / f"{episode.id}.wav"
    assert result.stdout.strip() == str(written)
    assert wav_info(written)[0] == pytest.approx(2.0, abs=0.001)
    stray = tmp_path / "stray.mp3"
    shutil.copyfile(mp3, stray)
    result = run_cli("preview", str(stray), env=no_sound_device, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("tts-pipeline: error: ")
    assert "is not an episode of a library (expected LIBRARY/episodes/ID.mp3)" in result.stderr


def test_play_path_runs_with_the_dummy_sdl_driver(media_library: Any, tmp_path: Path) -> None:
    episode = media_library.episodes[0]
    out = tmp_path / "never.wav"
    started = time.monotonic()
    result = run_cli(
        "preview", episode.id, "--library", str(media_library.root),
        "--chapter", "3", "--seconds", "1.5", "--output", str(out),
        env=quiet_env(tmp_path, SDL_AUDIODRIVER="dummy"), cwd=tmp_path,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (f"Playing {episode.title} (0:00:02) on SDL_AUDIODRIVER=dummy")
    assert result.stdout == ""
    assert not out.exists()  # played, not kept
    assert elapsed >= 1.4  # ffplay plays in real time, even into nothing


def test_a_missing_player_falls_back_to_a_wav_with_the_reason(
    media_library: Any, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ffmpeg", "ffprobe"):  # everything but ffplay
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)
    episode = media_library.episodes[0]
    out = tmp_path / "kept.wav"
    env = quiet_env(tmp_path, SDL_AUDIODRIVER="dummy", PATH=str(bin_dir))
    result = run_cli(
        "preview", episode.id, "--library", str(media_library.root),
        "--seconds", "1", "--output", str(out), env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("tts-pipeline: ffplay is not installed")
    assert result.stdout.strip() == str(out)
    assert wav_info(out)[0] == pytest.approx(1.0, abs=0.001)


def test_episode_script_has_chapter_markers(media_library: Any, tmp_path: Path) -> None:
    episode = media_library.episodes[0]
    args = ("preview", episode.id, "--library", str(media_library.root), "--script")
    result = run_cli(*args, env=quiet_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    markers = [line for line in result.stdout.splitlines() if line.startswith("=== Chapter")]
    assert len(markers) == len(media_library.chapter_starts[episode.id])
    assert markers[0].startswith("=== Chapter 1: ")
    assert "A preview lets you hear a post" in result.stdout
    only = run_cli(*args, "--chapter", "1", env=quiet_env(tmp_path), cwd=tmp_path)
    assert only.stdout.count("=== Chapter") == 1
    assert only.stdout.startswith("=== Chapter 1: ") and "Welcome to" in only.stdout
    assert "Thanks for listening" not in only.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nothing-here",), "'nothing-here' is neither an episode in"),
        (("PreviewPostAaaa11", "--chapter", "9"), "has no chapter 9: chapters are 1 to"),
        (("PreviewPostAaaa11", "--voice", "fast"), "--voice applies to a URL"),
    ],
)
def test_preview_errors_are_one_line(
    media_library: Any, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(
        "preview",
        *args,
        "--library",
        str(media_library.root),
        env=quiet_env(tmp_path),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("tts-pipeline: error: ") and message in line


# -- a post URL ---------------------------------------------------------------------------------


def test_url_preview_synthesises_only_the_intro_and_first_seconds(
    forum: ForumServer, config_file: Path, no_sound_device: dict[str, str], tmp_path: Path
) -> None:
    library = tmp_path / "library"
    url = post_url(forum, POSTS[0])
    common = ("--config", str(config_file), "--library", str(library))
    result = run_cli("preview", url, "--seconds", "3", *common, env=no_sound_device, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("tts-pipeline: no sound device found")
    wav = library / "previews" / f"{POSTS[0]['_id']}.wav"
    assert result.stdout.strip() == str(wav)
    previewed = chunk_files(library)
    # Whole chunks were synthesised (by an estimate), then cut at the first pause 3 s into the
    # body: the WAV is shorter than the chunks and their pauses.
    speech = sum(previewed.values())
    duration, _ = wav_info(wav)
    assert 15 < duration < speech  # the intro alone is longer than 15 s
    # Asking for 8 s instead adds about 5 s: each cut lands at the first pause past its time,
    # up to ~2.5 s later (espeak-ng pauses at every comma and full stop).
    longer = tmp_path / "longer.wav"
    again = run_cli(
        "preview", url, "--seconds", "8", "--output", str(longer), *common,
        env=no_sound_device, cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert 5.0 - 2.5 <= wav_info(longer)[0] - duration <= 5.0 + 2.5

    # Converting the whole post needs more chunks, and reuses every previewed one.
    before = {p.name: p.stat().st_mtime_ns for p in (library / "cache").rglob("*.wav")}
    converted = run_cli("convert", url, *common, env=no_sound_device, cwd=tmp_path)
    assert converted.returncode == 0, converted.stderr
    after = chunk_files(library)
    assert len(after) > len(previewed)
    assert all(
        p.stat().st_mtime_ns == before[p.name]
        for p in (library / "cache").rglob("*.wav")
        if p.name in before
    )


def test_url_preview_of_one_chapter(
    forum: ForumServer,
    config_file: Path,
    no_sound_device: dict[str, str],
    media_library: Any,
    tmp_path: Path,
) -> None:
    url = post_url(forum, POSTS[0])
    wav_name = f"{POSTS[0]['_id']}-chapter3.wav"

    # In a fresh library only the chapter's chunks are synthesised.
    fresh = tmp_path / "fresh"
    args = ("preview", url, "--chapter", "3", "--config", str(config_file))
    result = run_cli(*args, "--library", str(fresh), env=no_sound_device, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(chunk_files(fresh)) <= 2  # the heading and its paragraph
    assert 1.0 < wav_info(fresh / "previews" / wav_name)[0] < 10.0

    # Beside the converted episode the preview reuses its chunks, so it is that chapter to
    # the sample (espeak-ng's output length varies slightly from one synthesis to the next).
    converted = tmp_path / "converted"
    shutil.copytree(media_library.root, converted)
    before = chunk_files(converted)
    result = run_cli(*args, "--library", str(converted), env=no_sound_device, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert chunk_files(converted) == before  # nothing new synthesised
    duration, _ = wav_info(converted / "previews" / wav_name)
    if not media_library.pipeline_sidecars:
        pytest.skip("the pipeline wrote no chapters file to compare with")
    # The chapter in the episode, less the paragraph pause after its last chunk.
    starts = media_library.chapter_starts[POSTS[0]["_id"]]
    pause = load_voice("default").pauses.paragraph_ms / 1000
    assert duration == pytest.approx(starts[3] - starts[2] - pause, abs=0.001)


def test_url_script_prints_markers_and_synthesises_nothing(
    forum: ForumServer, config_file: Path, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    url = post_url(forum, POSTS[0])
    common = ("--config", str(config_file), "--library", str(library), "--script")
    result = run_cli("preview", url, *common, env=quiet_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == (
        "Chapters (--chapter K): 1 Introduction, 2 Hearing Before Publishing, 3 Chapters,"
        " 4 Transcripts"
    )
    # Section markers follow (the cleaner's format), one per part of the script.
    markers = [line for line in lines if line.startswith("==")]
    assert len(markers) >= 4 and markers[0].startswith("== intro")
    assert "Each heading starts a chapter" in result.stdout
    assert not library.exists()  # nothing synthesised, nothing written
    only = run_cli("preview", url, *common, "--chapter", "3", env=quiet_env(tmp_path), cwd=tmp_path)
    assert only.stdout.splitlines()[0] == "=== Chapter 3: Chapters ==="
    assert "Each heading starts a chapter" in only.stdout
    assert "The transcript follows" not in only.stdout and "Welcome" not in only.stdout


def test_url_preview_of_a_missing_post_is_one_line(
    forum: ForumServer, config_file: Path, tmp_path: Path
) -> None:
    url = f"{forum.base_url}/posts/NoSuchPost123456/none"
    result = run_cli(
        "preview", url, "--config", str(config_file), "--library", str(tmp_path / "lib"),
        env=quiet_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("tts-pipeline: error: ")


# -- choosing chunks and rendering the script ----------------------------------------------------


def _script() -> tuple[Script, list[Chunk], list[ScriptChapter]]:
    script = Script(
        title="T",
        intro=Segment(SegmentKind.INTRO, "Hello there."),
        sections=(
            Section(None, (Segment(SegmentKind.PARAGRAPH, "Opening words."),)),
            Section(
                "Part",
                (
                    Segment(SegmentKind.HEADING, "Part"),
                    Segment(SegmentKind.PARAGRAPH, "Body text."),
                ),
            ),
        ),
        outro=Segment(SegmentKind.OUTRO, "Bye."),
    )
    words = " ".join(["word"] * 50)  # 15 s at 200 wpm
    chunks = [
        Chunk(0, "Hello there.", 1000, -1),
        Chunk(1, words, 250, 0),
        Chunk(2, words, 600, 0),
        Chunk(3, "Part", 1000, 1),
        Chunk(4, words, 600, 1),
        Chunk(5, "Bye.", 600, 2),
    ]
    chapters = [
        ScriptChapter(1, "Introduction", 0),
        ScriptChapter(2, "T", 1),
        ScriptChapter(3, "Part", 3),
    ]
    return script, chunks, chapters


def test_chunk_selection() -> None:
    _, chunks, chapters = _script()
    voice = VoiceProfile(name="v", engine="pyttsx3", voice="x", rate_wpm=200)
    assert estimate_seconds(chunks[1], 200) == pytest.approx(15.25)
    assert [c.index for c in first_seconds(chunks[1:], 20, 200)] == [1, 2]
    assert [c.index for c in first_seconds(chunks[1:], 0, 200)] == []

    def picked(seconds: float | None, chapter: int | None) -> list[int]:
        chosen = select_chunks(chunks, chapters, voice=voice, seconds=seconds, chapter=chapter)
        return [c.index for c in chosen]

    assert picked(10, None) == [0, 1]  # the intro, then enough body
    assert picked(None, None) == [0, 1, 2]  # 30 s by default: 15.25 + 15.85
    assert picked(60, None) == [0, 1, 2, 3, 4, 5]
    assert picked(0, None) == [0]
    assert picked(None, 3) == [3, 4, 5]  # the whole chapter; the outro ends the last one
    assert picked(1, 3) == [3]
    assert picked(None, 1) == [0]


def test_a_preview_ends_at_the_first_pause_past_the_time_asked_for() -> None:
    rate = 1000
    spans = (ChunkSpan(0, 0, 5000, 500), ChunkSpan(1, 5500, 4000, 0))
    timeline = Timeline(rate, 9500, spans)

    def stats(frames: int, *pauses: int) -> ChunkStats:
        edges = array("q", [f for p in pauses for f in (p, p + 100)])
        return ChunkStats(frames, rate, array("d"), edges)

    chunks = [stats(5000, 1200, 3000), stats(4000, 800)]
    assert cut_frame(timeline, chunks, 0, 1.0) == 1200  # a pause inside the first chunk
    assert cut_frame(timeline, chunks, 0, 1.2) == 1200  # exactly on it
    assert cut_frame(timeline, chunks, 1000, 2.5) == 5000  # the end of the chunk, its pause
    assert cut_frame(timeline, chunks, 0, 6.0) == 6300  # inside the second chunk
    assert cut_frame(timeline, chunks, 0, 7.0) == 9500  # past every pause: the end
    assert cut_frame(timeline, chunks, 0, 60.0) == 9500


def test_render_script_marks_each_chapter() -> None:
    script, chunks, chapters = _script()
    text = render_script(script, chapters, chunks)
    assert text.splitlines()[:4] == ["T", "", "=== Chapter 1: Introduction ===", ""]
    assert text.index("=== Chapter 2: T ===") < text.index("Opening words.")
    assert text.index("=== Chapter 3: Part ===") < text.index("Body text.") < text.index("Bye.")
    only = render_script(script, chapters, chunks, only=3)
    assert only == "=== Chapter 3: Part ===\n\nPart\n\nBody text.\n\nBye.\n"
