"""Blocks of planes pooled side by side on threads.

A pool treats every plane (one channel of one sample) alone, so a batch
splits into contiguous blocks of planes whose results do not depend on the
split: the output is the same, bit for bit, on any number of threads.
numpy releases the GIL in its array loops, so the blocks run in parallel.

The number of threads is the BLAS thread limit in force, capped by the
cores (:func:`convtheory.threads.workers`, through threadpoolctl), so
``threadpoolctl.threadpool_limits(1)`` makes every pool serial, as it does
the rest of the package.

The blocks run through :func:`convtheory.threads.map_blocks`, which hands
them out by claim, so a helper thread that starts late costs nothing.
"""

from __future__ import annotations

import numpy as np

from ..threads import map_blocks as _map_blocks
from ..threads import workers

__all__ = ["MAX_COST", "PARALLEL_MIN", "map_blocks", "plane_blocks"]

#: Work (elements of the input, times a cost per element: :data:`MAX_COST` for a
#: maximum, 1 for a sum) below which a pool runs in one thread.  Under this, a
#: pool takes a millisecond or two, and on a busy machine handing half of it to
#: a second thread (which must wait for a core, and for the GIL between numpy
#: calls) costs about what it saves.
PARALLEL_MIN = 1 << 20

#: A running maximum takes about four array passes per kernel position (compare,
#: maximum, winner update) where a sum takes one.
MAX_COST = 4

#: Blocks per thread: more than one, so that a thread that starts late or runs
#: slowly (a busy core) leaves its share to the others.
BLOCKS_PER_WORKER = 2

def plane_blocks(n_planes: int, work: int) -> list:
    """Contiguous ``(start, stop)`` ranges of planes covering ``range(n_planes)``.

    One block when ``work`` (see :data:`PARALLEL_MIN`) is under
    :data:`PARALLEL_MIN` or one thread is allowed; otherwise
    :data:`BLOCKS_PER_WORKER` per thread, as equal as possible, never empty.

    Examples
    --------
    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1):
    ...     plane_blocks(64, 10**7)
    [(0, 64)]
    """
    n_workers = workers() if work >= PARALLEL_MIN else 1
    n = 1 if n_workers <= 1 else min(BLOCKS_PER_WORKER * n_workers, n_planes)
    bounds = np.linspace(0, n_planes, max(n, 1) + 1).round().astype(int).tolist()
    return list(zip(bounds[:-1], bounds[1:]))


def map_blocks(fn, blocks) -> list:
    """``[fn(start, stop) for (start, stop) in blocks]``, side by side on :func:`workers` threads.

    :func:`convtheory.threads.map_blocks` with this module's thread count.

    Examples
    --------
    >>> map_blocks(lambda a, b: list(range(a, b)), [(0, 2), (2, 5)])
    [[0, 1], [2, 3, 4]]
    """
    return _map_blocks(fn, blocks, workers())
