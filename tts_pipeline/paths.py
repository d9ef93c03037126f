"""The user's folders: where the config file, voice profiles and downloaded voices live."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "tts-pipeline"


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/tts-pipeline`` on Linux (normally ``~/.config/tts-pipeline``)."""
    return Path(platformdirs.user_config_dir(APP_NAME))


def user_voices_dir() -> Path:
    """The user's own profiles, lexicon and downloaded voice models (``$XDG_DATA_HOME`` on
    Linux, normally ``~/.local/share/tts-pipeline/voices``)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "voices"
