"""Who reads a conversation, from the config file's ``[cast]`` table::

[cast]
enabled = true               # false: one voice reads everything ("Alice says: ...")
voices = ["joe", "uk", "us-female", "scottish"]  # profiles for the participants, in order
announce = "change"          # say the speaker's name: "always", "change" or "first"
announce_after_s = 30        # "change": again when the speaker was last heard this long ago
turn_pause_ms = 800          # silence between two turns
quote_voice = ""             # a profile that reads block quotes ("": the speaker's own voice)

[cast.assign]                # fixed voices by display name
"Alice Smith" = "joe"

The narrator (intro, headings, footnotes, outro) keeps the episode's voice; a profile in
``voices`` that is the narrator's is skipped, and participants beyond the list share voices
again from its start. Without ``voices`` the default cast is used, less any voice that is
not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tts_pipeline.errors import ConfigError

ANNOUNCE = ("always", "change", "first")
# joe (Piper) first: the most natural voice for the participant who speaks first; then
# espeak-ng voices that differ from the default narrator (American, male) in accent or pitch.
DEFAULT_VOICES = ("joe", "uk", "us-female", "scottish")
MAX_PAUSE_MS = 10_000


@dataclass(frozen=True)
class CastOptions:
    """How a conversation's participants are voiced and announced."""

    enabled: bool = True
    voices: tuple[str, ...] = ()  # empty: DEFAULT_VOICES, those installed
    assign: tuple[tuple[str, str], ...] = ()  # (display name, profile) pairs
    announce: str = "change"
    announce_after_s: float = 30.0
    turn_pause_ms: int = 800
    quote_voice: str = ""

    def __post_init__(self) -> None:
        if self.announce not in ANNOUNCE:
            raise ConfigError(
                f"announce must be one of {', '.join(ANNOUNCE)}, not {self.announce!r}"
            )
        if not 0 <= self.turn_pause_ms <= MAX_PAUSE_MS:
            raise ConfigError(f"turn_pause_ms must be from 0 to {MAX_PAUSE_MS}")
        if self.announce_after_s < 0:
            raise ConfigError("announce_after_s must be at least 0")


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{what} must be a list of voice profile names")
    return tuple(v.strip() for v in value)


def parse_cast(data: dict[str, Any], where: str = "config") -> CastOptions:
    """``CastOptions`` from a parsed ``[cast]`` table; ConfigError names ``where``."""
    known = {"enabled", "voices", "assign", "announce", "announce_after_s", "turn_pause_ms",
             "quote_voice"}  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise ConfigError(
            f"{where}: [cast] has unknown keys {', '.join(sorted(unknown))}"
            f" (expected {', '.join(sorted(known))})"
        )
    values: dict[str, Any] = {}
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise ConfigError(f"{where}: [cast] enabled must be true or false")
        values["enabled"] = data["enabled"]
    if "voices" in data:
        values["voices"] = _strings(data["voices"], f"{where}: [cast] voices")
    assign = data.get("assign", {})
    if not isinstance(assign, dict) or not all(
        isinstance(v, str) and v.strip() for v in assign.values()
    ):
        raise ConfigError(
            f'{where}: [cast.assign] must map display names to profiles ("Name" = "joe")'
        )
    values["assign"] = tuple((str(k).strip(), v.strip()) for k, v in assign.items())
    for name in ("announce", "quote_voice"):
        if name in data:
            if not isinstance(data[name], str):
                raise ConfigError(f"{where}: [cast] {name} must be a string")
            values[name] = data[name].strip()
    for name, kind in (("announce_after_s", float), ("turn_pause_ms", int)):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}: [cast] {name} must be a number")
            if kind is int and not isinstance(value, int):
                raise ConfigError(f"{where}: [cast] {name} must be a whole number")
            values[name] = kind(value)
    try:
        return CastOptions(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: [cast] {exc}") from exc
