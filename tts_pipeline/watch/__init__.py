"""The new-post watcher: list each forum's recent posts, convert every qualifying one once.

- ``settings``: the ``[watch]`` config section and the per-forum rules it resolves to;
- ``listing``: the GraphQL ``posts`` listing, paged by date;
- ``rules``: why a listed post is or is not narrated;
- ``state``: each post's status in the library's SQLite database;
- ``lock``: one watcher per library; ``stop``: clean shutdown on SIGINT/SIGTERM;
- ``runner``: one run (``--once``) and the loop (``--every``); ``commands``: the CLI side.

Nothing is imported here: ``config`` imports ``settings``, and the runner imports the
pipeline, which imports ``config``.
"""
