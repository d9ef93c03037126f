"""Per-chunk statistics: loudness blocks and pauses, measured once per chunk and kept beside it.

An episode's loudness and its caption pauses used to be measured by decoding the whole joined
episode (ffmpeg ebur128 + silencedetect). Both are sums over short stretches of audio, so each
chunk's share is computed once, from the chunk's WAV, and cached as ``<key>.stats.json``
beside a content-addressed chunk; an episode combines the shares of its chunks.

Loudness follows ITU-R BS.1770-4 / EBU R128: the K-weighting filter (two biquads, designed
for the chunk's own rate as libebur128 does, applied by FFT), mean square over 400 ms blocks
every 100 ms. The blocks of every chunk are gated together (absolute -70 LUFS, relative -10
LU): the pauses between chunks are digital silence and gated out anyway. Pauses inside a
chunk reproduce ffmpeg's ``silencedetect=noise=-40dB:duration=0.05``: runs of samples below
the noise amplitude at least 50 ms long, in frames instead of printed seconds.

A chunk is measured where it is made: the synthesis worker that speaks it (in the local pool
or a remote one) measures it (``try_measure``), so measuring overlaps the synthesis of later
chunks, and its statistics are kept beside the cache entry (``save_stats``). A chunk without
statistics is measured when asked, loading numpy in that process.
"""

from __future__ import annotations

import array
import contextlib
import functools
import json
import logging
import math
import re
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tts_pipeline.errors import PackagingError
from tts_pipeline.fsutil import atomic_write_text

log = logging.getLogger(__name__)

STATS_SCHEMA = "tts_pipeline.chunkstats/1"
_BLOCK_S, _STEP_S = 0.4, 0.1
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
_RING = 4096
# 16384 points: pocketfft's scratch for a transform stays under glibc's 128 KiB mmap threshold
# and is reused from the heap. At 32768 it was a fresh mapping for every piece, faulted in page
# by page (with numpy's temporaries, 170-270 page faults per second of audio, measured).
_FFT_SIZE = 1 << 14
SILENCE_NOISE_DB = -40.0  # silencedetect's noise level and minimum length, as before
SILENCE_MIN_S = 0.05
CACHE_KEY = re.compile(r"[0-9a-f]{64}")  # a content-addressed chunk's file stem


@dataclass(frozen=True)
class ChunkStats:
    """What packaging needs to know about one chunk's audio."""

    frames: int
    sample_rate: int
    # 400 ms blocks above the absolute gate, from the chunk's start; an array of doubles, so
    # ten hours of blocks take 3 MB, not the 12 MB of a tuple of float objects.
    block_lufs: array.array[float]
    # The pauses inside the chunk, flat: start, end, start, end... frames. 16 bytes a pause,
    # where a tuple of two ints takes 112 (sys.getsizeof: 56 + 2 x 28).
    pause_edges: array.array[int]

    @property
    def silences(self) -> list[tuple[int, int]]:
        """(start, end) frames of the pauses inside the chunk."""
        edges = self.pause_edges
        return list(zip(edges[::2], edges[1::2], strict=True))


def _biquad(b: tuple[float, float, float], a: tuple[float, float, float], z: Any) -> Any:
    zi = 1 / z
    return (b[0] + b[1] * zi + b[2] * zi * zi) / (a[0] + a[1] * zi + a[2] * zi * zi)


@functools.lru_cache(maxsize=8)
def k_weighting(rate: int, size: int) -> Any:
    """The K-weighting filter's response at the bins of a ``size``-point rfft.

    Two biquads designed for ``rate`` as libebur128 designs them (giving BS.1770's published
    coefficients at 48 kHz). Applied by FFT: numpy has no IIR filter, and scipy's costs
    ~90 MB and 1.7 s to import.
    """
    np = _numpy()
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196  # shelf
    k = math.tan(math.pi * f0 / rate)
    vh, a0 = 10 ** (gain_db / 20), 1 + k / q + k * k
    vb = vh**0.4996667741545416
    shelf_b = (
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    )
    shelf_a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    f0, q = 38.13547087602444, 0.5003270373238773  # high-pass
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    high_a = (1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    z = np.exp(2j * np.pi * np.arange(size // 2 + 1) / size)
    return (_biquad(shelf_b, shelf_a, z) * _biquad((1.0, -2.0, 1.0), high_a, z)).astype(
        np.complex64
    )


def _blocks(pcm: Any, rate: int) -> list[float]:
    np = _numpy()
    n = len(pcm)
    step = round(_STEP_S * rate)
    block = 4 * step  # 400 ms blocks overlapping by 75 %: a block is four steps
    # Overlap-add in pieces of one FFT size, so memory stays small for a two-minute chunk
    # and the filter's response is computed once. The filter rings on past each piece (and
    # past the chunk, into its pause of digital silence): its 38 Hz high-pass decays below
    # -100 dB within ~2000 samples at 22.05 kHz, well inside the overlap.
    size = max(_FFT_SIZE, 1 << (step + _RING - 1).bit_length())  # a step fits past the ring
    hop = (size - _RING) // step * step
    response = k_weighting(rate, size)
    steps = -(-n // step) + 3  # the last block starts before the end and runs into the pause
    energy = np.zeros(-(-steps * step // hop) * hop // step)
    # One set of buffers for the whole chunk, written in place: the temporaries numpy makes for
    # a zero-padded transform cross glibc's mmap threshold and were faulted in for every piece.
    piece = np.zeros(size, dtype=np.float32)
    spectrum = np.empty(size // 2 + 1, dtype=np.complex64)
    out = np.empty(size, dtype=np.float32)
    carry = np.zeros(size - hop, dtype=np.float32)
    for start in range(0, steps * step, hop):
        samples = pcm[start : start + hop]
        np.multiply(samples, 1 / 32768, out=piece[: len(samples)])
        piece[len(samples) :] = 0
        np.fft.rfft(piece, out=spectrum)
        np.multiply(spectrum, response, out=spectrum)
        np.fft.irfft(spectrum, size, out=out)
        out[: len(carry)] += carry
        carry[:] = out[hop:]
        np.square(out[:hop], out=out[:hop])
        done = out[:hop].reshape(-1, step).sum(axis=1, dtype=np.float64)
        energy[start // step : start // step + len(done)] = done
    energy = energy[:steps]
    power = (energy[:-3] + energy[1:-2] + energy[2:-1] + energy[3:]) / block
    with np.errstate(divide="ignore"):
        lufs = -0.691 + 10 * np.log10(power)
    return [round(float(v), 3) for v in lufs if v > _ABSOLUTE_GATE_LUFS]


def _numpy() -> Any:
    # Imported when a chunk is first measured, not with the package: a run with nothing to
    # measure (an unchanged episode) never loads it.
    import numpy

    return numpy


def _silences(pcm: Any, rate: int) -> array.array[int]:
    # silencedetect: a sample is quiet when |x| < noise * INT16_MAX; a run counts once it is
    # duration * rate samples long (av_rescale: rounded half up).
    np = _numpy()
    noise = 10 ** (SILENCE_NOISE_DB / 20) * 32767
    limit = math.ceil(noise) - 1  # |x| < 327.67 for int16 x: -327..327
    quiet = np.zeros(len(pcm) + 2, dtype=np.int8)
    quiet[1:-1] = (pcm >= -limit) & (pcm <= limit)
    edges = np.flatnonzero(quiet[1:] != quiet[:-1])  # run starts and ends, alternately
    shortest = math.floor(SILENCE_MIN_S * rate + 0.5)
    runs = edges.reshape(-1, 2)
    return array.array("q", runs[runs[:, 1] - runs[:, 0] >= shortest].ravel().tolist())


def measure_chunk(wav: Path) -> ChunkStats:
    """Read ``wav`` (mono s16) and measure it."""
    try:
        with wave.open(str(wav), "rb") as reader:
            if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
                raise PackagingError(f"{wav} is not mono 16-bit PCM", path=str(wav))
            rate = reader.getframerate()
            samples = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise PackagingError(f"cannot read {wav}: {exc}", path=str(wav)) from exc
    return measure_pcm(samples, rate)


def measure_pcm(samples: bytes, rate: int) -> ChunkStats:
    """Measure mono s16le ``samples`` at ``rate``."""
    pcm = _numpy().frombuffer(samples, dtype="<i2")
    return ChunkStats(
        frames=len(pcm),
        sample_rate=rate,
        block_lufs=array.array("d", _blocks(pcm, rate)),
        pause_edges=_silences(pcm, rate),
    )


def sidecar_path(wav: Path) -> Path:
    return wav.with_name(wav.stem + ".stats.json")


def chunk_stats(wav: Path, frames: int) -> ChunkStats:
    """The statistics of ``wav``, from its sidecar when it has a valid one.

    Only content-addressed chunks (named by their 64-hex cache key) get a sidecar: the name
    fixes the content, so the sidecar can never describe other audio. Others are measured.
    """
    cacheable = CACHE_KEY.fullmatch(wav.stem) is not None
    if cacheable:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(sidecar_path(wav).read_text(encoding="utf-8"))
            if data["schema"] == STATS_SCHEMA and data["frames"] == frames:
                return ChunkStats(
                    frames=frames,
                    sample_rate=int(data["rate"]),
                    block_lufs=array.array("d", data["blocks"]),
                    pause_edges=array.array("q", (int(f) for p in data["silences"] for f in p)),
                )
    stats = measure_chunk(wav)
    if stats.frames != frames:
        raise PackagingError(f"{wav} holds {stats.frames} frames, expected {frames}", path=str(wav))
    if cacheable:
        save_stats(wav, stats)
    return stats


def try_measure(samples: bytes, rate: int, what: str) -> ChunkStats | None:
    """Measure mono s16le ``samples``, or log why not: a failure only costs measuring the
    chunk later, when it is packaged."""
    try:
        return measure_pcm(samples, rate)
    except ValueError as exc:
        log.warning("cannot measure %s: %s", what, exc)
        return None


def save_stats(wav: Path, stats: ChunkStats) -> None:
    """Keep ``stats`` beside the content-addressed chunk ``wav``."""
    record = {
        "schema": STATS_SCHEMA, "frames": stats.frames, "rate": stats.sample_rate,
        "blocks": stats.block_lufs.tolist(), "silences": stats.silences,
    }  # fmt: skip
    try:
        atomic_write_text(sidecar_path(wav), json.dumps(record, separators=(",", ":")))
    except OSError as exc:  # a read-only cache still packages; it just measures again
        log.warning("cannot cache %s: %s", sidecar_path(wav), exc)


def gated_loudness(block_lufs: Iterable[float]) -> float:
    """BS.1770 integrated loudness of these block loudnesses (absolute then relative gate).

    Plain Python over one array of powers: ten hours of blocks is ~370,000 of them, a few tens
    of milliseconds, and no numpy temporaries that outlive the call in the heap.
    """
    power = array.array(
        "d", (10 ** ((v + 0.691) / 10) for v in block_lufs if v > _ABSOLUTE_GATE_LUFS)
    )
    if not power:
        return _ABSOLUTE_GATE_LUFS
    threshold = sum(power) / len(power) * 10 ** (_RELATIVE_GATE_LU / 10)
    kept = total = 0.0
    for p in power:
        if p > threshold:
            kept += 1
            total += p
    return -0.691 + 10 * math.log10(total / kept)
