"""gradcheck passes correct backward passes and fails wrong ones."""

import numpy as np
import pytest

from convtheory.nn import Conv2d, Linear, ReLU, gradcheck


class TransposedWeightGrad(Linear):
    """A classic bug: the weight gradient of a square layer transposed."""

    def backward(self, grad_out):
        before = self.weight.grad.copy()
        gx = super().backward(grad_out)
        self.weight.grad[...] = before + (self.weight.grad - before).T
        return gx


class IgnoresSharing(Conv2d):
    """A conv whose weight gradient counts each weight at one position only."""

    def backward(self, grad_out):
        gx = super().backward(grad_out)
        self.weight.grad /= grad_out[0, 0].size
        return gx


def test_gradcheck_passes_and_reports():
    x = np.random.default_rng(0).standard_normal((2, 3))
    v = gradcheck(Linear(3, 3, seed=0), x)
    assert v and v.method == "numeric" and v.counterexample is None
    assert v.evidence["max_abs_error"]["input"] < 1e-8


@pytest.mark.parametrize("module, shape", [
    (TransposedWeightGrad(3, 3, seed=0), (2, 3)),
    (IgnoresSharing(1, 1, 3, seed=0), (1, 1, 6, 6)),
])
def test_gradcheck_fails_wrong_backward(module, shape):
    x = np.random.default_rng(1).standard_normal(shape)
    v = gradcheck(module, x)
    assert not v
    assert v.counterexample["array"].startswith("param0")


def test_gradcheck_samples_large_arrays():
    x = np.random.default_rng(2).standard_normal((1, 1, 30, 30))
    v = gradcheck(Conv2d(1, 1, 3, seed=0), x, max_entries=50)
    assert v and "50 sampled entries" in v.scope


@pytest.mark.parametrize("call, exc, match", [
    (lambda: gradcheck(lambda x: x, np.ones(2)), TypeError, "must be a convtheory.nn Module"),
    (lambda: gradcheck(Conv2d(1, 1, 3, dtype=np.float32), np.ones((1, 1, 4, 4), np.float32)),
     TypeError, "needs float64"),
    (lambda: gradcheck(ReLU(), np.ones(2), max_entries=0), ValueError, "max_entries must be >= 1, got max_entries=0"),
])
def test_gradcheck_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


class NaNInputGrad(Linear):
    def backward(self, grad_out):
        gx = super().backward(grad_out)
        gx[0, 0] = np.nan
        return gx


class NaNWeightGrad(Linear):
    def backward(self, grad_out):
        gx = super().backward(grad_out)
        self.weight.grad[1, 2] = np.nan
        return gx


class NaNForward(Linear):
    """The forward pass itself is NaN: every difference quotient is NaN."""

    def forward(self, x):
        return super().forward(x) * np.nan


@pytest.mark.parametrize("module, array", [
    (NaNInputGrad(3, 3, seed=0), "input"),
    (NaNWeightGrad(3, 3, seed=0), "param0"),
    (NaNForward(3, 3, seed=0), "input"),
])
def test_gradcheck_fails_on_nan(module, array):
    x = np.random.default_rng(3).standard_normal((2, 3))
    v = gradcheck(module, x)
    assert not v
    assert v.counterexample["array"].startswith(array)
    assert np.isnan(v.evidence["max_abs_error"][v.counterexample["array"]])


class OneWrongEntry(Linear):
    """Weight gradient off by 1e-3 at entry 0 and by 1.0 at entry 5."""

    def backward(self, grad_out):
        gx = super().backward(grad_out)
        self.weight.grad.reshape(-1)[0] += 1e-3
        self.weight.grad.reshape(-1)[5] += 1.0
        return gx


def test_gradcheck_counterexample_is_the_worst_entry():
    x = np.random.default_rng(4).standard_normal((2, 3))
    v = gradcheck(OneWrongEntry(3, 3, seed=0), x)
    assert not v
    assert v.counterexample["array"].startswith("param0") and v.counterexample["index"] == 5
    assert v.counterexample["error"] == pytest.approx(1.0, abs=1e-6)


def test_gradcheck_accepts_numpy_integer_max_entries():
    x = np.random.default_rng(2).standard_normal((1, 1, 30, 30))
    v = gradcheck(Conv2d(1, 1, 3, seed=0), x, max_entries=np.int64(50))
    assert v and "50 sampled entries" in v.scope


@pytest.mark.parametrize("call, match", [
    (lambda: gradcheck(ReLU(), np.ones(2), max_entries=True), "max_entries must be an integer, got True"),
    (lambda: gradcheck(ReLU(), np.ones(2), max_entries=2.0), "max_entries must be an integer, got 2.0"),
    (lambda: gradcheck(ReLU(), np.ones(2), eps=0), r"eps must be a finite number \(not NaN\) > 0"),
    (lambda: gradcheck(ReLU(), np.array([1.0, np.nan])), r"finite values, but x \(shape \(2,\)\)"),
])
def test_gradcheck_refuses(call, match):
    with pytest.raises(TypeError if "integer" in match else ValueError, match=match):
        call()
