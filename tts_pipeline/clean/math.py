"""Math elements in post HTML: MathJax 2 and 3, KaTeX, MathML and un-rendered TeX.

The TeX source is taken from the accessible label (``aria-label``, ``data-tex``, ``alttext``, a
TeX ``annotation``, a ``math/tex`` script), never from the glyph spans; MathML with no TeX at all
is converted to TeX first. Inline math is spoken in place. A displayed equation becomes its own
paragraph, introduced as "Equation: ..."; one too long or too structured to follow by ear is
spoken as a short stand-in, and its TeX kept as the segment's transcript text.
"""

from __future__ import annotations

import re
from typing import Any

from tts_pipeline.clean.reader import Reader
from tts_pipeline.clean.tex import EQUATION, MacroBook, TooComplex, read_tex
from tts_pipeline.clean.texmacros import DEFINES, prepare

Element = Any  # lxml.html.HtmlElement

DISPLAY_OMITTED = "A displayed equation is omitted."
MAX_DEFINITION_CHARS = 20_000
_MATH_CLASSES = frozenset({
    "math-tex", "mjpage", "mjx-chtml", "mjx-math", "MathJax", "MathJax_Display",
    "katex", "katex-display", "mjx-container",
})  # fmt: skip
_DISPLAY_CLASSES = frozenset({"mjpage__block", "MJXc-display", "MathJax_Display", "katex-display"})
_FUNCTIONS = frozenset(
    ["sin", "cos", "tan", "log", "ln", "exp", "max", "min", "lim", "sup", "inf", "det", "arg"]
)
_ACCENT_MARKS = {"^": "hat", "\u02c6": "hat", "\u00af": "bar", "\u203e": "bar", "~": "tilde",
                 "\u02dc": "tilde", "\u2192": "vec", "\u02d9": "dot", "\u00a8": "ddot"}  # fmt: skip
_TEX_SPECIALS = re.compile(r"([{}#%&$_^\\])")


def _classes(el: Element) -> set[str]:
    return set(str(el.get("class", "")).split())


def _tag(el: Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()  # MathML may carry its namespace


def is_math(el: Element) -> bool:
    tag = _tag(el)
    if tag in ("mjx-container", "math"):
        return True
    if tag == "script" and str(el.get("type", "")).startswith("math/tex"):
        # In-browser MathJax 2 keeps the source script after the rendered span: read once.
        previous = el.getprevious()
        return previous is None or not _classes(previous) & _MATH_CLASSES
    return bool(_classes(el) & _MATH_CLASSES)


def is_display(el: Element, tex: str) -> bool:
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if node.get("display") in ("true", "block") or _classes(node) & _DISPLAY_CLASSES:
            return True
        if "mode=display" in str(node.get("type", "")):
            return True
    return tex.lstrip().startswith(("\\[", "$$"))


def find_tex(el: Element) -> str:
    """The equation's TeX from its accessible label or annotation, or "" if it has none."""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        for attribute in ("data-tex", "aria-label", "alttext", "data-latex"):
            value = str(node.get(attribute) or "").strip()
            if value:
                return str(value)
        tag = _tag(node)
        if tag == "annotation" and "tex" in str(node.get("encoding", "")).lower():
            return str(node.text_content()).strip()
        if tag == "script" and str(node.get("type", "")).startswith("math/tex"):
            return str(node.text_content()).strip()
    if "math-tex" in _classes(el):  # un-rendered "\(x\)" as the span's text
        text = str(el.text_content()).strip()
        if text.startswith(("\\(", "\\[", "$")):
            return text
    return ""


def find_mathml(el: Element) -> Element | None:
    if _tag(el) == "math":
        return el
    return next((n for n in el.iter() if isinstance(n.tag, str) and _tag(n) == "math"), None)


def mathml_to_tex(el: Element) -> str:
    """MathML presentation markup as TeX (enough for ``read_tex``); TooComplex for tables."""
    tag = _tag(el)
    kids = [k for k in el if isinstance(k.tag, str)]
    args = [mathml_to_tex(k) for k in kids] if tag not in ("mi", "mn", "mo", "mtext") else []
    if tag in ("mi", "mn", "mo", "mtext", "ms"):
        text = (el.text_content() or "").strip().replace("\u2061", "").replace("\u2062", "")
        if tag == "mtext" or (tag == "mi" and len(text) > 1 and text not in _FUNCTIONS):
            return f"\\text{{{_escape(text)}}}"
        if tag == "mi" and text in _FUNCTIONS:
            return f"\\{text} "
        return _escape(text)
    if tag == "mfrac" and len(args) == 2:
        return f"\\frac{{{args[0]}}}{{{args[1]}}}"
    if tag == "msqrt":
        return f"\\sqrt{{{' '.join(args)}}}"
    if tag == "mroot" and len(args) == 2:
        return f"\\sqrt[{args[1]}]{{{args[0]}}}"
    if tag in ("msup", "msub", "munder", "mover") and len(args) == 2:
        if tag == "mover" and kids[1].text_content().strip() in _ACCENT_MARKS:
            return f"\\{_ACCENT_MARKS[kids[1].text_content().strip()]}{{{args[0]}}}"
        mark = "^" if tag in ("msup", "mover") else "_"
        return f"{{{args[0]}}}{mark}{{{args[1]}}}"
    if tag in ("msubsup", "munderover") and len(args) == 3:
        return f"{{{args[0]}}}_{{{args[1]}}}^{{{args[2]}}}"
    if tag in ("mtable", "mlabeledtr"):
        raise TooComplex("a MathML table")
    if tag == "semantics":
        return args[0] if args else ""
    if tag in ("annotation", "annotation-xml", "mphantom", "mspace", "none", "mprescripts"):
        return " "
    return " ".join(args)


def _escape(text: str) -> str:
    return _TEX_SPECIALS.sub(r"\\\1", text)


def spoken_math(el: Element, macros: MacroBook | None = None) -> tuple[str | None, str]:
    """(words, tex) for a math element; words is None when it cannot be read well, and ""
    when there is nothing to say (an equation that only defines macros)."""
    tex = find_tex(el)
    try:
        if not tex:
            mathml = find_mathml(el)
            if mathml is not None:
                tex = mathml_to_tex(mathml)
        return (read_tex(tex, macros) if tex.strip() else None), tex.strip()
    except (TooComplex, RecursionError):
        return None, tex.strip()


def collect_macros(body: Element, macros: MacroBook) -> None:
    """Record the macros every equation of the post defines, before any is read: MathJax
    knows them page-wide, and a footnote (read first) may use one defined in the text."""
    for el in body.iter():
        if isinstance(el.tag, str) and is_math(el):
            tex = find_tex(el)
            if len(tex) <= MAX_DEFINITION_CHARS and DEFINES.search(tex):
                prepare(tex, macros)


def read_math(reader: Reader, el: Element) -> None:
    words, tex = spoken_math(el, reader.macros)
    if words == "":
        return  # only definitions (or only spacing): nothing to say
    if not is_display(el, tex):
        reader.add_text(f" {words or EQUATION} ")
        return
    reader.flush()
    limit = reader.options.equation_max_words
    if words and len(words.split()) <= limit:
        reader.paragraph(f"Equation: {words}.")
    else:
        # Said briefly, but the transcript keeps the equation itself.
        source = re.sub(r"^\s*(?:\\\[|\$\$)|(?:\\\]|\$\$)\s*$", "", tex).strip()
        reader.paragraph(DISPLAY_OMITTED, display=f"\\[ {source} \\]" if source else None)
