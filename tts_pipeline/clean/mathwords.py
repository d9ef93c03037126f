"""Spoken words for math symbols, shared by the TeX reader, the MathML reader and the text
normaliser (which meets the same symbols as Unicode in running text).

Keys are TeX macro names (without the backslash) and Unicode characters; both map to words.
"""

from __future__ import annotations

GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
]
_GREEK_LOWER = "αβγδεζηθικλμνξοπρστυφχψω"
_GREEK_UPPER = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"

# name -> words; Greek first (lower and "capital" upper case, plus TeX's variants).
MACRO_WORDS: dict[str, str] = {name: name for name in GREEK}
MACRO_WORDS.update({name.capitalize(): f"capital {name}" for name in GREEK})
MACRO_WORDS.update({
    "varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varpi": "pi",
    "varrho": "rho", "varsigma": "sigma", "varkappa": "kappa", "digamma": "digamma",
    # operators
    "cdot": "times", "times": "times", "div": "divided by", "pm": "plus or minus",
    "mp": "minus or plus", "ast": "star", "star": "star", "circ": "composed with",
    "oplus": "direct sum", "otimes": "tensor", "odot": "dot", "setminus": "minus",
    "cup": "union", "cap": "intersection", "wedge": "and", "land": "and", "vee": "or",
    "lor": "or", "neg": "not", "lnot": "not",
    # relations
    "le": "is less than or equal to", "leq": "is less than or equal to",
    "leqslant": "is less than or equal to", "ge": "is greater than or equal to",
    "geq": "is greater than or equal to", "geqslant": "is greater than or equal to",
    "lt": "is less than", "gt": "is greater than", "ne": "is not equal to",
    "neq": "is not equal to", "approx": "is approximately", "simeq": "is approximately",
    "sim": "is distributed as", "cong": "is congruent to", "equiv": "is equivalent to",
    "propto": "is proportional to", "ll": "is much less than", "gg": "is much greater than",
    "in": "in", "notin": "not in", "ni": "contains", "subset": "is a subset of",
    "subseteq": "is a subset of", "supset": "is a superset of", "supseteq": "is a superset of",
    "perp": "is perpendicular to", "parallel": "is parallel to", "mid": "given",
    "vert": "given", "models": "models", "vdash": "proves", "to": "to", "mapsto": "maps to",
    "rightarrow": "to", "longrightarrow": "to", "leftarrow": "from", "gets": "from",
    "Rightarrow": "implies", "implies": "implies", "Longrightarrow": "implies",
    "Leftarrow": "is implied by", "impliedby": "is implied by", "iff": "if and only if",
    "Leftrightarrow": "if and only if", "leftrightarrow": "if and only if",
    "forall": "for all", "exists": "there exists", "nexists": "there is no",
    "therefore": "therefore", "because": "because",
    # constants and symbols
    "infty": "infinity", "partial": "partial", "nabla": "nabla", "emptyset": "the empty set",
    "varnothing": "the empty set", "ell": "ell", "hbar": "h bar", "aleph": "aleph",
    "Re": "the real part of", "Im": "the imaginary part of", "angle": "angle",
    "ldots": "dot dot dot", "cdots": "dot dot dot", "dots": "dot dot dot",
    "vdots": "dot dot dot", "ddots": "dot dot dot", "prime": "prime", "dagger": "dagger",
    "top": "top", "bot": "bottom", "deg": "degrees", "checkmark": "check",
    # functions
    "sin": "sine", "cos": "cosine", "tan": "tangent", "cot": "cotangent", "sec": "secant",
    "csc": "cosecant", "arcsin": "arc sine", "arccos": "arc cosine", "arctan": "arc tangent",
    "sinh": "hyperbolic sine", "cosh": "hyperbolic cosine", "tanh": "tanh", "log": "log",
    "ln": "natural log", "lg": "log", "exp": "exp", "det": "determinant", "dim": "dimension",
    "ker": "kernel", "gcd": "g c d", "Pr": "probability", "Var": "variance", "tr": "trace",
    "Tr": "trace", "sgn": "sign", "softmax": "softmax", "KL": "K L",
})  # fmt: skip

# Big operators: how they read before their limits ("the sum from ... to ... of").
BIG_OPERATORS: dict[str, str] = {
    "sum": "the sum", "prod": "the product", "coprod": "the coproduct",
    "int": "the integral", "iint": "the double integral", "iiint": "the triple integral",
    "oint": "the contour integral", "bigcup": "the union", "bigcap": "the intersection",
    "bigoplus": "the direct sum", "bigotimes": "the tensor product", "lim": "the limit",
    "limsup": "the limit superior", "liminf": "the limit inferior", "max": "the maximum",
    "min": "the minimum", "sup": "the supremum", "inf": "the infimum", "argmax": "the arg max",
    "argmin": "the arg min", "arg": "the argument", "E": "the expectation",
}  # fmt: skip

# Unicode characters seen in MathML and running text.
CHAR_WORDS: dict[str, str] = {
    "+": "plus", "-": "minus", "\u2212": "minus", "=": "equals", "<": "is less than",
    ">": "is greater than", "*": "times", "/": "over", "!": "factorial", "'": "prime",
    "\u2032": "prime", "\u2033": "double prime", "|": "given", ",": ",", ";": ",", ":": ",",
    ".": ".", "?": "?", "%": "percent",
    "\u2264": "is less than or equal to", "\u2265": "is greater than or equal to",
    "\u2260": "is not equal to", "\u2248": "is approximately", "\u2243": "is approximately",
    "\u223c": "is distributed as", "\u2261": "is equivalent to", "\u221d": "is proportional to",
    "\u226a": "is much less than", "\u226b": "is much greater than", "\u00d7": "times",
    "\u22c5": "times", "\u00b7": "times", "\u00f7": "divided by", "\u00b1": "plus or minus",
    "\u2213": "minus or plus", "\u2218": "composed with", "\u2208": "in", "\u2209": "not in",
    "\u2282": "is a subset of", "\u2286": "is a subset of", "\u2283": "is a superset of",
    "\u2287": "is a superset of", "\u222a": "union", "\u2229": "intersection",
    "\u2227": "and", "\u2228": "or", "\u00ac": "not", "\u2200": "for all",
    "\u2203": "there exists", "\u2204": "there is no", "\u2192": "to", "\u27f6": "to",
    "\u21a6": "maps to", "\u2190": "from", "\u21d2": "implies", "\u27f9": "implies",
    "\u21d0": "is implied by", "\u21d4": "if and only if", "\u27fa": "if and only if",
    "\u2194": "if and only if", "\u221e": "infinity", "\u2202": "partial", "\u2207": "nabla",
    "\u2205": "the empty set", "\u2113": "ell", "\u210f": "h bar", "\u2026": "dot dot dot",
    "\u22ef": "dot dot dot", "\u2234": "therefore", "\u2235": "because", "\u22a5": "bottom",
    "\u22a4": "top", "\u2020": "dagger", "\u00b0": "degrees", "\u2225": "is parallel to",
    "\u2211": "the sum", "\u220f": "the product", "\u222b": "the integral",
    "\u221a": "the square root of", "\u2115": "N", "\u2124": "Z", "\u211a": "Q", "\u211d": "R",
    "\u2102": "C", "\U0001d53c": "E", "\u2119": "P",
}  # fmt: skip
CHAR_WORDS.update(zip(_GREEK_LOWER, GREEK, strict=True))
CHAR_WORDS.update((ch, f"capital {name}") for ch, name in zip(_GREEK_UPPER, GREEK, strict=True))
CHAR_WORDS.update({"\u03d5": "phi", "\u03f5": "epsilon", "\u03d1": "theta", "\u03c2": "sigma"})

# Unicode characters that stand for a big operator, by the TeX name they behave like.
CHAR_BIG_OPERATORS = {"\u2211": "sum", "\u220f": "prod", "\u222b": "int", "\u222e": "oint"}

ACCENTS: dict[str, str] = {
    "hat": "{} hat", "widehat": "{} hat", "bar": "{} bar", "overline": "{} bar",
    "tilde": "{} tilde", "widetilde": "{} tilde", "vec": "vector {}", "dot": "{} dot",
    "ddot": "{} double dot", "underline": "{}", "check": "{} check", "breve": "{} breve",
    "mathring": "{} ring", "overrightarrow": "vector {}",
}  # fmt: skip

# Macros whose argument is read as it is: fonts, text and named operators.
FONT_MACROS = frozenset(
    [
        "mathbb",
        "mathcal",
        "mathbf",
        "mathit",
        "mathsf",
        "mathfrak",
        "mathscr",
        "mathrm",
        "mathtt",
        "boldsymbol",
        "bm",
        "pmb",
        "mathnormal",
    ]
)
TEXT_MACROS = frozenset(
    ["text", "textrm", "textit", "textbf", "textsf", "texttt", "mbox", "hbox", "operatorname"]
)
# Layout only: never spoken.
SILENT_MACROS = frozenset(
    [
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "biggl",
        "biggr",
        "middle",
        "displaystyle",
        "textstyle",
        "scriptstyle",
        "scriptscriptstyle",
        "limits",
        "nolimits",
        "quad",
        "qquad",
        ",",
        ";",
        ":",
        "!",
        ">",
        "space",
        "enspace",
        "thinspace",
        "medspace",
        "thickspace",
        "negthinspace",
        "nonumber",
        "notag",
        "label",
        "tag",
        "color",
        "phantom",
        "hphantom",
        "vphantom",
        "mathstrut",
        "strut",
        "rm",
        "bf",
        "it",
        "cal",
        "sf",
        "tt",
        "scriptsize",
        "small",
        "normalsize",
        "large",
        "Large",
        "displaylimits",
    ]
)
