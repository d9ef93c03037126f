"""Mirror a library's public tree to a target in an order that never lets a listener hit a
missing file.

1. Media and side files (MP3s, cover, transcripts, chapters), then archive feed pages, then
   the subscription pages, ``feed.xml`` last: a feed goes up only after everything it names
   is there, so a run that stops anywhere leaves public feeds naming only present files.
2. Only what changed: ``publish.sqlite3`` remembers what went where; a file whose size and
   mtime match its row is not even read, and a run with nothing new sends no request at all.
   The target is listed only when it has no record yet or ``check`` asks for it.
3. Removal last, and only of objects no published feed has named for ``grace_s`` seconds, so
   an app holding a cached feed still finds its episodes.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from tts_pipeline.errors import PublishError
from tts_pipeline.publish.record import PublishRecord, StoredObject
from tts_pipeline.publish.target import RemoteObject, Target, file_digests
from tts_pipeline.publish.tree import (
    ALL_FEED,
    UPLOAD_ORDER,
    CachePolicy,
    PublicFile,
    PublicTree,
    Role,
    looks_public,
    public_tree,
)

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 7 * 24 * 3600.0


@dataclass(frozen=True)
class PublishStep:
    """One upload or removal, for a progress bar."""

    action: str  # "upload" or "remove"
    path: str
    size: int
    done: int  # steps finished before this one
    total: int


Progress = Callable[[PublishStep], None]


@dataclass(frozen=True)
class PublishReport:
    target: str
    uploaded: int
    uploaded_bytes: int
    deleted: int
    skipped: int  # public files already in the target as they are
    waiting_removal: int  # named by no feed, kept until their grace period ends
    listed: bool  # the target was listed (no record yet, or a check)
    dry_run: bool
    seconds: float
    uploaded_paths: tuple[str, ...] = ()
    deleted_paths: tuple[str, ...] = ()
    subscription_pages: tuple[str, ...] = ()  # the feeds apps subscribe to, as published


@dataclass(frozen=True)
class _Upload:
    file: PublicFile
    sha256: str
    md5: str
    content_type: str
    cache_control: str


def publish_library(
    library_root: Path,
    target: Target,
    *,
    base_url: str,
    dry_run: bool = False,
    check: bool = False,
    grace_s: float = DEFAULT_GRACE_S,
    progress: Progress | None = None,
    cache: CachePolicy | None = None,
    workers: int = 4,
    feeds_lock: AbstractContextManager[object] | None = None,
) -> PublishReport:
    """Publish the library's public tree (feeds rendered for ``base_url``) to ``target``.

    ``workers``: uploads at once within one stage (one stage never overlaps the next).
    ``feeds_lock``: held while the feeds are read, so that no process rewrites them meanwhile
    and every page comes from one generation of them.
    ``dry_run``: decide, upload and remove nothing. ``check``: list the target and trust
    nothing the record says that the listing does not confirm. PublishError (one line) on
    any failure; what went up before it is recorded, and the next run completes the rest.
    """
    started = time.monotonic()
    policy = cache or CachePolicy()
    with PublishRecord(library_root, target.url) as record:
        remembered = record.page_names()
        with feeds_lock or contextlib.nullcontext():
            tree = public_tree(library_root, base_url, remembered)
        if not tree.files:
            raise PublishError(f"{library_root} has no feed.xml: render the feeds first")
        if not dry_run:
            record.keep_page_names(remembered, tree.archive_names)
        known = record.objects()
        listed = check or record.listed_at() is None
        if listed:
            known = _reconcile(record, known, target.list(), tree, policy, dry_run)
        uploads = _plan_uploads(tree, known, policy, record, dry_run)
        if not dry_run:
            _upload_all(uploads, target, record, known, progress, workers)
        deleted, waiting = _remove_unnamed(record, known, tree, target, grace_s, dry_run, progress)
    return PublishReport(
        target=target.url,
        uploaded=len(uploads),
        uploaded_bytes=sum(u.file.size for u in uploads),
        deleted=len(deleted),
        skipped=len(tree.files) - len(uploads),
        waiting_removal=waiting,
        listed=listed,
        dry_run=dry_run,
        seconds=time.monotonic() - started,
        uploaded_paths=tuple(u.file.relative for u in uploads),
        deleted_paths=tuple(deleted),
        subscription_pages=tuple(
            sorted(p for p, f in tree.files.items() if f.role is Role.SUBSCRIPTION)
        ),
    )


def _plan_uploads(
    tree: PublicTree,
    known: dict[str, StoredObject],
    policy: CachePolicy,
    record: PublishRecord,
    dry_run: bool,
) -> list[_Upload]:
    """The files to upload, in upload order. A file whose size, mtime and headers match its
    row is taken as is without reading it; feed pages (in memory) are always compared."""
    uploads = []
    for public in tree.in_upload_order():
        stored = known.get(public.relative)
        ctype = public.content_type
        cache_control = policy.for_file(public.relative, public.role)
        same_headers = stored is not None and (stored.content_type, stored.cache_control) == (
            ctype,
            cache_control,
        )
        if (
            stored is not None
            and same_headers
            and public.data is None
            and (stored.size, stored.mtime_ns) == (public.size, public.mtime_ns)
            and stored.sha256
        ):
            continue
        sha256, md5 = file_digests(public.data if public.data is not None else public.path)
        if stored is not None and same_headers and stored.sha256 == sha256:
            if stored.mtime_ns != public.mtime_ns and not dry_run:
                record.touch(public.relative, public.mtime_ns)
            continue
        if stored is not None and stored.sha256 != sha256 and "immutable" in stored.cache_control:
            log.warning(
                "%s changed under the same name, but caches may keep the old copy for a year"
                " (it was sent as %r)",
                public.relative,
                stored.cache_control,
            )
        uploads.append(_Upload(public, sha256, md5, ctype, cache_control))
    return uploads


def _upload_all(
    uploads: list[_Upload],
    target: Target,
    record: PublishRecord,
    known: dict[str, StoredObject],
    progress: Progress | None,
    workers: int,
) -> None:
    """Upload stage by stage (media, side files, archive pages, subscription pages, then
    ``feed.xml``), up to ``workers`` at once within a stage; a stage starts only when the
    one before it is complete. Each object is recorded as soon as the target has it."""
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for _stage, group in itertools.groupby(uploads, key=_stage_of):
            futures = {pool.submit(_put, target, upload): upload for upload in group}
            try:
                for future in as_completed(futures):
                    upload, stored = futures[future], future.result()
                    record.put(stored)
                    known[stored.path] = stored
                    if progress is not None:
                        file = upload.file
                        progress(
                            PublishStep("upload", file.relative, file.size, done, len(uploads))
                        )
                    done += 1
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def _stage_of(upload: _Upload) -> tuple[int, bool]:
    return UPLOAD_ORDER.index(upload.file.role), upload.file.relative == ALL_FEED


def _put(target: Target, upload: _Upload) -> StoredObject:
    public = upload.file
    body: Path | bytes = public.data if public.data is not None else public.path
    if public.data is None and public.role in (Role.ARCHIVE, Role.SUBSCRIPTION):
        body = _page_as_read(public, upload.sha256)
    etag = target.put(
        public.relative,
        body,
        content_type=upload.content_type,
        cache_control=upload.cache_control,
        md5=upload.md5,
    )
    return StoredObject(
        path=public.relative,
        size=public.size,
        mtime_ns=public.mtime_ns,
        sha256=upload.sha256,
        etag=etag or upload.md5,
        content_type=upload.content_type,
        cache_control=upload.cache_control,
        uploaded_at=time.time(),
        unreferenced_since=None,
    )


def _page_as_read(public: PublicFile, sha256: str) -> bytes:
    """A feed page taken from the memo (not read when the tree was made), read now: it must
    still be the page whose names were published, or this run stops before uploading it."""
    try:
        data = public.path.read_bytes()
    except OSError as exc:
        raise PublishError(f"cannot read {public.path}: {exc.strerror}") from exc
    if file_digests(data)[0] != sha256:
        raise PublishError(
            f"{public.relative} changed while it was being published: publish again",
            location=public.relative,
        )
    return data


def _remove_unnamed(
    record: PublishRecord,
    known: dict[str, StoredObject],
    tree: PublicTree,
    target: Target,
    grace_s: float,
    dry_run: bool,
    progress: Progress | None,
) -> tuple[list[str], int]:
    """Start the grace period of objects no feed names any more, end it for those named
    again, and remove those whose grace period is over. Returns (removed, still waiting)."""
    now = time.time()
    unnamed = {p: s for p, s in known.items() if p not in tree.files}
    named_again = [p for p, s in known.items() if p in tree.files and s.unreferenced_since]
    newly = [p for p, s in unnamed.items() if s.unreferenced_since is None]
    if not dry_run:
        record.set_unreferenced(named_again, None)
        record.set_unreferenced(newly, now)
    since = {p: s.unreferenced_since or now for p, s in unnamed.items()}
    due = sorted(p for p, t in since.items() if now - t >= grace_s)
    if dry_run:
        return due, len(unnamed) - len(due)
    for done, path in enumerate(due):
        if progress is not None:
            progress(PublishStep("remove", path, known[path].size, done, len(due)))
        target.delete(path)
        record.forget([path])
    return due, len(unnamed) - len(due)


def _reconcile(
    record: PublishRecord,
    known: dict[str, StoredObject],
    remote: dict[str, RemoteObject],
    tree: PublicTree,
    policy: CachePolicy,
    dry_run: bool,
) -> dict[str, StoredObject]:
    """Make the record agree with one listing of the target.

    A row whose object is gone or differs is dropped (the file goes up again). An object
    without a row is adopted when it is byte for byte the library's file (by MD5, the
    ETag of a single-part upload), so a lost record costs a listing and a read of the
    library, not a new upload of everything. An object shaped like a public file that the
    library no longer has starts its grace period; anything else in the target is left
    alone.
    """
    now = time.time()
    result: dict[str, StoredObject] = {}
    gone = []
    for path, stored in known.items():
        there = remote.get(path)
        if there is not None and (there.size, there.etag) == (stored.size, stored.etag):
            result[path] = stored
        else:
            gone.append(path)
    adopted = [
        row
        for path, there in remote.items()
        if path not in result and (row := _adopt(path, there, tree, policy, now)) is not None
    ]
    result.update((s.path, s) for s in adopted)
    if not dry_run:
        record.forget(gone)
        for stored in adopted:
            record.put(stored)
        record.mark_listed(now)
    if gone or adopted:
        log.info(
            "the listing of %s: %d records dropped, %d objects adopted",
            record.target,
            len(gone),
            len(adopted),
        )
    return result


def _adopt(
    path: str, there: RemoteObject, tree: PublicTree, policy: CachePolicy, now: float
) -> StoredObject | None:
    """The row for an object found in the target without one: the library's own file if
    it is byte for byte the same, an unnamed object (its grace period starting now) if it
    has a public file's shape, else None (not ours: never touched)."""
    public = tree.files.get(path)
    if public is None:
        if not looks_public(path):
            return None
        return StoredObject(path, there.size, 0, "", there.etag, "", "", now, now)
    if public.size != there.size:
        return None
    sha256, md5 = file_digests(public.data if public.data is not None else public.path)
    if md5 != there.etag:
        return None
    cache_control = policy.for_file(path, public.role)
    return StoredObject(
        path, there.size, public.mtime_ns, sha256, md5, public.content_type, cache_control, now,
        None,
    )  # fmt: skip
