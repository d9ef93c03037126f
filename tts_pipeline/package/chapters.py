"""Chapters from the script's sections, placed on the joined audio to the sample.

Chapters are planned before any audio exists (which chunk opens which chapter) and placed
afterwards from the join's :class:`Timeline`, so their times are sums of real chunk and pause
lengths, never estimates or MP3 header arithmetic. The same chapters go into the MP3's ID3
CHAP/CTOC frames (``tags.py``) and into a Podcasting 2.0 JSON chapters file (``chapters_json``).

Layout: the intro (the spoken framing) is a chapter of its own, so listeners can skip it;
text before the post's first heading is an opening chapter named after the post; every
titled section (heading, "Footnotes") is a chapter; the short outro belongs to the last one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tts_pipeline.errors import PackagingError
from tts_pipeline.models import Chunk, Script
from tts_pipeline.package.join import Timeline

JSON_CHAPTERS_VERSION = "1.2.0"
INTRO_TITLE = "Introduction"
UNTITLED = "Opening"  # an untitled opening when the post's own title is unusable
# Longer headings are cut: no chapter list shows more, and the ID3 frames stay small.
MAX_TITLE_CHARS = 120

# Characters no chapter title should carry: C0/C1 controls (a title is one line), lone
# surrogates (unencodable), the two XML non-characters, and bidi embeddings and overrides
# (U+202E turns the rest of a chapter list entry around).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")


def clean_title(text: str, max_chars: int = MAX_TITLE_CHARS) -> str:
    """One line of printable text: controls become spaces, runs of space collapse, and a
    title longer than ``max_chars`` is cut at a word boundary and ends with "…"."""
    title = _SPACES.sub(" ", _UNSAFE.sub(" ", text)).strip()
    if len(title) <= max_chars:
        return title
    cut = title[: max_chars - 1]
    if " " in cut[max_chars // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"


@dataclass(frozen=True)
class ChapterMark:
    """Where a chapter will begin, before any audio exists: its first chunk's index."""

    chunk_index: int
    title: str


class FrameTimes:
    """``start_ms`` and ``end_ms`` of something placed in frames at ``sample_rate``."""

    start_frame: int
    end_frame: int
    sample_rate: int

    @property
    def start_ms(self) -> int:
        return frames_to_ms(self.start_frame, self.sample_rate)

    @property
    def end_ms(self) -> int:
        return frames_to_ms(self.end_frame, self.sample_rate)


@dataclass(frozen=True)
class Chapter(FrameTimes):
    """A chapter placed on the joined PCM, in frames at ``sample_rate``."""

    title: str
    start_frame: int
    end_frame: int
    sample_rate: int

    @property
    def start_s(self) -> float:
        return self.start_frame / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.end_frame / self.sample_rate


def frames_to_ms(frame: int, sample_rate: int) -> int:
    """Milliseconds, rounded half up with integers only (no float drift on long episodes)."""
    return (frame * 1000 * 2 + sample_rate) // (sample_rate * 2)


def plan_chapters(
    script: Script,
    chunks: Sequence[Chunk],
    *,
    opening_title: str = UNTITLED,
    intro_title: str = INTRO_TITLE,
) -> tuple[ChapterMark, ...]:
    """Which chunk opens which chapter. ``opening_title`` names text before the first heading.

    ``chunks`` are the planner's, in reading order, with ``section`` -1 for the intro,
    ``i`` for ``script.sections[i]`` and ``len(script.sections)`` for the outro.
    """
    first_chunk: dict[int, int] = {}
    for chunk in chunks:
        first_chunk.setdefault(chunk.section, chunk.index)
    opening = clean_title(opening_title) or UNTITLED
    marks: list[ChapterMark] = []
    if -1 in first_chunk:
        marks.append(ChapterMark(first_chunk[-1], clean_title(intro_title) or INTRO_TITLE))
    previous_untitled = False
    for number, section in enumerate(script.sections):
        if number not in first_chunk:
            continue  # a section that produced no speech has no place in the audio
        title = clean_title(section.title or "")
        untitled = not title
        if untitled:
            # Untitled runs only occur before the first heading: one opening chapter.
            if previous_untitled:
                continue
            title = opening
        previous_untitled = untitled
        marks.append(ChapterMark(first_chunk[number], title))
    if not marks and chunks:
        # Only an outro (cannot come from clean(), but a chapter list is never empty).
        marks.append(ChapterMark(chunks[0].index, opening))
    return tuple(marks)


def place_chapters(marks: Sequence[ChapterMark], timeline: Timeline) -> tuple[Chapter, ...]:
    """Chapter times from the join: each starts where its first chunk's audio starts.

    The first chapter starts at 0, each ends where the next starts, the last at the end of
    the audio (the ID3 addendum wants contiguous chapters).
    """
    if not marks:
        return ()
    starts = {span.index: span.start_frame for span in timeline.spans}
    frames: list[int] = []
    for mark in marks:
        if mark.chunk_index not in starts:
            raise PackagingError(
                f"chapter {mark.title!r} starts at chunk {mark.chunk_index},"
                " which is not in the joined audio"
            )
        frames.append(starts[mark.chunk_index])
    frames[0] = 0
    if frames != sorted(frames) or len(set(frames)) != len(frames):
        raise PackagingError("chapter marks are not in reading order")
    ends = [*frames[1:], timeline.total_frames]
    return tuple(
        Chapter(mark.title, start, end, timeline.sample_rate)
        for mark, start, end in zip(marks, frames, ends, strict=True)
    )


def _seconds(frame: int, sample_rate: int) -> float:
    # Six decimals keep every value within 1 µs: still exact to the sample at any rate
    # up to 500 kHz, without 17-digit floats in the file.
    return round(frame / sample_rate, 6)


def chapters_json(
    chapters: Sequence[Chapter],
    *,
    title: str = "",
    podcast_name: str = "",
    author: str = "",
    file_name: str = "",
) -> bytes:
    """A Podcasting 2.0 JSON chapters file (format 1.2), as UTF-8 bytes."""
    document: dict[str, object] = {"version": JSON_CHAPTERS_VERSION}
    for key, value in (
        ("title", title),
        ("podcastName", podcast_name),
        ("author", author),
        ("fileName", file_name),
    ):
        text = clean_title(value, max_chars=4000)  # metadata, not a chapter-list label
        if text:
            document[key] = text
    document["chapters"] = [
        {
            "startTime": _seconds(ch.start_frame, ch.sample_rate),
            "endTime": _seconds(ch.end_frame, ch.sample_rate),
            "title": ch.title,
        }
        for ch in chapters
    ]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
