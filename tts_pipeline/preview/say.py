"""Hear one sentence as an episode would say it: the real cleaner, lexicon, planner and engine.

The loop for fixing a word: say it, change the lexicon, say it again. The audio is heard at
the episode's loudness, played on the sound output (or kept as a WAV when there is none), or
written to a WAV or MP3 file. Chunks are spoken in a temporary folder: nothing is cached, so
an edited lexicon is always heard.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tts_pipeline.config import Config
from tts_pipeline.errors import PreviewError
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.models import VoiceProfile
from tts_pipeline.package.ffmpeg import encode_mp3
from tts_pipeline.package.join import join_chunks
from tts_pipeline.package.loudness import normalise
from tts_pipeline.pipeline import speak_text
from tts_pipeline.preview.episode import Announce, PreviewOutcome, play_or_keep, wav_seconds
from tts_pipeline.preview.playback import play

OUTPUT_KINDS = (".wav", ".mp3")


def say_text(
    text: str,
    *,
    config: Config,
    voice: VoiceProfile,
    output: Path | None = None,
    keep: Path,
    jobs: int = 1,
    on_play: Announce | None = None,
) -> PreviewOutcome:
    """Speak ``text`` with ``voice``; write it to ``output`` (``.wav`` or ``.mp3``) if given,
    else play it (no sound output: kept in ``keep``, a WAV)."""
    if not text.strip():
        raise PreviewError("nothing to say: the text is empty")
    if output is not None and output.suffix.lower() not in OUTPUT_KINDS:
        raise PreviewError(f"{output}: the output must end in .wav or .mp3")
    with tempfile.TemporaryDirectory(prefix="say-") as tmp:
        work = Path(tmp)
        audio = speak_text(text, config, voice, work / "chunks", jobs=jobs)
        if not audio:
            raise PreviewError("nothing to say: the text has no speakable words")
        joined = work / "joined.wav"
        join_chunks(audio, joined)
        level = work / "level.wav"
        normalise(joined, level, target_lufs=config.target_lufs, peak_dbtp=config.true_peak_dbtp)
        seconds = wav_seconds(level)
        if output is None:
            return play_or_keep(
                "the text", None, seconds, lambda: play(level),
                keep=lambda: _write(level, keep, config), on_play=on_play,
            )  # fmt: skip
        _write(level, output, config)
    return PreviewOutcome("the text", seconds, output, None, None)


def _write(wav: Path, target: Path, config: Config) -> Path:
    """``wav`` under ``target`` (a WAV copy, or encoded to MP3), atomically."""
    with atomic_path(target) as part:
        if target.suffix.lower() == ".mp3":
            encode_mp3(wav, part, bitrate_kbps=config.bitrate_kbps, sample_rate=config.sample_rate)
        else:
            part.write_bytes(wav.read_bytes())
    return target
