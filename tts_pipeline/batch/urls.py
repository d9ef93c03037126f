"""``convert --from-file``: the list of URLs a batch converts, one by one."""

from __future__ import annotations

from pathlib import Path

from tts_pipeline.errors import ConfigError


def read_url_file(path: Path) -> list[str]:
    """The URLs in ``path``, one per line; blank lines and ``#`` comments (a line starting
    with ``#``, or ``#`` after a space) are ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the URL list {path}: {exc}") from None
    urls = []
    for line in text.splitlines():
        # A comment starts a line or follows a space: a URL's own #fragment is kept.
        url = line.split(" #", 1)[0].strip()
        if url and not url.startswith("#"):
            urls.append(url)
    return urls
