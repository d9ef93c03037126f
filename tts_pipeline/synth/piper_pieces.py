"""Long sentences in short model runs: cut a sentence's phonemes, then join the audio back.

Piper runs its model once per sentence, and onnxruntime's memory grows with the length of a
run (see ``piper_engine``). A sentence longer than the limit is cut into balanced pieces, at
clause marks (``,`` ``;`` ``:``) where there are any near the ideal places, else between
words. Each piece is spoken with the model's own lead-in and trailing silence, about 0.2 s
together; where the pieces are joined that silence is set to what the sentence would have
had: a comma's pause after a clause mark, a word gap elsewhere.

Imported only when Piper speaks (it needs numpy, which comes with the extra).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

CLAUSE_MARKS = frozenset(",;:")
CLAUSE_GAP_S = 0.3  # the joe voice pauses about 0.36 s at a comma inside a sentence
WORD_GAP_S = 0.07  # and 0.05-0.1 s between words
EDGE_KEEP_S = 0.03  # sound kept beyond the threshold: soft onsets and decays
QUIET = 0.02  # of the piece's peak: below this counts as silence at the edges

Audio = npt.NDArray[np.float32]


def split_phonemes(phonemes: Sequence[str], limit: int) -> list[list[str]]:
    """Cut one sentence's phonemes into the fewest pieces of at most ``limit``, of about
    equal length; spaces at the cuts are dropped and no piece is empty."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2, not {limit}")
    pieces: list[list[str]] = []
    rest = list(phonemes)
    while len(rest) > limit:
        target = math.ceil(len(rest) / math.ceil(len(rest) / limit))
        cut = _cut_point(rest, target, limit)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return [piece for piece in (_strip_spaces(p) for p in pieces) if piece]


def _cut_point(phonemes: list[str], target: int, limit: int) -> int:
    """Where the next piece ends: the clause mark nearest ``target`` (not before half of it),
    else the word boundary nearest it, else ``limit``."""
    clauses = [i + 1 for i in range(target // 2, limit) if phonemes[i] in CLAUSE_MARKS]
    if clauses:
        return min(clauses, key=lambda end: abs(end - target))
    spaces = [i for i in range(1, min(limit, len(phonemes) - 1) + 1) if phonemes[i] == " "]
    if spaces:
        return min(spaces, key=lambda end: abs(end - target))
    return limit  # one "word" longer than the limit: nothing better than a hard cut


def _strip_spaces(piece: list[str]) -> list[str]:
    start, end = 0, len(piece)
    while start < end and piece[start] == " ":
        start += 1
    while end > start and piece[end - 1] == " ":
        end -= 1
    return piece[start:end]


def join_pieces(pieces: Sequence[Audio], ends: Sequence[str], sample_rate: int) -> Audio:
    """The pieces of one sentence as one signal; ``ends[i]`` is piece i's last phoneme, which
    decides the silence between it and the next."""
    if len(pieces) == 1:
        return pieces[0]
    keep = int(EDGE_KEEP_S * sample_rate)
    joined: list[Audio] = []
    last = len(pieces) - 1
    for index, piece in enumerate(pieces):
        start, stop = _sounding(piece, keep)
        # The sentence keeps its own lead-in and ending; only the joins are trimmed.
        joined.append(piece[(0 if index == 0 else start) : (len(piece) if index == last else stop)])
        if index < last:
            gap = CLAUSE_GAP_S if ends[index] in CLAUSE_MARKS else WORD_GAP_S
            joined.append(np.zeros(max(0, int(gap * sample_rate) - 2 * keep), dtype=np.float32))
    return np.concatenate(joined)


def _sounding(piece: Audio, keep: int) -> tuple[int, int]:
    """The span of ``piece`` from its first to its last sound, with ``keep`` samples of
    margin on each side; the whole piece if it is all quiet."""
    level = np.abs(piece)
    peak = float(level.max()) if level.size else 0.0
    loud = np.flatnonzero(level > QUIET * peak) if peak > 0 else np.empty(0, dtype=np.intp)
    if loud.size == 0:
        return 0, len(piece)
    return max(0, int(loud[0]) - keep), min(len(piece), int(loud[-1]) + 1 + keep)
