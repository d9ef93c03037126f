"""One exception tree: every expected fault is a TTSPipelineError with a readable message.

Each third-party library's exceptions are translated into these in exactly one wrapper
module, so the CLI can print ``str(error)`` as one line and exit 1.
"""

from __future__ import annotations

from tts_pipeline.models import Episode


class TTSPipelineError(Exception):
    """Base of every expected, user-facing failure."""


class ConfigError(TTSPipelineError):
    """The config file or a voice profile is missing, unreadable or invalid."""


class IngestError(TTSPipelineError):
    """A post could not be fetched or understood."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class UnsupportedURLError(IngestError):
    """The URL names nothing this tool can fetch."""


class PostNotFoundError(IngestError):
    """The forum answered that the post does not exist (or is not visible)."""


class CleanError(TTSPipelineError):
    """The post has nothing speakable (empty or too short a body)."""


class SynthesisError(TTSPipelineError):
    """The speech engine failed or produced no audio."""

    def __init__(self, message: str, *, engine: str | None = None) -> None:
        super().__init__(message)
        self.engine = engine


class PackagingError(TTSPipelineError):
    """Joining, normalising, encoding or tagging the audio failed."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class FeedError(TTSPipelineError):
    """The podcast feed could not be written."""


class LibraryError(TTSPipelineError):
    """The library folder or its state database cannot be used."""


class VerificationError(TTSPipelineError):
    """The speech recogniser that checks episodes failed on a chunk (a missing extra or model
    is a ConfigError: not the post's fault)."""


class PreviewError(TTSPipelineError):
    """A preview could not be prepared or played."""


class ServeError(TTSPipelineError):
    """The local library server cannot start (address in use, library missing)."""


class ClusterError(TTSPipelineError):
    """The Dask scheduler cannot be reached or has no workers."""


class WorkerLostError(TTSPipelineError):
    """A task's worker was lost more often than it may be submitted again."""


class SidecarError(TTSPipelineError):
    """A chapters or transcript file exists but cannot be read."""


class ResponseCutError(IngestError):
    """The reply started but the connection broke before its end: worth asking again."""


class PlaybackError(PreviewError):
    """ffplay is missing, failed, or could not open the sound output."""


class VoiceInstallError(TTSPipelineError):
    """A voice could not be fetched, or what was fetched failed verification."""


class WorkerCrashError(SynthesisError):
    """A worker process died (killed, out of memory, or the engine crashed it)."""


class HeldBackError(TTSPipelineError):
    """The episode was made and verified, but is below the bar: it is not published."""

    def __init__(self, message: str, *, episode: Episode) -> None:
        super().__init__(message)
        self.episode = episode


class BusyError(TTSPipelineError):
    """Another process holds a lock this one needs (the command exits 75: try again later)."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class WatcherBusyError(BusyError):
    """Another watcher holds the library's lock."""


class PublishBusyError(BusyError):
    """Another publish of the library is running."""


class PublishError(TTSPipelineError):
    """Mirroring the library to its public place failed, or the public copy does not serve
    what the feeds name (one line naming the bucket, key or URL)."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location


class LibraryBusyError(BusyError):
    """Another process held what this one needs in the library (an episode it is making, the
    feeds it is writing) for longer than this one would wait."""

    def __init__(self, message: str, *, what: str) -> None:
        super().__init__(message)
        self.what = what
