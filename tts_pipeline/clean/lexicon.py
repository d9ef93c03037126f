"""The pronunciation lexicon: whole-word, case-aware replacements, with per-voice overrides.

Loaded from ``voices/lexicon.toml`` inside the package, then from ``lexicon.toml`` in each extra
directory (earlier directories win, like voice profiles). Without explicit directories that is
the user voices folder (``~/.local/share/tts-pipeline/voices`` on Linux, where ``voices
install`` puts voices), so a user's own entries extend or override the bundled ones::

    [words]                    # every voice
    LessWrong = "Less Wrong"
    RLHF = "R-L-H-F"
    grokking = "grocking"

    [engines.pyttsx3]          # every espeak-ng voice; [[...]]: espeak-ng's own phonemes
    Christiano = "[[kristi'A:noU]]"

    [voices.uk]                # only the voice profile named "uk"; "" restores the written word
    Bostrom = "Boss-trom"

Tables are layered: ``[words]``, then the voice's engine (``[engines.pyttsx3]``,
``[engines.piper]``), then the voice profile (``[voices.NAME]``); the later wins. Phonemes in
double brackets (espeak-ng's mnemonics, as ``espeak-ng -x`` prints them) say a word exactly as
meant; only espeak-ng reads them, so they may stand in ``[engines.pyttsx3]`` and
``[voices.NAME]`` but not in ``[words]``, and a voice of another engine skips them.

Matching: a key with a capital letter matches that exact spelling only ("AGI", not "agi"); an
all-lower-case key also matches the word capitalised at a sentence start ("Grokking" ->
"Grocking"). Keys match whole words: never inside a longer word ("EA" is not replaced in
"EAT") or a domain name ("arxiv.org"), but a possessive or hyphenated form still matches
("LessWrong's", "AGI-level").
Longer keys win over shorter ones ("EA Forum" before "EA"). An all-capital key also gives its
plural with a small s, said as a plural ("AGI" = "A-G-I": "AGIs" -> "A-G-I's").

API, for any engine: ``load_lexicon(extra_dirs=None) -> Lexicon`` (``()``: the bundled one alone);
``Lexicon.apply(text, voice_name, engine) -> str``; ``Lexicon.entries(voice_name, engine) ->
dict`` (the merged table).
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
_TOP_KEYS = frozenset({"words", "engines", "voices"})
# espeak-ng's phoneme input: mnemonics in double brackets, one word or more ("[[b'eIz]]").
PHONEMES = re.compile(r"\[\[[^\[\]]+\]\]")
PHONEME_ENGINES = frozenset({"pyttsx3"})  # the engines that read PHONEMES (espeak-ng's)


@dataclass(frozen=True)
class Lexicon:
    """Replacements for every voice (``words``), per engine (``engines``) and per voice name
    (``voices``)."""

    words: Mapping[str, str] = field(default_factory=dict)
    voices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    engines: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    _compiled: dict[tuple[str, str], tuple[re.Pattern[str] | None, dict[str, str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def entries(self, voice_name: str = "", engine: str = "") -> dict[str, str]:
        """The merged table for ``voice_name`` of ``engine``: the engine's table overrides
        ``words``, the voice's overrides both; "" removes an entry, and so does a phoneme entry
        for an engine that cannot read it."""
        merged = {
            **self.words, **self.engines.get(engine, {}), **self.voices.get(voice_name, {})
        }  # fmt: skip
        phonemes = engine in PHONEME_ENGINES
        return {k: v for k, v in merged.items() if v and (phonemes or not PHONEMES.search(v))}

    def apply(self, text: str, voice_name: str = "", engine: str = "") -> str:
        """``text`` with every lexicon word replaced by how ``voice_name`` (a voice of
        ``engine``) should say it.

        >>> Lexicon({"AGI": "A-G-I", "grokking": "grocking"}).apply("Grokking AGI, not agile.")
        'Grocking A-G-I, not agile.'
        """
        pattern, table = self._pattern(voice_name, engine)
        if pattern is None:
            return text
        return pattern.sub(lambda m: table[m[0]], text)

    def _pattern(
        self, voice_name: str, engine: str
    ) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        if (voice_name, engine) not in self._compiled:
            table: dict[str, str] = {}
            entries = self.entries(voice_name, engine)
            for key, value in entries.items():
                table[key] = value
                if key.islower():
                    table.setdefault(key[0].upper() + key[1:], _capitalised(value))
                if _ACRONYM.fullmatch(key) and key + "s" not in entries:
                    # "AGIs": the plural said ("[[...]]'s" goes inside the phonemes, see speech)
                    table.setdefault(key + "s", value + "'s")
            keys = sorted(table, key=len, reverse=True)
            alternatives = "|".join(re.escape(k) for k in keys)
            pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w|\.\w)") if keys else None
            self._compiled[voice_name, engine] = (pattern, table)
        return self._compiled[voice_name, engine]


def _capitalised(value: str) -> str:
    """The value for a word capitalised at a sentence start (phonemes have no capitals)."""
    return value if value.startswith("[[") else value[0].upper() + value[1:]


def parse_lexicon(data: dict[str, Any], where: str) -> Lexicon:
    """Validate one parsed lexicon file; ConfigError names ``where`` and the bad entry."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"lexicon {where}: unknown keys {', '.join(sorted(unknown))} (expected [words],"
            " [engines.<engine>] and [voices.<name>])"
        )
    words = _table(data.get("words", {}), f"lexicon {where} [words]", phonemes=False)
    engines = _tables(data, "engines", where)
    voices = _tables(data, "voices", where)
    for name, table in engines.items():
        if name not in PHONEME_ENGINES and any(PHONEMES.search(v) for v in table.values()):
            raise ConfigError(
                f"lexicon {where} [engines.{name}]: only espeak-ng ([engines.pyttsx3]) reads"
                " [[phonemes]]; spell the word instead"
            )
    return Lexicon(words, voices, engines)


def _tables(data: dict[str, Any], kind: str, where: str) -> dict[str, dict[str, str]]:
    """``[engines.NAME]`` or ``[voices.NAME]``: one table per name."""
    raw = data.get(kind, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"lexicon {where}: [{kind}] must hold one table per {kind[:-1]}")
    return {name: _table(t, f"lexicon {where} [{kind}.{name}]") for name, t in raw.items()}


def _table(raw: object, where: str, *, phonemes: bool = True) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f'{where} must be a table of word = "replacement"')
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key!r} must map to a string")
        if not key.strip() or key != key.strip():
            raise ConfigError(f"{where}: {key!r} is not a word")
        if re.search(r"[<>{}\\]|://", value):
            raise ConfigError(f"{where}: {key!r} -> {value!r} holds markup; say it in words")
        if "[[" in value or "]]" in value:
            if not phonemes:
                raise ConfigError(
                    f"{where}: {key!r} -> {value!r}: [[phonemes]] are read by espeak-ng alone;"
                    " put them under [engines.pyttsx3] or [voices.NAME]"
                )
            if re.search(r"\[\[|\]\]", PHONEMES.sub("", value)):
                raise ConfigError(f"{where}: {key!r} -> {value!r}: unclosed [[phonemes]]")
    return dict(raw)


def merge(base: Lexicon, override: Lexicon) -> Lexicon:
    return Lexicon(
        {**base.words, **override.words},
        _merge_tables(base.voices, override.voices),
        _merge_tables(base.engines, override.engines),
    )


def _merge_tables(
    base: Mapping[str, Mapping[str, str]], override: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    merged = {name: dict(table) for name, table in base.items()}
    for name, table in override.items():
        merged.setdefault(name, {}).update(table)
    return merged


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
