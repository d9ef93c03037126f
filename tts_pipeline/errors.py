"""One exception tree: every expected fault is a TTSPipelineError with a readable message.

Each third-party library's exceptions are translated into these in exactly one wrapper
module, so the CLI can print ``str(error)`` as one line and exit 1.
"""

from __future__ import annotations


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


class PublishError(TTSPipelineError):
    """Mirroring the library to its public place failed, or the public copy does not serve
    what the feeds name (one line naming the bucket, key or URL)."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location
