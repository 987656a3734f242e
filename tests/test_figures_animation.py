"""The sliding-filter animation: each frame's window, output and matrix row agree; small and stable."""

import io

import numpy as np
import pytest
import scipy.signal

from convtheory.figures.animation import MAX_GIF_BYTES, sliding_filter_frames, sliding_filter_gif


@pytest.mark.parametrize("n, k, stride, padding", [(5, 3, 1, 0), (6, 3, 2, 1), (7, 2, 3, 2)])
def test_each_frame_is_one_row_of_the_matrix_and_one_window(n, k, stride, padding):
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal((3, k, k)), rng.standard_normal((3, n, n))
    M, frames = sliding_filter_frames(w, x, stride=stride, padding=padding)
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    full = sum(scipy.signal.correlate(padded[c], w[c], mode="valid") for c in range(3))
    reference = full[::stride, ::stride]
    assert len(frames) == M.shape[0] == reference.size
    for frame in frames:
        r, c = frame["output"]
        rows, cols = frame["window_rows"], frame["window_cols"]
        assert len(rows) == len(cols) == k
        # The window is where the filter sits on the padded grid: it reproduces the output.
        window = padded[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        assert np.isclose((window * w).sum(), reference[r, c], atol=1e-12)
        assert np.isclose(frame["value"], reference[r, c], atol=1e-12)
        # The matrix row reads exactly the window's unpadded positions, on every channel.
        read = np.flatnonzero(M[frame["row"]])
        inside = [(ch, i - padding, j - padding) for ch in range(3) for i in rows for j in cols
                  if 0 <= i - padding < n and 0 <= j - padding < n]
        assert set(read) <= {np.ravel_multi_index(p, x.shape) for p in inside}


def test_a_wrong_window_would_be_caught():
    # The check above is not vacuous: one window off by one reproduces a different output.
    rng = np.random.default_rng(5)
    w, x = rng.standard_normal((3, 3, 3)), rng.standard_normal((3, 5, 5))
    _, frames = sliding_filter_frames(w, x)
    rows, cols = frames[0]["window_rows"] + 1, frames[0]["window_cols"]
    assert not np.isclose((x[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] * w).sum(),
                          frames[0]["value"])


@pytest.mark.parametrize("options", [{}, {"n": 6, "stride": 2, "padding": 1}])
def test_gif_is_small_stable_and_has_a_frame_per_output(options):
    from PIL import Image

    gif = sliding_filter_gif(0, **options)
    assert gif[:4] == b"GIF8" and len(gif) < MAX_GIF_BYTES
    assert gif == sliding_filter_gif(0, **options)  # same seed, same bytes
    assert gif != sliding_filter_gif(1, **options)
    with Image.open(io.BytesIO(gif)) as image:
        assert image.n_frames == 9
