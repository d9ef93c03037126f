"""Shared checks for the fault-injection tests: run the real CLI, then inspect what it left.

Every fault case ends in :func:`assert_one_line_failure` or a successful run, followed by
:func:`assert_library_sound`: no traceback, the feed well-formed, the state database
consistent, and no file under a final name that is not a whole, recorded episode.
"""

from __future__ import annotations

import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import feedparser
from clirun import run_cli

from tts_pipeline.library.state import file_identity
from tts_pipeline.sample.forum_server import ForumServer

# Short enough that a successful conversion takes a few seconds with espeak-ng.
SHORT_HTML = (
    "<p>Harbour lights blink in patterns so that sailors can tell one tower from another.</p>"
    "<p>In fog a horn joins the light, because sound carries where light cannot.</p>"
)


def forum_post(post_id: str, **fields: object) -> dict[str, object]:
    """A ForumMagnum ``result`` object as the API returns it, with overrides."""
    post: dict[str, object] = {
        "_id": post_id,
        "slug": "harbour-lights",
        "title": "Harbour Lights",
        "pageUrl": f"https://www.alignmentforum.org/posts/{post_id}/harbour-lights",
        "postedAt": "2024-03-07T09:15:00.000Z",
        "htmlBody": SHORT_HTML,
        "contents": {"html": "", "wordCount": 30},
        "user": {"displayName": "Ada Example", "username": "ada"},
        "coauthors": [],
        "hideAuthor": False,
    }
    post.update(fields)
    return post


def write_config(tmp: Path, server: ForumServer | None, *, retries: int = 2) -> Path:
    """A config whose forum profile points at ``server``: no crawl delay, few retries."""
    config = tmp / "tts-pipeline.toml"
    text = f'base_url = "http://podcast.test/"\nrequest_interval_s = 0\nhttp_retries = {retries}\n'
    if server is not None:
        text += (
            f'[forums.local]\nname = "The Local Forum"\nprefix = "LF"\n'
            f'hosts = ["{server.host}"]\ngraphql = "{server.graphql_url}"\n'
        )
    config.write_text(text, encoding="utf-8")
    return config


def convert(
    url: str,
    tmp: Path,
    *extra: str,
    library: str | Path = "lib",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``tts-pipeline convert url *extra`` with the config in ``tmp``, one synthesis job."""
    config = tmp / "tts-pipeline.toml"
    args = ["convert", url, *extra, "--config", str(config), "--library", str(library)]
    return run_cli(*args, "--jobs", "1", cwd=tmp, env=env)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1, exactly one ``tts-pipeline: error:`` line on stderr naming every needle."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("tts-pipeline: error: "), line
    for needle in needles:
        assert needle.lower() in line.lower(), line
    assert result.stdout == "", result.stdout
    return line


def _select(conn: sqlite3.Connection, table: str, columns: str) -> list[tuple[Any, ...]]:
    """The table's rows; none when it does not exist yet (a kill between SQLite creating the
    file and the schema, or a library from before the table)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    return conn.execute(f"SELECT {columns} FROM {table}").fetchall() if exists else []


def assert_library_sound(
    library: Path, *, episodes: int | None = None, after_kill: bool = False
) -> list[str]:
    """The library is consistent; return the recorded episode ids.

    - the state database passes ``PRAGMA integrity_check`` and every recorded episode's MP3
      exists with the recorded size (a database killed before its schema records none);
    - no MP3 under a final name lacks its record (a half-made episode would);
    - feed.xml, if present, is well-formed, lists each recorded episode once, and nothing else;
    - ``after_kill`` (right after a kill) allows what the next run finishes: feed.xml may still
      miss the episodes recorded last, and an episode noted as pending (killed between its
      files' move and its record) may be unrecorded, or recorded with the older MP3's size,
      if the noted MP3 is still waiting or already in place; without it, nothing is pending;
    - nothing was written outside ``library`` by a hostile title (checked by the callers).
    """
    ids: list[str] = []
    rows: list[tuple[Any, ...]] = []
    notes: list[tuple[Any, ...]] = []
    state = library / "state.sqlite3"
    if state.exists():
        with sqlite3.connect(state) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = _select(conn, "episodes", "id, mp3, size_bytes")
            columns = "id, folder, mp3_size, mp3_inode, mp3_mtime_ns"
            notes = _select(conn, "pending_episodes", columns)
        conn.close()
    assert after_kill or not notes, f"publications left pending: {notes}"
    # A note the next run finishes: its MP3 (same size, inode and mtime) waits or is in place.
    finishing = set()
    for eid, folder, *noted in notes:
        waiting, placed = (library / where / f"{eid}.mp3" for where in (folder, "episodes"))
        if tuple(noted) in (file_identity(waiting), file_identity(placed)):
            finishing.add(eid)
    for eid, mp3, size in rows:
        path = library / "episodes" / mp3
        assert path.is_file(), (eid, mp3)
        assert path.stat().st_size == size or eid in finishing, (eid, mp3)
        ids.append(eid)
    assert len(ids) == len(set(ids)), ids
    episodes_dir = library / "episodes"
    if episodes_dir.is_dir():
        for mp3 in episodes_dir.glob("*.mp3"):
            eid = mp3.name.split(".")[0]  # <id>.mp3, or its public name <id>.<hash>.mp3
            known = eid in ids or eid in finishing
            assert known, f"{mp3.name} is under a final name but not recorded"
    feed = library / "feed.xml"
    if feed.exists():
        raw = feed.read_bytes()
        ET.fromstring(raw)  # well-formed XML
        parsed = feedparser.parse(raw)
        assert not parsed.bozo, parsed.bozo_exception
        assert len(parsed.entries) <= len(ids) if after_kill else len(parsed.entries) == len(ids)
        guids = [e.get("id") for e in parsed.entries]
        assert len(guids) == len(set(guids))
        assert set(guids) <= set(ids), "the feed lists an episode the state does not record"
    else:
        assert after_kill or not ids, "episodes recorded but no feed.xml"
    if episodes is not None:
        assert len(ids) == episodes, ids
    return ids
