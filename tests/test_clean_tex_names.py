"""No TeX command is ever spoken by its name: known ones are read by meaning, layout ones are
silent with their arguments, a post's own macros are expanded, and anything unknown is dropped.

The list below is written out by hand from the TeX, LaTeX, AMS and MathJax command sets (a
few hundred names); random unknown ``\\foo`` commands are added by hypothesis.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts_pipeline.clean import clean, speaker
from tts_pipeline.clean.reader import tidy_text
from tts_pipeline.clean.tex import speak_tex
from tts_pipeline.models import Post, Templates

SPEAK = speaker("default", engine="pyttsx3")

COMMANDS = """
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa varkappa lambda mu
nu xi omicron pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma
Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega digamma
frac dfrac tfrac cfrac binom dbinom tbinom sqrt root genfrac over atop above choose
sum prod coprod int iint iiint oint bigcup bigcap bigoplus bigotimes bigvee bigwedge biguplus
bigsqcup bigodot intop smallint lim limsup liminf max min sup inf argmax argmin arg det dim ker
gcd lcm hom Pr exp log ln lg sin cos tan cot sec csc arcsin arccos arctan sinh cosh tanh coth
deg injlim projlim varlimsup varliminf
cdot times div pm mp ast star circ bullet oplus ominus otimes oslash odot setminus cup cap
sqcup sqcap uplus amalg wedge vee land lor neg lnot barwedge veebar boxplus boxminus boxtimes
boxdot dotplus ltimes rtimes wr divideontimes centerdot intercal smallsetminus circledast
circledcirc bigcirc diamond triangle
le leq leqslant ge geq geqslant lt gt ne neq approx simeq sim cong equiv propto ll gg lll ggg
lesssim gtrsim lessapprox gtrapprox leqq geqq lneq gneq nless ngtr nleq ngeq prec preceq
preccurlyeq precsim nprec succ succeq succcurlyeq succsim nsucc subset subseteq supset supseteq
subsetneq supsetneq nsubseteq nsupseteq sqsubset sqsubseteq sqsupset sqsupseteq in notin ni
owns perp parallel nparallel mid nmid nsim ncong asymp approxeq thicksim thickapprox doteq
bumpeq Bumpeq coloneqq triangleq models vdash vDash Vdash dashv nvdash nvDash lhd unlhd
triangleleft trianglelefteq varpropto smile frown
to gets mapsto longmapsto rightarrow leftarrow longrightarrow longleftarrow Rightarrow
Leftarrow Longrightarrow Longleftarrow leftrightarrow Leftrightarrow longleftrightarrow
Longleftrightarrow implies impliedby iff uparrow downarrow Uparrow Downarrow updownarrow
Updownarrow nearrow searrow swarrow nwarrow hookrightarrow hookleftarrow twoheadrightarrow
rightarrowtail rightsquigarrow leadsto rightharpoonup rightharpoondown leftharpoonup
rightleftharpoons leftrightarrows rightleftarrows nrightarrow nleftarrow nRightarrow
nLeftarrow nLeftrightarrow nleftrightarrow curvearrowright circlearrowleft restriction
xrightarrow xleftarrow xmapsto
forall exists nexists therefore because infty partial nabla emptyset varnothing ell hbar aleph
beth gimel Re Im angle ldots cdots dots vdots ddots dotsc dotsb prime dagger ddagger top bot
checkmark imath jmath wp complement surd square Box blacksquare lozenge bigstar sharp flat
natural clubsuit diamondsuit heartsuit spadesuit mho S P copyright pounds yen euro degree
hat widehat bar overline tilde widetilde vec dot ddot dddot check breve acute grave mathring
overrightarrow overleftarrow underline underbrace overbrace overset underset stackrel cancel
bcancel xcancel not boxed
mathbb mathcal mathbf mathit mathsf mathfrak mathscr mathrm mathtt boldsymbol bm pmb
mathnormal Bbb text textrm textit textbf textsf texttt mbox hbox operatorname mathop mathrel
mathbin mathord mathpunct mathinner mathopen mathclose emph textnormal
left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr middle displaystyle textstyle
scriptstyle scriptscriptstyle limits nolimits quad qquad space enspace thinspace medspace
thickspace negthinspace negmedspace negthickspace hspace vspace kern mkern hskip mskip hfill
phantom hphantom vphantom smash mathstrut strut rlap llap clap mathrlap mathllap mathclap
raisebox scalebox label tag nonumber notag color textcolor colorbox href require class style
cssId rule unicode bbox enclose
newcommand renewcommand providecommand DeclareMathOperator def let verb
langle rangle lfloor rfloor lceil rceil lvert rvert lVert rVert vert Vert backslash
bmod pmod mod colon relax nobreak allowbreak displaylimits
"""

# Commands that are read as the English word (or letter name) they are spelled as.
_THEMSELVES_TEXT = """
    alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho
    sigma tau upsilon phi chi psi omega digamma over choose log exp in to top star dagger prime
    partial nabla angle aleph beth gimel ell implies exists not models diamond triangle square
    Box sharp flat natural mho pounds yen copyright tanh hom mod hat tilde bar dot check breve
    acute grave because therefore complement parallel subset sum times
    """
SAID_AS_THEMSELVES = frozenset(_THEMSELVES_TEXT.split())
_THEMSELVES = {name.lower() for name in SAID_AS_THEMSELVES}
NAMES = sorted(set(COMMANDS.split()))
_WORD = re.compile(r"[A-Za-z]+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _contexts(name: str) -> list[str]:
    """The command alone, between digits, and with arguments (digits only, so that every word
    in what is said comes from the command)."""
    return [
        f"\\{name}",
        f"1 \\{name} 2",
        f"\\{name}{{3}}{{4}} 5",
        f"\\{name}[6]{{7}}_{{8}}^{{9}}",
        f"\\{name}*{{1}}",
    ]


def _said_by_name(name: str, spoken: str) -> bool:
    lower = name.lower()
    return len(name) > 1 and lower not in _THEMSELVES and lower in _words(spoken)


def test_the_list_is_large() -> None:
    assert len(NAMES) >= 300


@pytest.mark.parametrize("name", NAMES)
def test_known_command_never_said_by_name(name: str) -> None:
    for tex in _contexts(name):
        for spoken in (speak_tex(tex), SPEAK(speak_tex(tex))):
            assert "\\" not in spoken, (tex, spoken)
            assert not _said_by_name(name, spoken), (tex, spoken)


UNKNOWN = st.from_regex(r"[A-Za-z]{2,14}", fullmatch=True).filter(
    lambda n: n not in NAMES and n.lower() not in {"and", "or", "of", "if", "in", "is"}
)


@settings(max_examples=300, deadline=None)
@given(UNKNOWN, st.sampled_from(range(5)))
def test_unknown_command_is_dropped(name: str, context: int) -> None:
    tex = _contexts(name)[context]
    spoken = speak_tex(tex)
    assert not _said_by_name(name, spoken), (tex, spoken)
    assert not _said_by_name(name, SPEAK(spoken)), (tex, spoken)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.sampled_from(NAMES), UNKNOWN), st.sampled_from(range(5)))
def test_no_command_name_in_prose_math_or_chapter_titles(name: str, context: int) -> None:
    tex = _contexts(name)[context]
    label = tex.replace("&", "&amp;").replace('"', "&quot;")
    math = f'<mjx-container class="MathJax" jax="CHTML" aria-label="{label}"></mjx-container>'
    body = f"<h2>On {math}</h2><p>Then {math} and raw \\({tex}\\) here.</p>"
    post = Post(
        id="p", title="T", authors=("A",), published=datetime(2024, 1, 1, tzinfo=UTC),
        url="https://example.org/p", html=body, site_name="S", prefix="AF",
    )  # fmt: skip
    script = clean(post, Templates())
    # The body only: the intro and outro are the podcast's own words ("the Rationalist and EA
    # communities"), whatever the post holds.
    said = [s.title or "" for s in script.sections]
    said += [seg.text for section in script.sections for seg in section.segments]
    for text in said:
        assert not _said_by_name(name, text), (tex, text)
        assert not _said_by_name(name, SPEAK(text)), (tex, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8))
def test_definitions_are_expanded_and_never_said(names: list[str]) -> None:
    """A macro the post defines from other commands says only what those commands mean."""
    body = "".join(f"\\{n}" + "{1}" for n in names)
    tex = f"\\newcommand{{\\mine}}[1]{{{body} #1}}\\DeclareMathOperator{{\\Op}}{{Op}}\\mine{{2}}"
    spoken = speak_tex(tex)
    for name in [*names, "newcommand", "DeclareMathOperator", "mine"]:
        assert not _said_by_name(name, spoken), (tex, spoken)


def test_commands_in_running_text() -> None:
    assert tidy_text("\\newcommand{\\R}{x} \\lesssim y") == "R x is less than or about y"
    assert "hspace" not in tidy_text("a \\hspace{1em} b")
    assert tidy_text("C:\\Users\\Bob") == "C:UsersBob"  # not TeX commands: kept as they were
