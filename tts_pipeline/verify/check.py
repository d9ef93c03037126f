"""One chunk's check: transcribe its audio, score the transcript against the chunk's text."""

from __future__ import annotations

import time
from dataclasses import dataclass
from difflib import SequenceMatcher
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
    """Score ``audio`` against its references, each passage where they differ taken in
    whichever form was heard (``closest_reference``)."""
    start = time.perf_counter()
    heard = listener.transcribe(audio.wav)
    seconds = time.perf_counter() - start
    hypothesis = normalise(heard, spoken=False)
    best, reference = closest_reference([normalise(r) for r in references(audio)], hypothesis)
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


def closest_reference(texts: list[str], hypothesis: str) -> tuple[Score, str]:
    """The reference, and its score, that ``hypothesis`` matches best, where ``texts`` are the
    chunk's normalised references: what the engine was given, then (when it differs) the
    written form. Each passage where the two differ may be heard in either form, independently
    of the others. A chunk that says "yud cow ski" (a respelling) and "for example" (written
    "e.g.") is heard right as "yudkowsky ... for example", which neither whole reference
    matches.

    From the spoken form, each differing passage takes its written form where that has fewer
    errors and at least one of its words was heard: a passage lost altogether stays in the
    words the engine was given, not in a shorter written form that would count fewer errors.
    One pass: a passage's form changes the alignment only around it.

    >>> best, reference = closest_reference(
    ...     ["yud cow ski wrote for example", "yudkowsky wrote eg"], "yudkowsky wrote for example"
    ... )
    >>> best.errors, reference
    (0, 'yudkowsky wrote for example')
    >>> closest_reference(["x for example y", "x eg y"], "x y")[0].missed
    ('for', 'example')
    """
    spoken = texts[0].split()
    written = texts[-1].split()
    if spoken == written:
        return score(texts[0], hypothesis), texts[0]
    # Passages, in order: (spoken words, written words), the same words where they agree.
    passages = [
        (spoken[i1:i2], written[j1:j2])
        for _, i1, i2, j1, j2 in SequenceMatcher(a=spoken, b=written, autojunk=False).get_opcodes()
    ]

    def compose(choice: list[int]) -> str:
        return " ".join(
            w for passage, pick in zip(passages, choice, strict=True) for w in passage[pick]
        )

    heard = set(hypothesis.split())
    choice = [0] * len(passages)
    best = score(compose(choice), hypothesis)
    for i, (said, shown) in enumerate(passages):
        if said == shown or heard.isdisjoint(shown):
            continue
        other = [*choice[:i], 1, *choice[i + 1 :]]
        trial = score(compose(other), hypothesis)
        if trial.errors < best.errors:
            best, choice = trial, other
    return best, compose(choice)
