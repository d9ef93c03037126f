"""The pronunciation lexicon: whole-word, case-aware replacements, with per-voice overrides.

Loaded from ``voices/lexicon.toml`` inside the package, then from ``lexicon.toml`` in each extra
directory (earlier directories win, like voice profiles). Without explicit directories that is
the user voices folder (``~/.local/share/tts-pipeline/voices`` on Linux, where ``voices
install`` puts voices), so a user's own entries extend or override the bundled ones::

    [words]                    # every voice
    LessWrong = "Less Wrong"
    RLHF = "R-L-H-F"
    grokking = "grocking"

    [voices.uk]                # only the voice profile named "uk"; "" restores the written word
    Bostrom = "Boss-trom"

Matching: a key with a capital letter matches that exact spelling only ("AGI", not "agi"); an
all-lower-case key also matches the word capitalised at a sentence start ("Grokking" ->
"Grocking"). Keys match whole words: never inside a longer word ("EA" is not replaced in
"EAT") or a domain name ("arxiv.org"), but a possessive or hyphenated form still matches
("LessWrong's", "AGI-level").
Longer keys win over shorter ones ("EA Forum" before "EA"). An all-capital key also gives its
plural with a small s, said as a plural ("AGI" = "A-G-I": "AGIs" -> "A-G-I's").

API, for any engine: ``load_lexicon(extra_dirs=None) -> Lexicon`` (``()``: the bundled one alone);
``Lexicon.apply(text, voice_name) -> str``; ``Lexicon.entries(voice_name) -> dict`` (the merged
table, e.g. for an engine that takes phonemes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from stat import S_ISREG
from typing import Any

from tts_pipeline.config import read_toml
from tts_pipeline.errors import ConfigError
from tts_pipeline.paths import user_voices_dir

FILE_NAME = "lexicon.toml"
_ACRONYM = re.compile(r"[A-Z]{2,}")
_TOP_KEYS = frozenset({"words", "voices"})


@dataclass(frozen=True)
class Lexicon:
    """Replacements for every voice (``words``) and per voice name (``voices``)."""

    words: Mapping[str, str] = field(default_factory=dict)
    voices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    _compiled: dict[str, tuple[re.Pattern[str] | None, dict[str, str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def entries(self, voice_name: str = "") -> dict[str, str]:
        """The merged table for ``voice_name``: voice overrides win; "" removes an entry."""
        merged = {**self.words, **self.voices.get(voice_name, {})}
        return {k: v for k, v in merged.items() if v}

    def apply(self, text: str, voice_name: str = "") -> str:
        """``text`` with every lexicon word replaced by how ``voice_name`` should say it.

        >>> Lexicon({"AGI": "A-G-I", "grokking": "grocking"}).apply("Grokking AGI, not agile.")
        'Grocking A-G-I, not agile.'
        """
        pattern, table = self._pattern(voice_name)
        if pattern is None:
            return text
        return pattern.sub(lambda m: table[m[0]], text)

    def _pattern(self, voice_name: str) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        if voice_name not in self._compiled:
            table: dict[str, str] = {}
            entries = self.entries(voice_name)
            for key, value in entries.items():
                table[key] = value
                if key.islower():
                    table.setdefault(key[0].upper() + key[1:], value[0].upper() + value[1:])
                if _ACRONYM.fullmatch(key) and key + "s" not in entries:
                    table.setdefault(key + "s", value + "'s")  # "AGIs": the plural said
            keys = sorted(table, key=len, reverse=True)
            alternatives = "|".join(re.escape(k) for k in keys)
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w|\.\w)") if keys else None
            self._compiled[voice_name] = (pattern, table)
        return self._compiled[voice_name]


def parse_lexicon(data: dict[str, Any], where: str) -> Lexicon:
    """Validate one parsed lexicon file; ConfigError names ``where`` and the bad entry."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"lexicon {where}: unknown keys {', '.join(sorted(unknown))} (expected [words]"
            " and [voices.<name>])"
        )
    words = _table(data.get("words", {}), f"lexicon {where} [words]")
    raw_voices = data.get("voices", {})
    if not isinstance(raw_voices, dict):
        raise ConfigError(f"lexicon {where}: [voices] must hold one table per voice")
    voices = {name: _table(t, f"lexicon {where} [voices.{name}]") for name, t in raw_voices.items()}
    return Lexicon(words, voices)


def _table(raw: object, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f'{where} must be a table of word = "replacement"')
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key!r} must map to a string")
        if not key.strip() or key != key.strip():
            raise ConfigError(f"{where}: {key!r} is not a word")
        if re.search(r"[<>{}\\]|://", value):
            raise ConfigError(f"{where}: {key!r} -> {value!r} holds markup; say it in words")
    return dict(raw)


def merge(base: Lexicon, override: Lexicon) -> Lexicon:
    voices = {name: dict(table) for name, table in base.voices.items()}
    for name, table in override.voices.items():
        voices.setdefault(name, {}).update(table)
    return Lexicon({**base.words, **override.words}, voices)


def bundled_file() -> Traversable:
    return files("tts_pipeline") / "voices" / FILE_NAME


def _read(source: Traversable | Path) -> Lexicon:
    return parse_lexicon(read_toml(source, "lexicon"), str(source))


def load_lexicon(extra_dirs: Sequence[Path] | None = None) -> Lexicon:
    """The bundled lexicon, overridden by ``lexicon.toml`` in each extra directory that has one
    (earlier directories win); ``None``: the user voices folder, as for voice profiles."""
    if extra_dirs is None:
        extra_dirs = [user_voices_dir()]
    found: list[tuple[str, int, int]] = []
    for folder in reversed(list(extra_dirs)):
        path = Path(folder) / FILE_NAME
        try:
            info = path.stat()
        except OSError:
            continue
        if S_ISREG(info.st_mode):
            found.append((str(path), info.st_mtime_ns, info.st_size))
    return _load(tuple(found))


@cache
def _bundled() -> Lexicon:
    return _read(bundled_file())


@cache
def _load(files_: tuple[tuple[str, int, int], ...]) -> Lexicon:
    """The merged lexicon of these files (path, mtime, size: an edited file is read again).
    Cached, so each conversion or preview reuses the parsed tables and compiled patterns."""
    lexicon = _bundled()
    for path, _, _ in files_:
        lexicon = merge(lexicon, _read(Path(path)))
    return lexicon
