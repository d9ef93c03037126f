"""The pyttsx3 engine (espeak-ng on Linux), with a workaround for each bug in notes §1.

This module, with ``synth.espeak_driver`` for what it reaches below pyttsx3's API (libespeak-ng
itself, the driver's private parts), is the one wrapper around pyttsx3: its exceptions, prints
and silent failures are turned into SynthesisError/ConfigError here. Bug numbers refer to the
table in ``notes/audio-and-tts.md`` §1 (upstream issue numbers are given as "pyttsx3 #N").

Use one instance per process, in a worker started with the ``spawn`` method: espeak-ng can be
initialised only once per process and children forked after ``init()`` hang (bug #7,
pyttsx3 #131). Constructing the object is cheap and does not start espeak; that happens on the
first ``check_voice`` or ``synthesize``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from tts_pipeline.errors import ConfigError, SynthesisError
from tts_pipeline.models import Pcm, VoiceProfile
from tts_pipeline.synth.engine import first_words
from tts_pipeline.synth.espeak_driver import (
    ESPEAK_WORDGAP,
    allow_phoneme_input,
    current_parameter,
    espeak_version,
    grow_audio_in_place,
    playing_probe,
    set_word_gap,
    silence_driver_prints,
    variant_names,
)

log = logging.getLogger(__name__)

ENGINE_NAME = "pyttsx3"
WAV_HEADER_BYTES = 44
# espeak-ng segfaults on one call of >= ~13,200 bytes (bug #4: the driver passes len*10 as the
# buffer size) and slows down quadratically on long text (bug #5). Chunks stay far below both.
MAX_CHARS = 3000
MAX_BYTES = 12_000
ATTEMPTS = 3  # an empty WAV was always fixed by the second try (notes, "Later measurement")
SETTLE_S = 2.0  # how long a WAV may take to gain frames and stop growing after the callback
POLL_S = 0.002
# Audio shorter than this fraction of what the word count predicts is treated as truncated.
MIN_DURATION_FRACTION = 0.25
MIN_WORDS_FOR_DURATION_CHECK = 4
_WORD = re.compile(r"\w+")


def _pyttsx3_version() -> str:
    try:
        return package_version("pyttsx3")
    except PackageNotFoundError:
        return "unknown"


class Pyttsx3Engine:
    """pyttsx3 with the espeak driver: mono s16le at 22,050 Hz (fixed by the driver)."""

    name = ENGINE_NAME
    max_chars = MAX_CHARS

    def __init__(self) -> None:
        self._version: str | None = None
        self._tts: Any = None
        self._init_pid: int | None = None
        self._voice_names: frozenset[str] | None = None
        self._variant_names: frozenset[str] | None = None
        self._checked: set[str] = set()
        self._lock = threading.Lock()  # one engine per process; threads would share it (#7)
        self._finished = threading.Event()
        self._completed = True
        self._errors: list[str] = []
        self._is_playing: Callable[[], int] | None = None

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = f"pyttsx3-{_pyttsx3_version()}+espeak-ng-{espeak_version()}"
        return self._version

    def missing(self, voice: VoiceProfile) -> str | None:
        """None when libespeak-ng loads (the voice id itself is checked at synthesis)."""
        return "apt-get install espeak-ng" if espeak_version() == "unknown" else None

    # -- start-up ---------------------------------------------------------------------------

    def _driver(self) -> Any:
        if self._tts is not None:
            if self._init_pid != os.getpid():
                # Inherited through fork: using it would hang (bug #7, pyttsx3 #131).
                raise SynthesisError(
                    "pyttsx3 was started in a parent process and inherited by fork;"
                    " run synthesis in spawn workers",
                    engine=ENGINE_NAME,
                )
            return self._tts
        try:
            import pyttsx3

            tts = pyttsx3.init("espeak")
        except Exception as exc:  # ImportError/OSError/RuntimeError from loading libespeak-ng
            raise SynthesisError(
                f"espeak-ng is not installed or could not start (apt-get install espeak-ng): {exc}",
                engine=ENGINE_NAME,
            ) from exc
        silence_driver_prints()  # bug #11
        if not allow_phoneme_input():  # the lexicon's [[phonemes]] for espeak-ng voices
            log.warning(
                "this pyttsx3 cannot pass [[phonemes]] to espeak-ng: lexicon entries"
                " written in phonemes will be spelled out"
            )
        grow_audio_in_place(getattr(getattr(tts, "proxy", None), "_driver", None))
        # Bug #1 (pyttsx3 #219, #151): runAndWait returns before espeak's thread has written
        # the file, so completion is signalled by this callback instead.
        tts.connect("finished-utterance", self._on_finished)
        # Bug #8: errors inside the queue pump (e.g. a bad voice) are swallowed unless seen here.
        tts.connect("error", self._on_error)
        self._is_playing = playing_probe()
        # Every runAndWait calls the driver's stop(), which cancels whatever espeak is busy
        # with and leaves a sticky flag that cancels the *next* utterance too. espeak is busy
        # right after init (applying the driver's default voice and rate; a cancel there is
        # bug #6's 175 wpm) and while applying each setProperty. So: wait until idle, then
        # run once empty, because pyttsx3's proxy starts "busy" and would otherwise queue our
        # first setProperty calls into runAndWait, past the idle wait in _attempt.
        self._wait_until_idle(time.monotonic() + SETTLE_S)
        with contextlib.redirect_stdout(io.StringIO()):
            tts.runAndWait()
        self._tts = tts
        self._init_pid = os.getpid()
        log.debug("pyttsx3 started in process %d (%s)", self._init_pid, self.version)
        return tts

    def _wait_until_idle(self, deadline: float) -> None:
        if self._is_playing is None:
            return
        while self._is_playing() and time.monotonic() < deadline:
            time.sleep(POLL_S / 5)

    def _set_word_gap(self, voice: VoiceProfile) -> None:
        """Set espeak-ng's word gap for this utterance. It is global state in espeak-ng, so it
        is set on every call, 0 included: a worker may speak for several profiles. It goes to
        espeak's command queue, ahead of the synthesis that ``runAndWait`` queues. Set and
        read back (``current_parameter``) through the same binding of the library."""
        # The driver started, so the library loaded: a missing function was never seen.
        if not set_word_gap(voice.word_gap) and voice.word_gap:
            raise SynthesisError(
                "libespeak-ng offers no espeak_SetParameter to set the word gap;"
                f" drop word_gap from voice profile {voice.name!r}",
                engine=ENGINE_NAME,
            )

    def _on_finished(self, name: object = None, completed: bool = True, **_: object) -> None:
        self._completed = bool(completed)
        self._finished.set()

    def _on_error(self, name: object = None, exception: object = None, **_: object) -> None:
        self._errors.append(str(exception))

    # -- voices -----------------------------------------------------------------------------

    def _load_voice_names(self) -> None:
        tts = self._driver()
        names: set[str] = set()
        for voice in tts.getProperty("voices"):
            names.add(str(voice.id).lower())
            names.add(str(voice.name).lower())
            names.update(str(lang).lower() for lang in voice.languages or ())
        self._voice_names = frozenset(names)
        self._variant_names = variant_names()

    def check_voice(self, voice: VoiceProfile) -> None:
        """Bug #8: pyttsx3 ignores an invalid voice and speaks with the previous one, so the
        id (or name, or language), and its ``+variant``, are checked against espeak's list."""
        if voice.voice in self._checked:
            return
        if self._voice_names is None:
            self._load_voice_names()
        assert self._voice_names is not None
        base, plus, variant = voice.voice.lower().partition("+")
        if base not in self._voice_names:
            english = sorted(v for v in self._voice_names if v.startswith("gmw/en"))
            raise ConfigError(
                f"voice profile {voice.name!r}: espeak-ng has no voice {voice.voice!r}"
                f" (English voices: {', '.join(english)}; `espeak-ng --voices` lists all)"
            )
        if plus and self._variant_names is not None and variant not in self._variant_names:
            raise ConfigError(
                f"voice profile {voice.name!r}: espeak-ng has no variant {variant!r}"
                " (`espeak-ng --voices=variant` lists them, e.g. f3, m2)"
            )
        self._checked.add(voice.voice)

    # -- synthesis --------------------------------------------------------------------------

    def synthesize(self, text: str, voice: VoiceProfile) -> Pcm:
        if not text.strip():
            # Bug #9: save_to_file("") raises AssertionError; the planner must drop empty chunks.
            raise SynthesisError("cannot synthesise empty text", engine=ENGINE_NAME)
        size = len(text.encode("utf-8"))
        if len(text) > MAX_CHARS or size > MAX_BYTES:
            raise SynthesisError(
                f"text too long for one pyttsx3 call ({len(text)} chars, {size} bytes; limit"
                f" {MAX_CHARS} chars / {MAX_BYTES} bytes) at {first_words(text)!r}",
                engine=ENGINE_NAME,
            )
        with self._lock:
            self.check_voice(voice)
            reasons: list[str] = []
            with tempfile.TemporaryDirectory(prefix="tts-pyttsx3-") as tmp:
                for attempt in range(1, ATTEMPTS + 1):
                    # A fresh path per attempt: a late write from a timed-out attempt cannot
                    # be mistaken for this one's output.
                    path = Path(tmp) / f"attempt-{attempt}.wav"
                    pcm, reason = self._attempt(text, voice, path)
                    if pcm is not None:
                        if attempt > 1:
                            log.info("pyttsx3 succeeded on attempt %d: %s", attempt, reasons)
                        return pcm
                    reasons.append(reason)
                    log.warning(
                        "pyttsx3 attempt %d/%d failed for %r: %s",
                        attempt,
                        ATTEMPTS,
                        first_words(text),
                        reason,
                    )
        raise SynthesisError(
            f"pyttsx3 produced no usable audio for {first_words(text)!r} after {ATTEMPTS}"
            f" attempts ({'; '.join(reasons)})",
            engine=ENGINE_NAME,
        )

    def _attempt(self, text: str, voice: VoiceProfile, path: Path) -> tuple[Pcm | None, str]:
        tts = self._driver()
        self._finished.clear()
        self._completed = True
        self._errors.clear()
        timeout = SETTLE_S + len(text) / 1000  # ~1,000 chars/s is >20x slower than measured
        started = time.monotonic()
        # The redirect is a second guard for #11 in case the driver prints from elsewhere.
        with contextlib.redirect_stdout(io.StringIO()):
            tts.setProperty("voice", voice.voice)
            # Bug #6: without an explicit rate, 1 run in 25 came out at 175 wpm (espeak's
            # default, when the driver's own rate command was cancelled; see _driver).
            tts.setProperty("rate", voice.rate_wpm)
            self._set_word_gap(voice)
            # Bugs #2/#3: exactly one save per runAndWait, never mixed with say().
            tts.save_to_file(text, str(path))
            # See _driver: runAndWait's stop() would cancel this utterance if espeak were
            # still applying the properties above (the "cancelled"/empty WAVs).
            self._wait_until_idle(started + timeout)
            tts.runAndWait()
            finished = self._finished.wait(timeout)
            if finished and not self._completed:
                return None, "utterance was cancelled"
            # Bug #10 and the empty-WAV case: the callback is not proof of a file; wait until
            # it has frames and a stable size.
            settle_until = time.monotonic() + (SETTLE_S if finished else POLL_S * 4)
            pcm, reason = _read_settled_wav(path, settle_until)
        elapsed = time.monotonic() - started
        if self._errors:
            return None, "driver error: " + "; ".join(self._errors)
        if not finished and pcm is None:
            return None, f"no finished-utterance callback within {timeout:.1f} s"
        if pcm is None:
            return None, reason
        gap = current_parameter(ESPEAK_WORDGAP)
        if gap is not None and gap != voice.word_gap:  # its queued command was cancelled
            return None, f"espeak-ng's word gap was {gap}, not {voice.word_gap}"
        implausible = _implausible(text, voice, pcm)
        if implausible:
            return None, implausible
        log.debug("pyttsx3: %d frames in %.3f s for %d chars", pcm.frames, elapsed, len(text))
        return pcm, ""


def _read_settled_wav(path: Path, deadline: float) -> tuple[Pcm | None, str]:
    """Read ``path`` once it holds frames and its size has stopped changing."""
    last_size = -1
    reason = "no WAV file was written"
    while True:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = -1
        if size == WAV_HEADER_BYTES:
            reason = "empty WAV (44-byte header, 0 frames)"
        elif size > WAV_HEADER_BYTES and size == last_size:
            try:
                return _read_wav(path), ""
            except (wave.Error, EOFError, ValueError) as exc:
                reason = f"unreadable WAV: {exc}"
        if time.monotonic() >= deadline:
            return None, reason
        last_size = size
        time.sleep(POLL_S)


def _read_wav(path: Path) -> Pcm:
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(
                f"expected mono 16-bit, got {wav.getnchannels()} ch / {8 * wav.getsampwidth()} bit"
            )
        frames = wav.getnframes()
        samples = wav.readframes(frames)
        rate = wav.getframerate()
    if frames == 0 or len(samples) != frames * 2:
        raise ValueError(f"header says {frames} frames, data holds {len(samples) // 2}")
    return Pcm(samples=samples, sample_rate=rate)


def _implausible(text: str, voice: VoiceProfile, pcm: Pcm) -> str:
    """Why this audio is too short for the text (a truncated or near-empty WAV), or ''."""
    words = len(_WORD.findall(text))
    if words < MIN_WORDS_FOR_DURATION_CHECK:
        return ""
    expected_s = words * 60 / voice.rate_wpm
    actual_s = pcm.frames / pcm.sample_rate
    if actual_s < MIN_DURATION_FRACTION * expected_s:
        return f"only {actual_s:.2f} s of audio for {words} words (expected ~{expected_s:.1f} s)"
    return ""
