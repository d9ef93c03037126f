"""Feed pages the local server has rendered, per address the clients used.

Pages come from the library's stored page plan (:func:`render_feed_pages`), rendered once
per (address, path) and kept until the library's feeds change (``feeds_version``), so a
request costs a small query, not a rendering of the library.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from tts_pipeline.config import Config
from tts_pipeline.library.feed_writer import feeds_version, render_feed_pages
from tts_pipeline.library.layout import Library

FEED_CACHE_BYTES = 32 * 1024 * 1024  # rendered feed pages kept, over every address


class FeedPageCache:
    """Feed pages rendered per (address, path), kept until the library's feeds change and
    within ``max_bytes`` (least recently used dropped first)."""

    def __init__(self, library: Library, config: Config, max_bytes: int = FEED_CACHE_BYTES):
        self.library, self.config, self.max_bytes = library, config, max_bytes
        self._pages: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self._version: tuple[object, ...] | None = None
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, base: str, relative: str) -> tuple[bytes, str] | None:
        """The page's bytes and ETag, or None if the library has no such page."""
        version = feeds_version(self.library)
        key = (base, relative)
        with self._lock:
            if version != self._version:
                self._pages.clear()
                self._version, self._bytes = version, 0
            hit = self._pages.get(key)
            if hit is not None:
                self._pages.move_to_end(key)
                return hit
        data = render_feed_pages(self.library, self.config, base, [relative]).get(relative)
        if data is None:
            return None
        entry = (data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
        with self._lock:
            if version == self._version and key not in self._pages:
                self._pages[key] = entry
                self._bytes += len(data)
                while self._bytes > self.max_bytes and self._pages:
                    self._bytes -= len(self._pages.popitem(last=False)[1][0])
        return entry
