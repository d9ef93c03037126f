"""Episode title, intro and outro, following The Nonlinear Library's conventions.

Templates are ``str.format`` strings (see ``models.Templates``) with the fields ``title``,
``authors``, ``date``, ``website``, ``prefix`` and ``podcast_name``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from tts_pipeline.clean.reader import tidy_text
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Post, Templates


def _tidy(text: str) -> str:
    return tidy_text(text, title=True)


# Spelled out rather than strftime("%B"), which follows the process locale.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Said in place of names when a post has none (hidden or deleted authors). It reads naturally
# in both "published by an anonymous author on ..." and "... by an anonymous author".
ANONYMOUS = "an anonymous author"


def format_date(dt: datetime) -> str:
    """``June 5, 2022``: the date in UTC (naive datetimes are taken as UTC), no leading zero."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return f"{MONTHS[dt.month - 1]} {dt.day}, {dt.year}"


def format_authors(names: Iterable[str]) -> str:
    """``A``, ``A and B``, ``A, B and C`` (no serial comma); ``_`` read as a space."""
    cleaned: list[str] = []
    for name in names:
        spoken = _tidy(name.replace("_", " "))
        if spoken and spoken not in cleaned:
            cleaned.append(spoken)
    if not cleaned:
        return ANONYMOUS
    if len(cleaned) == 1:
        return cleaned[0]
    return f"{', '.join(cleaned[:-1])} and {cleaned[-1]}"


def _fields(post: Post, templates: Templates) -> dict[str, str]:
    return {
        "title": _tidy(post.title),
        "authors": format_authors(post.authors),
        "date": format_date(post.published),
        "website": _tidy(post.site_name),
        "prefix": post.prefix,
        "podcast_name": templates.podcast_name,
    }


def _fill(name: str, template: str, fields: dict[str, str]) -> str:
    try:
        return _tidy(template.format(**fields))
    except (KeyError, IndexError, ValueError) as exc:
        allowed = ", ".join("{" + f + "}" for f in fields)
        raise CleanError(
            f"the {name} template {template!r} is invalid ({exc!r}); it may use {allowed}"
        ) from exc


def episode_title(post: Post, templates: Templates) -> str:
    """``AF - <title> by <authors>``."""
    return _fill("episode title", templates.episode_title, _fields(post, templates))


def intro_text(post: Post, templates: Templates) -> str:
    return _fill("intro", templates.intro, _fields(post, templates))


def outro_text(templates: Templates) -> str:
    # The outro is the same for every post, so only post-independent fields are offered.
    return _fill("outro", templates.outro, {"podcast_name": templates.podcast_name})
