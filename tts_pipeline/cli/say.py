"""``tts-pipeline say`` and ``tts-pipeline lexicon check``: the loop for fixing a word.

``say`` speaks a text through the real cleaner, lexicon and engine (``preview.say``);
``lexicon check`` says each term in a carrier sentence with each voice and prints what the
speech recogniser heard (``verify.terms``), so a lexicon entry can be tried and confirmed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tts_pipeline.clean import load_lexicon
from tts_pipeline.cli.output import EXIT_OK, clock
from tts_pipeline.cli.voices import command_voice
from tts_pipeline.config import Config
from tts_pipeline.errors import ConfigError
from tts_pipeline.models import VoiceProfile
from tts_pipeline.pipeline import speak_text
from tts_pipeline.preview.say import say_text
from tts_pipeline.synth.engine import get_engine, install_hint, require_installed
from tts_pipeline.synth.voices import list_voices, load_voice
from tts_pipeline.verify.packaged import BASE_MODEL
from tts_pipeline.verify.terms import CARRIER, heard_term
from tts_pipeline.verify.whisper import Transcriber


def add_say(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "say",
        parents=list(parents),
        help="hear a text as an episode would say it",
        description=(
            "Speak TEXT through the real cleaner, pronunciation lexicon and engine, at the"
            " episode's loudness: played on the sound output, or written to --output (.wav or"
            " .mp3). Without a sound device it is written to a WAV whose path is printed."
        ),
    )
    parser.add_argument("text", metavar="TEXT", help="what to say (quote it)")
    parser.add_argument("--voice", metavar="NAME", help="voice profile (see 'voices')")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write a .wav or .mp3 instead of playing"
    )
    parser.set_defaults(run=run_say)


def add_lexicon(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "lexicon",
        help="check how the voices say words, by ear",
        description="Pronunciation lexicon tools.",
    )
    actions = parser.add_subparsers(dest="lexicon_action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        parents=list(parents),
        help="say terms with each voice and print what a speech recogniser heard",
        description=(
            f"Say each TERM in a sentence ({CARRIER.format('TERM')!r}) with each installed"
            " voice, through the lexicon, and print whether Whisper heard the term as written"
            " (case, hyphens, spacing and a plural s do not count). Without TERMs, every entry"
            " of the lexicon is checked. Your own entries go in lexicon.toml in the user voices"
            " folder."
            " Needs the verify extra: pip install 'tts-pipeline[verify]'."
        ),
    )
    check.add_argument("terms", nargs="*", metavar="TERM", help="words or names to check")
    check.add_argument(
        "--voice", action="append", metavar="NAME", help="voice profile (repeatable; default: all)"
    )
    check.add_argument(
        "--model",
        default=BASE_MODEL,
        metavar="NAME",
        help=f"Whisper model name or folder (default {BASE_MODEL})",
    )
    check.set_defaults(run=run_lexicon_check)


def run_say(args: argparse.Namespace, config: Config) -> int:
    voice = command_voice(args.voice, config)
    require_installed(voice)
    keep = Path(tempfile.gettempdir()) / "tts-pipeline-say.wav"
    outcome = say_text(
        args.text, config=config, voice=voice, output=args.output, keep=keep,
        jobs=config.effective_jobs(), on_play=None if args.quiet else _announce,
    )  # fmt: skip
    if outcome.not_played is not None:
        print(f"tts-pipeline: {outcome.not_played}; written to a file instead", file=sys.stderr)
    if outcome.wav is not None:
        print(outcome.wav)
    return EXIT_OK


def _announce(title: str, output: str, seconds: float) -> None:
    print(f"Playing {title} ({clock(seconds)}) on {output}", file=sys.stderr, flush=True)


def checked_voices(names: list[str] | None) -> list[VoiceProfile]:
    """The named profiles (each must be installed), else every installed one."""
    if names:
        voices = [load_voice(name) for name in names]
        for voice in voices:
            require_installed(voice)
        return voices
    return [v for v in list_voices() if install_hint(get_engine(v.engine), v) is None]


def run_lexicon_check(args: argparse.Namespace, config: Config) -> int:
    voices = checked_voices(args.voice)
    lexicon = load_lexicon()
    terms = list(args.terms) or sorted(
        {t for v in voices for t in lexicon.entries(v.name, v.engine)}
    )
    try:
        model = Transcriber(args.model, threads=1, workers=1)
    except ConfigError as exc:
        raise ConfigError(f"lexicon check needs a speech recogniser: {exc}") from exc
    width = max(len(term) for term in terms)
    heard_count = 0
    with tempfile.TemporaryDirectory(prefix="lexicon-check-") as tmp:
        for voice in voices:
            for term in terms:
                sentence = CARRIER.format(term)
                audio = speak_text(sentence, config, voice, Path(tmp) / voice.name)
                said = " ".join(model.transcribe(a.wav) for a in audio)
                heard = heard_term(term, said)
                heard_count += heard
                spoken = " ".join(a.chunk.text for a in audio)
                print(
                    f"{term:<{width}}  {voice.name:<8} {'heard ' if heard else 'MISSED'}"
                    f"  heard {said!r}, said {spoken!r}",
                    flush=True,
                )
    print(f"{heard_count} of {len(terms) * len(voices)} heard (Whisper {args.model})")
    return EXIT_OK
