"""Parameter and Module: ownership, discovery of parameters, zeroing, accumulation."""

import numpy as np
import pytest

from convtheory.nn import Linear, Module, Parameter, ReLU, Sequential


def test_parameter_owns_its_data_and_starts_with_zero_grad():
    source = np.ones(3)
    p = Parameter(source)
    p.data += 1
    assert source[0] == 1.0  # training must not write through to the caller's array
    assert p.grad.shape == (3,) and not p.grad.any() and p.grad.dtype == p.data.dtype


def test_parameters_walk_attributes_lists_and_children():
    class Net(Module):
        def __init__(self):
            self.scale = Parameter(np.ones(1))
            self.blocks = [Linear(2, 2, seed=0), ReLU()]
            self.head = Sequential(Linear(2, 1, seed=1))

    params = Net().parameters()
    assert [p.shape for p in params] == [(1,), (2, 2), (2,), (1, 2), (1,)]


def test_backward_accumulates_and_zero_grad_resets():
    lin = Linear(3, 2, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 3))
    for _ in range(3):
        lin(x)
        lin.backward(np.ones((4, 2)))
    np.testing.assert_allclose(lin.weight.grad, 3 * np.ones((2, 1)) * x.sum(axis=0), rtol=1e-14)
    lin.zero_grad()
    assert not lin.weight.grad.any()


def test_abstract_module_names_the_missing_method():
    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty must implement forward"):
        Empty()(np.ones(1))
    with pytest.raises(NotImplementedError, match="Empty must implement backward"):
        Empty().backward(np.ones(1))
