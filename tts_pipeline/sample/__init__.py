"""The bundled sample post and a local forum that serves it, for the demo and the tests.

The sample is our own text in the exact shape the ForumMagnum GraphQL API returns, so the
demo exercises the same ingest path as a real post URL.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from typing import Any

from tts_pipeline.config import Config
from tts_pipeline.models import ForumSite
from tts_pipeline.sample.forum_server import ForumServer

SAMPLE_SITE_KEY = "sample"


def sample_post_result() -> dict[str, Any]:
    """The sample post's ``data.post.result`` object."""
    text = resources.files(__package__).joinpath("sample_post.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)["data"]["post"]["result"]
    return result


@contextlib.contextmanager
def sample_forum(config: Config) -> Iterator[tuple[Config, str]]:
    """Serve the sample on 127.0.0.1; yield a config that knows the server, and the post URL."""
    post = sample_post_result()
    with ForumServer({post["_id"]: post}) as server:
        site = ForumSite(
            key=SAMPLE_SITE_KEY,
            name="The Sample Forum",
            prefix="SAMPLE",
            hosts=(server.host,),
            graphql=server.graphql_url,
        )
        others = tuple(s for s in config.sites if s.key != SAMPLE_SITE_KEY)
        url = f"{server.base_url}/posts/{post['_id']}/{post['slug']}"
        yield replace(config, sites=(*others, site)), url
