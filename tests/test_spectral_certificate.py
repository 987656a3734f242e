"""The Cholesky certificate ``tau^2 I - G >= 0``: it proves true bounds and refuses false ones.

References: the dense SVD of ``conv_matrix`` (numpy), the closed form of the
difference kernel, and ``numpy.linalg.eigvalsh`` of the Gram matrix.
"""

import numpy as np
import pytest
import scipy.sparse

import convtheory.spectral_bounds as sb
from convtheory import ConvSpec, conv_matrix, conv_spectral_norm_bounds
from convtheory.geometry import polyphase_grids, polyphase_split
from convtheory.gram_certificate import (
    banded_cost,
    certify_banded,
    certify_dense,
    pixel_major,
    small_gram,
    tied_gram,
)

from .conftest import ROUNDING, dense_norm, traced_peak



LAYERS = [  # (weight shape, input shape, conv): every geometry the certificate serves
    ((4, 2, 3, 3), (2, 11, 12), dict(padding=1)),
    ((4, 2, 3, 3), (2, 11, 12), dict(padding=0)),
    ((4, 2, 3, 3), (2, 11, 12), dict(stride=2, padding=1)),
    ((4, 2, 3, 2), (2, 13, 9), dict(stride=(2, 3), padding=(2, 1))),
    ((4, 2, 3, 3), (2, 12, 12), dict(dilation=2, padding=2)),
    ((4, 1, 3, 3), (2, 10, 11), dict(groups=2, padding=1)),
    ((3, 1, 3, 3), (3, 10, 10), dict(groups=3, padding=1)),  # depthwise
    ((2, 3, 5), (3, 40), dict(padding=2, stride=2)),
    ((2, 2, 2, 2, 2), (2, 5, 6, 5), dict(padding=1)),
    ((6, 2, 7, 7), (2, 9, 9), dict(padding=3, stride=2)),  # wide: the output-side Gram
]


@pytest.fixture
def embedding_path(monkeypatch):
    """Send every layer down the large-layer path: embedding, Lanczos, certificate."""
    monkeypatch.setattr(sb, "DENSE_ENTRIES", 0)


@pytest.mark.parametrize("wshape, shape, conv", LAYERS)
def test_certificate_closes_the_bracket_around_the_dense_svd(wshape, shape, conv,
                                                             embedding_path):
    w = np.random.default_rng(20061).standard_normal(wshape)
    exact = dense_norm(w, shape, **conv)
    b = conv_spectral_norm_bounds(w, shape, rtol=1e-4, **conv)
    assert "Cholesky certificate" in b.method["upper"], b.method
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    assert b.relative_width <= 1e-4 and b.converged
    assert abs(b.value - exact) <= 1e-4 * exact


@pytest.mark.parametrize("wshape, shape, conv", LAYERS)
def test_banded_cost_is_the_bandwidth_of_the_pixel_major_gram(wshape, shape, conv):
    w = np.random.default_rng(5).standard_normal(wshape)
    spec = ConvSpec(wshape, shape, **conv)
    G, wide, _ = small_gram(conv_matrix(w, spec))
    spatial = spec.output_spatial if wide else spec.input_spatial
    channels = spec.out_channels if wide else spec.in_channels
    order = pixel_major(channels, int(np.prod(spatial)))
    P = G.tocsr()[order][:, order].tocoo()
    n, band = banded_cost(spec, wide)
    assert n == G.shape[0]
    assert band >= int(np.max(np.abs(P.row - P.col)))  # never under: the budget is honest
    assert band <= int(np.max(np.abs(P.row - P.col))) + channels  # and not far over


def test_non_zero_padding_is_costed_as_dense():
    spec = ConvSpec((2, 2, 3, 3), (2, 8, 8), padding=1, padding_mode="circular")
    assert banded_cost(spec, False) == (128, 127)


def test_closed_form_difference_kernel(embedding_path):
    # [1, -1] with no padding on n: the valid part of tridiag(-1, 2, -1), norm 2 cos(pi/2n)
    # (the circular embedding alone leaves a width of about 1e-6 at n = 600)
    n = 600
    b = conv_spectral_norm_bounds([1.0, -1.0], (n,), rtol=1e-8)
    exact = 2 * np.cos(np.pi / (2 * n))
    assert b.lower <= exact * (1 + 1e-15) and exact <= b.upper
    assert b.relative_width <= 1e-8 and "Cholesky" in b.method["upper"]


class TestWrongCertificateFails:
    def gram(self):
        w = np.random.default_rng(7).standard_normal((3, 2, 3, 3))
        G, _, _ = small_gram(conv_matrix(w, (2, 9, 9), padding=1))
        top = float(np.linalg.eigvalsh(G.toarray())[-1])
        return G, top

    @pytest.mark.parametrize("factor", [1 - 1e-6, 1 - 1e-9, 0.5])
    def test_tau_below_the_norm_is_refused(self, factor):
        G, top = self.gram()
        order = pixel_major(2, 81)
        assert certify_dense(G.toarray(), top * factor) is None
        assert certify_banded(G, top * factor, order) is None

    def test_tau_above_the_norm_is_proven(self):
        G, top = self.gram()
        for bound in (certify_dense(G.toarray(), top * (1 + 1e-9)),
                      certify_banded(G, top * (1 + 1e-9), pixel_major(2, 81))):
            assert top <= bound <= top * (1 + 1e-8)

    @pytest.mark.parametrize("tau2", [np.nan, np.inf, -1.0, 0.0])
    def test_bad_tau_is_refused(self, tau2):
        G, _ = self.gram()
        assert certify_dense(G.toarray(), tau2) is None
        assert certify_banded(G, tau2, np.arange(G.shape[0])) is None

    def test_nan_in_the_gram_is_refused(self):
        G, top = self.gram()
        D = G.toarray()
        D[3, 3] = np.nan
        assert certify_dense(D, 2 * top) is None
        assert certify_banded(scipy.sparse.csr_matrix(D), 2 * top, np.arange(D.shape[0])) is None

    def test_a_band_cut_too_narrow_is_not_a_proof(self, monkeypatch):
        # A block size below the bandwidth drops the couplings between
        # non-neighbouring blocks: the "factorisation" then certifies too small
        # a tau.  The guard is that the block size is at least the bandwidth.
        import convtheory.gram_certificate as gc
        G = scipy.sparse.diags([[1.0] * 2, [0.0] * 4, [1.0] * 2], [-2, 0, 2]).tocsr()
        top = float(np.linalg.eigvalsh(G.toarray())[-1])  # 1
        monkeypatch.setattr(gc, "block_size", lambda band: 1)
        wrong = certify_banded(G, 0.5, np.arange(4))
        assert wrong is not None and wrong < top  # so the real block_size matters
        monkeypatch.undo()
        assert certify_banded(G, 0.5, np.arange(4)) is None

    def test_nan_weights_are_refused(self):
        with pytest.raises(ValueError, match="weight must be finite"):
            conv_spectral_norm_bounds(np.full((1, 1, 3), np.nan), (1, 40))


def test_over_budget_is_reported(embedding_path, monkeypatch):
    monkeypatch.setattr(sb, "CERTIFICATE_FLOPS", 0)
    w = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    b = conv_spectral_norm_bounds(w, (2, 12, 12), padding=1)
    assert "no Cholesky certificate" in b.method["upper"]
    assert "circular embedding" in b.method["upper"]
    exact = dense_norm(w, (2, 12, 12), padding=1)
    assert b.lower <= exact * (1 + ROUNDING) <= b.upper * (1 + 2 * ROUNDING)
    assert b.converged == (b.relative_width <= 1e-4)


def test_dense_path_uses_the_certificate_above_the_eigh_size():
    # 3 -> 10 channels, 3x3 on 12x12: a 1000 x 432 matrix, Gram 432 > _EIGH_MAX
    w = np.random.default_rng(12).standard_normal((10, 3, 3, 3))
    b = conv_spectral_norm_bounds(w, (3, 12, 12))
    exact = dense_norm(w, (3, 12, 12))
    assert "Cholesky certificate" in b.method["upper"]
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    assert b.relative_width < 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_dense_path_at_the_default_rtol_is_exact_to_rounding(seed):
    # Above 400 unknowns the dense path is ARPACK plus one Cholesky: its Ritz value must be
    # close enough for the certificate at 1e-12, not only for the looser rtol / 2.
    w = np.random.default_rng(seed).standard_normal((10, 3, 3, 3))
    b = conv_spectral_norm_bounds(w, (3, 12, 12))
    exact = dense_norm(w, (3, 12, 12))
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    assert b.relative_width < 1e-10 and "Cholesky" in b.method["upper"]


def test_dense_path_falls_back_to_the_eigensolver_below_the_certificate_width():
    # The Cholesky certificate's rounding shift is about n^2 eps of tau^2 (1.5e-11
    # relative here, Gram 432): for a tighter rtol only LAPACK's eigenvalue (4 n eps
    # wide) can close the bracket, and the dense path must not stop short of it.
    w = np.random.default_rng(12).standard_normal((10, 3, 3, 3))
    b = conv_spectral_norm_bounds(w, (3, 12, 12), rtol=1e-11)
    exact = dense_norm(w, (3, 12, 12))
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    assert b.converged and b.relative_width <= 1e-11
    assert "eigenvalue" in b.method["upper"]


def test_polyphase_split_and_grids():
    c = np.arange(-7, 8)
    for s in (1, 2, 3):
        phase, shift = polyphase_split(c, s)
        assert np.array_equal(s * shift + phase, c) and np.all((0 <= phase) & (phase < s))
    grids = polyphase_grids((7, 10), (3, 2), count=3)
    assert grids == [(9, 10), (12, 12), (15, 14)]
    with pytest.raises(ValueError, match="stride"):
        polyphase_split([1], 0)


@pytest.mark.parametrize("conv", [dict(stride=2, padding=1, output_padding=1),
                                  dict(stride=1, padding=0), dict(stride=2, groups=2)])
def test_transposed_conv_bracket_around_the_dense_svd(conv, embedding_path):
    # A transposed conv is the adjoint of the forward conv of its ConvTransposeSpec:
    # the same matrix transposed, so the same norm (network/layers.py uses this).
    from convtheory import conv_transpose_matrix
    from convtheory.network.norms import layer_norm_bounds
    from convtheory.transposed_spec import ConvTransposeSpec

    # transposed weights are (C_in, C_out / groups, k1, k2): 4 -> 3, or 4 -> 4 in 2 groups
    c_out_per_group = 3 if conv.get("groups", 1) == 1 else 2
    w = np.random.default_rng(1984).standard_normal((4, c_out_per_group, 3, 3))
    shape = (4, 9, 10)
    exact = np.linalg.svd(conv_transpose_matrix(w, shape, **conv).toarray(),
                          compute_uv=False)[0]
    spec = ConvTransposeSpec(w.shape, shape, **conv).adjoint
    b = layer_norm_bounds(w, spec)
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    assert (b.upper - b.lower) / b.upper <= 1e-4
    assert "Cholesky certificate" in b.method


def test_workspace_is_kept_per_thread_and_only_when_small(monkeypatch):
    """The dense path's kept buffers: one per name and thread, none above WORKSPACE_BYTES."""
    import threading

    from convtheory import gram_certificate as gc
    mine = gc.workspace("test", (4, 4))
    assert gc.workspace("test", (4, 4)) is mine
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(gc.workspace("test", (4, 4))))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and gc.workspace("test", (4, 4)) is mine
    monkeypatch.setattr(gc, "WORKSPACE_BYTES", 64)
    assert gc.workspace("big", (4, 4)) is not gc.workspace("big", (4, 4))


@pytest.mark.parametrize("conv", [{}, dict(stride=2)], ids=["tall-tied", "wide-sparse"])
def test_a_kept_gram_buffer_gives_the_same_bracket_twice(conv):
    """The second call reuses the first one's buffers (filled with its Gram matrix and
    factor) and must give the same bracket: nothing of the first call leaks into it, on
    the tied Gram matrix (tall) and on the sparse product's dense copy (wide)."""
    rng = np.random.default_rng(3)
    w1, w2 = rng.standard_normal((2, 10, 3, 3, 3))
    if conv:
        assert ConvSpec(w1.shape, (3, 12, 12), **conv).matrix_shape == (250, 432)  # wide
    first = conv_spectral_norm_bounds(w1, (3, 12, 12), rtol=1e-8, **conv)
    second = conv_spectral_norm_bounds(w2, (3, 12, 12), rtol=1e-8, **conv)
    again = conv_spectral_norm_bounds(w1, (3, 12, 12), rtol=1e-8, **conv)
    assert (first.lower, first.upper) == (again.lower, again.upper)
    for b, w in ((first, w1), (second, w2)):
        exact = np.linalg.svd(conv_matrix(w, (3, 12, 12), **conv).toarray(),
                              compute_uv=False)[0]
        assert b.lower <= exact * (1 + 1e-13) and exact <= b.upper * (1 + 1e-13)


TIED_CASES = [
    ((4, 2, 3, 3), (2, 5, 6), dict(padding=1, padding_mode=mode))
    for mode in ("zeros", "circular")
] + [
    # a boundary mode that reads each input once per output: reflect of one sample before
    ((4, 2, 2, 2), (2, 5, 6), dict(padding=((1, 0), (1, 0)), padding_mode="reflect")),
    ((4, 2, 3, 3), (2, 5, 6), dict(padding=1, padding_mode="circular", flip=True)),
    ((6, 2, 3, 3), (4, 7, 7), dict(padding=2, dilation=2, groups=2)),
    ((6, 1, 3, 3), (6, 6, 6), dict(padding=1, groups=6)),
    ((3, 2, 5), (2, 11), dict(padding=2)),
    ((3, 2, 3, 3, 3), (2, 4, 5, 4), dict(padding=1)),
    ((8, 2, 3, 3), (2, 9, 9), dict(stride=2, padding=1)),   # tall although strided
    ((10, 3, 3, 3), (3, 12, 12), {}),                      # P-Net's first layer
]


@pytest.mark.parametrize("wshape, shape, conv", TIED_CASES)
def test_tied_gram_is_the_sparse_gram(wshape, shape, conv):
    """M^T M summed from K_g = W_g^T W_g along the taps equals the sparse product, entry
    for entry (the same products in another order), for every boundary mode and groups."""
    w = np.random.default_rng(4).standard_normal(wshape)
    spec = ConvSpec(wshape, shape, **conv)
    M = conv_matrix(w, spec)
    rows, cols = M.shape
    assert rows >= cols
    G = tied_gram(w, spec, np.full((cols, cols), np.nan))  # every entry is written
    reference = (M.T @ M).toarray()
    np.testing.assert_allclose(G, reference, rtol=0, atol=1e-13 * np.abs(reference).max())


def test_tied_gram_declines_what_it_cannot_sum(monkeypatch):
    """A wide matrix (M M^T is the smaller Gram), a complex weight and a pattern over
    TIED_PRODUCTS go to the sparse product."""
    from convtheory import gram_certificate as gc
    w = np.ones((8, 3, 3, 3))
    wide = ConvSpec(w.shape, (3, 6, 6), stride=2)
    assert wide.matrix_shape[0] < wide.matrix_shape[1]
    assert tied_gram(w, wide, np.empty((108, 108))) is None
    tall = ConvSpec((2, 1, 3), (1, 6), padding=1)
    assert tied_gram(np.ones((2, 1, 3)) * 1j, tall, np.empty((6, 6))) is None
    monkeypatch.setattr(gc, "TIED_PRODUCTS", 10)
    gc._tied_pattern.cache_clear()
    try:
        assert tied_gram(np.ones((2, 1, 3)), tall, np.empty((6, 6))) is None
    finally:
        gc._tied_pattern.cache_clear()


def test_a_wrong_weight_order_fails_the_tied_gram():
    """The reference comparison can fail: K from the kernel flipped is another Gram matrix."""
    w = np.random.default_rng(5).standard_normal((4, 2, 3, 3))
    spec = ConvSpec(w.shape, (2, 6, 6), padding=1)
    M = conv_matrix(w, spec)
    wrong = tied_gram(np.ascontiguousarray(w[..., ::-1, ::-1]), spec, np.empty((72, 72)))
    assert not np.allclose(wrong, (M.T @ M).toarray(), rtol=0, atol=1e-8)


FOLDED_CASES = [  # two taps of one output read one input: the matrix entry is their sum
    ((4, 2, 3, 3), (2, 5, 6), dict(padding=1, padding_mode=mode))
    for mode in ("reflect", "replicate", "symmetric")
] + [
    ((4, 2, 3, 3), (2, 2, 2), dict(padding=1, padding_mode="circular")),  # kernel wider than input
    ((3, 1, 3), (1, 1), dict(padding=1, padding_mode="replicate")),          # a size-1 axis
    ((2, 1, 3), (1, 4), dict(padding=2, dilation=2, padding_mode="circular")),  # wraps: extent 5
]


@pytest.mark.parametrize("wshape, shape, conv", FOLDED_CASES)
def test_tied_gram_declines_folded_taps(wshape, shape, conv):
    """Where taps fold, M's entries are sums of weights and the Gram matrix must multiply
    those sums: the sparse product serves (tied_gram returns None)."""
    spec = ConvSpec(wshape, shape, **conv)
    rows, cols = spec.matrix_shape
    assert rows >= cols
    assert tied_gram(np.ones(wshape), spec, np.empty((cols, cols))) is None


@pytest.mark.parametrize("mode", ["replicate", "reflect", "symmetric", "circular"])
def test_a_folded_sum_near_zero_stays_inside_the_bracket(mode):
    """Two taps folded onto the one input of a size-1 axis, with weights that nearly cancel:
    both entries of M are w0 + w1, tiny but not 0.  Summing the products w_a w_b of the
    tied weights instead gave a Gram matrix of exactly 0, an upper bound below the lower one."""
    w = np.array([[[0.33950947157970146, -0.33950947157946454]]])
    exact = dense_norm(w, (1, 1), padding=1, padding_mode=mode)
    assert exact > 1e-13
    b = conv_spectral_norm_bounds(w, (1, 1), padding=1, padding_mode=mode)
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    assert b.relative_width <= 1e-4


@pytest.mark.parametrize("wshape, shape, conv, tied", [
    ((1, 1, 512), (1, 8), dict(padding=511), True),            # 8 of 512 taps inside, at most
    ((1, 1, 101, 101), (1, 1, 1), dict(padding=50), False),    # K alone would be 830 MB
])
def test_a_kernel_wider_than_the_input_costs_its_taps_not_its_size(wshape, shape, conv, tied):
    """The tied sum's memory follows the products it adds: its pattern is built from the
    taps that land inside the input (not from a mask over every pair of kernel positions,
    135 MB here), and where K = W^T W alone is over TIED_PRODUCTS the sparse product serves
    (it took 790 MB for a 1 x 1 matrix).  Peaks measured with tracemalloc, which numpy
    reports its arrays to."""

    from convtheory import gram_certificate as gc
    w = np.random.default_rng(6).standard_normal(wshape)
    spec = ConvSpec(wshape, shape, **conv)
    cols = spec.matrix_shape[1]
    gc._tied_pattern.cache_clear()
    with traced_peak() as peak:
        b = conv_spectral_norm_bounds(w, shape, **conv)
    assert peak.bytes < 32 * 2**20
    exact = dense_norm(w, shape, **conv)
    assert b.lower <= exact * (1 + ROUNDING) and exact <= b.upper * (1 + ROUNDING)
    G = tied_gram(w, spec, np.full((cols, cols), np.nan))
    assert (G is not None) == tied
    if tied:
        M = conv_matrix(w, spec)
        reference = (M.T @ M).toarray()
        np.testing.assert_allclose(G, reference, rtol=0, atol=1e-13 * np.abs(reference).max())


def _read_only(a):
    a.setflags(write=False)
    return a


@pytest.mark.parametrize("out, match", [
    (np.empty((50, 50), order="F"), r"got shape \(50, 50\), dtype float64, C-contiguous False"),
    (np.empty((50, 50), np.float32), r"got shape \(50, 50\), dtype float32"),
    (np.empty(2500), r"got shape \(2500,\)"),
    (_read_only(np.empty((50, 50))), r"writeable False"),
    ([[0.0] * 50] * 50, r"got a list"),
])
def test_tied_gram_refuses_an_out_it_cannot_sum_into(out, match):
    """The products are added into out's flat view: a Fortran-ordered out flattened to a
    copy and came back all zero (a Gram matrix of 0), a float32 one rounded the sums
    outside the allowance.  Both are refused, naming out."""
    w = np.random.default_rng(0).standard_normal((4, 2, 3, 3))
    spec = ConvSpec(w.shape, (2, 5, 5), padding=1)
    with pytest.raises(ValueError, match=r"out must be a writeable C-contiguous float64 "
                                         r"array of shape \(50, 50\), " + ".*" + match):
        tied_gram(w, spec, out)
