"""One chunk's check: transcribe its audio, score the transcript against the chunk's text."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tts_pipeline.models import ChunkAudio
from tts_pipeline.verify.textnorm import normalise
from tts_pipeline.verify.wer import Score, score

MIN_WORDS = 5  # a chunk with fewer reference words is judged only by whether anything was heard


class Listener(Protocol):
    """Anything that turns a WAV file into the words heard in it (``whisper.Transcriber``)."""

    def transcribe(self, wav: Path) -> str: ...


@dataclass(frozen=True)
class ChunkCheck:
    index: int  # the chunk's index
    reference: str  # the text scored against (normalised)
    heard: str  # what the recogniser wrote (as it wrote it)
    score: Score
    audio_s: float  # length of the chunk's audio
    seconds: float  # wall time the transcription took
    attempt: int  # 1: first take; 2: after re-synthesis
    written: str = ""  # the chunk as written (its transcript form), to name missed words

    @property
    def wer(self) -> float:
        return self.score.wer

    def failed(self, threshold: float) -> bool:
        """Above ``threshold``; a chunk shorter than ``MIN_WORDS`` fails only if nothing at all
        was heard (silence, noise), because tiny.en's WER on a heading is noise: on the AGI
        Ruin post 3 of its 5 chunks under 5 words scored 1.0 to 3.0 on correct audio."""
        if self.score.words < MIN_WORDS:
            return not self.heard.strip()
        return self.wer > threshold


def references(audio: ChunkAudio) -> list[str]:
    """Texts a correct reading may match: what the engine was given (lexicon respellings,
    numbers in words) and, when it differs, the written form (``Chunk.display``)."""
    chunk = audio.chunk
    texts = [chunk.text]
    if chunk.display and chunk.display != chunk.text:
        texts.append(chunk.display)
    return texts


def check_chunk(listener: Listener, audio: ChunkAudio, attempt: int = 1) -> ChunkCheck:
    """Score ``audio`` against the closest of its references (fewest word errors)."""
    start = time.perf_counter()
    heard = listener.transcribe(audio.wav)
    seconds = time.perf_counter() - start
    hypothesis = normalise(heard, spoken=False)
    scored = [(score(ref, hypothesis), ref) for ref in map(normalise, references(audio))]
    best, reference = min(scored, key=lambda pair: (pair[0].wer, pair[0].errors))
    return ChunkCheck(
        index=audio.chunk.index,
        reference=reference,
        heard=heard,
        score=best,
        audio_s=audio.duration_s,
        seconds=seconds,
        attempt=attempt,
        written=audio.chunk.shown,
    )
