"""The four experiments: their numbers, their failure modes, no progress bar by default."""

import dataclasses

import numpy as np
import pytest
from scipy import signal

from convtheory.nn import Conv2d, experiments, functional as F, train
from convtheory.nn.data import box, gaussian, laplacian, sobel_x, synthetic_images
from convtheory.nn import data
from convtheory.nn.experiments import efficiency


def test_learn_sobel_x_to_1e6():
    r = experiments.learn_filter("sobel_x", seed=0)
    assert r.converged and r.max_error <= 1e-6
    np.testing.assert_allclose(r.learned_kernel, sobel_x(), rtol=0, atol=1e-6)
    assert r.steps == len(r.loss_curve) and r.loss_curve[-1] < 1e-8 * r.loss_curve[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.steps = 0


def test_learn_filter_reports_failure_when_steps_run_out():
    r = experiments.learn_filter("laplacian", steps=5, seed=0)
    assert not r.converged and r.max_error > 1e-6 and r.steps == 5


def test_learn_filter_bank():
    r = experiments.learn_filter_bank(seed=1)
    assert r.max_error <= 1e-6 and len(r.channel_errors) == 4
    names, w = experiments.filter_bank_weight()
    np.testing.assert_allclose(r.learned_weight, w, rtol=0, atol=1e-6)


def test_effective_kernel_is_the_full_convolution():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 3)), rng.standard_normal((2, 4))
    x = rng.standard_normal((1, 1, 10, 10))
    stacked = F.conv2d(F.conv2d(x, a[None, None]), b[None, None])
    e = experiments.effective_kernel(a, b)
    assert e.shape == (4, 6)
    np.testing.assert_allclose(F.conv2d(x, e[None, None]), stacked, rtol=0, atol=1e-12)
    # The other order of composition is the same kernel: convolution commutes.
    np.testing.assert_allclose(experiments.effective_kernel(b, a), e, rtol=0, atol=1e-15)
    # ... but the correlation of the two kernels is not it.
    assert np.abs(signal.correlate2d(a, b, mode="full") - e).max() > 1e-3


def test_learn_composition_box_box():
    r = experiments.learn_composition("box", "box", steps=3000, seed=0)
    np.testing.assert_allclose(r.target, signal.convolve2d(box(3), box(3)), rtol=0, atol=1e-15)
    assert r.effective_error < 1e-4
    assert abs(r.scales[0] * r.scales[1] - 1) < 1e-3  # the scale moves between the factors
    assert max(r.factor_errors) < 1e-2
    assert r.rescaling_error < 1e-14


def test_composition_gaussian_laplacian_local_minimum_is_reported():
    """From random starts the stack stalls: the numbers say so, they do not hide it."""
    r = experiments.learn_composition("gaussian", "laplacian", steps=600, seed=0)
    np.testing.assert_allclose(r.target, signal.convolve2d(gaussian(1.0, 3), laplacian()), atol=1e-15)
    assert r.effective_error > 1e-2


def test_data_efficiency_conv_beats_dense():
    r = experiments.data_efficiency(n_train=(2, 8), size=8, steps=300, seed=0)
    assert r.n_train == (2, 8) and r.conv_parameters == 9 and r.dense_parameters == 64 * 64
    assert all(c < 1e-4 for c in r.conv_error)
    assert all(d > 0.3 for d in r.dense_error)
    assert "| 8 |" in r.table()


def test_diverging_training_names_the_step():
    x = synthetic_images(2, 8, seed=0)[:, None]
    y = F.conv2d(x, sobel_x()[None, None])
    with pytest.raises(train.TrainingDiverged, match=r"at step \d+ .*use a lower learning rate, e\.g\. lr=100"):
        train.fit(Conv2d(1, 1, 3, bias=False, seed=0), x, y, steps=500, lr=1e3, optimizer="sgd")


def test_progress_bar_only_when_asked(capfd):
    x = synthetic_images(1, 8, seed=0)[:, None]
    y = F.conv2d(x, sobel_x()[None, None])
    train.fit(Conv2d(1, 1, 3, bias=False, seed=0), x, y, steps=3, lr=0.1)
    assert capfd.readouterr().err == ""
    train.fit(Conv2d(1, 1, 3, bias=False, seed=0), x, y, steps=3, lr=0.1, progress=True)
    assert "Conv2d" in capfd.readouterr().err


@pytest.mark.parametrize("call, match", [
    (lambda: experiments.learn_filter("sobel_z"), "kernel must be an array or one of"),
    (lambda: experiments.learn_filter(np.ones(3)), "kernel must be a 2-D array"),
    (lambda: experiments.learn_composition("box", "median"), "second must be one of"),
    (lambda: experiments.learn_composition(restarts=0), "restarts must be >= 1, got restarts=0"),
    (lambda: experiments.data_efficiency(n_train=(0,)), "n_train must be positive ints"),
    (lambda: train.fit(Conv2d(1, 1, 1), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), steps=0, lr=0.1),
     "steps must be >= 1"),
    (lambda: train.fit(Conv2d(1, 1, 1), np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), steps=1, lr=0.1,
                       optimizer="lbfgs"), "optimizer must be 'adam' or 'sgd'"),
])
def test_train_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: experiments.learn_filter(n_images=10**8), r"n_images=100000000, size=24, steps=3000 would need about 10.1 TiB, over max_bytes=2,147,483,648 \(2.0 GiB\); use fewer or smaller images"),
    (lambda: experiments.learn_filter(size=100_000), r"size=100000, steps=3000 would need .* over max_bytes"),
    (lambda: experiments.learn_filter(steps=10**9), r"steps=1000000000 would take .* multiply-adds, over MAX_TRAINING_WORK"),
    (lambda: experiments.learn_filter(n_images=0), "n_images must be >= 1, got n_images=0"),
    (lambda: experiments.learn_filter_bank(size=3000), r"n_images=4, size=3000, steps=3000 would need"),
    (lambda: experiments.learn_composition(n_images=10**6), r"n_images=1000000, .* over max_bytes"),
    (lambda: experiments.data_efficiency(size=100), r"size=100, n_test=16, steps=1500 would need .* over max_bytes"),
    (lambda: experiments.data_efficiency(n_test=0), "n_test must be >= 1, got n_test=0"),
])
def test_experiments_refuse_absurd_sizes_before_allocating(call, match, monkeypatch):
    # Nothing may be generated: the refusal comes from the estimate.
    def no_images(*args, **kwargs):
        raise AssertionError("synthetic_images was called before the size check")

    for module in (data, efficiency):
        monkeypatch.setattr(module, "synthetic_images", no_images)
    with pytest.raises(ValueError, match=match):
        call()


def test_experiments_refuse_a_size_of_the_wrong_kind():
    with pytest.raises(TypeError, match=r"^size must be an integer, got 2.5 of type float$"):
        experiments.learn_filter(size=2.5)


def test_fit_refuses_non_finite_inputs_and_targets():
    x = synthetic_images(2, 8, seed=0)[:, None]
    y = F.conv2d(x, sobel_x()[None, None])
    y_nan, x_inf = y.copy(), x.copy()
    y_nan[0, 0, 0, 0] = np.nan
    x_inf[1, 0, 2, 2] = np.inf
    with pytest.raises(ValueError, match=r"targets must be finite, got 1 NaN or infinite entries"):
        train.fit(Conv2d(1, 1, 3, bias=False, seed=0), x, y_nan, steps=5, lr=0.1)
    with pytest.raises(ValueError, match=r"inputs must be finite, got 1 NaN or infinite entries"):
        train.fit(Conv2d(1, 1, 3, bias=False, seed=0), x_inf, y, steps=5, lr=0.1)


def test_train_knows_nothing_of_the_experiments_above_it():
    """The experiments import fit from train; train does not forward their names back."""
    import ast
    import inspect
    import subprocess
    import sys

    for name in ("learn_filter", "run_experiments", "data_efficiency", "MAX_TRAINING_WORK"):
        assert not hasattr(train, name)
        assert name in experiments.__all__
    with pytest.raises(AttributeError, match="has no attribute 'learn_filter'"):
        train.learn_filter
    # No import of the experiments anywhere in train, at module level or inside a function.
    tree = ast.parse(inspect.getsource(train))
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    assert not [m for m in imported if "experiments" in m]
    assert "convtheory.validation" not in imported and "validation" in imported  # it reads them
    for first, second in (("experiments", "train"), ("train", "experiments")):
        code = (f"import convtheory.nn.{first}, convtheory.nn.{second}; "
                "from convtheory.nn.experiments import learn_filter, run_experiments")
        subprocess.run([sys.executable, "-c", code], check=True)
