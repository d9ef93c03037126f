""" "Nothing to do": recognise a re-run whose finished episode would come out the same.

An episode's inputs are hashed: every chunk's spoken text and pause, the voice and the engine
(name and version), the tags, and every packaging setting. The hash is stored with the
episode once it is published; a later run of the same post with the same hash, whose files
are all still in place, returns the recorded episode instead of synthesising, joining and
encoding it again (an unchanged 45-minute episode otherwise costs the full encode).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from tts_pipeline.config import Config
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Chunk, Episode, Loudness, Post, VoiceProfile

# Bump when packaging changes in a way the inputs below do not capture (e.g. a new side file).
INPUTS_SCHEMA = "tts_pipeline.episode/1"


def inputs_hash(
    post: Post,
    chunks: Sequence[Chunk],
    voice: VoiceProfile,
    config: Config,
    *,
    engine: tuple[str, str],
    title: str,
    description: str,
) -> str:
    """The content address of everything the episode's files are made from; ``engine`` is
    the speaking engine's name and version."""
    fields: list[object] = [
        INPUTS_SCHEMA,
        list(engine),
        # A Piper speaker id only when set, so the hashes of other voices stay as they were.
        {k: v for k, v in asdict(voice).items() if k != "speaker" or v is not None},
        # A conversation's chunks: also who says them, in which voice.
        [
            [
                c.index,
                c.text,
                c.pause_after_ms,
                *([c.voice, c.speaker] if c.voice or c.speaker else []),
            ]
            for c in chunks
        ],
        # Tags, chapters and side files.
        [title, description, post.title, list(post.authors), post.url, post.site_name],
        post.published.isoformat(),
        config.templates.podcast_name,
        # Packaging and checking.
        [config.bitrate_kbps, config.sample_rate, config.target_lufs, config.true_peak_dbtp],
        bool(config.verify),
    ]
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    # surrogatepass: API text can hold lone surrogates (JSON "\ud800"); they still count.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def unchanged_episode(library: Library, eid: str, digest: str, post: Post) -> Episode | None:
    """The published episode ``eid`` if it was made from ``digest`` and its files are intact."""
    if library.episode_inputs(eid) != digest:
        return None
    record = library.episode(eid)
    if record is None:
        return None
    mp3 = library.mp3_path(eid)
    side_files: tuple[Path, ...] = (
        library.episodes_dir / record.mp3,  # its public name (the same file)
        library.script_path(eid),
        library.vtt_path(eid),
        library.chapters_path(eid),
    )
    if not all(p.is_file() for p in (mp3, *side_files)) or mp3.stat().st_size != record.size_bytes:
        return None
    checked = library.verifications().get(eid)
    return Episode(
        id=eid,
        title=record.title,
        post=post,
        mp3=mp3,
        public_name=record.mp3,
        script_txt=library.script_path(eid),
        duration_s=record.duration_s,
        size_bytes=record.size_bytes,
        loudness=Loudness(
            integrated_lufs=record.loudness_lufs, true_peak_dbtp=record.true_peak_dbtp
        ),
        description=record.description,
        verification=checked.verification if checked else None,
        unchanged=True,
    )
