"""The one jiwer wrapper: word errors between a normalised reference and what was heard."""

from __future__ import annotations

from dataclasses import dataclass

from tts_pipeline.errors import ConfigError
from tts_pipeline.verify.whisper import EXTRA_HINT


@dataclass(frozen=True)
class Score:
    """Word errors of one hypothesis against one reference (both normalised)."""

    words: int  # reference words
    errors: int  # substitutions + deletions + insertions
    missed: tuple[str, ...]  # reference words substituted or deleted, in order

    @property
    def wer(self) -> float:
        """Word error rate; a reference with no words scores 0 when nothing was heard."""
        if self.words == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.words


def score(reference: str, hypothesis: str) -> Score:
    """Align the two word sequences (Levenshtein over words) and count the errors."""
    ref_words, hyp_words = reference.split(), hypothesis.split()
    if not ref_words:  # jiwer refuses an empty reference: everything heard is an insertion
        return Score(0, len(hyp_words), ())
    if not hyp_words:
        return Score(len(ref_words), len(ref_words), tuple(ref_words))
    try:
        import jiwer
    except ImportError as exc:
        raise ConfigError(f"verification needs jiwer: {EXTRA_HINT}") from exc
    out = jiwer.process_words(" ".join(ref_words), " ".join(hyp_words))
    missed: list[str] = []
    for chunk in out.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            missed += ref_words[chunk.ref_start_idx : chunk.ref_end_idx]
    errors = out.substitutions + out.deletions + out.insertions
    return Score(len(ref_words), errors, tuple(missed))
