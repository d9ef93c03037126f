"""Property tests: random and hostile HTML never crashes the cleaner, and nothing it produces
(the script, or what the engine is given) contains markup, CSS, URLs with a scheme, footnote
back-links, raw TeX or control characters."""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts_pipeline.clean import clean, speaker
from tts_pipeline.clean.tex import speak_tex
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Post, Script, Templates

SPEAK = speaker("default", engine="pyttsx3")
CSS_MARKER = "zqcss"  # only ever placed inside CSS, so seeing it in the script means CSS leaked
CSS = f"font-size: 12px; color: red; /* {CSS_MARKER} */"
TAGS = [
    "p", "div", "span", "a", "em", "strong", "u", "i", "sup", "sub", "ul", "ol", "li",
    "blockquote", "h2", "h3", "table", "tbody", "tr", "td", "th", "figure", "figcaption",
    "img", "pre", "code", "details", "summary", "section", "br", "hr", "iframe", "style",
    "script", "math", "mi", "mo", "mn", "mfrac", "msup", "mjx-container", "svg", "template",
    "noscript", "button", "video", "caption", "thead",
]  # fmt: skip
CLASSES = [
    "footnote-ref", "footnote-reference", "footnote-section footnotes", "footnotes",
    "footnote-item", "footnote-backref", "footnote-back-link", "footnote-content", "math-tex",
    "mjpage mjpage__block", "mjx-math", "MathJax", "spoilers", "hovernote", "llm-content-block",
    "metaculus-preview", "detailsBlock", "dialogue-message", "image", "code-block", "katex",
    "table-scrollable-wrapper", "footnotes-sep", "MathJax_Preview",
]  # fmt: skip
HOSTILE_TEXT = [
    "https://evil.example/path?q=1", "see www.example.com/x", "mailto:a@b.org", "\\frac{a}{b}",
    "\\(x^2\\)", "{x}", "↩︎", "^", "&lt;b&gt;bold&lt;/b&gt;", "<script>alert(1)</script>",
    "\x00\x07\x1b[31m", "\u202e\u200b\ufeff", "[1]", "javascript:alert(1)", "3.5% of $5",
    "x <b", "a://b", "_a://b", "\ud800", "\\begin{matrix}", "2^10", "font-size:",
]  # fmt: skip
TEX = st.one_of(
    st.sampled_from([
        r"\frac{a}{b}", r"\sum_{i=1}^n x_i", r"\begin{pmatrix}1&2\end{pmatrix}", "{{{{", "}}}",
        r"\left(", "x^", "_", r"\\", r"\text{}", r"\sqrt[", "a" * 5000, "{" * 500 + "}" * 500,
        r"\unknown{x}", r"\color{red}{x}",
    ]),
    st.text(max_size=40),
)  # fmt: skip
ATTRS = st.dictionaries(
    st.sampled_from([
        "class", "href", "id", "data-footnote-id", "data-footnote-reference",
        "data-footnote-section", "data-hovernote", "aria-label", "alt", "style", "display",
        "role", "data-footnote-index", "data-tex", "start", "data-model-name", "display-name",
        "src", "hidden", "aria-hidden", "type", "data-language",
    ]),
    st.one_of(
        st.sampled_from(CLASSES),
        st.sampled_from(["#fn1", "#fnref1", "#fn-x-1", "https://x.org/y", "javascript:x()",
                         "true", "doc-noteref", "doc-endnotes", "1", "-3", "abc", "math/tex"]),
        TEX,
        st.text(max_size=20),
    ),
    max_size=4,
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=30), st.sampled_from(HOSTILE_TEXT))


def _render(node: object) -> str:
    if isinstance(node, str):
        return node if "<" in node and node.startswith("<script") else html_lib.escape(node)
    tag, attrs, children = node  # type: ignore[misc]
    # CSS goes only where CSS lives (style attributes); alt or aria-label text is read aloud.
    values = {k: CSS if k == "style" else str(v).replace(CSS_MARKER, "") for k, v in attrs.items()}
    attributes = "".join(f' {k}="{html_lib.escape(v, quote=True)}"' for k, v in values.items())
    if tag == "style":
        return f"<style>.{CSS_MARKER} {{ font-size: 121%; display: inline-block }}</style>"
    inner = "".join(_render(c) for c in children)
    return f"<{tag}{attributes}>{inner}</{tag}>"


NODES = st.recursive(
    TEXT,
    lambda children: st.tuples(st.sampled_from(TAGS), ATTRS, st.lists(children, max_size=4)),
    max_leaves=25,
)
DOCUMENTS = st.one_of(
    st.lists(NODES, min_size=1, max_size=5).map(lambda nodes: "".join(_render(n) for n in nodes)),
    st.text(max_size=200),  # not HTML at all, or broken HTML
    st.lists(st.sampled_from(["<p>", "</p>", "<div", ">", "<!--", "-->", "<![CDATA[", "x", "&",
                              "&#0;", "&#xD800;", "<math>", "</ol>", "<li>", "<?xml ?>"]),
             max_size=30).map("".join),
)  # fmt: skip

_MARKUP = re.compile(r"<[A-Za-z/!?]")  # "x < A" is a comparison; no parser reads it as a tag
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_TEX = re.compile(r"\\[A-Za-z]+|[{}\\]")


def assert_speakable(text: str) -> None:
    assert not _MARKUP.search(text), text
    assert CSS_MARKER not in text, text
    assert not _SCHEME.search(text), text
    assert "↩" not in text and "^" not in text, text
    assert not _TEX.search(text), text
    assert all(unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co") for c in text), text


def _post(body: str) -> Post:
    return Post(
        id="p", title="T", authors=("A",), published=datetime(2024, 1, 1, tzinfo=UTC),
        url="https://example.org/p", html=body, site_name="S", prefix="AF",
    )  # fmt: skip


def _clean(body: str) -> Script | None:
    try:
        return clean(_post(body), Templates())
    except CleanError:
        return None  # "nothing speakable" is a handled outcome, not a crash


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_hostile_html_never_crashes_or_leaks(body: str) -> None:
    script = _clean(body)
    if script is None:
        return
    for segment in script.segments():
        assert_speakable(segment.text)
        assert_speakable(SPEAK(segment.text))
        if segment.display is not None:  # a displayed equation's TeX, kept for the transcript
            assert all(unicodedata.category(c) not in ("Cc", "Cs") for c in segment.display)
    for section in script.sections:
        if section.title is not None:
            assert_speakable(section.title)


@settings(max_examples=300, deadline=None)
@given(TEX)
def test_any_tex_is_read_without_markup(tex: str) -> None:
    assert_speakable(speak_tex(tex))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_speaker_on_any_text(text: str) -> None:
    spoken = SPEAK(text)
    assert isinstance(spoken, str)
    assert not _MARKUP.search(spoken)
