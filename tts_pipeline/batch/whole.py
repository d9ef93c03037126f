"""Whole posts on a cluster: a backfill's posts are made on the workers, several at once.

Speaking chunks remotely still leaves every post's packaging (joining, loudness, encoding) to
the coordinating process, one post after another: with many workers, that becomes the limit.
In this mode the coordinator fetches each post (it owns the forum connection and its rate
limit) and claims its row; a worker runs the whole conversion (``convert_post``, the same code
as everywhere) into a scratch library on its own disk and sends back the episode's files; the
coordinator writes them into the library (atomically), records the episode, renders the feeds
and marks the row done, through the watcher's own steps (``Watcher.start_row``,
``settle_done``, ``settle_failure``). Posts that need verification by ear stay in chunk mode:
the recogniser and its hold-back rules live with the coordinator.

Workers need ffmpeg besides the package and the voices.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tts_pipeline.config import Config
from tts_pipeline.errors import SynthesisError, TTSPipelineError, WorkerLostError
from tts_pipeline.execution.seam import ExecutionBackend, submit_bounded_futures
from tts_pipeline.fsutil import atomic_write_bytes
from tts_pipeline.library.layout import Library
from tts_pipeline.models import Episode, ForumSite, Post, VoiceProfile
from tts_pipeline.pipeline import convert_post, make_aside, publish_made
from tts_pipeline.watch.report import RunReport
from tts_pipeline.watch.runner import Watcher
from tts_pipeline.watch.state import PostRow
from tts_pipeline.watch.stop import StopRequested


@dataclass(frozen=True)
class MadeEpisode:
    """What a worker sends back: the episode (its paths name the worker's scratch files),
    every file of it by name, and the hash of its inputs (see ``incremental``)."""

    episode: Episode
    files: dict[str, bytes]
    inputs: str | None


class InlineExecutor(Executor):
    """Runs each task at once, in the calling thread: a worker speaking its own post's chunks
    with its one engine (``synth.remote``), in its own process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def make_episode(post: Post, config: Config, voice: VoiceProfile) -> MadeEpisode:
    """The worker's task: convert ``post`` into a scratch library and return its files."""
    with tempfile.TemporaryDirectory(prefix="tts-pipeline-post-") as tmp:
        library = Library(Path(tmp))
        library.prepare()
        here = ExecutionBackend(InlineExecutor(), window=1, name="this worker")
        episode = convert_post(
            post,
            config=replace(config, library=Path(tmp), verify=False),
            library=library,
            voice=voice,
            jobs=1,
            executor=here,
        )
        files = {
            path.name: path.read_bytes()
            for path in library.published.episode_files(episode.id)
            if path.is_file()
        }
        return MadeEpisode(episode, files, library.episode_inputs(episode.id))


def place_made(library: Library, config: Config, made: MadeEpisode) -> Episode:
    """Put a worker's episode in place: its files written aside, then published as
    ``convert_post`` publishes its own (``pipeline.publish_made``)."""
    eid = made.episode.id
    with library.converting(eid):  # no other process stages or publishes it meanwhile
        staged = make_aside(library, eid)
        known = {path.name for path in staged.episode_files(eid)}
        for name in made.files:
            if name not in known:
                raise SynthesisError(f"episode {eid}: a worker sent an unexpected file {name!r}")
            atomic_write_bytes(staged.path / name, made.files[name])
        episode = replace(
            made.episode, mp3=library.mp3_path(eid), script_txt=library.script_path(eid)
        )
        return publish_made(library, config, staged, episode, made.inputs)


def convert_whole(
    watcher: Watcher,
    site: ForumSite,
    due: list[PostRow],
    remote: ExecutionBackend,
    report: RunReport,
    on_post: Callable[[PostRow], None],
) -> int:
    """Convert ``due`` (oldest first) as whole-post tasks on ``remote``, at most
    ``remote.window`` at once (``submit_bounded_futures``: a task whose worker was lost is
    submitted again); ``on_post(row)`` right after each row's outcome is recorded. Returns
    how many rows were left untouched because the forum failed us (no more fetches this run,
    as the watcher does)."""
    claimed: dict[tuple[str, str], PostRow] = {}  # submitted, not settled: given back on a stop
    paused = False  # the forum refused or timed out a fetch
    untouched = 0

    def fetched() -> Iterator[tuple[PostRow, Post]]:
        """Each due row claimed and its post fetched, one at a time as the window opens; a
        row recovered or failed here is settled at once."""
        nonlocal paused, untouched
        for number, row in enumerate(due):
            if watcher.stop.requested:
                raise StopRequested(watcher.stop.signal_name)
            if watcher.recover_finished(row, report):
                on_post(row)
                continue
            watcher.start_row(row)
            try:
                with watcher.stop.interruptible():
                    post = watcher.fetch_row(site, row)
            except BaseException as exc:
                paused = watcher.settle_failure(row, exc, report) or paused
                on_post(row)
            else:
                yield row, post
            if paused:  # refused or timed out: like the watcher, no more fetches this run
                untouched = len(due) - number - 1
                return

    def task_args(item: tuple[PostRow, Post]) -> tuple[object, ...]:
        row, post = item
        claimed[row.forum, row.post_id] = row
        return (post, watcher.config, watcher.voice)

    def settle(row: PostRow, post: Post, made: Future[MadeEpisode], tries: int) -> bool:
        try:
            episode = place_made(watcher.library, watcher.config, made.result())
        except BaseException as exc:
            failed = watcher.settle_failure(row, _readable(exc, remote, tries), report)
            on_post(row)
            return failed
        watcher.settle_done(row, post, episode, report)
        on_post(row)
        return False

    tasks = submit_bounded_futures(
        remote, make_episode, fetched(), task_args, waiting=watcher.stop.interruptible
    )
    try:
        with contextlib.closing(tasks):  # stopped: the tasks not yet started are cancelled
            for (row, post), made, tries in tasks:
                del claimed[row.forum, row.post_id]
                paused = settle(row, post, made, tries) or paused
    finally:
        for row in claimed.values():  # stopped: give the rows back
            watcher.state.abandon(row, watcher.clock())
    return untouched


def _readable(exc: BaseException, remote: ExecutionBackend, tries: int) -> BaseException:
    """``exc`` as the watcher's failure handling expects it: a TTSPipelineError, or what must
    end the run (a stop, an interrupt)."""
    if isinstance(exc, TTSPipelineError | StopRequested) or not isinstance(exc, Exception):
        return exc
    if remote.is_lost(exc):
        return WorkerLostError(f"{remote.name}: the post's worker was lost {tries + 1} times")
    return SynthesisError(f"{remote.name}: {type(exc).__name__}: {exc}")
