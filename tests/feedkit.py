"""A synthetic library of any size for the paged-feed tests and benchmark: real ``episodes``
rows (bulk inserted), a real short MP3 (one copy per episode), a script per episode, and a
WebVTT transcript and chapters file for some of them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

from tts_pipeline.library.layout import Library

T0 = datetime(2019, 1, 1, tzinfo=UTC)
PREFIXES = ("AF", "LW", "EA")
_SILENCE: dict[str, bytes] = {}


def silent_mp3() -> bytes:
    """A real MP3 of a tenth of a second of silence (ffmpeg; a bare frame header without)."""
    if "mp3" not in _SILENCE:
        data = b"\xff\xfb\x90\x64" + bytes(413)
        if shutil.which("ffmpeg"):
            out = subprocess.run(
                ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono",
                 "-t", "0.1", "-b:a", "32k", "-f", "mp3", "-"],
                capture_output=True, check=True,
            ).stdout  # fmt: skip
            data = out or data
        _SILENCE["mp3"] = data
    return _SILENCE["mp3"]


def episode_id(number: int) -> str:
    return f"ep{number:07d}"


def published(number: int) -> datetime:
    return T0 + timedelta(minutes=37 * number)


def _script(number: int) -> str:
    words = " ".join(f"word{(number * 7 + k) % 997}" for k in range(40))
    return "\n\n".join(f"Paragraph {p} of post {number}. {words}." for p in range(6))


def mp3_name(number: int) -> str:
    return f"{episode_id(number)}-{number % 251:02x}.mp3"


def _write_files(library: Library, number: int) -> None:
    eid, folder = episode_id(number), library.episodes_dir
    (folder / mp3_name(number)).write_bytes(silent_mp3())
    (folder / f"{eid}.txt").write_text(_script(number), encoding="utf-8")
    if number % 4 == 0:
        (folder / f"{eid}.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:00.100\nHello.\n")
    if number % 5 == 0:
        chapters = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Start"}]}
        (folder / f"{eid}.chapters.json").write_text(json.dumps(chapters))


def add_episodes(
    library: Library, first: int, count: int, prefixes: tuple[str, ...] = PREFIXES
) -> list[str]:
    """Episodes ``first`` .. ``first + count - 1`` (later numbers are newer); their ids."""
    library.prepare()
    rows = []
    for number in range(first, first + count):
        _write_files(library, number)
        eid = episode_id(number)
        name = mp3_name(number)
        when = published(number).isoformat()
        prefix = prefixes[number % len(prefixes)]
        title = f"Post {number}: a title of ordinary length about topic {number % 89}"
        rows.append(
            (eid, f"post{number}", prefix, f"{prefix} - {title} by Author {number % 53}", title,
             f"Author {number % 53}", f"https://forum.example/posts/post{number}/a-post", when,
             f"Link to original article: https://forum.example/posts/post{number}\n\n"
             + _script(number)[:600], name, len(silent_mp3()), 0.1, -16.0, -1.5, when,
             float(number * 7919 % 500), "[]")  # karma spread over the range real posts have
        )  # fmt: skip
    with library.state() as conn:
        conn.executemany(f"INSERT OR REPLACE INTO episodes VALUES ({','.join('?' * 17)})", rows)
    return [row[0] for row in rows]


def remove_episode(library: Library, eid: str) -> None:
    with library.state() as conn:
        (mp3,) = conn.execute("SELECT mp3 FROM episodes WHERE id = ?", (eid,)).fetchone()
        conn.execute("DELETE FROM episodes WHERE id = ?", (eid,))
    (library.episodes_dir / mp3).unlink()
