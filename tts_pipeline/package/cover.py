"""The project's own default cover art, and the code that draws it.

A flat design (navy ground, a teal disc, an amber waveform) drawn row by row and written as a
PNG with zlib + struct, so no imaging library is needed and the ~6 MB of pixels compress to a
few kilobytes. 1400x1400 RGB at 72 dpi: the smallest square Apple Podcasts accepts.
``tools/make_cover.py`` regenerates ``tts_pipeline/assets/cover.png`` from this module.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import math
import struct
import zlib
from importlib import resources
from pathlib import Path

SIZE = 1400
_NAVY = bytes((0x14, 0x21, 0x3D))
_TEAL = bytes((0x1F, 0x6F, 0x8B))
_AMBER = bytes((0xF4, 0xB4, 0x3C))

_CENTRE = SIZE // 2
_DISC_RADIUS = 520
_BAR_WIDTH = 40
_BAR_GAP = 20
# Relative bar heights, left to right: a symmetric burst of speech.
_BARS = (0.18, 0.32, 0.5, 0.38, 0.66, 0.9, 0.6, 1.0, 0.6, 0.9, 0.66, 0.38, 0.5, 0.32, 0.18)
_MAX_BAR = 640  # height of the tallest bar, caps included


def _spans(y: int) -> list[tuple[int, int, bytes]]:
    """Horizontal runs [x0, x1) of colour on row ``y``, painted in order."""
    spans: list[tuple[int, int, bytes]] = []
    dy = y + 0.5 - _CENTRE
    if abs(dy) < _DISC_RADIUS:
        half = math.sqrt(_DISC_RADIUS**2 - dy**2)
        spans.append((round(_CENTRE - half), round(_CENTRE + half), _TEAL))
    total = len(_BARS) * _BAR_WIDTH + (len(_BARS) - 1) * _BAR_GAP
    left = _CENTRE - total // 2
    radius = _BAR_WIDTH / 2
    for n, level in enumerate(_BARS):
        half_height = level * _MAX_BAR / 2
        if abs(dy) >= half_height:
            continue
        x_mid = left + n * (_BAR_WIDTH + _BAR_GAP) + radius
        # Rounded ends: inside the cap the bar narrows along a semicircle.
        into_cap = abs(dy) - (half_height - radius)
        half = radius if into_cap <= 0 else math.sqrt(max(radius**2 - into_cap**2, 0.0))
        spans.append((round(x_mid - half), round(x_mid + half), _AMBER))
    return spans


def render_rows() -> list[bytes]:
    """The cover's RGB rows, top to bottom."""
    rows = []
    for y in range(SIZE):
        row = bytearray(_NAVY * SIZE)
        for x0, x1, colour in _spans(y):
            row[3 * x0 : 3 * x1] = colour * (x1 - x0)
        rows.append(bytes(row))
    return rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def render_cover_png() -> bytes:
    """The default cover as PNG bytes (8-bit RGB, no interlace, 72 dpi)."""
    ihdr = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit truecolour
    dots_per_metre = round(72 / 0.0254)
    phys = struct.pack(">IIB", dots_per_metre, dots_per_metre, 1)
    raw = b"".join(b"\x00" + row for row in render_rows())  # filter type 0 on every row
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", ihdr),
            _chunk(b"pHYs", phys),
            _chunk(b"IDAT", zlib.compress(raw, 9)),
            _chunk(b"IEND", b""),
        )
    )


_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


@functools.cache
def default_cover() -> Path:
    """Path of the bundled ``assets/cover.png`` (extracted to a temp file if zipped)."""
    resource = resources.files("tts_pipeline") / "assets" / "cover.png"
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(resources.as_file(resource))
