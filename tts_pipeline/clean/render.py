"""The script as text with section markers: what ``preview --script`` prints.

    == intro
    Welcome to ...
    == section 1: Preamble
    # Preamble
    The first paragraph.
    == outro
    Thanks for listening ...

A conversation's paragraphs open with their speaker's name in brackets ("[Alice] I think").

With ``speak`` (e.g. ``speech.speaker(voice)``) each line is what the engine will be given;
without it, the written script. A segment whose transcript differs from its spoken text (a
long displayed equation) shows the transcript form on an indented line after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from tts_pipeline.models import Script, Section, Segment, SegmentKind

Speak = Callable[[str], str]


def _line(segment: Segment, speak: Speak | None) -> list[str]:
    text = speak(segment.text) if speak else segment.text
    if segment.speaker:  # a conversation's turn: who says it
        text = f"[{segment.speaker}] {text}"
    lines = [f"# {text}" if segment.kind is SegmentKind.HEADING else text]
    if segment.display is not None and segment.display != segment.text:
        lines.append(f"    (transcript: {segment.display})")
    return lines


def render_sections(sections: Sequence[Section], speak: Speak | None = None) -> str:
    """Only the body: one marker line per section, then its segments, one per line."""
    lines: list[str] = []
    for number, section in enumerate(sections, start=1):
        title = f": {section.title}" if section.title else ""
        lines.append(f"== section {number}{title}")
        for segment in section.segments:
            lines.extend(_line(segment, speak))
    return "\n".join(lines) + "\n" if lines else ""


def render_marked(
    script: Script, speak: Speak | None = None, cast: Mapping[str, str] | None = None
) -> str:
    """The whole script (intro, sections, outro) with section markers, as one string; with
    ``cast`` (a conversation's speakers and the voice each is read by), a cast list first."""
    cast_lines = ["== cast", *(f"{name}: {voice}" for name, voice in cast.items())] if cast else []
    intro = "\n".join([*cast_lines, "== intro", *_line(script.intro, speak)])
    outro = "\n".join(["== outro", *_line(script.outro, speak)])
    return f"{intro}\n{render_sections(script.sections, speak)}{outro}\n"
