"""``tts-pipeline publish`` and publishing from ``convert``, on real conversions (local forum
server, espeak-ng, ffmpeg) into a folder target: the command's surface, its lock, the
``[publish]`` config, and a re-narrated episode's new enclosure URL."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from publishkit import have_ffmpeg
from watch_forum import config_data, forum_post, write_config

from tts_pipeline.cli.main import main
from tts_pipeline.cli.output import EXIT_BUSY
from tts_pipeline.errors import PublishBusyError
from tts_pipeline.library.locks import sole
from tts_pipeline.publish.run import LOCK_NAME
from tts_pipeline.sample.forum_server import ForumServer

pytestmark = pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")

BASE = "https://podcast.example.org/show/"
POST = "PublishedPost1234"  # 17 letters and digits, as ForumMagnum ids are


@pytest.fixture
def forum() -> Iterator[ForumServer]:
    with ForumServer({POST: forum_post(POST, hours_ago=1)}) as server:
        yield server


def _config(tmp: Path, forum: ForumServer, **publish: Any) -> Path:
    data = {**config_data({"af": ("AF", forum)}), "base_url": BASE}
    if publish:
        data["publish"] = publish
    return write_config(tmp / "tts-pipeline.toml", data)


def _convert(tmp: Path, forum: ForumServer, config: Path) -> int:
    url = f"{forum.base_url}/posts/{POST}/slug"
    return main(["convert", url, "--config", str(config), "--library", str(tmp / "lib"), "-q"])


def _enclosures(feed: Path) -> dict[str, str]:
    """guid -> enclosure URL."""
    items = ET.parse(feed).getroot().iter("item")
    return {i.findtext("guid") or "": i.find("enclosure").get("url", "") for i in items}  # type: ignore[union-attr]


def test_publish_to_a_folder_then_nothing_new(
    forum: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, forum)
    assert _convert(tmp_path, forum, config) == 0
    out = tmp_path / "site"
    args = ["publish", "--config", str(config), "--library", str(tmp_path / "lib")]
    capsys.readouterr()
    assert main([*args, "--to", str(out), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "would upload" in dry and "  upload feed.xml" in dry and not out.exists()
    assert main([*args, "--to", str(out), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["uploaded"][-1] == "feed.xml" and first["removed"] == []
    mp3s = [p for p in first["uploaded"] if p.endswith(".mp3")]
    assert len(mp3s) == 1 and first["uploaded"].index(mp3s[0]) < first["uploaded"].index("feed.xml")
    ((_guid, url),) = _enclosures(out / "feed.xml").items()
    assert url == BASE + mp3s[0] and (out / mp3s[0]).is_file()
    assert main([*args, "--to", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["uploaded"] == [] and again["unchanged"] == len(first["uploaded"])


def test_convert_publishes_each_episode_and_a_remade_one_gets_a_new_url(
    forum: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    # About a second of grace: long enough to see the old file kept, short enough to wait out.
    config = _config(tmp_path, forum, target=str(out), grace_days=1.5 / 86400)
    assert _convert(tmp_path, forum, config) == 0
    ((guid, first),) = _enclosures(out / "feed.xml").items()
    old = out / first.removeprefix(BASE)
    assert old.is_file()
    # The post is edited: the episode is made again under the same guid, at a new URL.
    forum.posts[POST] = forum_post(POST, hours_ago=1, body="<p>An edited body, read anew.</p>")
    assert _convert(tmp_path, forum, config) == 0
    ((guid2, second),) = _enclosures(out / "feed.xml").items()
    assert guid2 == guid and second != first
    assert (out / second.removeprefix(BASE)).is_file()
    assert old.is_file()  # no feed names it, but its grace period is not over
    library = tmp_path / "lib" / "episodes"
    assert not (library / old.name).exists()  # the library itself keeps only what feeds name
    time.sleep(1.6)
    lib = ["--config", str(config), "--library", str(tmp_path / "lib")]
    capsys.readouterr()
    assert main(["publish", *lib, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["removed"] == [f"episodes/{old.name}"] and not old.exists()


def test_a_second_publish_waits_its_turn_exit_75(
    forum: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, forum, target=str(tmp_path / "site"))
    assert _convert(tmp_path, forum, config) == 0
    capsys.readouterr()
    lib = tmp_path / "lib"
    with sole(lib / LOCK_NAME, lambda pid: PublishBusyError(f"busy {pid}")):
        assert main(["publish", "--config", str(config), "--library", str(lib)]) == EXIT_BUSY
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("tts-pipeline: error: another publish of") and "pid" in line


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"target": "s3://b", "aws_secret_access_key": "x"}, "credentials never go in the config"),
        ({"target": "s3://b", "grace": 3}, "unknown key: grace"),
        ({"target": "s3://b", "retry_mode": "eager"}, "retry_mode must be one of"),
        ({"workers": 0}, "workers must be a whole number of 1 or more"),
    ],
)
def test_bad_publish_config_is_one_line(
    forum: ForumServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: dict[str, Any],
    message: str,
) -> None:
    config = _config(tmp_path, forum, **table)
    assert main(["publish", "--config", str(config), "--library", str(tmp_path / "lib")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("tts-pipeline: error: ") and message in line
    assert "aws_secret_access_key = " not in line


def test_no_target_and_no_library_are_one_line(
    forum: ForumServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, forum)
    lib = ["--config", str(config), "--library", str(tmp_path / "lib")]
    assert main(["publish", *lib]) == 1
    assert "no publish target" in capsys.readouterr().err
    assert main(["publish", *lib, "--to", str(tmp_path / "site")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "is not a library yet" in line
