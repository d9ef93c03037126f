"""Written text -> the words an engine should say: abbreviations, symbols, emoji, acronyms,
Roman numerals and (through ``numerals``) every kind of number.

This runs on each piece of text just before it goes to the engine (see ``speech.speaker``),
after the pronunciation lexicon, so transcripts keep the written form ("3.5%", "e.g.") while
the listener hears the spoken one ("three point five percent", "for example").

>>> normalise("E.g. LLMs cost ~$5 & GPT-4 scored 86.4% in 2023 🙂.")
"For example, L-L-M's cost about five dollars and G-P-T four scored eighty-six point four percent in twenty twenty-three."
"""  # noqa: E501

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from tts_pipeline.clean.mathwords import CHAR_WORDS
from tts_pipeline.clean.numerals import cardinal, fraction_words, normalise_numbers

# (pattern, spoken); a trailing period that ended a sentence is put back (see _abbreviations).
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"\b[Ee]\.\s?g\.(?:,)?", "for example,"),
    (r"\b[Ii]\.\s?e\.(?:,)?", "that is,"),
    (r"\betc\.", "et cetera"),
    (r"\bet al\.", "et al"),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bcf\.", "compare"),
    (r"\bapprox\.", "approximately"),
    (r"\bw\.r\.t\.?", "with respect to"),
    (r"\ba\.k\.a\.?", "also known as"),
    (r"\bresp\.", "respectively"),
    (r"\besp\.", "especially"),
    (r"\bincl\.", "including"),
    (r"\bviz\.", "namely"),
    (r"\b[Nn]\.\s?[Bb]\.", "note"),
    (r"\bDr\.(?=\s+[A-Z])", "Doctor"),
    (r"\bMr\.(?=\s+[A-Z])", "Mister"),
    (r"\bMrs\.(?=\s+[A-Z])", "Missus"),
    (r"\bMs\.(?=\s+[A-Z])", "Miz"),
    (r"\bProf\.(?=\s+[A-Z])", "Professor"),
    (r"\bSt\.(?=\s+[A-Z])", "Saint"),
    (r"\bJr\.", "Junior"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\b[Ff]ig\.(?=\s*\d)", "Figure"),
    (r"\b[Ee]q\.(?=\s*\(?\d)", "Equation"),
    (r"\b[Ss]ec\.(?=\s*\d)", "Section"),
    (r"\b[Cc]h\.(?=\s*\d)", "Chapter"),
    (r"\bpp\.(?=\s*\d)", "pages"),
    (r"\bp\.(?=\s*\d)", "page"),
    (r"\b(?:ca?)\.(?=\s*\d)", "circa"),
    (r"\bU\.S\.A\.", "U-S-A"),
    (r"\bU\.S\.", "U-S"),
    (r"\bU\.K\.", "U-K"),
    (r"\bPh\.\s?D\.?", "P-H-D"),
    (r"\b(?:tl;dr|TL;DR|TLDR|tldr)\b", "T-L-D-R"),
    (r"\bw/o\b", "without"),
    (r"(?<!\w)w/(?=\s)", "with"),
    (r"\b24/7\b", "twenty-four seven"),
)
_ABBREVIATIONS = tuple((re.compile(p), s) for p, s in ABBREVIATIONS)
_MAY_END_SENTENCE = frozenset(
    {"et cetera", "et al", "respectively", "Junior", "U-S", "U-K", "U-S-A", "P-H-D"}
)
_SENTENCE_END = re.compile(r"\s*$|\s+[A-Z\"“]")

_ROMAN_CUE = (
    r"\b(?P<cue>Chapter|Part|Volume|Vol\.|Book|Act|Section|Appendix|Phase|Stage|Level|Type|"
    r"Class|Article|Title|World War|Star Wars Episode|Episode)\s+(?P<roman>[IVXLC]{1,7})\b"
)
_ROMAN = re.compile(_ROMAN_CUE)
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

# All-capital words without vowels are said letter by letter ("LLM", "RLHF", "GPTs").
# Y is left out: "WHY" and "MY" in capitals are words.
_ACRONYM = re.compile(r"\b(?P<letters>[B-DF-HJ-NP-TV-XZ]{2,6})(?P<plural>s?)\b")
# A plural with a small s is an acronym's even when it has vowels ("GPUs", "CEOs", "IDs"): read
# as a word it is garbled ("gpoos"); spelled, with the plural said ("G-P-U's").
_ACRONYM_PLURAL = re.compile(r"\b(?P<letters>[A-Z]{2,4})(?P<plural>s)\b")
_FRACTION = re.compile(r"(?<![\w/.])(?P<n>1?\d)/(?P<d>\d{1,2})(?![\w/])")
_WORD_SLASH = re.compile(r"(?<=[a-z])/(?=[a-z])")
_TILDE_NUMBER = re.compile(r"(?:(?<=\s)|^)~\s?(?=[\d$£€])")
_SPACED_SYMBOL = re.compile(
    r"(?:(?<=[\s\w)])|^)(?P<sym>->|=>|<-|<=|>=|!=|==|~=|[+=<>&])(?=[\s\w(]|$)"
    # "*" only between numbers or spaced: "*word*" is emphasis, not multiplication.
    r"|(?:(?<=\s)|(?<=\d)|^)(?P<star>\*)(?=\s|\d|$)"
)
_EMAIL = re.compile(r"\b(?P<user>[\w.+-]+)@(?P<host>[\w-]+(?:\.[\w-]+)+)\b")
_SPACED_WORDS = {"+": "plus", "=": "equals", "==": "equals", "<": "is less than",
                 ">": "is greater than", "*": "times", "&": "and", "->": "to", "=>": "implies",
                 "<-": "from", "<=": "is at most", ">=": "is at least", "!=": "is not equal to",
                 "~=": "is approximately"}  # fmt: skip
_HASH_NUMBER = re.compile(r"#(?=\d)")
_KEPT_FOR_NUMBERS = frozenset("°")  # "30°C" is read by the unit reader
_LEFTOVER = re.compile(r"[#*_|~^`<>{}\[\]\\@=+&]")
_DASHES = re.compile("\\s*[\u2014\u2015]\\s*|\\s+[\u2013-]\\s+")


def abbreviations(text: str) -> str:
    """Common written abbreviations expanded; an abbreviation's final period that also ended
    the sentence is kept, so the engine still pauses.

    >>> abbreviations("Fruit, e.g. apples, etc. Then Dr. Smith et al. wrote vs. us.")
    'Fruit, for example, apples, et cetera. Then Doctor Smith et al wrote versus us.'
    """
    for pattern, spoken in _ABBREVIATIONS:
        text = pattern.sub(_expander(spoken), text)
    return text.replace(",,", ",")


def _expander(spoken: str) -> Callable[[re.Match[str]], str]:
    def expand(m: re.Match[str]) -> str:
        said = spoken[0].upper() + spoken[1:] if m[0][0].isupper() else spoken
        if not m[0].endswith(".") or spoken not in _MAY_END_SENTENCE:
            return said
        rest = m.string[m.end() :]
        ends = _SENTENCE_END.match(rest) and not rest.startswith(",")
        return said + "." if ends else said

    return expand


def roman_numerals(text: str) -> str:
    """Roman numerals after words that number things.

    >>> roman_numerals("World War II, Chapter XIV and Part IV of Act I")
    'World War two, Chapter fourteen and Part four of Act one'
    """

    def say(m: re.Match[str]) -> str:
        value = _roman_value(m["roman"])
        # A lone C, L, D or M after "Class" or "Type" is a letter, not a hundred or fifty.
        if not 0 < value <= 60 or m["roman"] in ("C", "L"):
            return m[0]
        return f"{m['cue']} {cardinal(value)}"

    return _ROMAN.sub(say, text)


def _roman_value(roman: str) -> int:
    total = 0
    for i, ch in enumerate(roman):
        value = _ROMAN_VALUES[ch]
        following = _ROMAN_VALUES[roman[i + 1]] if i + 1 < len(roman) else 0
        total += -value if value < following else value
    return total if total > 0 else 0


def acronyms(text: str) -> str:
    """Capitalised words with no vowel are spelled: hyphens keep engines from reading "A" as
    the article.

    >>> acronyms("RLHF and LLMs, but NASA and AI stay; GPUs and CEOs")
    "R-L-H-F and L-L-M's, but NASA and AI stay; G-P-U's and C-E-O's"
    """

    def spell(m: re.Match[str]) -> str:
        letters = "-".join(m["letters"])
        return letters + ("'s" if m["plural"] else "")

    return _ACRONYM_PLURAL.sub(spell, _ACRONYM.sub(spell, text))


def symbols(text: str) -> str:
    """Symbols said as words where they mean something, emoji and decoration dropped.

    >>> tidy(symbols("A & B -> C, x ≤ 5, ~10 items, #3, and/or 1/2 of it ✨ **bold**"))
    'A and B to C, x is less than or equal to 5, about 10 items, number 3, and or one half of it bold'
    """  # noqa: E501
    text = _FRACTION.sub(lambda m: fraction_words(int(m["n"]), int(m["d"])) or m[0], text)
    text = _TILDE_NUMBER.sub("about ", text)
    text = _EMAIL.sub(lambda m: f"{m['user']} at {m['host']}", text)
    text = re.sub("(?<=\\d)\u00d7", "x", text)  # "10 times" written with a times sign
    text = _SPACED_SYMBOL.sub(lambda m: f" {_SPACED_WORDS[m['sym'] or m['star']]} ", text)
    text = _HASH_NUMBER.sub("number ", text)
    text = _WORD_SLASH.sub(" or ", text.replace("and/or", "and or")).replace(" / ", " or ")
    text = _DASHES.sub(", ", text)
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if ch in CHAR_WORDS and ch not in _KEPT_FOR_NUMBERS:
            out.append(f" {CHAR_WORDS[ch]} ")
        elif category in ("So", "Sk", "Cn", "Co", "Cs", "Mn") or ch in "\u200d\ufe0f":
            out.append(" " if category in ("So", "Sk") else "")  # emoji, decoration
        else:
            out.append(ch)
    return _LEFTOVER.sub(" ", "".join(out))


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",(?=[^\s\d])", ", ", text)
    text = re.sub(r"([,;:])(\s*[,;:])+", r"\1", text)
    return text.strip()


def normalise(text: str) -> str:
    """Everything above, in order: abbreviations first (they hold periods the others would
    misread), then symbols, Roman numerals, numbers and acronyms."""
    text = unicodedata.normalize("NFC", text)
    text = abbreviations(text)
    text = symbols(text)
    text = roman_numerals(text)
    text = normalise_numbers(text)  # before acronyms: "5 GB" is a unit, not letters
    text = acronyms(text)
    return tidy(text)
