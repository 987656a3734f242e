"""Adaptive and global pooling as functions, each next to its gradient.

``adaptive_{avg,max}_pool{1,2,3}d`` have ``torch.nn.functional``'s semantics:
window ``i`` of an axis of length ``n`` is ``[floor(i*n/o), ceil((i+1)*n/o))``
(:func:`~convtheory.pool_spec.adaptive_axis_taps`), read by
:class:`~convtheory.pool_windows.PoolWindows`; the maximum follows PyTorch's
tie rule.  :func:`global_avg_pool` is the mean over every spatial axis.
Re-exported by :mod:`convtheory.nn.functional_pooling` and
:mod:`convtheory.nn.functional`.
"""

from __future__ import annotations

import numpy as np

from ..pool_spec import adaptive_axis_taps, adaptive_output_size
from ..pool_windows import PoolWindows
from ._backend import _cached, _float_array, _frozen
from .functional_pooling import _POOLS, _WindowPlan, _batch, _check_kind, _outer, _run, _run_backward

__all__ = [
    "AdaptivePoolPlan",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool3d",
    "adaptive_avg_pool3d_backward",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_backward",
    "global_avg_pool",
    "global_avg_pool_backward",
]


class AdaptivePoolPlan(_WindowPlan):
    """Adaptive max or average pooling: ``output_size`` windows per axis.

    Window ``i`` of an axis is ``[floor(i*n/o), ceil((i+1)*n/o))``, read
    from :func:`~convtheory.pool_spec.adaptive_axis_taps`; the average divides
    by the window's volume.

    Examples
    --------
    >>> plan = AdaptivePoolPlan("avg", 3, (5,))
    >>> plan.forward(np.array([[[0.0, 2.0, 4.0, 6.0, 8.0]]]))
    array([[[1., 4., 7.]]])
    """

    def __init__(self, kind: str, output_size, input_spatial):
        _check_kind(kind)
        self.kind = kind
        self.output_size = adaptive_output_size(input_spatial, output_size)
        tables = [adaptive_axis_taps(n, o) for n, o in zip(input_spatial, self.output_size)]
        self.windows = PoolWindows(tables, input_spatial)
        if kind == "avg":
            self.divisor = _outer([np.count_nonzero(t >= 0, axis=1) for t in tables])
        self._saved = None


def _adaptive_plan(kind, ndim, input, output_size):
    x, unbatched = _batch(ndim, input, "adaptive pool")
    key = ("adaptive", kind, x.shape[2:], _frozen(output_size))
    plan = _cached(_POOLS, key, lambda: AdaptivePoolPlan(kind, output_size, x.shape[2:]), size=8)
    return x, plan, unbatched


_ADAPTIVE_DOC = """{d}-D adaptive {kind} pooling, as ``torch.nn.functional.adaptive_{kind}_pool{d}d``.

    Parameters
    ----------
    x : (N, C, {n}) or (C, {n}) ndarray of float32 or float64
    output_size : int or tuple of int or None
        ``None`` on an axis keeps its size.  Window ``i`` of an axis of
        length ``n`` is ``[floor(i*n/o), ceil((i+1)*n/o))``.

    Examples
    --------
    {example}
    """

_ADAPTIVE_BACKWARD_DOC = """Gradient of :func:`adaptive_{kind}_pool{d}d`.

    Examples
    --------
    {example}
    """


def adaptive_avg_pool1d(x, output_size):
    return _run(*_adaptive_plan("avg", 1, x, output_size))


def adaptive_avg_pool2d(x, output_size):
    return _run(*_adaptive_plan("avg", 2, x, output_size))


def adaptive_avg_pool3d(x, output_size):
    return _run(*_adaptive_plan("avg", 3, x, output_size))


def adaptive_max_pool1d(x, output_size):
    return _run(*_adaptive_plan("max", 1, x, output_size))


def adaptive_max_pool2d(x, output_size):
    return _run(*_adaptive_plan("max", 2, x, output_size))


def adaptive_max_pool3d(x, output_size):
    return _run(*_adaptive_plan("max", 3, x, output_size))


def adaptive_avg_pool1d_backward(grad_output, x, output_size):
    return _run_backward(grad_output, *_adaptive_plan("avg", 1, x, output_size))


def adaptive_avg_pool2d_backward(grad_output, x, output_size):
    return _run_backward(grad_output, *_adaptive_plan("avg", 2, x, output_size))


def adaptive_avg_pool3d_backward(grad_output, x, output_size):
    return _run_backward(grad_output, *_adaptive_plan("avg", 3, x, output_size))


def adaptive_max_pool1d_backward(grad_output, x, output_size):
    return _run_backward(grad_output, *_adaptive_plan("max", 1, x, output_size))


def adaptive_max_pool2d_backward(grad_output, x, output_size):
    return _run_backward(grad_output, *_adaptive_plan("max", 2, x, output_size))


def adaptive_max_pool3d_backward(grad_output, x, output_size):
    return _run_backward(grad_output, *_adaptive_plan("max", 3, x, output_size))


_x5 = "np.array([[0.0, 2.0, 4.0, 6.0, 8.0]])"
for _f, _kind, _d, _n, _ex in [
    (adaptive_avg_pool1d, "avg", 1, "L", f">>> adaptive_avg_pool1d({_x5}, 3)   # windows [0,2) [1,4) [3,5)\n"
                                         "    array([[1., 4., 7.]])"),
    (adaptive_avg_pool2d, "avg", 2, "H, W", ">>> adaptive_avg_pool2d(np.ones((3, 7, 9)), (2, None)).shape\n"
                                           "    (3, 2, 9)"),
    (adaptive_avg_pool3d, "avg", 3, "D, H, W", ">>> adaptive_avg_pool3d(np.ones((1, 4, 5, 6)), 1).ravel()\n"
                                              "    array([1.])"),
    (adaptive_max_pool1d, "max", 1, "L", f">>> adaptive_max_pool1d({_x5}, 2)\n    array([[4., 8.]])"),
    (adaptive_max_pool2d, "max", 2, "H, W", ">>> adaptive_max_pool2d(np.arange(16.0).reshape(1, 4, 4), 1)\n"
                                           "    array([[[15.]]])"),
    (adaptive_max_pool3d, "max", 3, "D, H, W", ">>> adaptive_max_pool3d(np.ones((2, 3, 3, 3)), 2).shape\n"
                                              "    (2, 2, 2, 2)"),
]:
    _f.__doc__ = _ADAPTIVE_DOC.format(d=_d, kind=_kind, n=_n, example=_ex)
for _f, _kind, _d, _ex in [
    (adaptive_avg_pool1d_backward, "avg", 1,
     ">>> adaptive_avg_pool1d_backward(np.array([[1.0, 1.0]]), np.zeros((1, 3)), 2)\n"
     "    array([[0.5, 1. , 0.5]])"),
    (adaptive_avg_pool2d_backward, "avg", 2,
     ">>> adaptive_avg_pool2d_backward(np.ones((1, 1, 1)), np.zeros((1, 2, 2)), 1)\n"
     "    array([[[0.25, 0.25],\n            [0.25, 0.25]]])"),
    (adaptive_avg_pool3d_backward, "avg", 3,
     ">>> adaptive_avg_pool3d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 2, 2, 2)), 1).sum()\n"
     "    np.float64(1.0)"),
    (adaptive_max_pool1d_backward, "max", 1,
     f">>> adaptive_max_pool1d_backward(np.array([[1.0, 1.0]]), {_x5}, 2)\n"
     "    array([[0., 0., 1., 0., 1.]])"),
    (adaptive_max_pool2d_backward, "max", 2,
     ">>> adaptive_max_pool2d_backward(np.ones((1, 1, 1)), np.arange(4.0).reshape(1, 2, 2), 1)\n"
     "    array([[[0., 0.],\n            [0., 1.]]])"),
    (adaptive_max_pool3d_backward, "max", 3,
     ">>> adaptive_max_pool3d_backward(np.ones((1, 1, 1, 1)), np.arange(8.0).reshape(1, 2, 2, 2), 1).ravel()\n"
     "    array([0., 0., 0., 0., 0., 0., 0., 1.])"),
]:
    _f.__doc__ = _ADAPTIVE_BACKWARD_DOC.format(d=_d, kind=_kind, example=_ex)


def _global_input(x):
    x = _float_array(x, "input")
    if x.ndim < 3:
        raise ValueError(f"input must have shape (N, C, n1, ...) with at least one spatial axis, "
                         f"got input.shape={x.shape}")
    if 0 in x.shape[2:]:  # the mean over no positions is 0/0
        raise ValueError(f"input must have at least one position on every spatial axis, "
                         f"got input.shape={x.shape}")
    return x


def global_avg_pool(x, keepdim=False):
    """The mean over every spatial axis: ``(N, C, n1, ..., nd)`` to ``(N, C)``.

    Equal to ``adaptive_avg_poolNd(x, 1)`` (with ``keepdim=True``, which
    keeps the unit spatial axes), as in a ResNet's last layer.

    Examples
    --------
    >>> global_avg_pool(np.arange(8.0).reshape(1, 2, 4))
    array([[1.5, 5.5]])
    >>> global_avg_pool(np.ones((2, 3, 4, 4)), keepdim=True).shape
    (2, 3, 1, 1)
    """
    x = _global_input(x)
    return x.mean(axis=tuple(range(2, x.ndim)), keepdims=bool(keepdim))


def global_avg_pool_backward(grad_output, x, keepdim=False):
    """Gradient of :func:`global_avg_pool`: each input gets its plane's gradient over its size.

    Examples
    --------
    >>> global_avg_pool_backward(np.array([[4.0]]), np.zeros((1, 1, 2, 2)))
    array([[[[1., 1.],
             [1., 1.]]]])
    """
    x = _global_input(x)
    g = _float_array(grad_output, "grad_output")
    expected = x.shape[:2] + ((1,) * (x.ndim - 2) if keepdim else ())
    if g.shape != expected:
        raise ValueError(f"grad_output must have shape {expected}, got grad_output.shape={g.shape}")
    g = g.reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    size = int(np.prod(x.shape[2:]))
    return np.broadcast_to(g / size, x.shape).astype(x.dtype, copy=True)
