"""The [watch] config section, the per-forum rules and the watch command's argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import tomllib

import pytest

from tts_pipeline.cli.output import duration, since
from tts_pipeline.config import Config, parse_config
from tts_pipeline.config.watch import ForumRules
from tts_pipeline.errors import ConfigError
from tts_pipeline.watch.listing import ListedPost
from tts_pipeline.watch.rules import skip_reason

MIRROR = """
[forums.mirror]
name = "M"
prefix = "AF"
hosts = ["m.test"]
graphql = "http://m.test/graphql"
"""


def config(text: str) -> Config:
    return parse_config(tomllib.loads(text))


def test_defaults_follow_the_nonlinear_library() -> None:
    watch = Config().watch
    assert watch.forums == ("af", "lw", "ea") and watch.lookback_days == 7
    assert [watch.rules(k, k.upper()).min_karma for k in ("af", "lw", "ea")] == [2, 30, 30]
    assert watch.rules("local", "LOCAL").min_karma == 0
    assert config(MIRROR).watch.rules("mirror", "AF").min_karma == 2  # by prefix: a mirror of AF


def test_forum_tables_override_the_common_rules() -> None:
    watch = config(
        MIRROR
        + "[watch]\nforums = ['mirror', 'lw']\nmin_karma = 5\nmin_words = 0\n"
        + "authors_opt_out = ['Some_Body', '  ']\nearliest = 2024-02-03\nretry_base_s = 1\n"
        + "[watch.lw]\nmin_karma = 40\ntags_exclude = ['Site Meta']\nrenarrate_edits = true\n"
    ).watch
    assert watch.forums == ("mirror", "lw") and watch.retry_base_s == 1.0
    mirror, lw = watch.rules("mirror", "AF"), watch.rules("lw", "LW")
    assert (mirror.min_karma, lw.min_karma) == (5, 40)
    assert mirror.authors_opt_out == frozenset({"some body"}) == lw.authors_opt_out
    assert lw.tags_exclude == frozenset({"site meta"}) and not mirror.tags_exclude
    assert lw.renarrate_edits and not mirror.renarrate_edits
    assert mirror.earliest == dt.datetime(2024, 2, 3, tzinfo=dt.UTC) and mirror.min_words == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[watch]\nmin_karma = 'high'\n", "min_karma must be a whole number"),
        ("[watch]\nmax_posts = 0\n", "max_posts must be a whole number, 1 or more"),
        ("[watch]\nlookback_days = 0\n", "lookback_days must be a number above 0"),
        ("[watch]\nearliest = 'last week'\n", "earliest must be a date"),
        ("[watch]\nauthors_opt_out = 'Ada'\n", "authors_opt_out must be a list of strings"),
        ("[watch]\nkarma = 3\n", "unknown key: karma"),
        ("[watch]\nforums = ['af', 'nope']\n", "unknown forum 'nope'"),
        ("[watch.nope]\nmin_karma = 1\n", "[watch.nope] names no forum profile"),
        ("[watch.af]\nlookback_days = 3\n", "[watch.af] has an unknown key: lookback_days"),
        ("watch = 3\n", "[watch] must be a table"),
    ],
)
def test_bad_watch_config_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        config(text)
    assert message in str(error.value)


def test_backoff_doubles_up_to_the_cap() -> None:
    watch = config("[watch]\nretry_base_s = 600\nretry_max_s = 3000\n").watch
    assert [watch.backoff_s(n) for n in range(5)] == [0.0, 600.0, 1200.0, 2400.0, 3000.0]


def listed(**fields: object) -> ListedPost:
    base: dict[str, object] = {
        "id": "RulePost",
        "title": "T",
        "url": "https://forum.test/posts/RulePost",
        "posted_at": dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        "karma": 10.0,
        "word_count": 500,
        "authors": ("Ada",),
        "author_keys": frozenset({"ada"}),
        "tags": ("AI",),
        "tag_keys": frozenset({"ai"}),
    }
    return ListedPost(**{**base, **fields})  # type: ignore[arg-type]


def test_skip_reasons_name_the_most_lasting_rule_first() -> None:
    rules = ForumRules(
        min_karma=30,
        min_words=100,
        authors_opt_out=frozenset({"ada"}),
        tags_exclude=frozenset({"ai"}),
        earliest=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    post = listed(karma=1.5, word_count=3)
    assert skip_reason(post, rules) == "author opted out: ada"
    rules = ForumRules(min_karma=30, min_words=100, tags_exclude=frozenset({"ai"}))
    assert skip_reason(post, rules) == "excluded tag: ai"
    rules = ForumRules(min_karma=30, min_words=100)
    assert skip_reason(post, rules) == "too short: 3 words, fewer than 100"
    assert skip_reason(listed(karma=1.5), rules) == "karma 1.5 below threshold 30"
    assert skip_reason(listed(karma=30), rules) is None
    assert skip_reason(listed(word_count=None, karma=30), rules) is None  # unknown length
    included = ForumRules(tags_include=frozenset({"ai safety"}))
    assert skip_reason(listed(), included) == "none of the required tags: ai safety"


def test_duration_and_since_arguments() -> None:
    assert [duration(t) for t in ("30m", "2h", "90s", "45", "1.5d")] == [
        1800.0,
        7200.0,
        90.0,
        45.0,
        129600.0,
    ]
    for bad in ("soon", "0", "-5m", "3w"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration(bad)
    assert since("2024-05-01") == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert since("2024-05-01T12:30Z") == dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    three_days = dt.datetime.now(dt.UTC) - since("3d")
    assert abs(three_days.total_seconds() - 3 * 86400) < 60
    with pytest.raises(argparse.ArgumentTypeError):
        since("yesterday")
