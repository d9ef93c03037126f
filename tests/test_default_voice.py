"""The default voice's intelligibility settings: espeak-ng's word gap as a voice-profile setting
(parsed, validated, in the cache key, really applied by the engine: the audio gets longer by a
gap per word boundary) and the espeak voices' lexicon entries for words espeak-ng mis-stresses."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tts_pipeline.clean import speaker
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import Chunk, VoiceProfile
from tts_pipeline.synth.cache import cache_key
from tts_pipeline.synth.engine import Engine, get_engine
from tts_pipeline.synth.espeak_driver import ESPEAK_WORDGAP, current_parameter
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import MAX_WORD_GAP, load_voice

TWENTY_WORDS = (
    "the quick brown fox jumps over the lazy dog and then it runs away into the deep dark"
    " woods again"
)
BOUNDARIES = 19


@pytest.fixture(scope="module")
def engine() -> Engine:
    return get_engine("pyttsx3")


@pytest.fixture(scope="module")
def plain() -> VoiceProfile:
    return replace(load_voice("default"), word_gap=0)


def seconds(engine: Engine, voice: VoiceProfile) -> float:
    pcm = engine.synthesize(TWENTY_WORDS, voice)
    return pcm.frames / pcm.sample_rate


def test_word_gap_lengthens_the_audio_by_a_pause_per_word(
    engine: Engine, plain: VoiceProfile
) -> None:
    base = seconds(engine, plain)
    gapped = seconds(engine, replace(plain, word_gap=10))
    # Measured at 160 wpm: about 150 ms per boundary at 10 (the engine scales it by the rate).
    per_boundary = (gapped - base) / BOUNDARIES
    assert 0.08 < per_boundary < 0.3
    # What the engine reads back after each utterance to catch a cancelled setting.
    assert current_parameter(ESPEAK_WORDGAP) == 10
    # espeak-ng keeps the setting between calls: a profile without a gap, spoken next by the
    # same engine, must not inherit it.
    assert seconds(engine, plain) == pytest.approx(base, rel=0.01)


def test_default_profile_speaks_with_a_word_gap(tmp_path: Path) -> None:
    """Through the spawn workers (the profile crosses a process boundary) and the cache."""
    default = load_voice("default")
    assert default.word_gap > 0
    chunk = Chunk(index=0, text=TWENTY_WORDS, pause_after_ms=0, section=0)
    (gapped,) = synthesize_chunks([chunk], default, tmp_path, jobs=1)
    (plain,) = synthesize_chunks([chunk], replace(default, word_gap=0), tmp_path, jobs=1)
    assert gapped.wav != plain.wav  # a different cache entry, not the cached gapped audio
    assert gapped.duration_s > plain.duration_s + BOUNDARIES * 0.05


def test_cache_key_covers_the_word_gap(engine: Engine, plain: VoiceProfile) -> None:
    keys = {cache_key(engine, replace(plain, word_gap=gap), "Hello there.") for gap in (0, 1, 5)}
    assert len(keys) == 3


def write_profile(folder: Path, body: str) -> Path:
    path = folder / "gap.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_profile_reads_the_word_gap(tmp_path: Path) -> None:
    write_profile(tmp_path, 'engine = "pyttsx3"\nvoice = "gmw/en-us"\nword_gap = 4\n')
    assert load_voice("gap", [tmp_path]).word_gap == 4
    write_profile(tmp_path, 'engine = "pyttsx3"\nvoice = "gmw/en-us"\n')
    assert load_voice("gap", [tmp_path]).word_gap == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("word_gap = -1", "word_gap must be a whole number"),
        (f"word_gap = {MAX_WORD_GAP + 1}", "word_gap must be a whole number"),
        ("word_gap = true", "word_gap must be a whole number"),
        ("word_gap = 2.5", "word_gap must be a whole number"),
        ('word_gap = "5"', "word_gap must be a whole number"),
    ],
)
def test_bad_word_gap_names_the_file(tmp_path: Path, line: str, message: str) -> None:
    path = write_profile(tmp_path, f'engine = "pyttsx3"\nvoice = "gmw/en-us"\n{line}\n')
    with pytest.raises(ConfigError, match=message) as info:
        load_voice("gap", [tmp_path])
    assert str(path) in str(info.value)


def test_word_gap_is_refused_for_an_engine_without_it(tmp_path: Path) -> None:
    write_profile(tmp_path, 'engine = "piper"\nvoice = "en_US-joe-medium"\nword_gap = 5\n')
    with pytest.raises(ConfigError, match="word_gap is an espeak-ng setting"):
        load_voice("gap", [tmp_path])
    write_profile(tmp_path, 'engine = "piper"\nvoice = "en_US-joe-medium"\nword_gap = 0\n')
    assert load_voice("gap", [tmp_path]).word_gap == 0


# -- lexicon entries for the espeak-ng voices ----------------------------------------------------


def espeak_phonemes(voice: str, text: str) -> str:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("the espeak-ng command is not installed")
    done = subprocess.run(
        [espeak, "-q", "-x", "-v", voice, text], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize("name", ["default", "fast", "uk"])
def test_outro_is_said_with_the_stress_on_out(name: str) -> None:
    voice = load_voice(name)
    spoken = speaker(name, engine=voice.engine)("Every episode ends with the same short outro.")
    assert spoken.endswith("short out-roh.")
    # The entry's reason: espeak-ng puts the stress on the second syllable ("aUtr'oU"); the
    # respelling is stressed on the first. If espeak-ng learns the word, the entry can go.
    assert espeak_phonemes(voice.voice, "outro").startswith("aUtr'")
    assert espeak_phonemes(voice.voice, "out-roh").startswith("'aU")


def test_outro_entry_is_only_for_the_espeak_voices() -> None:
    assert speaker("joe", engine="piper")("the outro") == "the outro"
