"""Cache, resume and "nothing to do": a killed run resumes, an edit costs only its chunks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clirun import cli_command

from tts_pipeline.config import Config
from tts_pipeline.errors import SynthesisError
from tts_pipeline.models import Chunk, Post
from tts_pipeline.pipeline import plan_post
from tts_pipeline.sample import sample_post_result
from tts_pipeline.sample.forum_server import ForumServer
from tts_pipeline.synth.runner import SynthStats, synthesize_chunks
from tts_pipeline.synth.voices import load_voice


def long_post() -> dict[str, Any]:
    """The bundled sample four times over: enough chunks to kill a run in the middle."""
    post = sample_post_result()
    post["_id"] = "ResumeTestPost234"
    post["htmlBody"] = post["htmlBody"] * 4
    return post


@pytest.fixture(scope="module")
def forum() -> Iterator[ForumServer]:
    post = long_post()
    with ForumServer({post["_id"]: post}) as server:
        yield server


def write_config(folder: Path, server: ForumServer) -> Path:
    config = folder / "tts-pipeline.toml"
    config.write_text(
        f'[forums.local]\nname = "LessWrong"\nprefix = "LW"\nhosts = ["{server.host}"]\n'
        f'graphql = "{server.graphql_url}"\n',
        encoding="utf-8",
    )
    return config


def convert_cmd(server: ForumServer, folder: Path, library: str) -> list[str]:
    url = f"{server.base_url}/posts/{long_post()['_id']}"
    config = write_config(folder, server)
    return [
        *cli_command("convert", url, "--json", "--quiet"),
        *("--config", str(config), "--library", str(folder / library), "--jobs", "1"),
    ]


def run(cmd: list[str]) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def decoded_pcm(mp3: Path) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(mp3), "-f", "s16le", "-"],
        capture_output=True,
        check=True,
    ).stdout


def cached_wavs(library: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (library / "cache" / "chunks").rglob("*.wav")}


def test_killed_run_resumes_to_identical_audio_then_does_nothing(
    forum: ForumServer, tmp_path: Path
) -> None:
    cmd = convert_cmd(forum, tmp_path, "killed")
    # start_new_session: the kill takes the spawned workers with it, as a power cut would.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    chunks_dir = tmp_path / "killed" / "cache" / "chunks"
    deadline = time.monotonic() + 120
    while len(list(chunks_dir.rglob("*.wav"))) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline, "no chunk was cached"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    survivors = cached_wavs(tmp_path / "killed")
    assert len(survivors) >= 3
    assert not list((tmp_path / "killed" / "episodes").glob("*.mp3"))  # nothing half-made

    resumed = run(cmd)
    total = len(list(chunks_dir.rglob("*.wav")))
    assert len(survivors) < total, "the kill came after synthesis; nothing was resumed"
    after = cached_wavs(tmp_path / "killed")
    assert all(after[p] == mtime for p, mtime in survivors.items())  # reused, not redone
    assert resumed["unchanged"] is False

    # pyttsx3 is not bit-exact from run to run (the same text came out a few frames longer or
    # shorter in 8 of 11 chunks), so the uninterrupted reference run speaks from the same
    # chunk audio: any chunk lost, doubled or damaged by the kill would show in the PCM.
    shutil.copytree(chunks_dir, tmp_path / "clean" / "cache" / "chunks")
    clean = run(convert_cmd(forum, tmp_path, "clean"))
    assert decoded_pcm(Path(resumed["mp3"])) == decoded_pcm(Path(clean["mp3"]))
    assert resumed["duration_s"] == clean["duration_s"]

    # Unchanged post, complete episode: nothing is redone and the output says so.
    mp3 = Path(resumed["mp3"])
    before = mp3.stat().st_mtime_ns
    again = run(cmd)
    assert again["unchanged"] is True
    assert again["mp3"] == resumed["mp3"] and again["duration_s"] == resumed["duration_s"]
    assert mp3.stat().st_mtime_ns == before
    # A missing side file means the episode is not complete: it is made again.
    vtt = mp3.with_suffix(".vtt")
    assert vtt.is_file()
    vtt.unlink()
    remade = run(cmd)
    assert remade["unchanged"] is False and vtt.is_file()


def as_post(html: str) -> Post:
    return Post(
        id="EditTestPost2345",
        title="An edited post",
        authors=("Ada Example",),
        published=datetime(2024, 3, 7, tzinfo=UTC),
        url="https://www.lesswrong.com/posts/EditTestPost2345/edited",
        html=html,
        site_name="LessWrong",
        prefix="LW",
    )


def test_edited_paragraph_resynthesises_only_its_chunks(tmp_path: Path) -> None:
    voice = load_voice("default")
    config = Config()
    html = long_post()["htmlBody"]
    end = html.index("</p>")  # the first paragraph gains a sentence
    _, chunks = plan_post(as_post(html), config, voice)
    _, edited = plan_post(
        as_post(html[:end] + " And one more sentence." + html[end:]), config, voice
    )
    cold = SynthStats()
    synthesize_chunks(chunks, voice, tmp_path, jobs=2, stats=cold)
    warm = SynthStats()
    synthesize_chunks(edited, voice, tmp_path, jobs=2, stats=warm)

    changed = {c.text for c in edited} - {c.text for c in chunks}
    assert 1 <= len(changed) <= 2  # the paragraph's own chunk(s), nothing else
    assert warm.synthesized == len(changed)
    assert warm.cache_hits == len(edited) - len(changed)
    assert cold.synthesized == len({c.text for c in chunks}) > 10 * len(changed)


def test_chunk_that_keeps_failing_fails_the_run_naming_it(tmp_path: Path) -> None:
    # Asked for 10 wpm, espeak-ng speaks at its minimum of 80: every attempt at a chunk long
    # enough to be checked comes back far too short for its words and is refused.
    voice = replace(load_voice("default"), rate_wpm=10)
    texts = ["Hello.", "One two three four five six seven eight nine.", "Bye now."]
    chunks = [Chunk(index=i, text=t, pause_after_ms=300, section=0) for i, t in enumerate(texts)]
    with pytest.raises(SynthesisError, match=r"chunk 1 \('One two three.*after 3 attempts"):
        synthesize_chunks(chunks, voice, tmp_path, jobs=1)
    # The chunks that worked are cached: a re-run after a fix only redoes the failed one.
    assert len(list(tmp_path.rglob("*.wav"))) == 2
