"""conv_transpose_matrix and conv_transpose_operator: against PyTorch and as conv_matrix(...).T."""

import numpy as np
import pytest
import scipy.sparse as sp
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convtheory import (ConvTransposeSpec, conv_matrix, conv_transpose_matrix,
                        conv_transpose_operator, conv_transpose_output_shape, dot_test,
                        kernel_symbols)
from tests.conftest import requires_torch, torch

# float64 sums of a few dozen O(1) products; any index error is O(1).
ATOL = 1e-11
SETTINGS = dict(derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def geometries(draw, max_ndim=2):
    """A valid transposed-conv geometry: (weight shape, input shape, options)."""
    ndim = draw(st.integers(1, max_ndim))
    groups = draw(st.integers(1, 2))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    ks, ns, ss, ds, ps, ops = [], [], [], [], [], []
    for _ in range(ndim):
        k, n = draw(st.integers(1, 4)), draw(st.integers(1, 5))
        s, d = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        op = draw(st.integers(0, max(s, d) - 1))
        full = (n - 1) * s + d * (k - 1) + op  # the output length is full - 2p + 1 >= 1
        p = draw(st.integers(0, max(full // 2, 0)))
        ks.append(k), ns.append(n), ss.append(s), ds.append(d), ps.append(p), ops.append(op)
    options = dict(stride=tuple(ss), padding=tuple(ps), output_padding=tuple(ops),
                   dilation=tuple(ds), groups=groups)
    try:
        ConvTransposeSpec((c_in, c_out // groups) + tuple(ks), (c_in,) + tuple(ns), **options)
    except ValueError:  # every tap in the padding: a PyTorch all-zero output, refused here
        assume(False)
    return (c_in, c_out // groups) + tuple(ks), (c_in,) + tuple(ns), options


def _torch_transpose(x, w, options):
    F = torch.nn.functional
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[w.ndim - 2]
    return fn(torch.from_numpy(x)[None], torch.from_numpy(w), **options)[0].numpy()


@requires_torch
@settings(max_examples=300, **SETTINGS)
@given(geometries(max_ndim=3), st.integers(0, 2**32 - 1))
def test_matrix_and_operator_match_torch(geom, seed):
    wshape, ishape, options = geom
    rng = np.random.default_rng(seed)
    w, x = rng.standard_normal(wshape), rng.standard_normal(ishape)
    expected = _torch_transpose(x, w, options)
    M = conv_transpose_matrix(w, ishape, **options)
    assert M.shape == (expected.size, x.size)
    np.testing.assert_allclose(M @ x.ravel(), expected.ravel(), atol=ATOL, rtol=0)
    A = conv_transpose_operator(w, ishape, **options)
    np.testing.assert_allclose(A @ x.ravel(), expected.ravel(), atol=ATOL, rtol=0)
    g = rng.standard_normal(A.shape[0])
    np.testing.assert_allclose(A.rmatvec(g), M.T @ g, atol=ATOL, rtol=0)
    assert dot_test(A)
    assert conv_transpose_output_shape(ishape[1:], wshape[2:], **{
        k: options[k] for k in ("stride", "padding", "output_padding", "dilation")}) \
        == expected.shape[1:]


@settings(max_examples=200, **SETTINGS)
@given(geometries(max_ndim=2), st.integers(0, 2**32 - 1))
def test_matrix_is_the_transpose_of_the_conv_matrix_entry_for_entry(geom, seed):
    # The conv of the transposed output size, whose first n outputs (all of them
    # when output_padding < stride) are the transposed conv's input.
    wshape, ishape, options = geom
    w = np.random.default_rng(seed).integers(-5, 6, size=wshape).astype(float)
    t = ConvTransposeSpec(wshape, ishape, **options)
    M = conv_transpose_matrix(w, ishape, **options)
    C = conv_matrix(w, t.output_shape, stride=options["stride"], padding=options["padding"],
                    dilation=options["dilation"], groups=options["groups"])
    # Rows of C beyond the transposed input (output_padding >= stride) are cropped.
    C = C[_leading_rows(C.shape[0], t)]
    assert M.shape == C.T.shape
    assert np.array_equal(M.toarray(), C.T.toarray())


def _leading_rows(n_rows, t):
    """Flat indices of the first ``n`` outputs per axis of the conv over the transposed output."""
    per_channel = n_rows // t.in_channels
    conv_out = t.adjoint.replace(input_shape=t.output_shape, padding=t.padding).output_spatial
    assert int(np.prod(conv_out)) == per_channel
    grid = np.arange(n_rows).reshape((t.in_channels,) + conv_out)
    return grid[(slice(None),) + tuple(slice(0, n) for n in t.input_spatial)].ravel()


@pytest.mark.parametrize("n, k, s, p, op, d", [
    (3, 3, 2, 0, 0, 1), (4, 3, 2, 1, 1, 1), (3, 2, 3, 1, 2, 1), (2, 3, 1, 0, 1, 2),
    (3, 2, 1, 0, 2, 3), (4, 4, 2, 2, 1, 2)])
def test_symbolic_matrix_is_exactly_the_conv_transpose(n, k, s, p, op, d):
    w = kernel_symbols((2, 1, k))
    t = ConvTransposeSpec(w.shape, (2, n), stride=s, padding=p, output_padding=op, dilation=d,
                          groups=2)
    M = conv_transpose_matrix(w, (2, n), stride=s, padding=p, output_padding=op, dilation=d,
                              groups=2)
    C = sympy.Matrix(conv_matrix(w, t.output_shape, stride=s, padding=p, dilation=d, groups=2))
    C = C.extract(list(_leading_rows(C.shape[0], t)), list(range(C.shape[1])))
    assert M.shape == C.T.shape
    assert all(sympy.expand(a - b) == 0 for a, b in zip(sympy.Matrix(M), C.T))
    # and the numeric matrix holds the same entries at the same places
    num = conv_transpose_matrix(np.arange(1.0, 2 * k + 1).reshape(w.shape), (2, n), stride=s,
                                padding=p, output_padding=op, dilation=d, groups=2)
    subs = dict(zip(w.ravel().tolist(), range(1, 2 * k + 1)))
    assert np.array_equal(num.toarray(), np.array(sympy.Matrix(M).subs(subs), dtype=float))


def test_uncovered_positions_are_zero_rows():
    # dilation 3 allows output_padding 2 > stride 1: the last 2 positions see no tap.
    M = conv_transpose_matrix(np.ones(3), (2,), dilation=3, output_padding=2)
    assert M.shape == (10, 2)
    assert np.diff(M.indptr)[-2:].tolist() == [0, 0]
    assert M.has_canonical_format and isinstance(M, sp.csr_array)


@pytest.mark.parametrize("op, s, d", [(2, 2, 1), (3, 1, 3), (1, 1, 1)])
def test_output_padding_must_be_smaller_than_stride_or_dilation(op, s, d):
    with pytest.raises(ValueError, match=rf"output_padding must be smaller than either stride or "
                                         rf"dilation .*output_padding={op}, stride={s} and "
                                         rf"dilation={d}"):
        conv_transpose_matrix(np.ones(3), (4,), stride=s, dilation=d, output_padding=op)


def test_bad_arguments_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match="padding of a transposed conv must be an int.*'same'"):
        conv_transpose_matrix(np.ones(3), (4,), padding="same")
    with pytest.raises(ValueError, match=r"channel mismatch.*weight.shape=\(2, 1, 3\)"):
        conv_transpose_matrix(np.ones((2, 1, 3)), (3, 4))
    with pytest.raises(ValueError, match="transposed conv has no output"):
        conv_transpose_matrix(np.ones(1), (1,), padding=1)
    # PyTorch returns zeros here (the one output is in the padding); refused with the reason.
    with pytest.raises(ValueError, match=r"every tap of the transposed conv lands in the padding "
                                         r"on spatial axis 0 \(padding=\(1, 1\), input 1\)"):
        conv_transpose_matrix(np.ones(1), (1,), stride=3, padding=1, output_padding=2)
    with pytest.raises(TypeError, match="output_padding must be an int or a tuple of 1 ints, got 0.5"):
        conv_transpose_matrix(np.ones(3), (4,), stride=2, output_padding=0.5)
    with pytest.raises(ValueError, match="output_padding must be >= 0"):
        conv_transpose_matrix(np.ones(3), (4,), stride=2, output_padding=-1)
    with pytest.raises(TypeError, match="needs numeric weights"):
        conv_transpose_operator(kernel_symbols((3,)), (4,))
    with pytest.raises(TypeError, match="conflict with the ConvTransposeSpec"):
        conv_transpose_matrix(np.ones(3), ConvTransposeSpec((3,), (4,)), stride=2)


def test_memory_is_estimated_and_refused_before_allocating():
    with pytest.raises(ValueError, match=r"conv_transpose_matrix would need about .* MiB.*"
                                         r"max_bytes=1,000.*conv_transpose_operator"):
        conv_transpose_matrix(np.ones((4, 4, 3, 3)), (4, 16, 16), stride=2, max_bytes=1000)
    with pytest.raises(ValueError, match=r"conv_transpose_operator would need about .* MiB"):
        conv_transpose_operator(np.ones((4, 4, 3, 3)), (4, 16, 16), stride=2, max_bytes=1000)
    with pytest.raises(ValueError, match="max_bytes must be a positive"):
        conv_transpose_matrix(np.ones(3), (4,), max_bytes=0)


def test_flip_is_the_transpose_of_the_flipped_conv(rng):
    w = rng.standard_normal((2, 3, 3))
    t = ConvTransposeSpec(w.shape, (2, 5), stride=2, flip=True)
    M = conv_transpose_matrix(w, (2, 5), stride=2, flip=True)
    C = conv_matrix(w, t.output_shape, stride=2, flip=True)
    assert abs(M - C.T.tocsr()).max() == 0
