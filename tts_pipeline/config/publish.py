"""The ``[publish]`` config section: where the library goes online, and how.

```toml
base_url = "https://podcast.example.org/"   # top level: the public address of the library

[publish]
target = "s3://my-bucket/podcast"     # or a folder: "/srv/www/podcast"
endpoint_url = "https://<account>.r2.cloudflarestorage.com"   # not AWS: R2, B2, MinIO, ...
region = "auto"
profile = "podcast"                   # a profile of the shared AWS config, never a key
check_after = true                    # fetch the public feeds as an app does after each publish
grace_days = 7                        # unnamed files stay this long before they are removed
pubnotify_url = "https://api.podcastindex.org/api/1.0/hub/pubnotify"   # announce new episodes
websub_hub = "https://pubsubhubbub.appspot.com/"
```

With a target set, ``convert``, ``watch`` and ``backfill`` publish after every episode.
Credentials are never read from here: the bucket library's own chain finds them (environment,
shared credentials file, profile, instance role). A key in this table is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tts_pipeline.errors import ConfigError

RETRY_MODES = ("standard", "adaptive", "legacy")
_SECRETS = {
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "access_key",
    "access_key_id",
    "secret",
    "secret_key",
    "secret_access_key",
    "session_token",
    "password",
    "token",
}


@dataclass(frozen=True)
class PublishSettings:
    target: str = ""  # "": publish only when the command asks (``publish --to``)
    base_url: str = ""  # "": the top-level base_url
    endpoint_url: str = ""  # "": AWS itself
    region: str = ""
    profile: str = ""
    retry_mode: str = "standard"
    max_attempts: int = 5  # per request, throttling and network faults included
    grace_days: float = 7.0
    workers: int = 4  # uploads at once
    check_after: bool = False
    pubnotify_url: str = ""
    websub_hub: str = ""

    @property
    def grace_s(self) -> float:
        return self.grace_days * 86400.0


_KINDS: dict[str, tuple[type, str]] = {
    "target": (str, "a string: s3://BUCKET/PREFIX or a folder"),
    "base_url": (str, "a string"),
    "endpoint_url": (str, "a string"),
    "region": (str, "a string"),
    "profile": (str, "a string"),
    "retry_mode": (str, "one of " + ", ".join(RETRY_MODES)),
    "max_attempts": (int, "a whole number of 1 or more"),
    "grace_days": (float, "a number of 0 or more"),
    "workers": (int, "a whole number of 1 or more"),
    "check_after": (bool, "true or false"),
    "pubnotify_url": (str, "a string"),
    "websub_hub": (str, "a string"),
}


def parse_publish(raw: Any, where: str) -> PublishSettings:
    """Validate a ``[publish]`` table."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [publish] must be a table")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name.lower() in _SECRETS:
            raise ConfigError(
                f"{where}: [publish] {name}: credentials never go in the config file; set them"
                " in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or a profile of"
                " ~/.aws/credentials named by [publish] profile"
            )
        if name not in _KINDS:
            raise ConfigError(f"{where}: [publish] has an unknown key: {name}")
        values[name] = _checked(name, value, f"{where}: [publish] {name}")
    return PublishSettings(**values)


def _checked(name: str, value: Any, where: str) -> Any:
    kind, description = _KINDS[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if ok and kind is int:
        ok = value >= 1
    if ok and kind is float:
        ok = value >= 0
    if ok and name == "retry_mode":
        ok = value in RETRY_MODES
    if not ok:
        raise ConfigError(f"{where} must be {description}")
    return value
