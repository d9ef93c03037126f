"""The verify stage as the pipeline sees it: start, feed each chunk, save the report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tts_pipeline.config import Config
from tts_pipeline.library.folders import EpisodeFolder
from tts_pipeline.models import ChunkAudio, Verification
from tts_pipeline.verify.report import VerifyReport, write_report
from tts_pipeline.verify.verifier import Verifier, check_installed
from tts_pipeline.verify.whisper import resolve_model


class _Advance(Protocol):
    def advance(self, audio: ChunkAudio) -> None: ...


def check_verifier(config: Config) -> None:
    """ConfigError now if verification could not run (extra missing, bad model folder)."""
    check_installed()
    resolve_model(config.verify_model)


def start_verifier(config: Config, jobs: int) -> Verifier:
    """A running verifier for one episode; VerificationError at once if it cannot work."""
    return Verifier.start(config.verify_model, config.verify_threshold, jobs=jobs)


def each_chunk(
    progress: _Advance | None, verifier: Verifier | None
) -> Callable[[ChunkAudio], None] | None:
    """The synthesis runner's ``on_progress``: advance the bar, queue the chunk's check."""
    if verifier is None:
        return progress.advance if progress else None

    def report(audio: ChunkAudio) -> None:
        if progress is not None:
            progress.advance(audio)
        verifier.submit(audio)

    return report


def save_report(
    folder: EpisodeFolder, eid: str, report: VerifyReport | None
) -> Verification | None:
    """Write the side file ``<id>.verify.json`` in the folder the episode is made in; the
    summary that goes with the episode."""
    if report is None:
        return None
    path = folder.verify_report_path(eid)
    write_report(path, report, eid)
    return report.summary(path)
