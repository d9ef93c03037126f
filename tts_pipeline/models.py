"""The typed objects that flow between stages. No dicts cross a stage boundary.

URL -ingest-> Post -clean-> Script -plan-> Chunk[] -synth-> ChunkAudio[] -package-> Episode
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

# The prefix of an article that is not a forum post (fetched by the generic extractor): its
# episodes go in the main feed only, not in a per-forum one.
ARTICLE_PREFIX = "WEB"


@dataclass(frozen=True)
class ForumSite:
    """A forum *site* (data, not code): which hosts it answers for and where its API is."""

    key: str  # config key, e.g. "af"
    name: str  # spoken display name, e.g. "The AI Alignment Forum"
    prefix: str  # episode-title prefix and feed key, e.g. "AF"
    hosts: tuple[str, ...]  # lower-case host[:port] values, e.g. ("www.alignmentforum.org",)
    graphql: str  # absolute GraphQL endpoint URL
    software: str = "forummagnum"
    feed_name: str = ""  # name in its feed's title, e.g. "Alignment Forum"; empty: ``name``


@dataclass(frozen=True)
class PostRef:
    """What a post URL names: a site and the post's id there."""

    site: ForumSite
    post_id: str
    url: str  # the URL as given


@dataclass(frozen=True)
class Post:
    """A fetched post: metadata plus body HTML. ``published`` is timezone-aware (UTC)."""

    id: str  # forum post id; for generic articles a stable hash of the URL
    title: str  # stripped
    authors: tuple[str, ...]  # display names, primary author first; may be empty
    published: datetime
    url: str  # canonical page URL of the post
    html: str  # body HTML
    site_name: str  # spoken name: "The AI Alignment Forum", "LessWrong", or the article's site
    prefix: str  # "AF", "LW", "EA", or "WEB" for generic articles
    # The forum's score (``baseScore``) when fetched, and its tag names; None and () when
    # the source has none (an article). Karma grows after posting: channels rank by it.
    karma: float | None = None
    tags: tuple[str, ...] = ()


class SegmentKind(StrEnum):
    INTRO = "intro"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    OUTRO = "outro"


@dataclass(frozen=True)
class Segment:
    """One block of speakable plain text (no markup, no URLs).

    ``display`` is what a transcript shows instead of ``text`` when the two differ (a long
    displayed equation is *spoken* as a short stand-in but *shown* as its TeX); None when the
    transcript shows ``text``.
    """

    kind: SegmentKind
    text: str
    display: str | None = None
    # In a conversation: who says it ("" for the narrator), the number of the turn it belongs
    # to (1, 2, ... over the script; 0 outside turns), and whether it is a block quote.
    speaker: str = ""
    turn: int = 0
    quoted: bool = False

    @property
    def shown(self) -> str:
        """The transcript form of this segment."""
        return self.text if self.display is None else self.display


@dataclass(frozen=True)
class Turn:
    """One participant's turn in a conversation: its number, speaker and what they say."""

    number: int
    speaker: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Section:
    """A run of segments under one heading; ``title`` is None before the first heading."""

    title: str | None
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Script:
    """Everything the listener hears, in order: intro, sections, outro."""

    title: str  # episode title, e.g. "AF - <title> by <author>"
    intro: Segment
    sections: tuple[Section, ...]
    outro: Segment

    def segments(self) -> tuple[Segment, ...]:
        body = tuple(s for section in self.sections for s in section.segments)
        return (self.intro, *body, self.outro)

    def turns(self) -> tuple[Turn, ...]:
        """The conversation's turns, in order (empty for a post that is not one)."""
        found: dict[int, Turn] = {}
        for segment in self.segments():
            if segment.turn and segment.speaker:
                turn = found.get(segment.turn)
                held = turn.segments if turn else ()
                found[segment.turn] = Turn(segment.turn, segment.speaker, (*held, segment))
        return tuple(found.values())

    def speakers(self) -> tuple[str, ...]:
        """The participants, in order of their first turn."""
        return tuple(dict.fromkeys(turn.speaker for turn in self.turns()))

    def text(self) -> str:
        """The script as a transcript, one segment per paragraph (``Segment.shown``); the
        first paragraph of each turn opens with its speaker's name."""
        lines: list[str] = []
        turn = 0
        for segment in self.segments():
            opens = segment.speaker and segment.turn != turn
            turn = segment.turn
            lines.append(f"{segment.speaker}: {segment.shown}" if opens else segment.shown)
        return "\n\n".join(lines) + "\n"


@dataclass(frozen=True)
class Pauses:
    """Silence inserted after a chunk, by what ends there (milliseconds)."""

    sentence_ms: int = 250
    paragraph_ms: int = 600
    heading_ms: int = 1000


@dataclass(frozen=True)
class VoiceProfile:
    """A voice: which engine speaks, with which voice id, how fast, with which pauses."""

    name: str
    engine: str  # engine registry name, e.g. "pyttsx3"
    voice: str  # engine-specific voice id, e.g. "gmw/en-us"
    rate_wpm: int = 200
    pauses: Pauses = field(default_factory=Pauses)
    # Neural engines (Piper): the model file, absolute once loaded ("" = find it by `voice`),
    # and whether to drop the model's random noise so the same text gives the same bytes.
    model: str = ""
    deterministic: bool = False
    # espeak-ng (pyttsx3 engine) only: extra silence between words, in espeak-ng's word-gap
    # units (0 = none); it keeps words from running together (see voices/default.toml).
    word_gap: int = 0
    # Piper only: which speaker of a multi-speaker model (None: the model's only or first one).
    speaker: int | None = None


@dataclass(frozen=True)
class Chunk:
    """One engine call's worth of text; ``pause_after_ms`` of silence follows it."""

    index: int
    text: str  # exactly what the engine is given (normalised, pronunciation lexicon applied)
    pause_after_ms: int
    section: int  # -1 intro, 0..n-1 the script's sections, n the outro
    display: str | None = None  # the written form for transcripts; None: same as ``text``
    voice: str = ""  # the voice profile that speaks it ("": the episode's narrator voice)
    speaker: str = ""  # in a conversation, the participant it is said by ("": the narrator)

    @property
    def shown(self) -> str:
        """What a transcript (VTT cue) shows for this chunk."""
        return self.text if self.display is None else self.display

    @property
    def is_intro(self) -> bool:
        return self.section == -1


@dataclass(frozen=True)
class Pcm:
    """Mono signed 16-bit little-endian samples."""

    samples: bytes
    sample_rate: int

    @property
    def frames(self) -> int:
        return len(self.samples) // 2


@dataclass(frozen=True)
class ChunkAudio:
    """A synthesised chunk, stored as a mono s16 WAV file (in the cache)."""

    chunk: Chunk
    wav: Path
    frames: int
    sample_rate: int
    gain_db: float = 0.0  # applied when joined (voices of one episode matched in loudness)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class Verification:
    """What a speech recogniser heard in an episode, against the text each chunk was given."""

    model: str  # the Whisper model that listened
    threshold: float  # a chunk above this word error rate is spoken again, then flagged
    words: int  # reference words over the episode
    errors: int  # word errors (substitutions + deletions + insertions) over the episode
    flagged: tuple[int, ...]  # chunk indexes still above the threshold after one retry
    retried: tuple[int, ...]  # chunk indexes spoken a second time
    report: Path  # the sidecar with every chunk's transcript (``episodes/<id>.verify.json``)

    @property
    def wer(self) -> float:
        """The episode's word error rate: its intelligibility, lower is better."""
        return self.errors / self.words if self.words else 0.0


@dataclass(frozen=True)
class Episode:
    """A finished episode: its files are in place under their final names."""

    id: str  # filename-safe, derived from prefix and post id only
    title: str
    post: Post
    mp3: Path
    script_txt: Path
    duration_s: float  # from the PCM sample count, not MP3 headers
    size_bytes: int
    loudness: Loudness
    description: str  # plain-text summary for tags and the feed
    verification: Verification | None = None  # when the episode was checked by ear
    unchanged: bool = False  # a re-run found it complete and made from the same inputs
    # The MP3's name in the feeds once published (``<id>.<content hash>.mp3``, beside ``mp3``);
    # "": the name of ``mp3`` itself.
    public_name: str = ""


@dataclass(frozen=True)
class Templates:
    """How episodes are framed. ``str.format`` fields: title, authors, date, website, prefix."""

    intro: str = (
        "Welcome to The Nonlinear Library, where we use Text-to-Speech software to convert the"
        " best writing from the Rationalist and EA communities into audio. This is: {title},"
        " published by {authors} on {date} on {website}."
    )
    outro: str = (
        "Thanks for listening. To help us out with The Nonlinear Library or to learn more,"
        " please visit nonlinear.org."
    )
    episode_title: str = "{prefix} - {title} by {authors}"
    podcast_name: str = "The Nonlinear Library"
    # Title of a forum's own feed; fields: podcast_name, forum (the profile's feed_name), prefix.
    forum_feed_title: str = "{podcast_name}: {forum}"
