"""The one wrapper around the ``ffmpeg`` and ``ffprobe`` executables.

Every call is an argument list (never a shell string), stdin is closed and stderr captured,
and every failure becomes a :class:`PackagingError` naming the file and ffmpeg's own reason.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.errors import PackagingError
from tts_pipeline.models import Loudness

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

# Rates libmp3lame accepts, by MPEG version. ffmpeg silently rounds an invalid bitrate to a
# valid one (``-b:a 1k`` gives a 32 kbps file and exit 0), so we refuse them up front.
_MPEG1_RATES = frozenset({32000, 44100, 48000})
_MPEG1_KBPS = frozenset({32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320})
_MPEG2_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000})
_MPEG2_KBPS = frozenset({8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160})

# ebur128 reports silence as -70 LUFS (the absolute gate) and a true peak of -inf.
SILENCE_LUFS = -70.0

# The limiter runs at this multiple of the source rate so that it sees (most of) the
# inter-sample peaks a BS.1770 true-peak meter sees; at the source rate it only catches
# sample peaks and the result overshoots the ceiling.
_OVERSAMPLE = 4
# Oversampling (limiter and true-peak meter) uses half swresample's default filter length (16
# against 32; BS.1770's reference true-peak filter has 12 taps a phase). Peaks read the same to
# the meter's 0.1 dB on 64 kbps MP3s of espeak-ng speech, and it costs ~5 % less CPU in each
# segment's encode and meter together (4.32 -> 4.10 CPU-s for 10 minutes of speech).
_RESAMPLE = "filter_size=16"

# ffmpeg's generic trailers, which say nothing about the cause.
_NOISE = ("Conversion failed!", "Exiting normally")


@dataclass(frozen=True)
class ProbeResult:
    """What ffprobe says about a file's first audio stream."""

    duration_s: float
    codec: str
    sample_rate: int
    channels: int
    bit_rate: int  # bits per second; the stream's, else the container's


def _last_reason(stderr: str) -> str:
    for line in reversed(stderr.splitlines()):
        line = line.strip()
        if line and not line.startswith(_NOISE):
            return line
    return "no error output"


def _run(args: list[str], *, path: Path) -> subprocess.CompletedProcess[str]:
    """Run ffmpeg/ffprobe to completion; a missing executable or non-zero exit raises."""
    log.debug("running %s", args)
    try:
        proc = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",  # file names and metadata in stderr need not be UTF-8
            check=False,
        )
    except FileNotFoundError as exc:
        raise PackagingError(
            f"{args[0]} is not installed (apt-get install ffmpeg)", path=str(path)
        ) from exc
    except OSError as exc:
        raise PackagingError(f"cannot run {args[0]}: {exc}", path=str(path)) from exc
    if proc.returncode != 0:
        reason = _last_reason(proc.stderr)
        raise PackagingError(f"{args[0]} failed on {path}: {reason}", path=str(path))
    return proc


def _ffmpeg(*args: str, loglevel: str = "error") -> list[str]:
    return [FFMPEG, "-nostdin", "-hide_banner", "-nostats", "-loglevel", loglevel, *args]


_SUMMARY_I = re.compile(r"^\s*I:\s+(-?[\d.]+|-inf)\s+LUFS", re.MULTILINE)
_SUMMARY_PEAK = re.compile(r"^\s*Peak:\s+(-?[\d.]+|-inf)\s+dBFS", re.MULTILINE)
_MAX_VOLUME = re.compile(r"max_volume: (-?[\d.]+|-inf) dB")
_MOMENTARY = re.compile(r"\bt: [\d.]+\s+TARGET:\S+ LUFS\s+M:\s*(-?[\d.]+)")

# framelog=verbose pushes the 10-per-second meter lines below the info level, so only the
# Summary reaches stderr (ffmpeg 5.1 rejects framelog=quiet). The true-peak meter resamples
# to 192 kHz and costs ~5x the loudness meter (4.6 s vs 0.8 s for 45 minutes of speech), so
# the intermediate passes of normalisation meter loudness only.
_EBUR128_TRUE_PEAK = "ebur128=peak=true:framelog=verbose"
_EBUR128_LOUDNESS = "ebur128=framelog=verbose"


def _summary(args: list[str], *, path: Path) -> str:
    stderr = _run(args, path=path).stderr
    _, found, summary = stderr.rpartition("Summary:")
    if not found or not _SUMMARY_I.search(summary):
        raise PackagingError(f"ffmpeg printed no loudness summary for {path}", path=str(path))
    return summary


def _integrated(summary: str) -> float:
    match = _SUMMARY_I.search(summary)
    assert match is not None  # checked by _summary
    return float(match.group(1))


def measure_loudness(path: Path) -> Loudness:
    """Integrated loudness (LUFS) and true peak (dBTP) of the file's first audio stream."""
    args = _ffmpeg(
        "-i", str(path), "-map", "0:a:0", "-af", _EBUR128_TRUE_PEAK, "-f", "null", "-",
        loglevel="info",
    )  # fmt: skip
    summary = _summary(args, path=path)
    peak = _SUMMARY_PEAK.search(summary)
    if peak is None:
        raise PackagingError(f"ffmpeg printed no true peak for {path}", path=str(path))
    return Loudness(integrated_lufs=_integrated(summary), true_peak_dbtp=float(peak.group(1)))


def measure_integrated(path: Path) -> float:
    """Integrated loudness (LUFS) only: about 5x faster than :func:`measure_loudness`."""
    args = _ffmpeg(
        "-i", str(path), "-map", "0:a:0", "-af", _EBUR128_LOUDNESS, "-f", "null", "-",
        loglevel="info",
    )  # fmt: skip
    return _integrated(_summary(args, path=path))


def apply_gain(src: Path, dst: Path, gain_db: float, limit_dbtp: float) -> float:
    """Write ``src`` amplified by ``gain_db`` through a peak limiter, as s16 WAV at its own rate.

    Returns the integrated loudness (LUFS) of what was written, metered in the same ffmpeg
    run (a separate run would decode the file again). The limiter: see ``_limiter_chain``.
    """
    rate = probe(src).sample_rate
    chain = _limiter_chain(rate, gain_db, limit_dbtp, path=src) + "," + _EBUR128_LOUDNESS
    args = _ffmpeg(
        "-y", "-i", str(src), "-map", "0:a:0", "-af", chain,
        "-ar", str(rate), "-c:a", "pcm_s16le", "-map_metadata", "-1", "-f", "wav", str(dst),
        loglevel="info",
    )  # fmt: skip
    return _integrated(_summary(args, path=src))


def check_mp3_settings(bitrate_kbps: int, sample_rate: int) -> None:
    """Raise unless LAME can encode CBR at exactly this bitrate and sample rate."""
    if sample_rate in _MPEG1_RATES:
        allowed = _MPEG1_KBPS
    elif sample_rate in _MPEG2_RATES:
        allowed = _MPEG2_KBPS
    else:
        raise PackagingError(f"MP3 cannot use a sample rate of {sample_rate} Hz")
    if bitrate_kbps not in allowed:
        raise PackagingError(
            f"MP3 at {sample_rate} Hz cannot use {bitrate_kbps} kbps"
            f" (allowed: {', '.join(map(str, sorted(allowed)))})"
        )


def _limiter_chain(
    rate: int, gain_db: float, limit_dbtp: float, *, path: Path, out_rate: int = 0
) -> str:
    """Gain then a peak limiter on 4x oversampled audio, back at ``rate`` (or straight down
    to ``out_rate``, the encoder's rate: one resampling fewer).

    The limiter runs on a 4x oversampled signal so the ceiling approximates a true-peak
    ceiling; ``level=false`` stops alimiter from re-normalising its output and
    ``latency=true`` removes its look-ahead delay, so every sample stays where it was
    (chapter and caption times are computed from sample offsets).

    Going up to an ``out_rate`` above ``rate``, the limiter's distortion products above the
    source's band (its gain changes spread energy up to the oversampled rate's Nyquist) are
    filtered out again: left in, a 64 kbps encoder spends bits on them and its noise around
    the sharpest peaks lands over the ceiling. On 27 segments (76 minutes) of espeak-ng speech
    the MP3s' true peaks fell by 0.3 dB on average and the worst from -0.3 to -0.9 dBTP, for
    ~1.5 % more encoding CPU; the 2-pole filter's delay is a fraction of a sample.
    """
    if not math.isfinite(gain_db):
        raise PackagingError(f"invalid gain {gain_db} dB", path=str(path))
    limit = 10 ** (limit_dbtp / 20)
    if not 0.0625 <= limit <= 1.0:  # alimiter's accepted range (-24..0 dBFS)
        raise PackagingError(f"limiter ceiling {limit_dbtp} dBTP is out of range", path=str(path))
    steps = [
        f"aresample={rate * _OVERSAMPLE}:{_RESAMPLE}",
        f"volume={gain_db:.3f}dB",
        f"alimiter=limit={limit:.6f}:level=false:latency=true",
        f"aresample={out_rate or rate}:{_RESAMPLE}",
    ]
    if out_rate > rate:
        steps.append(f"lowpass=f={rate / 2:g}:poles=2")
    return ",".join(steps)


def limited_loudness(
    src: Path, gain_db: float, limit_dbtp: float, *, source_rate: int, sample_every_s: int = 1
) -> float:
    """Integrated loudness (LUFS) ``src`` would have after :func:`apply_gain`, written nowhere.

    With ``sample_every_s`` = N > 1 only the first second of every N is processed: the
    limiter's loss of loudness is a property of the speech, not of where in it one looks.
    On 44 minutes of espeak-ng speech one second in ten read the same loudness to 0.1 LU
    as the whole file, at a seventh of the cost. ``source_rate`` is ``src``'s sample rate.
    """
    chain = _limiter_chain(source_rate, gain_db, limit_dbtp, path=src)
    if sample_every_s > 1:
        chain = f"aselect='lt(mod(t\\,{sample_every_s})\\,1)'," + chain
    args = _ffmpeg(
        "-i", str(src), "-map", "0:a:0", "-af", f"{chain},{_EBUR128_LOUDNESS}", "-f", "null", "-",
        loglevel="info",
    )  # fmt: skip
    return _integrated(_summary(args, path=src))


def encode_mp3(
    src: Path,
    dst: Path,
    *,
    bitrate_kbps: int,
    sample_rate: int,
    gain_db: float | None = None,
    limit_dbtp: float = 0.0,
    measure: bool = False,
    momentary: list[float] | None = None,
    source_rate: int = 0,
) -> Loudness | None:
    """Encode ``src`` to a mono CBR MP3 at ``dst`` (a seekable file; any name, even ``.part``).

    CBR plus a seekable output means LAME's Info header is written and every player computes
    the same duration. No tags are written here: ``tags.write_tags`` owns the ID3 tag.

    With ``gain_db`` the audio is amplified and limited to ``limit_dbtp`` on the way in (one
    decode, no intermediate WAV). With ``measure`` the finished MP3 is then decoded and
    metered (integrated loudness and true peak, as a player hears it: the Info frame's delay
    and padding dropped) and its loudness returned; otherwise None. A ``momentary`` list
    (with ``measure``) receives the meter's 400 ms block loudnesses above -70 LUFS, every
    100 ms, so the loudness of several encodes can be combined by gating their blocks
    together; the true peak is then the peak of the 4x oversampled decode (volumedetect, to
    0.1 dB). ``source_rate``, when the caller knows it, saves probing ``src``.

    The meter runs after the encoder, not beside it through a pipe: on a machine already
    running one encode per core a concurrent meter gains no time, and it would double the
    ffmpeg processes (~50 MB of resident libraries each) alive at once.
    """
    check_mp3_settings(bitrate_kbps, sample_rate)
    rate_in = (source_rate or probe(src).sample_rate) if gain_db is not None else 0
    chain = (
        []
        if gain_db is None
        else ["-af", _limiter_chain(rate_in, gain_db, limit_dbtp, path=src, out_rate=sample_rate)]
    )
    args = _ffmpeg(
        "-y", "-i", str(src), "-map", "0:a:0", "-map_metadata", "-1", *chain,
        "-ac", "1", "-ar", str(sample_rate),
        "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k",
        "-write_xing", "1", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3", str(dst),
    )  # fmt: skip
    _run(args, path=src)
    if not measure:
        return None
    if momentary is None:
        return _meter(dst, _EBUR128_TRUE_PEAK, blocks=None)
    # Block log on; true peak by 4x oversampling: 1.8 s where ebur128's takes 3.5.
    chain_m = (
        f"asplit[m][p];[m]ebur128,anullsink;[p]aresample={4 * sample_rate}:{_RESAMPLE},volumedetect"
    )
    return _meter(dst, chain_m, blocks=momentary)


def _meter(mp3: Path, chain: str, *, blocks: list[float] | None) -> Loudness:
    """Decode ``mp3`` through ``chain`` (an ebur128 meter) and read the meter's report."""
    args = _ffmpeg("-f", "mp3", "-i", str(mp3), "-af", chain, "-f", "null", "-", loglevel="info")
    text = _run(args, path=mp3).stderr
    _, found, summary = text.rpartition("Summary:")
    peak = _SUMMARY_PEAK.search(summary)
    if blocks is not None:  # ebur128 prints -120.7 until the first block is full
        blocks.extend(v for v in map(float, _MOMENTARY.findall(text)) if v > SILENCE_LUFS)
        peak = _MAX_VOLUME.search(text)
    if not found or not _SUMMARY_I.search(summary) or peak is None:
        raise PackagingError(f"ffmpeg printed no loudness summary for {mp3}", path=str(mp3))
    return Loudness(integrated_lufs=_integrated(summary), true_peak_dbtp=float(peak.group(1)))


def probe(path: Path) -> ProbeResult:
    """Duration, codec, rate, channels and bitrate of the first audio stream, via ffprobe."""
    args = [
        FFPROBE, "-v", "error", "-select_streams", "a:0",
        "-show_entries", "stream=codec_name,sample_rate,channels,bit_rate,duration"
        ":format=duration,bit_rate",
        "-of", "json", str(path),
    ]  # fmt: skip
    out = _run(args, path=path).stdout
    try:
        data = json.loads(out)
        stream = data["streams"][0]
        fmt = data.get("format", {})
        duration = stream.get("duration", fmt.get("duration"))
        bit_rate = stream.get("bit_rate", fmt.get("bit_rate", 0))
        return ProbeResult(
            duration_s=float(duration),
            codec=str(stream["codec_name"]),
            sample_rate=int(stream["sample_rate"]),
            channels=int(stream["channels"]),
            bit_rate=int(bit_rate),
        )
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise PackagingError(f"ffprobe found no audio stream in {path}", path=str(path)) from exc


@functools.cache
def encoder_version() -> str:
    """ffmpeg's version line (cached): part of the address of every cached encode."""
    out = _run([FFMPEG, "-hide_banner", "-version"], path=Path(FFMPEG)).stdout
    return out.splitlines()[0] if out else "unknown"


def decode_wav(
    src: Path, dst: Path, *, start_s: float = 0.0, duration_s: float | None = None
) -> None:
    """Decode ``duration_s`` seconds (all, if None) of ``src`` from ``start_s`` into a mono
    s16 WAV at the source's rate. Input seeking (``-ss`` before ``-i``) is sample-accurate
    for MP3 in ffmpeg >= 2.1: it decodes from the previous frame and drops what precedes."""
    limit = [] if duration_s is None else ["-t", f"{duration_s:.6f}"]
    args = _ffmpeg(
        "-y", "-ss", f"{start_s:.6f}", *limit, "-i", str(src), "-map", "0:a:0",
        "-map_metadata", "-1", "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav", str(dst),
    )  # fmt: skip
    _run(args, path=src)


def decode_errors(path: Path) -> str:
    """Decode the whole file and return what ffmpeg complains about ("" if it decodes cleanly)."""
    args = _ffmpeg("-i", str(path), "-map", "0:a:0", "-f", "null", "-")
    return _run(args, path=path).stderr.strip()


_SILENCE_EVENT = re.compile(r"silence_(start|end): (-?[\d.]+(?:e-?\d+)?)")


def detect_silences(
    path: Path, *, noise_db: float = -40.0, min_duration_s: float = 0.05
) -> list[tuple[float, float]]:
    """Stretches of the first audio stream quieter than ``noise_db``: (start_s, end_s) pairs.

    ffmpeg prints the times with six significant digits (10 ms resolution past 1000 s);
    callers use them to find pauses in speech, not as exact positions. A silence still
    running at the end of the file ends at the file's duration.
    """
    args = _ffmpeg(
        "-i", str(path), "-map", "0:a:0",
        "-af", _silencedetect(noise_db, min_duration_s), "-f", "null", "-",
        loglevel="info",
    )  # fmt: skip
    return _silences(_run(args, path=path).stderr, path)


def _silencedetect(noise_db: float, min_duration_s: float) -> str:
    return f"silencedetect=noise={noise_db:.1f}dB:duration={min_duration_s:.3f}"


def _silences(stderr: str, path: Path) -> list[tuple[float, float]]:
    silences: list[tuple[float, float]] = []
    start: float | None = None
    for kind, value in _SILENCE_EVENT.findall(stderr):
        if kind == "start":
            start = max(float(value), 0.0)
        elif start is not None:
            silences.append((start, float(value)))
            start = None
    if start is not None:
        silences.append((start, probe(path).duration_s))
    return silences
