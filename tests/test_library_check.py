"""``tts-pipeline check`` finds each kind of damage, and the library locks exclude for real.

One real conversion (local forum server, espeak-ng, ffmpeg) makes a whole library; then it
is damaged in every way the check knows, and each problem must come out as its own line."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli
from watch_forum import config_data, forum_post, write_config

from tts_pipeline.errors import LibraryBusyError
from tts_pipeline.library.layout import Library
from tts_pipeline.library.locks import holding, is_held
from tts_pipeline.library.state import LIBRARY_SCHEMA, open_state
from tts_pipeline.sample.forum_server import ForumServer

POST = "CheckPostaaaaaaaa"


@pytest.fixture(scope="module")
def forum() -> Iterator[ForumServer]:
    with ForumServer({POST: forum_post(POST, hours_ago=1)}) as server:
        yield server


def check(config: Path, library: Path) -> tuple[int, list[str]]:
    result = run_cli("check", "--config", str(config), "--library", str(library))
    return result.returncode, result.stdout.splitlines()


def test_check_names_every_kind_of_damage(forum: ForumServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "tts-pipeline.toml", config_data({"af": ("AF", forum)}))
    lib = tmp_path / "lib"
    made = run_cli(
        "convert", f"{forum.base_url}/posts/{POST}/slug", "--config", str(config),
        "--library", str(lib), "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    feeds = 1 + len(list((lib / "feeds").rglob("*.xml")))  # feed.xml and the channels' feeds
    assert check(config, lib) == (0, [f"{lib}: 1 episodes, {feeds} feed files: whole"])

    episodes = lib / "episodes"
    (episodes / "Stray.mp3").write_bytes(b"x")
    (episodes / f".{POST}.mp3.k2j4h5g6.part").write_bytes(b"x")
    with open(episodes / f"{POST}.mp3", "ab") as mp3:
        mp3.write(b"\0")
    size = (episodes / f"{POST}.mp3").stat().st_size
    (public,) = episodes.glob(f"{POST}.*.mp3")  # the name feeds give it: the same file
    (lib / "feeds" / "Broken.xml").write_text("<rss><channel>", encoding="utf-8")
    item = (
        "<item><guid>Dup</guid><enclosure url='http://podcast.test/episodes/Gone.mp3'"
        " length='1' type='audio/mpeg'/></item>"
    )
    (lib / "feeds" / "Extra.xml").write_text(
        f"<rss><channel><title>x</title>{item}{item}</channel></rss>", encoding="utf-8"
    )
    conn = sqlite3.connect(lib / "state.sqlite3")
    with conn:
        row = conn.execute("SELECT * FROM episodes WHERE id = ?", (POST,)).fetchone()
        conn.execute(
            f"INSERT INTO episodes VALUES ({','.join('?' * len(row))})",
            ("Ghost", *row[1:9], "Ghost.mp3", *row[10:]),
        )
    conn.close()

    code, lines = check(config, lib)
    assert code == 1
    (twins,) = [line for line in lines if line.startswith(f"post {POST} (AF) is recorded as 2")]
    assert set(twins.split(": ")[1].split(", ")) == {POST, "Ghost"}
    assert sorted(set(lines) - {twins}) == sorted(
        [
            "episode Ghost: its MP3 episodes/Ghost.mp3 is missing",
            f"episode {POST}: episodes/{public.name} is {size} bytes, recorded as {size - 1}",
            f"episodes/.{POST}.mp3.k2j4h5g6.part: a partial file, left by a killed run",
            "episodes/Stray.mp3: no record names it",
            "feeds/Broken.xml: not a well-formed feed (no element found: line 1, column 14)",
            "feeds/Extra.xml: names episodes/Gone.mp3, which is not there",
            "feeds/Extra.xml: guid Dup appears 2 times",
            "episode Ghost is recorded but no feed lists it",
        ]
    )
    # A partial file of an episode some process is making now is that process's business.
    with Library(lib).converting(POST):
        _, lines = check(config, lib)
    assert not any(".part" in line for line in lines)


def test_a_lock_admits_one_holder_at_a_time_and_bounds_the_wait(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "episode-x.lock"
    inside, overlaps, waits = [0], [0], []

    def work() -> None:
        for _ in range(5):
            with holding(path, what="converting x", wait_s=30, on_wait=waits.append):
                inside[0] += 1
                overlaps[0] += inside[0] > 1
                time.sleep(0.002)
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [0]
    assert not path.exists() and not is_held(path)  # removed by its last holder
    with holding(path, what="converting x", wait_s=1):
        assert is_held(path)
        started = time.monotonic()
        with (
            pytest.raises(LibraryBusyError, match=r"has been converting x for 0\.2 s"),
            holding(path, what="converting x", wait_s=0.2, on_wait=waits.append),
        ):
            pass
        assert 0.2 <= time.monotonic() - started < 1.0
    assert "waiting for another process converting x" in waits


def test_a_publication_in_progress_is_left_to_its_process(tmp_path: Path) -> None:
    """``prepare`` finishes publications killed runs began, never one a live process is in
    the middle of (it holds the episode's lock)."""
    library = Library(tmp_path / "lib")
    library.prepare()
    staged = library.staging()
    staged.prepare()
    mp3 = staged.mp3_path("Live")
    mp3.write_bytes(b"\xff\xfb" * 100)
    found = mp3.stat()
    row = ["Live", "Live", "AF", "t", "t", "a", "https://x.test/", "2024-01-01T00:00:00+00:00"]
    row += ["d", "Live.mp3", found.st_size, 1.0, -16.0, -1.0, "2024-01-01T00:00:00+00:00"]
    note = ("Live", staged.name, json.dumps(row), None, found.st_size, found.st_ino)
    with open_state(library.state_path, LIBRARY_SCHEMA) as conn:
        conn.execute(
            "INSERT INTO pending_episodes VALUES (?,?,?,?,?,?,?)", (*note, found.st_mtime_ns)
        )
    with library.converting("Live"):  # its process is moving the files in right now
        Library(library.root).prepare()
        assert mp3.is_file() and library.episodes() == []
    Library(library.root).prepare()  # that process was killed: the next run finishes it
    assert [r.id for r in library.episodes()] == ["Live"]
    assert not mp3.exists()
