"""Helpers for the watcher tests: short posts in the ForumMagnum API's shape, configs that
point forum profiles at local ForumServers, and readers of what a library ended up with."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clirun import start_cli

from tts_pipeline.config import Config, parse_config
from tts_pipeline.sample.forum_server import ForumServer


def forum_post(
    post_id: str,
    *,
    hours_ago: float,
    karma: float = 50,
    author: str = "Ada Example",
    words: int = 30,
    tags: Sequence[str] = (),
    body: str | None = None,
    af: bool = True,
) -> dict[str, Any]:
    """A short post (a sentence or two, so real synthesis stays fast)."""
    posted = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    return {
        "_id": post_id,
        "slug": post_id.lower(),
        "title": f"Notes on {post_id}",
        "pageUrl": f"https://forum.test/posts/{post_id}/{post_id.lower()}",
        "postedAt": posted.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "baseScore": karma,
        "wordCount": words,
        "af": af,
        "isEvent": False,
        "htmlBody": body or f"<p>This is {post_id}. Listening is reading too.</p>",
        "contents": {"html": "", "wordCount": words},
        "user": {"displayName": author, "username": author.lower().replace(" ", "_")},
        "coauthors": [],
        "tags": [{"name": t, "slug": t.lower().replace(" ", "-")} for t in tags],
        "hideAuthor": False,
    }


def config_data(servers: dict[str, tuple[str, ForumServer]], **watch: Any) -> dict[str, Any]:
    """Config for forum profiles ``key -> (prefix, server)``, watched in that order."""
    names = {
        "AF": "The AI Alignment Forum",
        "LW": "LessWrong",
        "EA": "The Effective Altruism Forum",
    }
    return {
        "base_url": "http://podcast.test/",
        "request_interval_s": 0.05,
        "http_retries": 1,
        "jobs": 1,
        "forums": {
            key: {
                "name": names.get(prefix, "A Test Forum"),
                "prefix": prefix,
                "hosts": [server.host],
                "graphql": server.graphql_url,
            }
            for key, (prefix, server) in servers.items()
        },
        "watch": {"forums": list(servers), "min_words": 5, "request_timeout_s": 2, **watch},
        # A short frame keeps every conversion to a few seconds of speech.
        "templates": {"intro": "This is {title}.", "outro": "Thanks for listening."},
    }


def make_config(servers: dict[str, tuple[str, ForumServer]], **watch: Any) -> Config:
    return parse_config(config_data(servers, **watch))


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """A TOML file for ``data`` (only the shapes config_data produces)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, v in data.items():
        if isinstance(v, dict):
            tables.append((key, v))
        else:
            lines.append(f"{key} = {value(v)}")
    for name, table in tables:
        nested = [(k, v) for k, v in table.items() if isinstance(v, dict)]
        lines.append(f"[{name}]")
        lines += [f"{k} = {value(v)}" for k, v in table.items() if not isinstance(v, dict)]
        for sub, subtable in nested:
            lines.append(f"[{name}.{sub}]")
            lines += [f"{k} = {value(v)}" for k, v in subtable.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def feed_guids(feed: Path) -> list[str]:
    return [g.text or "" for g in ET.parse(feed).getroot().iter("guid")]


def all_feed_guids(library: Path) -> dict[str, list[str]]:
    """Every feed in the library (feed.xml and any per-forum feeds) -> its item guids."""
    feeds = [library / "feed.xml", *sorted((library / "feeds").glob("*.xml"))]
    return {str(f.relative_to(library)): feed_guids(f) for f in feeds if f.is_file()}


def post_rows(library: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The watcher's rows, read straight from SQLite: (forum, post id) -> columns."""
    conn = sqlite3.connect(library / "state.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM watch_posts").fetchall()
    finally:
        conn.close()
    return {(r["forum"], r["post_id"]): dict(r) for r in rows}


def partial_files(library: Path) -> list[Path]:
    """Temporary files outside the chunk and segment caches (where a killed worker may leave
    one, swept a day later): none may be left where episodes are written."""
    caches = {library / "cache" / "chunks", library / "cache" / "segments"}
    return [p for p in library.rglob("*.part") if not caches & set(p.parents)]


def fetched_ids(server: ForumServer, since: int = 0) -> list[str]:
    """Ids of single posts fetched (GetPost) from request number ``since`` on."""
    ids = []
    for request in server.requests[since:]:
        if request.method == "POST" and b"GetPost" in request.body:
            ids.append(request.json()["variables"]["id"])
    return ids


def cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``python -m tts_pipeline ARGS`` in its own session (so it can be killed whole)."""
    return start_cli(*args, cwd=cwd, start_new_session=True)


def one_name_per_mp3(library: Path) -> list[Path]:
    """The library's MP3s, each once: ``<id>.mp3`` (its public name ``<id>.<hash>.mp3`` is a
    second name of the same file, and must be one)."""
    mp3s = [p for p in (library / "episodes").glob("*.mp3") if p.suffixes == [".mp3"]]
    for public in (library / "episodes").glob("*.*.mp3"):
        own = public.with_name(public.name.split(".")[0] + ".mp3")
        assert own.is_file() and public.samefile(own), public
    return mp3s
