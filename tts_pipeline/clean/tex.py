"""TeX math read aloud: ``x^2 + \\frac{a}{b}`` -> "x squared plus a over b".

pylatexenc parses the TeX (groups, macros, environments; tolerant of broken input); this module
turns its nodes into a small token list and reads that the way a person reads math: powers as
"squared"/"cubed"/"to the n", big operators with their limits ("the sum from i equals 1 to n
of"), fractions, roots, accents ("theta hat"), Greek letters, relations as "is less than", and
function application as "of". Anything with alignment or matrices cannot be read well and is
reported as such, so callers can say a short stand-in instead.

>>> speak_tex(r"\\sum_{i=1}^{n} x_i^2")
'the sum from i equals 1 to n of x i squared'
>>> speak_tex(r"P(A \\mid B) \\approx 0.5")
'P of A given B, is approximately 0.5'
"""

from __future__ import annotations

import re

from pylatexenc.latexwalker import LatexWalker, LatexWalkerError

from tts_pipeline.clean.mathnames import identifier_words
from tts_pipeline.clean.mathwords import (
    ACCENTS,
    BIG_OPERATORS,
    CHAR_BIG_OPERATORS,
    CHAR_WORDS,
    FONT_MACROS,
    GREEK,
    MACRO_WORDS,
    SILENT_MACROS,
    TEXT_MACROS,
)
from tts_pipeline.clean.numerals import fraction_words, ordinal_words
from tts_pipeline.clean.texmacros import LAYOUT_COMMANDS, MacroBook, prepare
from tts_pipeline.clean.textokens import ARGS, DROP_FIRST, Tok, TooComplex, fences, tokens

__all__ = ["EQUATION", "MacroBook", "TooComplex", "command_words", "read_tex", "speak_tex"]

EQUATION = "an equation"
MAX_TEX_CHARS = 3000  # longer sources are not parsed: no one could follow them spoken anyway
_FUNCTION_LETTERS = frozenset("fghpqPQLEFGHVUDNKJO")
_JOINERS = frozenset({"plus", "minus", "times", "over", "equals", "sub", "of", "and", "or"})
_FUNCTION_NAMES = (
    "sin cos tan cot sec csc arcsin arccos arctan arcsec arccot sinh cosh tanh coth sech csch "
    "log ln lg exp det dim ker gcd lcm hom Pr Var Cov var cov Tr tr sgn sign softmax KL rank "
    "diag deg Re Im"
)
_FUNCTION_MACROS = frozenset(_FUNCTION_NAMES.split())
_STRUCTURE = frozenset(
    [
        "begin",
        "end",
        "frac",
        "sqrt",
        "root",
        "of",
        "genfrac",
        "substack",
        "sideset",
        "operatorname",
        "array",
        "matrix",
    ]
)
_BRACES = ("underbrace", "overbrace", "underbracket", "overbracket")
_DEFINED_AS = frozenset({"def", "triangle", "delta", "capital delta", ","})


# --- reading tokens ---------------------------------------------------------------------------


def _simple(toks: list[Tok]) -> bool:
    """What a listener takes as a unit: at most two words with no operator ("x", "12",
    "alpha", "x hat", "x 1", "partial L"), or one name however many words it has."""
    if len(toks) == 1 and toks[0].kind == "name":
        return True
    spoken = _words(toks).split()
    return 0 < len(spoken) <= 2 and not any(w in _JOINERS for w in spoken)


def _scripts(toks: list[Tok], i: int) -> tuple[list[Tok] | None, list[Tok] | None, int]:
    """The subscript and superscript starting at ``toks[i]`` (if any), and the index after."""
    sub: list[Tok] | None = None
    sup: list[Tok] | None = None
    while i < len(toks) and toks[i].value in ("_", "^"):
        if toks[i].kind != "sym" or i + 1 >= len(toks):
            i += 1
            continue
        arg = toks[i + 1]
        script = arg.items if arg.kind == "group" else [arg]
        if toks[i].value == "_":
            sub = script
        else:
            sup = script
        i += 2
    return sub, sup, i


def _words(toks: list[Tok]) -> str:
    parts: list[str] = []
    i = 0
    previous: Tok | None = None
    while i < len(toks):
        tok = toks[i]
        sub, sup, i = _scripts(toks, i + 1)
        big = _big_operator(tok)
        if big:
            parts.append(_limits(big, sub, sup))
        elif tok.kind == "macro" and tok.value in _BRACES:
            label = sub if sub is not None else sup
            content = _words(tok.args[0]) if tok.args else ""
            parts.append(f"{content}, labelled {_words(label)}," if label else content)
        else:
            base = _fence(tok, parts, previous) if tok.kind == "fence" else _word(tok, parts)
            if sub is not None:
                base = f"{base} {_words(sub)}" if _simple(sub) else f"{base} sub {_words(sub)},"
            if sup is not None:
                base = f"{base} {_power(sup)}"
            parts.append(base)
        previous = tok
    return re.sub(r"\s+", " ", " ".join(p for p in parts if p)).strip()


def _plain(toks: list[Tok]) -> str:
    """The letters and names of ``toks`` run together ("argmax" from "arg\\,max")."""
    return "".join(re.sub(r"\s+", "", t.value) for t in toks if t.kind in ("sym", "name", "text"))


def _big_operator(tok: Tok) -> str:
    if tok.kind == "macro" and tok.value in BIG_OPERATORS:
        return tok.value
    if tok.kind == "macro" and tok.value == "operatorname" and tok.args:
        name = _plain(tok.args[0])
        return name if name in BIG_OPERATORS else ""
    if tok.kind == "sym" and tok.value in CHAR_BIG_OPERATORS:
        return CHAR_BIG_OPERATORS[tok.value]
    if tok.kind == "macro" and tok.value == "mathbb" and tok.args:
        # \mathbb{E} is the expectation, read with its subscript like a sum.
        return "E" if [t.value for t in tok.args[0]] == ["E"] else ""
    return ""


def _limits(name: str, sub: list[Tok] | None, sup: list[Tok] | None) -> str:
    said = BIG_OPERATORS[name]
    if name == "lim" or name.startswith("lim"):
        lower = _words(sub).replace(" to ", " approaches ") if sub else ""
        return f"{said} as {lower} of" if lower else f"{said} of"
    if sub is not None and sup is not None:
        return f"{said} from {_words(sub)} to {_words(sup)} of"
    if sub is not None:
        return f"{said} over {_words(sub)} of"
    return f"{said} of"


def _power(sup: list[Tok]) -> str:
    if len(sup) == 1 and sup[0].kind == "sym":
        value = sup[0].value
        if value == "2":
            return "squared"
        if value == "3":
            return "cubed"
        if value.isdigit():
            return f"to the {ordinal_words(int(value))}"
        if value in ("T", "\u22a4"):
            return "transpose"
        if value in ("*", "'", "\u2032"):
            return "star" if value == "*" else "prime"
        return f"to the {_words(sup)}"
    if len(sup) == 1 and sup[0].kind == "macro":
        if sup[0].value in ("top", "intercal"):
            return "transpose"
        if sup[0].value in ("prime", "ast", "star", "dagger"):
            return MACRO_WORDS[sup[0].value]
    if [t.value for t in sup] == ["-", "1"]:
        return "inverse"
    return f"to the power of {_words(sup)},"


def _word(tok: Tok, before: list[str]) -> str:
    if tok.kind == "group":
        return _words(tok.items)
    if tok.kind == "macro":
        return _macro(tok)
    value = tok.value
    if tok.kind == "name":
        return identifier_words(value) or " ".join(value)
    if value == "-" and not before:
        return "minus"
    return CHAR_WORDS.get(value, value if value.isalnum() or value[:1].isdigit() else "")


def _applies(previous: Tok | None, before: list[str]) -> bool:
    """Whether a bracket after ``previous`` holds a function's argument ("f(x)": "f of x")."""
    if previous is not None and previous.kind == "name":
        return True
    if previous is not None and previous.kind == "macro":
        if previous.value == "operatorname" or previous.value in _FUNCTION_MACROS:
            return True
        text = _text_of(previous.args[0]) if previous.value in TEXT_MACROS and previous.args else ""
        if re.fullmatch(r"[A-Za-z]+", text):
            return True  # \text{KL}(P \| Q), \text{Pr}(A): a name written as text
        font = previous.value in FONT_MACROS and previous.args and len(previous.args[0]) == 1
        if font and previous.args[0][0].kind == "name":
            return True  # \mathrm{score}(w)
    last = before[-1].split()[-1].strip(",") if before and before[-1].split() else ""
    return bool(last) and (
        last in _FUNCTION_LETTERS
        or last in GREEK
        or last in ("hat", "bar", "tilde", "star", "prime")
    )


def _fence(tok: Tok, before: list[str], previous: Tok | None = None) -> str:
    inner = _words(tok.items)
    named = {"|": "the absolute value of", "\\lvert": "the absolute value of",
             "\\{": "the set", "\\lfloor": "the floor of", "\\lceil": "the ceiling of",
             "\\|": "the norm of", "\\lVert": "the norm of"}  # fmt: skip
    if tok.value in named:
        return f"{named[tok.value]} {inner},"
    if _applies(previous, before):
        return f"of {inner},"
    last = before[-1].split()[-1].strip(",") if before and before[-1].split() else ""
    if len(tok.items) > 1 and before and last != "of":
        # "n(n+1)": a product; "(a+b)" after an operator: a group.
        times = "times " if (len(last) == 1 and last.isalnum()) or last.isdigit() else ""
        return f"{times}the quantity {inner},"
    return inner


def _macro(tok: Tok) -> str:
    name, args = tok.value, tok.args
    if name in SILENT_MACROS:
        return ""
    if name in DROP_FIRST:
        return _words(args[1]) if len(args) > 1 else ""
    if name in ("frac", "dfrac", "tfrac", "cfrac") and len(args) == 2:
        return _fraction(args[0], args[1])
    if name in ("binom", "dbinom", "tbinom") and len(args) == 2:
        return f"{_words(args[0])} choose {_words(args[1])}"
    if name == "sqrt":
        return _root(args)
    if name in ("overset", "underset", "stackrel") and len(args) == 2:
        return _stacked(name, args[0], args[1])
    if name in ("xrightarrow", "xleftarrow", "xmapsto", "xlongrightarrow") and args:
        way = {"xleftarrow": "from", "xmapsto": "maps to"}.get(name, "to")
        return f"via {_words(args[-1])}, {way}"
    if name == "not":
        said = _words(args[0]) if args else ""
        said = "is equal to" if said == "equals" else said
        return said.replace("is ", "is not ", 1) if said.startswith("is ") else f"not {said}"
    if name in ACCENTS:
        return ACCENTS[name].format(_words(args[0]) if args else "")
    if name in FONT_MACROS:
        return " ".join(_words(a) for a in args)
    if name in TEXT_MACROS:
        text = _text_of(args[0] if args else [])
        if name == "operatorname":  # \operatorname{Tr} is "trace", {logSoftmax} two words
            return MACRO_WORDS.get(text) or identifier_words(text) or _text_words(text)
        return _text_words(text)
    if name in MACRO_WORDS:
        return MACRO_WORDS[name]
    if name in ("|", "%", "$"):
        return {"|": ",", "%": "percent", "$": "dollars"}[name]
    # Anything else (a layout command, an unknown or undefined macro) is never said by name;
    # what its arguments hold may still be content.
    return " ".join(_words(a) for a in args)


def _text_of(toks: list[Tok]) -> str:
    if len(toks) == 1 and toks[0].kind == "text":
        return toks[0].value  # the source's own words and spaces
    return " ".join(t.value for t in toks if t.kind in ("sym", "name"))


def _root(args: list[list[Tok]]) -> str:
    body = _words(args[-1]) if args else ""
    index = _words(args[0]) if len(args) == 2 else ""
    if not index:
        return f"the square root of {body},"
    if index == "3":
        return f"the cube root of {body},"
    root = ordinal_words(int(index)) if index.isdigit() else index
    return f"the {root} root of {body},"


def _stacked(name: str, mark: list[Tok], base: list[Tok]) -> str:
    """\\overset{a}{b} (and \\stackrel) and \\underset{a}{b}: a limit under or over a big
    operator, a definition mark over "=", or else the base with the mark said after it."""
    said = _words(base)
    big = _big_operator(base[0]) if len(base) == 1 else ""
    if big:
        return _limits(big, mark, None) if name == "underset" else _limits(big, None, mark)
    above = _words(mark)
    if said == "equals" and name != "underset":
        if above in _DEFINED_AS or _plain(mark) in ("def", "defn"):
            return "is defined as"
        if above == "factorial":
            return "must equal"
        if above == "?":
            return "might equal"
    where = "below" if name == "underset" else "above"
    return f"{said}, with {above} {where}," if above else said


def _fraction(num: list[Tok], den: list[Tok]) -> str:
    top, bottom = _words(num), _words(den)
    if top.isdigit() and bottom.isdigit():
        spoken = fraction_words(int(top), int(bottom))
        if spoken:
            return spoken
    if _simple(num) and _simple(den):
        return f"{top} over {bottom}"
    if _simple(den):
        return f"the quantity {top}, over {bottom},"
    if _simple(num):
        return f"{top} over the quantity {bottom},"
    return f"the quantity {top}, over the quantity {bottom},"


def _text_words(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return {"argmax": "arg max", "argmin": "arg min", "s.t.": "such that"}.get(text, text)


# --- entry points -----------------------------------------------------------------------------


def _tidy(words: str) -> str:
    words = re.sub(r"\s+([,.?])", r"\1", words)
    words = re.sub(r",(\s*,)+", ",", words)
    return re.sub(r"\s+", " ", words).strip(" ,")


def read_tex(tex: str, macros: MacroBook | None = None) -> str:
    """Words for ``tex`` (math mode), "" when it only defines macros (``macros``: those the
    post has defined so far, updated with these); raises TooComplex when it cannot be read
    well."""
    source = re.sub(r"^\s*(?:\\\(|\\\[|\$\$?)|(?:\\\)|\\\]|\$\$?)\s*$", "", tex)
    if len(source) > MAX_TEX_CHARS:
        raise TooComplex("too long")
    try:
        source = re.sub(r"\\arg\s*\\(max|min)(?![A-Za-z])", r"\\arg\1", prepare(source, macros))
        if len(source) > MAX_TEX_CHARS:
            raise TooComplex("too long once its macros are expanded")
        nodes, _, _ = LatexWalker(source, tolerant_parsing=True).get_latex_nodes()
        return _tidy(_words(fences(tokens(nodes))))
    except (LatexWalkerError, RecursionError, IndexError, ValueError, AttributeError) as exc:
        raise TooComplex(f"unparsable: {exc}") from exc


def speak_tex(tex: str, macros: MacroBook | None = None) -> str:
    """Words for ``tex``, or "an equation" when it cannot be read well (never raises)."""
    try:
        return read_tex(tex, macros) or EQUATION
    except TooComplex:
        return EQUATION


def command_words(name: str) -> str | None:
    """What a TeX command (without its backslash) says in running text: its words, "" for a
    command that says nothing by itself, None for a name TeX does not know (``C:\\Users``)."""
    if name in MACRO_WORDS:
        return MACRO_WORDS[name]
    if name in BIG_OPERATORS:
        return BIG_OPERATORS[name].removeprefix("the ")
    known = (SILENT_MACROS, FONT_MACROS, TEXT_MACROS, ACCENTS, ARGS, DROP_FIRST, LAYOUT_COMMANDS)
    if name in _STRUCTURE or name in _BRACES or any(name in table for table in known):
        return ""
    return None
