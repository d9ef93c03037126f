"""Episode title, intro and outro wording (The Nonlinear Library conventions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tts_pipeline.clean.framing import (
    ANONYMOUS,
    episode_title,
    format_authors,
    format_date,
    intro_text,
    outro_text,
)
from tts_pipeline.errors import CleanError
from tts_pipeline.models import Post, Templates

OUTRO = (
    "Thanks for listening. To help us out with The Nonlinear Library or to learn more,"
    " please visit nonlinear.org."
)


def post(*authors: str, title: str = "AGI Ruin: A List of Lethalities") -> Post:
    return Post(
        id="uMQ3cqWDPHhjtiesc",
        title=title,
        authors=authors,
        published=datetime(2022, 6, 5, 22, 5, 52, 224000, tzinfo=UTC),
        url="https://www.alignmentforum.org/posts/uMQ3cqWDPHhjtiesc/agi-ruin",
        html="<p>x</p>",
        site_name="The AI Alignment Forum",
        prefix="AF",
    )


def intro(authors: str) -> str:
    return (
        "Welcome to The Nonlinear Library, where we use Text-to-Speech software to convert the"
        " best writing from the Rationalist and EA communities into audio. This is: AGI Ruin: A"
        f" List of Lethalities, published by {authors} on June 5, 2022 on The AI Alignment Forum."
    )


@pytest.mark.parametrize(
    ("authors", "spoken"),
    [
        (("Eliezer_Yudkowsky",), "Eliezer Yudkowsky"),
        (("Ada Lovelace", "Charles Babbage"), "Ada Lovelace and Charles Babbage"),
        (("Ada Lovelace", "Charles Babbage", "Mary Somerville"),
         "Ada Lovelace, Charles Babbage and Mary Somerville"),
    ],
)  # fmt: skip
def test_intro_exact(authors: tuple[str, ...], spoken: str) -> None:
    assert intro_text(post(*authors), Templates()) == intro(spoken)


def test_outro_exact() -> None:
    assert outro_text(Templates()) == OUTRO


def test_episode_title() -> None:
    assert episode_title(post("A", "B", "C", title="X"), Templates()) == "AF - X by A, B and C"
    messy = post("Paul_Christiano", title="  Two\nlines\u00a0here \n")
    assert episode_title(messy, Templates()) == "AF - Two lines here by Paul Christiano"


@pytest.mark.parametrize(
    ("names", "spoken"),
    [
        ((), ANONYMOUS),
        (("",), ANONYMOUS),
        (("A",), "A"),
        (("A", "B"), "A and B"),
        (("A", "B", "C"), "A, B and C"),
        (("A", "B", "C", "D"), "A, B, C and D"),
        (("first_last", " spaced  name "), "first last and spaced name"),
        (("A", "A", "B"), "A and B"),
    ],
)
def test_format_authors(names: tuple[str, ...], spoken: str) -> None:
    assert format_authors(names) == spoken


def test_anonymous_author_reads_naturally() -> None:
    assert "published by an anonymous author on June 5, 2022" in intro_text(post(), Templates())


MONTHS = "January February March April May June July August September October November December"


@pytest.mark.parametrize(("month", "name"), list(enumerate(MONTHS.split(), start=1)))
def test_format_date_every_month(month: int, name: str) -> None:
    assert format_date(datetime(2023, month, 9, 12, tzinfo=UTC)) == f"{name} 9, 2023"


def test_format_date_uses_utc() -> None:
    # 23:30 on 31 December in New York is already 1 January in UTC.
    new_york = timezone(timedelta(hours=-5))
    assert format_date(datetime(2022, 12, 31, 23, 30, tzinfo=new_york)) == "January 1, 2023"
    assert format_date(datetime(2022, 6, 5, 22, 5)) == "June 5, 2022"  # naive: taken as UTC
    assert format_date(datetime(2021, 11, 30, tzinfo=UTC)) == "November 30, 2021"


def test_custom_templates() -> None:
    templates = Templates(intro="{title} ({prefix}) by {authors}, {date}, {website}.")
    assert intro_text(post("A"), templates) == (
        "AGI Ruin: A List of Lethalities (AF) by A, June 5, 2022, The AI Alignment Forum."
    )
    assert outro_text(Templates(outro="That was {podcast_name}.")) == (
        "That was The Nonlinear Library."
    )


def test_title_braces_are_not_template_fields() -> None:
    assert episode_title(post("A", title="Sets {a, b}"), Templates()) == "AF - Sets {a, b} by A"


@pytest.mark.parametrize("template", ["{nope}", "{0}", "{title"])
def test_bad_template_is_a_clean_error(template: str) -> None:
    with pytest.raises(CleanError, match="intro template"):
        intro_text(post("A"), Templates(intro=template))
    with pytest.raises(CleanError, match="outro template"):
        outro_text(Templates(outro=template))
