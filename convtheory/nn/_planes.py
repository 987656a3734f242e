"""Blocks of planes pooled side by side on threads.

A pool treats every plane (one channel of one sample) alone, so a batch
splits into contiguous blocks of planes whose results do not depend on the
split: the output is the same, bit for bit, on any number of threads.
numpy releases the GIL in its array loops, so the blocks run in parallel.

The number of threads is the BLAS thread limit in force, capped by the
cores (:func:`convtheory.threads.workers`, through threadpoolctl), so
``threadpoolctl.threadpool_limits(1)`` makes every pool serial, as it does
the rest of the package.

The blocks are claimed, not assigned: the calling thread and the helpers
take the next unclaimed block until none is left, and the call returns when
the claimed ones are done.  On a machine whose cores are busy a helper may
start late; then the calling thread has taken its blocks already, so a late
helper costs nothing, where a block assigned to it would have made the call
wait for a core.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

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

_EXECUTOR = None
_EXECUTOR_LOCK = threading.Lock()


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


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(thread_name_prefix="convtheory-planes")
        return _EXECUTOR


def map_blocks(fn, blocks) -> list:
    """``[fn(start, stop) for (start, stop) in blocks]``, the blocks run side by side.

    The calling thread and ``workers() - 1`` helpers claim blocks in turn
    until none is left; the call returns when every block is done.  An
    exception in a block is raised here (the first one, once all blocks ran).

    Examples
    --------
    >>> map_blocks(lambda a, b: list(range(a, b)), [(0, 2), (2, 5)])
    [[0, 1], [2, 3, 4]]
    """
    if len(blocks) == 1:
        return [fn(*blocks[0])]
    results, errors = [None] * len(blocks), []
    lock, done = threading.Lock(), threading.Event()
    state = {"next": 0, "left": len(blocks)}

    def work():
        while True:
            with lock:
                i = state["next"]
                if i == len(blocks):
                    return
                state["next"] = i + 1
            try:
                results[i] = fn(*blocks[i])
            except BaseException as err:  # noqa: BLE001 - raised in the caller below
                errors.append(err)
            with lock:
                state["left"] -= 1
                if state["left"] == 0:
                    done.set()

    for _ in range(min(workers(), len(blocks)) - 1):
        _executor().submit(work)
    work()
    done.wait()
    if errors:
        raise errors[0]
    return results
