"""The speech-engine protocol and the registry that finds engines by name.

Built-in engines live in this package; third-party engines register under the
``tts_pipeline.engines`` entry-point group, each pointing at a zero-argument factory (usually
the engine class) that returns an object satisfying :class:`Engine`.

Engines are constructed lazily and cached per process. Construction must be cheap and must
not start the speech library: the runner builds the engine in the main process only to read
``name``/``version``/``max_chars`` for cache keys, and the real work happens in spawned
workers (pyttsx3 hangs children forked after ``init()``, notes §1 bug #7).

Two optional methods, looked up with ``getattr`` so plug-ins need neither:
``missing(voice) -> str | None`` answers cheaply, without starting the engine, whether a voice
can be used as is: None, or the one command that would install what is missing
(``tts-pipeline voices`` shows it); ``set_threads(n)`` is called in each worker before the
first synthesis, so that workers x threads stays within the machine's cores.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol, runtime_checkable

from tts_pipeline.errors import ConfigError
from tts_pipeline.models import Pcm, VoiceProfile

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "tts_pipeline.engines"

# name -> "module:attribute" of a zero-argument factory. Imported only when asked for, so an
# optional engine's heavy dependencies cost nothing unless it is used.
BUILTIN_ENGINES: dict[str, str] = {
    "pyttsx3": "tts_pipeline.synth.pyttsx3_engine:Pyttsx3Engine",
    "piper": "tts_pipeline.synth.piper_engine:PiperEngine",  # neural; the [piper] extra
}


@runtime_checkable
class Engine(Protocol):
    """A text-to-speech engine: plain text in, mono s16le PCM out."""

    @property
    def name(self) -> str:
        """Registry name, e.g. ``"pyttsx3"``."""
        ...

    @property
    def version(self) -> str:
        """Engine, library and voice-data versions; part of every cache key, so a change here
        invalidates cached audio."""
        ...

    @property
    def max_chars(self) -> int:
        """The longest text one ``synthesize`` call accepts; the chunk planner stays below it."""
        ...

    def check_voice(self, voice: VoiceProfile) -> None:
        """Raise ConfigError if ``voice.voice`` is not a voice this engine knows."""
        ...

    def synthesize(self, text: str, voice: VoiceProfile) -> Pcm:
        """Speak ``text`` (non-empty, at most ``max_chars``) with ``voice``; raise
        SynthesisError on failure. Never returns empty audio."""
        ...


_instances: dict[str, Engine] = {}
_lock = threading.Lock()


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_engines() -> list[str]:
    """Names of every engine that ``get_engine`` can build (built-ins and plug-ins)."""
    return sorted({*BUILTIN_ENGINES, *_entry_points()})


def _load_factory(name: str) -> Callable[[], object]:
    if name in BUILTIN_ENGINES:
        module_name, _, attr = BUILTIN_ENGINES[name].partition(":")
        factory: Callable[[], object] = getattr(importlib.import_module(module_name), attr)
        return factory
    plugin = _entry_points().get(name)
    if plugin is None:
        raise ConfigError(
            f"unknown speech engine {name!r}; known engines: {', '.join(known_engines())}"
        )
    try:
        loaded: Callable[[], object] = plugin.load()
    except Exception as exc:  # a broken plug-in must not crash the CLI with a traceback
        raise ConfigError(
            f"speech engine {name!r} ({plugin.value}) could not be loaded: {exc}"
        ) from exc
    return loaded


def get_engine(name: str) -> Engine:
    """The engine registered as ``name``, built on first use and cached for this process.

    Raises ConfigError for an unknown name (listing the known ones) or a broken plug-in.
    """
    with _lock:
        engine = _instances.get(name)
        if engine is not None:
            return engine
        factory = _load_factory(name)
        built = factory()
        if not isinstance(built, Engine):
            raise ConfigError(
                f"speech engine {name!r} does not provide name, version, max_chars,"
                " check_voice and synthesize"
            )
        log.debug("built speech engine %s (%s)", name, built.version)
        _instances[name] = built
        return built


def install_hint(engine: Engine, voice: VoiceProfile) -> str | None:
    """None if ``voice`` is usable as is, else a command that installs what it lacks
    (engines without a ``missing`` method count as installed once they load)."""
    check = getattr(engine, "missing", None)
    hint = check(voice) if callable(check) else None
    return str(hint) if hint is not None else None


def require_installed(voice: VoiceProfile) -> None:
    """ConfigError naming what to install if ``voice`` cannot speak: before any work starts,
    rather than from the first worker after the post was fetched."""
    hint = install_hint(get_engine(voice.engine), voice)
    if hint is not None:
        raise ConfigError(f"voice profile {voice.name!r} is not installed; to install it: {hint}")


def set_threads(engine: Engine, threads: int) -> None:
    """Tell ``engine`` how many CPU threads one synthesis may use, if it cares."""
    configure = getattr(engine, "set_threads", None)
    if callable(configure):
        configure(threads)


def first_words(text: str, count: int = 8) -> str:
    """The start of ``text`` for error messages: which chunk failed, in the user's words."""
    words = text.split()
    head = " ".join(words[:count])
    return head + (" ..." if len(words) > count else "")
