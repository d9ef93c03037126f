"""URL to finished episode through the real CLI, a real local forum, espeak-ng and ffmpeg."""

from __future__ import annotations

import hashlib
import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from clirun import run_cli
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from tts_pipeline.sample import sample_post_result
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.voices import load_voice

# A post of our own, in the exact shape the ForumMagnum API returns.
POST: dict[str, Any] = {
    "_id": "E2eTestPostAbc234",
    "slug": "listening-is-reading",
    "title": "  Listening Is Reading\n",
    "pageUrl": "https://www.alignmentforum.org/posts/E2eTestPostAbc234/listening-is-reading",
    "postedAt": "2024-03-07T09:15:00.000Z",
    "htmlBody": (
        "<style>.mjx-chtml{display:inline-block}</style>"
        "<p>People finish long essays more often when they can listen to them.</p>"
        "<h2>Why it works</h2>"
        "<p>Audio travels with you.&nbsp;A walk becomes reading time. "
        'See <a href="https://example.org/x">this page</a> for more.</p>'
    ),
    "contents": {"html": "", "wordCount": 30},
    "user": {"displayName": "Ada Example", "username": "ada"},
    "coauthors": [{"displayName": "Grace Example", "username": "grace"}],
    "hideAuthor": False,
}


@pytest.fixture(scope="module")
def forum() -> Iterator[ForumServer]:
    sample = sample_post_result()
    with ForumServer({POST["_id"]: POST, sample["_id"]: sample}) as server:
        yield server


def write_config(tmp: Path, server: ForumServer) -> Path:
    config = tmp / "tts-pipeline.toml"
    config.write_text(
        f"""
base_url = "http://podcast.test/"
[forums.local]
name = "The AI Alignment Forum"
prefix = "AF"
hosts = ["{server.host}"]
graphql = "{server.graphql_url}"
""",
        encoding="utf-8",
    )
    return config


def ffprobe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


@pytest.fixture(scope="module")
def converted(
    forum: ForumServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("e2e")
    config = write_config(tmp, forum)
    url = f"{forum.base_url}/posts/{POST['_id']}/{POST['slug']}"
    result = run_cli(
        "convert",
        url,
        "--config",
        str(config),
        "--library",
        "lib",
        "--json",
        "--jobs",
        "2",
        cwd=tmp,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # nothing but the JSON object on stdout
    return tmp / "lib", json.loads(lines[0])


def test_json_output_names_the_episode(converted: tuple[Path, dict[str, Any]]) -> None:
    library, episode = converted
    assert episode["id"] == POST["_id"]
    assert episode["title"] == "AF - Listening Is Reading by Ada Example and Grace Example"
    assert Path(library.parent / episode["mp3"]).is_file()
    assert episode["url"] == POST["pageUrl"]


def test_mp3_decodes_cleanly_with_plausible_duration(
    converted: tuple[Path, dict[str, Any]],
) -> None:
    library, episode = converted
    mp3 = library / "episodes" / f"{POST['_id']}.mp3"
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(mp3), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert decode.returncode == 0 and decode.stderr == ""
    script = (library / "episodes" / f"{POST['_id']}.txt").read_text(encoding="utf-8")
    words = len(script.split())
    # The default voice's rate plus pauses between segments; espeak runs close to its nominal rate.
    expected = words / load_voice("default").rate_wpm * 60
    assert 0.8 * expected < episode["duration_s"] < 1.6 * expected + 5
    assert abs(ffprobe_duration(mp3) - episode["duration_s"]) < 0.15
    assert abs(MP3(mp3).info.length - episode["duration_s"]) < 0.5
    assert -17.0 <= episode["loudness_lufs"] <= -15.0
    assert episode["true_peak_dbtp"] <= -1.0


def test_intro_and_tags(converted: tuple[Path, dict[str, Any]]) -> None:
    library, _ = converted
    script = (library / "episodes" / f"{POST['_id']}.txt").read_text(encoding="utf-8")
    assert script.startswith(
        "Welcome to The Nonlinear Library, where we use Text-to-Speech software to convert the"
        " best writing from the Rationalist and EA communities into audio. This is: Listening Is"
        " Reading, published by Ada Example and Grace Example on March 7, 2024 on The AI"
        " Alignment Forum."
    )
    assert "display:inline-block" not in script and "http" not in script
    assert "this page" in script
    assert script.rstrip().endswith("please visit nonlinear.org.")
    tags = ID3(library / "episodes" / f"{POST['_id']}.mp3", translate=False)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "AF - Listening Is Reading by Ada Example and Grace Example"
    assert "Ada Example" in str(tags["TPE1"])
    assert "TYER" in tags and "TDRC" not in tags
    assert tags.getall("APIC")


def test_feed_lists_the_episode(converted: tuple[Path, dict[str, Any]]) -> None:
    library, episode = converted
    feed_bytes = (library / "feed.xml").read_bytes()
    ET.fromstring(feed_bytes)  # well-formed
    parsed = feedparser.parse(feed_bytes)
    assert not parsed.bozo
    (entry,) = parsed.entries
    assert entry.title == episode["title"]
    (enclosure,) = entry.enclosures
    mp3 = library / "episodes" / f"{POST['_id']}.mp3"
    assert int(enclosure["length"]) == mp3.stat().st_size
    # Named by its content (the same file), so a re-made episode gets a new URL.
    digest = hashlib.sha256(mp3.read_bytes()).hexdigest()[:12]
    assert enclosure["href"] == f"http://podcast.test/episodes/{POST['_id']}.{digest}.mp3"
    assert (library / "episodes" / f"{POST['_id']}.{digest}.mp3").samefile(mp3)


def test_second_conversion_is_served_from_the_chunk_cache(
    forum: ForumServer, converted: tuple[Path, dict[str, Any]]
) -> None:
    library, episode = converted
    tmp = library.parent
    url = f"{forum.base_url}/posts/{POST['_id']}"
    result = run_cli(
        "convert",
        url,
        "--config",
        str(tmp / "tts-pipeline.toml"),
        "--library",
        "lib",
        "--json",
        cwd=tmp,
    )
    assert result.returncode == 0, result.stderr
    again = json.loads(result.stdout)
    assert again["duration_s"] == episode["duration_s"]
    assert len(feedparser.parse((library / "feed.xml").read_bytes()).entries) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/post", "ftp"),
        ("https://www.lesswrong.com/", "post"),
    ],
)
def test_unsupported_urls_fail_in_one_line(tmp_path: Path, url: str, message: str) -> None:
    result = run_cli("convert", url, "--library", "lib", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("tts-pipeline: error:") and message in line.lower()
    assert not (tmp_path / "lib" / "feed.xml").exists()


def test_missing_post_fails_cleanly_and_writes_nothing(forum: ForumServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, forum)
    url = f"{forum.base_url}/posts/NoSuchPostXyz2345"
    result = run_cli("convert", url, "--config", str(config), "--library", "lib", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "not found" in line.lower()
    episodes = tmp_path / "lib" / "episodes"
    assert not episodes.exists() or not any(episodes.iterdir())


def test_network_down_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "down.toml"
    config.write_text(
        "http_retries = 1\n"
        f'[forums.down]\nname = "Down"\nprefix = "DN"\nhosts = ["127.0.0.1:{port}"]\n'
        f'graphql = "http://127.0.0.1:{port}/graphql"\n',
        encoding="utf-8",
    )
    url = f"http://127.0.0.1:{port}/posts/NoSuchPostXyz2345"
    result = run_cli("convert", url, "--config", str(config), "--library", "lib", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("tts-pipeline: error:") and "127.0.0.1" in line


def test_demo_converts_the_bundled_sample(tmp_path: Path) -> None:
    result = run_cli("demo", "--library", "lib", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    episode = json.loads(result.stdout)
    assert episode["title"].startswith("SAMPLE - A Sample Post for tts_pipeline by Ada Example")
    assert Path(tmp_path / episode["mp3"]).is_file()
    assert (tmp_path / "lib" / "feed.xml").is_file()


def test_usage_error_exits_2(tmp_path: Path) -> None:
    result = run_cli("convert", cwd=tmp_path)
    assert result.returncode == 2
