"""Real data from the scikit-image and scikit-learn wheels, the minibatch loader, global pooling
and fit_epochs: references, failure modes and messages."""

import socket

import numpy as np
import pytest

from convtheory.nn import Adam, DataLoader, GlobalAvgPool2d, Linear, Sequential, gradcheck
from convtheory.nn import datasets, train
from tests.conftest import requires_torch, torch


# --------------------------------------------------------------------------
# Data, offline
# --------------------------------------------------------------------------
def test_real_data_loads_with_the_network_refused(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the bundled data tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    datasets._photo.cache_clear()
    datasets._digits.cache_clear()
    for color in (False, True):
        x = datasets.photo_crops(10, 16, seed=0, color=color)
        assert np.isfinite(x).all()
    x, y = datasets.translated_digits(5, seed=0)
    assert x.shape == (5, 1, 16, 16) and set(y) <= set(range(10))


def test_photo_crops_are_standardised_crops_of_the_named_photograph():
    from skimage import data

    x = datasets.photo_crops(3, 20, seed=4, photos="camera")
    cam = data.camera() / 255.0
    # Each crop is an affine image of some window of the photograph.
    for crop in x:
        assert abs(crop.mean()) < 1e-12 and abs(crop.std() - 1) < 1e-12
    windows = np.lib.stride_tricks.sliding_window_view(cam, (20, 20))
    mean, std = windows.mean(axis=(2, 3)), windows.std(axis=(2, 3))
    for crop in x:
        # Candidates by the first pixel, then the whole window.
        first = (cam[:mean.shape[0], :mean.shape[1]] - mean) / np.where(std > 0, std, 1)
        hits = [(r, c) for r, c in zip(*np.nonzero(np.abs(first - crop[0, 0]) < 1e-9))
                if np.abs((windows[r, c] - mean[r, c]) / std[r, c] - crop).max() < 1e-12]
        assert hits
    assert not np.array_equal(x, datasets.photo_crops(3, 20, seed=5, photos="camera"))
    colour = datasets.photo_crops(4, 12, seed=0, color=True)
    assert not np.allclose(colour[:, 0], colour[:, 1])  # colour photographs, not grey copies


def test_translated_digits_are_digits_on_a_blank_canvas_and_test_is_disjoint():
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = datasets.translated_digits(50, seed=3, dtype=np.float64)
    xt, yt = datasets.translated_digits(50, split="test", seed=3, dtype=np.float64)
    originals = {img.tobytes(): label for img, label in zip(d.images / 16.0, d.target)}
    seen = []
    for img, label in zip(x[:, 0], y):
        rows, cols = np.nonzero(img.any(axis=1))[0], np.nonzero(img.any(axis=0))[0]
        # Find the 8x8 window that holds the digit and compare with the original.
        hits = [img[r:r + 8, c:c + 8] for r in range(9) for c in range(9)
                if img[r:r + 8, c:c + 8].sum() == img.sum()
                and img[r:r + 8, c:c + 8].tobytes() in originals]
        assert hits and originals[hits[0].tobytes()] == label
        seen.append(hits[0].tobytes())
        assert rows.size <= 8 and cols.size <= 8
    seen = set(seen)
    for img in xt[:, 0]:
        assert not any(img[r:r + 8, c:c + 8].tobytes() in seen for r in range(9) for c in range(9))
    # Larger n extends smaller n (same digits, same offsets).
    x5, _ = datasets.translated_digits(5, seed=3, dtype=np.float64)
    assert np.array_equal(x5, x[:5])


@pytest.mark.parametrize("call, exc, match", [
    (lambda: datasets.photo_crops(0), ValueError, r"n must be an int in \[1, 10,000\], got n=0"),
    (lambda: datasets.photo_crops(2, size=500), ValueError, r"size must be an int in \[4, 172\]"),
    (lambda: datasets.photo_crops(2, color=1), TypeError, "color must be a bool"),
    (lambda: datasets.photo_crops(2, photos="lena"), ValueError, "photos must be names from"),
    (lambda: datasets.translated_digits(1001), ValueError, r"n must be an int in \[1, 1,000\]"),
    (lambda: datasets.translated_digits(5, split="val"), ValueError, "split must be 'train' or 'test'"),
    (lambda: datasets.translated_digits(5, canvas=7), ValueError, r"canvas must be an int in \[8, 64\]"),
    (lambda: datasets.translated_digits(5, dtype=np.int32), TypeError, "dtype must be float32 or float64"),
])
def test_datasets_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------
def test_loader_covers_every_sample_once_per_epoch_reproducibly():
    x, y = np.arange(23.0)[:, None], np.arange(23)
    loader = DataLoader(x, y, batch_size=5, shuffle=True, seed=7)
    epochs = [[yb for _, yb in loader] for _ in range(3)]
    for batches in epochs:
        assert [len(b) for b in batches] == [5, 5, 5, 5, 3] and len(loader) == 5
        assert sorted(np.concatenate(batches)) == list(range(23))
    assert not np.array_equal(np.concatenate(epochs[0]), np.concatenate(epochs[1]))
    again = DataLoader(x, y, batch_size=5, shuffle=True, seed=7)
    assert all(np.array_equal(np.concatenate(e), np.concatenate([yb for _, yb in again]))
               for e in epochs)
    for xb, yb in loader:
        assert np.array_equal(xb[:, 0], yb)  # inputs and targets stay paired


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(inputs=np.ones((3, 2)), targets=np.ones(4)), ValueError, "same first dimension"),
    (dict(inputs=np.ones((0, 2)), targets=np.ones(0)), ValueError, "at least one sample"),
    (dict(batch_size=0), ValueError, "batch_size must be a positive int, got batch_size=0"),
    (dict(batch_size=True), ValueError, "batch_size must be a positive int"),
    (dict(shuffle="yes"), TypeError, "shuffle must be a bool"),
])
def test_loader_bad_input(kwargs, exc, match):
    args = dict(inputs=np.ones((3, 2)), targets=np.ones(3))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        DataLoader(args.pop("inputs"), args.pop("targets"), **args)


# --------------------------------------------------------------------------
# Global average pool
# --------------------------------------------------------------------------
def test_global_avg_pool_gradcheck_and_errors(rng):
    pool = GlobalAvgPool2d()
    assert gradcheck(pool, rng.standard_normal((2, 3, 4, 5)))
    net = Sequential(GlobalAvgPool2d(), Linear(3, 2, seed=0))
    assert gradcheck(net, rng.standard_normal((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"input must have shape \(N, C, H, W\), got shape \(3, 4\)"):
        pool(np.ones((3, 4)))
    with pytest.raises(ValueError, match="at least one position"):
        pool(np.ones((1, 2, 0, 3)))
    with pytest.raises(RuntimeError, match="needs a forward call first"):
        GlobalAvgPool2d().backward(np.ones((1, 1)))
    pool(np.ones((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 3\)"):
        pool.backward(np.ones((2, 4)))


def test_global_avg_pool_fails_gradcheck_when_backward_is_wrong(rng):
    class Broken(GlobalAvgPool2d):
        def backward(self, grad_out):
            return 2 * super().backward(grad_out)

    assert not gradcheck(Broken(), rng.standard_normal((1, 2, 3, 3)))


@requires_torch
@pytest.mark.torch
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])  # float32: one rounding per sum
def test_global_avg_pool_matches_torch(rng, dtype, tol):
    x = rng.standard_normal((3, 4, 5, 6)).astype(dtype)
    g = rng.standard_normal((3, 4)).astype(dtype)
    pool = GlobalAvgPool2d()
    xt = torch.from_numpy(x).requires_grad_()
    ref = torch.nn.AdaptiveAvgPool2d(1)(xt).flatten(1)
    ref.backward(torch.from_numpy(g))
    out = pool(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=0, atol=tol)
    np.testing.assert_allclose(pool.backward(g), xt.grad.numpy(), rtol=0, atol=tol)


# --------------------------------------------------------------------------
# fit_epochs
# --------------------------------------------------------------------------
def _blobs(rng, n=90):
    centres = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    y = np.arange(n) % 3
    return centres[y] + 0.5 * rng.standard_normal((n, 2)), y


def test_fit_epochs_learns_and_reports_per_epoch_numbers(rng):
    x, y = _blobs(rng)
    model = Linear(2, 3, seed=0)
    h = train.fit_epochs(model, DataLoader(x, y, batch_size=16, shuffle=True), epochs=20,
                         optimizer=Adam(model.parameters(), lr=0.05), validation=(x[:30], y[:30]))
    assert len(h.train_loss) == len(h.val_accuracy) == 20
    assert h.train_loss[-1] < 0.2 * h.train_loss[0] and h.val_accuracy[-1] == 1.0
    loss, acc = train.evaluate(model, x[:30], y[:30])
    assert (loss, acc) == (h.val_loss[-1], h.val_accuracy[-1])
    # Without validation data the validation lists are empty; MSE has no accuracy.
    h2 = train.fit_epochs(Linear(2, 1, seed=0), DataLoader(x, y[:, None] * 1.0, batch_size=30),
                          epochs=2, loss=train.MSELoss())
    assert h2.val_loss == () and np.isnan(h2.train_accuracy).all()


def test_fit_epochs_accuracy_is_the_argmax_agreement():
    model = Linear(2, 2, bias=False, seed=0)
    model.weight.data[...] = np.eye(2)
    x, y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), np.array([0, 1, 1, 1])
    h = train.fit_epochs(model, DataLoader(x, y, batch_size=4), epochs=1,
                         optimizer=Adam(model.parameters(), lr=1e-12), validation=(x, y))
    assert h.train_accuracy == (0.75,) and abs(h.val_accuracy[0] - 0.75) < 1e-12


def test_fit_epochs_failures():
    x, y = np.ones((4, 2)), np.zeros(4, dtype=np.int64)
    model = Linear(2, 2, seed=0)
    with pytest.raises(TypeError, match="loader must be a DataLoader, got tuple"):
        train.fit_epochs(model, (x, y), epochs=1)
    with pytest.raises(ValueError, match=r"epochs must be an int in \[1, 100,000\], got epochs=0"):
        train.fit_epochs(model, DataLoader(x, y), epochs=0)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="inputs must be finite"):
        train.fit_epochs(model, DataLoader(bad, y), epochs=1)
    model.weight.data[...] = 1e308
    with pytest.raises(train.TrainingDiverged, match="epoch 0, batch 0"):
        train.fit_epochs(model, DataLoader(x * 1e10, y), epochs=1)


def test_fit_schedule_sets_the_rate_each_step(monkeypatch):
    from convtheory.nn import Conv2d

    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6))
    rates = []

    class Spy(Adam):
        def step(self):
            rates.append(self.lr)
            super().step()

    monkeypatch.setattr(train, "Adam", Spy)
    train.fit(Conv2d(1, 1, 3, bias=False, seed=0), x, np.zeros((1, 1, 4, 4)), steps=3, lr=0.1,
              schedule=lambda s: 0.5 ** s)
    assert rates == [0.1, 0.05, 0.025]
