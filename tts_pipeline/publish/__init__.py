"""Publish a library to the web: its public files to a bucket or a folder, in an order that
never lets a feed name a missing file, then a check as a podcast app sees it.

Entry points (the ``publish`` command calls these)::

    target = open_target("s3://bucket/podcast", endpoint_url=None)   # or a folder path
    report = publish_library(root, target, base_url=..., dry_run=False, check=False,
                             grace_s=DEFAULT_GRACE_S, progress=None)
    check_public(public_feed_urls(root, base_url), only=report.uploaded_paths)
    announce(public_feed_urls(root, base_url), pubnotify=..., websub_hub=...)
"""

from tts_pipeline.publish.announce import announce, pubnotify_url
from tts_pipeline.publish.check import CheckReport, check_public, public_feed_urls
from tts_pipeline.publish.record import RECORD_NAME
from tts_pipeline.publish.sync import (
    DEFAULT_GRACE_S,
    Progress,
    PublishReport,
    PublishStep,
    publish_library,
)
from tts_pipeline.publish.target import FolderTarget, RemoteObject, Target
from tts_pipeline.publish.targets import open_target
from tts_pipeline.publish.tree import (
    CachePolicy,
    PublicFile,
    PublicTree,
    Role,
    content_type,
    feed_role,
    public_tree,
)

__all__ = [
    "DEFAULT_GRACE_S",
    "RECORD_NAME",
    "CachePolicy",
    "CheckReport",
    "FolderTarget",
    "Progress",
    "PublicFile",
    "PublicTree",
    "PublishReport",
    "PublishStep",
    "RemoteObject",
    "Role",
    "Target",
    "announce",
    "check_public",
    "content_type",
    "feed_role",
    "open_target",
    "public_feed_urls",
    "public_tree",
    "publish_library",
    "pubnotify_url",
]
