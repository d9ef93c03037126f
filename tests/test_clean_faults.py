"""Every word heard right: names in math, the post's own TeX macros, tables of prose and
dialogue, and escaped markup (the golden cases are in ``golden/``; these check the rules)."""

from __future__ import annotations

import pytest

from tts_pipeline.clean import CleanOptions, speaker
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.clean.mathnames import identifier_words, pronounceable
from tts_pipeline.clean.reader import tidy_text
from tts_pipeline.clean.tex import MacroBook, read_tex, speak_tex
from tts_pipeline.models import Section

SPEAK = speaker("default", engine="pyttsx3")


def texts(sections: tuple[Section, ...]) -> list[str]:
    return [segment.text for section in sections for segment in section.segments]


def math(tex: str, display: bool = False) -> str:
    label = tex.replace("&", "&amp;").replace('"', "&quot;")
    shown = ' display="true"' if display else ""
    return f'<mjx-container class="MathJax"{shown} aria-label="{label}"></mjx-container>'


# --- names in math ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tex", "said"),
    [
        ("karmaScore / ageInHours", "karma score over age in hours"),
        ("P[model_i|data]", "P of model i given data"),
        ("heads - tails", "heads minus tails"),
        ("abc + xy", "a b c plus x y"),
        ("\\frac{dy}{dx}", "d y over d x"),
        ("\\mathrm{KL}", "K L"),
        ("x_{max}", "x max"),
        ("reward(s, a)", "reward of s, a"),
        ("\\mathrm{score}(w)", "score of w"),
        ("\\operatorname{logSoftmax}(z)", "log softmax of z"),
        ("\\text{for all } x", "for all x"),
    ],
)
def test_names_in_math(tex: str, said: str) -> None:
    assert read_tex(tex) == said


WORDS = "heads tails model data threshold weights softmax strength gradient utility lengths"


@pytest.mark.parametrize("word", WORDS.split())
def test_pronounceable_words(word: str) -> None:
    assert pronounceable(word) and identifier_words(word) == word


@pytest.mark.parametrize("run", ["abc", "xy", "abcd", "ijkl", "wxyz", "pqrs", "dxdt", "mgh", "KL"])
def test_products_and_acronyms_are_spelled(run: str) -> None:
    assert identifier_words(run) is None


def test_subscript_i_is_a_letter_when_spoken() -> None:
    assert SPEAK(speak_tex("P[model_i|data]")) == "P of model i given data"


# --- the post's own macros -------------------------------------------------------------------


def test_macros_defined_in_one_equation_are_used_in_the_next() -> None:
    book = MacroBook()
    assert read_tex("\\newcommand{\\R}{\\mathbb{R}}\\def\\sq#1{#1^2}", book) == ""
    assert read_tex("x \\in \\R, \\sq{y}", book) == "x in R, y squared"
    assert read_tex("\\reals") == ""  # another post: not defined there, and never said by name


def test_macro_that_expands_forever_is_cut_off() -> None:
    spoken = speak_tex("\\newcommand{\\a}{\\a\\a}\\a + 1")
    assert "newcommand" not in spoken and spoken.endswith("plus 1")


def test_definitions_anywhere_in_the_post_reach_footnotes_and_headings() -> None:
    use, define, apply = math("\\loss"), math("\\newcommand{\\loss}{L}"), math("\\loss(x)")
    html = f"<h2>About {use}</h2><p>Defined here: {define}and used {apply}.</p>"
    sections = html_to_sections(html)
    assert sections[0].title == "About L"
    assert texts(sections)[1] == "Defined here: and used L of x."


def test_equation_that_only_defines_says_nothing() -> None:
    define = math("\\DeclareMathOperator{\\Var}{Var}", display=True)
    html = f"<p>Set-up.</p>{define}<p>Done.</p>"
    assert texts(html_to_sections(html)) == ["Set-up.", "Done."]


def test_kern_units_are_never_words() -> None:
    spoken = SPEAK(speak_tex("a \\kern-7mu b \\mkern 3mu c \\hskip 1em plus 2pt d"))
    assert spoken == "a b c d"


# --- tables ----------------------------------------------------------------------------------


def _dialogue(rows: int) -> str:
    turns = "".join(
        f"<tr><td><p><b>{'Ann' if i % 2 else 'Bo'}:</b> Turn {i}, and it is said in a whole"
        " sentence so that it reads as prose.</p></td></tr>"
        for i in range(rows)
    )
    return f"<table><tbody>{turns}</tbody></table>"


def test_long_dialogue_table_is_read_turn_by_turn() -> None:
    sections = html_to_sections(_dialogue(80))
    said = texts(sections)
    assert said[0] == "A table: a dialogue of 80 turns."
    assert said[1].startswith("Turn 0, and it is said")
    segments = [s for section in sections for s in section.segments]
    turns = [s for s in segments if s.speaker]
    assert [s.speaker for s in turns] == ["Bo", "Ann"] * 40
    assert len({s.turn for s in turns}) == 80
    assert said[-1] == "End of table." and not segments[-1].speaker


def test_prose_table_keeps_its_words_whatever_its_size() -> None:
    cells = "".join(
        f"<tr><td>Step {i}</td><td>Water the seedlings in the morning, before the sun is high,"
        f" and check the soil first.</td></tr>"
        for i in range(40)
    )
    html = f"<table>{cells}</table>"
    said = " ".join(texts(html_to_sections(html, CleanOptions(table_max_cells=10))))
    assert said.count("Water the seedlings") == 40 and "omitted" not in said


def test_data_table_is_still_summarised() -> None:
    cells = "".join(f"<tr><td>{i}</td><td>{i * i}</td><td>{i % 3}</td></tr>" for i in range(20))
    said = texts(html_to_sections(f"<table>{cells}</table>"))
    assert said == ["A table, with 20 rows and 3 columns, is omitted."]


def test_code_in_cells_is_announced_once() -> None:
    rows = "".join(
        f"<tr><td>Case {i}</td><td><pre><code>f({i})</code></pre></td></tr>" for i in range(12)
    )
    said = texts(html_to_sections(f"<table>{rows}</table>"))
    assert sum("code" in t.lower() for t in said) == 1
    assert "The code in its cells is omitted." in said


def test_two_column_table_of_terms_is_not_a_dialogue() -> None:
    rows = "".join(
        f"<tr><td>Term{i}</td><td>A definition that runs on for a whole sentence or so.</td></tr>"
        for i in range(5)
    )
    sections = html_to_sections(f"<table>{rows}</table>")
    assert not any(s.speaker for section in sections for s in section.segments)


# --- escaped markup --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "tidy"),
    [
        ('write <_a href="https://x.org">the page</_a> here', "write the page here"),
        ('<__span class="x">y', "y"),
        ('an unclosed <_a href="https://x.org" and more', "an unclosed and more"),
        ("x < y and a <b stay", "x < y and a < b stay"),
    ],
)
def test_escaped_markup_is_never_read_as_tags(raw: str, tidy: str) -> None:
    assert tidy_text(raw) == tidy
    assert "href" not in SPEAK(tidy_text(raw))
