"""Backfill and ``convert --from-file`` against a real local forum (ForumServer on 127.0.0.1),
with real espeak-ng and ffmpeg, through the local process pool; and the execution seam's
bounded submission on a real thread pool."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli
from watch_forum import (
    all_feed_guids,
    config_data,
    forum_post,
    make_config,
    one_name_per_mp3,
    post_rows,
    write_config,
)

from tts_pipeline.batch.backfill import BackfillOptions, backfill
from tts_pipeline.batch.urls import read_url_file
from tts_pipeline.config import parse_config
from tts_pipeline.config import parse_executor_spec as parse_spec
from tts_pipeline.errors import ConfigError, WorkerLostError
from tts_pipeline.execution.seam import ExecutionBackend, submit_bounded
from tts_pipeline.library.layout import Library
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.watch.lock import watch_lock
from tts_pipeline.watch.runner import RunOptions, Watcher
from tts_pipeline.watch.state import Status

VOICE = load_voice("default")


@pytest.fixture
def forum() -> Iterator[ForumServer]:
    posts = {
        "Old": forum_post("Old", hours_ago=24 * 400, karma=90),
        "Best": forum_post("Best", hours_ago=24 * 30, karma=120),
        "Mid": forum_post("Mid", hours_ago=24 * 20, karma=40),
        "Low": forum_post("Low", hours_ago=24 * 10, karma=1),  # under AF's threshold of 2
        "Fresh": forum_post("Fresh", hours_ago=5, karma=60),
    }
    with ForumServer(posts) as server:
        yield server


def watcher(config: object, library: Path) -> Watcher:
    return Watcher(config, Library(library), voice=VOICE, jobs=1)  # type: ignore[arg-type]


def test_backfill_top_n_reuses_the_watchers_state_and_dedup(
    forum: ForumServer, tmp_path: Path
) -> None:
    config = make_config({"af": ("AF", forum)}, page_size=2)  # several pages, by date
    library = tmp_path / "lib"
    # The watcher (7-day window) narrates Fresh first.
    first = watcher(config, library).run_once(RunOptions())
    assert [e.id for e in first.converted] == ["Fresh"]

    report = backfill(watcher(config, library), BackfillOptions(forum="af", top=3))
    assert report.listed == 5  # the whole archive, paged by date (2 per page)
    assert report.selected == 3  # Best 120, Old 90, Fresh 60
    assert report.already_done == 1  # Fresh: done by the watcher, not redone
    assert [e.id for e in report.run.converted] == ["Old", "Best"]  # oldest first
    rows = post_rows(library)
    assert {k[1] for k in rows} == {"Fresh", "Old", "Best"}  # Mid, Low: outside the top 3
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in rows.values())

    # Run again: nothing to do, nothing redone.
    again = backfill(watcher(config, library), BackfillOptions(forum="af", top=3))
    assert again.run.converted == [] and again.already_done == 3
    assert sorted(all_feed_guids(library)["feed.xml"]) == ["Best", "Fresh", "Old"]


def test_backfill_resumes_a_killed_run_and_backs_off_failures(
    forum: ForumServer, tmp_path: Path
) -> None:
    config = make_config({"af": ("AF", forum)})
    library = tmp_path / "lib"
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    # A killed backfill left Mid `converting`; Best's fetch will fail once.
    first = watcher(config, library)
    first.library.prepare()
    backfill(first, BackfillOptions(forum="af", since=since, limit=1))
    state = first.state
    mid = state.post("af", "Mid")
    assert mid is not None and mid.status == Status.QUEUED
    state.start(mid, dt.datetime.now(dt.UTC))
    forum.fail_next(500, 2, match="GetPost")  # the fetch and its one retry

    report = backfill(watcher(config, library), BackfillOptions(forum="af", since=since))
    assert [o.post_id for o in report.run.failed] == ["Mid"]  # the forum refused: paused
    assert report.left_queued == 1  # Fresh waits for a later run
    row = state.post("af", "Mid")
    assert row is not None and row.status == Status.FAILED and row.attempts == 2
    assert row.next_attempt_at is not None and row.next_attempt_at > dt.datetime.now(dt.UTC)

    # The forum is back; Mid is still backing off, the rest is converted.
    report = backfill(watcher(config, library), BackfillOptions(forum="af", since=since))
    assert [e.id for e in report.run.converted] == ["Fresh"]
    assert report.waiting == 1
    assert post_rows(library)[("af", "Low")]["status"] == "skipped"


def test_convert_from_file_goes_on_after_a_failure(forum: ForumServer, tmp_path: Path) -> None:
    first, second, missing = "FromFilePostAaaa1", "FromFilePostAaaa2", "FromFileMissing17"
    forum.posts[first] = forum_post(first, hours_ago=3)
    forum.posts[second] = forum_post(second, hours_ago=2)
    config = write_config(tmp_path / "tts-pipeline.toml", config_data({"af": ("AF", forum)}))
    urls = tmp_path / "urls.txt"
    urls.write_text(
        "# posts to narrate\n\n"
        f"{forum.base_url}/posts/{first}/slug  # the new one\n"
        f"{forum.base_url}/posts/{missing}\n"
        f"   {forum.base_url}/posts/{second}\n",
        encoding="utf-8",
    )
    assert read_url_file(urls) == [
        f"{forum.base_url}/posts/{first}/slug",
        f"{forum.base_url}/posts/{missing}",
        f"{forum.base_url}/posts/{second}",
    ]
    result = run_cli(
        "convert", "--from-file", str(urls), "--config", str(config),
        "--library", str(tmp_path / "lib"), "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and missing in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.count('"id"') == 2
    assert "3 URLs: 2 converted, 0 skipped, 1 failed in" in result.stderr
    mp3s = sorted(p.name for p in one_name_per_mp3(tmp_path / "lib"))
    assert mp3s == [f"{first}.mp3", f"{second}.mp3"]


def test_executor_specs() -> None:
    assert parse_spec(None) == parse_spec("") == parse_spec("local") == "local"
    assert parse_spec("dask://10.1.2.3:8786") == "tcp://10.1.2.3:8786"
    assert parse_spec("tcp://sched.example:8786/") == "tcp://sched.example:8786"
    for bad in ("dask://nohost", "http://x:1", "ray://x:1"):
        with pytest.raises(ConfigError):
            parse_spec(bad)
    assert parse_config({"executor": "dask://sched:8786"}).executor == "dask://sched:8786"
    with pytest.raises(ConfigError, match="config: executor must be"):
        parse_config({"executor": "ray://sched:1"})


def test_bounded_submission_keeps_a_window_and_resubmits_lost_tasks() -> None:
    """On a real thread pool: never more than ``window`` tasks in flight; a task whose
    'worker was lost' (CancelledError raised by the task) runs again, up to a bound."""
    in_flight, peak, lock = [0], [0], threading.Lock()
    losses: dict[int, int] = {3: 2, 5: 9}  # item -> how many times it is lost

    def task(item: int) -> int:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        try:
            threading.Event().wait(0.005)
            with lock:
                if losses.get(item, 0) > 0:
                    losses[item] -= 1
                    raise concurrent.futures.CancelledError(f"lost {item}")
            return item * item
        finally:
            with lock:
                in_flight[0] -= 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        remote = ExecutionBackend(
            pool, window=3, name="threads", is_lost=lambda e: isinstance(e, Exception)
        )
        results = dict(submit_bounded(remote, task, [1, 2, 3, 4], lambda i: (i,)))
        assert results == {1: 1, 2: 4, 3: 9, 4: 16}  # item 3 lost twice, then done
        assert peak[0] <= 3
        with pytest.raises(WorkerLostError, match="lost 4 times"):
            list(submit_bounded(remote, task, [5], lambda i: (i,)))


def test_backfill_and_watcher_share_one_lock(forum: ForumServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "tts-pipeline.toml", config_data({"af": ("AF", forum)}))
    library = tmp_path / "lib"
    library.mkdir()
    with watch_lock(library):  # a watcher is running
        result = run_cli(
            "backfill", "--forum", "af", "--config", str(config), "--library", str(library),
            cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 75
    assert result.stderr.startswith("tts-pipeline: error: another watcher is already running")
    assert not (library / "episodes").exists() or not any((library / "episodes").iterdir())
