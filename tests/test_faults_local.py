"""Local faults through the real CLI: a read-only or full library, ffmpeg missing or failing,
SIGKILL at random points of a conversion; and the input-safety rules checked on the source.

The file-system cases mount a small tmpfs (root in CI and here); where mounting is not
permitted they skip, saying so.
"""

from __future__ import annotations

import ast
import contextlib
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultkit import (
    assert_library_sound,
    assert_one_line_failure,
    convert,
    forum_post,
    write_config,
)
from watch_forum import feed_guids

from tts_pipeline import pipeline
from tts_pipeline.cli.main import main as cli_main
from tts_pipeline.library.layout import Library
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.cache import cache_path

StrPath = str | os.PathLike[str]
PACKAGE = Path(__file__).resolve().parents[1] / "tts_pipeline"
IDS = ["LocalFaultAbc2345", "LocalFaultDef2345", "LocalFaultGhk2345"]


@pytest.fixture
def forum() -> Iterator[ForumServer]:
    with ForumServer({i: forum_post(i) for i in IDS}) as server:
        yield server


def post_url(forum: ForumServer, post_id: str = IDS[0]) -> str:
    return f"{forum.base_url}/posts/{post_id}/harbour-lights"


def _mount(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a test file system here ({result.stderr.strip()})")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs: room for one short episode, filled up to provoke "disk full"."""
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    mount = tmp_path / "small"
    mount.mkdir()
    _mount(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)])
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_leaving(folder: Path, free_kb: int) -> Path:
    """Write a filler file that leaves about ``free_kb`` KiB free on ``folder``'s file system."""
    filler = folder / f"filler-{free_kb}"
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - free_kb * 1024
    with open(filler, "wb") as fh, contextlib.suppress(OSError):
        fh.write(b"\0" * max(size, 0))
    return filler


def test_library_on_a_full_disk(forum: ForumServer, tmp_path: Path, small_fs: Path) -> None:
    """The disk fills while speaking chunks, while joining them, and while tagging the MP3:
    each run fails in one line and leaves the library sound; with room again, the same
    command completes, reusing whatever chunks were already cached."""
    write_config(tmp_path, forum)
    for free_kb in (300, 1200, 2600):
        library = small_fs / f"lib-{free_kb}"
        filler = _fill_leaving(small_fs, free_kb)
        result = convert(post_url(forum), tmp_path, library=library)
        assert_one_line_failure(result, "no space left on device")
        assert_library_sound(library, episodes=0)
        filler.unlink()
    result = convert(post_url(forum), tmp_path, library=library)
    assert result.returncode == 0, result.stderr
    assert_library_sound(library, episodes=1)
    assert _partial_files(library) == []


def test_read_only_library(forum: ForumServer, tmp_path: Path, small_fs: Path) -> None:
    write_config(tmp_path, forum)
    library = small_fs / "lib"
    library.mkdir()
    _mount(["mount", "-o", "remount,ro", str(small_fs)])
    result = convert(post_url(forum), tmp_path, library=library)
    assert_one_line_failure(result, str(library), "read-only")
    assert not any(library.iterdir())


def _path_without(tmp: Path, *missing: str, fake: dict[str, str] | None = None) -> str:
    """A PATH of symlinks to every program on the real PATH except ``missing``; ``fake``
    maps names to shell scripts put in their place."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for folder in reversed(os.environ.get("PATH", "").split(os.pathsep)):
        if not folder or not Path(folder).is_dir():
            continue
        for program in Path(folder).iterdir():
            if program.name in missing:
                continue
            link = bin_dir / program.name
            link.unlink(missing_ok=True)
            link.symlink_to(program)
    for name, script in (fake or {}).items():
        target = bin_dir / name
        target.unlink(missing_ok=True)
        target.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
        target.chmod(target.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def test_ffmpeg_missing(forum: ForumServer, tmp_path: Path) -> None:
    write_config(tmp_path, forum)
    path = _path_without(tmp_path, "ffmpeg", "ffprobe")
    result = convert(post_url(forum), tmp_path, env={"PATH": path})
    assert_one_line_failure(result, "ffmpeg", "not installed")
    assert_library_sound(tmp_path / "lib", episodes=0)


def test_ffmpeg_failing(forum: ForumServer, tmp_path: Path) -> None:
    write_config(tmp_path, forum)
    script = 'echo "Conversion failed: simulated codec crash" >&2; exit 69'
    path = _path_without(tmp_path, fake={"ffmpeg": script})
    result = convert(post_url(forum), tmp_path, env={"PATH": path})
    assert_one_line_failure(result, "ffmpeg", "simulated codec crash")
    assert_library_sound(tmp_path / "lib", episodes=0)


def _partial_files(library: Path) -> list[Path]:
    return [p for p in library.rglob("*.part") if p.is_file()]


def test_sigkill_at_random_points_then_rerun(forum: ForumServer, tmp_path: Path) -> None:
    """Kill a three-post conversion at random moments, repeatedly; after each kill the library
    is sound, and a final run completes every episode exactly once."""
    write_config(tmp_path, forum)
    library = tmp_path / "lib"
    urls = [post_url(forum, i) for i in IDS]
    config = tmp_path / "tts-pipeline.toml"
    argv = [sys.executable, "-m", "tts_pipeline", "convert", *urls]
    argv += ["--config", str(config), "--library", "lib", "--jobs", "2", "-q"]
    rng = random.Random(20261126)
    kills = 0
    for _ in range(6):
        proc = subprocess.Popen(
            argv,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the kill takes the synthesis workers with it
        )
        time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        assert_library_sound(library, after_kill=True)  # consistent after every kill
    assert kills >= 3
    # A killed run cannot remove its temporary files; a later run sweeps those a day old.
    stale = time.time() - 2 * 24 * 3600
    work = Library(library).work_dir
    for part in [*_partial_files(library), *(work.iterdir() if work.is_dir() else [])]:
        os.utime(part, (stale, stale))
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(assert_library_sound(library, episodes=3)) == sorted(IDS)
    assert _partial_files(library) == []
    assert list(work.iterdir()) == []  # killed packages' folders swept, the last run's removed


def test_a_state_database_killed_before_its_schema_is_completed_by_the_next_run(
    forum: ForumServer, tmp_path: Path
) -> None:
    """A kill right after SQLite made the file (WAL mode set, no tables yet) leaves an empty
    database: the library is sound and the next run adds the schema and the episode."""
    write_config(tmp_path, forum)
    lib = tmp_path / "lib"
    lib.mkdir()
    conn = sqlite3.connect(lib / "state.sqlite3")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert assert_library_sound(lib) == []
    result = convert(post_url(forum), tmp_path)
    assert result.returncode == 0, result.stderr
    assert assert_library_sound(lib, episodes=1) == [IDS[0]]


def test_a_killed_runs_leftovers_go_a_day_later_and_a_running_ones_stay(
    tmp_path: Path,
) -> None:
    library = Library(tmp_path / "lib")
    library.prepare()
    stale = time.time() - 2 * 24 * 3600
    killed = library.work_dir / "package-killed"
    (killed / "segments").mkdir(parents=True)
    (killed / "segment-0.wav").write_bytes(b"RIFF" * 100)  # written just before the kill
    entry = cache_path(library.cache_dir / "chunks", "a" * 64)  # where a worker writes it
    chunk = entry.with_name(f".{entry.name}.x1y2.part")
    preview = library.previews_dir / f".{IDS[0]}.wav.p6.part"
    segment = library.cache_dir / "segments" / IDS[0] / f".{'b' * 64}.mp3.z3.part"
    # An episode being made when it was killed, then made again by a later run: the next
    # run finds it complete and never opens staging, yet its old part goes too.
    staged = library.staging().path / f".{IDS[0]}.mp3.k5.part"
    for part in (chunk, segment, staged, preview):
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(b"half")
    for old in (killed, chunk, segment, staged, preview):
        os.utime(old, (stale, stale))
    running = library.work_dir / "preview-running"
    running.mkdir()
    (running / "joined.wav").write_bytes(b"RIFF")
    writing = chunk.with_name(f".{'c' * 64}.wav.w4.part")
    writing.write_bytes(b"half")
    library.prepare()  # swept once per library: this one already has
    library.staging().prepare()  # and a view leaves it to the library
    assert chunk.exists() and killed.exists()
    Library(library.root).prepare()  # the next run's library sweeps, as it opens
    assert not any(p.exists() for p in (killed, chunk, segment, staged, preview))
    assert (running / "joined.wav").exists() and writing.exists()


def _spawned_workers(pid: int) -> list[int]:
    """The multiprocessing workers a CLI process has started (not its resource tracker)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                    found.append(int(child))
    return found


def test_engine_worker_crash_mid_conversion(forum: ForumServer, tmp_path: Path) -> None:
    """A synthesis worker SIGKILLed mid-episode (as an engine segfault or the OOM killer
    would): that post fails in one line naming the chunk, the run goes on, a re-run
    completes every episode once."""
    write_config(tmp_path, forum)
    library = tmp_path / "lib"
    config = tmp_path / "tts-pipeline.toml"
    argv = [sys.executable, "-m", "tts_pipeline", "convert", *(post_url(forum, i) for i in IDS)]
    argv += ["--config", str(config), "--library", "lib", "--jobs", "2", "-q"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    killed = False
    while not killed and proc.poll() is None and time.monotonic() < deadline:
        for worker in _spawned_workers(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
                killed = True
                break
        time.sleep(0.02)
    _, stderr = proc.communicate(timeout=120)
    assert killed, "no synthesis worker seen"
    assert "Traceback" not in stderr, stderr
    errors = stderr.strip().splitlines()
    assert proc.returncode == 1 and len(errors) == 1, stderr
    assert errors[0].startswith("tts-pipeline: error: ") and "crash" in errors[0], errors
    assert len(assert_library_sound(library)) == len(IDS) - 1
    rerun = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(assert_library_sound(library, episodes=3)) == sorted(IDS)


# -- input safety on the source ------------------------------------------------------------


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def test_no_shell_strings_anywhere_in_the_package() -> None:
    """Subprocesses take argument lists: no shell=True, os.system or os.popen."""
    offenders: list[str] = []
    for source in PACKAGE.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for call in _calls(tree):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("system", "popen", "getoutput", "getstatusoutput"):
                offenders.append(f"{source.name}:{call.lineno} {name}()")
            for keyword in call.keywords:
                if keyword.arg == "shell" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    offenders.append(f"{source.name}:{call.lineno} shell=")
            runs = name in ("run", "Popen", "call", "check_call", "check_output")
            if runs and call.args and isinstance(call.args[0], ast.Constant | ast.JoinedStr):
                offenders.append(f"{source.name}:{call.lineno} {name}(<string>)")
    assert offenders == []


def test_an_episode_reaches_the_library_only_with_its_record(
    forum: ForumServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash after the MP3 is made but before the episode is recorded leaves nothing under
    episodes/: the files are made aside and moved in right before the record."""
    write_config(tmp_path, forum)
    argv = _convert_argv(forum, tmp_path, IDS[0])

    def crash(*_: object) -> None:
        raise SystemExit("killed after packaging")

    with monkeypatch.context() as patch:
        patch.setattr(Library, "forget_verification", crash)  # the last step before the move
        with pytest.raises(SystemExit, match="killed after packaging"):
            cli_main(argv)
    staging = Library(tmp_path / "lib").staging().path
    staged = list(staging.glob("*.mp3"))
    assert [p.stem for p in staged] == [IDS[0]]  # it was made...
    assert list((tmp_path / "lib" / "episodes").glob("*")) == []  # ...and never published
    assert_library_sound(tmp_path / "lib", episodes=0)
    assert cli_main(argv) == 0  # the next run completes it
    assert assert_library_sound(tmp_path / "lib", episodes=1) == [IDS[0]]
    assert not list(staging.glob("*.mp3"))


def _kill_after_moving(moved: Path) -> Callable[[StrPath, StrPath], None]:
    """``os.replace`` that dies (as a SIGKILL would, leaving the rest undone) once it has
    renamed a file to ``moved``."""
    real = os.replace

    def replace(source: StrPath, target: StrPath) -> None:
        real(source, target)
        if Path(target) == moved:
            raise SystemExit("killed after the move")

    return replace


def _convert_argv(forum: ForumServer, tmp_path: Path, post_id: str) -> list[str]:
    options = ["--config", str(tmp_path / "tts-pipeline.toml"), "--library", str(tmp_path / "lib")]
    return ["convert", post_url(forum, post_id), *options, "--jobs", "1", "-q"]


def _killed_publishing(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], after: Path
) -> os.stat_result:
    """Run ``argv`` in-process, killed right after its publication renames a file to
    ``after``; return the stat of the MP3 it made (waiting in staging, or moved)."""
    with monkeypatch.context() as patch:
        patch.setattr("tts_pipeline.library.episodes.os.replace", _kill_after_moving(after))
        with pytest.raises(SystemExit, match="killed after the move"):
            cli_main(argv)
    library = Library(after.parents[1])
    name = f"{after.name.split('.')[0]}.mp3"
    placed, waiting = library.episodes_dir / name, library.staging().path / name
    return (waiting if waiting.exists() else placed).stat()


@pytest.mark.parametrize("after", ["mp3", "vtt"])
def test_a_run_killed_between_the_move_and_the_record_is_finished_by_the_next(
    forum: ForumServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: str
) -> None:
    """Files move into episodes/ (the MP3 last) right before the record; a kill in between
    (after the MP3, or after a side file with the MP3 still waiting) leaves a note, and the
    next run, for any post, puts in place and records the episode as it was made, without
    making it again. The same for a re-made episode replacing an older one, whose record holds
    the older MP3's size until then; a long-running process (a watch loop) finishes a note
    left while it runs."""
    write_config(tmp_path, forum)
    lib = tmp_path / "lib"
    mp3 = lib / "episodes" / f"{IDS[0]}.mp3"
    killed_after = lib / "episodes" / f"{IDS[0]}.{after}"
    made = _killed_publishing(monkeypatch, _convert_argv(forum, tmp_path, IDS[0]), killed_after)
    assert mp3.exists() == (after == "mp3")
    assert assert_library_sound(lib, after_kill=True) == []  # pending: not yet recorded
    assert cli_main(_convert_argv(forum, tmp_path, IDS[1])) == 0  # finishes the first
    assert sorted(assert_library_sound(lib, episodes=2)) == sorted(IDS[:2])
    assert sorted(feed_guids(lib / "feed.xml")) == sorted(IDS[:2])
    assert (mp3.stat().st_ino, mp3.stat().st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert cli_main(_convert_argv(forum, tmp_path, IDS[0])) == 0  # inputs recorded: no work
    assert mp3.stat().st_ino == made.st_ino

    watching = Library(lib)
    watching.prepare()
    forum.posts[IDS[0]] = forum_post(IDS[0], title="Harbour Lights, Revised")
    remade = _killed_publishing(monkeypatch, _convert_argv(forum, tmp_path, IDS[0]), killed_after)
    assert remade.st_ino != made.st_ino
    assert sorted(assert_library_sound(lib, after_kill=True)) == sorted(IDS[:2])
    before = watching.episode_inputs(IDS[0])
    watching.prepare()  # its next pass
    assert sorted(assert_library_sound(lib, after_kill=True)) == sorted(IDS[:2])  # feed lags
    assert mp3.stat().st_ino == remade.st_ino
    assert watching.episode_inputs(IDS[0]) not in (None, before)
    assert "Revised" in (lib / "episodes" / f"{IDS[0]}.txt").read_text()
    assert cli_main(_convert_argv(forum, tmp_path, IDS[0])) == 0  # no work; the feed catches up
    assert sorted(assert_library_sound(lib, episodes=2)) == sorted(IDS[:2])
    assert mp3.stat().st_ino == remade.st_ino


def test_a_publication_overtaken_by_a_newer_make_is_dropped_and_made_again(
    forum: ForumServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note whose MP3 is neither waiting nor in place as noted (made again since, or removed
    by hand) is dropped, never recorded over the wrong audio; its side files may have moved in
    without it, so the episode's inputs are forgotten and the next conversion makes it again,
    even when the post is back to what the older episode was made from."""
    write_config(tmp_path, forum)
    lib = tmp_path / "lib"
    original = forum.posts[IDS[0]]
    assert cli_main(_convert_argv(forum, tmp_path, IDS[0])) == 0
    mp3 = lib / "episodes" / f"{IDS[0]}.mp3"
    first = mp3.stat()
    forum.posts[IDS[0]] = forum_post(IDS[0], title="Harbour Lights, Revised")
    vtt = lib / "episodes" / f"{IDS[0]}.vtt"
    _killed_publishing(monkeypatch, _convert_argv(forum, tmp_path, IDS[0]), vtt)
    assert "Revised" in vtt.read_text()  # a side file of the new make moved in; its MP3 did not
    staged = Library(lib).staging().mp3_path(IDS[0])
    other = staged.with_name("other.mp3")
    other.write_bytes(staged.read_bytes())
    os.replace(other, staged)  # another make since: same bytes, another file
    assert cli_main(_convert_argv(forum, tmp_path, IDS[1])) == 0
    assert sorted(assert_library_sound(lib, episodes=2)) == sorted(IDS[:2])  # note dropped
    assert mp3.stat().st_ino == first.st_ino  # the older episode stays, as recorded
    assert Library(lib).episode_inputs(IDS[0]) is None
    forum.posts[IDS[0]] = original  # its inputs match the older episode's again...
    assert cli_main(_convert_argv(forum, tmp_path, IDS[0])) == 0
    assert mp3.stat().st_ino != first.st_ino  # ...yet it is made again, side files and all
    assert "Revised" not in vtt.read_text()
    assert sorted(assert_library_sound(lib, episodes=2)) == sorted(IDS[:2])


def test_an_older_makes_verification_report_is_not_published_with_a_new_episode(
    forum: ForumServer, tmp_path: Path
) -> None:
    """A killed verifying run can leave its report where episodes are made; a later run
    without verification clears it before making the episode there."""
    write_config(tmp_path, forum)
    lib = tmp_path / "lib"
    stale = Library(lib).staging().verify_report_path(IDS[0])
    stale.parent.mkdir(parents=True)
    stale.write_text('{"chunks": []}')
    assert cli_main(_convert_argv(forum, tmp_path, IDS[0])) == 0
    assert assert_library_sound(lib, episodes=1) == [IDS[0]]
    assert not stale.exists()
    assert not Library(lib).verify_report_path(IDS[0]).exists()


def test_a_run_killed_between_record_and_feed_is_completed_by_the_next(
    forum: ForumServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed is rendered from the record right after it; a kill in between leaves the feed
    behind, and the next run, finding the episode complete, renders it."""
    write_config(tmp_path, forum)
    lib = tmp_path / "lib"

    def argv(post_id: str) -> list[str]:
        return _convert_argv(forum, tmp_path, post_id)

    def crash(*_: object, **__: object) -> None:
        raise SystemExit("killed after the record")

    for post_id in IDS[:2]:  # no feed yet; then a feed without the newest episode
        with monkeypatch.context() as patch:
            patch.setattr(pipeline, "publish_feed", crash)
            with pytest.raises(SystemExit, match="killed after the record"):
                cli_main(argv(post_id))
        if post_id == IDS[0]:
            assert not (lib / "feed.xml").exists()
            assert cli_main(argv(post_id)) == 0  # nothing to convert, but the feed catches up
            assert assert_library_sound(lib, episodes=1) == [IDS[0]]
    assert feed_guids(lib / "feed.xml") == [IDS[0]]
    assert sorted(assert_library_sound(lib, after_kill=True)) == sorted(IDS[:2])
    assert cli_main(argv(IDS[1])) == 0
    assert sorted(assert_library_sound(lib, episodes=2)) == sorted(IDS[:2])
    before = (lib / "feed.xml").stat().st_mtime_ns
    assert cli_main(argv(IDS[1])) == 0
    assert (lib / "feed.xml").stat().st_mtime_ns == before  # not rewritten again
