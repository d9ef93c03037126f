"""The synth stage against the real pyttsx3 + espeak-ng (no engine mocks).

Texts are short so the whole file runs in a few seconds; pools use the real spawn workers.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import wave
from array import array
from dataclasses import replace
from pathlib import Path

import pytest

from tts_pipeline.audio.chunkstats import chunk_stats, measure_chunk, sidecar_path
from tts_pipeline.errors import ConfigError, SynthesisError
from tts_pipeline.models import Chunk, ChunkAudio, Pcm, VoiceProfile
from tts_pipeline.synth.cache import cache_key, cache_path
from tts_pipeline.synth.engine import Engine, get_engine, known_engines
from tts_pipeline.synth.runner import SynthStats, WorkerCrashError, synthesize_chunks
from tts_pipeline.synth.voices import list_voices, load_voice

TEN_WORDS = "The quick brown fox jumps over the lazy dog today."
TEXTS = [
    "Welcome to the test episode.",
    "This is the second chunk of speech.",
    "Alignment research is hard, but worth doing.",
    "Here is a fourth and fairly short sentence.",
    "Number five is alive.",
    "And that is the end of the test.",
]


@pytest.fixture(scope="module")
def voice() -> VoiceProfile:
    return load_voice("default")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return get_engine("pyttsx3")


def rms(pcm: Pcm) -> float:
    samples = array("h", pcm.samples)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def make_chunks(texts: list[str]) -> list[Chunk]:
    return [Chunk(index=i, text=t, pause_after_ms=600, section=0) for i, t in enumerate(texts)]


# -- the engine -------------------------------------------------------------------------------


def test_pyttsx3_speaks_a_sentence_quietly(
    engine: Engine, voice: VoiceProfile, capfd: pytest.CaptureFixture[str]
) -> None:
    pcm = engine.synthesize(TEN_WORDS, voice)

    assert pcm.sample_rate == 22_050
    expected_s = 10 * 60 / voice.rate_wpm  # 3 s at 200 wpm
    assert 0.5 * expected_s < pcm.frames / pcm.sample_rate < 2 * expected_s
    assert rms(pcm) > 500  # speech, not silence (full scale is 32,767)
    out, _ = capfd.readouterr()
    assert out == ""  # pyttsx3's "Audio saved to ..." (bug #11) must not reach stdout


def test_driver_collects_audio_in_place(engine: Engine, voice: VoiceProfile) -> None:
    # pyttsx3's driver grew each utterance by bytes += (quadratic); ours extends a bytearray,
    # emptied between utterances, so the next one starts from nothing.
    first = engine.synthesize(TEN_WORDS, voice)
    second = engine.synthesize(TEN_WORDS, voice)
    driver = engine._tts.proxy._driver  # type: ignore[attr-defined]
    assert isinstance(driver._data_buffer, bytearray) and len(driver._data_buffer) == 0
    assert abs(first.frames - second.frames) < first.frames // 100


def test_rate_changes_duration(engine: Engine, voice: VoiceProfile) -> None:
    normal = engine.synthesize(TEN_WORDS, voice)
    fast = engine.synthesize(TEN_WORDS, replace(voice, rate_wpm=300))
    assert fast.frames < 0.8 * normal.frames  # the rate is really applied (bug #6)


def test_espeak_reads_lexicon_phonemes(engine: Engine, voice: VoiceProfile) -> None:
    # The lexicon's [[phonemes]] are said as the word they spell, not character by character
    # ("left bracket, left bracket, h, at ..."), which would take several times as long.
    word = engine.synthesize("hello there", voice)
    phonemes = engine.synthesize("[[h@l'oU]] there", voice)
    assert abs(len(phonemes.samples) - len(word.samples)) < 0.1 * len(word.samples)


def test_engine_identity(engine: Engine) -> None:
    assert engine.name == "pyttsx3"
    assert "pyttsx3-" in engine.version and "espeak-ng-" in engine.version
    assert 1000 <= engine.max_chars <= 4000  # far below the ~13 KB segfault (bug #4)


def test_empty_and_oversized_text_raise(engine: Engine, voice: VoiceProfile) -> None:
    with pytest.raises(SynthesisError, match="empty"):
        engine.synthesize("  \n ", voice)
    with pytest.raises(SynthesisError, match="too long"):
        engine.synthesize("word " * 2000, voice)


def test_unknown_voice_id_is_a_config_error(engine: Engine, voice: VoiceProfile) -> None:
    with pytest.raises(ConfigError, match="no voice 'gmw/xx-nowhere'"):
        engine.check_voice(replace(voice, voice="gmw/xx-nowhere"))
    with pytest.raises(ConfigError, match="no variant"):
        engine.check_voice(replace(voice, voice="gmw/en-us+nosuchvariant"))
    engine.check_voice(replace(voice, voice="gmw/en-gb-x-rp"))
    engine.check_voice(replace(voice, voice="gmw/en-us+f3"))


def test_unknown_engine_lists_known_ones() -> None:
    assert "pyttsx3" in known_engines()
    with pytest.raises(ConfigError, match=r"unknown speech engine 'nope'.*pyttsx3"):
        get_engine("nope")


# -- the runner and its cache -----------------------------------------------------------------


def test_synthesize_chunks_caches_and_preserves_order(
    tmp_path: Path, voice: VoiceProfile, capfd: pytest.CaptureFixture[str]
) -> None:
    chunks = make_chunks(TEXTS)
    seen: list[ChunkAudio] = []
    first = SynthStats()
    audio = synthesize_chunks(chunks, voice, tmp_path, jobs=2, on_progress=seen.append, stats=first)

    assert [a.chunk for a in audio] == chunks
    assert first == SynthStats(cache_hits=0, synthesized=6, workers=2)
    assert sorted(a.chunk.index for a in seen) == list(range(6))
    for a in audio:
        assert a.wav.is_file() and a.frames > 0 and a.sample_rate == 22_050
        with wave.open(str(a.wav), "rb") as wav:
            assert wav.getnframes() == a.frames and wav.getnchannels() == 1
        # Measured by the worker as it wrote the chunk: what packaging reads is what is there.
        assert sidecar_path(a.wav).is_file()
        kept, measured = chunk_stats(a.wav, a.frames), measure_chunk(a.wav)
        assert kept.block_lufs == measured.block_lufs and kept.silences == measured.silences
        assert len(kept.block_lufs) > 5
    assert len({a.wav for a in audio}) == 6
    assert capfd.readouterr().out == ""  # workers print nothing to the shared stdout

    second = SynthStats()
    again = synthesize_chunks(chunks, voice, tmp_path, jobs=2, stats=second)
    assert second == SynthStats(cache_hits=6, synthesized=0, workers=0)  # no pool started
    assert again == audio

    edited = [*chunks]
    edited[3] = replace(chunks[3], text="A different fourth sentence.")
    third = SynthStats()
    changed = synthesize_chunks(edited, voice, tmp_path, jobs=2, stats=third)
    assert third == SynthStats(cache_hits=5, synthesized=1, workers=1)
    assert changed[3].wav != audio[3].wav
    assert [a.wav for i, a in enumerate(changed) if i != 3] == [
        a.wav for i, a in enumerate(audio) if i != 3
    ]


def test_cache_key_covers_speaking_fields_only(engine: Engine, voice: VoiceProfile) -> None:
    key = cache_key(engine, voice, "Hello.")
    assert cache_key(engine, replace(voice, rate_wpm=250), "Hello.") != key
    assert cache_key(engine, replace(voice, voice="gmw/en-gb-x-rp"), "Hello.") != key
    assert cache_key(engine, voice, "Hello!") != key
    assert cache_key(engine, replace(voice, name="other"), "Hello.") == key  # pauses/name: no
    assert cache_path(Path("c"), key) == Path("c") / key[:2] / f"{key}.wav"


def test_damaged_cache_file_and_duplicates(tmp_path: Path, voice: VoiceProfile) -> None:
    chunks = make_chunks(["Same words.", "Other words.", "Same words."])
    audio = synthesize_chunks(chunks, voice, tmp_path, jobs=1)
    assert audio[0].wav == audio[2].wav  # the same text is spoken once
    audio[1].wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVE")  # damaged from outside
    stats = SynthStats()
    again = synthesize_chunks(chunks, voice, tmp_path, jobs=1, stats=stats)
    assert stats == SynthStats(cache_hits=2, synthesized=1, workers=1)
    # Spoken again, not copied: espeak-ng through pyttsx3 is not bit-exact between utterances
    # of one process (its state carries over), so the length may differ by a few samples.
    assert again[1].wav == audio[1].wav and abs(again[1].frames - audio[1].frames) <= 100
    with wave.open(str(again[1].wav), "rb") as wav:
        assert wav.getnframes() == again[1].frames


def test_runner_errors(tmp_path: Path, voice: VoiceProfile) -> None:
    with pytest.raises(SynthesisError, match="chunk 1 is empty"):
        synthesize_chunks(make_chunks(["Fine.", " "]), voice, tmp_path, jobs=1)
    with pytest.raises(ConfigError, match="unknown speech engine"):
        synthesize_chunks(make_chunks(["Fine."]), replace(voice, engine="nope"), tmp_path, jobs=1)
    # The voice id is checked in the worker, where the engine runs; the error comes back whole.
    bad = replace(voice, voice="gmw/xx-nowhere")
    with pytest.raises(ConfigError, match="no voice 'gmw/xx-nowhere'"):
        synthesize_chunks(make_chunks(["Fine."]), bad, tmp_path, jobs=1)


@pytest.mark.parametrize("pool", ["spawn workers", "batch pool"])
def test_main_process_never_starts_pyttsx3(tmp_path: Path, pool: str) -> None:
    # The pipeline may fork later; pyttsx3 started in this process would hang the children
    # (bug #7). A fresh interpreter shows what synthesize_chunks itself imports, with its own
    # workers and with a batch's pool (the path remote workers take).
    script = (
        "import contextlib, sys\n"
        "from pathlib import Path\n"
        "from tts_pipeline.models import Chunk\n"
        "from tts_pipeline.execution.local import local_pool\n"
        "from tts_pipeline.audio.chunkstats import sidecar_path\n"
        "from tts_pipeline.synth.runner import synthesize_chunks\n"
        "from tts_pipeline.synth.voices import load_voice\n"
        "if __name__ == '__main__':\n"
        "    batch = sys.argv[2] == 'batch pool'\n"
        "    with local_pool(1) if batch else contextlib.nullcontext() as executor:\n"
        "        audio = synthesize_chunks([Chunk(0, 'Hello there.', 0, 0)],\n"
        "                                  load_voice('default'), Path(sys.argv[1]), jobs=1,\n"
        "                                  executor=executor)\n"
        "    from multiprocessing import resource_tracker as rt\n"
        "    stopped = batch or rt._resource_tracker._fd is None\n"
        "    print(audio[0].frames > 0, 'pyttsx3' in sys.modules, 'numpy' in sys.modules,\n"
        "          sidecar_path(audio[0].wav).is_file(), stopped)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), pool],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    # Nor numpy: the worker measured the chunk, and its statistics were written beside it.
    # And the resource tracker its own pool started is gone, with no leaked-semaphore warning.
    assert done.stdout == "True False False True True\n"  # and nothing else reached stdout
    assert done.stderr == ""


def test_worker_crash_names_a_chunk(tmp_path: Path, voice: VoiceProfile) -> None:
    # A worker dying mid-run (an engine segfault, the OOM killer) must fail the run loudly.
    texts = [f"Sentence {i} takes a moment to speak out loud. " * 6 for i in range(40)]

    def kill_a_worker(audio: ChunkAudio) -> None:
        workers = multiprocessing.active_children()
        if workers and workers[0].pid:
            # Later chunks may still be reported after the first kill; a worker that is
            # already gone and reaped is gone.
            with contextlib.suppress(ProcessLookupError):
                os.kill(workers[0].pid, signal.SIGKILL)

    with pytest.raises(WorkerCrashError, match=r"worker crashed.*from chunk \d+ \('Sentence"):
        synthesize_chunks(make_chunks(texts), voice, tmp_path, jobs=2, on_progress=kill_a_worker)
    deadline = time.monotonic() + 5  # the pool's own thread may still be reaping them
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert multiprocessing.active_children() == []  # no worker left behind


# -- voice profiles ---------------------------------------------------------------------------


def test_default_profile() -> None:
    default = load_voice("default")
    assert (default.engine, default.voice, default.rate_wpm) == ("pyttsx3", "gmw/en-us+m5", 175)
    assert (default.pauses.sentence_ms, default.pauses.paragraph_ms) == (180, 450)
    assert default.pauses.heading_ms == 800
    assert "default" in {v.name for v in list_voices()}


def test_unknown_profile_lists_known_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown voice profile 'nope'.*default"):
        load_voice("nope")


def test_user_profiles(tmp_path: Path) -> None:
    (tmp_path / "slow.toml").write_text('engine = "pyttsx3"\nvoice = "gmw/en"\nrate_wpm = 150\n')
    (tmp_path / "lexicon.toml").write_text('"RLHF" = "R L H F"\n')  # not a profile
    assert load_voice("slow", [tmp_path]).rate_wpm == 150
    names = [v.name for v in list_voices([tmp_path])]
    assert "slow" in names and "default" in names and "lexicon" not in names
    (tmp_path / "default.toml").write_text('engine = "pyttsx3"\nvoice = "gmw/en-gb-x-rp"\n')
    assert load_voice("default", [tmp_path]).voice == "gmw/en-gb-x-rp"  # user's wins


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('engine = "pyttsx3"\nvoice = ', "not valid TOML"),
        ('engine = "pyttsx3"\n', "voice must be"),
        ('engine = "pyttsx3"\nvoice = "gmw/en"\nrate = 200\n', "unknown keys rate"),
        ('engine = "pyttsx3"\nvoice = "gmw/en"\nrate_wpm = "fast"\n', "rate_wpm must be"),
        ('engine = "pyttsx3"\nvoice = "gmw/en"\n[pauses]\nsentence_ms = -1\n', "sentence_ms"),
    ],
)
def test_bad_profile_names_the_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_voice("broken", [tmp_path])
    assert str(bad) in str(info.value)
    with pytest.raises(ConfigError, match=r"broken\.toml"):
        list_voices([tmp_path])
