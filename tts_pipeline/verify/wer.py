"""The one jiwer wrapper: word errors between a normalised reference and what was heard.

A compound written one way in the script and another in the transcript ("nonlinear" and
Whisper's "non-linear", which the normaliser makes "non linear"; "less wrong" and "lesswrong")
is the same word heard right, not two errors: before aligning, the transcript's spelling is
brought to the script's (see ``match_compounds``)."""

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
    # (reference words, what was heard in their place) for each substitution, in order
    heard_as: tuple[tuple[str, str], ...] = ()

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
    hyp_words = match_compounds(ref_words, hyp_words)
    try:
        import jiwer
    except ImportError as exc:
        raise ConfigError(f"verification needs jiwer: {EXTRA_HINT}") from exc
    out = jiwer.process_words(" ".join(ref_words), " ".join(hyp_words))
    missed: list[str] = []
    heard_as: list[tuple[str, str]] = []
    for chunk in out.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            missed += ref_words[chunk.ref_start_idx : chunk.ref_end_idx]
        if chunk.type == "substitute":
            said = " ".join(ref_words[chunk.ref_start_idx : chunk.ref_end_idx])
            heard = " ".join(hyp_words[chunk.hyp_start_idx : chunk.hyp_end_idx])
            heard_as.append((said, heard))
    errors = out.substitutions + out.deletions + out.insertions
    return Score(len(ref_words), errors, tuple(missed), tuple(heard_as))


MAX_PARTS = 3  # "text to speech" is the longest split compound worth matching


def match_compounds(reference: list[str], hypothesis: list[str]) -> list[str]:
    """``hypothesis`` with compounds spelled as in ``reference``: adjacent words whose
    concatenation is a reference word are joined ("non linear" -> "nonlinear"), and a word
    that the reference writes as adjacent words is split ("lesswrong" -> "less wrong"). A
    word sequence the reference itself contains is never joined, so only spelling changes.

    >>> match_compounds("a nonlinear less wrong post".split(), "a non linear lesswrong".split())
    ['a', 'nonlinear', 'less', 'wrong']
    """
    ref_words = set(reference)
    ref_seqs: dict[str, tuple[str, ...]] = {}  # "lesswrong" -> ("less", "wrong")
    ref_ngrams: set[tuple[str, ...]] = set()
    for n in range(2, MAX_PARTS + 1):
        for i in range(len(reference) - n + 1):
            parts = tuple(reference[i : i + n])
            ref_ngrams.add(parts)
            ref_seqs.setdefault("".join(parts), parts)
    out: list[str] = []
    i = 0
    while i < len(hypothesis):
        for n in range(MAX_PARTS, 1, -1):
            parts = tuple(hypothesis[i : i + n])
            if len(parts) == n and "".join(parts) in ref_words and parts not in ref_ngrams:
                out.append("".join(parts))
                i += n
                break
        else:
            word = hypothesis[i]
            split = ref_seqs.get(word)
            out.extend(split if split is not None and word not in ref_words else (word,))
            i += 1
    return out
