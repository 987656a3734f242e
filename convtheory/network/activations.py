"""Lipschitz constants of pointwise activations, shared by every capture.

A pointwise activation ``y_i = f(x_i)`` is Lipschitz with constant
``sup |f'|`` in every norm that treats coordinates alike; the network's
Lipschitz bound multiplies these constants with the exact layer norms.
Softmax acts across channels at each position; its Jacobian
``diag(p) - p p^T`` has spectral norm at most 1/2, so 1 is a valid (and the
customary) constant (Gao & Pavel, "On the properties of the softmax
function", 2017, Proposition 4).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

__all__ = ["ACTIVATIONS", "activation_lipschitz"]


def _silu_lipschitz() -> float:
    """``max_x d/dx [x sigmoid(x)]``, at the root of the second derivative near 2.4.

    ``f'(x) = s (1 + x (1 - s))`` with ``s = sigmoid(x)``; ``f''(x) =
    s (1 - s) (2 + x (1 - 2 s))`` vanishes where ``2 + x (1 - 2 s) = 0``,
    at ``x = 2.3994``, giving ``1.0998`` (Elfwing, Uchibe & Doya 2018 plot
    the derivative; the value is this closed form's root).
    """
    def sigmoid(x):
        return 1.0 / (1.0 + math.exp(-x))

    x = brentq(lambda t: 2 + t * (1 - 2 * sigmoid(t)), 1.0, 4.0, xtol=1e-15)
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


def _gelu_lipschitz() -> float:
    """``max_x d/dx [x Phi(x)] = Phi(sqrt 2) + sqrt 2 phi(sqrt 2) = 1.1289``.

    ``f'(x) = Phi(x) + x phi(x)`` and ``f''(x) = phi(x) (2 - x^2)``, so the
    maximum is at ``x = sqrt(2)`` (Hendrycks & Gimpel's exact GELU).
    """
    x = math.sqrt(2.0)
    phi = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    return 0.5 * (1 + math.erf(x / math.sqrt(2))) + x * phi


#: Activation name -> Lipschitz constant, for those without parameters.
#: ``hardswish``: ``f'(x) = (2x + 3)/6`` on ``[-3, 3]``, largest (3/2) at 3.
ACTIVATIONS = {
    "relu": 1.0, "relu6": 1.0, "sigmoid": 0.25, "tanh": 1.0, "softmax": 1.0,
    "gelu": _gelu_lipschitz(), "silu": _silu_lipschitz(), "hardswish": 1.5,
    "hardsigmoid": 1.0 / 6.0, "hardtanh": 1.0, "softplus": 1.0,
}

#: Activations with a parameter: the constant is ``max(1, |a|)`` (leaky
#: ReLU, PReLU: slope ``a`` on the negative side, over every channel) or
#: ``max(1, alpha)`` (ELU: ``alpha e^x`` on the negative side).
PARAMETRIC = ("leaky_relu", "prelu", "elu")


def activation_lipschitz(op: str, parameter=None) -> float:
    """The Lipschitz constant of a pointwise activation.

    Parameters
    ----------
    op : str
        A key of :data:`ACTIVATIONS`, or ``"leaky_relu"``, ``"prelu"``,
        ``"elu"``.
    parameter : float or array_like, optional
        The negative slope (leaky ReLU), every channel's slope (PReLU), or
        ``alpha`` (ELU).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unknown ``op``, or a missing or non-finite parameter.

    Examples
    --------
    >>> activation_lipschitz("sigmoid"), activation_lipschitz("prelu", [0.25, -2.0])
    (0.25, 2.0)
    >>> round(activation_lipschitz("gelu"), 4), round(activation_lipschitz("silu"), 4)
    (1.1289, 1.0998)
    """
    if op in ACTIVATIONS:
        return ACTIVATIONS[op]
    if op not in PARAMETRIC:
        raise ValueError(f"op must be one of {sorted(ACTIVATIONS) + list(PARAMETRIC)}, "
                         f"got op={op!r}")
    import numpy as np

    values = np.abs(np.asarray(parameter, dtype=np.float64)).ravel() if parameter is not None \
        else np.array([np.nan])
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"activation {op!r} needs a finite parameter, got {parameter!r}")
    return float(max(1.0, values.max()))
