"""The spoken script of a post or an episode, with its chapters marked: what ``preview
--script`` prints.

Chapters are numbered from 1 as in the episode's chapters file: the intro, the text before
the first heading (named after the post), then one per heading; the outro ends the last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tts_pipeline.config import Config
from tts_pipeline.errors import PreviewError
from tts_pipeline.library.layout import Library
from tts_pipeline.library.sidecars import read_chapters, read_cues
from tts_pipeline.models import Chunk, Post, Script, VoiceProfile
from tts_pipeline.net.http import HttpClient
from tts_pipeline.package.chapters import plan_chapters
from tts_pipeline.pipeline import fetch, marked_script, plan_post, speaker_for


@dataclass(frozen=True)
class ScriptChapter:
    number: int  # from 1, as in the chapters file
    title: str
    first_chunk: int  # index of the chunk that opens it


def script_chapters(script: Script, chunks: Sequence[Chunk], post: Post) -> list[ScriptChapter]:
    """The chapters an episode of ``script`` gets, each with the chunk it starts at."""
    marks = plan_chapters(script, chunks, opening_title=post.title)
    return [ScriptChapter(n, m.title, m.chunk_index) for n, m in enumerate(marks, 1)]


def chapter_chunks(
    chunks: Sequence[Chunk], chapters: Sequence[ScriptChapter], number: int
) -> list[Chunk]:
    """The chunks of chapter ``number`` (from 1); PreviewError if there is no such chapter."""
    if not 1 <= number <= len(chapters):
        raise PreviewError(f"there is no chapter {number}: chapters are 1 to {len(chapters)}")
    start = chapters[number - 1].first_chunk
    end = chapters[number].first_chunk if number < len(chapters) else len(chunks)
    return [c for c in chunks if start <= c.index < end]


def render_script(
    script: Script,
    chapters: Sequence[ScriptChapter],
    chunks: Sequence[Chunk],
    only: int | None = None,
    speak: Callable[[str], str] | None = None,
) -> str:
    """The script with a marker line before each chapter (only chapter ``only``); with
    ``speak``, each segment as it will be spoken."""
    first_section = {ch.number: chunks[ch.first_chunk].section for ch in chapters}

    def chapter_of(section: int) -> ScriptChapter:
        found = chapters[0]
        for chapter in chapters:
            if first_section[chapter.number] <= section:
                found = chapter
        return found

    placed = [(-1, script.intro)]
    placed += [(n, s) for n, section in enumerate(script.sections) for s in section.segments]
    placed.append((len(script.sections), script.outro))
    lines: list[str] = [] if only is not None else [script.title, ""]
    current = None
    for section, segment in placed:
        chapter = chapter_of(section)
        if only is not None and chapter.number != only:
            continue
        if chapter is not current:
            lines += [f"=== Chapter {chapter.number}: {chapter.title} ===", ""]
            current = chapter
        said = speak(segment.text) if speak else segment.text
        lines += [f"[{segment.speaker}] {said}" if segment.speaker else said, ""]
    return "\n".join(lines)


def fetch_script(
    url: str, config: Config, http: HttpClient, voice: VoiceProfile
) -> tuple[Post, Script, list[Chunk], list[ScriptChapter]]:
    post = fetch(url, config, http)
    script, chunks = plan_post(post, config, voice)  # exactly as the episode will be planned
    return post, script, chunks, script_chapters(script, chunks, post)


def url_script(
    url: str, *, config: Config, voice: VoiceProfile, http: HttpClient, chapter: int | None
) -> str:
    """The spoken script of the post at ``url`` with section markers, after a list of its
    chapters; with ``chapter``, that chapter alone. Nothing is synthesised."""
    _, script, chunks, chapters = fetch_script(url, config, http, voice)
    if chapter is not None:
        chapter_chunks(chunks, chapters, chapter)  # checks the number
        return render_script(script, chapters, chunks, only=chapter, speak=speaker_for(voice))
    listing = ", ".join(f"{c.number} {c.title}" for c in chapters)
    header = f"{script.title}\nChapters (--chapter K): {listing}\n\n"
    return header + marked_script(script, voice, config)


def episode_script(library: Library, eid: str, *, chapter: int | None) -> str:
    """An episode's spoken script; with chapter markers when it has chapters and a timed
    transcript to place them by."""
    chapters = read_chapters(library.chapters_path(eid))
    cues = read_cues(library.vtt_path(eid))
    if chapter is not None:
        check_episode_chapter(chapters, chapter, eid)
    if not chapters or not cues:
        if chapter is not None:
            raise PreviewError(
                f"episode {eid} has no timed transcript to find chapter {chapter} in"
            )
        try:
            return library.script_path(eid).read_text(encoding="utf-8")
        except OSError as exc:
            raise PreviewError(f"cannot read the script of episode {eid}: {exc}") from exc
    blocks: list[str] = []
    number = 0
    for cue in cues:
        while number < len(chapters) and chapters[number].start_s <= cue.start_s + 0.001:
            number += 1
            if chapter in (None, number):
                blocks.append(f"\n=== Chapter {number}: {chapters[number - 1].title} ===\n")
        if chapter in (None, number):
            blocks.append(cue.text)
    return "\n".join(blocks).lstrip("\n") + "\n"


def check_episode_chapter(chapters: Sequence[object] | None, chapter: int, eid: str) -> None:
    if not chapters:
        raise PreviewError(f"episode {eid} has no chapters file")
    if not 1 <= chapter <= len(chapters):
        raise PreviewError(
            f"episode {eid} has no chapter {chapter}: chapters are 1 to {len(chapters)}"
        )
