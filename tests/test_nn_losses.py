"""Losses against torch.nn.MSELoss / CrossEntropyLoss, value and gradient."""

import numpy as np
import pytest

from convtheory.nn import CrossEntropyLoss, MSELoss

try:
    import torch
except ImportError:  # only the tests marked torch compare with it; tests/conftest.py skips those
    torch = None


@pytest.mark.torch
def test_mse_matches_torch():
    rng = np.random.default_rng(1)
    pred, target = rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))
    loss = MSELoss()
    value = loss(pred, target)
    pt = torch.from_numpy(pred).requires_grad_()
    ref = torch.nn.MSELoss()(pt, torch.from_numpy(target))
    ref.backward()
    assert abs(value - ref.item()) < 1e-14
    np.testing.assert_allclose(loss.backward(), pt.grad.numpy(), rtol=0, atol=1e-15)


@pytest.mark.torch
def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(2)
    logits = 30 * rng.standard_normal((5, 4))  # large logits: the max shift must be there
    target = rng.integers(0, 4, 5)
    loss = CrossEntropyLoss()
    value = loss(logits, target)
    lt = torch.from_numpy(logits).requires_grad_()
    ref = torch.nn.CrossEntropyLoss()(lt, torch.from_numpy(target))
    ref.backward()
    assert np.isfinite(value) and abs(value - ref.item()) < 1e-12
    np.testing.assert_allclose(loss.backward(), lt.grad.numpy(), rtol=0, atol=1e-14)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: MSELoss()(np.ones(3), np.ones(4)), ValueError, "same shape"),
    (lambda: CrossEntropyLoss()(np.ones(3), np.array([0])), ValueError, r"logits must have shape \(N, C\)"),
    (lambda: CrossEntropyLoss()(np.ones((2, 3)), np.array([0.0, 1.0])), TypeError, "integer class indices"),
    (lambda: CrossEntropyLoss()(np.ones((2, 3)), np.array([0, 3])), ValueError, r"values in \[0, 3\)"),
    (lambda: CrossEntropyLoss()(np.ones((0, 3)), np.array([], int)), ValueError,
     r"at least one sample and one class, got logits.shape=\(0, 3\)"),
    (lambda: CrossEntropyLoss()(np.ones((2, 0)), np.array([0, 0])), ValueError,
     r"at least one sample and one class, got logits.shape=\(2, 0\)"),
    (lambda: MSELoss()(np.ones((0, 2)), np.ones((0, 2))), ValueError, r"pred must not be empty, got pred.shape=\(0, 2\)"),
    (lambda: CrossEntropyLoss().backward(), RuntimeError, r"CrossEntropyLoss.backward\(\) needs a call"),
    (lambda: MSELoss().backward(), RuntimeError, r"MSELoss.backward\(\) needs a call"),
])
def test_loss_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
