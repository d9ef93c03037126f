"""RSS pages of a paged feed, put together from item fragments rendered once (pure).

An item is rendered by ``rss.item_element`` into an XML fragment (bytes) once, and kept in an
``ItemCache`` under a digest of what it is made from (every field of its ``FeedItem``), so
re-planning and re-rendering a feed of 100,000 episodes renders only the items that are new
or changed. A page is the channel header from ``rss.channel_element`` (its ``self`` link set
to the page's own URL), the page's ``atom:link`` relations and, on archive pages, RFC 5005's
``<fh:archive/>``, followed by its fragments newest first. The same fragment bytes appear on
every page that lists the item, so a page's bytes depend only on the channel, the page's
links and its items' digests.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields, replace
from datetime import datetime
from urllib.parse import urljoin

from tts_pipeline.errors import FeedError
from tts_pipeline.package.feed_pages import Page, PageKind, PlannedItem, Rel
from tts_pipeline.package.rss import NS, FeedChannel, FeedItem, channel_element, item_element
from tts_pipeline.package.rss import podcast_guid as derive_podcast_guid

FH = "http://purl.org/syndication/history/1.0"  # RFC 5005's namespace
ET.register_namespace("fh", FH)
FEED_TYPE = "application/rss+xml"
# Bumped whenever item rendering changes, so fragments cached under the old digest go unused.
RENDER_VERSION = "1"
# Each fragment is placed as "  " + fragment + "\n  " (ElementTree's indentation at depth 2).
_BEFORE, _AFTER = b"  ", b"\n  "
ITEM_JOIN_BYTES = len(_BEFORE) + len(_AFTER)
_WRAPPER = "channel"


@dataclass(frozen=True)
class RenderedItem:
    key: str  # the episode's guid
    digest: str  # of what the item is made from; also names the fragment
    xml: bytes  # the <item> element, indented for its place in a page

    @property
    def size(self) -> int:
        """Bytes the item adds to a page."""
        return len(self.xml) + ITEM_JOIN_BYTES

    def planned(self) -> PlannedItem:
        return PlannedItem(key=self.key, size=self.size, digest=self.digest)


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise FeedError(f"feed date {value} has no time zone")
        return value.isoformat()
    if isinstance(value, tuple):  # transcripts
        return [astuple(element) for element in value]
    return value


def item_digest(item: FeedItem) -> str:
    """SHA-256 of every field of ``item`` (and the rendering version): the cache key.

    Field values in declaration order, as JSON (about twice as fast as ``asdict``, which
    copies deeply): a field added to ``FeedItem`` changes every digest, as it should.
    """
    values = [_plain(getattr(item, field.name)) for field in fields(item)]
    text = json.dumps([RENDER_VERSION, values], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def render_item(item: FeedItem) -> bytes:
    """The ``<item>`` element alone, without namespace declarations (the page root has them)."""
    wrapper = ET.Element(_WRAPPER)
    item_element(wrapper, item)
    ET.indent(wrapper, level=1)  # as if the wrapper were the channel, at depth 1
    data: bytes = ET.tostring(wrapper, encoding="utf-8", xml_declaration=False)
    # ElementTree declares the namespaces on the wrapper's start tag; '>' is always escaped in
    # attribute values, so the first '>' ends that tag.
    start = data.index(b">") + 1
    end = data.rindex(f"</{_WRAPPER}>".encode())
    return data[start:end].strip()


class ItemCache:
    """Rendered items by digest, least recently used dropped beyond ``max_items``."""

    def __init__(self, max_items: int = 200_000) -> None:
        self._fragments: OrderedDict[str, bytes] = OrderedDict()
        self.max_items = max_items
        self.renders = 0  # items rendered (cache misses), for callers and tests to check

    def render(self, item: FeedItem) -> RenderedItem:
        digest = item_digest(item)
        xml = self._fragments.get(digest)
        if xml is None:
            xml = render_item(item)
            self.renders += 1
            self._fragments[digest] = xml
            if len(self._fragments) > self.max_items:
                self._fragments.popitem(last=False)
        else:
            self._fragments.move_to_end(digest)
        return RenderedItem(key=item.guid, digest=digest, xml=xml)

    def render_all(self, items: Iterable[FeedItem]) -> list[RenderedItem]:
        return [self.render(item) for item in items]


def _declare_all_namespaces(rss: ET.Element) -> None:
    """Declare on the root every prefix a fragment may use but the header does not.

    ElementTree declares only the namespaces the header itself uses; fragments spliced in
    later may also use ``content:`` (show notes) and the others.
    """
    used = {el.tag[1:].partition("}")[0] for el in rss.iter() if el.tag.startswith("{")}
    for prefix, uri in NS.items():
        if uri not in used:
            rss.set(f"xmlns:{prefix}", uri)


def _header(channel: FeedChannel, page: Page, base_url: str) -> bytes:
    page_channel = replace(
        channel,
        self_url=urljoin(base_url, page.path),
        # The feed's identity is its subscription address, on every page.
        podcast_guid=channel.podcast_guid or derive_podcast_guid(channel.self_url),
    )
    rss = ET.Element("rss", version="2.0")
    ch = channel_element(rss, page_channel)  # writes rel="self"
    for rel, path in page.links:
        if rel is not Rel.SELF:
            attrib = {"href": urljoin(base_url, path), "rel": rel, "type": FEED_TYPE}
            ET.SubElement(ch, f"{{{NS['atom']}}}link", attrib)
    if page.kind is PageKind.ARCHIVE:
        ET.SubElement(ch, f"{{{FH}}}archive")
    _declare_all_namespaces(rss)
    ET.indent(rss)
    data: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return data


def render_page(
    channel: FeedChannel, page: Page, fragments: Mapping[str, bytes], base_url: str
) -> bytes:
    """The page as UTF-8 XML: header, links, then its items newest first.

    ``channel.self_url`` is the subscription document's URL (the feed's identity);
    ``base_url`` (ending in '/') turns the plan's relative paths into the URLs written.
    ``fragments`` maps an item digest to its rendered bytes.
    """
    header = _header(channel, page, base_url)
    cut = header.rindex(b"</channel>")
    parts = [header[:cut]]
    for item in reversed(page.items):
        try:
            xml = fragments[item.digest]
        except KeyError:
            raise FeedError(f"{page.path}: no rendered item for episode {item.key!r}") from None
        parts += [_BEFORE, xml, _AFTER]
    parts += [header[cut:], b"\n"]
    return b"".join(parts)


def render_pages(
    channel: FeedChannel, pages: Iterable[Page], items: Iterable[RenderedItem], base_url: str
) -> dict[str, bytes]:
    """Several pages (e.g. ``changed_pages(...).write``), by path relative to the library."""
    fragments = {item.digest: item.xml for item in items}
    return {page.path: render_page(channel, page, fragments, base_url) for page in pages}
