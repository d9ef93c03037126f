"""A library's public tree: the files listeners may fetch, each with its role and headers.

The feeds decide what is public. Every feed page on disk (``feed.xml``, its archive pages
``feed/*.xml`` and ``feeds/**.xml``) is public, and so is every file a feed names under the
base URL (enclosures, transcripts, chapters, the cover art, other feed pages), plus the side
files of each named MP3. Nothing else is: not ``state.sqlite3``, ``cache/``, ``previews/``,
held-back episodes or verification reports. A feed naming a file the library does not have is
an error, never a broken public feed.

Feeds are read once, here, and published from those bytes: a feed rewritten while a publish
runs cannot name a file this run did not see.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from tts_pipeline.errors import PublishError

ALL_FEED = "feed.xml"
ALL_FEED_PAGES = "feed"  # feed.xml's archive pages: feed/page-000001.xml ...
FEEDS_DIR = "feeds"
EPISODES_DIR = "episodes"
# RFC 5005 (feed paging and archiving): an archive document carries <fh:archive/>.
HISTORY_NS = "http://purl.org/syndication/history/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
_ARCHIVE_TAG = f"{{{HISTORY_NS}}}archive"
_ATOM_LINK = f"{{{ATOM_NS}}}link"
_SIDE_SUFFIXES = (".chapters.json", ".vtt", ".txt")
_MEDIA_SUFFIXES = (".mp3", ".png", ".jpg", ".jpeg")
_NOT_PUBLIC_DIRS = frozenset({"cache", "previews", "held"})
_MAX_FEED_BYTES = 64 * 1024 * 1024


class Role(StrEnum):
    """What a public file is, in upload order: a feed is published only after what it names."""

    MEDIA = "media"  # MP3s and cover art
    SIDE = "side"  # transcripts, scripts, chapters
    ARCHIVE = "archive"  # feed pages that never change once written (RFC 5005 archives)
    SUBSCRIPTION = "subscription"  # the pages apps subscribe to: rewritten on every change


UPLOAD_ORDER = (Role.MEDIA, Role.SIDE, Role.ARCHIVE, Role.SUBSCRIPTION)

CONTENT_TYPES: tuple[tuple[str, str], ...] = (
    # HTTP says JSON; the feed's podcast:chapters type (application/json+chapters) says which.
    (".chapters.json", "application/json"),
    (".mp3", "audio/mpeg"),
    (".vtt", "text/vtt; charset=utf-8"),
    (".txt", "text/plain; charset=utf-8"),
    (".xml", "application/rss+xml; charset=utf-8"),
    (".png", "image/png"),
    (".jpg", "image/jpeg"),
    (".jpeg", "image/jpeg"),
)


@dataclass(frozen=True)
class CachePolicy:
    """Cache-Control per role. Subscription pages must reach apps within minutes; an MP3 and
    an archive page are never rewritten under the same name, so caches may keep them."""

    subscription: str = "public, max-age=300"
    archive: str = "public, max-age=31536000, immutable"
    media: str = "public, max-age=31536000, immutable"
    # Side files and cover.png keep their names when they are made again.
    side: str = "public, max-age=3600"
    cover: str = "public, max-age=3600"

    def for_file(self, relative: str, role: Role) -> str:
        if role is Role.MEDIA and not relative.lower().endswith(".mp3"):
            return self.cover
        return str(getattr(self, role.value))


def content_type(relative: str) -> str:
    lower = relative.lower()
    for suffix, kind in CONTENT_TYPES:
        if lower.endswith(suffix):
            return kind
    raise PublishError(f"{relative} is not a kind of file the library publishes")


@dataclass(frozen=True)
class PublicFile:
    relative: str  # "/"-separated path inside the library, also the key under the prefix
    path: Path
    role: Role
    size: int
    mtime_ns: int
    data: bytes | None = None  # feed pages: the bytes read while the tree was made

    @property
    def content_type(self) -> str:
        return content_type(self.relative)


@dataclass(frozen=True)
class PageNames:
    """What one archive page named when it was last read, and the page as it was then: while
    its size and mtime are the same it is not read again, and the episode files it names are
    taken as they were (an episode made again changes every page naming it, as its enclosure
    URL changes)."""

    size: int
    mtime_ns: int
    base_url: str
    files: tuple[tuple[str, int, int], ...]  # (relative path, size, mtime_ns) of each named


@dataclass(frozen=True)
class PublicTree:
    root: Path
    base_url: str
    files: dict[str, PublicFile] = field(default_factory=dict)
    # Each archive page's names, as read now or taken from the memo (for the next publish).
    archive_names: dict[str, PageNames] = field(default_factory=dict)

    def in_upload_order(self) -> list[PublicFile]:
        """Media first, then side files, archive pages, subscription pages; ``feed.xml`` last,
        as the library writes it, so the main feed is the last to change."""
        rank = {role: n for n, role in enumerate(UPLOAD_ORDER)}
        return sorted(
            self.files.values(),
            key=lambda f: (rank[f.role], f.relative == ALL_FEED, f.relative),
        )

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files.values())


def feed_role(xml: bytes, name: str = "feed") -> Role:
    """An archive page (RFC 5005 ``<fh:archive/>`` in its channel) or a subscription page."""
    channel = _parse(xml, name).find("channel")
    if channel is not None and channel.find(_ARCHIVE_TAG) is not None:
        return Role.ARCHIVE
    return Role.SUBSCRIPTION


def _parse(xml: bytes, name: str) -> ET.Element:
    try:
        return ET.fromstring(xml)
    except ET.ParseError as exc:
        raise PublishError(f"{name} is not well-formed XML: {exc}", location=name) from exc


def feed_links(root: ET.Element) -> Iterator[str]:
    """Every URL a feed points a podcast app at: enclosures, transcripts, chapters, artwork,
    and atom:link pages (self, next, prev-archive ...)."""
    for element in root.iter():
        local = element.tag.rpartition("}")[2]
        if local in ("enclosure", "transcript", "chapters") and element.get("url"):
            yield element.get("url", "")
        elif (local == "image" or element.tag == _ATOM_LINK) and element.get("href"):
            yield element.get("href", "")
        elif local == "url" and element.text and _is_channel_image(root, element):
            yield element.text.strip()


def _is_channel_image(root: ET.Element, url: ET.Element) -> bool:
    return any(url in list(image) for image in root.iter("image"))


def relative_to_base(url: str, base_url: str) -> str | None:
    """The library path ``url`` names under ``base_url``, or None for a URL elsewhere."""
    base = base_url.rstrip("/") + "/"
    if not url.startswith(base):
        return None
    path = unquote(urlsplit(url[len(base) :]).path)
    normal = posixpath.normpath(path)
    if normal.startswith(("../", "/")) or normal in ("..", "."):
        return None
    return normal


def _is_publishable(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return (
        bool(parts)
        and parts[0] not in _NOT_PUBLIC_DIRS
        and not any(part.startswith(".") for part in parts)
        and relative.lower().endswith((*_MEDIA_SUFFIXES, *_SIDE_SUFFIXES, ".xml"))
    )


def _role_of(relative: str, data: bytes | None) -> Role:
    lower = relative.lower()
    if data is not None:
        return feed_role(data, relative)
    if lower.endswith(_SIDE_SUFFIXES):
        return Role.SIDE
    return Role.MEDIA


def feed_pages(root: Path) -> list[str]:
    """The feed pages on disk: ``feed.xml``, ``feed/*.xml`` and every ``feeds/**.xml``
    (temporary files of an atomic write, hidden names, are not pages)."""
    pages = [ALL_FEED] if (root / ALL_FEED).is_file() else []
    for folder, pattern in ((ALL_FEED_PAGES, "*.xml"), (FEEDS_DIR, "**/*.xml")):
        if not (root / folder).is_dir():
            continue
        for path in sorted((root / folder).glob(pattern)):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and _is_publishable(relative):
                pages.append(relative)
    return pages


def side_files(relative_mp3: str) -> list[str]:
    stem = relative_mp3[: -len(".mp3")]
    return [stem + suffix for suffix in _SIDE_SUFFIXES]


def _stat_file(root: Path, relative: str, data: bytes | None = None) -> PublicFile | None:
    path = root / relative
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PublishError(f"cannot read {path}: {exc.strerror}", location=str(path)) from exc
    size = stat.st_size if data is None else len(data)
    return PublicFile(relative, path, _role_of(relative, data), size, stat.st_mtime_ns, data)


def _read_feed(root: Path, relative: str) -> bytes:
    path = root / relative
    try:
        with open(path, "rb") as fh:
            return fh.read(_MAX_FEED_BYTES)
    except OSError as exc:
        raise PublishError(f"cannot read feed {path}: {exc.strerror}", location=str(path)) from exc


def _self_link(root: ET.Element) -> str | None:
    for link in root.iter(_ATOM_LINK):
        if link.get("rel") == "self":
            return link.get("href")
    return None


def _named_files(feed: str, data: bytes, base_url: str) -> list[str]:
    """The library files ``feed`` names; PublishError when it was rendered for another
    address than ``base_url`` (its self link says where it believes it lives)."""
    root = _parse(data, feed)
    self_url = _self_link(root)
    if self_url is not None and relative_to_base(self_url, base_url) != feed:
        raise PublishError(
            f"{feed} was rendered for {self_url}, not for the base URL {base_url}: render the"
            " feeds with the base URL they are published at",
            location=feed,
        )
    named = []
    for url in feed_links(root):
        relative = relative_to_base(url, base_url)
        if relative is None:
            continue
        if not _is_publishable(relative):
            raise PublishError(f"{feed} names {url}, which is not a public file", location=feed)
        named.append(relative)
    return named


def public_tree(root: Path, base_url: str, memo: dict[str, PageNames] | None = None) -> PublicTree:
    """Read the library's feeds and list every file they make public.

    ``memo``: what archive pages named at an earlier read (``PublicTree.archive_names``); a
    page unchanged since is not read again, and the episode files it names are taken as they
    were then, so a publish of a large archive reads only its newest pages.

    PublishError when a feed names a library file that is missing: publishing that feed
    would send listeners to a file that is not there.
    """
    tree = PublicTree(root, base_url)
    named: dict[str, str] = {}  # named file -> the first feed naming it
    remembered: dict[str, tuple[int, int]] = {}  # episode file -> (size, mtime_ns)
    fresh: dict[str, list[str]] = {}  # archive page read now -> the files it names
    for page in feed_pages(root):
        kept = _unchanged(root, page, base_url, (memo or {}).get(page))
        if kept is not None:
            tree.files[page] = PublicFile(page, root / page, Role.ARCHIVE, kept.size, kept.mtime_ns)
            tree.archive_names[page] = kept
            for relative, size, mtime_ns in kept.files:
                named.setdefault(relative, page)
                remembered.setdefault(relative, (size, mtime_ns))
            continue
        data = _read_feed(root, page)
        public = _stat_file(root, page, data)
        if public is not None:
            tree.files[page] = public
        names = _named_files(page, data, base_url)
        if public is not None and public.role is Role.ARCHIVE:
            fresh[page] = names
        for relative in names:
            named.setdefault(relative, page)
    for relative, feed in named.items():
        if relative in tree.files:
            continue
        if relative in remembered and relative.startswith(EPISODES_DIR + "/"):
            size, mtime_ns = remembered[relative]
            tree.files[relative] = PublicFile(
                relative, root / relative, _role_of(relative, None), size, mtime_ns
            )
            continue
        public = _stat_file(root, relative)
        if public is None:
            raise PublishError(
                f"{feed} names {relative}, which is not in the library {root}: render the"
                " feeds again before publishing",
                location=relative,
            )
        tree.files[relative] = public
    _add_side_files(tree, root, skip=remembered)
    for page, names in fresh.items():
        sides = [s for s in _side_candidates(n for n in names if n.endswith(".mp3"))]
        files = dict.fromkeys([*names, *(s for s in sides if s in tree.files)])
        stat = tree.files[page]
        tree.archive_names[page] = PageNames(
            stat.size,
            stat.mtime_ns,
            base_url,
            tuple((n, tree.files[n].size, tree.files[n].mtime_ns) for n in files),
        )
    return tree


def _unchanged(root: Path, page: str, base_url: str, kept: PageNames | None) -> PageNames | None:
    """``kept`` if the page on disk is still the one it describes."""
    if kept is None or kept.base_url != base_url:
        return None
    try:
        stat = (root / page).stat()
    except OSError:
        return None
    return kept if (stat.st_size, stat.st_mtime_ns) == (kept.size, kept.mtime_ns) else None


def _add_side_files(tree: PublicTree, root: Path, *, skip: Collection[str] = ()) -> None:
    """The transcript, script and chapters of every published MP3, named or not (those of
    MP3s in ``skip`` were looked for when their page was first read)."""
    mp3s = [r for r in tree.files if r.lower().endswith(".mp3") and r not in skip]
    for relative in _side_candidates(mp3s):
        if relative not in tree.files and (public := _stat_file(root, relative)) is not None:
            tree.files[relative] = public


def _side_candidates(mp3s: Iterable[str]) -> Iterator[str]:
    for mp3 in mp3s:
        yield from side_files(mp3)


def looks_public(relative: str) -> bool:
    """Whether a path in the target has a public file's shape (feed page, episode file,
    cover): only such objects, found in the target without a record, are ever removed."""
    parts = PurePosixPath(relative).parts
    if relative == ALL_FEED or relative.lower() in ("cover.png", "cover.jpg", "cover.jpeg"):
        return True
    if len(parts) >= 2 and parts[0] == FEEDS_DIR:
        return relative.endswith(".xml") and _is_publishable(relative)
    if len(parts) == 2 and parts[0] == ALL_FEED_PAGES:
        return relative.endswith(".xml") and _is_publishable(relative)
    return len(parts) == 2 and parts[0] == EPISODES_DIR and _is_publishable(relative)
