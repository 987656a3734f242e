"""Threads that help and never hurt: BLAS limits around small products, coarse-grain workers.

Two rules, both measured (``benchmarks/``):

* Many small or mid-sized BLAS calls (a batched SVD of 128x128 matrices, one
  GEMM per group of a depthwise conv) run several times *slower* with two
  BLAS threads than with one: each call pays the threads' wake-up and
  synchronisation, and on a loaded machine a thread waits for a core.  Such
  calls run under :func:`blas_threads` ``(1)``, through threadpoolctl (the
  well-kept library for this; nothing here talks to BLAS itself).
* Where there are independent blocks (frequency blocks of a batched SVD,
  row blocks of a CSR build), :func:`parallel_blocks` runs them on a thread
  pool instead, one BLAS thread each.  numpy releases the GIL in its array
  loops and LAPACK calls, so the blocks run side by side.

The number of workers is the BLAS thread limit in force (so
``threadpoolctl.threadpool_limits(1)`` makes everything serial), capped by the
cores this process may use.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

__all__ = ["BLOCK_GEMM", "SMALL_FFT", "SMALL_GEMM", "blas_threads", "fft_workers",
           "gemm_threads", "map_blocks", "parallel_blocks", "parallel_matmul", "workers"]

#: Multiply-adds below which one GEMM runs on one BLAS thread: waking and joining a
#: second thread costs more than it saves there, and far more on a loaded machine.
SMALL_GEMM = 1 << 25

#: Multiply-adds per worker block of :func:`parallel_matmul`, at least.  Handing a
#: block to a thread costs a wait for a core on a busy machine (milliseconds under
#: a load of 7 on 2 cores): measured there, two blocks of a 116 M multiply-add GEMM
#: took 1.8x the time of one thread, of 462 M the same time, of 1.85 G 1.05x.
BLOCK_GEMM = 1 << 28

#: Elements of one transform batch below which ``scipy.fft`` runs on one worker.
#: Measured (float64 rfftn + irfftn, 2 cores shared with other jobs): two workers
#: were 1.6x slower at 522^2, 1.2x at 1024^2 and even at 2100^2.
SMALL_FFT = 1 << 22

_LOCK = threading.Lock()
_CONTROLLER = None


def _controller():
    """One ThreadpoolController per process: creating one scans the loaded libraries."""
    global _CONTROLLER
    with _LOCK:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers() -> int:
    """Workers for coarse-grain parallelism: the BLAS thread limit in force, capped by the cores.

    Examples
    --------
    >>> from threadpoolctl import threadpool_limits
    >>> with threadpool_limits(1):
    ...     workers()
    1
    """
    limits = [lib.num_threads for lib in _controller().select(user_api="blas").lib_controllers]
    blas = max(limits) if limits else 1
    return max(1, min(blas, _cores()))


@contextlib.contextmanager
def blas_threads(n: int):
    """Limit BLAS to ``n`` threads inside the block (a no-op when it already uses at most ``n``).

    The limit is process-wide, as BLAS's own setting is.

    Examples
    --------
    >>> import numpy as np
    >>> with blas_threads(1):
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    ctl = _controller().select(user_api="blas")
    if all(lib.num_threads <= n for lib in ctl.lib_controllers):
        yield
        return
    with ctl.limit(limits=n):
        yield


def gemm_threads(n_calls: int, macs_per_call: int):
    """The BLAS limit for ``n_calls`` GEMMs of ``macs_per_call`` multiply-adds each.

    One BLAS thread for several calls (one per group: a batched product) or for
    a call below :data:`SMALL_GEMM`; otherwise BLAS keeps its threads (a single
    large GEMM scales).

    Examples
    --------
    >>> import contextlib
    >>> isinstance(gemm_threads(1, 10**9), contextlib.nullcontext)
    True
    """
    if n_calls > 1 or macs_per_call < SMALL_GEMM:
        return blas_threads(1)
    return contextlib.nullcontext()


def fft_workers(n_elements: int) -> int:
    """``scipy.fft`` workers for a transform batch of ``n_elements``: :func:`workers`, or 1 below
    :data:`SMALL_FFT`.

    Examples
    --------
    >>> fft_workers(1000)
    1
    """
    return 1 if n_elements < SMALL_FFT else workers()


def parallel_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for ``a`` (..., m, k) and ``b`` (..., k, n), in column blocks on :func:`workers`.

    A GEMM of at least :data:`BLOCK_GEMM` multiply-adds per block is split by
    columns (``b[..., c0:c1]`` into ``out[..., c0:c1]``) into blocks fixed by
    its shape and the machine's cores, not by the thread limit, run over
    worker threads, one BLAS thread each (:func:`parallel_blocks`): the result
    is the same to the last bit at every thread count.  A smaller one runs
    here on one BLAS thread.  A worker that finishes waits on a lock instead of
    spinning as BLAS's own threads do, which on a machine whose other core is
    busy made a single large GEMM 3x slower at 2 BLAS threads.  Each column
    block is a BLAS product over the same rows and the same inner dimension.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    >>> bool(np.allclose(parallel_matmul(a, b), a @ b))
    True
    """
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    if out is None:
        out = np.empty(shape, dtype=np.result_type(a, b))
    n = shape[-1]
    macs = int(np.prod(shape[:-1], dtype=np.int64)) * a.shape[-1] * n
    per_column = max(macs // max(n, 1), 1)

    def columns(c0, c1):
        np.matmul(a, b[..., c0:c1], out=out[..., c0:c1])

    min_items = max(1, -(-BLOCK_GEMM // per_column))
    n_blocks = n // min_items
    if n_blocks >= _cores():  # a multiple of the cores: as many blocks for each worker
        n_blocks -= n_blocks % _cores()
    if n_blocks < 2:
        parallel_blocks(n, columns, min_items=min_items)  # one block: one product
        return out
    # The column blocks depend on the product (and the cores), never on the thread limit:
    # a BLAS may take another micro-kernel for another width (OpenBLAS does, down to the
    # last bits), so the same blocks at every thread count give the same result.
    bounds = np.linspace(0, n, n_blocks + 1).round().astype(int).tolist()

    def blocks(i0, i1):
        for i in range(i0, i1):
            columns(bounds[i], bounds[i + 1])

    parallel_blocks(n_blocks, blocks)
    return out


def map_blocks(fn, blocks, n_workers: int | None = None) -> list:
    """``[fn(start, stop) for (start, stop) in blocks]``, the blocks run side by side.

    The calling thread and ``n_workers - 1`` helper threads (default
    :func:`workers`) claim blocks in turn until none is left, and the call
    returns when every block is done.  Blocks are claimed, not assigned: on a
    machine whose cores are busy a helper may start late, and by then this
    thread has taken its blocks, so a late helper costs nothing where a block
    assigned to it would have made the call wait for a core.  Helpers are
    started per call (about 0.1 ms each) rather than kept in a pool, so no
    thread outlives the call (a process that forks later holds no idle
    threads).  The exception of the first failing block (in the blocks'
    order, whichever failed first) is raised here: with helpers once every
    block has run, serially at once.

    Examples
    --------
    >>> map_blocks(lambda a, b: list(range(a, b)), [(0, 2), (2, 5)], n_workers=2)
    [[0, 1], [2, 3, 4]]
    """
    blocks = list(blocks)
    n_workers = workers() if n_workers is None else n_workers
    n_helpers = min(n_workers, len(blocks)) - 1
    if n_helpers <= 0:
        return [fn(*block) for block in blocks]
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
                errors.append((i, err))
            with lock:
                state["left"] -= 1
                if state["left"] == 0:
                    done.set()

    for _ in range(n_helpers):
        threading.Thread(target=work, name="convtheory-block", daemon=True).start()
    work()
    done.wait()
    if errors:  # the first block's, as the serial loop raises, whichever failed first
        raise min(errors, key=lambda item: item[0])[1]
    return results


def parallel_blocks(n_items: int, fn, *, min_items: int = 1) -> None:
    """Run ``fn(start, stop)`` over contiguous blocks of ``range(n_items)``, on :func:`workers` threads.

    Blocks are as equal as possible, one per worker, run by :func:`map_blocks`;
    with one worker (or fewer than ``2 * min_items`` items) ``fn(0, n_items)``
    runs in this thread.  BLAS is limited to one thread while ``fn`` runs, in
    either case: blocks are meant to be many small calls, and the workers must
    not oversubscribe the cores.  An exception in a block is raised here.

    Examples
    --------
    >>> out = np.zeros(10)
    >>> def fill(start, stop):
    ...     out[start:stop] = np.arange(start, stop)
    >>> parallel_blocks(10, fill)
    >>> out.tolist() == list(range(10))
    True
    """
    n_workers = min(workers(), n_items // max(min_items, 1))
    if n_workers <= 1:
        with blas_threads(1):
            fn(0, n_items)
        return
    bounds = np.linspace(0, n_items, n_workers + 1).round().astype(int).tolist()
    # workers() is read above: inside blas_threads(1) it would say 1.
    with blas_threads(1):
        map_blocks(fn, list(zip(bounds[:-1], bounds[1:])), n_workers)
