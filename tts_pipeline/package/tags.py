"""The one mutagen wrapper: ID3v2.3 tags for the episode MP3.

v2.3 rather than mutagen's default v2.4 because v2.3 is what Windows, WMP and older devices
read. ``update_to_v23()`` must run before ``save(v2_version=3)``: saving alone keeps the
v2.4-only TDRC frame, which v2.3 readers ignore (the date would be lost).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from mutagen import MutagenError
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TPE1,
    WOAS,
    CTOCFlags,
    Encoding,
    PictureType,
)

from tts_pipeline.errors import PackagingError
from tts_pipeline.package.chapters import Chapter
from tts_pipeline.package.cover import default_cover

# What no text frame should carry: lone surrogates (UTF-16 cannot encode them), NUL (the
# separator between values), other C0 controls, and U+FFFE/U+FFFF (inside UTF-16 text U+FFFE
# reads as a byte-swapped BOM: ffprobe garbles the rest of the title). Line breaks survive
# only in COMM.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile("[\t\n\r]+")
_URL_SAFE = "".join(map(chr, range(0x21, 0x7F)))  # printable ASCII stays as it is


def tag_text(text: str, *, one_line: bool = True) -> str:
    """``text`` as a tag can hold it (controls dropped; tabs and breaks become spaces)."""
    text = _UNSAFE.sub("", text)
    return _BREAKS.sub(" ", text) if one_line else text


# "No byte offset given": players seek by the millisecond times instead (ID3 chapter addendum).
_NO_OFFSET = 0xFFFFFFFF
TOC_ID = "toc"


@dataclass(frozen=True)
class TagInfo:
    """What the MP3's tag says. ``date`` must be timezone-aware; it is written in UTC."""

    title: str
    artists: tuple[str, ...]  # primary first; v2.3 joins several with "/"
    album: str  # the podcast's name
    date: datetime
    source_url: str = ""  # the post's page, written as WOAS
    description: str = ""  # plain text, written as COMM
    genre: str = "Podcast"
    cover: Path | None = None  # PNG or JPEG; None means the project's default cover


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def image_mime(data: bytes) -> str:
    """The MIME type of PNG or JPEG bytes, from their signature (never from a file name)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    raise PackagingError("cover image is neither PNG nor JPEG")


def _cover_frame(path: Path) -> APIC:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackagingError(f"cannot read cover image {path}: {exc}", path=str(path)) from exc
    try:
        mime = image_mime(data)
    except PackagingError as exc:
        raise PackagingError(f"{exc}: {path}", path=str(path)) from exc
    return APIC(
        encoding=Encoding.UTF16,
        mime=mime,
        type=PictureType.COVER_FRONT,
        desc="Cover",
        data=data,
    )


def build_tags(info: TagInfo) -> ID3:
    """The ID3 frames for ``info``, still in mutagen's v2.4 form (``write_tags`` converts).

    Separate from writing so a later stage can add frames (CHAP/CTOC chapters) before saving.
    """
    if info.date.tzinfo is None:
        raise PackagingError(f"tag date {info.date} has no time zone")
    enc = Encoding.UTF16  # v2.3 has no UTF-8; UTF-16 carries any title
    when = info.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    tags = ID3()
    tags.add(TIT2(encoding=enc, text=[tag_text(info.title)]))
    artists = [a for a in map(tag_text, info.artists) if a.strip()]
    if artists:
        tags.add(TPE1(encoding=enc, text=artists))
    tags.add(TALB(encoding=enc, text=[tag_text(info.album)]))
    tags.add(TCON(encoding=enc, text=[tag_text(info.genre)]))
    tags.add(TDRC(encoding=enc, text=[when]))
    if info.description:
        description = tag_text(info.description, one_line=False)
        tags.add(COMM(encoding=enc, lang="eng", desc="", text=[description]))
    if info.source_url:
        # A URL frame is Latin-1: percent-encode anything else (IRIs, pasted Unicode).
        tags.add(WOAS(url=quote(tag_text(info.source_url), safe=_URL_SAFE)))
    tags.add(_cover_frame(info.cover or default_cover()))
    return tags


def add_chapters(tags: ID3, chapters: Sequence[Chapter]) -> None:
    """Add one CHAP frame per chapter and a top-level, ordered CTOC listing them all.

    CHAP times are whole milliseconds (the addendum's unit), rounded from sample positions;
    each chapter ends exactly where the next begins.

    mutagen writes frames ordered by size, then by element id (quodlibet/mutagen#506), and
    ffmpeg lists chapters in file order. So every CHAP frame is made the same size, by
    padding the element ids of shorter titles with "_", and ids sort in chapter order:
    the frames land in the file in time order.
    """
    if not chapters:
        return
    enc = Encoding.UTF16
    width = len(str(len(chapters) - 1))
    title_bytes = [len(ch.title.encode("utf-16-le", "surrogatepass")) for ch in chapters]
    longest = max(title_bytes)
    ids = [f"chp{n:0{width}d}" + "_" * (longest - size) for n, size in enumerate(title_bytes)]
    for element_id, chapter in zip(ids, chapters, strict=True):
        tags.add(
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                start_offset=_NO_OFFSET,
                end_offset=_NO_OFFSET,
                sub_frames=[TIT2(encoding=enc, text=[chapter.title])],
            )
        )
    tags.add(
        CTOC(
            element_id=TOC_ID,
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=enc, text=["Chapters"])],
        )
    )


def save_v23(tags: ID3, mp3: Path) -> None:
    """Write ``tags`` to ``mp3`` as ID3v2.3, replacing any tag there and dropping ID3v1."""
    tags.update_to_v23()
    try:
        tags.save(mp3, v1=0, v2_version=3, v23_sep="/")
    except (MutagenError, OSError) as exc:
        raise PackagingError(f"cannot write tags to {mp3}: {exc}", path=str(mp3)) from exc


def write_tags(mp3: Path, info: TagInfo, chapters: Sequence[Chapter] = ()) -> None:
    """Tag ``mp3`` (after encoding, before its size is taken for the feed)."""
    tags = build_tags(info)
    add_chapters(tags, chapters)
    save_v23(tags, mp3)


def read_tags(mp3: Path) -> dict[str, str]:
    """The frames as stored (no v2.4 translation): frame id -> text, URL or picture MIME.

    Includes ``"version"`` ("2.3" or "2.4"). Meant for tests and diagnostics.
    """
    try:
        tags = ID3(mp3, translate=False)
    except (MutagenError, OSError) as exc:
        raise PackagingError(f"cannot read tags from {mp3}: {exc}", path=str(mp3)) from exc
    found = {"version": f"{tags.version[0]}.{tags.version[1]}"}
    for frame in tags.values():
        if isinstance(frame, APIC):
            value = str(getattr(frame, "mime", ""))
        elif hasattr(frame, "url"):
            value = str(frame.url)
        else:
            value = "/".join(str(t) for t in getattr(frame, "text", []))
        found[frame.FrameID] = value
    return found
