"""The clean stage: a fetched ``Post`` becomes the ``Script`` a voice reads (pure functions)."""

from __future__ import annotations

from tts_pipeline.clean.framing import episode_title, intro_text, outro_text
from tts_pipeline.clean.html import html_to_sections
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Post, Script, Segment, SegmentKind, Templates

__all__ = ["clean"]


def clean(post: Post, templates: Templates) -> Script:
    """Frame the post's body with the intro and outro; raise CleanError if nothing is speakable."""
    where = post.url or post.id
    if not post.html.strip():
        raise CleanError(f"post {where} has an empty body: nothing to read")
    sections = html_to_sections(post.html)
    if not sections:
        raise CleanError(f"post {where} has no speakable text in its body")
    return Script(
        title=episode_title(post, templates),
        intro=Segment(SegmentKind.INTRO, intro_text(post, templates)),
        sections=sections,
        outro=Segment(SegmentKind.OUTRO, outro_text(templates)),
    )
