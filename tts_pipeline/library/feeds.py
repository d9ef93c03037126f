"""A library's feeds: one per channel (``[channels.<name>]``, see ``config.channels``).

The default channels are The Nonlinear Library's: ``feed.xml`` with every episode,
``feeds/<prefix>.xml`` per forum, and per forum its daily and weekly best and its top 400
(``feeds/<prefix>-daily.xml``, ``-weekly.xml``, ``-top.xml``); ``channels.select`` decides
what each lists.

Feeds are rendered from the state database and the files beside each episode, never edited
in place: the enclosure length is the MP3's size on disk at render time, the transcript and
chapters are listed when their files exist. ``render_library_feeds`` renders for any base
URL without writing anything (the local server renders with its own address);
``publish_feeds`` writes them atomically, with the cover they name.

Per-forum feeds exist for every configured forum profile (empty until it has episodes, so
their addresses can be subscribed to at once) and for any other prefix the library holds
(articles only in channels karma does not decide).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from tts_pipeline.config import Config
from tts_pipeline.config.channels import Channel
from tts_pipeline.errors import FeedError
from tts_pipeline.fsutil import atomic_write_bytes
from tts_pipeline.library.channel_sql import lists_by_itself
from tts_pipeline.library.channels import select
from tts_pipeline.library.layout import Library
from tts_pipeline.library.state import EpisodeRecord
from tts_pipeline.models import ARTICLE_PREFIX
from tts_pipeline.package.cover import default_cover
from tts_pipeline.package.rss import (
    FeedChannel,
    FeedItem,
    Transcript,
    podcast_guid,
    render_feed,
    show_notes_html,
)

log = logging.getLogger(__name__)

ALL_FEED = "feed.xml"
FEEDS_DIR = "feeds"
COVER_NAME = "cover.png"
# Enough of an episode's script to fill the show notes (4,000 bytes of HTML) and then some.
_NOTES_READ_BYTES = 16 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_PRIVATE_SUFFIXES = (".localhost", ".local", ".test", ".example", ".invalid", ".internal")


@dataclass(frozen=True)
class FeedPlan:
    """One feed of the library: where it lives, what it is called, which episodes it lists."""

    path: str  # relative to the library root, with "/": "feed.xml", "feeds/AF.xml"
    title: str
    description: str
    prefix: str | None  # the forum of a per-forum feed; None: not one forum's
    channel: str = ""  # the [channels.<name>] it comes from
    episodes: tuple[EpisodeRecord, ...] = ()  # what it lists, in its order (``channels``)
    # Whether karma decides what it lists: a karma update can then drop or add an older
    # episode anywhere in it, not only add the newest.
    by_karma: bool = False
    # Its channel's rules with the forums it lists as prefixes (``channel_sql`` reads them).
    rules: Channel | None = None

    @property
    def incremental(self) -> bool:
        """Whether an episode's place in the feed depends on that episode alone, so a
        publish need only look at the episodes changed since the last one."""
        return self.rules is None or lists_by_itself(self.rules)


def feed_file_name(prefix: str) -> str:
    """``<prefix>.xml`` when the prefix is a safe file name, else a safe, distinct stand-in."""
    if _SAFE_NAME.fullmatch(prefix):
        return f"{prefix}.xml"
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", prefix).strip("_")[:24] or "feed"
    digest = hashlib.sha256(prefix.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable}-{digest}.xml"


def _format_title(template: str, **fields: str) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + f + "}" for f in fields)
        raise FeedError(
            f"the forum_feed_title template {template!r} is invalid ({exc!r}); it may use {allowed}"
        ) from exc


def _forum_names(config: Config, records: Iterable[EpisodeRecord]) -> dict[str, tuple[str, str]]:
    """Every forum prefix with its name in titles and its spoken name: the configured
    profiles', then any other prefix the library holds (a profile since removed, articles)."""
    forums: dict[str, tuple[str, str]] = {}  # prefix -> (name in titles, spoken name)
    for site in config.sites:
        # The first profile with a prefix names its feed, unless a later one (a configured
        # mirror after the built-ins) sets feed_name itself.
        if site.prefix not in forums or site.feed_name:
            forums[site.prefix] = (site.feed_name or site.name, site.name)
    for prefix in dict.fromkeys(r.prefix for r in records):
        if prefix == ARTICLE_PREFIX:
            forums.setdefault(prefix, ("Articles", "around the web"))
        forums.setdefault(prefix, (prefix, prefix))
    return forums


@dataclass(frozen=True)
class _Holdings:
    """What every channel's plan reads: the forums, the records, the records by forum."""

    forums: dict[str, tuple[str, str]]  # prefix -> (name in titles, spoken name)
    site_names: str  # every profile's spoken name, for the all-forums description
    records: list[EpisodeRecord]
    by_prefix: dict[str, list[EpisodeRecord]]
    now: datetime


def plan_feeds(
    config: Config, records: Iterable[EpisodeRecord], now: datetime | None = None
) -> list[FeedPlan]:
    """The library's feeds, one per channel (``config.channels``), a per-forum channel one
    per forum prefix, each with the episodes it lists (``channels.select`` at ``now``).

    A path already taken by an earlier feed is skipped (a safe prefix spelling out another's
    stand-in name), and so are articles in a channel karma decides (they have none).
    """
    records = list(records)
    forums = _forum_names(config, records)
    by_prefix: dict[str, list[EpisodeRecord]] = {prefix: [] for prefix in forums}
    for record in records:
        by_prefix[record.prefix].append(record)
    site_names = ", ".join(dict.fromkeys(s.name for s in config.sites))
    held = _Holdings(forums, site_names, records, by_prefix, now or datetime.now(UTC))
    plans: list[FeedPlan] = []
    taken: set[str] = set()
    for channel in config.channels:
        named = _named_prefixes(config, channel)
        prefixes: list[str | None] = [None]
        if channel.per_forum:  # each forum it names (every forum when it names none)
            prefixes = [p for p in forums if not named or p in named]
        for prefix in prefixes:
            if prefix == ARTICLE_PREFIX and channel.by_karma:
                continue
            path = channel.path
            if prefix is not None:
                path = path.replace("{prefix}", feed_file_name(prefix).removesuffix(".xml"))
            if path not in taken:
                taken.add(path)
                plans.append(_plan(config, channel, prefix, path, held))
    return plans


def _named_prefixes(config: Config, channel: Channel) -> set[str]:
    """The prefixes a channel names, by prefix or by forum profile (none: every forum)."""
    return set(channel.prefixes) | {config.site(key).prefix for key in channel.forums}


def _plan(
    config: Config, channel: Channel, prefix: str | None, path: str, held: _Holdings
) -> FeedPlan:
    """One channel's feed (for one forum prefix, or for all the forums it names)."""
    name, forums = config.templates.podcast_name, held.forums
    wanted = _named_prefixes(config, channel) if prefix is None else {prefix}
    if wanted:
        pool = [r for p in forums if p in wanted for r in held.by_prefix[p]]
        forum = ", ".join(forums[p][0] for p in forums if p in wanted)
        spoken = ", ".join(forums[p][1] for p in forums if p in wanted)
    else:
        pool, forum, spoken = held.records, name, held.site_names
    fields = {"podcast_name": name, "forum": forum, "prefix": prefix or "", "site": spoken,
              "sites": held.site_names}  # fmt: skip
    if channel.title:
        title = channel.title.format(**fields)
    elif prefix is not None:
        title = _format_title(
            config.templates.forum_feed_title, podcast_name=name, forum=forum, prefix=prefix
        )
    else:
        title = name
    if channel.description:
        description = channel.description.format(**fields)
    elif prefix is not None:
        description = f"{name}: posts from {spoken}, narrated with text-to-speech."
    else:
        description = f"{name}: forum posts from {held.site_names}, narrated with text-to-speech."
    # The pool holds the wanted forums' records only: no filter by prefix is left to do.
    episodes = select(replace(channel, forums=(), prefixes=()), pool, held.now)
    rules = replace(channel, forums=(), prefixes=tuple(p for p in forums if p in wanted))
    return FeedPlan(path, title, description, prefix, channel.name, tuple(episodes),
                    channel.by_karma, rules)  # fmt: skip


def library_url(base_url: str, relative: str) -> str:
    """The public URL of a file in the library (path segments percent-encoded)."""
    return base_url.rstrip("/") + "/" + quote(relative, safe="/")


def check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedError(f"base URL {base_url!r} must be an absolute http:// or https:// URL")
    return base_url


def is_public_url(url: str) -> bool:
    """False for loopback, private and reserved hosts (a preview server, a test domain)."""
    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(_PRIVATE_SUFFIXES):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a bare intranet name is not a public address
    return address.is_global


def _script_paragraphs(path: Path) -> list[str]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_NOTES_READ_BYTES)
    except OSError:
        return []
    text = head.decode("utf-8", "ignore")
    paragraphs = text.split("\n\n")
    if len(head) == _NOTES_READ_BYTES:
        paragraphs = paragraphs[:-1]  # the last one may be cut mid-word
    return paragraphs


def _item(library: Library, config: Config, base: str, record: EpisodeRecord) -> FeedItem | None:
    mp3 = library.episodes_dir / record.mp3
    try:
        size = mp3.stat().st_size  # the file as served, not as first recorded
    except OSError:
        return None  # removed since it was listed
    eid = record.id
    transcripts = [
        Transcript(
            library_url(base, f"episodes/{path.name}"), kind, config.language, captions=captions
        )
        for path, kind, captions in (
            (library.vtt_path(eid), "text/vtt", True),
            (library.script_path(eid), "text/plain", False),
        )
        if path.is_file()
    ]
    chapters = library.chapters_path(eid)
    return FeedItem(
        guid=eid,
        title=record.title,
        link=record.url,
        description=record.description,
        published=record.published,
        enclosure_url=library_url(base, f"episodes/{record.mp3}"),
        enclosure_length=size,
        duration_s=record.duration_s,
        content_html=show_notes_html(record.url, _script_paragraphs(library.script_path(eid))),
        author=record.authors,
        transcripts=tuple(transcripts),
        chapters_url=(library_url(base, f"episodes/{chapters.name}") if chapters.is_file() else ""),
    )


def render_library_feeds(
    library: Library, config: Config, base_url: str | None = None
) -> dict[str, bytes]:
    """Every feed of the library as XML bytes, by path relative to the library root.

    URLs in the feeds (enclosures, transcripts, chapters, cover, atom:link) start with
    ``base_url`` (default: the config's). Nothing is written.
    """
    base = check_base_url(base_url or config.public_base_url)
    records = library.episodes()
    items = {r.id: item for r in records if (item := _item(library, config, base, r))}
    guids = library.feed_guids()
    feeds: dict[str, bytes] = {}
    for plan in plan_feeds(config, records):
        self_url = library_url(base, plan.path)
        channel = FeedChannel(
            title=plan.title,
            link=base,
            description=plan.description,
            self_url=self_url,
            image_url=library_url(base, COVER_NAME),
            author=config.templates.podcast_name,
            language=config.language,
            podcast_guid=guids.get(plan.path) or podcast_guid(self_url),
        )
        chosen = [items[r.id] for r in plan.episodes if r.id in items]
        feeds[plan.path] = render_feed(channel, chosen)
    return feeds


def publish_feeds(library: Library, config: Config, base_url: str | None = None) -> list[Path]:
    """Render every feed and write it (atomically) with the cover; return the feed paths.

    A feed's podcast:guid is kept from the first time it is published at a public URL; a
    loopback or test address never fixes it. One process at a time renders and writes
    (``Library.writing_feeds``), each from the state as it is then: two processes that
    published at once cannot leave the feeds without the episode the other recorded.
    """
    with library.writing_feeds():
        return _write_feeds(library, config, base_url)


def _write_feeds(library: Library, config: Config, base_url: str | None) -> list[Path]:
    base = check_base_url(base_url or config.public_base_url)
    records = library.episodes()
    if is_public_url(base):
        for plan in plan_feeds(config, records):
            url = library_url(base, plan.path)
            library.assign_feed_guid(plan.path, podcast_guid(url), url)
    feeds = render_library_feeds(library, config, base)
    try:
        cover, art = library.root / COVER_NAME, default_cover().read_bytes()
        if not cover.is_file() or cover.read_bytes() != art:
            atomic_write_bytes(cover, art)
        # feed.xml last: a run that finds it newer than the state knows every feed is too.
        paths = {library.root / relative: data for relative, data in feeds.items()}
        for path in sorted(paths, key=lambda path: path == library.feed_path):
            atomic_write_bytes(path, paths[path])
    except OSError as exc:
        raise FeedError(f"cannot write the feeds in {library.root}: {exc}") from exc
    library.sweep_retired()  # MP3 names the feeds just written no longer give
    log.info("wrote %d feeds with %d episodes", len(feeds), len(records))
    return [library.root / relative for relative in feeds]
