"""libespeak-ng and pyttsx3's espeak driver, reached below pyttsx3's public API.

The pyttsx3 engine (``synth.pyttsx3_engine``) needs what pyttsx3 does not offer: espeak-ng's
version without starting it, the word gap (``espeak_SetParameter``/``espeak_GetParameter``),
whether espeak is still speaking, its voice variants, a driver that prints nothing and an
audio buffer that grows in place. Each reaches into libespeak-ng (through ctypes, the same
process-wide instance the driver uses) or into the driver's private modules here; where one
is missing, the function says so (None, False, "unknown") and the engine does without it.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_ESPEAK_LIBRARIES = ("libespeak-ng.so.1", "libespeak-ng.1.dylib", "libespeak-ng.dll")
# espeak_SetParameter's id for the word gap (speak_lib.h: espeakWORDGAP), which the pyttsx3
# driver neither names nor exposes as a property.
ESPEAK_WORDGAP = 7


@functools.cache
def _libespeak() -> ctypes.CDLL | None:
    """libespeak-ng, loaded once: the same process-wide instance the driver uses."""
    for library in _ESPEAK_LIBRARIES:
        try:
            return ctypes.CDLL(library)
        except OSError:
            continue
    return None


@functools.cache
def _espeak_function(name: str, restype: Any, *argtypes: Any) -> Any:
    """libespeak-ng's function ``name`` with its signature set (once), or None."""
    function = getattr(_libespeak(), name, None)
    if function is not None:
        function.restype, function.argtypes = restype, list(argtypes)
    return function


def espeak_version() -> str:
    """espeak-ng's own version via ``espeak_Info`` (which needs no initialisation), so the
    main process can build cache keys without starting espeak."""
    info = _espeak_function("espeak_Info", ctypes.c_char_p, ctypes.c_void_p)
    raw = info(None) if info is not None else None
    return raw.decode("ascii", "replace").strip() if isinstance(raw, bytes) else "unknown"


def current_parameter(parameter: int) -> int | None:
    """espeak-ng's current value of ``parameter`` (``espeak_GetParameter(p, 1)``); None if it
    cannot be read. The driver's own binding of this call omits the ``current`` argument."""
    get = _espeak_function("espeak_GetParameter", ctypes.c_int, ctypes.c_int, ctypes.c_int)
    return None if get is None else int(get(parameter, 1))


def set_word_gap(gap: int) -> bool:
    """Queue espeak-ng's word gap (``espeak_SetParameter``), through the same binding of the
    library as ``current_parameter`` reads it back; False if the library offers no
    ``espeak_SetParameter``."""
    set_parameter = _espeak_function(
        "espeak_SetParameter", ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int
    )
    if set_parameter is None:
        return False
    set_parameter(ESPEAK_WORDGAP, gap, 0)
    return True


def silence_driver_prints() -> None:
    """Bug #11: every save prints "Audio saved to ..." to stdout, which would corrupt
    `--json` output. Shadowing `print` in the driver module also silences prints that arrive
    late from espeak's thread, after a redirect would have ended."""
    driver_module = sys.modules.get("pyttsx3.drivers.espeak")
    if driver_module is not None:
        driver_module.print = _silence_driver_print  # type: ignore[attr-defined]


def _silence_driver_print(*args: object, **kwargs: Any) -> None:
    log.debug("pyttsx3: %s", " ".join(str(a) for a in args))


def allow_phoneme_input() -> bool:
    """Let espeak-ng read phonemes in double brackets ("[[b'eIz]]", the lexicon's entries for
    espeak-ng): the driver synthesises without ``espeakPHONEMES``, which espeak-ng's own
    command line sets. Wraps the driver module's ``Synth`` once; False where it is missing
    (then a bracketed entry is spoken as its characters, which the lexicon never sends to
    other engines)."""
    try:
        from pyttsx3.drivers import _espeak

        synth = _espeak.Synth
        phonemes = int(_espeak.PHONEMES)
    except (ImportError, AttributeError) as exc:
        log.debug("cannot give espeak-ng phoneme input: %s", exc)
        return False
    if getattr(synth, "reads_phonemes", False):
        return True

    def synth_with_phonemes(*args: Any, flags: int = 0, **kwargs: Any) -> Any:
        return synth(*args, flags=flags | phonemes, **kwargs)

    synth_with_phonemes.reads_phonemes = True  # type: ignore[attr-defined]
    _espeak.Synth = synth_with_phonemes
    return True


def playing_probe() -> Callable[[], int] | None:
    """espeak's ``IsPlaying``, to poll whether it is still busy; None where the driver's
    private binding is missing (retries still catch cancelled utterances)."""
    try:
        from pyttsx3.drivers import _espeak

        is_playing: Callable[[], int] = _espeak.IsPlaying
    except (ImportError, AttributeError) as exc:
        log.debug("cannot poll espeak's playing state: %s", exc)
        return None
    return is_playing


def variant_names() -> frozenset[str] | None:
    """The names and ids of espeak's voice variants ("+f3"), which are not in the voice list
    (espeak ignores unknown ones silently); None where they cannot be listed (the driver's
    private binding moved): then any variant is accepted."""
    variants: set[str] = set()
    try:
        from pyttsx3.drivers import _espeak

        spec = _espeak.VOICE()
        spec.languages = b"variant"
        for variant in _espeak.ListVoices(spec):
            variants.add(variant.name.decode("utf-8", "replace").lower())
            variants.add(variant.identifier.decode("utf-8", "replace").lower().split("/")[-1])
    except Exception as exc:  # private API: if it moves, accept any variant
        log.debug("cannot list espeak variants: %s", exc)
    return frozenset(variants) if variants else None


def grow_audio_in_place(driver: Any) -> None:
    """Make the espeak driver collect an utterance's audio in a bytearray.

    The driver appends each of espeak's audio callbacks to a ``bytes`` attribute with ``+=``:
    a new copy of everything so far each time, quadratic in the chunk's length, and with large
    blocks mapped fresh (``tts_pipeline.memory``) each copy is faulted in again. A
    bytearray's ``+=`` extends in place. Private API: a driver without the attribute is left
    as it is.
    """
    if driver is None or not hasattr(driver, "_data_buffer"):
        return
    base = type(driver)

    class InPlaceBuffer(base):  # type: ignore[valid-type,misc]
        @property
        def _data_buffer(self) -> bytearray:
            buffer: bytearray = self.__dict__["_audio"]
            return buffer

        @_data_buffer.setter
        def _data_buffer(self, value: bytes | bytearray) -> None:
            # The driver resets it with b"" and stores back what += returned: the same array.
            self.__dict__["_audio"] = value if isinstance(value, bytearray) else bytearray(value)

    try:
        driver.__class__ = InPlaceBuffer
        driver._data_buffer = b""
    except TypeError as exc:  # an unexpected layout: keep the driver's own buffer
        log.debug("cannot give the espeak driver an in-place buffer: %s", exc)
