"""TeX nodes (from pylatexenc) as the small token list that ``tex`` reads aloud.

Letters written together become one *name* token when they read as words (``karmaScore``,
``heads``; see ``mathnames``) and one token per letter otherwise (``xy`` is x times y). Macros
pylatexenc does not know take their arguments from the tokens after them; brackets are paired
into fences, so "f(x)" can be read "f of x".
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
)

from tts_pipeline.clean.mathnames import identifier_words
from tts_pipeline.clean.mathwords import ACCENTS, FONT_MACROS, TEXT_MACROS

ARGS = {"frac": 2, "dfrac": 2, "tfrac": 2, "cfrac": 2, "binom": 2, "dbinom": 2, "tbinom": 2,
        "sqrt": 1, "textcolor": 2, "overset": 2, "underset": 2, "stackrel": 2, "pmod": 1,
        "underbrace": 1, "overbrace": 1, "xrightarrow": 1, "xleftarrow": 1, "xmapsto": 1,
        "not": 1}  # fmt: skip
DROP_FIRST = frozenset({"label", "tag", "color", "phantom", "hphantom", "vphantom", "textcolor"})
OPEN = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle", "\\lfloor": "\\rfloor",
        "\\lceil": "\\rceil", "\\lvert": "\\rvert", "\\lVert": "\\rVert"}  # fmt: skip
_CLOSE = frozenset(OPEN.values())
_PIECES = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?|\S")


class TooComplex(Exception):
    """The TeX has structure (alignment, matrices) that does not survive being read aloud."""


@dataclass
class Tok:
    # "sym" (one letter, a digit string, an operator), "name" (letters read as words),
    # "macro", "group", "fence", "text"
    kind: str
    value: str = ""
    args: list[list[Tok]] = field(default_factory=list)
    items: list[Tok] = field(default_factory=list)
    close: str = ""  # fences: the closing delimiter


def _chars(chars: str) -> list[Tok]:
    out: list[Tok] = []
    for piece in _PIECES.findall(chars):
        if len(piece) > 1 and piece.isalpha():
            if identifier_words(piece) is not None:
                out.append(Tok("name", piece))
            else:
                out.extend(Tok("sym", letter) for letter in piece)
        else:
            out.append(Tok("sym", piece))
    return out


def tokens(nodes: list[LatexNode] | None, depth: int = 0) -> list[Tok]:
    if depth > 60:
        raise TooComplex("nested too deeply")
    out: list[Tok] = []
    for node in nodes or []:
        if isinstance(node, LatexCharsNode):
            out.extend(_chars(node.chars))
        elif isinstance(node, LatexGroupNode):
            out.append(Tok("group", items=tokens(node.nodelist, depth + 1)))
        elif isinstance(node, LatexMathNode):
            out.extend(tokens(node.nodelist, depth + 1))
        elif isinstance(node, LatexMacroNode):
            if node.macroname == "\\":
                raise TooComplex("line breaks")
            args = getattr(node.nodeargd, "argnlist", None) or []
            parsed = [tokens([a], depth + 1) for a in args if a is not None]
            # pylatexenc puts a group's content in the group; unwrap so args are token lists.
            parsed = [a[0].items if len(a) == 1 and a[0].kind == "group" else a for a in parsed]
            if node.macroname == "sqrt" and len(args) == 2 and args[0] is None:
                parsed = [[], *parsed]  # no index given
            if node.macroname in TEXT_MACROS and args and args[-1] is not None:
                parsed = [[Tok("text", _raw_text([args[-1]]))]]  # words keep their spaces
            out.append(Tok("macro", node.macroname, args=parsed))
        elif isinstance(node, LatexEnvironmentNode):
            raise TooComplex(f"environment {node.environmentname}")
        elif isinstance(node, LatexSpecialsNode) and node.specials_chars == "&":
            raise TooComplex("alignment")  # "~" and the other specials are only spacing
    return _take_args(out)


def _raw_text(nodes: list[LatexNode]) -> str:
    """The characters of text-mode nodes, a command standing for a space."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, LatexCharsNode):
            parts.append(node.chars)
        elif isinstance(node, LatexGroupNode):
            parts.append(_raw_text(node.nodelist or []))
        else:
            parts.append(" ")
    return "".join(parts)


def _take_args(toks: list[Tok]) -> list[Tok]:
    """Give macros pylatexenc does not know their arguments from the following tokens."""
    out: list[Tok] = []
    rest = list(toks)
    while rest:
        tok = rest.pop(0)
        if tok.kind == "macro" and not tok.args:
            wanted = ARGS.get(tok.value, 1 if _takes_one(tok.value) else 0)
            while wanted and rest:
                arg = rest.pop(0)
                if arg.kind in ("sym", "name") and len(arg.value) > 1:
                    # TeX takes one character: "\frac12" is 1 over 2.
                    rest[:0] = _chars(arg.value[1:])
                    arg = Tok("sym", arg.value[0])
                tok.args.append(arg.items if arg.kind == "group" else [arg])
                wanted -= 1
        out.append(tok)
    return out


def _takes_one(name: str) -> bool:
    return name in ACCENTS or name in FONT_MACROS or name in TEXT_MACROS or name in DROP_FIRST


def fences(toks: list[Tok]) -> list[Tok]:
    """Pair brackets into fence tokens (recursively), so "f(x)" can be read "f of x"."""
    out: list[Tok] = []
    stack: list[tuple[str, list[Tok]]] = []
    for tok in toks:
        if tok.kind == "group":
            tok = Tok("group", items=fences(tok.items))
        elif tok.kind == "macro" and tok.args:
            tok = Tok("macro", tok.value, args=[fences(a) for a in tok.args])
        key = tok.value if tok.kind == "sym" else "\\" + tok.value if tok.kind == "macro" else ""
        if key in OPEN:
            stack.append((key, out))
            out = []
        elif key in _CLOSE and stack and OPEN[stack[-1][0]] == key:
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
    for kind, bar in (("sym", "|"), ("macro", "|"), ("macro", "vert"), ("macro", "Vert")):
        bars = [i for i, t in enumerate(toks) if t.kind == kind and t.value == bar]
        if len(bars) == 2 and bars[1] > bars[0] + 1:
            a, b = bars
            norm = kind == "macro" and bar != "vert"
            fence = Tok("fence", "\\|" if norm else "|", items=toks[a + 1 : b])
            toks = [*toks[:a], fence, *toks[b + 1 :]]
    return toks
