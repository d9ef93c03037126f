"""The new-post watcher: list each forum's recent posts, convert every qualifying one once.

- ``listing``: the GraphQL ``posts`` listing, paged by date;
- ``rules``: why a listed post is or is not narrated (the ``[watch]`` settings and per-forum
  rules are parsed with the config, in ``config.watch``);
- ``state``: each post's status in the library's SQLite database;
- ``lock``: one watcher per library; ``stop``: clean shutdown on SIGINT/SIGTERM;
- ``converter``: the steps of one post; ``report``: what a run did;
- ``runner``: one run (``--once``) and the loop (``--every``). The command is ``cli.watch``.
"""
