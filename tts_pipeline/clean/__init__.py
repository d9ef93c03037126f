"""The clean stage: a fetched ``Post`` becomes the ``Script`` a voice reads (pure functions).

Public API:
- ``clean(post, templates, options=None) -> Script``: the written script (transcript form).
- ``speaker(voice_name, engine=..., extra_dirs=None) -> Callable[[str], str]``: written ->
  spoken text for one voice of one engine (pronunciation lexicon, then numbers, abbreviations,
  symbols); the chunk planner applies it to what each engine call receives.
- ``render_marked(script, speak=None) -> str``: the script with section markers, for previews.
- ``load_lexicon(extra_dirs=None) -> Lexicon`` with ``Lexicon.apply(text, voice_name, engine)``: the
  bundled lexicon extended by ``lexicon.toml`` in the user voices folder (``None``) or in
  ``extra_dirs``.
- ``CleanOptions`` / ``parse_clean_options``: the config file's ``[clean]`` table.
"""

from __future__ import annotations

from tts_pipeline.clean.framing import episode_title, intro_text, outro_text
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.clean.lexicon import Lexicon, load_lexicon
from tts_pipeline.clean.render import render_marked, render_sections
from tts_pipeline.clean.speech import speaker
from tts_pipeline.config.clean import CleanOptions, parse_clean_options
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Post, Script, Segment, SegmentKind, Templates

__all__ = [
    "CleanOptions",
    "Lexicon",
    "clean",
    "load_lexicon",
    "parse_clean_options",
    "render_marked",
    "render_sections",
    "speaker",
]


def clean(post: Post, templates: Templates, options: CleanOptions | None = None) -> Script:
    """Frame the post's body with the intro and outro; raise CleanError if nothing is speakable."""
    where = post.url or post.id
    if not post.html.strip():
        raise CleanError(f"post {where} has an empty body: nothing to read")
    sections = html_to_sections(post.html, options)
    if not sections:
        raise CleanError(f"post {where} has no speakable text in its body")
    return Script(
        title=episode_title(post, templates),
        intro=Segment(SegmentKind.INTRO, intro_text(post, templates)),
        sections=sections,
        outro=Segment(SegmentKind.OUTRO, outro_text(templates)),
    )
