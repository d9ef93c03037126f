"""``tts-pipeline serve``: the library's feeds, episodes and a player page over HTTP."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from typing import Any

from tts_pipeline.cli.output import EXIT_OK, port
from tts_pipeline.config import Config
from tts_pipeline.library.layout import Library


def add_serve(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        parents=list(parents),
        help="serve the library's feeds, episodes and a player page over HTTP",
        description=(
            "Serve the library over HTTP: an episode page, the feeds (pointing at this server),"
            " and the episodes with byte ranges. Bind to a LAN address (or 0.0.0.0) to"
            " subscribe from a phone on the same network."
        ),
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=port, default=8000, help="TCP port (default 8000)")
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace, config: Config) -> int:
    from tts_pipeline.serve.server import LibraryServer  # the web stack: only for this command

    library = Library(config.library)
    server = LibraryServer(
        library, config=config, host=args.host, port=args.port, access_log=args.verbose > 0
    )
    print(f"Serving {library.root.resolve()} at {server.url} (Ctrl-C to stop)")
    print(f"Feed: {server.url}feed.xml", flush=True)
    if server.all_interfaces:
        print("Listening on every interface: from another device, use this machine's address.")
    with contextlib.suppress(KeyboardInterrupt):  # the normal way to stop a server
        server.serve_forever()
    return EXIT_OK
