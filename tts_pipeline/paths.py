"""The user's folders: where the config file, voice profiles, downloaded voices and caches live."""

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


def user_cache_dir() -> Path:
    """Files rebuilt on demand, safe to delete (``$XDG_CACHE_HOME`` on Linux, normally
    ``~/.cache/tts-pipeline``): e.g. a speech-recognition model assembled from its packages."""
    return Path(platformdirs.user_cache_dir(APP_NAME))
