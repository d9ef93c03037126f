"""TeX source made ready to read: the post's own macros expanded, layout commands removed.

MathJax keeps a macro defined in one equation (``\\newcommand``, ``\\renewcommand``,
``\\providecommand``, ``\\DeclareMathOperator``, ``\\def``, ``\\let``) for every later equation
of the page, so the definitions are collected into a ``MacroBook`` that one post's equations
share, removed from the source, and each later use is replaced by its body with its arguments
(``#1`` .. ``#9``, an optional first one with its default) put in. Spacing commands go with
their dimensions (``\\kern-7mu``, ``\\hspace{1cm}``, ``\\mskip 3mu plus 1mu``), so a unit is
never read as a word ("mu", "em"); invisible or presentational commands go with the arguments
that are not content (``\\phantom{x}``, the colour of ``\\textcolor{red}{x}``, the address of
``\\href{url}{text}``); ``\\verb|...|`` becomes text.

>>> prepare(r"\\newcommand{\\norm}[1]{\\lVert #1 \\rVert} \\norm{x}\\kern-7mu")
' \\\\lVert x \\\\rVert'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_EXPANSIONS = 400  # a macro that expands to itself must not hang the reader
MAX_SOURCE = 20_000  # nor one that doubles the source at each use

_CONTROL = re.compile(r"\\([A-Za-z]+|[^A-Za-z])")
_DIMENSION = (
    r"[-+]?\s*(?:\d+(?:\.\d*)?|\.\d+)\s*"
    r"(?:mu|em|ex|pt|px|cm|mm|in|bp|pc|dd|cc|sp|fil{1,3}|true\s*(?:pt|cm|mm|in))"
)
_GLUE = re.compile(rf"\s*=?\s*(?:\{{[^{{}}]*\}}|{_DIMENSION}(?:\s*plus\s*{_DIMENSION})?"
                   rf"(?:\s*minus\s*{_DIMENSION})?)")  # fmt: skip
# Commands followed by a bare dimension (TeX primitives and their math-unit twins).
_DIMENSIONED = frozenset({"kern", "mkern", "hskip", "mskip", "vskip", "moveleft", "moveright",
                          "raise", "lower"})  # fmt: skip
# Commands whose first arguments are not content: how many (after any [optional] ones).
_DROPPED_ARGS = {
    "hspace": 1, "vspace": 1, "mspace": 1, "phantom": 1, "hphantom": 1, "vphantom": 1,
    "label": 1, "tag": 1, "eqref": 1, "ref": 1, "require": 1, "color": 1, "textcolor": 1,
    "colorbox": 1, "fcolorbox": 2, "href": 1, "url": 1, "class": 1, "cssId": 1, "style": 1,
    "rule": 2, "raisebox": 1, "scalebox": 1, "resizebox": 2, "rotatebox": 1, "unicode": 1,
    "setlength": 2, "addtolength": 2, "newlength": 1, "setcounter": 2, "Space": 3,
    "newenvironment": 3, "renewenvironment": 3, "includegraphics": 1, "smash": 0, "bbox": 0,
    "enclose": 1, "mathchoice": 3,
}  # fmt: skip
_STARRED = frozenset({"operatorname", "hspace", "vspace", "tag", "text", "mbox", "bbox",
                      "boxed", "substack", "sqrt", "frac"})  # fmt: skip
_DEFINERS = frozenset({"newcommand", "renewcommand", "providecommand", "DeclareRobustCommand",
                       "DeclareMathOperator", "def", "gdef", "edef", "xdef", "let"})  # fmt: skip
# Every command this module removes, for the reader of running text.
LAYOUT_COMMANDS = frozenset({*_DIMENSIONED, *_DROPPED_ARGS, *_DEFINERS, "verb"})
DEFINES = re.compile(
    r"\\(?:newcommand|renewcommand|providecommand|DeclareRobustCommand"
    r"|DeclareMathOperator|[gex]?def|let)(?![A-Za-z])"
)
_TEX_SPECIALS = re.compile(r"([{}#%&$_^\\~])")


@dataclass
class Macro:
    """A macro the post defines: how many arguments, its body, the first one's default."""

    nargs: int
    body: str
    default: str | None = None


@dataclass
class MacroBook:
    """The macros one post has defined so far (MathJax keeps them for the whole page)."""

    macros: dict[str, Macro] = field(default_factory=dict)


# --- scanning ---------------------------------------------------------------------------------


def _skip_space(src: str, i: int) -> int:
    while i < len(src) and src[i] in " \t\r\n":
        i += 1
    return i


def _group_end(src: str, i: int, opening: str = "{", closing: str = "}") -> int | None:
    """The index after the group opening at ``src[i]``, or None when it never closes."""
    depth = 0
    j = i
    while j < len(src):
        ch = src[j]
        if ch == "\\":
            j += 2
            continue
        if ch == opening:
            depth += 1
        elif ch == closing:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return None


def _argument(src: str, i: int) -> tuple[str, int] | None:
    """One argument at ``i``: a brace group's content, a control sequence or one character."""
    i = _skip_space(src, i)
    if i >= len(src) or src[i] == "}":
        return None
    if src[i] == "{":
        end = _group_end(src, i)
        return None if end is None else (src[i + 1 : end - 1], end)
    if src[i] == "\\":
        found = _CONTROL.match(src, i)
        return None if found is None else (found.group(0), found.end())
    return src[i], i + 1


def _optional(src: str, i: int) -> tuple[str | None, int]:
    """An ``[optional]`` argument at ``i`` (its content and the index after it), if any."""
    j = _skip_space(src, i)
    if j >= len(src) or src[j] != "[":
        return None, i
    depth = 0
    k = j + 1
    while k < len(src):
        ch = src[k]
        if ch == "\\":
            k += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "]" and depth <= 0:
            return src[j + 1 : k], k + 1
        k += 1
    return None, i


def _control_name(text: str) -> str | None:
    found = _CONTROL.fullmatch(text.strip())
    return found.group(1) if found else None


# --- definitions ------------------------------------------------------------------------------


def _define(src: str, command: str, i: int, book: MacroBook) -> int | None:
    """Register the definition whose command ends at ``i``; the index after it (None: not a
    definition after all, so the command is left for the reader to drop)."""
    if src.startswith("*", i):
        i += 1
    if command == "let":
        return _define_let(src, i, book)
    if command in ("def", "gdef", "edef", "xdef"):
        return _define_def(src, i, book)
    target = _argument(src, i)
    if target is None or _control_name(target[0]) is None:
        return None
    name, i = str(_control_name(target[0])), target[1]
    if command == "DeclareMathOperator":
        text = _argument(src, i)
        if text is None:
            return None
        book.macros[name] = Macro(0, f"\\operatorname{{{text[0]}}}")
        return text[1]
    count, i = _optional(src, i)
    default, i = _optional(src, i) if count is not None else (None, i)
    body = _argument(src, i)
    if body is None:
        return None
    nargs = int(count.strip()) if count and count.strip().isdigit() else 0
    if command != "providecommand" or name not in book.macros:
        book.macros[name] = Macro(min(nargs, 9), body[0], default)
    return body[1]


def _define_def(src: str, i: int, book: MacroBook) -> int | None:
    found = _CONTROL.match(src, _skip_space(src, i))
    if found is None:
        return None
    brace = src.find("{", found.end())
    if brace < 0:
        return None
    params = src[found.end() : brace]
    end = _group_end(src, brace)
    if end is None or not re.fullmatch(r"(?:\s*#\d)*\s*", params):
        return None
    book.macros[found.group(1)] = Macro(len(re.findall(r"#\d", params)), src[brace + 1 : end - 1])
    return end


def _define_let(src: str, i: int, book: MacroBook) -> int | None:
    found = _CONTROL.match(src, _skip_space(src, i))
    if found is None:
        return None
    j = _skip_space(src, found.end())
    j = _skip_space(src, j + 1) if src.startswith("=", j) else j
    target = _argument(src, j)
    if target is None:
        return None
    previous = book.macros.get(str(_control_name(target[0])))
    book.macros[found.group(1)] = previous or Macro(0, target[0])
    return target[1]


# --- uses -------------------------------------------------------------------------------------


def _join(left: str, right: str) -> str:
    """``left + right``, with a space where a control word would otherwise swallow a letter."""
    if right[:1].isalpha() and re.search(r"\\[A-Za-z]+$", left):
        return f"{left} {right}"
    return left + right


def _expand(src: str, i: int, macro: Macro) -> tuple[str, int] | None:
    """The body of ``macro`` used at ``i`` (just after its name) and the index after its
    arguments; None when they are missing."""
    args: list[str] = []
    if macro.default is not None and macro.nargs:
        first, i = _optional(src, i)
        args.append(macro.default if first is None else first)
    while len(args) < macro.nargs:
        arg = _argument(src, i)
        if arg is None:
            return None
        args.append(arg[0])
        i = arg[1]
    pieces = re.split(r"(##|#[1-9])", macro.body)
    text = ""
    for piece in pieces:
        if piece == "##":
            text += "#"
        elif re.fullmatch(r"#[1-9]", piece):
            number = int(piece[1]) - 1
            text = _join(text, args[number] if number < len(args) else "")
        else:
            text = _join(text, piece)
    return text, i


def _skip_arguments(src: str, i: int, count: int) -> int:
    _, i = _optional(src, i)
    for _ in range(count):
        arg = _argument(src, i)
        if arg is None:
            break
        i = arg[1]
        _, i = _optional(src, i)
    return i


def _verb(src: str, i: int) -> tuple[str, int]:
    """``\\verb|...|`` (at ``i``, after "verb") as text; the index after it."""
    if src.startswith("*", i):
        i += 1
    if i >= len(src) or src[i].isalpha() or src[i].isspace():
        return "", i
    end = src.find(src[i], i + 1)
    if end < 0:
        return "", len(src)
    # Shown code: its words are read, but a command written in it is still not said.
    shown = re.sub(r"\\[A-Za-z]+", " ", src[i + 1 : end])
    return f"\\text{{{_TEX_SPECIALS.sub(' ', shown)}}}", end + 1


def prepare(source: str, book: MacroBook | None = None) -> str:
    """``source`` with its definitions recorded in ``book`` (a fresh one if None) and removed,
    the uses of the book's macros expanded, and layout commands dropped with their arguments."""
    book = book if book is not None else MacroBook()
    out: list[str] = []
    src, i, expansions = source, 0, 0
    while i < len(src):
        slash = src.find("\\", i)
        if slash < 0:
            out.append(src[i:])
            break
        out.append(src[i:slash])
        found = _CONTROL.match(src, slash)
        if found is None:  # a lone backslash at the end
            break
        name, end = found.group(1), found.end()
        if name in _STARRED and src.startswith("*", end):
            src = src[:end] + src[end + 1 :]  # starred forms read the same
        after: int | None = None
        if name in _DEFINERS:
            after = _define(src, name, end, book)
        elif name in book.macros and expansions < MAX_EXPANSIONS and len(src) < MAX_SOURCE:
            used = _expand(src, end, book.macros[name])
            if used is not None:
                expansions += 1
                src, i = _join(used[0], src[used[1] :]), 0
                continue
        elif name == "verb":
            text, after = _verb(src, end)
            out.append(text)
        elif name in _DIMENSIONED:
            glue = _GLUE.match(src, end)
            after = glue.end() if glue and glue.group(0).strip() else end
        elif name in _DROPPED_ARGS:
            after = _skip_arguments(src, end, _DROPPED_ARGS[name])
            out.append(" ")
        if after is None:  # left for the reader; a space keeps a later expansion apart
            out.append(found.group(0) + (" " if name.isalpha() else ""))
            after = end
        i = after
    return "".join(out)
