"""Plan engine calls: a ``Script`` becomes ordered, non-empty chunks of at most ``max_chars``.

Each chunk holds whole sentences of one segment (engines slow down and crash on long input,
and a pause belongs at every paragraph end), so a chunk never spans two segments.

Sentences are split on the *written* text (the splitter knows "e.g." and "3.5%"); then an
optional ``speak`` function (``clean.speaker(voice)``: pronunciation lexicon and normaliser)
turns each piece into what the engine says. ``Chunk.text`` is the spoken form and
``Chunk.display`` the written one, for transcripts; the limit applies to the spoken form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Reading:
    """How one voice reads: its profile ("" for the episode's narrator voice), its engine's
    limit per call, its pauses, its written -> spoken function and its pace."""

    voice: str
    max_chars: int
    pauses: Pauses
    speak: Speak | None = None
    rate_wpm: int = 160


@dataclass(frozen=True)
class Casting:
    """A conversation's voices (display name -> reading; quotes optionally in their own),
    when its speakers' names are said, and the pause between turns."""

    speakers: Mapping[str, Reading]
    quote: Reading | None = None
    announce: str = "change"  # "always", "change" or "first"
    announce_after_s: float = 30.0
    turn_pause_ms: int = 800


def _end_pause(segment: Segment, pauses: Pauses) -> int:
    # A heading (and the intro, which names the post) is followed by a longer breath.
    if segment.kind in (SegmentKind.HEADING, SegmentKind.INTRO):
        return pauses.heading_ms
    return pauses.paragraph_ms


@dataclass
class _Plan:
    """The chunks so far, and what the listener has heard: an estimated clock, when each
    speaker was last heard and who spoke the last turn."""

    narrator: Reading
    cast: Casting | None
    chunks: list[Chunk] = field(default_factory=list)
    clock_s: float = 0.0
    heard: dict[str, float] = field(default_factory=dict)
    last_speaker: str = ""

    def add(self, reading: Reading, section: int, segment: Segment, text: str, end: int) -> None:
        """``text`` of ``segment`` as chunks in ``reading``'s voice; ``end`` ms after it."""
        texts = pack_spoken(split_sentences(text), reading.max_chars, reading.speak)
        for position, (spoken, written) in enumerate(texts):
            last = position == len(texts) - 1
            pause = end if last else reading.pauses.sentence_ms
            shown = written if written != spoken else None
            if segment.display is not None:
                # A stand-in (an omitted equation): its first chunk carries the transcript.
                shown = segment.display if position == 0 else ""
            self.chunks.append(
                Chunk(len(self.chunks), spoken, pause, section, shown, reading.voice,
                      segment.speaker)
            )  # fmt: skip
            self.clock_s += len(spoken.split()) * 60 / reading.rate_wpm + pause / 1000
        if segment.speaker:
            self.heard[segment.speaker] = self.clock_s
            self.last_speaker = segment.speaker

    def announces(self, name: str) -> bool:
        """Whether a turn of ``name`` starting now opens with the name said."""
        assert self.cast is not None
        mode, heard = self.cast.announce, self.heard.get(name)
        if mode == "always" or heard is None:
            return True
        away = self.clock_s - heard > self.cast.announce_after_s
        return mode == "change" and name != self.last_speaker and away


def plan_chunks(
    script: Script,
    max_chars: int,
    pauses: Pauses,
    speak: Speak | None = None,
    cast: Casting | None = None,
) -> list[Chunk]:
    """All chunks of ``script`` in reading order, indexed 0..n-1.

    ``section`` is -1 for the intro, ``i`` for ``script.sections[i]`` and
    ``len(script.sections)`` for the outro. ``speak`` maps written to spoken text (None: the
    engine is given the written text). A chunk's ``display`` is set where the transcript
    should differ from what is said.

    A conversation's turns are read by their speakers' voices in ``cast``, each turn opening
    with the speaker's name when ``cast.announce`` says so (said by the narrator, a chunk of
    its own that the transcript leaves out: its cues name the speaker) and followed by
    ``cast.turn_pause_ms``. Without ``cast`` one voice reads everything, and every turn opens
    with "Alice says:".
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, not {max_chars}")
    placed: list[tuple[int, Segment]] = [(-1, script.intro)]
    for number, section in enumerate(script.sections):
        placed.extend((number, segment) for segment in section.segments)
    placed.append((len(script.sections), script.outro))

    narrator = Reading("", max_chars, pauses, speak)
    plan = _Plan(narrator, cast)
    turn = 0
    for n, (section_index, segment) in enumerate(placed):
        opens = bool(segment.speaker) and segment.turn != turn
        turn = segment.turn if segment.speaker else turn  # a heading inside a turn: no new one
        reading, text, end = narrator, segment.text, _end_pause(segment, pauses)
        if segment.speaker and cast is None:
            text = f"{segment.speaker} says: {text}" if opens else text
        elif segment.speaker and cast is not None:
            reading = cast.speakers.get(segment.speaker, narrator)
            if opens and plan.announces(segment.speaker):
                name = Segment(SegmentKind.PARAGRAPH, f"{segment.speaker}.", display="")
                plan.add(narrator, section_index, name, name.text, pauses.sentence_ms)
            following = placed[n + 1][1].turn if n + 1 < len(placed) else 0
            end = cast.turn_pause_ms if following != turn else reading.pauses.paragraph_ms
        if segment.quoted and cast is not None and cast.quote is not None:
            reading = cast.quote
        plan.add(reading, section_index, segment, text, end)
    return plan.chunks
