"""The local server's HTML page: the newest episodes (a page at a time, or those matching a
search by title or author), each with a player, its chapters and its transcript.

Rendering is a pure function of the episode records and their side files. Every piece of
episode text goes through ``html.escape`` (titles and transcripts come from forum posts), and
only http(s) links are ever put in an ``href``. The page's script and style are static files
beside this module, so the page can be served with a ``script-src 'self'`` policy.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from tts_pipeline.errors import SidecarError
from tts_pipeline.library.sidecars import (
    SavedChapter,
    SavedCue,
    chapters_path,
    read_chapters,
    read_cues,
    vtt_path,
)
from tts_pipeline.library.state import EpisodeRecord

log = logging.getLogger(__name__)

STATIC_FILES = {"page.js": "text/javascript", "page.css": "text/css"}


def static_file(name: str) -> bytes | None:
    """The bytes of one of the page's static files, or None for any other name."""
    if name not in STATIC_FILES:
        return None
    return (files(__package__) / "web" / name).read_bytes()


@dataclass(frozen=True)
class FeedLink:
    title: str
    url: str  # absolute, on this server


@dataclass(frozen=True)
class EpisodeView:
    """What the page shows of one episode."""

    record: EpisodeRecord
    chapters: Sequence[SavedChapter]
    cues: Sequence[SavedCue] | None  # the timed transcript, if there is one
    script: str | None  # the plain spoken script, shown when there is no timed transcript


def load_view(record: EpisodeRecord, episodes_dir: Path) -> EpisodeView:
    """Read an episode's side files; a damaged one is logged and left out, never fatal."""
    eid = record.id
    chapters: Sequence[SavedChapter] = []
    cues = None
    script = None
    try:
        chapters = read_chapters(chapters_path(episodes_dir, eid)) or []
    except SidecarError as exc:
        log.warning("%s", exc)
    try:
        cues = read_cues(vtt_path(episodes_dir, eid))
    except SidecarError as exc:
        log.warning("%s", exc)
    if cues is None:
        try:
            script = (episodes_dir / f"{eid}.txt").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            script = None
    return EpisodeView(record, chapters, cues, script)


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _safe_link(url: str) -> str | None:
    """``url`` if it is an absolute http(s) URL (never ``javascript:`` and the like)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _seek_link(start: float, label: str, text: str = "") -> str:
    return (
        f'<a href="#t={start:.3f}" data-start="{start:.3f}">'
        f'<span class="time">{escape(label)}</span>{escape(text)}</a>'
    )


def _episode_html(view: EpisodeView) -> str:
    record = view.record
    eid = escape(record.id)
    meta = [escape(record.authors) if record.authors else "", record.published.strftime("%Y-%m-%d")]
    meta.append(clock(record.duration_s))
    link = _safe_link(record.url)
    if link:
        meta.append(f'<a href="{escape(link)}">original post</a>')
    parts = [
        f'<article class="episode" id="episode-{eid}" data-episode="{eid}">',
        f"<h2>{escape(record.title)}</h2>",
        f'<p class="meta">{" · ".join(m for m in meta if m)}</p>',
        f'<audio controls preload="metadata" src="/episodes/{quote(record.mp3)}"></audio>',
    ]
    if view.chapters:
        parts.append('<ol class="chapters">')
        parts += [
            f"<li>{_seek_link(c.start_s, clock(c.start_s), c.title)}</li>" for c in view.chapters
        ]
        parts.append("</ol>")
    if view.cues:
        parts.append('<details class="transcript"><summary>Transcript</summary>')
        parts += [f"<p>{_seek_link(c.start_s, clock(c.start_s), c.text)}</p>" for c in view.cues]
        parts.append("</details>")
    elif view.script:
        paragraphs = [p for p in view.script.split("\n\n") if p.strip()]
        parts.append('<details class="transcript"><summary>Transcript</summary>')
        parts += [f"<p>{escape(p.strip())}</p>" for p in paragraphs]
        parts.append("</details>")
    parts.append("</article>")
    return "\n".join(parts)


@dataclass(frozen=True)
class PageNav:
    """Where the page is in the list of episodes: a search, its total, the window shown."""

    query: str = ""
    offset: int = 0
    limit: int = 50
    total: int = 0


def _page_link(nav: PageNav, offset: int, label: str, rel: str) -> str:
    params = {"q": nav.query} if nav.query else {}
    if offset:
        params["start"] = str(offset)
    href = "/?" + urlencode(params) if params else "/"
    return f'<a rel="{rel}" href="{escape(href)}">{label}</a>'


def _nav_html(nav: PageNav, shown: int) -> list[str]:
    parts = [
        '<form class="search" method="get" action="/" role="search">',
        f'<input type="search" name="q" value="{escape(nav.query)}"'
        ' placeholder="Search titles and authors" aria-label="Search titles and authors">',
        '<button type="submit">Search</button>',
        "</form>",
    ]
    if shown:
        first, last = nav.offset + 1, nav.offset + shown
        found = f"matching “{escape(nav.query)}”" if nav.query else "newest first"
        links = []
        if nav.offset > 0:
            links.append(_page_link(nav, max(0, nav.offset - nav.limit), "← Newer", "prev"))
        if last < nav.total:
            links.append(_page_link(nav, last, "Older →", "next"))
        parts.append(
            f'<p class="position">Episodes {first} to {last} of {nav.total} ({found})'
            + (f' <span class="pages">{" ".join(links)}</span>' if links else "")
            + "</p>"
        )
    return parts


def render_index(
    title: str,
    feeds: Sequence[FeedLink],
    episodes: Sequence[EpisodeView],
    icon: str | None = None,
    nav: PageNav | None = None,
) -> str:
    """The whole page, as HTML text; ``icon`` is the URL path of the podcast's artwork."""
    head = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        '<link rel="stylesheet" href="/_static/page.css">',
    ]
    if icon:
        head.append(f'<link rel="icon" href="{escape(icon)}">')
    head += [
        f'<link rel="alternate" type="application/rss+xml" title="{escape(f.title)}"'
        f' href="{escape(f.url)}">'
        for f in feeds
    ]
    head += ['<script src="/_static/page.js" defer></script>', "</head>", "<body>"]
    body = [f"<header><h1>{escape(title)}</h1>"]
    if feeds:
        body.append('<ul class="feeds">')
        for feed in feeds:
            url = escape(feed.url)
            body.append(f'<li>{escape(feed.title)}: <a href="{url}"><code>{url}</code></a></li>')
        body.append("</ul>")
    if nav is not None:
        body += _nav_html(nav, len(episodes))
    body.append("</header>")
    body.append("<main>")
    if episodes:
        body += [_episode_html(view) for view in episodes]
    elif nav is not None and nav.query:
        body.append(f'<p class="empty">No episode matches “{escape(nav.query)}”.</p>')
    else:
        body.append('<p class="empty">No episodes yet.</p>')
    body += ["</main>", "</body>", "</html>", ""]
    return "\n".join(head + body)
