"""A conversation's cast: which voice profile reads each participant, and speaking chunks
that several voices read.

Participants get voices in the order of their first turn: a fixed assignment by display name
first (``[cast.assign]``), else the next voice of the cast list not yet given to anyone and
not the narrator's; when the list runs out, voices are shared again from its start. Each
voice's chunks are spoken by that voice's own workers (one engine per worker, as always) and
cached under keys that include the voice, so a turn spoken before is read from the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tts_pipeline.config.cast import DEFAULT_VOICES, CastOptions
from tts_pipeline.errors import ConfigError
from tts_pipeline.execution.seam import ExecutionBackend
from tts_pipeline.models import Chunk, ChunkAudio, VoiceProfile
from tts_pipeline.synth.chunking import Casting, Reading
from tts_pipeline.synth.engine import get_engine, install_hint, require_installed
from tts_pipeline.synth.runner import SynthStats, synthesize_chunks
from tts_pipeline.synth.voices import load_voice

log = logging.getLogger(__name__)

Speak = Callable[[str], str]


@dataclass(frozen=True)
class Cast:
    """The voices of one episode besides its narrator's."""

    speakers: Mapping[str, VoiceProfile]  # display name -> profile, in order of first turn
    quote: VoiceProfile | None = None
    options: CastOptions = field(default_factory=CastOptions)

    def voices(self) -> dict[str, VoiceProfile]:
        """Profile name -> profile, for every voice of the cast."""
        found = {v.name: v for v in self.speakers.values()}
        if self.quote is not None:
            found[self.quote.name] = self.quote
        return found

    def casting(self, speak_for: Callable[[VoiceProfile], Speak]) -> Casting:
        """What the chunk planner needs: each voice's limit, pauses and spoken form."""

        def reading(voice: VoiceProfile) -> Reading:
            engine = get_engine(voice.engine)
            return Reading(
                voice.name, engine.max_chars, voice.pauses, speak_for(voice), voice.rate_wpm
            )

        return Casting(
            speakers={name: reading(v) for name, v in self.speakers.items()},
            quote=reading(self.quote) if self.quote is not None else None,
            announce=self.options.announce,
            announce_after_s=self.options.announce_after_s,
            turn_pause_ms=self.options.turn_pause_ms,
        )


def _usable(name: str, extra_dirs: Sequence[Path] | None) -> VoiceProfile | None:
    """A default cast voice, if it is installed (the cast does without it otherwise)."""
    try:
        voice = load_voice(name, extra_dirs)
        missing = install_hint(get_engine(voice.engine), voice)
    except ConfigError as exc:
        log.info("cast voice %s left out: %s", name, exc)
        return None
    if missing is not None:
        log.info("cast voice %s left out: not installed (%s)", name, missing)
        return None
    return voice


def _installed(name: str, extra_dirs: Sequence[Path] | None) -> VoiceProfile:
    voice = load_voice(name, extra_dirs)
    require_installed(voice)
    return voice


def choose_cast(
    speakers: Sequence[str],
    narrator: VoiceProfile,
    options: CastOptions,
    extra_dirs: Sequence[Path] | None = None,
) -> Cast | None:
    """The cast for a script with these participants (None: the narrator reads it all)."""
    quote = _installed(options.quote_voice, extra_dirs) if options.quote_voice else None
    if not options.enabled or not speakers:
        return Cast({}, quote, options) if quote is not None else None
    if options.voices:
        pool = [_installed(name, extra_dirs) for name in options.voices]
    else:
        pool = [v for name in DEFAULT_VOICES if (v := _usable(name, extra_dirs)) is not None]
    pool = [v for v in pool if v.name != narrator.name]
    fixed = {name: _installed(profile, extra_dirs) for name, profile in options.assign}
    free = [v for v in pool if v.name not in {f.name for f in fixed.values()}] or pool
    if not free and not fixed:
        return Cast({}, quote, options) if quote is not None else None
    chosen: dict[str, VoiceProfile] = {}
    turn = 0
    for name in speakers:
        if name in fixed:
            chosen[name] = fixed[name]
        elif free:
            chosen[name] = free[turn % len(free)]
            turn += 1
        else:
            chosen[name] = narrator
    return Cast(chosen, quote, options)


def speak_cast(
    chunks: Sequence[Chunk],
    narrator: VoiceProfile,
    voices: Mapping[str, VoiceProfile],
    cache_dir: Path,
    *,
    jobs: int,
    on_progress: Callable[[ChunkAudio], None] | None = None,
    stats: SynthStats | None = None,
    executor: ExecutionBackend | None = None,
) -> list[ChunkAudio]:
    """Every chunk spoken by its own voice (``Chunk.voice``, "" for ``narrator``), in chunk
    order: each voice's chunks in turn, by that voice's workers."""
    groups: dict[str, list[int]] = {}
    for position, chunk in enumerate(chunks):
        groups.setdefault(chunk.voice, []).append(position)
    unknown = set(groups) - set(voices) - {""}
    if unknown:
        raise ConfigError(f"chunks name voices outside the cast: {', '.join(sorted(unknown))}")
    results: list[ChunkAudio | None] = [None] * len(chunks)
    for name, positions in groups.items():
        voice = voices[name] if name else narrator
        spoken = synthesize_chunks(
            [chunks[p] for p in positions], voice, cache_dir, jobs=jobs,
            on_progress=on_progress, stats=stats, executor=executor,
        )  # fmt: skip
        for position, audio in zip(positions, spoken, strict=True):
            results[position] = audio
    done = [a for a in results if a is not None]
    check_rates(done, narrator)
    return done


def check_rates(audio: Sequence[ChunkAudio], narrator: VoiceProfile) -> None:
    """One episode is one sample rate: a cast voice at another rate is named at once, before
    packaging fails on it (espeak-ng and Piper's medium voices speak at 22,050 Hz, Piper's
    low and x_low voices at 16,000)."""
    rates: dict[int, str] = {}
    for item in audio:
        rates.setdefault(item.sample_rate, item.chunk.voice or narrator.name)
    if len(rates) > 1:
        found = ", ".join(f"{voice} at {rate} Hz" for rate, voice in sorted(rates.items()))
        raise ConfigError(
            f"the cast's voices speak at different sample rates ({found}); choose voices of"
            " one rate in [cast] voices"
        )
