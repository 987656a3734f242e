"""The tap caches: bounded by the bytes they hold, not only by their count."""

import numpy as np
import pytest

from convtheory import ConvSpec, taps
from convtheory.taps import channel_layout, conv_taps, spatial_taps


def _spec(n):
    return ConvSpec((1, 1, 3, 3), (1, n, n), padding=1)


def test_cache_returns_the_same_object_until_cleared():
    spatial_taps.cache_clear()
    spec = _spec(8)
    first = spatial_taps(spec)
    assert spatial_taps(ConvSpec((1, 1, 3, 3), (1, 8, 8), padding=1)) is first  # equal specs hit
    spatial_taps.cache_clear()
    assert spatial_taps(spec) is not first
    np.testing.assert_array_equal(spatial_taps(spec).cols, first.cols)


def test_cache_is_bounded_by_bytes(monkeypatch):
    spatial_taps.cache_clear()
    one = spatial_taps(_spec(40))
    # 40 * 40 outputs, 9 taps each minus the 4 * 40 * 3 - 4 clipped at the border,
    # three int64 arrays of taps plus indptr (entries share the tap arrays).
    n_taps = 40 * 40 * 9 - (4 * 40 * 3 - 4)
    assert spatial_taps.cache_bytes() == 8 * (3 * n_taps + 40 * 40 + 1)
    budget = 2 * spatial_taps.cache_bytes() + 100
    monkeypatch.setattr(taps, "TAPS_CACHE_BYTES", budget)
    spatial_taps.cache_clear()
    # Three keys with the same spatial taps (the cache keys on the whole spec).
    specs = [ConvSpec((c, 1, 3, 3), (1, 40, 40), padding=1) for c in (1, 2, 3)]
    kept = [spatial_taps(spec) for spec in specs]
    # Two fit: the least recently used one was evicted when the third arrived.
    assert spatial_taps.cache_len() == 2 and spatial_taps.cache_bytes() <= budget
    assert spatial_taps(specs[2]) is kept[2]
    assert spatial_taps(specs[0]) is not kept[0]
    np.testing.assert_array_equal(one.cols, kept[0].cols)


def test_a_result_over_the_budget_is_returned_but_not_kept(monkeypatch):
    monkeypatch.setattr(taps, "TAPS_CACHE_BYTES", 1000)
    channel_layout.cache_clear()
    small = channel_layout(ConvSpec((1, 1, 2), (1, 3)))  # 32 entries of int64, and indices
    big = channel_layout(_spec(30))
    assert big.row_nnz.sum() > 0
    # The big one is not kept, and did not push the small one out on its way.
    assert channel_layout.cache_len() == 1
    assert channel_layout(ConvSpec((1, 1, 2), (1, 3))) is small
    assert channel_layout(_spec(30)) is not big


def test_count_taps_agrees_with_the_built_taps():
    for spec in (_spec(7), ConvSpec((4, 2, 3), (4, 9), stride=2, padding=2, groups=2),
                 ConvSpec((1, 1, 5), (1, 6), padding=3, padding_mode="reflect")):
        assert taps.count_taps(spec) == len(taps.conv_taps(spec))


class TestBudget:
    """The tap arrays are estimated first and refused over ``max_bytes``, never allocated."""

    def test_conv_taps_refuses_over_the_budget_with_advice(self):
        huge = ConvSpec((3, 3), (100_000, 100_000))
        with pytest.raises(ValueError, match=r"conv_taps of a kernel \(1, 1, 3, 3\) on input "
                                             r"\(1, 100000, 100000\) would need about 5.3 TiB, over "
                                             r"max_bytes=2,147,483,648 \(2.0 GiB\); use a smaller input"):
            conv_taps(huge)

    def test_spatial_taps_refuses_over_the_budget_with_advice(self):
        huge = ConvSpec((3, 3), (100_000, 100_000))
        with pytest.raises(ValueError, match=r"spatial_taps of a kernel .* over max_bytes="):
            spatial_taps(huge)

    def test_the_budget_is_the_callers(self):
        # 8 outputs x 3 taps: 24 taps of 3 int64 (576 bytes) from 24 spatial pairs (984 bytes)
        spec = ConvSpec((3,), (10,))
        assert len(conv_taps(spec, max_bytes=576 + 984)) == 24
        with pytest.raises(ValueError, match=r"conv_taps .* would need about 1.5 KiB, over "
                                             r"max_bytes=1,559 \(1.5 KiB\)"):
            conv_taps(spec, max_bytes=1559)
        with pytest.raises(ValueError, match=r"spatial_taps .* over max_bytes=10"):
            spatial_taps(spec, max_bytes=10)

    @pytest.mark.parametrize("bad, error, message", [
        (-1, ValueError, r"max_bytes must be >= 1, got max_bytes=-1$"),
        (0, ValueError, r"max_bytes must be >= 1, got max_bytes=0$"),
        (1.5, TypeError, r"max_bytes must be an integer, got 1.5 of type float"),
        (True, TypeError, r"max_bytes must be an integer, got True of type bool"),
        ("big", TypeError, r"max_bytes must be an integer, got 'big' of type str"),
    ])
    def test_max_bytes_must_be_a_count(self, bad, error, message):
        with pytest.raises(error, match=message):
            conv_taps(ConvSpec((3,), (10,)), max_bytes=bad)
