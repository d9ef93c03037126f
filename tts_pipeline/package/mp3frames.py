"""MP3 frames, read and joined without decoding: frame headers and the Xing/Info + LAME tag.

Segments of an episode are encoded separately (each by its own LAME, with a fresh bit
reservoir, so its first frame refers to no earlier frame) and their frames concatenated into
one stream. Every segment file starts with the Info frame the encoder wrote: it says how many
frames follow and how many samples of them are the encoder's delay and end padding, which is
what places each segment's audio exactly on the episode's timeline. The joined file gets one
Info frame of its own, built from the first segment's: frame and byte counts, seek table,
the whole stream's delay (the first segment's) and padding (the last segment's), the CRC-16
of all audio frames, and the tag's own CRC, as ffmpeg writes them.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tts_pipeline.errors import PackagingError

_KBPS_MPEG1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_KBPS_MPEG2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_TAG_CRC_SPAN = 190  # ffmpeg checksums the Info frame's first 190 bytes (its CRC field as 0)


@dataclass(frozen=True)
class FrameHeader:
    """One Layer III frame header."""

    mpeg1: bool
    bitrate_kbps: int
    sample_rate: int
    channels: int
    length: int  # bytes, header included

    @property
    def samples(self) -> int:
        return 1152 if self.mpeg1 else 576

    @property
    def tag_offset(self) -> int:
        """Where a Xing/Info tag starts: after the header and the side information."""
        side = (
            (17 if self.channels == 1 else 32) if self.mpeg1 else (9 if self.channels == 1 else 17)
        )
        return 4 + side


def parse_header(data: bytes | memoryview, pos: int = 0) -> FrameHeader | None:
    """The Layer III frame header at ``pos``, or None if there is none."""
    if len(data) < pos + 4:
        return None
    (word,) = struct.unpack_from(">I", data, pos)
    version, layer = (word >> 19) & 3, (word >> 17) & 3
    kbps_index, rate_index = (word >> 12) & 15, (word >> 10) & 3
    if (
        word >> 21 != 0x7FF
        or layer != 1
        or version == 1
        or kbps_index in (0, 15)
        or rate_index == 3
    ):
        return None
    mpeg1 = version == 3
    kbps = (_KBPS_MPEG1 if mpeg1 else _KBPS_MPEG2)[kbps_index]
    rate = _RATES[version][rate_index]
    padding = (word >> 9) & 1
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + padding
    return FrameHeader(mpeg1, kbps, rate, 1 if (word >> 6) & 3 == 3 else 2, length)


@dataclass(frozen=True)
class InfoTag:
    """The fields of a Xing/Info frame and its LAME extension that joining needs."""

    frames: int  # audio frames after the Info frame
    delay: int  # encoder delay, samples (a decoder skips delay + 529)
    padding: int  # samples of padding at the end (a decoder drops padding - 529)
    music_crc: int  # CRC-16 of the audio frames

    def content_samples(self, samples_per_frame: int) -> int:
        """The samples a gapless decoder outputs: the encoder's input, exactly."""
        return self.frames * samples_per_frame - self.delay - self.padding


@dataclass(frozen=True)
class _Layout:
    header: FrameHeader
    flags: int
    frames_at: int | None
    bytes_at: int | None
    toc_at: int | None
    lame_at: int


def _layout(frame: bytes | memoryview) -> _Layout | None:
    header = parse_header(frame)
    if header is None:
        return None
    at = header.tag_offset
    if bytes(frame[at : at + 4]) not in (b"Info", b"Xing"):
        return None
    (flags,) = struct.unpack_from(">I", frame, at + 4)
    pos, fields = at + 8, []
    for bit, size in ((1, 4), (2, 4), (4, 100), (8, 4)):
        fields.append(pos if flags & bit else None)
        pos += size if flags & bit else 0
    if len(frame) < pos + 36 or bytes(frame[pos : pos + 4]) not in (b"LAME", b"Lavc", b"Lavf"):
        return None
    return _Layout(header, flags, fields[0], fields[1], fields[2], pos)


def read_info(frame: bytes | memoryview) -> InfoTag | None:
    """The Info tag of ``frame`` (the first frame of a file), or None if it has none."""
    layout = _layout(frame)
    if layout is None or layout.frames_at is None:
        return None
    (frames,) = struct.unpack_from(">I", frame, layout.frames_at)
    pads = int.from_bytes(frame[layout.lame_at + 21 : layout.lame_at + 24], "big")
    (crc,) = struct.unpack_from(">H", frame, layout.lame_at + 32)
    return InfoTag(frames, pads >> 12, pads & 0xFFF, crc)


@dataclass(frozen=True)
class Mp3Stream:
    """A CBR MP3 file split into its Info frame and its audio frames."""

    header: FrameHeader  # of the first audio frame
    info_frame: bytes
    info: InfoTag
    audio: memoryview  # every audio frame, back to back
    frame_ends: array.array[int]  # where each audio frame ends, in bytes into ``audio``

    @property
    def content_samples(self) -> int:
        return self.info.content_samples(self.header.samples)


def split_stream(data: bytes, *, name: str = "MP3") -> Mp3Stream:
    """Check that ``data`` is an Info frame then whole, alike mono frames; split it.

    Raises PackagingError on anything else (no tag, a cut frame, mixed rates, trailing
    bytes): a damaged segment must be encoded again, never joined.
    """
    view = memoryview(data)
    first = parse_header(view)
    info = read_info(view[: first.length]) if first else None
    header = parse_header(view, first.length) if first else None
    if first is None or info is None:
        raise PackagingError(f"{name} does not start with an Info frame", path=name)
    if header is None:
        raise PackagingError(f"{name} has no audio frame after its Info frame", path=name)
    # Frames of one CBR stream differ only in the padding bit (and bits no decoder needs):
    # compare the bytes that fix sync, version, layer, bitrate, rate and channel mode.
    at = first.length
    key = (data[at], data[at + 1], data[at + 2] & 0xFC, data[at + 3] & 0xC0)
    unpadded = header.length - ((data[at + 2] >> 1) & 1)
    ends = array.array("q")
    pos, size = at, len(data)
    while pos < size:
        if (
            pos + 4 > size
            or (data[pos], data[pos + 1], data[pos + 2] & 0xFC, data[pos + 3] & 0xC0) != key
        ):
            raise PackagingError(f"{name}: no frame like the first at byte {pos}", path=name)
        pos += unpadded + ((data[pos + 2] >> 1) & 1)
        ends.append(pos - at)
    if pos != size or len(ends) != info.frames:
        raise PackagingError(
            f"{name} holds {len(ends)} frames ({pos - size:+d} bytes),"
            f" its Info tag says {info.frames}",
            path=name,
        )
    return Mp3Stream(header, bytes(view[:at]), info, view[at:], ends)


# -- CRC-16/ARC (poly 0x8005 reflected, init 0), as LAME and ffmpeg use in the tag ------------

_TABLE = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0xA001 if _crc & 1 else _crc >> 1
    _TABLE.append(_crc)


def crc16(data: bytes | memoryview, crc: int = 0) -> int:
    for byte in bytes(data):
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def _apply(matrix: list[int], vector: int) -> int:
    out, bit = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[bit]
        vector >>= 1
        bit += 1
    return out


def crc16_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """CRC of A + B from the CRCs of A and B: A's register is carried through ``length_b``
    zero bytes (a linear map, raised to that power by squaring), so the CRC of a whole
    episode costs no pass over its bytes."""
    step = [_TABLE[(1 << bit) & 0xFF] ^ ((1 << bit) >> 8) for bit in range(16)]  # one zero byte
    while length_b:
        if length_b & 1:
            crc_a = _apply(step, crc_a)
        step = [_apply(step, column) for column in step]
        length_b >>= 1
    return crc_a ^ crc_b


def joined_info_frame(
    template: bytes, *, frames: int, total_bytes: int, delay: int, padding: int,
    music_crc: int, frame_ends: Mapping[int, int] | Sequence[int],
) -> bytes:  # fmt: skip
    """``template`` (a segment's Info frame) rewritten for the joined stream.

    ``frame_ends[i]`` is where audio frame ``i`` ends in the joined file (the Info frame
    counted, as in ``total_bytes``); only the frames the 100-point seek table points at
    (``i * frames // 100``) are looked up. The table is computed as ffmpeg computes it.
    """
    layout = _layout(template)
    if layout is None or not 0 <= delay < 4096 or not 0 <= padding < 4096:
        raise PackagingError("cannot build an Info frame for the joined MP3")
    frame = bytearray(template)
    if layout.frames_at is not None:
        struct.pack_into(">I", frame, layout.frames_at, frames)
    if layout.bytes_at is not None:
        struct.pack_into(">I", frame, layout.bytes_at, total_bytes)
    if layout.toc_at is not None and frames:
        frame[layout.toc_at] = 0
        for i in range(1, 100):
            offset = frame_ends[min(i * frames // 100, frames - 1)]
            frame[layout.toc_at + i] = min(255, 256 * offset // total_bytes)
    lame = layout.lame_at
    frame[lame + 21 : lame + 24] = ((delay << 12) | padding).to_bytes(3, "big")
    struct.pack_into(">IH", frame, lame + 28, total_bytes, music_crc)
    frame[lame + 34 : lame + 36] = b"\0\0"
    span = min(_TAG_CRC_SPAN, len(frame))
    struct.pack_into(">H", frame, lame + 34, crc16(bytes(frame[:span])))
    return bytes(frame)
