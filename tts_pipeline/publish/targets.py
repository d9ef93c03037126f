"""Which target a spec names: ``s3://BUCKET/PREFIX`` (``s3.py``, the optional boto3 extra)
or a folder (``target.py``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from tts_pipeline.errors import PublishError
from tts_pipeline.publish.target import FolderTarget, Target


def open_target(
    spec: str,
    endpoint_url: str | None = None,
    *,
    region: str | None = None,
    profile: str | None = None,
    retry_mode: str = "standard",
    max_attempts: int = 5,
) -> Target:
    """``s3://BUCKET[/PREFIX]`` or a folder (a path or ``file:///path``).

    For a bucket: ``endpoint_url`` for a service other than AWS (R2, MinIO, SeaweedFS);
    ``profile`` names a profile of the shared AWS config (never a key); the retry mode and
    attempts go to botocore. Credentials come from boto3's own chain only.
    """
    parts = urlsplit(spec)
    if parts.scheme == "s3":
        try:
            from tts_pipeline.publish.s3 import S3Target
        except ImportError as exc:  # boto3 is the optional [publish] extra
            raise PublishError(
                f"publishing to {spec} needs boto3: pip install 'tts-pipeline[publish]'"
            ) from exc
        return S3Target.from_url(
            spec,
            endpoint_url=endpoint_url,
            region=region,
            profile=profile,
            retry_mode=retry_mode,
            max_attempts=max_attempts,
        )
    if parts.scheme == "file":
        return FolderTarget(Path(unquote(parts.path)))
    if parts.scheme and len(parts.scheme) > 1:  # a Windows drive letter is no scheme
        raise PublishError(f"cannot publish to {spec!r}: use s3://BUCKET/PREFIX or a folder")
    return FolderTarget(Path(spec))
