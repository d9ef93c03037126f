"""A strict reader of the WebVTT files the package stage writes, for tests."""

from __future__ import annotations

import re

_TIMING = re.compile(
    r"^(\d\d):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d\d):([0-5]\d):([0-5]\d)\.(\d{3})$"
)


def parse_vtt(data: bytes) -> list[tuple[int, int, str]]:
    """A strict reading of what ``render_vtt`` promises: (start ms, end ms, text) per cue."""
    text = data.decode("utf-8")
    assert text.startswith("WEBVTT\n\n") and text.endswith("\n") and "\r" not in text
    cues = []
    for block in text.strip("\n").split("\n\n")[1:]:
        number, timing, *lines = block.split("\n")
        assert number.isdigit() and lines and all(line.strip() for line in lines)
        match = _TIMING.match(timing)
        assert match, timing
        h1, m1, s1, f1, h2, m2, s2, f2 = map(int, match.groups())
        start = ((h1 * 60 + m1) * 60 + s1) * 1000 + f1
        end = ((h2 * 60 + m2) * 60 + s2) * 1000 + f2
        cues.append((start, end, "\n".join(lines)))
    return cues
