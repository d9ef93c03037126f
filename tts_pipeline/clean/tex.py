"""A minimal verbalisation of TeX, enough that no brace or backslash is ever read aloud.

MathJax keeps an equation's TeX source in ``aria-label``/``data-tex``; this turns it into words
("x squared plus y squared equals z squared"). It is deliberately small: a richer reader
(e.g. MathSpeak via Speech Rule Engine) can replace ``speak_tex`` without touching the walker.
"""

from __future__ import annotations

import re

_TEX_WORDS = {
    "cdot": "times", "times": "times", "le": "less than or equal to",
    "leq": "less than or equal to", "ge": "greater than or equal to",
    "geq": "greater than or equal to", "ne": "not equal to", "neq": "not equal to",
    "approx": "approximately", "infty": "infinity", "to": "to", "rightarrow": "to",
    "sum": "the sum of", "prod": "the product of", "int": "the integral of", "in": "in",
    "pm": "plus or minus", "ldots": "dot dot dot", "cdots": "dot dot dot", "dots": "dot dot dot",
    "sim": "tilde", "propto": "proportional to", "mid": "given",
}  # fmt: skip
_TEX_SILENT = frozenset({
    "left", "right", "big", "Big", "bigg", "Bigg", "displaystyle", "textstyle", "limits",
    "nolimits", "quad", "qquad", "hat", "bar", "vec", "tilde", "dot", "mathrm", "mathbf",
    "mathit", "mathbb", "mathcal", "mathsf", "mathfrak", "text", "textrm", "textbf", "textit",
    "operatorname", "boldsymbol",
})  # fmt: skip
_TEX_SYMBOLS = {
    "=": " equals ", "+": " plus ", "-": " minus ", "<": " less than ", ">": " greater than ",
    "*": " times ", "/": " over ",
}  # fmt: skip


def speak_tex(tex: str) -> str:
    """A minimal verbalisation of TeX: enough to avoid reading braces and backslashes."""
    text = re.sub(r"\\[()\[\]]|\$", " ", tex)
    for _ in range(3):  # unwrap nested \frac / \sqrt from the inside out
        text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r" \1 over \2 ", text)
        text = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r" the square root of \1 ", text)
    # "\sum_i x" -> "the sum over i of x", before "_" becomes "sub".
    text = re.sub(
        r"\\(sum|prod)\s*_\s*(\{[^{}]*\}|\w)",
        lambda m: f" the {'sum' if m.group(1) == 'sum' else 'product'} over {m.group(2)} of ",
        text,
    )
    text = re.sub(r"\^\s*\{?\s*2\s*\}?(?![\w{])", " squared ", text)
    text = re.sub(r"\^\s*\{?\s*3\s*\}?(?![\w{])", " cubed ", text)
    text = re.sub(r"\^", " to the power of ", text)
    text = re.sub(r"_", " sub ", text)

    def command(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _TEX_SILENT:
            return " "
        return f" {_TEX_WORDS.get(name, name)} "

    text = re.sub(r"\\([A-Za-z]+)", command, text)
    text = re.sub(r"[=+\-<>*/]", lambda m: _TEX_SYMBOLS[m.group(0)], text)
    text = re.sub(r"\\[,;:! ]|[{}\\&~#^_|]", " ", text)
    text = re.sub(r"([(\[])\s+|\s+([)\]])", lambda m: m.group(1) or m.group(2), text)
    return re.sub(r"\s+", " ", text).strip()
