"""Structure recognition: Toeplitz / circulant (multi-level) and kernel recovery.

References are independent of the taps: scipy.linalg.toeplitz / circulant,
and block matrices written out from their index rule with ``np.indices``.
Every recogniser is fed a matrix that breaks the structure in a known entry
and must name exactly that entry.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import circulant, toeplitz

from convtheory import ConvSpec, conv_matrix
from convtheory.structure import (
    KernelRecovery,
    StructureBreach,
    is_circulant,
    is_toeplitz,
    recover_kernel,
)

MODES = ("zeros", "circular", "reflect", "replicate")


def multilevel(t, ms, ns, circular=False):
    """The index rule, written out: M[(i1, i2), (j1, j2)] = t[i1 - j1, i2 - j2] (or modulo n)."""
    i1, i2, j1, j2 = np.indices((ms[0], ms[1], ns[0], ns[1]))
    if circular:
        return t[(i1 - j1) % ns[0], (i2 - j2) % ns[1]].reshape(ms[0] * ms[1], ns[0] * ns[1])
    return t[i1 - j1 + ns[0] - 1, i2 - j2 + ns[1] - 1].reshape(ms[0] * ms[1], ns[0] * ns[1])


class TestToeplitz:
    def test_scipy_toeplitz_holds_dense_and_sparse(self, rng):
        T = toeplitz(rng.standard_normal(5), rng.standard_normal(7))
        for M in (T, sp.csr_array(T), sp.coo_matrix(T)):
            v = is_toeplitz(M)
            assert v and v.method == "exhaustive" and v.counterexample is None

    @pytest.mark.parametrize("sparse", [False, True])
    def test_one_entry_perturbed_is_named(self, rng, sparse):
        T = toeplitz(rng.standard_normal(5), rng.standard_normal(6))
        T[3, 2] += 0.25
        v = is_toeplitz(sp.csr_array(T) if sparse else T)
        assert not v
        b = v.counterexample
        assert (b.row, b.col, b.reason) == (3, 2, "tie broken")
        assert b.expected == T[1, 0] and b.found == T[3, 2]
        assert f"holds {float(T[1, 0])!r} elsewhere" in b.detail

    def test_missing_sparse_entry_breaks_its_diagonal(self):
        T = toeplitz([1.0, 2.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0])
        S = sp.lil_array(T)
        S[2, 1] = 0.0        # not stored any more: the diagonal of 2s loses an entry
        v = is_toeplitz(sp.csr_array(S))
        assert not v
        assert (v.counterexample.row, v.counterexample.col) == (2, 1)
        assert v.counterexample.found == 0.0 and v.counterexample.expected == 2.0

    def test_first_breach_in_row_major_order(self):
        T = toeplitz(np.arange(1.0, 6.0))
        T[4, 0], T[1, 3] = 9.0, 8.0
        assert (is_toeplitz(T).counterexample.row, is_toeplitz(T).counterexample.col) == (1, 3)

    def test_tolerance(self):
        T = toeplitz([1.0, 2.0, 3.0])
        T[2, 2] += 1e-12
        assert not is_toeplitz(T)
        assert is_toeplitz(T, atol=1e-11)
        assert is_toeplitz(T, rtol=1e-12)

    @pytest.mark.parametrize("ms, ns", [((3, 4), (3, 4)), ((2, 3), (4, 5)), ((4, 1), (2, 3))])
    def test_bttb_from_index_rule(self, rng, ms, ns):
        t = rng.standard_normal((ms[0] + ns[0] - 1, ms[1] + ns[1] - 1))
        M = multilevel(t, ms, ns)
        levels = tuple(zip(ms, ns))
        assert is_toeplitz(M, levels=levels)
        assert is_toeplitz(sp.csr_array(M), levels=levels)
        M[-1, -1] += 1.0     # a corner (M[-1, 0]) is a diagonal of its own and cannot break
        v = is_toeplitz(M, levels=levels)
        last = (M.shape[0] - 1, M.shape[1] - 1)
        assert not v and (v.counterexample.row, v.counterexample.col) == last

    def test_bttb_is_not_plain_toeplitz(self, rng):
        t = rng.standard_normal((5, 7))
        M = multilevel(t, (3, 4), (3, 4))
        assert is_toeplitz(M, levels=(3, 4))
        v = is_toeplitz(M)
        assert not v and v.counterexample.reason == "tie broken"

    def test_three_levels(self, rng):
        t = rng.standard_normal((3, 3, 3))
        i = np.indices((2, 2, 2, 2, 2, 2))
        M = t[i[0] - i[3] + 1, i[1] - i[4] + 1, i[2] - i[5] + 1].reshape(8, 8)
        assert is_toeplitz(M, levels=(2, 2, 2))
        assert not is_toeplitz(M, levels=(4, 2))

    def test_zero_padded_conv_is_bttb_strided_is_not(self, rng):
        w = rng.standard_normal((3, 2))
        M = conv_matrix(w, (6, 5), padding=1)
        spec = ConvSpec((3, 2), (6, 5), padding=1)
        assert is_toeplitz(M, levels=tuple(zip(spec.output_spatial, (6, 5))))
        M2 = conv_matrix(w, (6, 5), stride=2)
        o = ConvSpec((3, 2), (6, 5), stride=2).output_spatial
        assert not is_toeplitz(M2, levels=tuple(zip(o, (6, 5))))

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match=(
                r"levels=\(\(2, 2\), \(2, 2\)\) describe a 4 x 4 matrix, but M.shape=\(3, 3\)")):
            is_toeplitz(np.eye(3), levels=(2, 2))
        with pytest.raises(ValueError, match=r"M must be 2-D, got M.shape=\(3,\)"):
            is_toeplitz(np.ones(3))
        with pytest.raises(TypeError, match="M must be numeric, got dtype <U1"):
            is_toeplitz(np.array([["a"]]))
        with pytest.raises(TypeError, match=(
                "M must be an ndarray or a scipy sparse matrix, got str")):
            is_toeplitz("abc")
        with pytest.raises(ValueError, match=r"atol must be a finite number \(not NaN\) >= 0, got atol=-1"):
            is_toeplitz(np.eye(2), atol=-1)
        with pytest.raises(TypeError, match=(
                r"levels must be a sequence of ints or \(rows, cols\) pairs, got levels=3")):
            is_toeplitz(np.eye(3), levels=3)
        with pytest.raises(ValueError, match=(
                r"levels\[0\] must be an int or a \(rows, cols\) pair")):
            is_toeplitz(np.eye(3), levels=[(3, 1, 1)])


class TestCirculant:
    def test_scipy_circulant(self, rng):
        C = circulant(rng.standard_normal(6))
        assert is_circulant(C) and is_circulant(sp.csr_array(C))
        assert is_toeplitz(C)                                     # a circulant is Toeplitz...
        assert not is_circulant(toeplitz(rng.standard_normal(6)))  # ...not conversely
        C[0, 5] += 1.0
        v = is_circulant(C)
        assert not v and (v.counterexample.row, v.counterexample.col) == (0, 5)

    def test_breach_after_first_entry(self, rng):
        C = circulant(rng.standard_normal(4))
        C[3, 1] = 7.0
        b = is_circulant(C).counterexample
        assert (b.row, b.col, b.found) == (3, 1, 7.0) and b.expected == C[0, 2]

    def test_bccb_from_index_rule_and_circular_conv(self, rng):
        t = rng.standard_normal((4, 5))
        M = multilevel(t, (4, 5), (4, 5), circular=True)
        assert is_circulant(M, levels=(4, 5))
        assert not is_circulant(M)
        conv = conv_matrix(rng.standard_normal((3, 3)), (4, 5), padding=1, padding_mode="circular")
        assert is_circulant(conv, levels=(4, 5))
        zero = conv_matrix(rng.standard_normal((3, 3)), (4, 5), padding=1)
        v = is_circulant(zero, levels=(4, 5))
        assert not v and v.counterexample.reason == "tie broken"

    def test_sparse_missing_wrapped_entry(self):
        C = circulant([1.0, 2.0, 0.0, 3.0])
        S = sp.lil_array(C)
        S[0, 1] = 0.0
        v = is_circulant(sp.csr_array(S))
        assert not v and (v.counterexample.row, v.counterexample.col) == (0, 1)

    def test_levels_must_be_square(self):
        with pytest.raises(ValueError, match=(
                r"a circulant level must be square, got levels\[0\]=\(2, 3\)")):
            is_circulant(np.zeros((2, 3)), levels=[(2, 3)])


def random_case(rng, mode, stride, dilation, groups, flip, ndim):
    n = (7, 6, 5)[:ndim]
    k = (3, 2, 3)[:ndim]
    c_in, c_out = 2 * groups, 3 * groups if groups > 1 else 2
    spec = ConvSpec((c_out, c_in // groups) + k, (c_in,) + n, stride=stride, padding=1,
                    dilation=dilation, groups=groups, padding_mode=mode, flip=flip)
    return rng.standard_normal(spec.weight_shape), spec


CONFIGS = [  # stride, dilation, groups, flip, ndim
    (1, 1, 1, False, 1), (2, 1, 1, False, 2), (1, 2, 1, True, 2), (2, 1, 2, False, 2),
    (1, 1, 1, True, 3), ((2, 1), (1, 2), 1, False, 2),
]


class TestRecoverKernel:
    @pytest.mark.parametrize("mode", MODES)
    @pytest.mark.parametrize("stride, dilation, groups, flip, ndim", CONFIGS)
    def test_recovers_random_kernels(self, rng, mode, stride, dilation, groups, flip, ndim):
        w, spec = random_case(rng, mode, stride, dilation, groups, flip, ndim)
        M = conv_matrix(w, spec)
        for given in (M, M.toarray()):
            r = recover_kernel(given, spec.input_shape, spec.kernel_size, **spec.conv_kwargs())
            assert isinstance(r, KernelRecovery) and r, str(r)
            assert np.array_equal(r.kernel, w)     # read off the matrix: exact, not approximate
            assert r.spec == spec and r.breach is None
        assert recover_kernel(M, spec)              # a ConvSpec replaces shape and options

    @pytest.mark.parametrize("mode", MODES)
    def test_one_entry_perturbed(self, rng, mode):
        w, spec = random_case(rng, mode, 1, 1, 1, False, 2)
        M = conv_matrix(w, spec).toarray()
        row = 24   # output (0, 3, 3): interior, so its entries hold one weight each
        col = int(np.flatnonzero(M[row])[4])
        before = M[row, col]
        M[row, col] += 0.5
        r = recover_kernel(M, spec)
        assert not r and r.kernel is None
        b = r.breach
        assert (b.row, b.col, b.reason) == (row, col, "tie broken")
        assert b.expected == before and b.found == before + 0.5
        assert "shared by" in b.detail

    @pytest.mark.parametrize("mode", MODES)
    def test_extra_entry_outside_support(self, rng, mode):
        w, spec = random_case(rng, mode, 1, 1, 1, False, 2)
        M = sp.lil_array(conv_matrix(w, spec))
        zero_cols = np.flatnonzero(conv_matrix(w, spec).toarray()[20] == 0)
        M[20, int(zero_cols[-1])] = 1e-3
        r = recover_kernel(sp.csr_array(M), spec)
        assert not r
        assert (r.breach.row, r.breach.col) == (20, int(zero_cols[-1]))
        assert r.breach.reason == "outside support" and r.breach.expected == 0.0

    def test_cross_group_entry_is_outside_support(self, rng):
        w, spec = random_case(rng, "zeros", 1, 1, 2, False, 2)
        M = conv_matrix(w, spec).toarray()
        M[0, -1] = 1.0     # output channel 0 (group 0) reading the last input channel (group 1)
        r = recover_kernel(M, spec)
        assert not r and (r.breach.row, r.breach.col, r.breach.reason) == (0, M.shape[1] - 1,
                                                                           "outside support")

    def test_tie_broken_between_rows(self, rng):
        """A position-dependent kernel: one output row uses a different kernel."""
        w = rng.standard_normal(3)
        M = conv_matrix(w, (8,)).toarray()
        M[4, 4:7] = rng.standard_normal(3)
        r = recover_kernel(M, (8,), (3,))
        assert not r and (r.breach.row, r.breach.col, r.breach.reason) == (4, 4, "tie broken")

    @pytest.mark.parametrize("mode", ["reflect", "replicate"])
    def test_fold_inconsistent(self, rng, mode):
        w = rng.standard_normal(3)
        M = conv_matrix(w, (6,), padding=1, padding_mode=mode).toarray()
        folded = (0, 1) if mode == "reflect" else (0, 0)   # where the left border folds two taps
        M[folded] += 0.1
        r = recover_kernel(M, (6,), (3,), padding=1, padding_mode=mode)
        assert not r and (r.breach.row, r.breach.col) == folded
        assert r.breach.reason == "fold inconsistent" and "sum of weights" in r.breach.detail

    @pytest.mark.parametrize("mode", ["reflect", "replicate"])
    def test_float32_folds_are_recovered_and_float32_breaches_still_found(self, rng, mode):
        # Folded sums rounded in float32 differ from the float64 reconstruction by ~eps32:
        # the default rtol follows M's dtype, so they match; a perturbation of 1e-3 does not.
        w = rng.standard_normal((2, 3, 3, 3))
        M = conv_matrix(w, (3, 6, 6), padding=2, padding_mode=mode).astype(np.float32)
        r = recover_kernel(M, (3, 6, 6), (3, 3), padding=2, padding_mode=mode)
        assert r and np.allclose(r.kernel, w, rtol=1e-6, atol=1e-6)
        M = M.tolil()
        M[0, 0] += 1e-3
        assert not recover_kernel(M, (3, 6, 6), (3, 3), padding=2, padding_mode=mode)

    def test_default_rtol_is_tight_for_float64(self, rng):
        w = rng.standard_normal(3)
        M = conv_matrix(w, (6,), padding=1, padding_mode="reflect").toarray()
        M[0, 1] *= 1 + 1e-12
        assert not recover_kernel(M, (6,), (3,), padding=1, padding_mode="reflect")
        assert recover_kernel(M, (6,), (3,), padding=1, padding_mode="reflect", rtol=1e-10)

    def test_weights_that_only_land_folded_are_solved(self, rng):
        """Replicate on 2 samples: the middle weight never lands alone, only in folded sums."""
        w = rng.standard_normal(3)
        spec = ConvSpec((3,), (2,), padding=1, padding_mode="replicate")
        r = recover_kernel(conv_matrix(w, spec), spec)
        # 2 outputs x 2 inputs = 4 entries, 3 weights: still identifiable, by least squares
        assert r and np.allclose(r.kernel.ravel(), w, rtol=0, atol=1e-14)

    def test_weights_seen_only_through_their_sum_are_reported(self):
        """Dilation 2 wraps both taps of [w0, w1] onto one of 2 samples: only w0 + w1 is in M."""
        spec = ConvSpec((1, 2), (1, 2), padding=((0, 0), (0, 1)), dilation=2,
                        padding_mode="circular")
        M = conv_matrix(np.array([[0.0, 1.0]]), spec)
        r = recover_kernel(M, spec)
        assert r and r.verdict.evidence["ambiguous_weights"] == 1
        # the minimum-norm kernel with w0 + w1 = 1
        np.testing.assert_allclose(r.kernel.ravel(), [0.5, 0.5], rtol=0, atol=1e-15)
        np.testing.assert_allclose(conv_matrix(r.kernel, spec).toarray(), M.toarray(), atol=1e-15)

    def test_weights_that_never_land_are_reported(self):
        spec = ConvSpec((3,), (1,), padding=1)   # only the middle weight ever meets the input
        r = recover_kernel(conv_matrix([5.0, 2.0, 7.0], spec), spec)
        assert r and r.kernel.ravel().tolist() == [0.0, 2.0, 0.0]
        assert r.verdict.evidence["unidentified_weights"] == 2

    def test_wrong_geometry_fails(self, rng):
        w = rng.standard_normal((3, 3))
        M = conv_matrix(w, (6, 6), padding=1, padding_mode="circular")
        r = recover_kernel(M, (6, 6), (3, 3), padding=1, padding_mode="zeros")
        assert not r and r.breach.reason == "outside support"   # the wrapped corner taps

    def test_breach_str_and_verdict(self):
        M = conv_matrix([1.0, 2.0], (3,)).toarray()
        M[1, 2] = 5.0
        r = recover_kernel(M, (3,), (2,))
        assert str(r.breach) == ("entry (1, 2): expected 2.0, found 5.0 "
                                 "(tie broken: weight (0, 0, 1), shared by 2 positions)")
        assert "first breach" in str(r) and r.verdict.to_dict()["holds"] is False
        assert isinstance(r.breach, StructureBreach)

    def test_bad_arguments(self):
        M = conv_matrix(np.ones(3), (5,))
        with pytest.raises(TypeError, match="kernel_size is required unless a ConvSpec"):
            recover_kernel(M, (5,))
        with pytest.raises(TypeError, match=(
                "kernel_size and conv options conflict with the ConvSpec")):
            recover_kernel(M, ConvSpec((3,), (5,)), (3,))
        with pytest.raises(ValueError, match=(
                r"M.shape=\(3, 5\) does not match the geometry's matrix_shape=\(3, 6\)")):
            recover_kernel(M, ConvSpec((4,), (6,)))
        with pytest.raises(ValueError, match=(
                r"M has 3 rows, not a multiple of the 2 output positions")):
            recover_kernel(M, (5,), (4,))
        with pytest.raises(TypeError, match="recover_kernel reads real matrices"):
            recover_kernel(M.toarray() * 1j, (5,), (3,))
        with pytest.raises(ValueError, match=r"kernel_size=\(3,\) is 1-D, so input_shape must be"):
            recover_kernel(M, (1, 1, 5), (3,))
        with pytest.raises(ValueError, match="reason must be one of"):
            StructureBreach(0, 0, 1, 2, "because")
