"""The WebVTT transcript: cue placement on real pauses, and a file any WebVTT reader accepts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from webvtt_reader import parse_vtt

from tts_pipeline.models import Chunk, ChunkAudio
from tts_pipeline.package.ffmpeg import detect_silences
from tts_pipeline.package.join import ChunkSpan, Timeline, join_chunks
from tts_pipeline.package.transcript import (
    CUE_CHARS,
    LINE_CHARS,
    Cue,
    build_cues,
    caption_pieces,
    render_vtt,
)
from tts_pipeline.sentences import split_sentences
from tts_pipeline.synth.runner import synthesize_chunks
from tts_pipeline.synth.voices import load_voice

RATE = 22050


def _audio(index: int, text: str, frames: int, pause_ms: int = 600) -> ChunkAudio:
    return ChunkAudio(
        Chunk(index, text, pause_ms, 0), Path(f"/nonexistent/{index}.wav"), frames, RATE
    )


def test_render_escapes_wraps_and_times() -> None:
    cues = [
        Cue(0, 11025, RATE, "Tom & Jerry <b>x</b> --> arrows\x00\x1b and\nnewlines", 0),
        Cue(11025, RATE * 3723 + 11, RATE, "word " * 40, 0),
        Cue(RATE * 3723 + 11, RATE * 3724, RATE, "\u202eRTL שלום 🎧", 1),
    ]
    data = render_vtt(cues)
    parsed = parse_vtt(data)
    assert [(s, e) for s, e, _ in parsed] == [(0, 500), (500, 3_723_000), (3_723_000, 3_724_000)]
    first = parsed[0][2]
    assert first == "Tom &amp; Jerry &lt;b&gt;x&lt;/b&gt; --&gt; arrows and newlines"
    assert all("-->" not in t for _, _, t in parsed)
    assert all(len(line) <= LINE_CHARS for _, _, t in parsed for line in t.split("\n"))
    assert parsed[1][2].count("\n") >= 2  # 200 characters: wrapped, not one long line
    assert parsed[2][2] == "\u202eRTL שלום 🎧"
    assert b"\x00" not in data and b"\x1b" not in data


def test_caption_pieces_keep_cues_to_two_lines() -> None:
    long_sentence = ", ".join(f"clause number {n} goes on" for n in range(20)) + "."
    sentences = caption_pieces(f"Short one. {long_sentence} Dr. Smith et al. agree.")
    assert sentences[0] == ["Short one."]
    assert len(sentences) == 3 and len(sentences[1]) > 1
    assert all(len(piece) <= CUE_CHARS for s in sentences for piece in s)
    assert " ".join(sentences[1]) == long_sentence


def test_cues_follow_the_pauses_and_the_chunk_edges() -> None:
    text = "First sentence here. Second one is a bit longer than that. Third."
    spans = (ChunkSpan(0, 0, 5 * RATE, RATE // 2), ChunkSpan(1, 5 * RATE + RATE // 2, RATE, 0))
    timeline = Timeline(RATE, 6 * RATE + RATE // 2, spans)
    audio = [_audio(0, text, 5 * RATE), _audio(1, "Alone.", RATE, 0)]
    # Pauses in seconds: two inside chunk 0 (where the engine paused), one comma-length
    # distractor, the lead-in of chunk 0 and the inserted pause between the chunks.
    silences = [(0.0, 0.05), (1.10, 1.35), (2.0, 2.08), (3.90, 4.16), (4.95, 5.52)]
    cues = build_cues(audio, timeline, silences)
    assert [c.text for c in cues] == [
        "First sentence here.",
        "Second one is a bit longer than that.",
        "Third.",
        "Alone.",
    ]
    assert [(c.start_frame, c.end_frame) for c in cues] == [
        (0, round(1.35 * RATE)),
        (round(1.35 * RATE), round(4.16 * RATE)),
        (round(4.16 * RATE), 5 * RATE),
        (5 * RATE + RATE // 2, 6 * RATE + RATE // 2),
    ]
    # Without pauses the split follows the text's proportions, still inside the chunk.
    plain = build_cues(audio, timeline, [])
    assert [c.text for c in plain] == [c.text for c in cues]
    starts = [c.start_frame for c in plain[:3]]
    assert starts == sorted(starts) and plain[2].end_frame == 5 * RATE
    assert 1.2 * RATE < plain[1].start_frame < 2.2 * RATE  # about a third of 5 s in


def test_a_chunk_too_short_to_split_is_one_cue() -> None:
    timeline = Timeline(RATE, 100, (ChunkSpan(0, 0, 100, 0),))
    (cue,) = build_cues([_audio(0, "A. B. C.", 100, 0)], timeline, [])
    assert cue.text == "A. B. C." and (cue.start_frame, cue.end_frame) == (0, 100)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_cues_land_on_real_sentence_starts(tmp_path: Path) -> None:
    """Against the real engine: where each sentence starts inside one spoken chunk.

    Truth: the engine speaking the chunk's first k sentences alone lasts until the (k+1)th
    sentence begins in the whole chunk (it stops at the same place, pause included).
    """
    text = (
        "The alignment problem is hard. Yes. No. Maybe so. Researchers have proposed many"
        " approaches, including interpretability, scalable oversight and debate; none of them"
        " is known to suffice. Dr. Smith et al. disagree, e.g. in 3.5% of cases. That is all."
    )
    sentences = split_sentences(text)
    assert len(sentences) == 7
    prefixes = [" ".join(sentences[:k]) for k in range(1, len(sentences))]
    chunks = [Chunk(n, t, 0, 0) for n, t in enumerate([text, *prefixes])]
    audio = synthesize_chunks(chunks, load_voice("default"), tmp_path / "cache", jobs=2)
    timeline = join_chunks(audio[:1], tmp_path / "joined.wav")
    cues = build_cues(audio[:1], timeline, detect_silences(tmp_path / "joined.wav"))
    for k, sentence in enumerate(sentences[1:], 1):
        # A sentence longer than two caption lines spans several cues: take its first.
        start = next(c.start_frame for c in cues if sentence.startswith(c.text)) / RATE
        truth = audio[k].duration_s
        assert abs(start - truth) < 0.15, (sentence, start, truth)
    assert cues[0].start_frame == 0 and cues[-1].end_frame == timeline.total_frames
