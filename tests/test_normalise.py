# ruff: noqa: RUF001  (the cases are Unicode symbols on purpose)
"""Text normalisation, one normaliser at a time, plus every doctest in the clean modules."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tts_pipeline.clean import normalise as n
from tts_pipeline.clean import numerals as num
from tts_pipeline.clean.speech import speaker

DOCTESTED = ["numerals", "normalise", "tex", "lexicon", "speech", "reader"]


@pytest.mark.parametrize("name", DOCTESTED)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"tts_pipeline.clean.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


CASES = {
    num.dates: [
        ("2024-03-05", "March fifth, twenty twenty-four"),
        ("on Sept. 3, 1999", "on September third, nineteen ninety-nine"),
        ("1 January 2000", "the first of January, two thousand"),
        ("May 2023", "May twenty twenty-three"),
        ("May be 5", "May be 5"),  # not a date
        ("2024-13-45", "2024-13-45"),  # no such month
    ],
    num.times: [
        ("at 10:30", "at ten thirty"),
        ("9:05 pm", "nine oh five p.m."),
        ("at 12:00", "at twelve o'clock"),
        ("3pm and 11 a.m.", "three p.m. and eleven a.m."),
        ("ratio 16:9", "ratio 16:9"),
        ("John 3:16", "John three sixteen"),
    ],
    num.money: [
        ("$5", "five dollars"),
        ("$1", "one dollar"),
        ("$0.50", "fifty cents"),
        ("$5.50", "five dollars and fifty cents"),
        ("€3", "three euros"),
        ("£2.01", "two pounds and one penny"),
        ("$10k", "ten thousand dollars"),
        ("$1.5 billion", "one point five billion dollars"),
        ("$2.345", "two point three four five dollars"),
    ],
    num.percentages: [("40%", "forty percent"), ("-2.5 %", "minus two point five percent")],
    num.units: [
        ("5 km", "five kilometres"),
        ("1 kg", "one kilogram"),
        ("100ms", "one hundred milliseconds"),
        ("-40°C", "minus forty degrees Celsius"),
        ("3 m tall", "three metres tall"),
        ("5m", "5m"),  # could be millions: left to the number reader
        ("2 s", "two seconds"),
    ],
    num.ordinals: [("1st", "first"), ("the 42nd", "the forty-second")],
    num.decades: [("1980s", "nineteen eighties"), ("the 90s", "the nineties")],
    num.ranges: [("10-20", "10 to 20"), ("2020–2022", "2020 to 2022"), ("a-1", "a-1")],
    num.multiples: [
        ("2x", "two times"),
        ("1.5×", "one point five times"),
        ("7B", "seven billion"),
        ("3e8", "three times ten to the eight"),
    ],
    num.years: [
        ("in 1066 and 1999", "in 1066 and nineteen ninety-nine"),
        ("2007", "two thousand and seven"),
        ("1905", "nineteen oh five"),
        ("2,048", "2,048"),
        ("2048.5", "2048.5"),
        ("#2022", "#2022"),
    ],
    num.plain_numbers: [
        ("1,000,000", "one million"),
        ("3.14", "three point one four"),
        ("-7", "minus seven"),
        ("007", "zero zero seven"),
        ("v1.2.3", "v one point two point three"),
        ("H100", "H one hundred"),
        ("Section B.1", "Section B one"),
        (".5", "point five"),
        (
            "12345678901234567",
            "one two three four five six seven eight nine zero one two three four five six seven",
        ),
    ],
    n.abbreviations: [
        ("e.g. this", "for example, this"),
        ("i.e., that", "that is, that"),
        ("apples, etc.", "apples, et cetera."),
        ("Smith et al. showed", "Smith et al showed"),
        ("cats vs. dogs", "cats versus dogs"),
        ("Dr. Who and Mr. Smith", "Doctor Who and Mister Smith"),
        ("see p. 4 and pp. 5", "see page 4 and pages 5"),
        ("the U.S. and U.K.", "the U-S and U-K."),  # its period also ended the sentence
        ("TL;DR: no", "T-L-D-R: no"),
        ("w/o sugar", "without sugar"),
    ],
    n.roman_numerals: [
        ("World War II", "World War two"),
        ("Chapter XIV", "Chapter fourteen"),
        ("Class C", "Class C"),
        ("Henry VIII", "Henry VIII"),  # no cue word: left alone
    ],
    n.acronyms: [
        ("LLM", "L-L-M"),
        ("GPTs", "G-P-T's"),
        ("NASA", "NASA"),
        ("WHY", "WHY"),
        ("Mr", "Mr"),
    ],
}


@pytest.mark.parametrize(
    ("normaliser", "written", "spoken"),
    [(f, w, s) for f, pairs in CASES.items() for w, s in pairs],
    ids=lambda v: getattr(v, "__name__", None) or str(v)[:30],
)
def test_normaliser(normaliser: object, written: str, spoken: str) -> None:
    assert callable(normaliser)
    assert normaliser(written) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("A & B", "A and B"),
        ("x → y", "x to y"),
        ("a ≤ b ≠ c", "a is less than or equal to b is not equal to c"),
        ("α and β", "alpha and beta"),
        ("2 + 2 = 4", "2 plus 2 equals 4"),
        ("~5 people", "about 5 people"),
        ("issue #12", "issue number 12"),
        ("he/she", "he or she"),
        ("transparency / interpretability", "transparency or interpretability"),
        ("3/4 of it", "three quarters of it"),
        ("24/7", "24/7"),  # left to abbreviations ("twenty-four seven")
        ("mail me@example.org", "mail me at example.org"),
        ("wait — what", "wait, what"),
        ("fun 🎉🎉 times ✅", "fun times"),
        ("*emphasis* and _under_", "emphasis and under"),
    ],
)
def test_symbols(written: str, spoken: str) -> None:
    assert n.tidy(n.symbols(written)) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("It's 24/7.", "It's twenty-four seven."),
        (
            "3.5% of U.S. adults, etc. Then more.",
            "three point five percent of U-S adults, et cetera. Then more.",
        ),
        (
            "The 2nd of 3 runs took 10–20 ms.",
            "The second of three runs took ten to twenty milliseconds.",
        ),
        (
            "Part III (2019) cost ~$3M.",
            "Part three (twenty nineteen) cost about three million dollars.",
        ),
        ("CO2 at 415 ppm", "CO two at four hundred and fifteen ppm"),
    ],
)
def test_normalise_end_to_end(written: str, spoken: str) -> None:
    assert n.normalise(written) == spoken


def test_speaker_is_lexicon_then_normaliser() -> None:
    speak = speaker("default", engine="pyttsx3")
    assert speak("LessWrong's RLHF post, 2nd draft") == "Less Wrong's R-L-H-F post, second draft"
    assert speak("") == ""


@pytest.mark.parametrize(
    "text",
    ["", "   ", "%%%", "$", "$$$5", "1e999999", "9" * 400, "—–-", "\u0000\ufffe", "½ ⅓ ¼", "٣٤٥"],
)
def test_normalise_never_crashes(text: str) -> None:
    assert isinstance(n.normalise(text), str)
