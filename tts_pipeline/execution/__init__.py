"""Where work runs: the backend an executor spec names (see ``execution.seam``).

The stages depend on the seam alone; this package is the one place that knows the backends:
the local process pool kept for a batch (``execution.local``) and Dask (``execution.dask``,
which imports the library only when connecting).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tts_pipeline.config import LOCAL, parse_executor_spec
from tts_pipeline.execution.dask import connect
from tts_pipeline.execution.local import local_pool
from tts_pipeline.execution.seam import ExecutionBackend


@contextlib.contextmanager
def open_executor(spec: str | None, *, batch_jobs: int = 0) -> Iterator[ExecutionBackend | None]:
    """The executor ``spec`` names, while inside: a connected cluster, closed (not shut down:
    it is shared) on exit; for ``local``, None (the synthesis runner starts a pool per post),
    or with ``batch_jobs`` a pool of that many workers kept for the whole batch of posts."""
    address = parse_executor_spec(spec)
    if address == LOCAL:
        if batch_jobs < 1:
            yield None
            return
        with local_pool(batch_jobs) as pool:
            yield pool
        return
    with connect(address) as remote:
        yield remote
