"""The learning experiments on real data: conditioning, the three solvers, the digits CNN."""

import numpy as np
import pytest

from convtheory.nn import functional as F
from convtheory.nn.data import gaussian_derivative, laplacian, sobel_x, sobel_y
from convtheory.nn.experiments import (DigitsResult, compare_solvers, digits_cnn, digits_mlp,
                                       learn_composition, learn_filter, lbfgs_fit, lsqr_filter,
                                       nearest_handcrafted, parameter_count, patch_conditioning,
                                       patch_matrix)
from tests.conftest import requires_torch, torch


def test_patch_matrix_is_the_valid_correlation(rng):
    x, w = rng.standard_normal((3, 2, 7, 6)), rng.standard_normal((2, 3, 3))
    P = patch_matrix(x, w.shape)
    np.testing.assert_allclose(P @ w.ravel(), F.conv2d(x, w[None]).ravel(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"kernel_shape must be \(kh, kw\) or \(2, kh, kw\)"):
        patch_matrix(x, (3, 3, 3))


def test_patch_conditioning_by_hand():
    # Two orthogonal patterns with energies 4 and 1 along a 1x2 kernel: condition number 4.
    x = np.array([[[[2.0, 2.0, -2.0, -2.0]]], [[[1.0, -1.0, 1.0, -1.0]]]])
    P = patch_matrix(x, (1, 2))
    M = P.T @ P / len(P)
    expected = np.linalg.eigvalsh(M)
    assert patch_conditioning(x, (1, 2)) == pytest.approx(expected[-1] / expected[0], rel=1e-12)
    # A constant image excites only one direction: not identifiable, infinite.
    assert patch_conditioning(np.ones((1, 1, 5, 5)), (3, 3)) == np.inf


def test_lsqr_and_lbfgs_reach_the_kernel_and_measure_their_error(rng):
    from convtheory.nn import Conv2d

    x = rng.standard_normal((2, 1, 10, 10))
    y = F.conv2d(x, laplacian()[None, None])
    k, run = lsqr_filter(x, y, laplacian())
    assert run.max_error < 1e-10 and np.abs(k - laplacian()).max() == run.max_error
    # Measured against a different kernel, the same solve reports a large error.
    assert lsqr_filter(x, y, sobel_x())[1].max_error > 1
    conv = Conv2d(1, 1, 3, bias=False, seed=0)
    err = lambda: float(np.abs(conv.weight.data[0, 0] - laplacian()).max())
    run = lbfgs_fit(conv, x, y, err)
    assert run.solver == "lbfgs" and run.max_error <= 1e-6 and run.steps >= 1
    assert run.loss_curve[0] > 1e3 * run.loss_curve[-1]


def test_compare_solvers_on_a_photograph():
    r = compare_solvers(sources=("synthetic", "camera"), size=16, seed=1)
    assert [s.images for s in r.sources] == ["synthetic", "camera"]
    assert r.max_error <= 1e-6
    assert all(1 <= s.condition_number < np.inf for s in r.sources)
    assert len(r.table().splitlines()) == 4
    with pytest.raises(ValueError, match="sources must be 'synthetic', 'photos' or names from"):
        compare_solvers(sources=("lena",))


def test_learn_filter_on_photos_reports_conditioning():
    r = learn_filter("sobel_y", images="photos", seed=0)
    assert r.converged and r.images == "photos" and r.condition_number > 1 and r.seconds > 0
    with pytest.raises(ValueError, match=r"images must be one of \('synthetic', 'photos'\)"):
        learn_filter(images="imagenet")


def test_composition_lbfgs_reaches_1e6_and_adam_does_not_spike():
    lb = learn_composition("box", "box", solver="lbfgs", seed=0)
    assert lb.effective_error <= 1e-6 and lb.solver == "lbfgs"
    adam = learn_composition("box", "box", steps=1500, seed=0)
    # One Adam with a decaying rate: the loss never jumps up by a factor of 10 in one step
    # (restarted phases used to throw it from 1e-9 back to 1e-4).
    assert np.max(np.diff(np.log10(adam.loss_curve))) < 1
    with pytest.raises(ValueError, match="solver must be 'adam' or 'lbfgs', got solver='sgd'"):
        learn_composition(solver="sgd")


def test_nearest_handcrafted():
    near = nearest_handcrafted(np.stack([3 * sobel_y(), -gaussian_derivative("x"), laplacian()]))
    assert [n.name for n in near] == ["sobel_y", "gaussian_dx", "laplacian"]
    assert near[0].correlation == pytest.approx(1) and near[1].correlation == pytest.approx(-1)
    assert set(near[0].correlations) == {"sobel_x", "sobel_y", "laplacian", "gaussian",
                                         "gaussian_dx", "gaussian_dy"}
    bad = np.zeros((1, 3, 3))
    bad[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="filters must be finite"):
        nearest_handcrafted(bad)
    with pytest.raises(ValueError, match=r"filters must have shape \(C, 3, 3\)"):
        nearest_handcrafted(np.ones((3, 3)))


def test_digits_models_and_margins():
    cnn = digits_cnn(seed=0)
    assert parameter_count(digits_mlp(parameter_count(cnn))) >= parameter_count(cnn)
    acc_c = np.array([[0.5, 0.7], [0.5, 0.5]])
    acc_m = np.array([[0.2, 0.2], [0.5, 0.5]])
    r = DigitsResult((10, 20), (0, 1), acc_c, acc_m, 1, 2, 5, 16, 1, 1, np.zeros((8, 3, 3)), 0.0)
    m = r.margins()
    assert m[0] == pytest.approx(0.6 - 0.2 - np.std([0.5, 0.7], ddof=1)) and m[1] == 0
    acc_c[0, 0] = np.nan
    assert not r.margins()[0] > 0  # NaN never counts as a margin


@requires_torch
@pytest.mark.torch
def test_digits_cnn_matches_torch_forward_and_backward(rng):
    net = digits_cnn(seed=3, dtype=np.float64)
    conv1, conv2, lin = net[0], net[3], net[6]
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 16, 3, padding=1),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(16, 10)).double()
    with torch.no_grad():
        for mine, theirs in ((conv1, ref[0]), (conv2, ref[3]), (lin, ref[7])):
            theirs.weight.copy_(torch.from_numpy(mine.weight.data))
            theirs.bias.copy_(torch.from_numpy(mine.bias.data))
    x = rng.standard_normal((4, 1, 16, 16))
    g = rng.standard_normal((4, 10))
    out = net(x)
    xt = torch.from_numpy(x).requires_grad_()
    ref_out = ref(xt)
    ref_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out, ref_out.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(net.backward(g), xt.grad.numpy(), rtol=0, atol=1e-12)
    for mine, theirs in ((conv1, ref[0]), (conv2, ref[3]), (lin, ref[7])):
        np.testing.assert_allclose(mine.weight.grad, theirs.weight.grad.numpy(), rtol=0, atol=1e-11)


# --------------------------------------------------------------------------
# The report's claims judge these results: feed them bad ones (and NaN).
# --------------------------------------------------------------------------
def _bad_results(bad):
    from convtheory.nn.experiments import SolverComparison, SolverRun, SourceRuns

    runs = (SolverRun("adam", 10, 0.1, 1e-7), SolverRun("lbfgs", 5, 0.1, bad),
            SolverRun("lsqr", 3, 0.1, 1e-15))
    source = SourceRuns("moon", 100.0, runs)
    comp = lambda e: type("R", (), dict(effective_error=e, steps=9, seconds=0.1,
                                        condition_number=50.0, factor_errors=(0.1, 0.1)))()
    acc_m = np.full((2, 2), 0.2)
    acc_c = np.array([[0.5, 0.5], [bad, 0.19]])  # behind the MLP at n = 200
    digits = DigitsResult((10, 200), (0, 1), acc_c, acc_m, 1, 2, 5, 16, 1, 1,
                          np.eye(3)[None].repeat(8, 0), 0.0)
    return {
        "learning.photos_filter": ("learning.photo_solvers",
                                   SolverComparison("sobel_x", 1e-6, 4, 32, 10, (source,))),
        "learning.photos_filter_bank": ("learning.photo_bank", source),
        "learning.photos_composition": ("learning.photo_composition",
                                        {"adam": comp(1e-3), "lbfgs": comp(bad)}),
        "learning.digits_efficiency": ("learning.digits", digits),
    }


@pytest.mark.parametrize("claim_id", sorted(_bad_results(1.0)))
@pytest.mark.parametrize("bad", [1e-3, np.nan, np.inf])
def test_real_data_claims_fail_on_bad_results(claim_id, bad):
    from convtheory.report.claims import Context, run_claim
    from convtheory.report.registry import all_claims

    claim = next(c for c in all_claims() if c.id == claim_id)
    key, result = _bad_results(bad)[claim_id]
    ctx = Context(quick=True)
    ctx.memo[key] = result
    assert run_claim(claim, ctx, figures=False).status == "refuted"
    # ... and the same claim holds on good numbers.
    good_key, good = _bad_results(1e-9)[claim_id]
    if claim_id == "learning.digits_efficiency":
        good = DigitsResult((10, 200), (0, 1), np.full((2, 2), 0.6), np.full((2, 2), 0.2),
                            1, 2, 5, 16, 1, 1, np.eye(3)[None].repeat(8, 0), 0.0)
    ctx = Context(quick=True)
    ctx.memo[good_key] = good
    assert run_claim(claim, ctx, figures=False).status == "confirmed"


def test_solvers_refuse_unbounded_iterations_and_bad_tolerances(rng):
    from convtheory.nn import Conv2d

    x = rng.standard_normal((1, 1, 6, 6))
    y = F.conv2d(x, laplacian()[None, None])
    conv = Conv2d(1, 1, 3, bias=False, seed=0)
    with pytest.raises(ValueError, match=r"maxiter must be an int in \[1, 100,000\], got maxiter=1099511627776"):
        lbfgs_fit(conv, x, y, lambda: 1.0, maxiter=2**40)
    with pytest.raises(ValueError, match="tol must be a non-negative number, got tol=nan"):
        lbfgs_fit(conv, x, y, lambda: 1.0, tol=float("nan"))
    with pytest.raises(ValueError, match=r"iter_lim must be an int in \[1, 100,000\], got iter_lim=0"):
        lsqr_filter(x, y, laplacian(), iter_lim=0)
