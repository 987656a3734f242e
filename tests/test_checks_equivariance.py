import numpy as np
import pytest
import sympy

from convtheory import (
    check_pooling_equivariance,
    check_rotation_equivariance,
    check_scale_equivariance,
    check_translation_equivariance,
    conv_matrix,
    kernel_symbols,
    pooling_aliasing_example,
    rotation_kernel_constraint,
)
from convtheory.checks import LAPLACIAN, SOBEL_X


class TestTranslation:
    @pytest.mark.parametrize("shift", [(0, 1), (2, 3), (-1, 4)])
    def test_circular_holds_symbolically(self, shift):
        v = check_translation_equivariance(np.ones((2, 2, 3, 3)), (2, 5, 6), shift, padding=1,
                                           padding_mode="circular", symbolic=True)
        assert v and v.method == "symbolic"

    def test_circular_multichannel_numeric(self, rng):
        w = rng.standard_normal((3, 2, 3, 2))
        v = check_translation_equivariance(w, (2, 6, 5), (1, 2), padding=((1, 1), (0, 1)),
                                           padding_mode="circular")
        assert v and v.method == "exhaustive" and v.evidence["max_error"] == 0.0

    def test_zero_padding_fails_on_border_only(self, rng):
        w = rng.standard_normal((3, 3))
        v = check_translation_equivariance(w, (6, 6), (1, 0), padding=1)
        assert not v
        assert v.evidence["interior_max_error"] == 0.0 and v.evidence["error_confined_to_border"]
        error_map = v.evidence["error_map"]
        # By hand, for a vertical shift by one: row 0 wraps around, row 1's preimage (row 0)
        # reads the top padding, row 5 reads the bottom padding; rows 2..4 are interior,
        # and the columns do not matter (both sides read the same side padding).
        assert np.all(error_map[[0, 1, 5], :] > 0)
        assert np.all(error_map[2:5, :] == 0)
        failing = {tuple(o) for o in v.evidence["outputs_with_error"]}
        assert failing == {tuple(o) for o in v.evidence["border_outputs"]}

    def test_circular_has_no_border(self, rng):
        v = check_translation_equivariance(rng.standard_normal((3, 3)), (6, 6), (1, 2), padding=1,
                                           padding_mode="circular")
        assert v and v.evidence["border_outputs"] == []
        # A strided circular conv whose outputs do not cover the circle has a border.
        v = check_translation_equivariance(rng.standard_normal(3), (7,), 2, stride=2, padding=1,
                                           padding_mode="circular")
        assert v.evidence["border_outputs"] != []

    def test_zero_padding_counterexample_is_real(self, rng):
        w = rng.standard_normal(3)
        v = check_translation_equivariance(w, (7,), 2, padding=1)
        j = v.counterexample["input_basis_index"][1]
        o = v.counterexample["output_index"][1]
        x = np.zeros(7)
        x[j] = 1.0
        M = conv_matrix(w, (7,), padding=1)
        lhs, rhs = M @ np.roll(x, 2), np.roll(M @ x, 2)
        assert abs(lhs[o] - rhs[o]) == pytest.approx(v.counterexample["error"])

    def test_error_map_against_torch(self, rng):
        torch = pytest.importorskip("torch")
        w = rng.standard_normal((2, 3, 3, 3))
        v = check_translation_equivariance(w, (3, 7, 8), (2, 1), padding=1)
        x = torch.from_numpy(rng.standard_normal((3, 7, 8)))[None]
        conv = lambda t: torch.nn.functional.conv2d(t, torch.from_numpy(w), padding=1)  # noqa: E731
        diff = (conv(torch.roll(x, (2, 1), (2, 3))) - torch.roll(conv(x), (2, 1), (2, 3)))[0].numpy()
        seen = np.abs(diff).max(axis=0) > 1e-12
        # A random input shows an error exactly where the matrix identity fails.
        assert np.array_equal(seen, v.evidence["error_map"] > 0)
        assert not seen[3:6, 2:7].any()  # interior by hand: rows 3..5, cols 2..6

    def test_stride_only_multiples(self, rng):
        w = rng.standard_normal((2, 1, 3))
        kw = dict(stride=2, padding=1, padding_mode="circular")
        assert check_translation_equivariance(w, (1, 8), 2, **kw)
        assert check_translation_equivariance(w, (1, 8), 4, **kw)
        odd = check_translation_equivariance(w, (1, 8), 1, **kw)
        assert not odd and odd.evidence["min_error_over_output_shifts"] > 0

    def test_position_dependent_kernel_fails(self, rng):
        # A "conv" whose kernel changes with the output position: circulant broken in one row.
        M = conv_matrix(rng.standard_normal(3), (6,), padding=1, padding_mode="circular").tolil()
        M[3, 2:5] = np.array([[1.0, 2.0, 3.0]])
        v = check_translation_equivariance(np.ones(3), (6,), 1, padding=1, padding_mode="circular",
                                           matrix=M.tocsr())
        assert not v
        assert v.evidence["interior_max_error"] > 0 and not v.evidence["error_confined_to_border"]

    def test_symbolic_position_dependent_fails(self):
        w = kernel_symbols((2,))
        M = sympy.Matrix(conv_matrix(w, (4,), padding=((0, 1),), padding_mode="circular"))
        M[2, 2] = 2 * w[0]
        v = check_translation_equivariance(w, (4,), 1, padding=((0, 1),), padding_mode="circular",
                                           matrix=M)
        assert not v and v.method == "symbolic"

    def test_symbolic_size_guard(self):
        # (3 * 256 - 2)^2 = 586,756 real taps: 3 per output per axis, 2 clipped by the padding.
        with pytest.raises(ValueError, match="a symbolic check would build a sympy matrix with 586,756 taps"):
            check_translation_equivariance(np.ones((3, 3)), (256, 256), 1, padding=1, symbolic=True)

    def test_bad_shift(self):
        with pytest.raises(ValueError, match=r"shift must be an int or a tuple of 2 ints \(one per"):
            check_translation_equivariance(np.ones((3, 3)), (5, 5), (1, 2, 3))
        with pytest.raises(TypeError, match="shift must be an int or a tuple of 1 ints, got 1.5"):
            check_translation_equivariance(np.ones(3), (5,), 1.5)
        with pytest.raises(ValueError, match=r"max_output_shifts must be >= 1 .*got max_output_shifts=0"):
            check_translation_equivariance(np.ones(3), (8,), 1, stride=2, max_output_shifts=0)

    def test_non_multiple_shift_holds_when_some_output_shift_works(self):
        # The zero kernel commutes with every shift: the verdict must look at the error.
        v = check_translation_equivariance(np.zeros(3), (8,), 1, stride=2, padding=1,
                                           padding_mode="circular")
        assert v and v.evidence["output_shift"] == (0,)
        assert v.evidence["min_error_over_output_shifts"] == 0.0
        # The search stops at the first output shift that works (the nearest to 1/2: 0).
        assert v.evidence["output_shifts_tried"] == 1
        assert "output shifts tried until one worked: 1 of 4" in v.scope

    def test_non_multiple_shift_symbolic_fails_for_every_shift(self):
        v = check_translation_equivariance(np.ones((1, 1, 3)), (1, 8), 1, stride=2, padding=1,
                                           padding_mode="circular", symbolic=True)
        assert not v and v.evidence["output_shifts_tried"] == v.evidence["output_shifts_total"] == 4
        assert "all 4 output shifts" in v.scope

    def test_truncated_search_says_so(self, rng):
        w = rng.standard_normal(3)
        v = check_translation_equivariance(w, (8,), 1, stride=2, padding=1, padding_mode="circular",
                                           max_output_shifts=2)
        assert not v and v.evidence["output_shifts_tried"] == 2
        assert "TRUNCATED: only 2 of 4 output shifts tried" in v.scope
        full = check_translation_equivariance(w, (8,), 1, stride=2, padding=1,
                                              padding_mode="circular")
        assert "TRUNCATED" not in full.scope and full.evidence["output_shifts_tried"] == 4

    def test_size_guard_counts_taps_without_building_them(self):
        # 3000 x 3000 with a 3x3 kernel: ~81 million taps; refused before any is built.
        with pytest.raises(ValueError, match="would build a sympy matrix with 80,892,036 taps"):
            check_translation_equivariance(np.ones((3, 3)), (3000, 3000), 1, symbolic=True)


class TestPooling:
    def maxpool(self, x):
        return x.reshape(-1, 2).max(axis=1)

    def test_multiples_of_stride_hold(self):
        assert check_pooling_equivariance(self.maxpool, (8,), 2, stride=2)
        assert check_pooling_equivariance(lambda x: x.reshape(-1, 2).mean(axis=1), (8,), 4, stride=2)

    def test_one_sample_shift_fails(self):
        v = check_pooling_equivariance(self.maxpool, (8,), 1, stride=2)
        assert not v and v.evidence["min_error_over_output_shifts"] > 0

    def test_a_non_equivariant_pool_fails(self):
        # "pooling" that weights positions differently: not equivariant even for multiples.
        def weighted(x):
            return (x.reshape(-1, 2) * np.arange(1, 5)[:, None]).max(axis=1)
        assert not check_pooling_equivariance(weighted, (8,), 2, stride=2)

    def test_torch_pools(self):
        torch = pytest.importorskip("torch")
        F = torch.nn.functional
        for pool in (F.max_pool1d, F.avg_pool1d):
            def apply(x, pool=pool):
                return pool(torch.from_numpy(x)[None], 2).numpy()[0]
            assert check_pooling_equivariance(apply, (3, 8), 2, stride=2)
            assert not check_pooling_equivariance(apply, (3, 8), 1, stride=2)

    def test_not_callable(self):
        with pytest.raises(TypeError, match="pool must be callable, got str"):
            check_pooling_equivariance("max", (8,), 2, stride=2)

    def test_needs_samples(self):
        with pytest.raises(ValueError, match="n_samples must be >= 1 .* got n_samples=0"):
            check_pooling_equivariance(self.maxpool, (8,), 2, stride=2, n_samples=0)
        with pytest.raises(ValueError, match=r"atol must be a finite number \(not NaN\) >= 0, got atol=-1"):
            check_pooling_equivariance(self.maxpool, (8,), 2, stride=2, atol=-1)
        with pytest.raises(ValueError, match=r"pool must keep the 1 shifted axes .* shape \(\)"):
            check_pooling_equivariance(lambda x: x.max(), (8,), 1, stride=8)

    def test_invariant_pool_with_non_multiple_shift_holds(self):
        v = check_pooling_equivariance(lambda x: x.max(keepdims=True), (8,), 1, stride=8)
        assert v and v.evidence["output_shift"] == (0,)
        # ...while a pool that is not invariant fails with every output shift.
        v = check_pooling_equivariance(lambda x: x[:1] * x.max(keepdims=True), (8,), 1, stride=8)
        assert not v and v.evidence["min_error_over_output_shifts"] > 0

    def test_one_output_shift_must_work_for_every_sample(self):
        # pick(shift x) is pick(x) or its cyclic shift by one, depending on the signs of x[0]
        # and x[-1]: each sample alone is matched by some output shift, but no single output
        # shift serves samples with equal and with opposite signs.
        def pick(x):
            return np.array([x.max(), x.min()]) if x[0] > 0 else np.array([x.min(), x.max()])
        assert check_pooling_equivariance(pick, (8,), 1, stride=4, n_samples=1, seed=3)
        v = check_pooling_equivariance(pick, (8,), 1, stride=4, n_samples=8, seed=3)
        assert not v and v.evidence["output_shifts_tried"] == 2

    def test_search_within_atol_is_not_called_truncated(self):
        # Off by ~1e-15 at output shift 0: within atol, found at the first try of 2.
        def pool(x):
            return np.full(2, x.max()) + 1e-15 * x[:2]
        v = check_pooling_equivariance(pool, (8,), 1, stride=4, atol=1e-12)
        assert v and 0 < v.evidence["max_error"] <= 1e-12
        assert "tried until one worked: 1 of 2" in v.scope
        v = check_pooling_equivariance(lambda x: x[::2] + 1e-15 * x[0], (8,), 1, stride=2,
                                       atol=1e-6, max_output_shifts=1)
        assert not v and "TRUNCATED: only 1 of 4 output shifts tried" in v.scope

    def test_atol(self):
        noisy = lambda x: self.maxpool(x) + 1e-9 * x[0]  # noqa: E731
        assert not check_pooling_equivariance(noisy, (8,), 2, stride=2)
        assert check_pooling_equivariance(noisy, (8,), 2, stride=2, atol=1e-6)

    def test_aliasing_example(self):
        v = pooling_aliasing_example()
        assert v
        assert v.evidence["pool(x)"] == [0.0, 1.0, 0.0, 1.0]
        assert v.evidence["pool(shift x)"] == [1.0, 1.0, 1.0, 1.0]

    def test_aliasing_example_fails_for_an_invariant_pool(self):
        # Global max is shift invariant: the example cannot show aliasing with it.
        assert not pooling_aliasing_example(lambda x: np.array([x.max()]))


class TestRotation:
    def test_sobel_fails_laplacian_holds(self):
        sobel = check_rotation_equivariance(SOBEL_X, (6, 6), padding=1)
        assert not sobel and sobel.evidence["agrees_with_kernel_invariance"]
        lap = check_rotation_equivariance(LAPLACIAN, (6, 6), padding=1)
        assert lap and lap.evidence["kernel_rotation_invariant"]

    def test_counterexample_is_real(self):
        v = check_rotation_equivariance(SOBEL_X, (5, 5), padding=1)
        x = np.zeros((5, 5))
        x[v.counterexample["input_basis_index"][1:]] = 1.0
        M = conv_matrix(SOBEL_X, (5, 5), padding=1)
        lhs = (M @ np.rot90(x).ravel()).reshape(5, 5)
        rhs = np.rot90((M @ x.ravel()).reshape(5, 5))
        assert lhs[v.counterexample["output_index"][1:]] != rhs[v.counterexample["output_index"][1:]]

    def test_rot180_invariant_kernel(self):
        w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 4.0], [3.0, 2.0, 1.0]])
        assert check_rotation_equivariance(w, (5, 5), quarter_turns=2, padding=1)
        assert not check_rotation_equivariance(w, (5, 5), quarter_turns=1, padding=1)

    def test_generic_symbolic_fails(self):
        assert not check_rotation_equivariance(np.ones((3, 3)), (4, 4), padding=1, symbolic=True)

    def test_kernel_constraint(self):
        v = rotation_kernel_constraint((3, 3))
        assert v and v.evidence["dimension"] == 3
        assert not v.evidence["sobel_x_in_space"] and v.evidence["laplacian_in_space"]
        # Every basis kernel is rotation invariant; the Laplacian is in their span.
        basis = [np.array(b, dtype=float) for b in v.evidence["basis"]]
        assert all(np.array_equal(np.rot90(b), b) for b in basis)
        coef, *_ = np.linalg.lstsq(np.stack([b.ravel() for b in basis], 1), LAPLACIAN.ravel(), rcond=None)
        assert np.allclose(np.stack([b.ravel() for b in basis], 1) @ coef, LAPLACIAN.ravel())
        assert rotation_kernel_constraint((5, 5)).evidence["dimension"] == 7
        assert rotation_kernel_constraint((3, 3), quarter_turns=2).evidence["dimension"] == 5

    def test_kernel_constraint_fails_for_asymmetric_geometry(self):
        v = rotation_kernel_constraint((4, 4), padding="same")
        assert not v and v.counterexample["matrix_solution_dimension"] < 4

    def test_bad_quarter_turns(self):
        with pytest.raises(TypeError, match=r"quarter_turns must be an int, got quarter_turns=1.5"):
            check_rotation_equivariance(np.ones((3, 3)), (5, 5), quarter_turns=1.5)
        for turns in (0, 4, -8):
            with pytest.raises(ValueError, match=f"quarter_turns must not be a multiple of 4 .*"
                                                 f"got quarter_turns={turns}"):
                check_rotation_equivariance(np.ones((3, 3)), (5, 5), quarter_turns=turns)
            with pytest.raises(ValueError, match="quarter_turns must not be a multiple of 4"):
                rotation_kernel_constraint((3, 3), quarter_turns=turns)

    def test_non_square(self):
        with pytest.raises(ValueError, match="rotation needs square input and output planes"):
            check_rotation_equivariance(np.ones((3, 3)), (5, 6))
        with pytest.raises(ValueError, match="rotation equivariance needs a 2-D conv"):
            check_rotation_equivariance(np.ones(3), (5,))


class TestScale:
    def test_generic_kernel_fails(self, rng):
        w = rng.standard_normal(3)
        down = check_scale_equivariance(w, (8,), padding=1, padding_mode="circular")
        up = check_scale_equivariance(w, (4,), direction="up", padding=1, padding_mode="circular")
        assert not down and not up
        assert "dilated" in down.evidence["commutes_when"]

    def test_dilated_fine_kernel_commutes(self, rng):
        w = rng.standard_normal((2, 2, 3, 3))
        for mode in ("circular", "zeros"):
            assert check_scale_equivariance(w, (2, 8, 8), padding=1, padding_mode=mode,
                                            fine=dict(dilation=2, padding=2))

    def test_rtol(self):
        # A delta kernel commutes with upsampling; one tap of 1e-9 next to it breaks that by
        # 1e-9 per entry: a failure at the default rtol, within rtol=1e-6.
        near_delta = np.array([1e-9, 1.0, 0.0])
        v = check_scale_equivariance(near_delta, (4,), direction="up", padding=1)
        assert not v and v.evidence["max_error"] == pytest.approx(1e-9)
        assert check_scale_equivariance(near_delta, (4,), direction="up", padding=1, rtol=1e-6)
        with pytest.raises(ValueError, match=r"rtol must be a finite number \(not NaN\) >= 0, got rtol=-1"):
            check_scale_equivariance(near_delta, (8,), rtol=-1)

    def test_delta_commutes_with_upsampling(self):
        assert check_scale_equivariance(np.array([0.0, 1.0, 0.0]), (4,), direction="up", padding=1)

    def test_bad_input(self):
        with pytest.raises(ValueError, match="factor must be >= 1, got factor=0"):
            check_scale_equivariance(np.ones(3), (8,), factor=0)
        with pytest.raises(ValueError, match="direction must be 'down' or 'up'"):
            check_scale_equivariance(np.ones(3), (8,), direction="sideways")
        with pytest.raises(ValueError, match="have different sizes"):
            check_scale_equivariance(np.ones(3), (8,))
        with pytest.raises(ValueError, match=r"factor=3 gives a fine input \(1, 6, 6\) and a coarse "
                                             r"input \(1, 2, 2\) on which this conv is not defined"):
            check_scale_equivariance(np.ones((3, 3)), (6, 6), factor=3)
        # A tail the factor does not divide would be dropped by the downsampling.
        with pytest.raises(ValueError, match=r"input_shape must be divisible by factor=3 on every "
                                             r"spatial axis .* got spatial size \(4, 4\)"):
            check_scale_equivariance(np.ones((3, 3)), (4, 4), factor=3)
