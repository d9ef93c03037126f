"""Plan engine calls: a ``Script`` becomes ordered, non-empty chunks of at most ``max_chars``.

Each chunk holds whole sentences of one segment (engines slow down and crash on long input,
and a pause belongs at every paragraph end), so a chunk never spans two segments.

Sentences are split on the *written* text (the splitter knows "e.g." and "3.5%"); then an
optional ``speak`` function (``clean.speaker(voice)``: pronunciation lexicon and normaliser)
turns each piece into what the engine says. ``Chunk.text`` is the spoken form and
``Chunk.display`` the written one, for transcripts; the limit applies to the spoken form.
"""

from __future__ import annotations

from collections.abc import Callable

from tts_pipeline.models import Chunk, Pauses, Script, Segment, SegmentKind
from tts_pipeline.sentences import split_long, split_sentences

Speak = Callable[[str], str]


def pack(sentences: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive sentences (with one space) into chunks of <= ``max_chars``."""
    return [spoken for spoken, _ in pack_spoken(sentences, max_chars, None)]


def _identity(text: str) -> str:
    return text


def _pieces(sentence: str, max_chars: int, speak: Speak) -> list[tuple[str, str]]:
    """(spoken, written) pieces of one sentence, each spoken piece at most ``max_chars``.

    Speaking can lengthen text ("3.5%" -> "three point five percent"), so the written sentence
    is cut with a smaller limit until every spoken piece fits.
    """
    limit = max_chars
    while True:
        pairs = [(speak(p).strip(), p) for p in split_long(sentence, limit)]
        if all(len(s) <= max_chars for s, _ in pairs) or limit <= 16:
            break
        limit = max(16, limit * 2 // 3)
    out: list[tuple[str, str]] = []
    for spoken, written in pairs:
        parts = split_long(spoken, max_chars)  # a last resort: cut the spoken text itself
        out.extend((part, written if len(parts) == 1 else part) for part in parts)
    return [(s, w) for s, w in out if s]


def pack_spoken(sentences: list[str], max_chars: int, speak: Speak | None) -> list[tuple[str, str]]:
    """Like ``pack``, on (spoken, written) pairs; the limit applies to the spoken text."""
    chunks: list[tuple[str, str]] = []
    spoken, written = "", ""
    for sentence in sentences:
        for piece, shown in _pieces(sentence, max_chars, speak or _identity):
            if spoken and len(spoken) + 1 + len(piece) <= max_chars:
                spoken, written = f"{spoken} {piece}", f"{written} {shown}"
            else:
                if spoken:
                    chunks.append((spoken, written))
                spoken, written = piece, shown
    if spoken:
        chunks.append((spoken, written))
    return chunks


def _end_pause(segment: Segment, pauses: Pauses) -> int:
    # A heading (and the intro, which names the post) is followed by a longer breath.
    if segment.kind in (SegmentKind.HEADING, SegmentKind.INTRO):
        return pauses.heading_ms
    return pauses.paragraph_ms


def plan_chunks(
    script: Script, max_chars: int, pauses: Pauses, speak: Speak | None = None
) -> list[Chunk]:
    """All chunks of ``script`` in reading order, indexed 0..n-1.

    ``section`` is -1 for the intro, ``i`` for ``script.sections[i]`` and
    ``len(script.sections)`` for the outro. ``speak`` maps written to spoken text (None: the
    engine is given the written text). A chunk's ``display`` is set where the transcript
    should differ from what is said.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, not {max_chars}")
    placed: list[tuple[int, Segment]] = [(-1, script.intro)]
    for number, section in enumerate(script.sections):
        placed.extend((number, segment) for segment in section.segments)
    placed.append((len(script.sections), script.outro))

    chunks: list[Chunk] = []
    for section_index, segment in placed:
        texts = pack_spoken(split_sentences(segment.text), max_chars, speak)
        for position, (text, written) in enumerate(texts):
            last = position == len(texts) - 1
            pause = _end_pause(segment, pauses) if last else pauses.sentence_ms
            shown = written if written != text else None
            if segment.display is not None:
                # A stand-in (an omitted equation): its first chunk carries the transcript.
                shown = segment.display if position == 0 else ""
            chunks.append(Chunk(len(chunks), text, pause, section_index, shown))
    return chunks
