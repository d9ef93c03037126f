"""Read an episode's side files: the chapters JSON and the WebVTT transcript.

Both are written by the package stage (``episodes/<id>.chapters.json`` in the Podcasting 2.0
JSON chapters format, ``episodes/<id>.vtt``); the preview and the local server only read them.
An absent file is normal (older episodes have none): readers return ``None`` for it and raise
:class:`SidecarError` only for a file that is present but unreadable.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.errors import SidecarError

CHAPTERS_SUFFIX = ".chapters.json"
VTT_SUFFIX = ".vtt"
SCRIPT_SUFFIX = ".txt"


@dataclass(frozen=True)
class SavedChapter:
    """A chapter as read back from an episode's chapters file (``package.chapters.Chapter``
    is the one placed while packaging)."""

    start_s: float
    title: str


@dataclass(frozen=True)
class SavedCue:
    """A caption as read back from an episode's WebVTT file (``package.transcript.Cue`` is
    the one timed while packaging)."""

    start_s: float
    end_s: float
    text: str


def chapters_path(episodes_dir: Path, eid: str) -> Path:
    return episodes_dir / f"{eid}{CHAPTERS_SUFFIX}"


def vtt_path(episodes_dir: Path, eid: str) -> Path:
    return episodes_dir / f"{eid}{VTT_SUFFIX}"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SidecarError(f"cannot read {path}: {exc}") from exc


def read_chapters(path: Path) -> list[SavedChapter] | None:
    """The listed chapters (``toc: false`` markers left out), by start time; None if absent."""
    text = _read_text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
        entries = data["chapters"]
        if not isinstance(entries, list):
            raise TypeError("'chapters' is not a list")
        chapters = []
        for number, entry in enumerate(entries, 1):
            start = float(entry["startTime"])
            if not math.isfinite(start) or start < 0:
                raise ValueError(f"chapter {number} has startTime {entry['startTime']!r}")
            if entry.get("toc", True) is False:
                continue
            title = entry.get("title")
            chapters.append(SavedChapter(start, str(title) if title else f"Chapter {number}"))
    except (ValueError, KeyError, TypeError) as exc:
        raise SidecarError(f"{path} is not a JSON chapters file: {exc}") from exc
    return sorted(chapters, key=lambda c: c.start_s)


_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}\.\d{3})\s+-->\s+(?P<end>(?:\d+:)?\d{1,2}:\d{2}\.\d{3})"
)
_TAG = re.compile(r"<[^>]*>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": "\u00a0", "&lrm;": "", "&rlm;": ""}


def _seconds(stamp: str) -> float:
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def _cue_text(lines: list[str]) -> str:
    # Voice spans (<v Name>), classes and timestamps are markup, not words.
    text = " ".join(_TAG.sub("", line).strip() for line in lines)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return " ".join(text.split())


def read_cues(path: Path) -> list[SavedCue] | None:
    """The cues of a WebVTT file as plain text; None if the file is absent."""
    text = _read_text(path)
    if text is None:
        return None
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    if not blocks or not blocks[0].startswith("WEBVTT"):
        raise SidecarError(f"{path} is not a WebVTT file (no WEBVTT header)")
    cues = []
    for block in blocks[1:]:
        lines = block.split("\n")
        for i, line in enumerate(lines):
            timing = _TIMING.match(line)
            if timing:
                text_lines = lines[i + 1 :]
                start, end = _seconds(timing["start"]), _seconds(timing["end"])
                cues.append(SavedCue(start, end, _cue_text(text_lines)))
                break
    return cues
