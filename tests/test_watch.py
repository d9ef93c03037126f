"""The watcher against real local forums (ForumServer on 127.0.0.1), real synthesis and ffmpeg.

Posts are a sentence or two, so each conversion takes about a second.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from watch_forum import (
    all_feed_guids,
    feed_guids,
    fetched_ids,
    forum_post,
    make_config,
    one_name_per_mp3,
    post_rows,
)

from tts_pipeline.cli.main import main
from tts_pipeline.config import Config
from tts_pipeline.library.layout import Library
from tts_pipeline.net.http import HttpClient
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.watch.listing import list_posts
from tts_pipeline.watch.report import RunReport
from tts_pipeline.watch.runner import RunOptions, Watcher

VOICE = load_voice("default")


@pytest.fixture
def af() -> Iterator[ForumServer]:
    with ForumServer({}) as server:
        yield server


@pytest.fixture
def lw() -> Iterator[ForumServer]:
    with ForumServer({}) as server:
        yield server


def watcher(config: Config, library: Path, clock: list[dt.datetime] | None = None) -> Watcher:
    if clock is None:
        return Watcher(config, Library(library), voice=VOICE, jobs=1)
    return Watcher(config, Library(library), voice=VOICE, jobs=1, clock=lambda: clock[0])


def converted(report: RunReport) -> list[str]:
    return sorted(e.id for e in report.converted)


def skipped(report: RunReport) -> dict[tuple[str, str], str]:
    return {(o.forum, o.post_id): o.detail for o in report.skipped}


def publish(server: ForumServer, *posts: dict[str, object]) -> None:
    server.posts.update({str(p["_id"]): p for p in posts})


def mtimes(library: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in one_name_per_mp3(library)}


def test_posts_appearing_over_time_are_converted_once_each(
    af: ForumServer, lw: ForumServer, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    publish(
        af,
        forum_post("AfFirstPost", hours_ago=5, karma=10),
        forum_post("AfLowKarma", hours_ago=4, karma=1),
        forum_post("AfOptedOut", hours_ago=3, karma=40, author="Shy_Author"),
        forum_post("CrossPosted", hours_ago=2, karma=5),
        forum_post("AfTooOld", hours_ago=24 * 10, karma=99),  # before the 7-day lookback
    )
    publish(
        lw,
        forum_post("CrossPosted", hours_ago=2, karma=60),  # the same post, seen on LessWrong
        forum_post("LwPopular", hours_ago=1, karma=45, af=False),
        forum_post("LwLowKarma", hours_ago=1, karma=12, af=False),
    )
    config = make_config({"af": ("AF", af), "lw": ("LW", lw)}, authors_opt_out=["Shy Author"])
    w = watcher(config, lib)

    first = w.run_once()
    assert first.ok and first.listed == {"af": 4, "lw": 3}
    assert converted(first) == ["AfFirstPost", "CrossPosted", "LwPopular"]
    cross = next(e for e in first.converted if e.id == "CrossPosted")
    assert cross.title.startswith("AF - ")  # the first forum in [watch] forums narrates it
    assert skipped(first) == {
        ("af", "AfLowKarma"): "karma 1 below threshold 2",
        ("af", "AfOptedOut"): "author opted out: shy author",
        ("lw", "CrossPosted"): "cross-post: narrated from af",
        ("lw", "LwLowKarma"): "karma 12 below threshold 30",
    }
    rows = post_rows(lib)
    assert ("af", "AfTooOld") not in rows  # never listed: the first run looks back 7 days
    assert rows[("af", "AfOptedOut")]["status"] == "skipped"
    assert {rows[k]["status"] for k in [("af", "AfFirstPost"), ("lw", "LwPopular")]} == {"done"}
    listing = next(r.json() for r in af.requests if b"ListPosts" in r.body)
    after = dt.datetime.fromisoformat(listing["variables"]["terms"]["after"])
    week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    assert abs((after - week_ago).total_seconds()) < 120
    assert "offset" not in listing["variables"]["terms"]
    assert sorted(feed_guids(lib / "feed.xml")) == ["AfFirstPost", "CrossPosted", "LwPopular"]
    before = mtimes(lib)

    # Later: a new post appears, and a low-karma post earns enough to qualify.
    publish(af, forum_post("AfNewPost", hours_ago=0.5, karma=3))
    af.posts["AfLowKarma"]["baseScore"] = 4
    seen_af, seen_lw = len(af.requests), len(lw.requests)
    second = w.run_once()
    assert second.ok and converted(second) == ["AfLowKarma", "AfNewPost"]
    assert sorted(fetched_ids(af, seen_af)) == ["AfLowKarma", "AfNewPost"]
    assert fetched_ids(lw, seen_lw) == []  # nothing old is fetched again
    assert {k: v for k, v in mtimes(lib).items() if k in before} == before
    assert second.skipped == []  # nothing newly skipped: unchanged reasons are not news

    third = w.run_once()
    assert third.ok and third.converted == [] and third.skipped == []
    for feed, guids in all_feed_guids(lib).items():
        assert len(guids) == len(set(guids)), feed
    assert sorted(feed_guids(lib / "feed.xml")) == [
        "AfFirstPost",
        "AfLowKarma",
        "AfNewPost",
        "CrossPosted",
        "LwPopular",
    ]
    assert len(one_name_per_mp3(lib)) == 5


def test_rules_skip_with_reasons(af: ForumServer, tmp_path: Path) -> None:
    publish(
        af,
        forum_post("TooShort", hours_ago=1, words=3),
        forum_post("Excluded", hours_ago=2, tags=["Site Meta"]),
        forum_post("Untagged", hours_ago=3),
        forum_post("Ancient", hours_ago=24 * 3),
        forum_post("LowKarma", hours_ago=4, karma=7),
    )
    config = make_config(
        {"af": ("AF", af)},
        tags_exclude=["site-meta"],
        earliest=(dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).date().isoformat(),
        af={"min_karma": 8, "tags_include": ["AI", "Site Meta"]},
    )
    report = watcher(config, tmp_path / "lib").run_once(RunOptions(since=_days_ago(5)))
    assert report.converted == []
    assert skipped(report) == {
        ("af", "TooShort"): "none of the required tags: ai, site meta",
        ("af", "Excluded"): "excluded tag: site-meta",
        ("af", "Untagged"): "none of the required tags: ai, site meta",
        ("af", "LowKarma"): "none of the required tags: ai, site meta",
    }
    # --since reached back 5 days, but the earliest date holds: the old post is not even listed.
    assert ("af", "Ancient") not in post_rows(tmp_path / "lib")
    config = make_config({"af": ("AF", af)}, af={"min_words": 10, "min_karma": 8})
    report = watcher(config, tmp_path / "lib2").run_once(RunOptions(min_karma=60, limit=0))
    assert skipped(report)[("af", "TooShort")] == "too short: 3 words, fewer than 10"
    assert skipped(report)[("af", "LowKarma")] == "karma 7 below threshold 60"  # --min-karma


def test_limit_and_max_posts_leave_the_rest_queued(af: ForumServer, tmp_path: Path) -> None:
    publish(af, *(forum_post(f"Queued{n}Post", hours_ago=10 - n) for n in range(3)))
    w = watcher(make_config({"af": ("AF", af)}, max_posts=1), tmp_path / "lib")
    first = w.run_once(RunOptions(limit=1))
    assert converted(first) == ["Queued0Post"] and first.left_queued == 2  # oldest first
    second = w.run_once()
    assert converted(second) == ["Queued1Post"] and second.left_queued == 1
    assert post_rows(tmp_path / "lib")[("af", "Queued2Post")]["status"] == "queued"


def test_edited_post_is_renarrated_under_the_same_guid(af: ForumServer, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    publish(af, forum_post("EditedPost", hours_ago=1))
    w = watcher(make_config({"af": ("AF", af)}, renarrate_edits=True), lib)
    assert converted(w.run_once()) == ["EditedPost"]
    first_hash = post_rows(lib)[("af", "EditedPost")]["content_hash"]
    assert w.run_once().converted == []  # unchanged body: nothing to do

    af.posts["EditedPost"]["htmlBody"] = "<p>This is the corrected version of the post.</p>"
    report = w.run_once()
    assert converted(report) == ["EditedPost"]
    assert "corrected version" in (lib / "episodes" / "EditedPost.txt").read_text()
    assert feed_guids(lib / "feed.xml") == ["EditedPost"]
    row = post_rows(lib)[("af", "EditedPost")]
    assert row["status"] == "done" and row["content_hash"] != first_hash
    assert w.run_once().converted == []


def test_edits_are_ignored_unless_asked_for(af: ForumServer, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    publish(af, forum_post("StablePost", hours_ago=1))
    w = watcher(make_config({"af": ("AF", af)}), lib)
    assert converted(w.run_once()) == ["StablePost"]
    af.posts["StablePost"]["htmlBody"] = "<p>Edited, but nobody asked for a new narration.</p>"
    assert w.run_once().converted == []
    listings = [r.body for r in af.requests if b"ListPosts" in r.body]
    assert listings and all(b"htmlBody" not in body for body in listings)  # metadata only


def test_failing_post_backs_off_then_gives_up_visibly(
    af: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = tmp_path / "lib"
    publish(af, forum_post("FlakyPost", hours_ago=1))
    clock = [dt.datetime.now(dt.UTC)]
    config = make_config({"af": ("AF", af)}, retry_base_s=600, max_attempts=2)
    w = watcher(config, lib, clock)

    af.fail_next(500, 2, match="GetPost")  # one try and one retry of the fetch
    first = w.run_once()
    assert [o.post_id for o in first.failed] == ["FlakyPost"] and not first.ok
    assert "HTTP 500" in first.failed[0].detail
    row = post_rows(lib)[("af", "FlakyPost")]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    retry_at = dt.datetime.fromisoformat(row["next_attempt_at"])
    assert retry_at == clock[0] + dt.timedelta(seconds=600)

    seen = len(af.requests)
    assert w.run_once().failed == [] and fetched_ids(af, seen) == []  # still backing off

    clock[0] += dt.timedelta(seconds=601)
    af.fail_next(500, 2, match="GetPost")
    second = w.run_once()
    assert [o.post_id for o in second.gave_up] == ["FlakyPost"]
    row = post_rows(lib)[("af", "FlakyPost")]
    assert row["reason"] == "gave up after 2 attempts" and row["next_attempt_at"] is None

    clock[0] += dt.timedelta(days=1)
    seen = len(af.requests)
    assert w.run_once().gave_up == [] and fetched_ids(af, seen) == []  # given up stays so

    assert main(["status", "--library", str(lib)]) == 0
    out = capsys.readouterr().out
    assert "gave up" in out and "FlakyPost" in out and "HTTP 500" in out

    assert converted(w.run_once(RunOptions(retry_given_up=True))) == ["FlakyPost"]
    assert post_rows(lib)[("af", "FlakyPost")]["status"] == "done"


def test_forum_faults_back_off_lose_nothing_and_recover(af: ForumServer, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    publish(af, *(forum_post(f"Fault{n}Post", hours_ago=3 - n) for n in range(3)))
    clock = [dt.datetime.now(dt.UTC)]
    config = make_config({"af": ("AF", af)}, retry_base_s=60, request_timeout_s=0.5)
    w = watcher(replace(config, request_interval_s=0.3), lib, clock)

    # The forum answers 500 to everything: the listing fails, the forum is left alone a while.
    af.fail_next(500, 2)
    first = w.run_once()
    assert not first.ok and [e.forum for e in first.forum_errors] == ["af"]
    assert "HTTP 500" in first.forum_errors[0].detail
    assert first.backing_off["af"] == clock[0] + dt.timedelta(seconds=60)
    assert len(af.requests) == 2  # one try, one retry: no hammering

    assert w.run_once().backing_off and len(af.requests) == 2  # backing off: no request at all

    # After the backoff: a 429 asking for a 1 s pause, then the first fetch times out twice.
    clock[0] += dt.timedelta(seconds=61)
    af.fail_next(429, headers={"Retry-After": "1"})
    af.fail_next(200, 2, delay=1.5, match="GetPost")
    start = len(af.requests)
    second = w.run_once()
    assert second.listed == {"af": 3}
    assert af.requests[start + 1].at - af.requests[start].at >= 0.95  # Retry-After honoured
    assert [o.post_id for o in second.failed] == ["Fault0Post"]
    assert "did not answer within 0.5 s" in second.failed[0].detail
    # A forum that let a fetch time out is left alone for the rest of the run.
    assert second.converted == [] and second.left_queued == 2
    assert fetched_ids(af, start) == ["Fault0Post", "Fault0Post"]  # one try, one retry

    # Recovered: every post is converted; nothing was lost or done twice.
    clock[0] += dt.timedelta(seconds=61)
    start = len(af.requests)
    sent: list[float] = []  # when the client sent each request, as requests measures it

    def note_sent(response: requests.Response, *_: object, **__: object) -> None:
        sent.append(time.perf_counter() - response.elapsed.total_seconds())

    w.http.session.hooks["response"].append(note_sent)
    third = w.run_once()
    assert third.ok and converted(third) == ["Fault0Post", "Fault1Post", "Fault2Post"]
    assert len(sent) == len(af.requests) - start
    # request_interval_s apart, one at a time (less a little for preparing each). Timed where
    # they are sent: the server notes a request when its handler thread runs, which a loaded
    # machine once delayed by 0.27 s. Unpaced, the listing and the first fetch are 0.007 s apart.
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert gaps and min(gaps) >= 0.25
    rows = post_rows(lib)
    assert {r["status"] for r in rows.values()} == {"done"}
    assert rows[("af", "Fault0Post")]["attempts"] == 2
    assert sorted(feed_guids(lib / "feed.xml")) == ["Fault0Post", "Fault1Post", "Fault2Post"]
    assert w.run_once().converted == []


def test_listing_pages_by_date_through_shared_timestamps(af: ForumServer) -> None:
    posts = [forum_post(f"Paged{n}Post", hours_ago=1 + n) for n in range(5)]
    posts[2]["postedAt"] = posts[1]["postedAt"]  # two posts at the same instant
    publish(af, *posts, forum_post("PagedOldPost", hours_ago=24 * 3))
    config = make_config({"af": ("AF", af)})
    with HttpClient("test", retries=0) as http:
        listing = list_posts(config.site("af"), http, since=_days_ago(1), page_size=2)
    assert {p.id for p in listing.posts} == {f"Paged{n}Post" for n in range(5)}
    assert [p.posted_at for p in listing.posts] == sorted(
        (p.posted_at for p in listing.posts), reverse=True
    )
    terms = [r.json()["variables"]["terms"] for r in af.requests]
    assert len(terms) == listing.pages >= 3
    assert all("offset" not in t and t["limit"] == 2 for t in terms)
    assert "before" not in terms[0] and all("before" in t for t in terms[1:])


def _days_ago(days: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)


def test_forum_server_answers_listing_terms_like_forummagnum(af: ForumServer) -> None:
    publish(
        af,
        forum_post("TermsNewest", hours_ago=1, karma=1),
        forum_post("TermsMiddle", hours_ago=2, karma=40, af=False),
        forum_post("TermsOldest", hours_ago=3, karma=40),
    )
    inline = (
        '{ posts(input: {terms: {view: "old", karmaThreshold: 2, af: true, limit: 5}})'
        " { results { _id } } }"
    )
    with HttpClient("test", retries=0) as http:
        _, body = http.post_json(af.graphql_url, {"query": inline})
        ids = [p["_id"] for p in body["data"]["posts"]["results"]]
        assert ids == ["TermsOldest"]  # karma >= 2 and af only
        after = forum_post("x", hours_ago=2.5)["postedAt"]
        query = "query L($t: JSON) { posts(input: {terms: $t}) { results { _id } } }"
        terms = {"view": "new", "after": after, "limit": 1}
        _, body = http.post_json(af.graphql_url, {"query": query, "variables": {"t": terms}})
        assert [p["_id"] for p in body["data"]["posts"]["results"]] == ["TermsNewest"]
