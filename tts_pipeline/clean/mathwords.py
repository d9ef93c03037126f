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

# More relations, arrows, operators and symbols (AMS and MathJax names), read by meaning.
MACRO_WORDS.update({
    "lesssim": "is less than or about", "lessapprox": "is less than or about",
    "gtrsim": "is greater than or about", "gtrapprox": "is greater than or about",
    "leqq": "is less than or equal to", "geqq": "is greater than or equal to",
    "lneq": "is less than", "gneq": "is greater than", "lneqq": "is less than",
    "gneqq": "is greater than", "nless": "is not less than", "ngtr": "is not greater than",
    "nleq": "is not less than or equal to", "ngeq": "is not greater than or equal to",
    "lll": "is very much less than", "ggg": "is very much greater than",
    "prec": "precedes", "preceq": "precedes or equals", "preccurlyeq": "precedes or equals",
    "precsim": "precedes or is about", "nprec": "does not precede", "succ": "succeeds",
    "succeq": "succeeds or equals", "succcurlyeq": "succeeds or equals",
    "succsim": "succeeds or is about", "nsucc": "does not succeed",
    "subsetneq": "is a proper subset of", "supsetneq": "is a proper superset of",
    "nsubseteq": "is not a subset of", "nsupseteq": "is not a superset of",
    "sqsubset": "is a subset of", "sqsubseteq": "is a subset of", "sqsupset": "is a superset of",
    "sqsupseteq": "is a superset of", "Subset": "is a subset of", "Supset": "is a superset of",
    "owns": "contains", "nmid": "does not divide", "nparallel": "is not parallel to",
    "nsim": "is not similar to", "ncong": "is not congruent to", "asymp": "is asymptotic to",
    "approxeq": "is approximately", "thicksim": "is distributed as", "backsim": "is similar to",
    "thickapprox": "is approximately", "doteq": "is approximately equal to",
    "bumpeq": "is approximately", "Bumpeq": "is approximately", "eqsim": "is approximately",
    "coloneqq": "is defined as", "coloneq": "is defined as", "eqqcolon": "is defined as",
    "triangleq": "is defined as", "defeq": "is defined as", "eqdef": "is defined as",
    "vDash": "models", "Vdash": "forces", "nvdash": "does not prove", "nvDash": "does not model",
    "dashv": "is proved by", "lhd": "is a normal subgroup of", "unlhd": "is a normal subgroup of",
    "triangleleft": "is a normal subgroup of", "trianglelefteq": "is a normal subgroup of",
    "varpropto": "is proportional to", "smile": "", "frown": "",
    # arrows
    "uparrow": "up arrow", "downarrow": "down arrow", "Uparrow": "up arrow",
    "Downarrow": "down arrow", "updownarrow": "up down arrow", "Updownarrow": "up down arrow",
    "nearrow": "north east arrow", "searrow": "south east arrow",
    "swarrow": "south west arrow", "nwarrow": "north west arrow", "longleftarrow": "from",
    "Longleftarrow": "is implied by", "longleftrightarrow": "if and only if",
    "Longleftrightarrow": "if and only if", "longmapsto": "maps to", "mapsfrom": "maps from",
    "hookrightarrow": "embeds in", "hookleftarrow": "from", "twoheadrightarrow": "maps onto",
    "rightarrowtail": "injects into", "rightsquigarrow": "leads to", "leadsto": "leads to",
    "rightharpoonup": "to", "rightharpoondown": "to", "leftharpoonup": "from",
    "rightleftharpoons": "is in equilibrium with", "leftrightarrows": "to and from",
    "rightleftarrows": "to and from", "rightrightarrows": "to", "leftleftarrows": "from",
    "nrightarrow": "does not go to", "nleftarrow": "does not come from",
    "nRightarrow": "does not imply", "nLeftarrow": "is not implied by",
    "nLeftrightarrow": "is not equivalent to", "nleftrightarrow": "is not equivalent to",
    "Rrightarrow": "implies", "Lleftarrow": "is implied by", "curvearrowright": "to",
    "circlearrowright": "", "circlearrowleft": "", "upuparrows": "up arrows",
    "downdownarrows": "down arrows", "restriction": "restricted to", "multimap": "to",
    # operators
    "bullet": "times", "centerdot": "times", "cdotp": "times", "amalg": "coproduct",
    "uplus": "disjoint union", "sqcup": "disjoint union", "sqcap": "meet",
    "ominus": "circled minus", "oslash": "circled slash", "circledast": "circled star",
    "circledcirc": "circled circle", "boxplus": "box plus", "boxtimes": "box times",
    "boxminus": "box minus", "boxdot": "box dot", "dotplus": "dot plus",
    "ltimes": "semidirect product", "rtimes": "semidirect product", "wr": "wreath",
    "barwedge": "nand", "veebar": "xor", "curlywedge": "and", "curlyvee": "or",
    "smallsetminus": "minus", "backslash": "minus", "divideontimes": "divided by",
    "intercal": "transpose", "bigcirc": "circle", "diamond": "diamond", "triangle": "triangle",
    "bmod": "mod", "mod": "mod", "over": "over", "atop": "over", "above": "over",
    "choose": "choose", "colon": ",", "And": "and", "lvert": "", "rvert": "", "lVert": "",
    "rVert": "", "Vert": "",
    # symbols and functions
    "ddagger": "double dagger", "imath": "i", "jmath": "j", "wp": "p", "complement": "complement",
    "surd": "root", "square": "square", "Box": "box", "blacksquare": "", "qed": "",
    "lozenge": "", "blacklozenge": "", "bigstar": "star", "sharp": "sharp", "flat": "flat",
    "natural": "natural", "clubsuit": "clubs", "diamondsuit": "diamonds", "heartsuit": "hearts",
    "spadesuit": "spades", "mho": "mho", "beth": "beth", "gimel": "gimel", "daleth": "daleth",
    "eth": "eth", "Finv": "", "Game": "", "varkappa": "kappa", "varGamma": "capital gamma",
    "upalpha": "alpha", "upbeta": "beta", "upmu": "mu", "uppi": "pi", "S": "section",
    "pounds": "pounds", "euro": "euros", "yen": "yen", "copyright": "copyright",
    "degree": "degrees", "circ": "composed with", "dotsc": "dot dot dot", "dotsb": "dot dot dot",
    "dotsm": "dot dot dot", "dotsi": "dot dot dot", "dotso": "dot dot dot",
    "mathellipsis": "dot dot dot", "arcsec": "arc secant", "arccot": "arc cotangent",
    "coth": "hyperbolic cotangent", "sech": "hyperbolic secant", "csch": "hyperbolic cosecant",
    "hom": "hom", "Hom": "hom", "lcm": "l c m", "rank": "rank", "diag": "diag",
    "sign": "sign", "Cov": "covariance", "cov": "covariance", "var": "variance",
    "E": "E", "R": "R", "N": "N", "Z": "Z", "Q": "Q", "C": "C", "P": "P", "F": "F",
    "eps": "epsilon", "vareps": "epsilon", "abs": "the absolute value of",
    "norm": "the norm of", "argmax": "arg max", "argmin": "arg min",
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
    "bigvee": "the disjunction", "bigwedge": "the conjunction", "biguplus": "the disjoint union",
    "bigsqcup": "the disjoint union", "bigodot": "the product", "intop": "the integral",
    "smallint": "the integral", "oiint": "the surface integral", "iiiint": "the integral",
    "idotsint": "the integral", "varlimsup": "the limit superior",
    "varliminf": "the limit inferior", "injlim": "the direct limit",
    "projlim": "the inverse limit",
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
    "mathring": "{} ring", "overrightarrow": "vector {}", "acute": "{} acute",
    "grave": "{} grave", "dddot": "{} triple dot", "ddddot": "{} quadruple dot",
    "overleftarrow": "{} with a left arrow", "overleftrightarrow": "vector {}",
    "underrightarrow": "vector {}", "underleftarrow": "{} with a left arrow",
    "widecheck": "{} check", "utilde": "{} tilde", "overparen": "{} arc", "overgroup": "{} arc",
    "cancel": "{} cancelled", "bcancel": "{} cancelled", "xcancel": "{} cancelled",
    "cancelto": "{} cancelled", "sout": "{} struck out", "pmod": "modulo {}",
}  # fmt: skip


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Macros whose argument is read as it is: fonts, text and named operators.
FONT_MACROS = _names(
    """
    mathbb mathcal mathbf mathit mathsf mathfrak mathscr mathrm mathtt boldsymbol bm pmb
    mathnormal mathsfit mathbfit Bbb bold mathbold bbox boxed fbox framebox mathop mathrel
    mathbin mathord mathpunct mathinner mathopen mathclose smash mathrlap mathllap mathclap
    rlap llap clap underline emph textnormal textup textsl textmd textsc vcenter
    """
)
TEXT_MACROS = frozenset(
    ["text", "textrm", "textit", "textbf", "textsf", "texttt", "mbox", "hbox", "operatorname"]
)
# Layout only: never spoken.
SILENT_MACROS = _names(
    """
    left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr middle displaystyle
    textstyle scriptstyle scriptscriptstyle limits nolimits quad qquad , ; : ! > space
    enspace thinspace medspace thickspace negthinspace nonumber notag label tag color
    phantom hphantom vphantom mathstrut strut rm bf it cal sf tt scriptsize small normalsize
    large Large displaylimits hfill hfil hss relax nobreak allowbreak newline protect
    centering tiny footnotesize huge Huge LARGE boldmath unboldmath itshape bfseries
    rmfamily sffamily ttfamily normalfont mit oldstyle bigm Bigm biggm Biggm enskip
    negmedspace negthickspace nonscript cr noindent par ensuremath lefteqn vspace hspace
    kern mkern hskip mskip
    """
)
