"""The public tree of a library, and publishing it to a folder (no server needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from publishkit import (
    NOT_PUBLIC,
    build_library,
    episode_specs,
    have_ffmpeg,
    kill_publishes,
    public_paths,
    render_feeds,
    write_episode,
)

from tts_pipeline.errors import PublishError
from tts_pipeline.publish import (
    FolderTarget,
    Role,
    feed_role,
    open_target,
    public_tree,
    publish_library,
)
from tts_pipeline.publish.target import file_digests

pytestmark = pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")

BASE = "https://podcast.example/show/"
FEEDS = ["feed.xml", "feeds/AF.xml", "feeds/LW.xml", "feeds/archive/1.xml"]


class RecordingFolder(FolderTarget):
    """A folder target that notes the order of its writes (our own class, observed)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.log: list[tuple[str, str]] = []

    def put(self, relative: str, body: Path | bytes, **headers: str) -> str:
        self.log.append(("put", relative))
        return super().put(relative, body, **headers)

    def delete(self, relative: str) -> None:
        self.log.append(("delete", relative))
        super().delete(relative)


def test_public_tree_is_what_the_feeds_name_and_nothing_private(tmp_path: Path) -> None:
    specs = build_library(tmp_path, BASE, 6, archive=2)
    tree = public_tree(tmp_path, BASE)
    assert set(tree.files) == public_paths(specs, FEEDS)
    for private in (*NOT_PUBLIC, "episodes/ep00000.verify.json"):
        assert private not in tree.files
    roles = {path: f.role for path, f in tree.files.items()}
    assert roles["feeds/archive/1.xml"] is Role.ARCHIVE
    assert roles["feed.xml"] is Role.SUBSCRIPTION
    assert roles["episodes/ep00001.mp3"] is Role.MEDIA
    assert roles["episodes/ep00001.vtt"] is Role.SIDE
    assert tree.files["episodes/ep00001.mp3"].content_type == "audio/mpeg"
    order = [f.relative for f in tree.in_upload_order()]
    assert order[-1] == "feed.xml"
    assert order.index("feeds/archive/1.xml") < order.index("feeds/AF.xml")
    assert max(order.index(p) for p in order if p.startswith("episodes/")) < order.index(
        "feeds/archive/1.xml"
    )


def test_feed_role_reads_the_rfc5005_archive_mark(tmp_path: Path) -> None:
    build_library(tmp_path, BASE, 2, archive=1)
    assert feed_role((tmp_path / "feeds/archive/1.xml").read_bytes()) is Role.ARCHIVE
    assert feed_role((tmp_path / "feed.xml").read_bytes()) is Role.SUBSCRIPTION


def test_a_feed_naming_a_missing_file_is_not_published(tmp_path: Path) -> None:
    build_library(tmp_path / "lib", BASE, 3)
    (tmp_path / "lib/episodes/ep00001.mp3").unlink()
    target = FolderTarget(tmp_path / "out")
    with pytest.raises(PublishError, match=r"names episodes/ep00001\.mp3") as caught:
        publish_library(tmp_path / "lib", target, base_url=BASE)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_feeds_rendered_for_another_address_are_refused(tmp_path: Path) -> None:
    build_library(tmp_path, BASE, 2)
    with pytest.raises(PublishError, match="not for the base URL"):
        public_tree(tmp_path, "https://elsewhere.example/")


def test_folder_publish_orders_writes_and_skips_what_is_there(tmp_path: Path) -> None:
    lib, out = tmp_path / "lib", tmp_path / "out"
    specs = build_library(lib, BASE, 5, archive=2)
    target = RecordingFolder(out)
    first = publish_library(lib, target, base_url=BASE)
    written = [path for action, path in target.log]
    assert set(written) == public_paths(specs, FEEDS)
    assert first.uploaded == len(written) and first.listed
    last_file = max(i for i, p in enumerate(written) if not p.endswith(".xml"))
    assert last_file < written.index("feeds/archive/1.xml") < written.index("feeds/AF.xml")
    assert written[-1] == "feed.xml"
    for path in written:  # byte for byte, and no temporary file left beside them
        assert (out / path).read_bytes() == (lib / path).read_bytes()
    assert not [p for p in out.rglob(".*")]

    target.log.clear()
    again = publish_library(lib, target, base_url=BASE)
    assert (again.uploaded, again.listed, target.log) == (0, False, [])
    assert again.skipped == first.uploaded


def test_only_changed_files_go_up_and_removal_waits_for_the_grace_period(tmp_path: Path) -> None:
    lib, out = tmp_path / "lib", tmp_path / "out"
    specs = build_library(lib, BASE, 4)
    target = RecordingFolder(out)
    publish_library(lib, target, base_url=BASE)
    # One new episode, one dropped from every feed; feeds rendered again.
    new = episode_specs(1, start=10)[0]
    write_episode(lib, new)
    kept = [*specs[1:], new]
    render_feeds(lib, BASE, kept)
    target.log.clear()
    report = publish_library(lib, target, base_url=BASE, grace_s=1.0)
    puts = [p for a, p in target.log if a == "put"]
    assert set(puts) == {
        f"episodes/{new.eid}{s}" for s in (".mp3", ".txt", ".vtt", ".chapters.json")
    } | {"feed.xml", f"feeds/{new.prefix}.xml", f"feeds/{specs[0].prefix}.xml"}
    assert report.deleted == 0 and report.waiting_removal == 4
    assert (out / f"episodes/{specs[0].eid}.mp3").is_file()

    time.sleep(1.1)
    target.log.clear()
    later = publish_library(lib, target, base_url=BASE, grace_s=1.0)
    assert later.uploaded == 0
    assert sorted(later.deleted_paths) == sorted(
        f"episodes/{specs[0].eid}{s}" for s in (".chapters.json", ".mp3", ".txt", ".vtt")
    )
    assert all(a == "delete" for a, _ in target.log)
    assert not (out / f"episodes/{specs[0].eid}.mp3").exists()


def test_a_file_named_again_before_its_grace_ends_is_kept(tmp_path: Path) -> None:
    lib, out = tmp_path / "lib", tmp_path / "out"
    specs = build_library(lib, BASE, 3)
    target = FolderTarget(out)
    publish_library(lib, target, base_url=BASE)
    render_feeds(lib, BASE, specs[1:])
    assert publish_library(lib, target, base_url=BASE, grace_s=0.5).waiting_removal == 4
    render_feeds(lib, BASE, specs)
    time.sleep(0.6)
    report = publish_library(lib, target, base_url=BASE, grace_s=0.5)
    assert (report.deleted, report.waiting_removal) == (0, 0)


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    lib, out = tmp_path / "lib", tmp_path / "out"
    specs = build_library(lib, BASE, 2)
    report = publish_library(lib, FolderTarget(out), base_url=BASE, dry_run=True)
    assert report.uploaded == len(public_paths(specs, FEEDS[:3]))
    assert not out.exists()


def test_a_lost_record_costs_one_listing_not_a_new_upload(tmp_path: Path) -> None:
    lib, out = tmp_path / "lib", tmp_path / "out"
    build_library(lib, BASE, 3)
    publish_library(lib, FolderTarget(out), base_url=BASE)
    (lib / "publish.sqlite3").unlink()
    (out / "episodes/ep00002.vtt").write_text("changed by hand", "utf-8")
    (out / "episodes/stray.mp3").write_bytes(b"not named by any feed")
    target = RecordingFolder(out)
    report = publish_library(lib, target, base_url=BASE, grace_s=0.0)
    assert report.listed
    assert [p for a, p in target.log if a == "put"] == ["episodes/ep00002.vtt"]
    assert report.deleted_paths == ("episodes/stray.mp3",)


def test_open_target_reads_folders_and_refuses_unknown_schemes(tmp_path: Path) -> None:
    assert isinstance(open_target(str(tmp_path)), FolderTarget)
    assert open_target(tmp_path.as_uri()).url == tmp_path.resolve().as_uri()
    with pytest.raises(PublishError, match="s3://BUCKET"):
        open_target("ftp://host/x")


KILL_SCRIPT = """
import sys
from pathlib import Path
from tts_pipeline.publish import open_target, publish_library
publish_library(Path(sys.argv[1]), open_target(sys.argv[2]), base_url=sys.argv[3])
"""


def _named_by_feeds(out: Path) -> set[str]:
    tree = public_tree(out, BASE)  # raises if a published feed names a missing file
    return set(tree.files)


def test_killed_folder_publishes_never_leave_a_feed_naming_a_missing_file(tmp_path: Path) -> None:
    lib, out = tmp_path / "lib", tmp_path / "out"
    specs = build_library(lib, BASE, 40, seconds=20.0)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT, "utf-8")
    argv = [sys.executable, str(script), str(lib), str(out), BASE]

    def check() -> None:
        if (out / "feed.xml").exists():
            _named_by_feeds(out)

    killed = kill_publishes(
        lib, BASE, specs, argv, episodes=30, seconds=20.0, pause=(0.1, 0.6), seed=20240501,
        after_kill=check,
    )  # fmt: skip
    assert killed >= 3, "the publishes finished before they could be killed: make the tree bigger"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run(argv, env=env, check=True)
    published = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    expected = set(public_tree(lib, BASE).files)
    assert {p for p in published if not Path(p).name.startswith(".")} == expected
    for path in expected:
        assert file_digests(out / path) == file_digests(lib / path)


def test_archive_pages_unchanged_since_the_last_read_are_not_read_again(tmp_path: Path) -> None:
    """A publish of a large archive reads only its changed pages: an archive page whose size
    and mtime are those remembered is taken from the memo, with the files it named."""
    lib = tmp_path / "lib"
    build_library(lib, BASE, 5, archive=2)
    first = public_tree(lib, BASE)
    assert list(first.archive_names) == ["feeds/archive/1.xml"]
    page = lib / "feeds/archive/1.xml"
    stat = page.stat()
    page.write_bytes(b"\0" * stat.st_size)  # unreadable as XML, with the same size and mtime
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = public_tree(lib, BASE, first.archive_names)
    assert again.files.keys() == first.files.keys()
    assert again.archive_names == first.archive_names
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # changed: read, and refused
    with pytest.raises(PublishError, match=r"archive/1\.xml"):
        public_tree(lib, BASE, first.archive_names)


def test_a_page_taken_from_the_memo_is_checked_before_it_goes_up(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    build_library(lib, BASE, 5, archive=2)
    publish_library(lib, FolderTarget(tmp_path / "one"), base_url=BASE)  # remembers the pages
    second = publish_library(lib, FolderTarget(tmp_path / "two"), base_url=BASE)
    assert second.uploaded == len(public_tree(lib, BASE).files)  # a new target gets it all
    page = "feeds/archive/1.xml"
    assert (tmp_path / "two" / page).read_bytes() == (lib / page).read_bytes()
