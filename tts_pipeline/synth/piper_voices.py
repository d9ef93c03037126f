"""Install official Piper voices by name from the piper-voices catalogue, verified.

The catalogue is ``voices.json`` in the ``rhasspy/piper-voices`` repository on the Hugging Face
Hub: voice name -> files, each with its size and MD5. The Hub's file listing of the voice's
folder publishes each file's checksum too: the SHA-256 of files kept in Git LFS (the ``.onnx``
models) and the Git blob id (a SHA-1) of the small ones. A download is accepted only if its
size, its MD5 and its published checksum all match, and the model must have a published
SHA-256. Files are written under temporary names and renamed when verified, so an interrupted
or tampered download never leaves a file a voice profile would load; the voice's profile is
written last.

Layout in the target folder (the user voices folder by default)::

    en_US-lessac-medium.toml          # the profile: --voice en_US-lessac-medium
    en_US-lessac-medium/en_US-lessac-medium.onnx, .onnx.json, MODEL_CARD
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from tts_pipeline.errors import IngestError, VoiceInstallError
from tts_pipeline.fsutil import atomic_path, atomic_write_text
from tts_pipeline.net.http import HttpClient

log = logging.getLogger(__name__)

HUB = "https://huggingface.co"
REPO = "rhasspy/piper-voices"
REVISION = "main"
CATALOGUE = "voices.json"
MAX_JSON_BYTES = 50_000_000
MAX_FILE_BYTES = 1_000_000_000
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEX = re.compile(r"^[0-9a-f]+$")
_BLOCK = 1 << 20

Progress = Callable[[int, int], None]  # (bytes done, bytes in all) across the voice's files


@dataclass(frozen=True)
class VoiceFile:
    """One file of a voice, with every checksum published for it."""

    path: str  # in the repository, e.g. "en/en_US/lessac/medium/en_US-lessac-medium.onnx"
    size: int
    md5: str
    sha256: str | None = None  # Git LFS files
    git_blob: str | None = None  # other files: sha1(b"blob <size>\0" + content)

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class InstalledVoice:
    key: str  # the catalogue name, also the profile name
    profile: Path
    files: tuple[Path, ...]
    downloaded_bytes: int  # 0 when every file was already there and verified


def resolve_url(hub: str, path: str) -> str:
    return f"{hub.rstrip('/')}/{REPO}/resolve/{REVISION}/{quote(path)}"


def tree_url(hub: str, folder: str) -> str:
    return f"{hub.rstrip('/')}/api/models/{REPO}/tree/{REVISION}/{quote(folder)}"


def install_voice(
    name: str,
    dest: Path,
    http: HttpClient,
    *,
    hub: str = HUB,
    on_progress: Progress | None = None,
) -> InstalledVoice:
    """Fetch the catalogue voice ``name`` (e.g. ``en_US-lessac-medium``) into ``dest``.

    Files already present and verified are kept. The profile ``<key>.toml`` is written only
    if there is none, so a user's edits to it survive a re-install.
    """
    host = urlsplit(hub).netloc or hub
    catalogue = _fetch_json(
        http, resolve_url(hub, CATALOGUE), f"the Piper voice catalogue ({host})"
    )
    key, entry = find_entry(catalogue, name)
    files = catalogue_files(key, entry)
    folder = str(PurePosixPath(files[0].path).parent)
    listing = _fetch_json(http, tree_url(hub, folder), f"the file list of {key} ({host})")
    files = [with_published(file, listing, key) for file in files]

    voice_dir = dest / key
    total = sum(f.size for f in files)
    done = 0
    downloaded = 0
    paths: list[Path] = []
    for file in files:
        target = voice_dir / file.name
        if target.is_file() and _matches(target, file):
            log.info("%s is already installed and verified", target)
        else:
            url = resolve_url(hub, file.path)
            downloaded += _download(http, url, file, target, done, total, on_progress)
        done += file.size
        if on_progress is not None:
            on_progress(done, total)
        paths.append(target)

    profile = dest / f"{key}.toml"
    if not profile.exists():
        atomic_write_text(profile, profile_text(key, f"{key}/{key}.onnx", entry))
    return InstalledVoice(key, profile, tuple(paths), downloaded)


def find_entry(catalogue: Any, name: str) -> tuple[str, dict[str, Any]]:
    """The catalogue entry named ``name`` (or one of its aliases, any letter case)."""
    if not isinstance(catalogue, dict) or not catalogue:
        raise VoiceInstallError("the Piper voice catalogue is empty or not a JSON object")
    wanted = name.strip().lower()
    for key, entry in catalogue.items():
        aliases = entry.get("aliases", []) if isinstance(entry, dict) else []
        names = {str(key).lower(), *(str(a).lower() for a in aliases or [])}
        if wanted in names and isinstance(entry, dict):
            return str(key), entry
    close = difflib.get_close_matches(name, [str(k) for k in catalogue], n=3, cutoff=0.6)
    hint = (
        f"; did you mean {', '.join(close)}?" if close else " (names look like en_US-lessac-medium)"
    )
    raise VoiceInstallError(f"no Piper voice named {name!r} in the catalogue{hint}")


def catalogue_files(key: str, entry: dict[str, Any]) -> list[VoiceFile]:
    """The voice's files as the catalogue lists them; all in one folder, with a model and
    its config, under names that are safe to write."""
    if not _SAFE_NAME.match(key):
        raise VoiceInstallError(f"the catalogue names a voice {key!r}, which is not a safe name")
    raw = entry.get("files")
    if not isinstance(raw, dict) or not raw:
        raise VoiceInstallError(f"the catalogue lists no files for {key}")
    files: list[VoiceFile] = []
    for path, info in raw.items():
        if not _safe_path(str(path)):
            raise VoiceInstallError(f"the catalogue lists an unsafe file name for {key}: {path!r}")
        size, md5 = info.get("size_bytes"), str(info.get("md5_digest", "")).lower()
        if not isinstance(size, int) or size < 0 or len(md5) != 32 or not _HEX.match(md5):
            raise VoiceInstallError(f"the catalogue gives no size and MD5 for {path}")
        files.append(VoiceFile(str(path), size, md5))
    if len({str(PurePosixPath(f.path).parent) for f in files}) != 1:
        raise VoiceInstallError(f"the catalogue spreads {key} over several folders")
    names = {f.name for f in files}
    if f"{key}.onnx" not in names or f"{key}.onnx.json" not in names:
        raise VoiceInstallError(f"the catalogue lists no {key}.onnx with its .onnx.json")
    return files


def with_published(file: VoiceFile, listing: Any, key: str) -> VoiceFile:
    """``file`` with the checksum the Hub's file list publishes for it."""
    entries = listing if isinstance(listing, list) else []
    found = next((e for e in entries if isinstance(e, dict) and e.get("path") == file.path), None)
    if found is None:
        raise VoiceInstallError(f"{file.path} is in the catalogue but not in the repository")
    lfs = found.get("lfs")
    if isinstance(lfs, dict) and _is_hex(lfs.get("oid"), 64):
        if lfs.get("size") != file.size:
            raise VoiceInstallError(
                f"{file.name}: the catalogue and the repository disagree on its size"
            )
        return VoiceFile(file.path, file.size, file.md5, sha256=str(lfs["oid"]))
    if file.name.endswith(".onnx"):
        raise VoiceInstallError(f"no SHA-256 is published for {file.name}; not installing {key}")
    if not _is_hex(found.get("oid"), 40):
        raise VoiceInstallError(f"no checksum is published for {file.name}; not installing {key}")
    return VoiceFile(file.path, file.size, file.md5, git_blob=str(found["oid"]))


def profile_text(key: str, model: str, entry: dict[str, Any]) -> str:
    language = entry.get("language", {}) if isinstance(entry.get("language"), dict) else {}
    described = language.get("name_english") or key
    country = language.get("country_english")
    where = f" ({country})" if country else ""
    return (
        f"# {key}: Piper voice, {described}{where}, from the piper-voices catalogue.\n"
        f"# Its licence and origin: {key}/MODEL_CARD. Installed by `tts-pipeline voices install`.\n"
        'engine = "piper"\n'
        f'voice = "{key}"\n'
        f'model = "{model}"\n'
        "rate_wpm = 200  # the voice's natural pace; higher is faster\n"
        "\n[pauses]\nsentence_ms = 200\nparagraph_ms = 600\nheading_ms = 1000\n"
    )


# -- verification -------------------------------------------------------------------------


class _Digests:
    """Every checksum of one stream of bytes, computed as it passes."""

    def __init__(self, expected_size: int) -> None:
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.git = hashlib.sha1(f"blob {expected_size}\0".encode(), usedforsecurity=False)

    def update(self, data: bytes) -> None:
        self.size += len(data)
        self.md5.update(data)
        self.sha256.update(data)
        self.git.update(data)

    def mismatch(self, file: VoiceFile) -> str | None:
        """What does not match ``file``'s published checksums, or None."""
        if self.size != file.size:
            return f"size {self.size} bytes, expected {file.size}"
        if self.md5.hexdigest() != file.md5:
            return "MD5 differs from the catalogue's"
        if file.sha256 is not None and self.sha256.hexdigest() != file.sha256:
            return "SHA-256 differs from the published one"
        if file.git_blob is not None and self.git.hexdigest() != file.git_blob:
            return "SHA-1 (Git blob id) differs from the published one"
        return None


def _matches(path: Path, file: VoiceFile) -> bool:
    digests = _Digests(file.size)
    try:
        if path.stat().st_size != file.size:
            return False
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digests.update(block)
    except OSError:
        return False
    return digests.mismatch(file) is None


def _download(
    http: HttpClient,
    url: str,
    file: VoiceFile,
    target: Path,
    done: int,
    total: int,
    on_progress: Progress | None,
) -> int:
    digests = _Digests(file.size)
    with atomic_path(target) as tmp, tmp.open("wb") as out:

        def sink(data: bytes) -> None:
            out.write(data)
            digests.update(data)
            if on_progress is not None:
                on_progress(done + digests.size, total)

        try:
            # A byte more than published is enough to know the file is wrong.
            http.download(url, sink, max_bytes=min(file.size + 1, MAX_FILE_BYTES))
        except IngestError as exc:
            raise VoiceInstallError(f"cannot download {file.name}: {exc}") from exc
        problem = digests.mismatch(file)
        if problem is not None:  # leaving the block by raising removes the temporary file
            raise VoiceInstallError(
                f"{file.name} failed verification ({problem}); nothing was installed under its name"
            )
        out.flush()
    return digests.size


def _fetch_json(http: HttpClient, url: str, what: str) -> Any:
    buffer = io.BytesIO()
    try:
        http.download(url, buffer.write, max_bytes=MAX_JSON_BYTES)
    except IngestError as exc:
        raise VoiceInstallError(
            f"cannot download {what}: {exc} (installing a voice needs the internet; the joe"
            " voice installs offline with pip install 'tts-pipeline[piper]')"
        ) from exc
    try:
        return json.loads(buffer.getvalue())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise VoiceInstallError(f"{what} is not valid JSON: {exc}") from exc


def _safe_path(path: str) -> bool:
    """A relative POSIX path without ``..``, whose file name is safe to write."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or "\\" in path:
        return False
    return all(p not in ("", ".", "..") for p in parts) and bool(_SAFE_NAME.match(parts[-1]))


def _is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and bool(_HEX.match(value))
