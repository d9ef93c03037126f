"""A podcast RSS 2.0 feed (Apple + PSP-1 required tags), built with xml.etree.

Rendering is pure (dataclasses in, bytes out); writing is atomic. Every element comes from
ElementTree, which escapes text and attributes, and every string first loses the characters
XML 1.0 cannot carry at all (C0 controls, lone surrogates, U+FFFE/U+FFFF), so no post title
can make the feed unparseable. python-feedgen was not used: it rejects ``itunes:explicit``
"true"/"false", drops ``.jpeg`` artwork silently and formats dates under a global locale.

Podcasting 2.0 tags: ``podcast:guid`` and ``podcast:locked`` on the channel,
``podcast:transcript`` and ``podcast:chapters`` on items. Which feeds a library has and what
goes in them is decided in ``tts_pipeline/feeds.py``; this module only renders.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from tts_pipeline.errors import FeedError
from tts_pipeline.fsutil import atomic_write_bytes

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

# The podcast namespace's own UUID: podcast:guid is UUIDv5(this, feed URL without scheme).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
CHAPTERS_TYPE = "application/json+chapters"
# Apple's limit for an episode's description (and content:encoded, shown in its place).
DESCRIPTION_MAX_BYTES = 4000
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)


def podcast_guid(feed_url: str) -> str:
    """The channel's ``podcast:guid``: UUIDv5 of the feed URL, scheme and trailing '/' removed.

    >>> podcast_guid("https://podnews.net/rss")
    '9b024349-ccf0-5f69-a609-6b82873eab3c'
    """
    seed = _SCHEME.sub("", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, seed))


@dataclass(frozen=True)
class FeedChannel:
    title: str
    link: str  # the podcast's web page
    description: str  # plain text
    self_url: str  # where this feed is served: atom:link rel="self"
    image_url: str  # square 1400-3000 px JPEG/PNG
    author: str
    language: str = "en-us"
    category: str = "Technology"  # from Apple's category list
    subcategory: str | None = None
    explicit: bool = False
    podcast_guid: str = ""  # UUIDv5 (``podcast_guid``); empty: derived from ``self_url``
    # podcast:locked "yes": other hosting platforms should refuse to import the feed.
    locked: bool = True


@dataclass(frozen=True)
class Transcript:
    """A ``podcast:transcript``: ``rel="captions"`` marks a timed file (WebVTT, SRT)."""

    url: str
    type: str  # text/vtt, text/plain, text/html, application/json, application/x-subrip
    language: str = ""
    captions: bool = False


@dataclass(frozen=True)
class FeedItem:
    guid: str  # the episode id: stable for life, never derived from title or URL
    title: str
    link: str  # the post's page
    description: str  # plain text
    published: datetime  # timezone-aware
    enclosure_url: str
    enclosure_length: int  # bytes, os.stat of the tagged MP3
    duration_s: float  # from the PCM sample count
    enclosure_type: str = "audio/mpeg"
    content_html: str = ""  # content:encoded (HTML, escaped by ElementTree like any text)
    author: str = ""  # itunes:author
    explicit: bool = False
    transcripts: tuple[Transcript, ...] = ()
    chapters_url: str = ""  # a JSON chapters file


# XML 1.0 Char production, negated. Tab, LF and CR are legal but carry no meaning in a
# one-line field, so `_line` turns them into spaces.
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAKS = re.compile("[\t\n\r]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (CR/LF normalised to LF)."""
    return _ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def _line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", _ILLEGAL.sub("", text))


def _q(prefixed: str) -> str:
    """'itunes:image' -> '{http://www.itunes.com/dtds/podcast-1.0.dtd}image'."""
    prefix, _, local = prefixed.partition(":")
    return f"{{{NS[prefix]}}}{local}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, /, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag) if ":" in tag else tag)
    for key, value in attrib.items():
        element.set(key, _line(value))
    if text is not None:
        element.text = xml_text(text)  # again here, so elements added later are safe too
    return element


def rfc2822(when: datetime) -> str:
    """RFC 2822 date in UTC, independent of the process locale."""
    if when.tzinfo is None:
        raise FeedError(f"feed date {when} has no time zone")
    return format_datetime(when.astimezone(UTC))


def channel_element(rss: ET.Element, channel: FeedChannel) -> ET.Element:
    ch = _sub(rss, "channel")
    _sub(ch, "title", _line(channel.title))
    _sub(ch, "link", _line(channel.link))
    _sub(ch, "description", xml_text(channel.description))
    _sub(ch, "language", _line(channel.language))
    _sub(ch, "atom:link", href=channel.self_url, rel="self", type="application/rss+xml")
    _sub(ch, "itunes:author", _line(channel.author))
    _sub(ch, "itunes:image", href=channel.image_url)
    category = _sub(ch, "itunes:category", None, text=channel.category)
    if channel.subcategory:
        _sub(category, "itunes:category", None, text=channel.subcategory)
    _sub(ch, "itunes:explicit", "true" if channel.explicit else "false")
    _sub(ch, "itunes:type", "episodic")
    _sub(ch, "podcast:locked", "yes" if channel.locked else "no")
    _sub(ch, "podcast:guid", _line(channel.podcast_guid) or podcast_guid(channel.self_url))
    return ch


def item_element(parent: ET.Element, item: FeedItem) -> ET.Element:
    if item.enclosure_length < 0 or item.duration_s < 0:
        raise FeedError(f"episode {item.guid}: negative enclosure length or duration")
    el = _sub(parent, "item")
    _sub(el, "title", _line(item.title))
    _sub(el, "link", _line(item.link))
    _sub(el, "guid", _line(item.guid), isPermaLink="false")
    _sub(el, "pubDate", rfc2822(item.published))
    _sub(el, "description", xml_text(item.description))
    if item.content_html:
        _sub(el, "content:encoded", item.content_html)
    _sub(
        el,
        "enclosure",
        url=item.enclosure_url,
        length=str(item.enclosure_length),
        type=item.enclosure_type,
    )
    _sub(el, "itunes:duration", str(round(item.duration_s)))
    if _line(item.author).strip():
        _sub(el, "itunes:author", _line(item.author))
    _sub(el, "itunes:explicit", "true" if item.explicit else "false")
    _sub(el, "itunes:episodeType", "full")
    for transcript in item.transcripts:
        attrib = {"url": transcript.url, "type": transcript.type}
        if transcript.language:
            attrib["language"] = transcript.language
        if transcript.captions:
            attrib["rel"] = "captions"
        _sub(el, "podcast:transcript", None, **attrib)
    if item.chapters_url:
        _sub(el, "podcast:chapters", None, url=item.chapters_url, type=CHAPTERS_TYPE)
    return el


def _html(tag: str, text: str, **attrib: str) -> str:
    element = ET.Element(tag, {k: _line(v) for k, v in attrib.items()})
    element.text = text
    return ET.tostring(element, encoding="unicode", method="html")


def show_notes_html(
    link: str, paragraphs: Sequence[str], *, max_bytes: int = DESCRIPTION_MAX_BYTES
) -> str:
    """HTML show notes for content:encoded: "Link to original article" first, then the text.

    Paragraphs are added while the whole stays within ``max_bytes`` (Apple's limit); a cut
    is marked with "…". Each paragraph is an element serialised by ElementTree, never text
    pasted into markup, so text that looks like markup stays text.
    """
    link_p = ET.Element("p")
    if _WEB_LINK.match(link):
        ET.SubElement(link_p, "a", href=_line(link)).text = "Link to original article"
    else:  # a javascript: or data: "link" from a hostile source is shown, never linked
        link_p.text = f"Link to original article: {_line(link)}"
    parts = [ET.tostring(link_p, encoding="unicode", method="html")]
    cut = _html("p", "…")
    used = len(parts[0].encode("utf-8"))
    for paragraph in paragraphs:
        text = " ".join(xml_text(paragraph).split())
        if not text:
            continue
        html = _html("p", text)
        size = len(html.encode("utf-8"))
        if used + size + len(cut.encode("utf-8")) > max_bytes:
            parts.append(cut)
            break
        parts.append(html)
        used += size
    return "".join(parts)


def render_feed(channel: FeedChannel, items: Sequence[FeedItem]) -> bytes:
    """The feed as UTF-8 XML bytes with a declaration; items newest first."""
    for item in items:
        if item.published.tzinfo is None:  # would also make sorting raise TypeError
            raise FeedError(f"episode {item.guid}: publication date has no time zone")
    rss = ET.Element("rss", version="2.0")
    ch = channel_element(rss, channel)
    # sorted() is stable: equal dates keep the caller's order.
    for item in sorted(items, key=lambda i: i.published, reverse=True):
        item_element(ch, item)
    ET.indent(rss)
    data: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def write_feed(path: Path, channel: FeedChannel, items: Sequence[FeedItem]) -> None:
    """Render and write the feed atomically: readers see the old feed or the new one."""
    data = render_feed(channel, items)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise FeedError(f"cannot write feed {path}: {exc}") from exc
