"""The one whisper-normalizer wrapper: both sides of a comparison normalised the same way.

Whisper's English normaliser lower-cases, drops punctuation and fillers, standardises
spellings ("colour" -> "color") and numbers ("minus sixteen" -> "-16"). Two adjustments make
it fit a text-to-speech check:

- it deletes anything in brackets or parentheses, which suits a recogniser's "(laughs)" but
  not a script, where the words in parentheses are spoken: brackets become spaces first;
- letters spoken one by one come out as "r l h f" on one side and "rlhf" on the other: a run
  of single letters is joined into one word on both sides.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import cache

from tts_pipeline.errors import ConfigError
from tts_pipeline.verify.whisper import EXTRA_HINT

_BRACKETS = re.compile(r"[()\[\]{}<>]")
_LETTER_RUN = re.compile(r"\b[a-z](?: [a-z]\b)+")


@cache
def _english() -> Callable[[str], str]:
    try:
        module = importlib.import_module("whisper_normalizer.english")
    except ImportError as exc:
        raise ConfigError(f"verification needs whisper-normalizer: {EXTRA_HINT}") from exc
    normaliser: Callable[[str], str] = module.EnglishTextNormalizer()
    return normaliser


def normalise(text: str, *, spoken: bool = True) -> str:
    """``text`` as Whisper's English normaliser writes it, plus the adjustments above.

    ``spoken=True`` (a script) keeps words in brackets; ``False`` (a transcript) drops them.
    """
    if spoken:
        text = _BRACKETS.sub(" ", text)
    words = _english()(text)
    return _LETTER_RUN.sub(lambda m: m.group(0).replace(" ", ""), words).strip()
