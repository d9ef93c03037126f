"""A bucket behind the S3 API (AWS, R2, MinIO, SeaweedFS ...): the only module importing boto3.

Credentials come only from boto3's own chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, the shared config and credentials files, an instance role): never from the
library, the tool's config or the command line, and they are never logged. Transient faults
(connection resets, 5xx, 503 SlowDown, 429) are retried by botocore's own retry modes; every
fault left over becomes one PublishError line naming the bucket and key.
"""

from __future__ import annotations

import base64
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

from tts_pipeline.config.publish import RETRY_MODES
from tts_pipeline.errors import PublishError
from tts_pipeline.publish.target import RemoteObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

_TIMEOUTS = botocore.exceptions.ConnectTimeoutError | botocore.exceptions.ReadTimeoutError
# Error codes that say the same thing every time: retrying cannot help.
_ACCESS_CODES = {
    "InvalidAccessKeyId": "the access key is not known to the service",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "AccessDenied": "access denied",
    "ExpiredToken": "the credentials have expired",
    "InvalidToken": "the session token is invalid",
}


class S3Target:
    """``s3://bucket/prefix``: every public file becomes the object ``prefix/relative``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        retry_mode: str = "standard",
        max_attempts: int = 5,
        timeout_s: float = 60.0,
    ) -> None:
        if retry_mode not in RETRY_MODES:
            raise PublishError(f"retry mode {retry_mode!r} is not one of {', '.join(RETRY_MODES)}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.requests = 0  # HTTP requests sent (retries included), for reports and benchmarks
        self._lock = threading.Lock()
        # total_max_attempts counts the first try too (botocore's max_attempts does not).
        retries: Any = {"mode": retry_mode, "total_max_attempts": max_attempts}
        config = botocore.config.Config(
            retries=retries,
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            # Checksums only where the API requires them: several S3-compatible services
            # refuse the newer default trailers. Content-MD5 is sent on every PUT instead.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        try:
            session = boto3.session.Session(profile_name=profile, region_name=region)
            self.client: S3Client = session.client("s3", endpoint_url=endpoint_url, config=config)
        except botocore.exceptions.BotoCoreError as exc:
            raise PublishError(f"cannot use bucket {self.url}: {exc}", location=self.url) from exc
        self.client.meta.events.register("before-send.s3", self._count)

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None, **options: Any) -> S3Target:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise PublishError(f"{url!r} is not an s3://BUCKET/PREFIX address")
        return cls(parts.netloc, parts.path, endpoint_url=endpoint_url, **options)

    def _count(self, **_: object) -> None:
        with self._lock:  # uploads run on several threads
            self.requests += 1

    @property
    def url(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def put(
        self, relative: str, body: Path | bytes, *, content_type: str, cache_control: str, md5: str
    ) -> str:
        key = self.key(relative)
        digest = base64.b64encode(bytes.fromhex(md5)).decode("ascii")
        if isinstance(body, bytes):
            answer = self._put(key, body, content_type, cache_control, digest)
        else:
            try:
                with open(body, "rb") as fh:
                    answer = self._put(key, fh, content_type, cache_control, digest)
            except OSError as exc:
                raise PublishError(f"cannot read {body}: {exc.strerror}", location=key) from exc
        return str(answer.get("ETag", "")).strip('"')

    def _put(self, key: str, body: Any, ctype: str, cache: str, digest: str) -> dict[str, Any]:
        with self._translated("upload", key):
            answer: dict[str, Any] = dict(
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType=ctype,
                    CacheControl=cache,
                    ContentMD5=digest,
                )
            )
        return answer

    def delete(self, relative: str) -> None:
        key = self.key(relative)
        with self._translated("remove", key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def list(self) -> dict[str, RemoteObject]:
        found: dict[str, RemoteObject] = {}
        lead = f"{self.prefix}/" if self.prefix else ""
        with self._translated("list", lead or "/"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=lead
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item.get("Key", "")
                    etag = str(item.get("ETag", "")).strip('"')
                    found[key[len(lead) :]] = RemoteObject(int(item.get("Size", 0)), etag)
        return found

    def close(self) -> None:
        self.client.close()

    def _translated(self, action: str, key: str) -> _Translated:
        return _Translated(self, action, key)


class _Translated:
    """Turns every botocore fault raised inside it into one PublishError line."""

    def __init__(self, target: S3Target, action: str, key: str) -> None:
        self.target, self.action, self.key = target, action, key

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc is None or not isinstance(
            exc, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError
        ):
            return
        where = f"s3://{self.target.bucket}/{self.key}"
        if self.target.endpoint_url:
            where += f" at {self.target.endpoint_url}"
        raise PublishError(
            f"cannot {self.action} {where}: {describe(exc, self.target.bucket)}", location=where
        ) from exc


def describe(exc: BaseException, bucket: str) -> str:
    """One line saying what went wrong, with no credential in it."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return (
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            " and the shared credentials file"
        )
    if isinstance(exc, botocore.exceptions.PartialCredentialsError):
        return f"incomplete credentials ({exc.kwargs.get('cred_var', 'a value')} is missing)"
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if code == "NoSuchBucket":
            return f"bucket {bucket!r} does not exist (HTTP {status})"
        if code in _ACCESS_CODES:
            return f"{_ACCESS_CODES[code]} ({code}, HTTP {status})"
        message = " ".join(str(error.get("Message", "")).split())
        tail = f" after {attempts} retries" if attempts else ""
        return f"{code or 'error'} (HTTP {status}){tail}: {message}".rstrip(": ")
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | _TIMEOUTS):
        return f"the service cannot be reached ({type(exc).__name__}) after retries"
    return " ".join(str(exc).split()) or type(exc).__name__
