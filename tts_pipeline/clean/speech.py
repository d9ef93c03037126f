"""What a voice is actually given: written text -> pronunciation lexicon -> normaliser.

``speaker(voice_name)`` is the function the chunk planner applies to each piece of text it
sends to an engine (``plan_chunks(..., speak=speaker(voice.name))``), so the transcript keeps
the written words while the engine receives plain text it can say, whatever the engine.
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
# What follows a word said in phonemes: espeak-ng would spell a possessive "'s" ("ess") and
# run a hyphenated word into it, so the ending goes inside the brackets.
_PHONEME_ENDING = re.compile(r"(\[\[[^\[\]]+)\]\](?:'(s)\b|'|-(?=\w))")
_SLOT = re.compile(r"Qqphonemes[a-z]+")
_SIBILANT = re.compile(r"(?:s|z|S|Z|tS|dZ)$")
_VOICELESS = re.compile(r"[ptkfT]$")


def speaker(
    voice_name: str,
    extra_dirs: Sequence[Path] | None = None,
    lexicon: Lexicon | None = None,
    engine: str = "",
) -> Speak:
    """The text -> spoken text function for ``voice_name``, a voice of ``engine`` (lexicon
    first, as its keys are written forms such as "GPT-4", then numbers, abbreviations and
    symbols). The lexicon is the bundled one extended by the user's
    (``load_lexicon(extra_dirs)``) unless given. A lexicon entry's ``[[phonemes]]`` pass the
    normaliser untouched; the text's own double brackets are made single first.

    >>> speaker("default")("LessWrong's 2nd RLHF post, e.g. 3.5% of AGI work.")
    "Less Wrong's second R-L-H-F post, for example, three point five percent of A-G-I work."
    >>> speaker("v", lexicon=Lexicon(engines={"pyttsx3": {"Bayes": "[[b'eIz]]"}}),
    ...         engine="pyttsx3")("Bayes' 2 [[rules]]")
    "[[b'eIz]] two rules"
    """
    table = lexicon if lexicon is not None else load_lexicon(extra_dirs)

    def speak(text: str) -> str:
        said = table.apply(_BRACKETS.sub(lambda m: m[0][0], text), voice_name, engine)
        said = _PHONEME_ENDING.sub(_phoneme_ending, said)
        kept = PHONEMES.findall(said)
        if not kept:
            return normalise(said)
        # Each span stands in as a plain capitalised word while the normaliser runs.
        slots = map(_slot, itertools.count())
        marked = PHONEMES.sub(lambda _: next(slots), said)
        return _SLOT.sub(lambda m: kept[_slot_index(m[0])], normalise(marked))

    return speak


def _phoneme_ending(match: re.Match[str]) -> str:
    """A possessive said inside the phonemes ("[[b'eIz]]'s" -> "[[b'eIzIz]]"); a bare
    apostrophe dropped; a hyphen made a space."""
    said = match[1]
    if match[2]:
        return (
            said
            + ("Iz" if _SIBILANT.search(said) else "s" if _VOICELESS.search(said) else "z")
            + "]]"
        )
    return said + "]]" + (" " if match[0].endswith("-") else "")


def _slot(index: int) -> str:
    """A word the normaliser leaves alone, naming the phoneme span ``index`` in letters."""
    letters = ""
    while True:
        index, digit = divmod(index, 26)
        letters += chr(ord("a") + digit)
        if not index:
            return "Qqphonemes" + letters


def _slot_index(slot: str) -> int:
    return sum((ord(ch) - ord("a")) * 26**i for i, ch in enumerate(slot[len("Qqphonemes") :]))
