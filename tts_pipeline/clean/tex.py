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
from dataclasses import dataclass, field

from pylatexenc.latexwalker import (
    LatexCharsNode,
    LatexEnvironmentNode,
    LatexGroupNode,
    LatexMacroNode,
    LatexMathNode,
    LatexNode,
    LatexSpecialsNode,
    LatexWalker,
    LatexWalkerError,
)

from tts_pipeline.clean.mathwords import (
    ACCENTS,
    BIG_OPERATORS,
    CHAR_BIG_OPERATORS,
    CHAR_WORDS,
    FONT_MACROS,
    MACRO_WORDS,
    SILENT_MACROS,
    TEXT_MACROS,
)
from tts_pipeline.clean.numerals import fraction_words, ordinal_words

EQUATION = "an equation"
MAX_TEX_CHARS = 3000  # longer sources are not parsed: no one could follow them spoken anyway
_ARGS = {"frac": 2, "dfrac": 2, "tfrac": 2, "cfrac": 2, "binom": 2, "sqrt": 1, "textcolor": 2}
_DROP_FIRST = frozenset({"label", "tag", "color", "phantom", "hphantom", "vphantom", "textcolor"})
_OPEN = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle", "\\lfloor": "\\rfloor",
         "\\lceil": "\\rceil"}  # fmt: skip
_CLOSE = frozenset(_OPEN.values())
_FUNCTION_LETTERS = frozenset("fghpqPQLEFGHVUDNKJO")
_JOINERS = frozenset({"plus", "minus", "times", "over", "equals", "sub", "of", "and", "or"})


class TooComplex(Exception):
    """The TeX has structure (alignment, matrices) that does not survive being read aloud."""


@dataclass
class Tok:
    kind: str  # "sym" (letter, digit string, operator), "macro", "group", "fence", "text"
    value: str = ""
    args: list[list[Tok]] = field(default_factory=list)
    items: list[Tok] = field(default_factory=list)
    close: str = ""  # fences: the closing delimiter


# --- tokens from pylatexenc nodes -------------------------------------------------------------


def _tokens(nodes: list[LatexNode] | None, depth: int = 0) -> list[Tok]:
    if depth > 60:
        raise TooComplex("nested too deeply")
    out: list[Tok] = []
    for node in nodes or []:
        if isinstance(node, LatexCharsNode):
            out.extend(Tok("sym", s) for s in re.findall(r"\d+(?:\.\d+)?|\S", node.chars))
        elif isinstance(node, LatexGroupNode):
            out.append(Tok("group", items=_tokens(node.nodelist, depth + 1)))
        elif isinstance(node, LatexMathNode):
            out.extend(_tokens(node.nodelist, depth + 1))
        elif isinstance(node, LatexMacroNode):
            if node.macroname == "\\":
                raise TooComplex("line breaks")
            args = getattr(node.nodeargd, "argnlist", None) or []
            parsed = [_tokens([a], depth + 1) for a in args if a is not None]
            # pylatexenc puts a group's content in the group; unwrap so args are token lists.
            parsed = [a[0].items if len(a) == 1 and a[0].kind == "group" else a for a in parsed]
            if node.macroname == "sqrt" and len(args) == 2 and args[0] is None:
                parsed = [[], *parsed]  # no index given
            out.append(Tok("macro", node.macroname, args=parsed))
        elif isinstance(node, LatexEnvironmentNode):
            raise TooComplex(f"environment {node.environmentname}")
        elif isinstance(node, LatexSpecialsNode) and node.specials_chars == "&":
            raise TooComplex("alignment")  # "~" and the other specials are only spacing
    return _take_args(out)


def _take_args(toks: list[Tok]) -> list[Tok]:
    """Give macros pylatexenc does not know their arguments from the following tokens."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        if tok.kind == "macro" and not tok.args:
            wanted = _ARGS.get(tok.value, 1 if _takes_one(tok.value) else 0)
            while wanted and i < len(toks):
                arg = toks[i]
                tok.args.append(arg.items if arg.kind == "group" else [arg])
                i += 1
                wanted -= 1
        out.append(tok)
    return out


def _takes_one(name: str) -> bool:
    return name in ACCENTS or name in FONT_MACROS or name in TEXT_MACROS or name in _DROP_FIRST


def _fences(toks: list[Tok]) -> list[Tok]:
    """Pair brackets into fence tokens (recursively), so "f(x)" can be read "f of x"."""
    out: list[Tok] = []
    stack: list[tuple[str, list[Tok]]] = []
    for tok in toks:
        if tok.kind == "group":
            tok = Tok("group", items=_fences(tok.items))
        elif tok.kind == "macro" and tok.args:
            tok = Tok("macro", tok.value, args=[_fences(a) for a in tok.args])
        key = tok.value if tok.kind == "sym" else "\\" + tok.value if tok.kind == "macro" else ""
        if key in _OPEN:
            stack.append((key, out))
            out = []
        elif key in _CLOSE and stack and _OPEN[stack[-1][0]] == key:
            opener, outer = stack.pop()
            outer.append(Tok("fence", opener, items=out, close=key))
            out = outer
        else:
            out.append(tok)
    while stack:  # unbalanced: keep the content, drop the lone bracket
        _, outer = stack.pop()
        out = outer + out
    return _bars(out)


def _bars(toks: list[Tok]) -> list[Tok]:
    """Two "|" in one list enclose an absolute value (two "\\|" a norm); a lone "|" reads
    "given"."""
    for kind, bar in (("sym", "|"), ("macro", "|")):
        bars = [i for i, t in enumerate(toks) if t.kind == kind and t.value == bar]
        if len(bars) == 2 and bars[1] > bars[0] + 1:
            a, b = bars
            fence = Tok("fence", "|" if kind == "sym" else "\\|", items=toks[a + 1 : b])
            toks = [*toks[:a], fence, *toks[b + 1 :]]
    return toks


# --- reading tokens ---------------------------------------------------------------------------


def _simple(toks: list[Tok]) -> bool:
    """What a listener takes as a unit: at most two words with no operator ("x", "12",
    "alpha", "x hat", "x 1", "partial L")."""
    spoken = _words(toks).split()
    return 0 < len(spoken) <= 2 and not any(w in _JOINERS for w in spoken)


def _words(toks: list[Tok]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        i += 1
        sub: list[Tok] | None = None
        sup: list[Tok] | None = None
        while i + 1 < len(toks) + 1 and i < len(toks) and toks[i].value in ("_", "^"):
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
        big = _big_operator(tok)
        if big:
            parts.append(_limits(big, sub, sup))
            continue
        base = _word(tok, parts)
        if sub is not None:
            base = f"{base} {_words(sub)}" if _simple(sub) else f"{base} sub {_words(sub)},"
        if sup is not None:
            base = f"{base} {_power(sup)}"
        parts.append(base)
    return re.sub(r"\s+", " ", " ".join(p for p in parts if p)).strip()


def _big_operator(tok: Tok) -> str:
    if tok.kind == "macro" and tok.value in BIG_OPERATORS:
        return tok.value
    if tok.kind == "macro" and tok.value == "operatorname" and tok.args:
        name = "".join(t.value for t in tok.args[0] if t.kind == "sym")
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
    if tok.kind == "fence":
        return _fence(tok, before)
    if tok.kind == "macro":
        return _macro(tok)
    value = tok.value
    if value == "-" and not before:
        return "minus"
    return CHAR_WORDS.get(value, value if value.isalnum() or value[:1].isdigit() else "")


def _fence(tok: Tok, before: list[str]) -> str:
    inner = _words(tok.items)
    if tok.value == "|":
        return f"the absolute value of {inner},"
    if tok.value == "\\{":
        return f"the set {inner},"
    if tok.value == "\\lfloor":
        return f"the floor of {inner},"
    if tok.value == "\\lceil":
        return f"the ceiling of {inner},"
    if tok.value == "\\|":
        return f"the norm of {inner},"
    previous = before[-1].split()[-1].strip(",") if before and before[-1].split() else ""
    if previous and (
        previous in _FUNCTION_LETTERS
        or previous in MACRO_WORDS.values()
        or previous in ("hat", "bar", "tilde", "star", "prime")
    ):
        return f"of {inner},"
    if len(tok.items) > 1 and before and previous != "of":
        # "n(n+1)": a product; "(a+b)" after an operator: a group.
        times = "times " if previous.isalnum() and previous not in _JOINERS else ""
        return f"{times}the quantity {inner},"
    return inner


def _macro(tok: Tok) -> str:
    name, args = tok.value, tok.args
    if name in SILENT_MACROS:
        return ""
    if name in _DROP_FIRST:
        return _words(args[1]) if len(args) > 1 else ""
    if name in ("frac", "dfrac", "tfrac", "cfrac") and len(args) == 2:
        return _fraction(args[0], args[1])
    if name == "binom" and len(args) == 2:
        return f"{_words(args[0])} choose {_words(args[1])}"
    if name == "sqrt":
        body = _words(args[-1]) if args else ""
        index = _words(args[0]) if len(args) == 2 else ""
        if not index:
            return f"the square root of {body},"
        if index == "3":
            return f"the cube root of {body},"
        root = ordinal_words(int(index)) if index.isdigit() else index
        return f"the {root} root of {body},"
    if name in ACCENTS:
        return ACCENTS[name].format(_words(args[0]) if args else "")
    if name in FONT_MACROS:
        return _words(args[0]) if args else ""
    if name in TEXT_MACROS:
        text = "".join(t.value if t.kind == "sym" else " " for t in args[0]) if args else ""
        return _text_words(text)
    if name in MACRO_WORDS:
        return MACRO_WORDS[name]
    if name in ("{", "}", "|", "%", "$", "#", "&", "_"):
        return {"|": ",", "%": "percent", "$": "dollars"}.get(name, "")
    # An unknown (often custom) macro: its name is usually a word or an abbreviation.
    return name if name.isalpha() else ""


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


def read_tex(tex: str) -> str:
    """Words for ``tex`` (math mode); raises TooComplex when it cannot be read well."""
    source = re.sub(r"^\s*(?:\\\(|\\\[|\$\$?)|(?:\\\)|\\\]|\$\$?)\s*$", "", tex)
    if len(source) > MAX_TEX_CHARS:
        raise TooComplex("too long")
    try:
        nodes, _, _ = LatexWalker(source, tolerant_parsing=True).get_latex_nodes()
        return _tidy(_words(_fences(_tokens(nodes))))
    except (LatexWalkerError, RecursionError, IndexError, ValueError, AttributeError) as exc:
        raise TooComplex(f"unparsable: {exc}") from exc


def speak_tex(tex: str) -> str:
    """Words for ``tex``, or "an equation" when it cannot be read well (never raises)."""
    try:
        return read_tex(tex) or EQUATION
    except TooComplex:
        return EQUATION
