"""Black-box equivariance assertions, passing and failing, on callables we did not write.

Known answers (each stated in the test that checks it):

* ``scipy.ndimage.correlate``: ``mode="wrap"`` is translation equivariant on
  the whole image; ``"constant"``, ``"nearest"``, ``"mirror"`` and
  ``"reflect"`` are not at the border, and are in the interior.
* ``scipy.signal.convolve2d(mode="same")``: ``boundary="wrap"`` is
  equivariant; ``"fill"`` and ``"symm"`` only in the interior.
* ``torch.nn.Conv2d``: ``padding_mode="circular"`` is equivariant, ``"zeros"``
  only in the interior; with ``stride=2`` only for even shifts.
* Max-pooling 2x2 with stride 2 is equivariant to shifts by 2 (output moves
  by 1) and not to one-sample shifts.
* Sobel fails a quarter turn; the Laplacian commutes with every symmetry of
  the square.
"""

import re

import numpy as np
import pytest
from scipy import ndimage, signal

from convtheory import ConvSpec, conv_matrix
from convtheory.testing import (
    EquivarianceAssertionError,
    ReceptiveFieldMap,
    assert_invariant,
    assert_rotation_equivariant,
    assert_translation_equivariant,
    equivariance_error,
    receptive_field_map,
)
from convtheory.transforms import cyclic_shift
from convtheory.testing.equivariance import estimate_bytes

from .conftest import requires_torch

SOBEL = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
LAPLACIAN = np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])
W = np.random.default_rng(20240611).standard_normal((3, 3))


def correlate(mode, w=W):
    return lambda x: ndimage.correlate(x, w, mode=mode)


def matrix_callable(M, out_shape):
    return lambda x: (M @ x.ravel()).reshape(out_shape)


def max_pool_2x2(x):
    h, w = x.shape
    return x.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))


# --------------------------------------------------------------------------
# The failing cases the claims are about
# --------------------------------------------------------------------------
class TestKnownFailures:
    def test_position_dependent_bias_fails_translation(self):
        bias = np.arange(64.0).reshape(8, 8) / 64
        conv = correlate("wrap")
        # a constant bias is fine
        assert_translation_equivariant(lambda x: conv(x) + 0.5, (8, 8), seed=1)
        with pytest.raises(EquivarianceAssertionError) as info:
            assert_translation_equivariant(lambda x: conv(x) + bias, (8, 8), seed=1)
        err = info.value
        assert err.transform == "shift (1, 0) -> output shift (1, 0)"
        # f(Sx) - S f(x) = bias - S bias: largest where the ramp wraps, in row 0.
        assert err.position[0] == 0 and err.error == pytest.approx(7 / 8)
        assert "seed=1" in str(err) and "worst output position (0, " in str(err)

    def test_strided_conv_fails_off_stride_shifts_passes_multiples(self, rng):
        w = rng.standard_normal((3, 3))
        spec = ConvSpec((3, 3), (8, 8), stride=2, padding=1, padding_mode="circular")
        f = matrix_callable(conv_matrix(w, spec), spec.output_spatial)
        assert_translation_equivariant(f, (8, 8), [(2, 0), (0, 2), (4, 6)], stride=2, seed=3)
        for shift in [(1, 0), (0, 1), (3, 2)]:
            with pytest.raises(EquivarianceAssertionError,
                               match=re.escape(f"shift {shift}") + ".*candidate output shifts"):
                assert_translation_equivariant(f, (8, 8), [shift], stride=2, seed=3)
        with pytest.raises(EquivarianceAssertionError, match=(
                r"shift \(2, 0\) -> output shift \(2, 0\)")):
            assert_translation_equivariant(f, (8, 8), [(2, 0)], seed=3)   # stride forgotten

    def test_max_pool_fails_one_sample_shifts(self):
        even = [(2, 0), (0, 2), (2, 4)]
        assert_translation_equivariant(max_pool_2x2, (8, 8), even, stride=2, seed=5)
        with pytest.raises(EquivarianceAssertionError, match=r"shift \(0, 1\)"):
            assert_translation_equivariant(max_pool_2x2, (8, 8), [(0, 1)], stride=2, seed=5)

    def test_max_filter_with_stride_one_is_equivariant(self):
        """Pooling without subsampling (a wrapped max filter) commutes with every shift."""
        f = lambda x: ndimage.maximum_filter(x, size=3, mode="wrap")
        assert_translation_equivariant(f, (8, 8), [(1, 0), (0, 1), (3, 5)], seed=5)

    def test_sobel_fails_rot90_laplacian_passes(self):
        assert_rotation_equivariant(correlate("wrap", LAPLACIAN), (7, 7), seed=2)
        assert_rotation_equivariant(correlate("constant", LAPLACIAN), (7, 7), seed=2)
        with pytest.raises(EquivarianceAssertionError, match=(
                r"rotation equivariance fails for rot90 k=1")):
            assert_rotation_equivariant(correlate("wrap", SOBEL), (7, 7), seed=2)
        with pytest.raises(EquivarianceAssertionError, match=r"fails for rot90 k=2"):
            assert_rotation_equivariant(correlate("wrap", SOBEL), (7, 7), quarter_turns=(2,), seed=2)
        # Sobel-x is symmetric up-down, antisymmetric left-right.
        assert_rotation_equivariant(correlate("wrap", SOBEL), (7, 7), quarter_turns=(), flips=(-2,),
                                    seed=2)
        with pytest.raises(EquivarianceAssertionError, match=r"fails for flip axis=-1"):
            assert_rotation_equivariant(correlate("wrap", SOBEL), (7, 7), quarter_turns=(), flips=(-1,))


# --------------------------------------------------------------------------
# Callables the package did not write
# --------------------------------------------------------------------------
class TestScipyNdimage:
    def test_wrap_is_translation_equivariant(self):
        assert_translation_equivariant(correlate("wrap"), (9, 8), [(1, 0), (0, 1), (4, -3)], seed=0)

    @pytest.mark.parametrize("mode", ["constant", "nearest", "mirror", "reflect"])
    def test_other_modes_fail_at_the_border_hold_inside(self, mode):
        f = correlate(mode)
        with pytest.raises(EquivarianceAssertionError) as info:
            assert_translation_equivariant(f, (9, 8), [(0, 1)], seed=0)
        col = info.value.position[1]
        assert col in (0, 1, 7)   # where the window meets the border or the seam
        shifts = [(1, 0), (0, 1), (2, -2)]
        assert_translation_equivariant(f, (9, 8), shifts, mode="interior", seed=0)

    @pytest.mark.parametrize("mode", ["constant", "nearest", "mirror", "reflect", "wrap"])
    def test_error_lives_only_on_the_border(self, mode):
        """Zero error on every interior output, for every boundary mode (a 3x3 kernel, shift 1)."""
        shift = lambda x: cyclic_shift(x, (0, 1))
        err = equivariance_error(correlate(mode), shift, shift, (6, 7), samples=2, seed=4)
        err = err.max(axis=0)
        interior = np.zeros((6, 7), dtype=bool)
        interior[:, 2:-1] = True     # columns whose window is inside, before and after the shift
        assert np.all(err[interior] < 1e-12)
        if mode == "wrap":
            assert np.all(err < 1e-12)
        else:
            assert np.all(err[:, [0, 1, 6]].max(axis=0) > 1e-6)


class TestScipySignal:
    @staticmethod
    def convolve(boundary):
        return lambda x: signal.convolve2d(x, W, mode="same", boundary=boundary)

    def test_wrap_is_translation_equivariant(self):
        assert_translation_equivariant(self.convolve("wrap"), (7, 9), [(1, 1), (3, 0)], seed=0)

    @pytest.mark.parametrize("boundary", ["fill", "symm"])
    def test_fill_and_symm_fail_at_the_border_hold_inside(self, boundary):
        with pytest.raises(EquivarianceAssertionError, match="translation equivariance fails"):
            assert_translation_equivariant(self.convolve(boundary), (7, 9), seed=0)
        assert_translation_equivariant(self.convolve(boundary), (7, 9), mode="interior", seed=0)


@requires_torch
class TestTorchConv2d:
    @staticmethod
    def layer(seed=0, **options):
        import torch

        torch.manual_seed(seed)
        conv = torch.nn.Conv2d(2, 3, 3, bias=False, dtype=torch.float64, **options)

        def f(x):
            with torch.no_grad():
                return conv(torch.from_numpy(x)[None])[0].numpy()
        return f

    def test_circular_padding_is_equivariant(self):
        f = self.layer(padding=1, padding_mode="circular")
        assert_translation_equivariant(f, (2, 8, 8), [(1, 0), (0, 1), (3, 5)], seed=0)

    def test_zero_padding_fails_at_the_border_holds_inside(self):
        f = self.layer(padding=1)
        with pytest.raises(EquivarianceAssertionError, match=r"shift \(1, 0\)") as info:
            assert_translation_equivariant(f, (2, 8, 8), seed=0)
        assert info.value.position[1] in (0, 7)      # (channel, row, col): a border row
        assert_translation_equivariant(f, (2, 8, 8), mode="interior", seed=0)
        spec = ConvSpec((3, 2, 3, 3), (2, 8, 8), padding=1)
        assert_translation_equivariant(f, (2, 8, 8), mode="interior", receptive_field=spec, seed=0)

    def test_stride_two_only_even_shifts(self):
        f = self.layer(padding=1, stride=2, padding_mode="circular")
        assert_translation_equivariant(f, (2, 8, 8), [(2, 0), (0, 2), (2, 2)], stride=2, seed=0)
        with pytest.raises(EquivarianceAssertionError):
            assert_translation_equivariant(f, (2, 8, 8), [(1, 0)], stride=2, seed=0)

    def test_float32_needs_a_float32_tolerance(self):
        import torch

        conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
        f = lambda x: conv(torch.from_numpy(x.astype(np.float32))[None]).detach().numpy()[0]
        # float32 rounding (~1e-7 relative) is not an equivariance error: say so with atol.
        assert_translation_equivariant(f, (1, 8, 8), atol=1e-5, rtol=1e-5, seed=0)


# --------------------------------------------------------------------------
# Receptive fields: probed black box == tap tables
# --------------------------------------------------------------------------
@pytest.mark.parametrize("ndimage_mode, padding_mode", [
    ("constant", "zeros"), ("wrap", "circular"), ("mirror", "reflect"), ("nearest", "replicate")])
def test_probed_receptive_field_matches_the_spec(ndimage_mode, padding_mode):
    w = np.ones((3, 5))
    probed = receptive_field_map(correlate(ndimage_mode, w), (7, 9))
    spec = ConvSpec((3, 5), (7, 9), padding="same", padding_mode=padding_mode)
    exact = ReceptiveFieldMap.from_spec(spec)
    assert np.array_equal(probed.clean, exact.clean)
    if padding_mode in ("zeros", "replicate"):   # boxes coincide; wrap and mirror reorder positions
        assert np.array_equal(probed.lo, exact.lo) and np.array_equal(probed.hi, exact.hi)


def test_receptive_field_of_strided_dilated_conv():
    spec = ConvSpec((3,), (12,), stride=2, dilation=2, padding=2)
    rf = ReceptiveFieldMap.from_spec(spec)
    M = conv_matrix(np.ones(3), spec)
    probed = receptive_field_map(matrix_callable(M, spec.output_spatial), (12,))
    assert np.array_equal(rf.lo, probed.lo) and np.array_equal(rf.hi, probed.hi)
    assert rf.clean.tolist() == [False, True, True, True, True, False]


# --------------------------------------------------------------------------
# The error map, invariance, and the failure report
# --------------------------------------------------------------------------
def test_equivariance_error_shape_and_values(rng):
    f = lambda x: x ** 2
    shift = lambda x: cyclic_shift(x, 1)
    err = equivariance_error(f, shift, shift, (2, 5), samples=4, seed=9)
    assert err.shape == (4, 2, 5) and np.all(err == 0)
    err = equivariance_error(f, shift, lambda y: y, (2, 5), samples=4, seed=9)
    x = np.random.default_rng(9).standard_normal((4, 2, 5))
    assert np.array_equal(err, np.abs(np.roll(x, 1, axis=-1) ** 2 - x ** 2))


def test_assert_invariant():
    assert_invariant(np.sum, lambda x: cyclic_shift(x, (1, 2)), (5, 6), seed=0)
    assert_invariant(np.max, np.rot90, (5, 5), seed=0)
    with pytest.raises(EquivarianceAssertionError, match=(
            r"invariance fails for a quarter turn: worst output position \(\)")):
        assert_invariant(lambda x: x[0, 0], np.rot90, (5, 5), name="a quarter turn", seed=0)
    with pytest.raises(EquivarianceAssertionError, match=r"invariance fails for shift_rows"):
        def shift_rows(x):
            return cyclic_shift(x, (1, 0))
        assert_invariant(lambda x: x[0], shift_rows, (4, 4), seed=0)


def test_failure_replays_from_its_seed():
    f = correlate("constant")
    with pytest.raises(EquivarianceAssertionError) as first:
        assert_translation_equivariant(f, (6, 6), seed=None)
    with pytest.raises(EquivarianceAssertionError) as again:
        assert_translation_equivariant(f, (6, 6), seed=first.value.seed)
    assert (again.value.position, again.value.error, again.value.sample) == (
        first.value.position, first.value.error, first.value.sample)
    assert f"seed={first.value.seed}" in str(first.value)


def test_report_draws_the_failing_border():
    with pytest.raises(EquivarianceAssertionError) as info:
        assert_translation_equivariant(correlate("constant"), (5, 6), [(0, 1)], seed=0)
    report = info.value.report().splitlines()
    assert report[-5:] == ["##...#"] * 5   # shift right: the first two columns and the last break
    assert info.value.failing == 15
    with pytest.raises(EquivarianceAssertionError) as info:
        assert_translation_equivariant(lambda x: correlate("constant")(x) + np.eye(5, 6), (5, 6),
                                       [(0, 1)], mode="interior", seed=0)
    # Interior mode compares outputs q = 1..3 (clean 3x3 windows; rows 0 and 4 are clipped),
    # at their shifted places p = q + (0, 1); the bias eye - S eye breaks two diagonals there.
    assert info.value.report().split("\n")[-5:] == ["", "  #..", "  ##.", "  .##", ""]
    assert info.value.failing == 5


def test_shift_forms():
    f = correlate("wrap")
    assert_translation_equivariant(f, (6, 6), 2, seed=0)                 # int: every axis
    assert_translation_equivariant(f, (6, 6), (1, 2), seed=0)            # one tuple
    assert_translation_equivariant(lambda x: np.roll(x, 0), (7,), [(1,), (2,), (3,)], seed=0)
    assert_translation_equivariant(lambda x: x * 2, (3, 6), [(1,), (2,)], seed=0)   # 1-D, C=3


def test_bad_arguments():
    f = correlate("wrap")
    with pytest.raises(ValueError, match=(
            r"mode must be one of \('circular', 'interior'\), got mode='border'")):
        assert_translation_equivariant(f, (4, 4), mode="border")
    with pytest.raises(ValueError, match=r"atol must be a finite number \(not NaN\) >= 0, got atol=-1.0"):
        assert_translation_equivariant(f, (4, 4), atol=-1.0)
    with pytest.raises(TypeError, match=r"rtol must be a real number, got '1' of type str"):
        assert_rotation_equivariant(f, (4, 4), rtol="1")
    with pytest.raises(ValueError, match=r"samples must be >= 1, got samples=0"):
        assert_invariant(f, np.rot90, (4, 4), samples=0)
    with pytest.raises(TypeError, match=r"f must be callable, got ndarray"):
        assert_translation_equivariant(np.ones(3), (4, 4))
    with pytest.raises(ValueError, match=(
            r"shifts\[1\]=\(1,\) must have one entry per spatial axis \(ndim=2\)")):
        assert_translation_equivariant(f, (4, 4), [(1, 0), (1,)])
    with pytest.raises(TypeError, match=(
            r"receptive_field must be a ReceptiveFieldMap or a ConvSpec, got tuple")):
        assert_translation_equivariant(f, (4, 4), mode="interior", receptive_field=(3, 3))
    with pytest.raises(ValueError, match=(
            r"no output position is border-free under shift \(3, 0\) -> output shift \(3, 0\) for "
            r"input_shape=\(4, 4\); use a larger input_shape")):
        assert_translation_equivariant(correlate("constant"), (4, 4), [(3, 0)], mode="interior")
    with pytest.raises(ValueError, match=(
            r"stride must have ndim=2 entries, got stride=\(1, 1, 1\)")):
        assert_translation_equivariant(f, (4, 4), stride=(1, 1, 1))
    with pytest.raises(ValueError, match=r"rotations act on two axes, got input_shape=\(4,\)"):
        assert_rotation_equivariant(f, (4,))
    with pytest.raises(TypeError, match=r"transform must be callable, got int"):
        assert_invariant(f, 3, (4, 4))
    with pytest.raises(TypeError, match=r"transform_in must be callable, got str"):
        equivariance_error(f, "shift", np.rot90, (4, 4))
    with pytest.raises(ValueError, match=(
            r"ndim must be between 1 and len\(input_shape\)=2, got ndim=3")):
        receptive_field_map(f, (4, 4), ndim=3)
    with pytest.raises(TypeError, match=r"spec must be a ConvSpec, got dict"):
        ReceptiveFieldMap.from_spec({})
    with pytest.raises(ValueError, match=(
            r"f\(T_in x\).shape=\(4, 4\) differs from T_out\(f\(x\)\).shape=\(4, 2\)")):
        equivariance_error(f, lambda x: x, lambda y: y[:, :2], (4, 4))


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate"])
def test_strided_interior(rng, padding_mode):
    """Stride 2 with a border: even shifts hold in the interior (probed or given), odd ones never."""
    spec = ConvSpec((3, 3), (10, 10), stride=2, padding=1, padding_mode=padding_mode)
    f = matrix_callable(conv_matrix(rng.standard_normal((3, 3)), spec), spec.output_spatial)
    even = [(2, 0), (0, 2), (2, -2)]
    assert_translation_equivariant(f, (10, 10), even, stride=2, mode="interior", seed=0)
    assert_translation_equivariant(f, (10, 10), even, stride=2, mode="interior",
                                   receptive_field=spec, seed=0)
    with pytest.raises(EquivarianceAssertionError, match=r"shift \(1, 0\)"):
        assert_translation_equivariant(f, (10, 10), [(1, 0)], stride=2, mode="interior", seed=0)
    with pytest.raises(EquivarianceAssertionError, match=r"worst output position \(0, "):
        assert_translation_equivariant(f, (10, 10), [(2, 0)], stride=2, seed=0)   # the border


@pytest.mark.parametrize("conv, shift", [
    (dict(padding=1), (1, 0)),
    (dict(padding=1), (0, -2)),
    (dict(padding=(1, 2), padding_mode="reflect"), (1, 1)),
    (dict(padding=1, padding_mode="replicate", stride=2), (2, 0)),
    (dict(padding=1, padding_mode="circular"), (1, 3)),
    (dict(padding=1, padding_mode="circular", stride=2), (2, 2)),   # 7 inputs: not periodic
    (dict(padding=2, dilation=2), (0, 1)),
])
def test_spec_interior_is_exactly_error_free(conv, shift):
    # The per-axis interior of a conv: on every output it marks, conv(shift x) equals
    # shift'(conv x) for every input (the commutator's rows there are zero) ...
    from convtheory.checks import check_translation_equivariance
    w = np.random.default_rng(5).standard_normal((3, 3))
    v = check_translation_equivariance(w, (7, 8), shift, **conv)
    spec = ConvSpec(w.shape, (7, 8), **conv)
    u = tuple(t // s for t, s in zip(shift, spec.stride))
    rf = ReceptiveFieldMap.from_spec(spec)
    interior = cyclic_shift(rf.interior(shift, u), u)
    assert interior.any() and np.all(v.evidence["error_map"][interior] == 0)
    # ... and it contains the generic, conservative answer from the boxes alone.
    generic = ReceptiveFieldMap(rf.lo, rf.hi, rf.clean, rf.input_spatial)
    assert np.all(interior >= cyclic_shift(generic.interior(shift, u), u))


class TestBudgets:
    """Huge shapes are refused from the estimate, before f is called or an input drawn."""

    @staticmethod
    def never(x):
        raise AssertionError("f must not be called over budget")

    @pytest.mark.parametrize("call, name", [
        (lambda f: assert_translation_equivariant(f, (10**5, 10**5), seed=0),
         "assert_translation_equivariant"),
        (lambda f: assert_rotation_equivariant(f, (10**5, 10**5), seed=0),
         "assert_rotation_equivariant"),
        (lambda f: assert_invariant(f, np.rot90, (10**5, 10**5), seed=0), "assert_invariant"),
        (lambda f: equivariance_error(f, np.rot90, np.rot90, (10**5, 10**5)), "equivariance_error"),
    ])
    def test_huge_input_refused(self, call, name):
        # 3 samples of 10^10 float64, and the error and reference maps: 8 * 10^10 * 11 bytes.
        with pytest.raises(ValueError, match=(
                rf"{name} with 3 sample\(s\) of input_shape=\(100000, 100000\) would need about "
                rf"819.6 GiB, over max_bytes=2,147,483,648 \(2.0 GiB\); equivariance "
                rf"shows at any size a few receptive fields wide: use a smaller input_shape")):
            call(self.never)

    def test_max_bytes_is_the_estimate(self):
        f = correlate("wrap")
        needed = estimate_bytes((8, 8), samples=2)
        assert needed == 8 * 64 * (3 * 2 + 2)
        assert_translation_equivariant(f, (8, 8), samples=2, seed=0, max_bytes=needed)
        with pytest.raises(ValueError, match=rf"over max_bytes={needed - 1:,}"):
            assert_translation_equivariant(f, (8, 8), samples=2, seed=0, max_bytes=needed - 1)
        with pytest.raises(ValueError, match=r"max_bytes must be >= 1, got max_bytes=0"):
            assert_invariant(f, np.rot90, (8, 8), max_bytes=0)

    def test_receptive_field_map_call_budget(self):
        with pytest.raises(ValueError, match=(
                r"receptive_field_map would call f 80,000 times \(twice per spatial position of "
                r"\(200, 200\)\), over max_calls=32,768; probe a smaller input_shape, pass the "
                r"geometry")):
            receptive_field_map(self.never, (200, 200))
        with pytest.raises(ValueError, match=r"over max_calls=31"):
            receptive_field_map(self.never, (4, 4), max_calls=31)
        assert receptive_field_map(correlate("wrap"), (4, 4), max_calls=32).clean.shape == (4, 4)
        # The interior mode infers the receptive field through the same budget.
        with pytest.raises(ValueError, match=r"receptive_field_map would call f 80,000 times"):
            assert_translation_equivariant(self.never, (200, 200), mode="interior", samples=1)
