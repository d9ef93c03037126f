"""Handlers for block structures that need a spoken cue: quotes, spoilers, collapsible
sections, dialogue turns, language-model output, code, embeds, images, and the inline
superscripts and subscripts of running text.

Each handler takes ``(reader, element)`` and the ``walk`` function that reads an element's
children, so this module does not depend on the walker's dispatch tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tts_pipeline.clean.reader import Reader, as_sentence, is_speakable, tidy_text

Element = Any  # lxml.html.HtmlElement
Walk = Callable[[Reader, Element], None]

CODE_OMITTED = "A code block is omitted."
IMAGE_CUE = "Image."
_FILE_NAME = re.compile(r"^\S+\.(?:png|jpe?g|gif|svg|webp|avif|bmp)$", re.IGNORECASE)
_GENERIC_ALT = frozenset({"image", "img", "picture", "photo", "figure", "diagram", "graph",
                          "chart", "screenshot", "untitled"})  # fmt: skip
_LANGUAGE = re.compile(r"^[A-Za-z][A-Za-z+#]{0,15}$")
_LANGUAGE_NAMES = {
    "py": "Python",
    "python": "Python",
    "js": "JavaScript",
    "javascript": "JavaScript",
    "ts": "TypeScript",
    "typescript": "TypeScript",
    "rust": "Rust",
    "go": "Go",
    "bash": "shell",
    "sh": "shell",
    "shell": "shell",
    "c": "C",
    "cpp": "C++",
    "java": "Java",
    "haskell": "Haskell",
    "lean": "Lean",
    "sql": "SQL",
    "json": "JSON",
    "yaml": "YAML",
    "r": "R",
}
EMBEDS = {
    "metaculus-preview": "An embedded Metaculus question is omitted.",
    "manifold-preview": "An embedded Manifold market is omitted.",
    "elicit-binary-prediction": "An embedded Elicit prediction is omitted.",
    "ck-poll": "A poll is omitted.",
    "strawpoll-embed": "A poll is omitted.",
    "neuronpedia-preview": "An embedded Neuronpedia page is omitted.",
    "owid-preview": "An embedded Our World in Data chart is omitted.",
    "estimaker-preview": "An embedded estimate is omitted.",
    "viewpoints-preview": "An embedded poll is omitted.",
}
_MEDIA = {"video": "A video is omitted.", "audio": "An audio clip is omitted."}
_ORDINAL_SUFFIX = frozenset({"st", "nd", "rd", "th"})
_MARKER = re.compile(r"\[\d+\]|\(\d+\)|[*†‡§¶]+|\d+[,\d]*,")


def classes(el: Element) -> set[str]:
    return set(str(el.get("class", "")).split())


def _framed(reader: Reader, el: Element, walk: Walk, opening: str, closing: str) -> None:
    """Read ``el`` between a spoken opening (prefix of its first paragraph) and a closing cue;
    both are left out when the block says nothing."""
    with reader.held():
        reader.set_prefix(opening)
        before = reader.count()
        walk(reader, el)
        reader.flush()
        reader.set_prefix("")
        if reader.count() > before:
            reader.cue(closing)


# --- quotes and friends -----------------------------------------------------------------------


def read_blockquote(reader: Reader, el: Element, walk: Walk) -> None:
    with reader.held():
        reader.set_prefix("Quote: ")
        before = reader.count()
        with reader.quoting():  # a second voice may read it; its cues stay the reader's
            walk(reader, el)
        reader.set_prefix("")
        if reader.count() > before:
            reader.cue("End quote.")


def is_spoiler(el: Element) -> bool:
    return bool(classes(el) & {"spoilers", "spoiler", "spoiler-v2"})


def read_spoiler(reader: Reader, el: Element, walk: Walk) -> None:
    _framed(reader, el, walk, "Spoiler: ", "End of spoiler.")


def read_details(reader: Reader, el: Element, walk: Walk) -> None:
    """A collapsible section: its summary announced, then its content."""
    summaries = [c for c in el if isinstance(c.tag, str) and c.tag.lower() == "summary"]
    title = " ".join(text_of(reader, s, walk) for s in summaries)
    for summary in summaries:
        summary.drop_tree()  # read once, as the title
    reader.cue(
        f"Collapsible section: {as_sentence(title)}"
        if is_speakable(title)
        else "A collapsible section."
    )
    _framed(reader, el, walk, "", "End of collapsible section.")


def is_dialogue_turn(el: Element) -> bool:
    return "dialogue-message" in classes(el) and el.get("display-name") is not None


def read_dialogue_turn(reader: Reader, el: Element, walk: Walk) -> None:
    name = tidy_text(str(el.get("display-name") or ""))
    for header in [
        c for c in el if isinstance(c.tag, str) and "dialogue-message-header" in classes(c)
    ]:
        header.drop_tree()  # the name again, as a visual header
    if not is_speakable(name):
        read_in_turn(reader, el, walk)
        return
    with reader.turn(name), reader.held():
        read_in_turn(reader, el, walk)


def read_in_turn(reader: Reader, el: Element, walk: Walk) -> None:
    with reader.held():
        walk(reader, el)
        reader.flush()


def is_llm_block(el: Element) -> bool:
    return "llm-content-block" in classes(el)


def read_llm_block(reader: Reader, el: Element, walk: Walk) -> None:
    model = tidy_text(str(el.get("data-model-name") or ""))
    for label in el.xpath(".//*[contains(@class, 'llm-content-block-model')]"):
        label.drop_tree()
    source = f"from {model}" if is_speakable(model) else "from a language model"
    _framed(reader, el, walk, f"Output {source}: ", "End of output.")


# --- code, embeds, media ----------------------------------------------------------------------


def code_language(el: Element) -> str:
    """The spoken name of a code block's language ("Python"), or "" when it has none."""
    language = str(el.get("data-language") or "").strip()
    if not language:
        code = next((c for c in el.iter("code")), None)
        found = (
            re.search(r"language-(\S+)", str(code.get("class", ""))) if code is not None else None
        )
        language = found.group(1) if found else ""
    return _LANGUAGE_NAMES.get(language.lower(), language if _LANGUAGE.match(language) else "")


def read_code_block(reader: Reader, el: Element, walk: Walk) -> None:
    name = code_language(el)
    reader.cue(f"A {name} code block is omitted." if name else CODE_OMITTED)


def embed_cue(el: Element) -> str | None:
    for cls in classes(el):
        if cls in EMBEDS:
            return EMBEDS[cls]
    return None


def read_embed(reader: Reader, el: Element, walk: Walk) -> None:
    reader.cue(embed_cue(el) or "An embedded item is omitted.")


def read_iframe(reader: Reader, el: Element, walk: Walk) -> None:
    if el.get("data-lexical-iframe-widget") is not None:
        reader.cue("An interactive widget is omitted.")
        return
    try:
        host = (urlsplit(str(el.get("src") or "")).hostname or "").removeprefix("www.")
    except ValueError:
        host = ""
    host = host if re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", host) else ""
    reader.cue(
        f"An embedded item from {host} is omitted." if host else "An embedded item is omitted."
    )


def read_media(reader: Reader, el: Element, walk: Walk) -> None:
    reader.cue(_MEDIA.get(el.tag.lower(), "A media item is omitted."))


# --- images -----------------------------------------------------------------------------------


def alt_text(el: Element) -> str:
    alt = tidy_text(str(el.get("alt") or el.get("title") or ""))
    # Editors often put the file name or URL in alt; that is not a description.
    if _FILE_NAME.match(alt) or alt.startswith("a link to") or alt.lower() in _GENERIC_ALT:
        return ""
    return alt


def describe_image(reader: Reader, description: str) -> str:
    if is_speakable(description):
        return f"Image: {as_sentence(description)}"
    return IMAGE_CUE if reader.options.unlabelled_images == "cue" else ""


def read_image(reader: Reader, el: Element, walk: Walk) -> None:
    """An image mid-sentence is described after its paragraph, not inside it."""
    said = describe_image(reader, alt_text(el))
    if said:
        reader.image(said)


def read_figure(reader: Reader, el: Element, walk: Walk) -> None:
    images = list(el.iter("img"))
    if not images:
        reader.flush()
        walk(reader, el)
        reader.flush()
        return
    caption = " ".join(text_of(reader, c, walk) for c in el.iter("figcaption"))
    reader.flush()
    said = describe_image(reader, tidy_text(caption) or alt_text(images[0]))
    if said:
        reader.paragraph(said)


# --- inline -----------------------------------------------------------------------------------


def read_sup(reader: Reader, el: Element, walk: Walk) -> None:
    """x<sup>2</sup> is "x squared"; 1<sup>st</sup> is "1st"; a lone * or † is silent."""
    text = tidy_text(text_of(reader, el, walk))
    if not is_speakable(text) or _MARKER.fullmatch(text):
        return
    previous = reader.last_word()
    exponent = len(previous) == 1 or previous[-1:].isdigit() or previous[-1:] in ")]"
    if text.isdigit() and not exponent:
        return  # "word<sup>1</sup>": a footnote marker without a link
    if text.lower() in _ORDINAL_SUFFIX:
        reader.add_text(text)
    elif text == "2":
        reader.add_text(" squared ")
    elif text == "3":
        reader.add_text(" cubed ")
    else:
        reader.add_text(f" to the power of {text} ")


def read_sub(reader: Reader, el: Element, walk: Walk) -> None:
    """CO<sub>2</sub> is "CO 2"; x<sub>i</sub> is "x i"; longer ones "sub ..."."""
    text = tidy_text(text_of(reader, el, walk))
    if is_speakable(text):
        reader.add_text(f" {text} " if len(text.split()) == 1 else f" sub {text}, ")


def text_of(reader: Reader, el: Element, walk: Walk) -> str:
    """The spoken text of a fragment (heading, caption, cell), footnote citations kept."""
    sub = reader.child()
    walk(sub, el)
    return " ".join(seg.text for seg in sub.segments())
