"""Play audio through ``ffplay`` (the one wrapper around it), after checking there is an output.

Without a sound device ffplay prints "audio open failed" and still exits 0, so a naive player
fails silently. We look for an output first: an ALSA playback device in ``/dev/snd``, a
PulseAudio socket (``$PULSE_SERVER`` or ``$XDG_RUNTIME_DIR/pulse/native``) or a PipeWire
socket (``$XDG_RUNTIME_DIR/pipewire-0``). ``SDL_AUDIODRIVER`` set in the environment counts as
an explicit choice of output (ffplay plays through SDL): ``SDL_AUDIODRIVER=dummy`` "plays" in
real time into nothing, which is how the play path is tested on a machine without sound.
Even then, ffplay's complaints on stderr are read and turned into a failure.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tts_pipeline.errors import PlaybackError

log = logging.getLogger(__name__)

FFPLAY = "ffplay"
# What ffplay/SDL print when no output could be opened (ffplay then exits 0 regardless).
_OPEN_FAILED = ("audio open failed", "failed to open audio", "no available audio device")


def find_audio_output(
    env: Mapping[str, str] | None = None, dev_snd: Path = Path("/dev/snd")
) -> str | None:
    """A short description of the sound output ffplay would use, or None if there is none."""
    env = os.environ if env is None else env
    if env.get("SDL_AUDIODRIVER"):
        return f"SDL_AUDIODRIVER={env['SDL_AUDIODRIVER']}"
    if env.get("PULSE_SERVER"):
        return f"PulseAudio server {env['PULSE_SERVER']}"
    runtime = Path(env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")
    sockets = ((runtime / "pulse" / "native", "PulseAudio"), (runtime / "pipewire-0", "PipeWire"))
    for socket_path, name in sockets:
        if socket_path.exists():
            return f"{name} socket {socket_path}"
    try:
        # pcmC<card>D<device>p is a playback device; capture-only cards end in "c".
        playback = sorted(p.name for p in dev_snd.iterdir() if p.name.startswith("pcmC"))
    except OSError:
        return None
    playback = [name for name in playback if name.endswith("p")]
    return f"ALSA device {dev_snd / playback[0]}" if playback else None


NO_OUTPUT = "no sound device found (no ALSA playback device, PulseAudio or PipeWire socket)"


def play(path: Path, *, start_s: float = 0.0, duration_s: float | None = None) -> None:
    """Play ``path`` from ``start_s`` for ``duration_s`` (to the end if None); block until done.

    Raises PlaybackError if ffplay is missing, exits non-zero, or reports that it could not
    open the output.
    """
    args = [FFPLAY, "-nodisp", "-autoexit", "-hide_banner", "-nostats", "-loglevel", "error"]
    if start_s > 0:
        args += ["-ss", f"{start_s:.3f}"]
    if duration_s is not None:
        args += ["-t", f"{duration_s:.3f}"]
    args.append(str(path))
    log.debug("running %s", args)
    try:
        proc = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except FileNotFoundError as exc:
        raise PlaybackError(f"{FFPLAY} is not installed (apt-get install ffmpeg)") from exc
    except OSError as exc:
        raise PlaybackError(f"cannot run {FFPLAY}: {exc}") from exc
    complaint = next(
        (line.strip() for line in proc.stderr.splitlines() if line.strip()), "no error output"
    )
    if proc.returncode != 0:
        raise PlaybackError(f"{FFPLAY} failed on {path}: {complaint}")
    if any(marker in proc.stderr.lower() for marker in _OPEN_FAILED):
        raise PlaybackError(f"{FFPLAY} could not open the sound output: {complaint}")
