"""How hard a filter is to learn from given images, and two well-kept solvers beside Adam.

Learning a filter ``k`` from pairs ``(x, conv2d(x, k))`` is linear least
squares ``min_w ||P w - y||^2`` in the im2col (patch) matrix ``P`` of the
inputs.  Gradient methods converge at a rate set by the condition number
of ``P^T P / n``, the patches' second-moment matrix
(:func:`patch_conditioning`).  :func:`lsqr_filter` solves the same least
squares with ``scipy.sparse.linalg.lsqr`` through ``P``, and
:func:`lbfgs_fit` minimises a model's own MSE loss with scipy's L-BFGS-B,
so that each can be set beside Adam in steps and seconds.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ...spec import ConvSpec
from ...im2col import im2col
from ..losses import MSELoss

__all__ = ["MAX_ITERATIONS", "SolverRun", "lbfgs_fit", "lsqr_filter", "patch_conditioning",
           "patch_matrix"]

#: L-BFGS and LSQR refuse more iterations than this.
MAX_ITERATIONS = 100_000


@dataclass(frozen=True)
class SolverRun:
    """One solver's run to a learned kernel.

    Attributes
    ----------
    solver : str
        ``"adam"``, ``"lbfgs"`` or ``"lsqr"``.
    steps : int
        Optimiser steps, L-BFGS iterations, or LSQR iterations.
    seconds : float
        Wall time of the solve (the data and its im2col matrix excluded).
    max_error : float
        ``max |learned - true|`` over the kernel's entries.
    loss_curve : ndarray or None
        The loss at the start and after each iteration, where recorded.
    """

    solver: str
    steps: int
    seconds: float
    max_error: float
    loss_curve: np.ndarray = None


def patch_matrix(x, kernel_shape) -> np.ndarray:
    """The im2col matrix ``P`` of a batch: one row per valid ``C x k x k`` patch.

    ``P @ w.ravel()`` is ``conv2d(x, w[None])`` (valid padding) flattened
    over (image, output position).

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    kernel_shape : (C, kh, kw) or (kh, kw)

    Returns
    -------
    (N * L, C * kh * kw) ndarray

    Examples
    --------
    >>> from convtheory.nn import functional as F
    >>> rng = np.random.default_rng(0)
    >>> x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((3, 3))
    >>> P = patch_matrix(x, w.shape)
    >>> P.shape, bool(np.allclose(P @ w.ravel(), F.conv2d(x, w[None, None]).ravel()))
    ((32, 9), True)
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got x.shape={x.shape}")
    kernel_shape = tuple(kernel_shape)
    if len(kernel_shape) == 2:
        kernel_shape = (x.shape[1],) + kernel_shape
    if len(kernel_shape) != 3 or kernel_shape[0] != x.shape[1]:
        raise ValueError(f"kernel_shape must be (kh, kw) or ({x.shape[1]}, kh, kw) for "
                         f"x.shape={x.shape}, got kernel_shape={kernel_shape!r}")
    spec = ConvSpec((1,) + kernel_shape, x.shape[1:])
    cols = im2col(x, spec)  # (C, k*k, N, L)
    return cols.reshape(int(np.prod(kernel_shape)), -1).T


def patch_conditioning(x, kernel_shape) -> float:
    """Condition number of the patches' second-moment matrix ``P^T P / n``.

    1 for white noise in the limit of many patches; large for smooth images,
    whose neighbouring pixels are nearly equal.  Infinite when some kernel
    direction is never excited (the kernel is then not identifiable).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.standard_normal((4, 1, 64, 64))
    >>> smooth = noise.cumsum(axis=2).cumsum(axis=3)   # a random walk: very smooth
    >>> bool(patch_conditioning(noise, (3, 3)) < 1.2), bool(patch_conditioning(smooth, (3, 3)) > 1e3)
    (True, True)
    """
    P = patch_matrix(x, kernel_shape)
    eig = np.linalg.eigvalsh(P.T @ P / len(P))
    return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


def lsqr_filter(x, y, true_kernel, *, tol: float = 1e-6, iter_lim: int = 10_000) -> tuple:
    """Least squares for one filter through the im2col matrix, by ``scipy.sparse.linalg.lsqr``.

    Parameters
    ----------
    x : (N, C, H, W) ndarray
    y : (N, 1, H', W') ndarray
        ``conv2d(x, true_kernel[None])``, valid padding.
    true_kernel : (C, kh, kw) or (kh, kw) ndarray
        Only to measure the error.
    tol : float
        LSQR's ``atol`` and ``btol`` are set far below it (1e-14) so that it
        stops on convergence, not on its default 1e-6 relative residual.
    iter_lim : int

    Returns
    -------
    kernel : ndarray of ``true_kernel``'s shape
    run : SolverRun

    Examples
    --------
    >>> from convtheory.nn import functional as F
    >>> from convtheory.nn.data import sobel_x
    >>> x = np.random.default_rng(0).standard_normal((2, 1, 12, 12))
    >>> k, run = lsqr_filter(x, F.conv2d(x, sobel_x()[None, None]), sobel_x())
    >>> run.max_error < 1e-10, run.steps <= 20
    (True, True)
    """
    from scipy.sparse.linalg import lsqr

    if (isinstance(iter_lim, bool) or not isinstance(iter_lim, numbers.Integral)
            or not 1 <= iter_lim <= MAX_ITERATIONS):
        raise ValueError(f"iter_lim must be an int in [1, {MAX_ITERATIONS:,}], "
                         f"got iter_lim={iter_lim!r}")
    true_kernel = np.asarray(true_kernel, dtype=np.float64)
    P = patch_matrix(x, true_kernel.shape)
    start = time.perf_counter()
    result = lsqr(P, np.asarray(y, dtype=np.float64).ravel(), atol=1e-14, btol=1e-14,
                  iter_lim=iter_lim)
    seconds = time.perf_counter() - start
    kernel = result[0].reshape(true_kernel.shape)
    return kernel, SolverRun("lsqr", int(result[2]), seconds,
                             float(np.abs(kernel - true_kernel).max()))


def lbfgs_fit(model, x, y, error, *, tol: float = 1e-6, maxiter: int = 10_000) -> SolverRun:
    """Minimise ``MSE(model(x), y)`` over the model's parameters with scipy's L-BFGS-B.

    The loss and its gradient are the model's own forward and backward
    passes (the same loss Adam minimises in :func:`~convtheory.nn.train.fit`);
    iteration stops as soon as ``error()`` is at most ``tol``, as the
    experiments stop Adam, or when L-BFGS-B converges.

    Parameters
    ----------
    model : Module
        Trained in place.
    x, y : ndarray
    error : callable
        ``error() -> float``, the quantity the experiment judges (for
        example ``max |learned kernel - true kernel|``).
    tol : float
    maxiter : int

    Returns
    -------
    SolverRun
        ``steps`` counts L-BFGS iterations (each may evaluate the loss more
        than once).

    Examples
    --------
    >>> from convtheory.nn import Conv2d, functional as F
    >>> from convtheory.nn.data import laplacian
    >>> x = np.random.default_rng(0).standard_normal((2, 1, 12, 12))
    >>> conv = Conv2d(1, 1, 3, bias=False, seed=0)
    >>> err = lambda: float(np.abs(conv.weight.data[0, 0] - laplacian()).max())
    >>> run = lbfgs_fit(conv, x, F.conv2d(x, laplacian()[None, None]), err)
    >>> run.max_error <= 1e-6
    True
    """
    from scipy.optimize import minimize

    if (isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral)
            or not 1 <= maxiter <= MAX_ITERATIONS):
        raise ValueError(f"maxiter must be an int in [1, {MAX_ITERATIONS:,}], got maxiter={maxiter!r}")
    if not (isinstance(tol, numbers.Real) and tol >= 0):  # NaN fails too
        raise ValueError(f"tol must be a non-negative number, got tol={tol!r}")
    params = model.parameters()
    sizes = [p.data.size for p in params]
    loss_fn = MSELoss()

    def unpack(theta):
        for p, chunk in zip(params, np.split(theta, np.cumsum(sizes)[:-1])):
            p.data[...] = chunk.reshape(p.data.shape)

    def loss_and_grad(theta):
        unpack(theta)
        model.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        return loss, np.concatenate([p.grad.ravel() for p in params]).astype(np.float64)

    curve = []

    def stop(intermediate_result):
        curve.append(float(intermediate_result.fun))
        unpack(intermediate_result.x)
        if error() <= tol:
            raise StopIteration

    theta0 = np.concatenate([p.data.ravel() for p in params]).astype(np.float64)
    curve.append(loss_and_grad(theta0)[0])
    start = time.perf_counter()
    # A problem of a few dozen unknowns gains nothing from BLAS threads, and on
    # a busy machine their hand-offs cost more than L-BFGS-B's own work.
    with threadpool_limits(1):
        # ftol = gtol = 0: run until the error is reached or no step decreases the loss.
        result = minimize(loss_and_grad, theta0, jac=True, method="L-BFGS-B", callback=stop,
                          options={"maxiter": maxiter, "ftol": 0.0, "gtol": 0.0})
    seconds = time.perf_counter() - start
    unpack(result.x)
    return SolverRun("lbfgs", int(result.nit), seconds, float(error()), np.array(curve))
