"""The one mutagen wrapper: ID3v2.3 tags for the episode MP3.

v2.3 rather than mutagen's default v2.4 because v2.3 is what Windows, WMP and older devices
read. ``update_to_v23()`` must run before ``save(v2_version=3)``: saving alone keeps the
v2.4-only TDRC frame, which v2.3 readers ignore (the date would be lost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mutagen import MutagenError
from mutagen.id3 import (
    APIC,
    COMM,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TPE1,
    WOAS,
    Encoding,
    PictureType,
)

from tts_pipeline.errors import PackagingError
from tts_pipeline.package.cover import default_cover


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
    tags.add(TIT2(encoding=enc, text=[info.title]))
    if info.artists:
        tags.add(TPE1(encoding=enc, text=list(info.artists)))
    tags.add(TALB(encoding=enc, text=[info.album]))
    tags.add(TCON(encoding=enc, text=[info.genre]))
    tags.add(TDRC(encoding=enc, text=[when]))
    if info.description:
        tags.add(COMM(encoding=enc, lang="eng", desc="", text=[info.description]))
    if info.source_url:
        tags.add(WOAS(url=info.source_url))
    tags.add(_cover_frame(info.cover or default_cover()))
    return tags


def save_v23(tags: ID3, mp3: Path) -> None:
    """Write ``tags`` to ``mp3`` as ID3v2.3, replacing any tag there and dropping ID3v1."""
    tags.update_to_v23()
    try:
        tags.save(mp3, v1=0, v2_version=3, v23_sep="/")
    except (MutagenError, OSError) as exc:
        raise PackagingError(f"cannot write tags to {mp3}: {exc}", path=str(mp3)) from exc


def write_tags(mp3: Path, info: TagInfo) -> None:
    """Tag ``mp3`` (after encoding, before its size is taken for the feed)."""
    save_v23(build_tags(info), mp3)


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
