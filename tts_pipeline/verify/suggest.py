"""From what the recogniser missed to lexicon entries worth trying.

A missed word is worth an entry when it looks like a term (a capital inside or throughout it:
"NeurIPS", "CAIS", "DeepMind", a name) or was missed more than once; ordinary words missed
once are the recogniser's noise. Each suggestion names the word as written, how often it was
missed, what was heard in its place, and a ``lexicon.toml`` line to start from: letters spelled
out for an acronym, the parts of a joined name apart, otherwise a respelling left to the user
(only an ear can write it), to be tried with ``tts-pipeline lexicon check WORD``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from tts_pipeline.verify.check import ChunkCheck
from tts_pipeline.verify.textnorm import normalise

MAX_SUGGESTIONS = 12
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\u2019.-]*[A-Za-z]")
_ACRONYM = re.compile(r"(?P<letters>[A-Z]{2,6})(?P<plural>s?)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class Suggestion:
    word: str  # as written in the script
    count: int  # chunks' worth of misses
    heard_as: tuple[str, ...]  # what was heard in its place, most common first
    entry: str  # a lexicon.toml line to start from

    def to_json(self) -> dict[str, object]:
        return {
            "word": self.word,
            "count": self.count,
            "heard_as": list(self.heard_as),
            "entry": self.entry,
        }


@cache
def _key(token: str) -> str:
    return normalise(token)


def written_forms(checks: Sequence[ChunkCheck]) -> dict[str, str]:
    """Normalised word -> how the script writes it (the first spelling met)."""
    forms: dict[str, str] = {}
    for check in checks:
        for token in _TOKEN.findall(check.written):
            token = token.removesuffix("'s").removesuffix("\u2019s")
            key = _key(token)
            if key and " " not in key:
                forms.setdefault(key, token)
    return forms


def looks_like_a_term(written: str) -> bool:
    return any(ch.isupper() for ch in written[1:]) or bool(_ACRONYM.fullmatch(written))


def spelled_letters(written: str) -> str | None:
    """An acronym's letters as a lexicon spells them ("LLMs" -> "L-L-M's"); None for a word.

    >>> spelled_letters("LLMs"), spelled_letters("Bayes")
    ("L-L-M's", None)
    """
    acronym = _ACRONYM.fullmatch(written)
    if not acronym:
        return None
    return "-".join(acronym["letters"]) + ("'s" if acronym["plural"] else "")


def entry_for(written: str) -> str:
    """A first lexicon line for ``written``."""
    key = f'"{written}"' if not re.fullmatch(r"[A-Za-z0-9_-]+", written) else written
    spelled = spelled_letters(written)
    if spelled:
        return f'{key} = "{spelled}"  # or as one word, if it is said as one'
    parts = _CAMEL.split(written)
    if len(parts) > 1:
        return f'{key} = "{" ".join(parts)}"'
    return f'{key} = ""  # write it as it is said, syllables apart: "grocking", "Mee-ree"'


def suggest(checks: Sequence[ChunkCheck], limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """Suggestions for the words the kept takes missed, most missed first."""
    forms = written_forms(checks)
    counts: Counter[str] = Counter()
    heard: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for check in checks:
        counts.update(set(check.score.missed))
        for said, instead in check.score.heard_as:
            if " " not in said:
                heard[said][instead] += 1
    out: list[Suggestion] = []
    for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        written = forms.get(word)
        if written is None or len(word) < 3:
            continue
        if not looks_like_a_term(written) and (count < 2 or len(word) < 4):
            continue
        heard_as = tuple(w for w, _ in heard[word].most_common(3))
        out.append(Suggestion(written, count, heard_as, entry_for(written)))
        if len(out) == limit:
            break
    return out
