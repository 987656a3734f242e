"""Optimisers with ``torch.optim``'s update rules, step for step.

Each optimiser holds a list of :class:`~convtheory.nn.module.Parameter` and
updates ``p.data`` in place from ``p.grad`` in ``step()``.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_bool, as_real
from .module import Parameter

__all__ = ["SGD", "Adam"]


class _Optimizer:
    def __init__(self, params, lr):
        params = list(params)
        if not params or not all(isinstance(p, Parameter) for p in params):
            raise TypeError(f"{type(self).__name__}: params must be a non-empty sequence of "
                            f"Parameter (e.g. model.parameters()), got {params!r}")
        self.params = params
        self.lr = as_real(lr, "lr", minimum=0, exclusive_minimum=True)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad.fill(0)


class SGD(_Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    With ``d = grad + weight_decay * p``: ``buf = d`` on the first step, then
    ``buf = momentum * buf + (1 - dampening) * d``; the step is ``d + momentum
    * buf`` (Nesterov) or ``buf``, and ``p -= lr * step``.

    Examples
    --------
    >>> p = Parameter(np.array([1.0]))
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad[:] = 1.0
    ...     opt.step()
    >>> p.data    # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
    array([0.71])
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, lr)
        momentum = as_real(momentum, "momentum", minimum=0)
        dampening = as_real(dampening, "dampening", minimum=0, maximum=1)
        weight_decay = as_real(weight_decay, "weight_decay", minimum=0)
        nesterov = as_bool(nesterov, "nesterov")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening=0")
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self._buf = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            d = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                if self._buf[i] is None:
                    self._buf[i] = np.array(d)
                else:
                    self._buf[i] *= self.momentum
                    self._buf[i] += (1 - self.dampening) * d
                d = d + self.momentum * self._buf[i] if self.nesterov else self._buf[i]
            p.data -= self.lr * d


class Adam(_Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 ``weight_decay`` added to the gradient).

    Examples
    --------
    >>> p = Parameter(np.array([1.0]))
    >>> opt = Adam([p], lr=0.1)
    >>> p.grad[:] = 3.0
    >>> opt.step()
    >>> p.data    # the first step has size lr whatever the gradient's scale
    array([0.9])
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got betas={betas!r}")
        b1, b2 = (as_real(b, f"betas[{i}]", minimum=0, maximum=1) for i, b in enumerate(betas))
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got betas={betas!r}")
        eps = as_real(eps, "eps", minimum=0)
        weight_decay = as_real(weight_decay, "weight_decay", minimum=0)
        self.betas, self.eps, self.weight_decay = (b1, b2), eps, weight_decay
        self._m = [np.zeros_like(p.data) for p in self.params]
        self._v = [np.zeros_like(p.data) for p in self.params]
        self._t = 0

    def step(self) -> None:
        self._t += 1
        b1, b2 = self.betas
        bc1 = 1 - b1 ** self._t
        bc2_sqrt = np.sqrt(1 - b2 ** self._t)
        for p, m, v in zip(self.params, self._m, self._v):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            denom = np.sqrt(v) / bc2_sqrt + self.eps
            p.data -= (self.lr / bc1) * m / denom
