"""``tts-pipeline voices [list]`` and ``tts-pipeline voices install``.

Profiles live in ``synth.voices``, engines in ``synth``, the Piper catalogue installer in
``synth.piper_voices``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tts_pipeline.cli.output import Bar, bars_wanted
from tts_pipeline.config import Config
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import VoiceProfile
from tts_pipeline.net.http import http_client
from tts_pipeline.paths import user_voices_dir
from tts_pipeline.synth.choice import choose_voice
from tts_pipeline.synth.engine import get_engine, install_hint
from tts_pipeline.synth.piper_voices import HUB, install_voice
from tts_pipeline.synth.voices import list_voices, load_voice

DOWNLOAD_TIMEOUT = (10.0, 60.0)
log = logging.getLogger(__name__)


def add_voices(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """``voices``, with its actions ``list`` and ``install``."""
    voices = sub.add_parser(
        "voices",
        parents=list(parents),
        help="list voice profiles, or install a Piper voice",
        description=(
            "List the voice profiles --voice can name (the default action), or install an"
            " official Piper voice by name."
        ),
    )
    voices.set_defaults(run=run_list)
    # The options again, without defaults, so `voices install X --config F` and
    # `voices --config F install X` both work (a subparser's defaults would overwrite them).
    again = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    again.add_argument("--config", type=Path, metavar="FILE", help="TOML config file")
    again.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    again.add_argument("-v", "--verbose", action="count", help="more log output")
    actions = voices.add_subparsers(dest="voices_action", metavar="ACTION")
    listing = actions.add_parser(
        "list",
        parents=[again],
        help="list voice profiles (default)",
        description=(
            "Every voice profile: its engine and voice, whether it is installed, and a command"
            " to hear it (or to install it). * marks the default: the config's voice, else the"
            " best installed (joe when Piper and its model are installed, else espeak-ng)."
        ),
    )
    listing.set_defaults(run=run_list)
    install = actions.add_parser(
        "install",
        parents=[again],
        help="download an official Piper voice, checksums verified",
        description=(
            "Download a voice from the piper-voices catalogue (needs the internet), verify its"
            " published SHA-256 and MD5, and add a profile of the same name to the user voices"
            f" folder ({user_voices_dir()}). Names look like en_US-lessac-medium; the catalogue"
            " is listed at https://huggingface.co/rhasspy/piper-voices."
        ),
    )
    install.add_argument("name", metavar="NAME", help="catalogue name, e.g. en_US-lessac-medium")
    install.add_argument(
        "--hub", default=HUB, metavar="URL", help=f"where the catalogue is (default {HUB})"
    )
    install.set_defaults(run=run_install)


def command_voice(requested: str | None, config: Config) -> VoiceProfile:
    """The voice a command speaks with: ``--voice``, else the config's, else the best
    installed (``synth.choice``)."""
    choice = choose_voice(requested, config.voice)
    log.info("voice %s: %s", choice.name, choice.reason)
    return load_voice(choice.name)


def run_list(args: argparse.Namespace, config: Config) -> int:
    chosen = choose_voice(None, config.voice)
    rows = [("", "NAME", "ENGINE", "VOICE", "RATE", "INSTALLED", "TRY")]
    for voice in list_voices():
        hint = _hint(voice)
        rows.append(
            (
                "*" if voice.name == chosen.name else "",
                voice.name,
                voice.engine,
                voice.voice,
                f"{voice.rate_wpm} wpm",
                "no" if hint else "yes",
                hint or f"tts-pipeline demo --voice {voice.name}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print(f"\n* default: {chosen.name}, because {chosen.reason}")
    return 0


def _hint(voice: VoiceProfile) -> str | None:
    try:
        engine = get_engine(voice.engine)
    except ConfigError:
        return f"no engine {voice.engine!r} is installed"
    return install_hint(engine, voice)


def run_install(args: argparse.Namespace, config: Config) -> int:
    dest = user_voices_dir()
    http = http_client(config, timeout=DOWNLOAD_TIMEOUT, forum=False)
    bar = Bar("Downloading", "B", unit_scale=True) if bars_wanted(args.quiet) else None
    try:
        installed = install_voice(
            args.name, dest, http, hub=args.hub, on_progress=bar.update_to if bar else None
        )
    finally:
        http.close()
        if bar is not None:
            bar.close()
    size = sum(path.stat().st_size for path in installed.files)
    action = "installed" if installed.downloaded_bytes else "already installed"
    print(f"{installed.key}: {action}, {size / 1e6:.1f} MB, checksums verified")
    print(f"  profile: {installed.profile}")
    print(f"  try it: tts-pipeline demo --voice {installed.key}")
    return 0
