"""``tts-pipeline watch`` as a process: killed mid-conversion, stopped by signals, run twice
at once, and its command-line surface. Real forum server, real synthesis and ffmpeg."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watch_forum import (
    all_feed_guids,
    cli,
    config_data,
    feed_guids,
    forum_post,
    one_name_per_mp3,
    partial_files,
    post_rows,
    write_config,
)

from tts_pipeline.cli.main import main
from tts_pipeline.cli.output import EXIT_BUSY
from tts_pipeline.errors import WatcherBusyError
from tts_pipeline.library.layout import Library
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.watch.lock import lock_holder, watch_lock

# A dozen sentences: long enough that a conversion takes a moment to catch in the middle.
LONGER_BODY = "<p>" + " ".join(
    f"Sentence {n} says one plain thing about listening to essays." for n in range(12)
) + "</p>"  # fmt: skip


@pytest.fixture
def forum() -> Iterator[ForumServer]:
    posts = [forum_post("KilledPost", hours_ago=1, body=LONGER_BODY)]
    with ForumServer({p["_id"]: p for p in posts}) as server:
        yield server


def watch_args(tmp: Path, server: ForumServer, *extra: str) -> list[str]:
    """Arguments for a watcher on ``tmp/lib`` (absolute: some tests run in this process)."""
    config = write_config(tmp / "tts-pipeline.toml", config_data({"af": ("AF", server)}))
    return ["watch", "--config", str(config), "--library", str(tmp / "lib"), "--quiet", *extra]


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, step: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the watcher")
        time.sleep(step)


def status_of(lib: Path, post_id: str) -> str | None:
    try:
        conn = sqlite3.connect(lib / "state.sqlite3", timeout=1)
        try:
            row = conn.execute(
                "SELECT status FROM watch_posts WHERE post_id = ?", (post_id,)
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # not created yet
    return str(row[0]) if row else None


def mp3_part_exists(lib: Path) -> bool:
    # Episodes are made in the library's staging folder and moved into episodes/ when recorded.
    return any(Library(lib).staging().path.glob(".KilledPost.mp3.*.part"))


def decodes_cleanly(mp3: Path) -> bool:
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp3), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    return result.returncode == 0 and result.stderr == ""


@pytest.mark.parametrize("moment", ["synthesising", "writing the mp3"])
def test_sigkill_mid_conversion_then_rerun_converts_once(
    forum: ForumServer, tmp_path: Path, moment: str
) -> None:
    lib = tmp_path / "lib"
    args = watch_args(tmp_path, forum, "--once", "--json", "--jobs", "2")
    watcher = cli(*args, cwd=tmp_path)
    if moment == "synthesising":
        wait_for(lambda: status_of(lib, "KilledPost") == "converting")
    else:
        wait_for(lambda: mp3_part_exists(lib))
    os.kill(watcher.pid, signal.SIGKILL)
    # Its synthesis workers and ffmpeg go too, as systemd kills a unit's whole cgroup.
    os.killpg(watcher.pid, signal.SIGKILL)
    watcher.communicate(timeout=30)
    assert watcher.returncode == -signal.SIGKILL
    assert not (lib / "episodes" / "KilledPost.mp3").exists()  # nothing under a final name
    assert status_of(lib, "KilledPost") == "converting"
    if moment == "writing the mp3":
        assert mp3_part_exists(lib)  # the half-written MP3, under its temporary name

    again = cli(*args, cwd=tmp_path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    (episode,) = [json.loads(line) for line in out.splitlines()]
    assert episode["id"] == "KilledPost"
    assert partial_files(lib) == []
    assert decodes_cleanly(lib / "episodes" / "KilledPost.mp3")
    row = post_rows(lib)[("af", "KilledPost")]
    assert (row["status"], row["attempts"]) == ("done", 2)

    third = cli(*args, cwd=tmp_path)
    out, err = third.communicate(timeout=120)
    assert third.returncode == 0 and out == "", err
    # feed.xml and any per-forum feeds: the episode is listed once, never twice.
    feeds = {feed: guids for feed, guids in all_feed_guids(lib).items() if guids}
    assert "feed.xml" in feeds and all(guids == ["KilledPost"] for guids in feeds.values())
    assert len(one_name_per_mp3(lib)) == 1


def test_two_watchers_started_together_one_runs_one_refuses(
    forum: ForumServer, tmp_path: Path
) -> None:
    args = watch_args(tmp_path, forum, "--once", "--json")
    first, second = cli(*args, cwd=tmp_path), cli(*args, cwd=tmp_path)
    results = [(p, *p.communicate(timeout=120)) for p in (first, second)]
    assert sorted(p.returncode for p, _, _ in results) == [0, EXIT_BUSY]
    ran = next(r for r in results if r[0].returncode == 0)
    refused = next(r for r in results if r[0].returncode == EXIT_BUSY)
    assert json.loads(ran[1])["id"] == "KilledPost"
    assert refused[1] == ""
    (line,) = refused[2].strip().splitlines()
    assert line.startswith("tts-pipeline: error: another watcher is already running on")
    assert f"pid {ran[0].pid}" in line
    assert feed_guids(tmp_path / "lib" / "feed.xml") == ["KilledPost"]


def test_sigterm_in_loop_mode_abandons_the_post_cleanly(forum: ForumServer, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    loop = cli(*watch_args(tmp_path, forum, "--every", "1h", "--jobs", "2"), cwd=tmp_path)
    wait_for(lambda: status_of(lib, "KilledPost") == "converting")
    time.sleep(0.2)  # well into synthesis
    loop.send_signal(signal.SIGTERM)
    _, err = loop.communicate(timeout=30)  # returns only once no worker holds stderr open
    assert loop.returncode == 0, err
    assert "Traceback" not in err
    assert partial_files(lib) == [] and not (lib / "episodes" / "KilledPost.mp3").exists()
    row = post_rows(lib)[("af", "KilledPost")]
    assert (row["status"], row["attempts"]) == ("queued", 0)  # back in the queue, uncounted

    # Stopped while sleeping between passes: it converts, then leaves at once on SIGTERM.
    loop = cli(*watch_args(tmp_path, forum, "--every", "1h"), cwd=tmp_path)
    wait_for(lambda: status_of(lib, "KilledPost") == "done")
    time.sleep(0.3)
    started = time.monotonic()
    loop.send_signal(signal.SIGINT)
    out, err = loop.communicate(timeout=30)
    assert loop.returncode == 0 and time.monotonic() - started < 5, err
    assert "KilledPost.mp3" in out and "Traceback" not in err
    assert feed_guids(lib / "feed.xml") == ["KilledPost"]


def test_usage_and_config_errors(
    forum: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["watch", "--every", "soon"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as usage:
        main(["watch"])  # --once or --every is required
    assert usage.value.code == 2
    capsys.readouterr()
    args = watch_args(tmp_path, forum, "--once", "--forum", "nowhere")
    assert main(args) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("tts-pipeline: error:") and "'nowhere'" in line
    bad = tmp_path / "bad.toml"
    bad.write_text("[watch]\nmin_karma = 'lots'\n", encoding="utf-8")
    assert main(["watch", "--once", "--config", str(bad), "--library", str(tmp_path)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "min_karma must be a whole number" in line
    with pytest.raises(SystemExit):
        main(["watch", "--help"])
    assert f"{EXIT_BUSY}   another watcher" in capsys.readouterr().out


def test_status_reports_counts_and_failures(
    forum: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forum.posts["OptedOutPost"] = forum_post("OptedOutPost", hours_ago=2, author="Quiet One")
    forum.fail_next(404, match="GetPost", body='{"errors": [{"message": "gone"}]}')
    data = config_data({"af": ("AF", forum)}, authors_opt_out=["quiet one"])
    config = write_config(tmp_path / "c.toml", data)
    lib = str(tmp_path / "lib")
    assert main(["watch", "--once", "--config", str(config), "--library", lib]) == 1
    err = capsys.readouterr().err
    assert "af post KilledPost" in err and "will retry" in err
    assert main(["status", "--json", "--library", lib]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["counts"] == {"af": {"failed": 1, "skipped": 1}}
    assert state["watcher_pid"] is None
    (failure,) = state["failures"]
    assert failure["post_id"] == "KilledPost" and failure["attempts"] == 1
    assert not failure["gave_up"] and failure["next_attempt_at"]


def test_lock_refuses_a_second_holder_and_is_free_after(tmp_path: Path) -> None:
    assert lock_holder(tmp_path) is None
    with watch_lock(tmp_path):
        assert lock_holder(tmp_path) == os.getpid()
        with pytest.raises(WatcherBusyError) as busy, watch_lock(tmp_path):
            pass
        assert busy.value.pid == os.getpid() and f"pid {os.getpid()}" in str(busy.value)
    assert lock_holder(tmp_path) is None
    with watch_lock(tmp_path):  # free again
        pass
