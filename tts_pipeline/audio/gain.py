"""A fixed gain on mono s16le samples (a quieter voice of an episode matched to the others)."""

from __future__ import annotations

import numpy


def scaled(samples: bytes, gain_db: float) -> bytes:
    """``samples`` (s16le) times ``gain_db``, rounded and clipped to 16 bits."""
    if not gain_db or not samples:
        return samples
    pcm = numpy.frombuffer(samples, dtype="<i2").astype(numpy.float32)
    pcm *= numpy.float32(10 ** (gain_db / 20))
    return numpy.clip(numpy.rint(pcm), -32768, 32767).astype("<i2").tobytes()
