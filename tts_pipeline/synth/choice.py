"""Which voice speaks when none is named: the best one installed.

``joe`` (Piper, a natural neural voice) when Piper and its model are installed, which ``make
install`` does; else espeak-ng's ``default`` profile, the fast fallback that needs nothing but
espeak-ng. A voice named on the command line (``--voice``) or in the config file (``voice =
"..."``, any name but ``default``) is always used as given; ``--voice default`` picks
espeak-ng explicitly. Between the two, ``TTS_PIPELINE_VOICE`` in the environment names the
voice for every command of a machine or a session (a test suite pins the fast engine so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tts_pipeline.errors import ConfigError
from tts_pipeline.synth.engine import get_engine, install_hint
from tts_pipeline.synth.voices import load_voice

BEST = "joe"  # the natural voice preferred when installed
FALLBACK = "default"  # espeak-ng: always there
UNSET = "default"  # the config's ``voice`` when the file names none
ENV_VOICE = "TTS_PIPELINE_VOICE"


@dataclass(frozen=True)
class VoiceChoice:
    name: str
    reason: str  # why this voice: for ``voices`` and ``--verbose``


def best_installed() -> VoiceChoice:
    """``joe`` if it can speak here, else the espeak-ng ``default`` profile (and why)."""
    try:
        voice = load_voice(BEST)
        hint = install_hint(get_engine(voice.engine), voice)
    except ConfigError as exc:
        hint = str(exc)
    if hint is None:
        return VoiceChoice(BEST, f"{BEST} (Piper, a natural voice) is installed")
    return VoiceChoice(
        FALLBACK, f"{BEST} (Piper) is not installed ({hint}); espeak-ng is the fallback"
    )


def choose_voice(requested: str | None, configured: str) -> VoiceChoice:
    """The voice for a command: ``requested`` (``--voice``), else the config's, else
    ``TTS_PIPELINE_VOICE``, else the best installed one."""
    if requested:
        return VoiceChoice(requested, "named with --voice")
    if configured != UNSET:
        return VoiceChoice(configured, "set in the config file")
    if os.environ.get(ENV_VOICE):
        return VoiceChoice(os.environ[ENV_VOICE], f"set by {ENV_VOICE}")
    return best_installed()
