"""What a voice is actually given: written text -> pronunciation lexicon -> normaliser.

``speaker(voice_name)`` is the function the chunk planner applies to each piece of text it
sends to an engine (``plan_chunks(..., speak=speaker(voice.name))``), so the transcript keeps
the written words while the engine receives plain text it can say, whatever the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from tts_pipeline.clean.lexicon import Lexicon, load_lexicon
from tts_pipeline.clean.normalise import normalise

Speak = Callable[[str], str]


def speaker(
    voice_name: str, extra_dirs: Sequence[Path] | None = None, lexicon: Lexicon | None = None
) -> Speak:
    """The text -> spoken text function for ``voice_name`` (lexicon first, as its keys are
    written forms such as "GPT-4", then numbers, abbreviations and symbols). The lexicon is
    the bundled one extended by the user's (``load_lexicon(extra_dirs)``) unless given.

    >>> speaker("default")("LessWrong's 2nd RLHF post, e.g. 3.5% of AGI work.")
    "Less Wrong's second R-L-H-F post, for example, three point five percent of A-G-I work."
    """
    table = lexicon if lexicon is not None else load_lexicon(extra_dirs)

    def speak(text: str) -> str:
        return normalise(table.apply(text, voice_name))

    return speak
