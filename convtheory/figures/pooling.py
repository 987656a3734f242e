"""Figures of pooling: how much each pool aliases under one-sample shifts.

Built without pyplot (no backend is selected, no window opens); matplotlib is
imported inside the function so that ``import convtheory`` stays light.
"""

from __future__ import annotations

import numpy as np

from ..checks.aliasing import SHIFT_POOLS, check_shift_consistency, shift_consistency

__all__ = ["shift_consistency_figure"]

_LABELS = {"max": "max pool", "avg": "average pool", "blur": "blur pool",
           "max_blur": "max, then blur pool"}


def shift_consistency_figure(x=None, *, stride: int = 2, filter_size: int = 3, atol: float = 0.1):
    """Left: shift consistency of each pool; right: a 1-D signal pooled before and after a shift.

    Parameters
    ----------
    x : inputs for :func:`~convtheory.checks.aliasing.check_shift_consistency`, optional
    stride, filter_size, atol
        As there.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = shift_consistency_figure()
    >>> len(fig.axes)
    2
    """
    from matplotlib.figure import Figure

    from ..checks.aliasing import _pools

    v = check_shift_consistency(x, stride=stride, filter_size=filter_size, atol=atol)
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    cons = [v.evidence["consistency"][k] for k in SHIFT_POOLS]
    err = [v.evidence["mean_error"][k] for k in SHIFT_POOLS]
    pos = np.arange(len(SHIFT_POOLS))
    ax.bar(pos - 0.2, cons, 0.4, label=f"consistency (error <= {atol})", color="tab:blue")
    ax.bar(pos + 0.2, err, 0.4, label="mean relative error", color="tab:orange")
    ax.set_xticks(pos, [_LABELS[k] for k in SHIFT_POOLS], rotation=15)
    ax.set_ylim(0, 1)
    ax.set_title("one-sample shifts, same inputs")
    ax.legend(fontsize=8, loc="upper left")

    # The classic aliasing signal, period 4: max pooling flips between two outputs.
    signal = (np.arange(32) % 4 >= 2).astype(float).reshape(1, 1, 32)
    pools = _pools(stride, filter_size)
    for name, color in (("max", "tab:red"), ("blur", "tab:green")):
        y = pools[name](signal)[0, 0]
        y1 = pools[name](np.roll(signal, 1, axis=-1))[0, 0]
        r = shift_consistency(pools[name], signal, stride=stride, atol=atol)
        ax2.plot(y, "-o", color=color, ms=3, label=f"{_LABELS[name]}(x)")
        ax2.plot(y1, "--s", color=color, ms=3,
                 label=f"{_LABELS[name]}(shift x), error {r['errors'].max():.2f}")
    ax2.set_title("x of period 4, shifted by one sample")
    ax2.set_xlabel("output position")
    ax2.legend(fontsize=7, loc="lower right")
    return fig
