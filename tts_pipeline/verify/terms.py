"""Was a term heard? One word or name said in a carrier sentence, judged from a transcript.

The judge is fair to the recogniser the way a listener is: case, hyphens and spacing do not
count ("Less Wrong" is LessWrong, "non-linear" is nonlinear, "R L H F" is RLHF), nor does a
plural or possessive "s" ("LLM's" is LLMs: they sound the same; Whisper's normaliser would
turn the apostrophe into " is"). Anything else is a miss: the term's letters must be one or
more whole adjacent words of the transcript, never inside a longer word ("the a" is not "EA").
"""

from __future__ import annotations

import re

from tts_pipeline.verify.textnorm import normalise

# A sentence Whisper follows, so a miss is the term's own: plain words around it, the term
# last but for the period (the end of a chunk is heard best after its padding).
CARRIER = "The next word is {}."
_APOSTROPHE_S = re.compile(r"['\u2019]s\b")
_LONGEST_TERM_WORDS = 6


def letters(text: str, *, spoken: bool) -> list[str]:
    """``text`` as normalised words, a possessive or plural ``'s`` kept as a plain ``s``."""
    return normalise(_APOSTROPHE_S.sub("s", text), spoken=spoken).split()


def heard_term(term: str, transcript: str) -> bool:
    """Whether ``transcript`` holds ``term`` as written (see the module's rules).

    >>> heard_term("LLMs", "The next word is LLM's.")
    True
    >>> heard_term("EA", "The next word is the A.")
    False
    """
    wanted = "".join(letters(term, spoken=True))
    if not wanted:
        return False
    said = letters(transcript, spoken=False)
    accepted = {wanted, wanted + "s", wanted.removesuffix("s")}
    return any(
        "".join(said[i : i + n]) in accepted
        for i in range(len(said))
        for n in range(1, _LONGEST_TERM_WORDS + 1)
    )
