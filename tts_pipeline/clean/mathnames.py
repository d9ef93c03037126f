"""Multi-letter names in math read as words: ``karmaScore`` is "karma score", ``heads`` is
"heads", while ``abc`` or ``xy`` (products of one-letter variables) stay letter by letter.

The rule, for a run of two or more letters written in math:

1. It is split at camelCase boundaries (``ageInHours`` -> age, In, Hours; ``HTTPServer`` ->
   HTTP, Server). snake_case needs no splitting here: in TeX ``_`` is a subscript, and a word
   subscript is read after its base ("karma score"), which is what the author meant.
2. Each part is a *word* when it is not all capitals (``KL``, ``ELBO`` are read as letters) and
   - it has two letters and is one of a handful of words never used as a product (if, or, in,
     of, is);
   - it has three letters and is in a list of common short words (age, sum, max, log, ...): no
     rule tells "age" from "abc", so three-letter names need the list;
   - it has four or more letters, contains a vowel (a, e, i, o, u), and is pronounceable as
     English: every consonant cluster is one English allows where it stands (a word may start
     with "str" but not "bcd", end in "ngths" but not "jkl", and a cluster inside a word must be
     an allowed ending followed by an allowed start), with no vowel run longer than three and
     no letter three times in a row. ``abcd``, ``ijkl``, ``wxyz``, ``pqrs`` fail; ``heads``,
     ``softmax``, ``threshold``, ``weights`` pass.
3. The run is read as words when at least one part is a word (the other parts are spelled:
   ``xAxis`` is "x axis"); otherwise it is spelled, letter by letter.

Pure functions; the word lists are small and live in this module.
"""

from __future__ import annotations

import re

_CAMEL_PARTS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[A-Z]")
_VOWELS = frozenset("aeiou")


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TWO_LETTER_WORDS = frozenset({"if", "or", "in", "of", "is"})
_THREE_LETTER_WORDS = _names(
    """
    act add age aim air all and any app arc are arg arm art ask avg bad bag bar bed bet bid
    big bin bit bot box boy bug bus but buy cap car cat cow cry cup cut day dev die dig dim
    dog dot dry due ear eat egg end err eta eye fan far fat fee few fit fix fly fog for fox
    fun gap gas get god gun guy had has hat her hid him hit hot how hub ice ill ink inn job
    joy key kid lab lag law lay leg let lie lit log lot low mad man map max may men met mid
    min mix mob mod mom mud neg net new nil nor not now num nut obs odd off oil old one our
    out own pad pan pay pen per pet pie pig pin pit pop pos pot put ran rat raw red rep rid
    rot row rub run sad sat saw say sea see set sex she shy sin sit six sky son spy sum sun
    tab tag tax tea ten the tie tip toe ton too top toy try two use val van var vet via war
    was way web wet who why win won yes yet you zip
    """
)
# Plain-letter function names said the way their TeX commands are.
_FUNCTION_WORDS = {"sin": "sine", "cos": "cosine", "tan": "tangent", "ln": "natural log",
                   "exp": "exp", "log": "log", "det": "determinant"}  # fmt: skip

_ONSETS = _names(
    """
    bl br ch cl cr dr dw fl fr gh gl gn gr kl kn kr ph pl pn pr ps rh sc sch scr sh shr sk
    sl sm sn sp sph spl spr st str sw th thr tr ts tw wh wr zh
    """
)
_CODAS = _names(
    """
    bb cc ch ck ct dd dth ff ft fth gg gh ght lb lch ld lf lk ll lm lp lt lth mb mm mn mp
    mpt nc nch nd ng ngth nk nn nt nth nx ph pp pt pth rb rc rch rd rf rg rk rl rm rn rp rr
    rsh rst rt rth sc sh sk sm sp ss st tch th thm ts tt xt zz
    """
)


def _is_onset(cluster: str) -> bool:
    return len(cluster) <= 1 or cluster in _ONSETS


def _is_coda(cluster: str) -> bool:
    return len(cluster) <= 1 or cluster in _CODAS


def _is_final(cluster: str) -> bool:
    # A plural or verb "s" may follow any ending: "heads", "lengths", "weights".
    return _is_coda(cluster) or (cluster.endswith("s") and _is_coda(cluster[:-1]))


def _is_medial(cluster: str) -> bool:
    return len(cluster) <= 4 and any(
        _is_coda(cluster[:cut]) and _is_onset(cluster[cut:]) for cut in range(len(cluster) + 1)
    )


def _runs(word: str) -> list[tuple[bool, str]]:
    """(is_vowel, run) pairs; "y" is a vowel except as the first letter."""
    runs: list[tuple[bool, str]] = []
    for i, ch in enumerate(word):
        vowel = ch in _VOWELS or (ch == "y" and i > 0)
        if runs and runs[-1][0] == vowel:
            runs[-1] = (vowel, runs[-1][1] + ch)
        else:
            runs.append((vowel, ch))
    return runs


def pronounceable(word: str) -> bool:
    """Whether a lower-case run of letters could be an English word (see the module rule)."""
    if not word.isalpha() or not _VOWELS & set(word) or re.search(r"(.)\1\1", word):
        return False
    runs = _runs(word)
    for index, (vowel, run) in enumerate(runs):
        if vowel:
            if len(run) > 3:
                return False
        elif index == 0:
            if not _is_onset(run):
                return False
        elif index == len(runs) - 1:
            if not _is_final(run):
                return False
        elif not _is_medial(run):
            return False
    return True


def is_word(part: str) -> bool:
    """Whether one camelCase part is a word rather than letters (see the module rule)."""
    if not part.isascii() or not part.isalpha() or len(part) < 2 or part.isupper():
        return False
    lower = part.lower()
    if len(lower) == 2:
        return lower in _TWO_LETTER_WORDS
    if len(lower) == 3:
        return lower in _THREE_LETTER_WORDS or lower in _FUNCTION_WORDS
    return pronounceable(lower)


def camel_parts(run: str) -> list[str]:
    return _CAMEL_PARTS.findall(run)


def identifier_words(run: str) -> str | None:
    """The words for a run of letters written in math, or None when it should be spelled.

    >>> identifier_words("karmaScore"), identifier_words("ageInHours"), identifier_words("abc")
    ('karma score', 'age in hours', None)
    """
    if not run.isascii() or not run.isalpha() or len(run) < 2:
        return None
    parts = camel_parts(run)
    if "".join(parts) != run or not any(is_word(p) for p in parts):
        return None
    if len(parts) == 1:
        return _FUNCTION_WORDS.get(run, run)
    return " ".join(p.lower() if is_word(p) else " ".join(p) for p in parts)
