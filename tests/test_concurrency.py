"""Many processes on one library: ``watch --once``, ``convert``, ``backfill`` and ``serve`` run
at once against one folder, started at random moments, and ``tts-pipeline check`` then finds
the library whole every time (state intact, every recorded MP3 there at its size, no orphan or
partial file, every feed well-formed and naming only files that are there, no guid twice,
every episode in the feeds). Real processes, a real forum server, espeak-ng, ffmpeg, SQLite.

The random start delays come from one seed, printed on failure (``CONCURRENCY_SEED`` replays
it)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli, start_cli
from watch_forum import config_data, forum_post, post_rows, write_config

from tts_pipeline.cli.output import EXIT_BUSY
from tts_pipeline.library.layout import Library
from tts_pipeline.sample.forum_server import ForumServer

POST_IDS = ("PostAaaaaaaaaaaaa", "PostBbbbbbbbbbbbb", "PostCcccccccccccc")
A, B, C = POST_IDS
SEED = int(os.environ.get("CONCURRENCY_SEED", str(random.SystemRandom().randrange(10**6))))
ROUNDS = 2


@pytest.fixture(scope="module")
def forum() -> Iterator[ForumServer]:
    posts = [forum_post(pid, hours_ago=n + 1) for n, pid in enumerate(POST_IDS)]
    with ForumServer({p["_id"]: p for p in posts}) as server:
        yield server


@pytest.fixture
def rng() -> random.Random:
    print(f"CONCURRENCY_SEED={SEED}")  # shown when a test fails
    return random.Random(SEED)


def config_file(tmp: Path, forum: ForumServer, **top: object) -> Path:
    data = {**config_data({"af": ("AF", forum)}), **top}
    return write_config(tmp / "tts-pipeline.toml", data)


def start(command: str, *args: str, config: Path, library: Path) -> subprocess.Popen[str]:
    common = ("--config", str(config), "--library", str(library), "--quiet")
    return start_cli(command, *args, *common, start_new_session=True)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        out, err = process.communicate()
        raise AssertionError(f"{process.args} did not finish: {err}") from None
    return process.returncode, out, err


def assert_whole(config: Path, library: Path) -> None:
    result = run_cli("check", "--config", str(config), "--library", str(library))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "whole" in result.stdout


def feed_ids(library: Path) -> list[str]:
    return [g.text or "" for g in ET.parse(library / "feed.xml").getroot().iter("guid")]


def url_of(forum: ForumServer, post_id: str) -> str:
    return f"{forum.base_url}/posts/{post_id}/{post_id.lower()}"


def test_convert_while_watch_converts_the_same_and_other_posts(
    forum: ForumServer, tmp_path: Path, rng: random.Random
) -> None:
    config = config_file(tmp_path, forum)
    for round_ in range(ROUNDS):
        library = tmp_path / f"lib{round_}"
        # The watcher converts the oldest first (C, B, A); convert takes A, then C.
        watch = start("watch", "--once", config=config, library=library)
        time.sleep(rng.uniform(0.0, 2.0))
        convert = start(
            "convert", url_of(forum, A), url_of(forum, C), config=config,
            library=library,
        )  # fmt: skip
        for process in (watch, convert):
            code, _, err = finish(process)
            assert code == 0, f"round {round_}: {process.args[3]}: {err}"
        assert sorted(feed_ids(library)) == sorted(POST_IDS)
        assert_whole(config, library)


def test_two_backfills_and_a_convert_at_once(
    forum: ForumServer, tmp_path: Path, rng: random.Random
) -> None:
    config = config_file(tmp_path, forum)
    for round_ in range(ROUNDS):
        library = tmp_path / f"lib{round_}"
        first = start("backfill", "--forum", "af", config=config, library=library)
        time.sleep(rng.uniform(0.0, 1.0))
        second = start("backfill", "--forum", "af", config=config, library=library)
        time.sleep(rng.uniform(0.0, 1.0))
        convert = start("convert", url_of(forum, B), config=config, library=library)
        codes = []
        for process in (first, second):
            code, _, err = finish(process)
            # Backfills share the watcher's lock: the one that finds it taken does nothing.
            assert code in (0, EXIT_BUSY), err
            if code == EXIT_BUSY:
                assert "another watcher is already running" in err
            codes.append(code)
        assert 0 in codes
        code, _, err = finish(convert)
        assert code == 0, err
        assert sorted(feed_ids(library)) == sorted(POST_IDS)
        assert_whole(config, library)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def served_feed_is_consistent(base: str) -> int:
    """Fetch feed.xml from the server; every enclosure it names is served at its length.
    Returns how many items it listed."""
    status, body = fetch(base + "feed.xml")
    assert status == 200
    items = ET.fromstring(body).iter("enclosure")
    count = 0
    for enclosure in items:
        url, length = enclosure.get("url", ""), int(enclosure.get("length", "-1"))
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert int(response.headers["Content-Length"]) == length, url
        count += 1
    return count


def wait_until_serving(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            fetch(base, "HEAD")
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not start")


def test_serve_answers_feed_requests_while_processes_publish(
    forum: ForumServer, tmp_path: Path, rng: random.Random
) -> None:
    config = config_file(tmp_path, forum)
    for round_ in range(ROUNDS):
        library = tmp_path / f"lib{round_}"
        library.mkdir()
        port = free_port()
        server = start("serve", "--port", str(port), config=config, library=library)
        base = f"http://127.0.0.1:{port}/"
        try:
            wait_until_serving(base, server)
            watch = start("watch", "--once", config=config, library=library)
            time.sleep(rng.uniform(0.0, 1.5))
            convert = start("convert", url_of(forum, A), config=config, library=library)
            seen = 0
            while watch.poll() is None or convert.poll() is None:
                if (library / "feed.xml").is_file():
                    seen = max(seen, served_feed_is_consistent(base))
                time.sleep(rng.uniform(0.05, 0.2))
            for process in (watch, convert):
                code, _, err = finish(process)
                assert code == 0, err
            assert served_feed_is_consistent(base) == len(POST_IDS) >= seen
        finally:
            server.terminate()
            finish(server)
        assert_whole(config, library)


def test_a_convert_that_waits_too_long_says_so_and_exits_75(
    forum: ForumServer, tmp_path: Path
) -> None:
    config = config_file(tmp_path, forum, lock_wait_s=1.0)
    library = tmp_path / "lib"
    with Library(library).converting(A):  # another process is making PostA
        result = run_cli(
            "convert", url_of(forum, A), "--config", str(config), "--library",
            str(library), "--quiet",
        )  # fmt: skip
    assert result.returncode == EXIT_BUSY
    lines = result.stderr.splitlines()
    assert lines == [
        f"tts-pipeline: waiting for another process converting {A}",
        f"tts-pipeline: error: another process has been converting {A} for 1 s; gave up"
        " waiting (try again later)",
    ]
    assert not (library / "episodes" / f"{A}.mp3").exists()
    # Once it is free, the same command converts it.
    again = run_cli(
        "convert", url_of(forum, A), "--config", str(config), "--library", str(library),
        "--quiet",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert_whole(config, library)


def test_a_watcher_that_waits_too_long_leaves_the_post_queued(tmp_path: Path) -> None:
    post = forum_post(A, hours_ago=1)
    with ForumServer({A: post}) as server:
        config = config_file(tmp_path, server, lock_wait_s=0.5)
        library = tmp_path / "lib"
        library.mkdir()
        args = ("watch", "--once", "--config", str(config), "--library", str(library))
        with Library(library).converting(A):  # a convert is making it
            busy = run_cli(*args)
        assert busy.returncode == 0, busy.stderr
        assert f"tts-pipeline: waiting for another process converting {A}" in busy.stderr
        assert "1 left for later runs" in busy.stderr
        rows = post_rows(library)
        assert (rows["af", A]["status"], rows["af", A]["attempts"]) == ("queued", 0)
        again = run_cli(*args)
        assert again.returncode == 0, again.stderr
        assert post_rows(library)["af", A]["status"] == "done"
    assert_whole(config, library)
