"""What every nn.functional module shares: the backends, the plan caches, the input check.

Kept apart from :mod:`convtheory.nn.functional` so that the modules it
re-exports (transposed convolution, pooling) can use them without an import
cycle.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

__all__ = ["BACKENDS"]

#: The ways an nn conv can be computed: gathered (im2col + BLAS) or the explicit CSR matrix.
BACKENDS = ("im2col", "matrix")
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _cached(cache: OrderedDict, key, make, size: int = 32):
    value = cache.get(key)
    if value is None:
        value = make()
        cache[key] = value
        if len(cache) > size:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value


def _frozen(value):
    """Lists to tuples, so that conv options can key a cache.

    Scalars carry their type: ``True == 1`` and ``2.0 == 2`` hash alike, and
    a plan cached for ``stride=1`` must not let ``stride=True`` through
    unvalidated.
    """
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return (type(value), value)


def _float_array(value, name: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype not in _FLOATS:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def _conv_call(ndim, input, weight, bias, options, backend, *, what, weight_layout, c_out,
               c_out_note, plans, make_plan):
    """Validate a functional (transposed) conv call; return ``(x, w, b, plan, unbatched)``.

    What differs between the conv and the transposed conv is passed in:
    ``what`` (the name in the messages), ``weight_layout`` (its leading axes,
    as the messages write them), ``c_out(w)`` (the bias length the weight
    implies, or None when it cannot tell), ``c_out_note`` (how the message
    explains it) and ``make_plan(weight_shape, input_shape)``, whose plans
    are cached in ``plans`` by shapes, backend and options.
    """
    x = _float_array(input, "input")
    w = _float_array(weight, "weight")
    if w.ndim != ndim + 2:
        raise ValueError(
            f"weight must have shape ({weight_layout}{', k' * ndim}) for a {ndim}-D {what}, "
            f"got weight.shape={w.shape}"
        )
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(
            f"input must have shape (N, C_in{', n' * ndim}) or (C_in{', n' * ndim}) for a "
            f"{ndim}-D {what}, got input.shape={x.shape}"
        )
    if x.dtype != w.dtype:
        raise TypeError(f"input and weight must have the same dtype, got {x.dtype} and {w.dtype}")
    b = None
    if bias is not None:
        b = _float_array(bias, "bias")
        channels = c_out(w)
        if b.shape != (channels,) or b.dtype != w.dtype:
            raise ValueError(
                f"bias must have shape ({channels},){c_out_note} and dtype {w.dtype}, "
                f"got bias.shape={b.shape}, dtype {b.dtype}"
            )
    unbatched = x.ndim == ndim + 1
    if unbatched:
        x = x[None]
    key = (w.shape, x.shape[1:], backend) + tuple(_frozen(options[k]) for k in sorted(options))
    # A few plans only: each keeps its gathered-input buffer alive.
    plan = _cached(plans, key, lambda: make_plan(w.shape, x.shape[1:]), size=4)
    return np.ascontiguousarray(x), np.ascontiguousarray(w), b, plan, unbatched


def _conv_call_backward(call, grad_output, bias, replay):
    """The gradients of a validated call ``(x, w, b, plan, unbatched)`` given ``grad_output``.

    ``replay(plan, x, w, b)`` gives the plan what its ``backward`` reads from
    the forward pass (the cached plan may have run on another input since).
    """
    x, w, b, plan, unbatched = call
    g = _float_array(grad_output, "grad_output")
    g = g[None] if unbatched else g
    expected = (x.shape[0],) + plan.spec.output_shape
    if g.shape != expected:
        raise ValueError(f"grad_output must have shape {expected}, got grad_output.shape={g.shape}")
    replay(plan, x, w, b)
    gx, gw, gb = plan.backward(np.ascontiguousarray(g, dtype=x.dtype), w)
    return (gx[0] if unbatched else gx), gw, (gb if bias is not None else None)
