"""What a voice is actually given: written text -> pronunciation lexicon -> normaliser.

``speaker(voice_name, engine=...)`` is the function the chunk planner applies to each piece of
text it sends to an engine (``plan_chunks(..., speak=speaker(voice.name, engine=voice.engine))``),
so the transcript keeps the written words while the engine receives plain text it can say,
whatever the engine.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from tts_pipeline.clean.lexicon import PHONEMES, Lexicon, load_lexicon
from tts_pipeline.clean.normalise import normalise

Speak = Callable[[str], str]

# Double brackets in a post's own text ("[[wiki links]]") must not reach espeak-ng as phonemes.
_BRACKETS = re.compile(r"\[\[+|\]\]+")
# What follows a word said in phonemes: espeak-ng would spell a possessive "'s" ("ess") or a
# contraction and run a hyphenated word into it, so the ending goes inside the brackets.
_PHONEME_ENDING = re.compile(
    r"(\[\[[^\[\]]+)\]\](?:['\u2019](s|ll|d|ve|re)\b|['\u2019](?!\w)|-(?=\w))"
)
_CONTRACTIONS = {"ll": "@l", "d": "d", "ve": "v", "re": "3"}
_SIBILANT = re.compile(r"(?:s|z|S|Z|tS|dZ)$")
_VOICELESS = re.compile(r"[ptkfT]$")
# espeak-ng says nothing for phonemes glued to an opening bracket, quote or slash ("([[...]])")
# and would read a word glued after them as more phonemes.
_GLUED = re.compile(r"(?<=\S)(?=\[\[)|(?<=\]\])(?=\w)")
_DIGITS = "abcdefghijklmnop"  # a slot's number in base 16, ended by "q": "Qqphonemesbaq"
_TO_SLOT = str.maketrans("0123456789abcdef", _DIGITS)
_FROM_SLOT = str.maketrans(_DIGITS, "0123456789abcdef")


def speaker(
    voice_name: str,
    *,
    engine: str,
    extra_dirs: Sequence[Path] | None = None,
    lexicon: Lexicon | None = None,
) -> Speak:
    """The text -> spoken text function for ``voice_name``, a voice of ``engine`` (lexicon
    first, as its keys are written forms such as "GPT-4", then numbers, abbreviations and
    symbols). The lexicon is the bundled one extended by the user's
    (``load_lexicon(extra_dirs)``) unless given. A lexicon entry's ``[[phonemes]]`` pass the
    normaliser untouched; the text's own double brackets are made single first.

    >>> speaker("default", engine="pyttsx3")("LessWrong's 2nd RLHF post, e.g. 3.5% of AGI work.")
    "Less Wrong's second R-L-H-F post, for example, three point five percent of A-G-I work."
    >>> speaker("v", lexicon=Lexicon(engines={"pyttsx3": {"Bayes": "[[b'eIz]]"}}),
    ...         engine="pyttsx3")("Bayes' 2 [[rules]] (Bayes)")
    "[[b'eIz]] two rules ( [[b'eIz]])"
    """
    table = lexicon if lexicon is not None else load_lexicon(extra_dirs)

    def speak(text: str) -> str:
        said = table.apply(_BRACKETS.sub(lambda m: m[0][0], text), voice_name, engine)
        if "[[" not in said:  # no phoneme entry here (always, for engines other than espeak-ng)
            return normalise(said)
        said = _PHONEME_ENDING.sub(_phoneme_ending, said)
        kept = PHONEMES.findall(said)
        # Each span stands in as a plain capitalised word while the normaliser runs; the
        # word's prefix is one the text does not hold.
        prefix = "Qqphonemes"
        while prefix in said:
            prefix += "q"
        slots = (prefix + f"{i:x}".translate(_TO_SLOT) + "q" for i in itertools.count())
        marked = PHONEMES.sub(lambda _: next(slots), said)
        spoken = re.sub(
            rf"{prefix}([{_DIGITS}]+)q",
            lambda m: kept[int(m[1].translate(_FROM_SLOT), 16)],
            normalise(marked),
        )
        return _GLUED.sub(" ", spoken)

    return speak


def _suffix(phonemes: str, ending: str) -> str:
    """The phonemes of an ending after ``phonemes``: a plural or possessive "s" said as in
    "boxes", "cats" or "dogs"; a contraction ("ll", "d", "ve", "re")."""
    if ending != "s":
        return _CONTRACTIONS[ending]
    return "Iz" if _SIBILANT.search(phonemes) else "s" if _VOICELESS.search(phonemes) else "z"


def _phoneme_ending(match: re.Match[str]) -> str:
    """A possessive or contraction said inside the phonemes ("[[b'eIz]]'s" -> "[[b'eIzIz]]");
    a bare apostrophe dropped; a hyphen made a space."""
    said = match[1]
    if match[2]:
        return said + _suffix(said, match[2].lower()) + "]]"
    return said + "]]" + (" " if match[0].endswith("-") else "")
