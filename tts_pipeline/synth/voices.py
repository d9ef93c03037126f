"""Voice profiles: ``<name>.toml`` files bundled in ``tts_pipeline/voices`` plus the user's.

A profile file::

    engine = "pyttsx3"      # engine registry name
    voice = "gmw/en-us"     # engine-specific voice id (espeak-ng: `espeak-ng --voices`)
    rate_wpm = 200          # words per minute
    [pauses]                # silence after a chunk, by what ends there (ms)
    sentence_ms = 250
    paragraph_ms = 600
    heading_ms = 1000

Piper profiles name a Piper voice (``voice = "en_US-joe-medium"``) and may add
``model = "path/to/voice.onnx"`` (relative to the profile's folder; its ``.onnx.json`` beside
it) and ``deterministic = true`` (no random noise: the same text gives the same bytes).
espeak-ng profiles (``engine = "pyttsx3"``) may add ``word_gap = 5``: extra silence between
words in espeak-ng's units (nominally 10 ms each at its normal pace; measured at 160 wpm, 1
adds about 40 ms per word boundary, 5 about 85 ms, 10 about 150 ms). A profile for one speaker
of a multi-speaker Piper model (``en_US-libritts_r-medium``, ``en_GB-vctk-medium``) adds
``speaker = 12``, the speaker id (0-based, as in the model's ``speaker_id_map``).

The profile's name is the file name without ``.toml``. Profiles in extra directories override
bundled ones of the same name (earlier directories win), so a user can redefine ``default``.
Without explicit directories the user voices folder (:func:`user_voices_dir`, where
``tts-pipeline voices install`` puts voices) is searched before the bundled profiles.
Whether the engine knows the voice id is checked by the engine (``Engine.check_voice``), not
here: that needs the engine running, and loading a profile must stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from tts_pipeline.config import read_toml
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import Pauses, VoiceProfile
from tts_pipeline.paths import user_voices_dir

SUFFIX = ".toml"
# Other TOML data kept beside the profiles (DESIGN: voices/lexicon.toml holds pronunciations).
NOT_PROFILES = frozenset({"lexicon"})
_TOP_KEYS = frozenset(
    {"engine", "voice", "rate_wpm", "pauses", "model", "deterministic", "word_gap", "speaker"}
)
_PAUSE_KEYS = ("sentence_ms", "paragraph_ms", "heading_ms")
RATE_RANGE = (50, 600)
MAX_PAUSE_MS = 10_000
MAX_WORD_GAP = 100  # 1.3 s between words at 160 wpm: far past anything speech-like
WORD_GAP_ENGINES = frozenset({"pyttsx3"})  # the espeak-ng engine; Piper has no such setting
SPEAKER_ENGINES = frozenset({"piper"})
MAX_SPEAKER = 10_000  # speaker ids of Piper's largest models (libritts_r: 904) fit easily


def bundled_dir() -> Traversable:
    """The profiles shipped inside the package (works from a wheel or a zip as well)."""
    return files("tts_pipeline") / "voices"


def _profile_files(extra_dirs: Sequence[Path] | None) -> dict[str, Traversable]:
    """name -> file, for every profile visible; extra directories shadow the bundled ones."""
    found: dict[str, Traversable] = {}
    dirs = [user_voices_dir()] if extra_dirs is None else list(extra_dirs)
    for folder in [*dirs, bundled_dir()]:
        for name, entry in _entries(folder):
            found.setdefault(name, entry)
    return found


def _entries(folder: Traversable | Path) -> Iterator[tuple[str, Traversable]]:
    if isinstance(folder, Path) and not folder.exists():
        return  # a user voices folder is optional
    if not folder.is_dir():
        raise ConfigError(f"voices folder {folder} is not a directory")
    try:
        entries = sorted(folder.iterdir(), key=lambda e: e.name)
    except OSError as exc:
        raise ConfigError(f"cannot list voices folder {folder}: {exc}") from exc
    for entry in entries:
        stem = entry.name.removesuffix(SUFFIX)
        if entry.name.endswith(SUFFIX) and stem and stem not in NOT_PROFILES and entry.is_file():
            yield stem, entry


def load_voice(name: str, extra_dirs: Sequence[Path] | None = None) -> VoiceProfile:
    """The profile called ``name``; ConfigError if there is none (listing the known names)
    or its file is invalid (naming the file)."""
    found = _profile_files(extra_dirs)
    entry = found.get(name)
    if entry is None:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(f"unknown voice profile {name!r}; known profiles: {known}")
    return _load_file(name, entry)


def list_voices(extra_dirs: Sequence[Path] | None = None) -> list[VoiceProfile]:
    """Every visible profile, sorted by name. Any invalid file raises ConfigError."""
    return [_load_file(name, entry) for name, entry in sorted(_profile_files(extra_dirs).items())]


def _load_file(name: str, entry: Traversable) -> VoiceProfile:
    profile = parse_voice(name, read_toml(entry, "voice profile"), where=str(entry))
    if profile.model:  # relative to the profile's own folder, wherever it was run from
        folder = Path(str(entry)).parent
        profile = replace(profile, model=str((folder / Path(profile.model).expanduser()).resolve()))
    return profile


def parse_voice(name: str, data: dict[str, Any], *, where: str) -> VoiceProfile:
    """Build a profile from parsed TOML; ``where`` names the source in error messages."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"voice profile {where}: unknown keys {', '.join(sorted(unknown))}"
            f" (expected {', '.join(sorted(_TOP_KEYS))})"
        )
    engine = _text(data, "engine", where)
    voice = _text(data, "voice", where)
    rate = _whole(data.get("rate_wpm", 200), "rate_wpm", where, *RATE_RANGE)
    raw_pauses = data.get("pauses", {})
    if not isinstance(raw_pauses, dict):
        raise ConfigError(f"voice profile {where}: [pauses] must be a table")
    unknown = set(raw_pauses) - set(_PAUSE_KEYS)
    if unknown:
        raise ConfigError(
            f"voice profile {where}: unknown [pauses] keys {', '.join(sorted(unknown))}"
            f" (expected {', '.join(_PAUSE_KEYS)})"
        )
    defaults = Pauses()
    pauses = Pauses(
        **{
            key: _whole(raw_pauses.get(key, getattr(defaults, key)), key, where, 0, MAX_PAUSE_MS)
            for key in _PAUSE_KEYS
        }
    )
    model = _text(data, "model", where) if "model" in data else ""
    deterministic = data.get("deterministic", False)
    if not isinstance(deterministic, bool):
        raise ConfigError(f"voice profile {where}: deterministic must be true or false")
    word_gap = _whole(data.get("word_gap", 0), "word_gap", where, 0, MAX_WORD_GAP)
    if word_gap and engine not in WORD_GAP_ENGINES:
        raise ConfigError(
            f"voice profile {where}: word_gap is an espeak-ng setting; engine {engine!r}"
            f' does not support it (use engine = "pyttsx3" or drop word_gap)'
        )
    speaker = data.get("speaker")
    if speaker is not None:
        speaker = _whole(speaker, "speaker", where, 0, MAX_SPEAKER)
        if engine not in SPEAKER_ENGINES:
            raise ConfigError(
                f"voice profile {where}: speaker names one speaker of a multi-speaker Piper"
                f' model; engine {engine!r} does not support it (use engine = "piper")'
            )
    return VoiceProfile(
        name=name,
        engine=engine,
        voice=voice,
        rate_wpm=rate,
        pauses=pauses,
        model=model,
        deterministic=deterministic,
        word_gap=word_gap,
        speaker=speaker,
    )


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"voice profile {where}: {key} must be a non-empty string")
    return value.strip()


def _whole(value: object, key: str, where: str, low: int, high: int) -> int:
    # bool is an int subclass: `rate_wpm = true` must not pass as 1.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(
            f"voice profile {where}: {key} must be a whole number from {low} to {high}"
        )
    return value
