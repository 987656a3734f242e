"""SGD and Adam against torch.optim, step for step."""

import numpy as np
import pytest

from convtheory.nn import SGD, Adam, Parameter

try:
    import torch
except ImportError:  # only the tests marked torch compare with it; tests/conftest.py skips those
    torch = None


def run(make_ours, make_ref, steps=6):
    rng = np.random.default_rng(12)
    start = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(steps)]
    p = Parameter(start)
    opt = make_ours([p])
    pt = torch.nn.Parameter(torch.from_numpy(start.copy()))
    ref = make_ref([pt])
    for g in grads:
        p.grad[...] = g
        opt.step()
        pt.grad = torch.from_numpy(g.copy())
        ref.step()
    return p.data, pt.detach().numpy()


@pytest.mark.torch
@pytest.mark.parametrize("kw", [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, dampening=0.1),
    dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
])
def test_sgd_matches_torch(kw):
    ours, ref = run(lambda ps: SGD(ps, **kw), lambda ps: torch.optim.SGD(ps, **kw))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-13)


@pytest.mark.torch
@pytest.mark.parametrize("kw", [
    dict(lr=0.01),
    dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.05),
])
def test_adam_matches_torch(kw):
    ours, ref = run(lambda ps: Adam(ps, **kw), lambda ps: torch.optim.Adam(ps, **kw))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-13)


@pytest.mark.torch
def test_optimiser_comparison_can_fail():
    """The same run with a different momentum drifts far beyond the tolerance."""
    a, _ = run(lambda ps: SGD(ps, lr=0.05, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.05))
    b, _ = run(lambda ps: SGD(ps, lr=0.05, momentum=0.5), lambda ps: torch.optim.SGD(ps, lr=0.05))
    assert np.abs(a - b).max() > 1e-3


def test_zero_grad():
    p = Parameter(np.ones(2))
    p.grad += 1
    SGD([p], lr=0.1).zero_grad()
    assert not p.grad.any()


@pytest.mark.parametrize("call, exc, match", [
    (lambda: SGD([], lr=0.1), TypeError, "non-empty sequence of Parameter"),
    (lambda: SGD([np.ones(2)], lr=0.1), TypeError, "non-empty sequence of Parameter"),
    (lambda: SGD([Parameter(np.ones(2))], lr=-1.0), ValueError, r"lr must be a finite number \(not NaN\) > 0, got lr=-1.0"),
    (lambda: SGD([Parameter(np.ones(2))], lr=0.1, nesterov=True), ValueError, "nesterov=True needs"),
    (lambda: Adam([Parameter(np.ones(2))], betas=(1.0, 0.9)), ValueError, r"betas must be in \[0, 1\)"),
    (lambda: Adam([Parameter(np.ones(2))], eps=-1e-8), ValueError,
     r"eps must be a finite number \(not NaN\) >= 0, got eps=-1e-08"),
    (lambda: Adam([Parameter(np.ones(2))], weight_decay=-0.1), ValueError,
     r"weight_decay must be a finite number \(not NaN\) >= 0, got weight_decay=-0\.1"),
    (lambda: Adam([Parameter(np.ones(2))], eps=float("nan")), ValueError, r"eps must be a finite number \(not NaN\) >= 0, got eps=nan"),
])
def test_optimiser_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
