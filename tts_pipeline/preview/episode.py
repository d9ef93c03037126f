"""Hear an episode of the library from the start or from chapter K, and what a preview did.

Playback goes through :mod:`playback`. When there is no sound output the preview is written
to a WAV file instead (``<library>/previews/<id>.wav`` unless told otherwise) and the caller
says so: that is a normal outcome, not an error.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tts_pipeline.errors import PlaybackError, PreviewError
from tts_pipeline.fsutil import atomic_path
from tts_pipeline.library.folders import EPISODES_FOLDER
from tts_pipeline.library.layout import Library
from tts_pipeline.library.sidecars import read_chapters
from tts_pipeline.package.ffmpeg import decode_wav, probe
from tts_pipeline.preview.playback import NO_OUTPUT, find_audio_output, play
from tts_pipeline.preview.script import check_episode_chapter

# Told (title, sound output, seconds) just before playback starts.
Announce = Callable[[str, str, float], None]


@dataclass(frozen=True)
class PreviewOutcome:
    """What a preview did: played it, or (no sound output) wrote it to ``wav``."""

    title: str
    duration_s: float  # of the audio heard or written
    wav: Path | None  # the preview written to disk (None: played straight from the MP3)
    played_on: str | None  # the sound output it was played on
    not_played: str | None  # why it was not played (then ``wav`` holds it)


def is_url(target: str) -> bool:
    parts = urlsplit(target)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def find_episode(library: Library, target: str) -> tuple[str, str] | None:
    """(id, title) of the library episode called ``target``, if there is one."""
    if "/" in target or not library.mp3_path(target).is_file():
        return None
    titles = {record.id: record.title for record in library.episodes()}
    return target, titles.get(target, target)


def episode_file(target: str) -> tuple[Library, str] | None:
    """(library, id) for the path of an episode's MP3 in any library (``LIB/episodes/ID.mp3``,
    the library being the folder above ``episodes/``); None when ``target`` names no MP3 file.
    PreviewError for an MP3 that is not a library's episode."""
    path = Path(target).expanduser()
    if path.suffix.lower() != ".mp3" or not path.is_file():
        return None
    path = path.resolve()
    library = Library(path.parent.parent)
    eid = path.stem
    if path.parent.name != EPISODES_FOLDER or library.mp3_path(eid) != path:
        raise PreviewError(
            f"{target} is not an episode of a library (expected LIBRARY/{EPISODES_FOLDER}/ID.mp3)"
        )
    return library, eid


def default_output(library: Library, eid: str, chapter: int | None) -> Path:
    name = eid if chapter is None else f"{eid}-chapter{chapter}"
    return library.previews_dir / f"{name}.wav"


def preview_episode(
    library: Library,
    eid: str,
    title: str,
    *,
    seconds: float | None = None,
    chapter: int | None = None,
    output: Path | None = None,
    on_play: Announce | None = None,
) -> PreviewOutcome:
    """Play an episode from the start or from chapter ``chapter``, for ``seconds`` if given."""
    start = 0.0
    if chapter is not None:
        chapters = read_chapters(library.chapters_path(eid))
        check_episode_chapter(chapters, chapter, eid)
        assert chapters is not None
        start = chapters[chapter - 1].start_s
    mp3 = library.mp3_path(eid)
    wav = output or default_output(library, eid, chapter)

    def keep() -> Path:
        with atomic_path(wav) as part:
            decode_wav(mp3, part, start_s=start, duration_s=seconds)
        return wav

    heard = seconds if seconds is not None else max(probe(mp3).duration_s - start, 0.0)
    return play_or_keep(
        title, None, heard, lambda: play(mp3, start_s=start, duration_s=seconds), keep, on_play
    )


def play_or_keep(
    title: str,
    wav: Path | None,
    duration: float | None,
    player: Callable[[], None],
    keep: Callable[[], Path] | None = None,
    on_play: Announce | None = None,
) -> PreviewOutcome:
    """Play when there is an output; otherwise (or if playing fails) keep the audio as a WAV."""
    output = find_audio_output()
    reason = NO_OUTPUT
    if output is not None:
        if on_play is not None:
            on_play(title, output, duration or 0.0)
        try:
            player()
        except PlaybackError as exc:
            reason = str(exc)
        else:
            return PreviewOutcome(title, duration or 0.0, wav, output, None)
    if wav is None:
        assert keep is not None
        wav = keep()
    return PreviewOutcome(title, wav_seconds(wav), wav, None, reason)


def wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as reader:
            return reader.getnframes() / reader.getframerate()
    except (OSError, EOFError, wave.Error) as exc:
        raise PreviewError(f"cannot read preview {path}: {exc}") from exc
