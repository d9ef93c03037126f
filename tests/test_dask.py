"""Chunks spoken on a real Dask cluster (a LocalCluster of two worker processes on 127.0.0.1),
posts from a real local forum (ForumServer), real Piper and ffmpeg.

The byte comparison uses Piper's joe voice in deterministic mode, which gives the same samples
for the same text in any process. espeak-ng through pyttsx3 does not: its output for a text
depends on what the same process spoke before (measured: the same sentence came out 63,861,
63,660 and 63,858 frames long within one process, the same sequence repeating exactly in a new
process), so which worker gets which chunk, a scheduler's choice, changes the bytes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from watch_forum import (
    all_feed_guids,
    cli,
    config_data,
    forum_post,
    make_config,
    one_name_per_mp3,
    partial_files,
    post_rows,
    write_config,
)

from tts_pipeline.batch.backfill import BackfillOptions, backfill
from tts_pipeline.execution import open_executor
from tts_pipeline.library.layout import Library
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.engine import get_engine, install_hint
from tts_pipeline.synth.voices import load_voice
from tts_pipeline.watch.runner import Watcher

distributed = pytest.importorskip("distributed")

JOE = replace(load_voice("joe"), deterministic=True)
if install_hint(get_engine(JOE.engine), JOE) is not None:
    pytest.skip("the joe voice (the piper extra) is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One LocalCluster for the module: 2 worker processes of 1 thread; its address."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def short_posts(count: int, sentences: int = 2) -> dict[str, dict[str, object]]:
    body = " ".join(
        f"Sentence {n} of the post says something worth hearing." for n in range(sentences)
    )
    return {
        f"Dask{i}": forum_post(
            f"Dask{i}",
            hours_ago=5 + i,
            karma=10 + i,
            body=f"<p>This is post {i}. {body}</p><p>A second paragraph for post {i}.</p>",
        )
        for i in range(count)
    }


def episode_hashes(library: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((library / "episodes").iterdir())
        if p.suffix in (".mp3", ".vtt", ".txt", ".json")
    }


def test_dask_cluster_gives_the_local_executors_episode_bytes(cluster: str, tmp_path: Path) -> None:
    """Chunks spoken on the workers (the coordinator packages) and whole posts made on the
    workers (they package too) give the local pool's files, byte for byte."""
    address = f"dask://{cluster[len('tcp://') :]}"
    runs = (("local", "local", False), ("chunks", address, False), ("whole", address, True))
    with ForumServer(short_posts(3)) as server:
        config = make_config({"af": ("AF", server)})
        results = {}
        for name, spec, whole in runs:
            library = tmp_path / name
            with open_executor(spec) as remote:
                assert (remote is None) == (name == "local")
                if remote is not None:
                    remote = replace(remote, whole_posts=whole)
                watcher = Watcher(config, Library(library), voice=JOE, jobs=2, executor=remote)
                report = backfill(watcher, BackfillOptions(forum="af"))
            assert sorted(e.id for e in report.run.converted) == ["Dask0", "Dask1", "Dask2"]
            assert not (library / "cache/chunks").exists() or name != "whole"  # made remotely
            results[name] = episode_hashes(library)
    # mp3 (under its own and its public name), txt, vtt, chapters.json per post
    assert len(results["local"]) == 3 * 5
    assert results["chunks"] == results["local"]
    assert results["whole"] == results["local"]


def test_killing_a_worker_mid_backfill_loses_and_repeats_nothing(
    cluster: str, tmp_path: Path
) -> None:
    posts = short_posts(4, sentences=6)
    with ForumServer(posts) as server, distributed.Client(cluster) as client:
        data = config_data({"af": ("AF", server)})
        config_file = write_config(tmp_path / "tts-pipeline.toml", data)
        library = tmp_path / "lib"
        process = cli(
            "backfill", "--forum", "af", "--voice", "joe", "--config", str(config_file),
            "--library", str(library), "--executor", cluster, "--json", cwd=tmp_path,
        )  # fmt: skip
        try:
            victim = _busy_worker(client, process, deadline=time.monotonic() + 60)
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)  # a chunk is in flight on it
            out, err = process.communicate(timeout=240)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    assert "4 converted, 0 skipped, 0 failed" in err
    rows = post_rows(library)
    assert {k[1]: (r["status"], r["attempts"]) for k, r in rows.items()} == {
        post_id: ("done", 1) for post_id in posts
    }
    feeds = all_feed_guids(library)
    for feed in ("feed.xml", "feeds/AF.xml"):
        assert sorted(feeds[feed]) == sorted(posts), feed  # each post once
    assert len(one_name_per_mp3(library)) == 4
    assert partial_files(library) == []
    assert out.count('"id"') == 4


def _busy_worker(client: object, process: object, deadline: float) -> str:
    """The address of a worker running one of the backfill's tasks, once one is."""
    assert isinstance(client, distributed.Client)
    while time.monotonic() < deadline:
        for worker, tasks in client.processing().items():
            if tasks:
                return str(worker)
        time.sleep(0.01)
    pytest.fail("no task reached the cluster within a minute")


def test_a_post_failing_on_a_worker_is_recorded_like_the_watchers(
    cluster: str, tmp_path: Path
) -> None:
    """A whole-post task that raises on the worker (an empty body: CleanError) comes back as
    that error: the row is skipped with the watcher's reason; the other post is done."""
    posts = short_posts(1)
    posts["Empty"] = forum_post("Empty", hours_ago=30, body="<p> </p>")
    with ForumServer(posts) as server:
        config = make_config({"af": ("AF", server)}, min_words=0)
        with open_executor(cluster) as remote:
            assert remote is not None and remote.whole_posts
            watcher = Watcher(config, Library(tmp_path), voice=JOE, jobs=1, executor=remote)
            report = backfill(watcher, BackfillOptions(forum="af"))
    assert [e.id for e in report.run.converted] == ["Dask0"]
    assert [(o.post_id, o.detail[:19]) for o in report.run.skipped] == [
        ("Empty", "nothing to narrate:")
    ]
    rows = post_rows(tmp_path)
    assert rows[("af", "Empty")]["status"] == "skipped"
    assert rows[("af", "Dask0")]["status"] == "done"
