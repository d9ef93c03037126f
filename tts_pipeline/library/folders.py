"""The folder an episode's files are made in or published to: ``episodes/``, or one of the
folders an episode is made aside in (``cache/staging/``, ``held/``).

An episode's files: ``<id>.txt`` (its script), ``<id>.vtt`` (timed transcript),
``<id>.chapters.json``, ``<id>.verify.json`` (what the recogniser heard) and ``<id>.mp3``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.errors import LibraryError
from tts_pipeline.library.sidecars import SCRIPT_SUFFIX, chapters_path, vtt_path

EPISODES_FOLDER = "episodes"
STAGING_FOLDER = "cache/staging"  # where a new episode is made before it is published
HELD_FOLDER = "held"  # where an episode is made when a verification bar may hold it back


@dataclass(frozen=True)
class EpisodeFolder:
    """A folder of episode files inside the library at ``root``, named relative to it (the
    name is what the state database notes)."""

    root: Path
    name: str

    @property
    def path(self) -> Path:
        return self.root / self.name

    def mp3_path(self, eid: str) -> Path:
        return self.path / f"{eid}.mp3"

    def script_path(self, eid: str) -> Path:
        return self.path / f"{eid}{SCRIPT_SUFFIX}"

    def vtt_path(self, eid: str) -> Path:
        """The timed transcript (WebVTT)."""
        return vtt_path(self.path, eid)

    def chapters_path(self, eid: str) -> Path:
        """The Podcasting 2.0 JSON chapters file."""
        return chapters_path(self.path, eid)

    def verify_report_path(self, eid: str) -> Path:
        """The speech recogniser's report: every chunk's transcript and score."""
        return self.path / f"{eid}.verify.json"

    def episode_files(self, eid: str) -> list[Path]:
        """Every file episode ``eid`` may have here, the MP3 last."""
        return [
            self.script_path(eid),
            self.vtt_path(eid),
            self.chapters_path(eid),
            self.verify_report_path(eid),
            self.mp3_path(eid),
        ]

    def prepare(self) -> None:
        """Create the folder, or fail with one clear line."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot use folder {self.path}: {exc.strerror}") from exc

    def discard(self, eid: str) -> None:
        """Remove episode ``eid``'s files here: a made-aside folder cleared before the episode
        is made there again, so no older file (a verification report) is published with it."""
        for path in self.episode_files(eid):
            path.unlink(missing_ok=True)
