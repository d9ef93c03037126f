"""Sentences: where the written text is cut, for engine calls (``synth.chunking``) and for
transcript cues (``package.transcript``) alike. The one wrapper of sentencex."""

from __future__ import annotations

import re

import sentencex

LANGUAGE = "en"

# Preferred places to cut a sentence that is too long on its own, best first. Punctuation
# must be followed by a space, so "1,000" and "10:30" are never cut.
_CUT_PATTERNS = (re.compile(r";\s"), re.compile(r":\s"), re.compile(r",\s"))
_SPACE = re.compile(r"\s")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, stripped; sentencex also yields paragraph-break items: dropped."""
    return [s.strip() for s in sentencex.segment(LANGUAGE, text) if str(s).strip()]


def split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut ``sentence`` into pieces of at most ``max_chars``, at ``;`` ``:`` ``,``, then spaces."""
    pieces: list[str] = []
    rest = sentence.strip()
    while len(rest) > max_chars:
        cut = _cut_point(rest, max_chars)
        head, rest = rest[:cut].strip(), rest[cut:].strip()
        if head:
            pieces.append(head)
    if rest:
        pieces.append(rest)
    return pieces


def _cut_point(text: str, max_chars: int) -> int:
    """Where to end the next piece: the last good separator within ``max_chars``."""
    # A cut near the start would leave a tiny piece and a remainder nearly as long as before,
    # so punctuation only counts in the second half of the window.
    window = text[: max_chars + 1]  # a space right after the limit is a clean cut too
    for pattern in _CUT_PATTERNS:
        ends = [m.start() + 1 for m in pattern.finditer(window) if m.start() + 1 <= max_chars]
        if ends and ends[-1] > max_chars // 2:
            return ends[-1]
    spaces = [m.start() for m in _SPACE.finditer(window) if 0 < m.start() <= max_chars]
    if spaces:
        return spaces[-1]
    return max_chars  # one "word" longer than the limit: nothing better than a hard cut
