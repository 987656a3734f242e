"""Finite-difference gradient check of a module's backward pass, shipped in the package.

A wrong backward is the classic silent bug of hand-written layers: the model
still trains, just worse.  :func:`gradcheck` compares ``backward`` with
central differences of the scalar ``sum(module(x) * r)`` (``r`` random, so
every output contributes) for the input and every parameter.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_count, as_real, as_tolerance
from ..verdict import Verdict
from .module import Module

__all__ = ["gradcheck"]

#: Most entries per array :func:`gradcheck` perturbs (two forward passes each).
MAX_GRADCHECK_ENTRIES = 10**6


def gradcheck(module, x, *, eps: float = 1e-6, atol: float = 1e-6, rtol: float = 1e-5,
              max_entries: int = 4000, seed: int = 0) -> Verdict:
    """Check ``module.backward`` against central finite differences, in float64.

    Parameters
    ----------
    module : Module
        Its parameters and ``x`` must be float64: in float32 the difference
        quotient's rounding error (~1e-7 / eps) swamps any real bug.
    x : ndarray of float64
    eps : float
        Step of the central difference; its truncation error is O(eps**2).
    atol, rtol : float
        An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|``;
        an entry where either is NaN or infinite fails.
    max_entries : int
        At most this many entries of the input and of each parameter are
        perturbed (chosen at random beyond that: ``method="sampled"``).
    seed : int
        Seed of the projection ``r`` and of the sampled entries.

    Returns
    -------
    Verdict
        Evidence holds the largest error for the input and for each
        parameter (NaN when a gradient or the forward pass was not finite);
        the counterexample is the entry that fails by the widest margin.
        ``module``'s parameter gradients are left zeroed.

    Examples
    --------
    >>> from convtheory.nn import Conv2d
    >>> x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    >>> bool(gradcheck(Conv2d(2, 3, 3, padding=1, padding_mode="reflect", seed=0), x))
    True

    A wrong backward fails:

    >>> class Wrong(Conv2d):
    ...     def backward(self, g):
    ...         return 2 * super().backward(g)
    >>> bool(gradcheck(Wrong(2, 3, 3, seed=0), x))
    False
    """
    if not isinstance(module, Module):
        raise TypeError(f"module must be a convtheory.nn Module, got {type(module).__name__}")
    x = np.asarray(x)
    params = module.parameters()
    dtypes = {x.dtype} | {p.data.dtype for p in params}
    if dtypes != {np.dtype(np.float64)}:
        raise TypeError(f"gradcheck needs float64 input and parameters, got dtypes "
                        f"{sorted(str(d) for d in dtypes)}; build the layer with dtype=np.float64")
    max_entries = as_count(max_entries, "max_entries", maximum=MAX_GRADCHECK_ENTRIES)
    eps = as_real(eps, "eps", minimum=0, exclusive_minimum=True)
    atol = as_tolerance(atol, "atol")
    rtol = as_tolerance(rtol, "rtol")
    for name, arr in [("x", x)] + [(f"parameter {i}", p.data) for i, p in enumerate(params)]:
        if not np.isfinite(arr).all():
            raise ValueError(f"gradcheck needs finite values, but {name} (shape {arr.shape}) "
                             f"holds NaN or infinity")
    rng = np.random.default_rng(seed)
    x = np.array(x)
    r = rng.standard_normal(module(x).shape)

    def objective() -> float:
        return float(np.vdot(module(x), r))

    module.zero_grad()
    module(x)
    analytic = {"input": np.array(module.backward(r))}
    for i, p in enumerate(params):
        analytic[f"param{i}{list(p.shape)}"] = np.array(p.grad)
    module.zero_grad()
    shapes = {"input": x.shape} | {f"param{i}{list(p.shape)}": p.data.shape
                                   for i, p in enumerate(params)}
    for name, grad in analytic.items():
        # A gradient of another shape or kind cannot be compared entry for entry: refuse it.
        if grad.dtype.kind not in "biuf" or grad.shape != shapes[name]:
            raise TypeError(f"the gradient of {name} must be a real array of shape {shapes[name]}, "
                            f"got dtype {grad.dtype} and shape {grad.shape} from {module!r}")

    arrays = {"input": x} | {f"param{i}{list(p.shape)}": p.data for i, p in enumerate(params)}
    errors, worst_case, sampled = {}, None, False
    worst = 0.0  # the widest margin by which an entry fails; 0: none fails
    for name, arr in arrays.items():
        flat = arr.reshape(-1)  # a view: perturbing it perturbs what the module reads
        entries = np.arange(flat.size)
        if flat.size > max_entries:
            entries, sampled = rng.choice(flat.size, max_entries, replace=False), True
        for j in entries:
            saved = flat[j]
            flat[j] = saved + eps
            up = objective()
            flat[j] = saved - eps
            down = objective()
            flat[j] = saved
            got = analytic[name].reshape(-1)[j]
            with np.errstate(over="ignore", invalid="ignore"):  # inf - inf: judged below
                numeric = (up - down) / (2 * eps)
                error = float(abs(got - numeric))
            # NaN must fail, and every comparison with NaN is False: test
            # finiteness first rather than trusting `excess > 0`.
            finite = bool(np.isfinite(got) and np.isfinite(numeric))
            excess = error - (atol + rtol * abs(numeric)) if finite else np.inf
            if excess > worst:
                worst = excess
                worst_case = {"array": name, "index": int(j), "analytic": float(got),
                              "numeric": float(numeric), "error": error}
            previous = errors.get(name, 0.0)
            errors[name] = max(previous, error) if finite and not np.isnan(previous) else np.nan
    holds = worst_case is None
    return Verdict(
        name="gradcheck",
        statement=f"{module!r}.backward equals central finite differences",
        holds=holds,
        method="sampled" if sampled else "numeric",
        scope=(f"input {x.shape}, {len(params)} parameters, eps={eps:g}, atol={atol:g}, "
               f"rtol={rtol:g}" + (f", {max_entries} sampled entries per array" if sampled else "")),
        evidence={"max_abs_error": errors},
        counterexample=worst_case,
    )
