"""Parameters and modules: the PyTorch-shaped API, with explicit backward passes.

A :class:`Module` maps an input to an output in ``__call__`` and, in
``backward(grad_out)``, returns the gradient with respect to that input while
*adding* (``+=``) the gradients of its parameters into ``param.grad``.
Accumulation is what makes shared weights come out right: a weight used at
many positions receives the sum of its uses.  A module remembers only its
last forward pass, so ``backward`` must follow the ``__call__`` it
differentiates (a module cannot appear twice in one model).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Module", "Parameter"]


class Parameter:
    """A trainable array and its accumulated gradient.

    Attributes
    ----------
    data : ndarray
    grad : ndarray
        Same shape and dtype as ``data``; zero until a backward pass adds to it.

    Examples
    --------
    >>> p = Parameter(np.ones(3))
    >>> p.grad += 2.0
    >>> p.grad
    array([2., 2., 2.])
    """

    def __init__(self, data):
        data = np.asarray(data)
        if data.dtype not in (np.float32, np.float64):
            raise TypeError(f"Parameter data must be float32 or float64, got dtype {data.dtype}")
        self.data = np.array(data)  # an owned copy: training updates it in place
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: subclasses implement ``forward`` and ``backward``.

    Parameters are found by walking attributes: every :class:`Parameter`,
    every sub-:class:`Module`, and lists of modules (as in
    :class:`~convtheory.nn.layers.Sequential`).

    Examples
    --------
    >>> class Scale(Module):
    ...     def __init__(self):
    ...         self.a = Parameter(np.array([2.0]))
    ...     def forward(self, x):
    ...         self.x = x
    ...         return self.a.data * x
    ...     def backward(self, grad_out):
    ...         self.a.grad += np.sum(grad_out * self.x, keepdims=True)
    ...         return self.a.data * grad_out
    >>> m = Scale()
    >>> m(np.array([1.0, 3.0]))
    array([2., 6.])
    >>> m.backward(np.ones(2)), m.a.grad
    (array([2., 2.]), array([4.]))
    """

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def __call__(self, x):
        return self.forward(x)

    def children(self) -> list:
        """Direct sub-modules, in attribute order."""
        out = []
        for value in vars(self).values():
            if isinstance(value, Module):
                out.append(value)
            elif isinstance(value, (list, tuple)):
                out.extend(v for v in value if isinstance(v, Module))
        return out

    def parameters(self) -> list:
        """Every :class:`Parameter` of this module and its sub-modules, each once."""
        seen, out = set(), []
        for value in vars(self).values():
            if isinstance(value, Parameter) and id(value) not in seen:
                seen.add(id(value))
                out.append(value)
        for child in self.children():
            for p in child.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
        return out

    def zero_grad(self) -> None:
        """Set every parameter gradient to zero (before the next backward pass)."""
        for p in self.parameters():
            p.grad.fill(0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
