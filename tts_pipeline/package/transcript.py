"""A timed transcript (WebVTT) from the audio actually produced.

A chunk can hold a whole paragraph (up to the engine's ``max_chars``), far too much for one
caption. So each chunk's text is cut into caption pieces (sentences, long ones cut again at
``;`` ``:`` ``,`` so a cue is at most two lines of 65 characters, as the Podcasting 2.0
transcript guide recommends), and each piece is placed on the pauses the engine really left
between sentences: the silences inside each chunk (``chunkstats``, which finds the pauses
ffmpeg's silencedetect finds, from the chunk's own WAV), placed on the episode's timeline.

Placement walks the pieces in order. The next boundary is expected where the remaining
audio divides in proportion to the remaining text (letters and pause marks), re-anchored on
the previous boundary so errors do not accumulate along a long chunk; a pause near that point
scores by closeness times the square root of its length, and a small beam search keeps
alternatives, so a pause taken too early can be given back. Without a usable pause the
estimate is kept. Sentences are placed first, then the pieces of a long sentence among the
pauses inside it. Every chunk's first cue starts exactly at the chunk's first sample and its
last ends at its last, so cue and chapter times agree to the sample.

``benchmarks/caption_alignment.py`` measures it against truth from speaking each sentence
prefix alone: with espeak-ng 82 of 86 sentence starts within 0.15 s, the worst 0.30 s (ffmpeg's
silencedetect on the joined audio, side by side: 82 of 86, 0.28 s); with
Piper, which pauses longer at some commas than at full stops, 22 of 27 within 0.5 s, the
worst 2.3 s.
"""

from __future__ import annotations

import bisect
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace

from tts_pipeline.models import ChunkAudio
from tts_pipeline.package.chapters import FrameTimes
from tts_pipeline.package.join import ChunkSpan, Timeline
from tts_pipeline.sentences import split_long, split_sentences

LINE_CHARS = 65
CUE_CHARS = 2 * LINE_CHARS

# How far from the proportional estimate a pause may lie and still be taken: this many
# seconds plus this share of the piece's own estimated length (the estimate is re-anchored
# at every boundary, so its error grows with the piece, not with the chunk).
_WINDOW_S = 1.0
_WINDOW_SHARE = 0.3
_MIN_PIECE_S = 0.1  # shorter pieces would flash by: merged into their chunk's single cue
_EDGE_S = 0.02  # pauses this close to the chunk's own edges are its lead-in and tail
_BEAM = 16  # partial placements kept per boundary
_PAUSE_MARK = re.compile(r"[,;:.!?]")

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Cue(FrameTimes):
    """One caption: ``text`` is heard from ``start_frame`` up to ``end_frame``."""

    start_frame: int
    end_frame: int
    sample_rate: int
    text: str
    chunk_index: int
    speaker: str = ""  # in a conversation, who says it (a ``<v Name>`` voice span)


def caption_pieces(text: str) -> list[list[str]]:
    """Sentences of ``text``, each as its caption pieces (long ones cut to two lines)."""
    sentences = [s for s in split_sentences(text) if s.strip()]
    if not sentences and text.strip():
        sentences = [text.strip()]
    return [[p for p in split_long(s, CUE_CHARS) if p.strip()] or [s] for s in sentences]


def build_cues(
    audio: Sequence[ChunkAudio],
    timeline: Timeline,
    silences_s: Sequence[tuple[float, float]] = (),
) -> tuple[Cue, ...]:
    """Caption cues for every chunk, placed on ``silences_s`` (seconds on ``timeline``)."""
    rate = timeline.sample_rate
    gaps = sorted((round(a * rate), round(b * rate)) for a, b in silences_s if b > a)
    gap_starts = [g[0] for g in gaps]
    edge = round(_EDGE_S * rate)
    cues: list[Cue] = []
    for item, span in zip(audio, timeline.spans, strict=True):
        # Captions show the written form (``shown``): "3.5%", not what the engine was given.
        sentences = caption_pieces(item.chunk.shown)
        if not sentences:
            continue  # the rest of a stand-in: its first chunk's cue carries the text
        lo = bisect.bisect_right(gap_starts, span.start_frame + edge)
        hi = bisect.bisect_left(gap_starts, span.end_frame - edge)
        inside = [g for g in gaps[lo:hi] if g[1] < span.end_frame - edge]
        found = _chunk_cues(sentences, span, inside, item.chunk.index, rate)
        cues.extend(
            replace(c, speaker=item.chunk.speaker) if item.chunk.speaker else c for c in found
        )
    return tuple(cues)


def _chunk_cues(
    sentences: list[list[str]],
    span: ChunkSpan,
    gaps: Sequence[tuple[int, int]],
    chunk_index: int,
    rate: int,
) -> list[Cue]:
    # Sentences first: their pauses are the longest and the surest. Then the pieces of a
    # long sentence, among the clause and comma pauses inside that sentence alone.
    joined = [" ".join(s) for s in sentences]
    placed = _place(joined, span.start_frame, span.end_frame, gaps, rate)
    if len(placed) != len(sentences):  # too short to split: one cue for the chunk
        sentences = [[" ".join(joined)]]
    cues: list[Cue] = []
    for pieces, (start, end) in zip(sentences, _with_ends(placed, span.end_frame), strict=True):
        sub = _place(pieces, start, end, gaps, rate)
        if len(sub) != len(pieces):
            pieces = [" ".join(pieces)]
        cues.extend(
            Cue(p_start, p_end, rate, piece, chunk_index)
            for piece, (p_start, p_end) in zip(pieces, _with_ends(sub, end), strict=True)
        )
    return cues


def _with_ends(starts: Sequence[int], end: int) -> list[tuple[int, int]]:
    """Each start with the next start (the last with ``end``) as its end."""
    return list(zip(starts, [*starts[1:], end], strict=True))


def _weight(piece: str) -> int:
    """How long ``piece`` takes to say, in rough units: letters and digits, and a few more
    for each mark the engine pauses at (a comma costs about as long as three letters)."""
    return sum(ch.isalnum() for ch in piece) + 3 * len(_PAUSE_MARK.findall(piece)) + 1


def _place(
    pieces: Sequence[str], start: int, end: int, gaps: Sequence[tuple[int, int]], rate: int
) -> list[int]:
    """Start frames of ``pieces`` spoken from ``start`` to ``end`` (the first is ``start``).

    Returns just ``[start]`` when the stretch is too short to give each piece a cue. A beam
    search over boundary placements: a greedy choice can take the pause that belongs to the
    next boundary and shift every later cue; keeping the best few partial placements lets
    a later, better-fitting pause undo that.
    """
    min_piece = round(_MIN_PIECE_S * rate)
    if len(pieces) == 1 or end - start < len(pieces) * min_piece:
        return [start]
    weights = [_weight(p) for p in pieces]
    onsets = [g[1] for g in gaps]  # the next piece is heard where a pause ends
    # (score, boundaries so far); the last boundary anchors the next estimate.
    beam: list[tuple[float, list[int]]] = [(0.0, [start])]
    for k in range(1, len(pieces)):
        remaining = sum(weights[k - 1 :])
        latest = end - (len(pieces) - k) * min_piece  # leave room for the later pieces
        candidates: dict[int, tuple[float, list[int]]] = {}
        for score, placed in beam:
            position = placed[-1]
            expected = position + (end - position) * weights[k - 1] // remaining
            earliest = position + min_piece
            window = round(_WINDOW_S * rate + _WINDOW_SHARE * (expected - position))
            options = [(0.0, min(max(expected, earliest), latest))]  # no pause: the estimate
            lo = bisect.bisect_right(onsets, max(earliest, expected - window))
            hi = bisect.bisect_right(onsets, min(latest, expected + window - 1))
            for gap_start, onset in gaps[lo:hi]:
                if gap_start < position:
                    continue
                closeness = 1 - abs(onset - expected) / window
                # A longer pause is the likelier boundary, but only mildly: Piper pauses
                # longer at some commas than at full stops.
                length = math.sqrt((onset - gap_start) / rate)
                options.append((length * closeness, onset))
            for gain, boundary in options:
                total = score + gain
                if boundary not in candidates or candidates[boundary][0] < total:
                    candidates[boundary] = (total, [*placed, boundary])
        beam = sorted(candidates.values(), key=lambda c: c[0], reverse=True)[:_BEAM]
    return beam[0][1]


def _timestamp(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cue_text(text: str, speaker: str = "") -> str:
    # WebVTT cue text is HTML-like: & < > must be escaped ("-->" then cannot occur), and a
    # blank line would end the cue, so the text is re-wrapped into non-empty lines. A
    # speaker's cue opens with a voice span, ``<v Alice>``, which players show as the name.
    flat = " ".join(_UNSAFE.sub(" ", text).split())
    lines = [_escaped(line) for line in textwrap.wrap(flat, LINE_CHARS, break_on_hyphens=False)]
    lines = lines or ["…"]
    name = " ".join(_UNSAFE.sub(" ", speaker).split())
    if name:
        lines[0] = f"<v {_escaped(name)}>{lines[0]}"
    return "\n".join(lines)


def render_vtt(cues: Sequence[Cue]) -> bytes:
    """The cues as a WebVTT file (UTF-8)."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, 1):
        timing = f"{_timestamp(cue.start_ms)} --> {_timestamp(cue.end_ms)}"
        blocks.append(f"{number}\n{timing}\n{_cue_text(cue.text, cue.speaker)}")
    return ("\n\n".join(blocks) + "\n").encode("utf-8")
