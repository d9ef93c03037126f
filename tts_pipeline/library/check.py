"""Whether a library is whole: what ``tts-pipeline library check`` reports, one line per
problem (none: the library is whole).

- the state database passes SQLite's ``PRAGMA integrity_check``;
- every recorded episode's MP3 is in ``episodes/`` at its recorded size, and no post is
  recorded as two episodes;
- ``episodes/`` holds no file that no record names, and no partial file (``.*.part``) but
  those of an episode a process is making right now; no publication is left half done;
- every feed file (``*.xml`` beside ``feed.xml`` and under ``feeds/``) is well-formed XML,
  every URL in it under the library's address names a file that is there, no guid appears
  twice in one feed (its pages, followed by their ``next`` and ``prev-archive`` links,
  included), and every recorded episode is in some feed.

Read-only: the state is opened read-only and nothing is written, so it may run while other
processes work on the library (their files in the making are recognised by their locks).
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tts_pipeline.errors import LibraryError
from tts_pipeline.library.feeds import FEEDS_DIR, library_url
from tts_pipeline.library.layout import Library
from tts_pipeline.library.locks import FEEDS_LOCK, LOCKS_FOLDER, is_held

ATOM = "{http://www.w3.org/2005/Atom}"
OLDER_PAGE_RELS = frozenset({"next", "prev-archive"})  # RFC 5005: paged and archived feeds
_MAX_INTEGRITY_LINES = 10


@dataclass(frozen=True)
class Recorded:
    """What the state database says about the library's episodes."""

    episodes: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (mp3, size)
    pending: tuple[str, ...] = ()  # ids noted as on their way into episodes/
    twins: tuple[str, ...] = ()  # problems: one post recorded as several episodes


@dataclass
class FeedFile:
    """One parsed feed file: its item guids, the library files it names, its older pages."""

    relative: str
    guids: list[str]
    named: set[str]  # library-relative paths of the files its URLs name
    older: set[str]  # library-relative paths of the pages its page links name


@dataclass(frozen=True)
class CheckReport:
    problems: list[str]  # one readable line each; none when the library is whole
    episodes: int  # recorded
    feeds: int  # feed files read


def check_library(library: Library, base_url: str) -> CheckReport:
    """Every problem found in ``library`` (its feeds read as published at ``base_url``
    unless their own address says otherwise)."""
    if not library.root.is_dir():
        raise LibraryError(f"no library at {library.root}")
    problems: list[str] = []
    recorded = _read_state(library, problems)
    problems += recorded.twins
    problems += _check_episodes(library, recorded)
    problems += _check_feeds(library, recorded, base_url)
    return CheckReport(problems, len(recorded.episodes), len(_feed_files(library)))


def _read_state(library: Library, problems: list[str]) -> Recorded:
    path = library.state_path
    if not path.exists():
        return Recorded()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.Error as exc:
        problems.append(f"{path.name}: cannot open: {exc}")
        return Recorded()
    try:
        verdict = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            problems += [f"{path.name}: {line}" for line in verdict[:_MAX_INTEGRITY_LINES]]
        return Recorded(
            episodes={
                str(r[0]): (str(r[1]), int(str(r[2])))
                for r in _rows(conn, "SELECT id, mp3, size_bytes FROM episodes")
            },
            pending=tuple(str(r[0]) for r in _rows(conn, "SELECT id FROM pending_episodes")),
            twins=tuple(
                f"post {r[1]} ({r[0]}) is recorded as {r[2]} episodes: {r[3]}"
                for r in _rows(
                    conn,
                    "SELECT prefix, post_id, COUNT(*), GROUP_CONCAT(id, ', ') FROM episodes"
                    " GROUP BY prefix, post_id HAVING COUNT(*) > 1",
                )
            ),
        )
    except sqlite3.Error as exc:
        problems.append(f"{path.name}: {exc}")
        return Recorded()
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, query: str) -> list[tuple[object, ...]]:
    """The query's rows; none when its table is not there yet (a library without episodes)."""
    try:
        return conn.execute(query).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def _check_episodes(library: Library, recorded: Recorded) -> Iterator[str]:
    folder = library.published
    named: set[str] = set()
    for eid, (mp3, size) in sorted(recorded.episodes.items()):
        named.add(mp3)
        named.update(path.name for path in folder.episode_files(eid))
        try:
            found = (folder.path / mp3).stat().st_size
        except OSError:
            yield f"episode {eid}: its MP3 {folder.name}/{mp3} is missing"
            continue
        if found != size:
            yield f"episode {eid}: {folder.name}/{mp3} is {found} bytes, recorded as {size}"
    for eid in recorded.pending:
        if not is_held(library.episode_lock_path(eid)):
            yield (
                f"episode {eid}: its publication was left half done (the next convert, watch"
                " or backfill finishes it)"
            )
    if not folder.path.is_dir():
        return
    for path in sorted(folder.path.iterdir()):
        if path.name.startswith(".") and path.name.endswith(".part"):
            eid = path.name[1:].split(".", 1)[0]  # ".<id>.mp3.<random>.part"
            if not is_held(library.episode_lock_path(eid)):
                yield f"{folder.name}/{path.name}: a partial file, left by a killed run"
        elif path.name not in named:
            yield f"{folder.name}/{path.name}: no record names it"


def _feed_files(library: Library) -> list[Path]:
    root = library.root
    return sorted([*root.glob("*.xml"), *(root / FEEDS_DIR).rglob("*.xml")])


def _check_feeds(library: Library, recorded: Recorded, base_url: str) -> Iterator[str]:
    root = library.root
    writing = is_held(root / LOCKS_FOLDER / f"{FEEDS_LOCK}.lock")
    for folder in (root, root / FEEDS_DIR):
        for part in sorted(folder.glob(".*.xml.*.part")) if not writing else ():
            yield f"{part.relative_to(root)}: a partial file, left by a killed run"
    feeds: dict[str, FeedFile] = {}
    for path in _feed_files(library):
        relative = path.relative_to(root).as_posix()
        try:
            tree = ET.parse(path)
        except (ET.ParseError, OSError) as exc:
            yield f"{relative}: not a well-formed feed ({exc})"
            continue
        feed = _read_feed(tree.getroot(), relative, base_url)
        feeds[relative] = feed
        for name in sorted(feed.named):
            if not (root / name).is_file():
                yield f"{relative}: names {name}, which is not there"
        for guid, count in Counter(feed.guids).items():
            if count > 1:
                yield f"{relative}: guid {guid} appears {count} times"
    yield from _check_chains(feeds)
    listed = {guid for feed in feeds.values() for guid in feed.guids}
    if recorded.episodes and not (root / "feed.xml").is_file():
        yield "feed.xml is missing"
    elif feeds:
        for eid in sorted(set(recorded.episodes) - listed):
            yield f"episode {eid} is recorded but no feed lists it"


def _read_feed(rss: ET.Element, relative: str, base_url: str) -> FeedFile:
    """What one feed file lists and names. Its address is its ``atom:link rel="self"``, so
    a feed written for another base URL is read at that one."""
    links = [(link.get("rel", ""), link.get("href", "")) for link in rss.iter(f"{ATOM}link")]
    own = library_url("http://x/", relative)[len("http://x/") :]
    base = next(
        (href[: -len(own)] for rel, href in links if rel == "self" and href.endswith(own)),
        base_url.rstrip("/") + "/",
    )
    named: set[str] = set()
    for element in rss.iter():
        for url in (element.get("url"), element.get("href"), _url_text(element)):
            if url and (name := _inside(url, base)):
                named.add(name)
    older = {name for rel, href in links if rel in OLDER_PAGE_RELS if (name := _inside(href, base))}
    guids = [guid.text.strip() for guid in rss.iter("guid") if guid.text]
    return FeedFile(relative, guids, named, older)


def _url_text(element: ET.Element) -> str | None:
    return element.text.strip() if element.tag == "url" and element.text else None


def _inside(url: str, base: str) -> str | None:
    """The library-relative path ``url`` names under ``base``, or None (outside it, or the
    library's own address)."""
    if not url.startswith(base):
        return None
    path = unquote(urlsplit(url[len(base) :]).path)
    parts = path.split("/")
    if not path or path.endswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return path


def _check_chains(feeds: dict[str, FeedFile]) -> Iterator[str]:
    """A guid listed twice along one feed's pages (from its subscription page through its
    older pages): an app paging through would list the episode twice."""
    pointed = {page for feed in feeds.values() for page in feed.older}
    for start in sorted(set(feeds) - pointed):
        seen: dict[str, str] = {}
        queue, visited = [start], set()
        while queue:
            page = queue.pop(0)
            if page in visited or page not in feeds:
                continue
            visited.add(page)
            for guid in dict.fromkeys(feeds[page].guids):
                if guid in seen and seen[guid] != page:
                    yield f"{start}: guid {guid} is in both {seen[guid]} and {page}"
                seen.setdefault(guid, page)
            queue += sorted(feeds[page].older)
