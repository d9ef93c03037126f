"""A dialogue post through the real CLI, a local forum, real engines and ffmpeg: one MP3 in
which each participant is heard in their own voice, equally loud, with ``<v>`` cues."""

from __future__ import annotations

import io
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import webvtt
from clirun import run_cli

from tts_pipeline.audio.chunkstats import gated_loudness, measure_pcm
from tts_pipeline.config import Config, load_config
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Post
from tts_pipeline.net.http import HttpClient
from tts_pipeline.pipeline import fetch, plan_post
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.cache import cache_key, cache_path
from tts_pipeline.synth.engine import get_engine
from tts_pipeline.synth.voices import load_voice

RATE = 22050


def _turn(user: str, name: str, order: int, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<section class="dialogue-message ContentStyles-debateResponseBody"'
        f' message-id="{user}-1701325412000" user-id="{user}" display-name="{name}"'
        f' submitted-date="Thu Nov 30 2023 06:23:32 GMT+0000 (Coordinated Universal Time)"'
        f' user-order="{order}"><section class="dialogue-message-header CommentUserName-author'
        f' UsersNameDisplay-noColor"></section><div class="dialogue-message-content">{body}'
        f"</div></section>"
    )


POST: dict[str, Any] = {
    "_id": "DlgTestPostAbc234",
    "slug": "two-gardeners-talk",
    "title": "Two Gardeners Talk",
    "pageUrl": "https://www.lesswrong.com/posts/DlgTestPostAbc234/two-gardeners-talk",
    "postedAt": "2024-05-02T10:00:00.000Z",
    "htmlBody": (
        "<p>A short exchange about watering.</p>"
        + _turn("uA", "Petra", 1, ["When do you water the beans?", "Morning or evening?"])
        + _turn("uB", "Quentin", 2, ["Always in the early morning, before the heat comes."])
        + _turn("uA", "Petra", 3, ["Then the leaves dry off during the day."])
        + _turn("uB", "Quentin", 4, ["Exactly, and the slugs stay away."])
        + "<p>They agreed on mornings.</p>"
    ),
    "contents": {"html": "", "wordCount": 50},
    "user": {"displayName": "Petra Example", "username": "petra"},
    "coauthors": [{"displayName": "Quentin Example", "username": "quentin"}],
    "hideAuthor": False,
}
VOICES = {"Petra": "us-female", "Quentin": "scottish"}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str]]:
    """The library, the config and the post's URL (its forum still serving)."""
    tmp = tmp_path_factory.mktemp("dialogue")
    with ForumServer({POST["_id"]: POST}) as server:
        config = tmp / "tts-pipeline.toml"
        config.write_text(
            f"""
[forums.local]
name = "LessWrong"
prefix = "LW"
hosts = ["{server.host}"]
graphql = "{server.graphql_url}"

[cast]
voices = ["us-female", "scottish"]
announce = "first"
""",
            encoding="utf-8",
        )
        url = f"{server.base_url}/posts/{POST['_id']}/{POST['slug']}"
        result = run_cli(
            "convert", url, "--config", str(config), "--library", "lib", "--jobs", "2", cwd=tmp
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        yield tmp / "lib", config, url


def _post(url: str, config: Config) -> Post:
    with HttpClient("tts-pipeline-tests", retries=0) as http:
        return fetch(url, config, http)


def _pcm(mp3: Path) -> np.ndarray[Any, Any]:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp3), "-f", "s16le", "-ac", "1", "-ar", str(RATE), "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(out.stdout, dtype="<i2")


def _pitch(pcm: np.ndarray[Any, Any]) -> float:
    """The median fundamental frequency (Hz) of the voiced 40 ms frames, by autocorrelation."""
    frame, found = int(0.04 * RATE), []
    lo, hi = RATE // 400, RATE // 70  # 70-400 Hz
    signal = pcm.astype(np.float64)
    for start in range(0, len(signal) - frame, frame):
        x = signal[start : start + frame]
        x = x - x.mean()
        energy = float(np.dot(x, x))
        if energy < frame * 300.0**2:
            continue  # a pause or a breath, not voiced speech
        ac = np.correlate(x, x, "full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.4 * energy:
            found.append(RATE / lag)
    return float(np.median(found))


def _seconds(timestamp: str) -> float:
    """A WebVTT timestamp in seconds (webvtt-py's own ``start_in_seconds`` drops the
    milliseconds)."""
    hours, minutes, seconds = timestamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _cues(library: Path) -> list[Any]:
    vtt = (library / "episodes" / f"{POST['_id']}.vtt").read_text(encoding="utf-8")
    return list(webvtt.from_buffer(io.StringIO(vtt)).captions)


def _by_voice(library: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The episode's audio under each cue, gathered by the cue's speaker ("" = narrator)."""
    pcm = _pcm(library / "episodes" / f"{POST['_id']}.mp3")
    parts: dict[str, list[np.ndarray[Any, Any]]] = {}
    for cue in _cues(library):
        span = pcm[int(_seconds(cue.start) * RATE) : int(_seconds(cue.end) * RATE)]
        parts.setdefault(cue.voice or "", []).append(span)
    return {who: np.concatenate(spans) for who, spans in parts.items()}


def test_preview_shows_the_cast(converted: tuple[Path, Path, str]) -> None:
    _, config, url = converted
    shown = run_cli("preview", url, "--script", "--config", str(config), cwd=config.parent)
    assert shown.returncode == 0, shown.stderr
    assert "== cast\nPetra: us-female\nQuentin: scottish\n" in shown.stdout
    assert "[Petra] When do you water the beans?" in shown.stdout


def test_each_turn_is_planned_and_spoken_in_its_speakers_voice(
    converted: tuple[Path, Path, str],
) -> None:
    library, config_path, url = converted
    config = load_config(config_path)
    narrator = load_voice(config.voice)
    script, chunks = plan_post(_post(url, config), config, narrator)
    assert script.speakers() == ("Petra", "Quentin")
    turns = [c for c in chunks if c.speaker]
    assert {c.speaker for c in turns} == {"Petra", "Quentin"}
    assert all(c.voice == VOICES[c.speaker] for c in turns)
    assert all(c.voice == "" for c in chunks if not c.speaker)  # the narrator's
    names = [c.text for c in chunks if c.display == ""]
    assert names == ["Petra.", "Quentin."]  # announce = "first": each name once
    # The engine per chunk: each chunk's audio is in the cache under its own voice's key.
    cache = Library(library).cache_dir / "chunks"
    for chunk in chunks:
        voice = load_voice(chunk.voice) if chunk.voice else narrator
        key = cache_key(get_engine(voice.engine), voice, chunk.text)
        assert cache_path(cache, key).is_file(), (chunk.index, voice.name)


def test_voices_are_heard_by_pitch(converted: tuple[Path, Path, str]) -> None:
    library, _, _ = converted
    pitch = {who: _pitch(pcm) for who, pcm in _by_voice(library).items()}
    # Petra (espeak-ng's female variant) sits far above Quentin and the narrator (male
    # variants, told apart by accent and timbre rather than pitch: both near 100 Hz).
    assert pitch["Petra"] > 1.4 * max(pitch["Quentin"], pitch[""]), pitch


def _similarity(heard: np.ndarray[Any, Any], spoken: np.ndarray[Any, Any]) -> float:
    """The best normalised correlation of ``spoken`` with ``heard`` within 10 ms of its place."""
    best, reach = 0.0, RATE // 100
    a = spoken.astype(np.float64)
    for lag in range(0, 2 * reach + 1):
        b = heard[lag : lag + len(a)].astype(np.float64)
        if len(b) < len(a):
            break
        best = max(best, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)))
    return best


def test_each_turn_is_heard_in_its_voice(converted: tuple[Path, Path, str]) -> None:
    """Where the transcript places each turn, the MP3 plays that turn's audio as its own
    voice spoke it (the cache entry under that voice's key), through the limiter and LAME."""
    library, config_path, url = converted
    config = load_config(config_path)
    narrator = load_voice(config.voice)
    _, chunks = plan_post(_post(url, config), config, narrator)
    pcm = _pcm(library / "episodes" / f"{POST['_id']}.mp3")
    starts = {" ".join(c.text.split()): _seconds(c.start) for c in _cues(library) if c.voice}
    cache = Library(library).cache_dir / "chunks"
    turns = [c for c in chunks if c.speaker]
    for chunk in turns:
        voice = load_voice(chunk.voice)
        wav = cache_path(cache, cache_key(get_engine(voice.engine), voice, chunk.text))
        with wave.open(str(wav), "rb") as reader:
            spoken = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
        start = int(starts[chunk.shown] * RATE) - RATE // 100
        assert _similarity(pcm[max(start, 0) :], spoken) > 0.8, (chunk.speaker, chunk.text)


def test_voices_are_equally_loud(converted: tuple[Path, Path, str]) -> None:
    library, _, _ = converted
    loudness = {
        who: gated_loudness(measure_pcm(pcm.tobytes(), RATE).block_lufs)
        for who, pcm in _by_voice(library).items()
    }
    assert max(loudness.values()) - min(loudness.values()) <= 1.0, loudness


def test_webvtt_names_each_speaker(converted: tuple[Path, Path, str]) -> None:
    library, _, _ = converted
    cues = _cues(library)
    said = {(c.voice, " ".join(c.text.split())) for c in cues if c.voice}
    assert ("Petra", "When do you water the beans?") in said
    assert ("Quentin", "Exactly, and the slugs stay away.") in said
    assert {c.voice for c in cues} == {None, "Petra", "Quentin"}
    narrated = [c.text for c in cues if not c.voice]
    assert "They agreed on mornings." in narrated and "Petra." not in narrated
    script = (library / "episodes" / f"{POST['_id']}.txt").read_text(encoding="utf-8")
    assert "\n\nPetra: When do you water the beans?\n\nMorning or evening?\n\n" in script
    assert "\n\nQuentin: Always in the early morning" in script
