"""numpy's ufunc buffer around short strided rows: set inside, restored after, per thread."""

import threading

import numpy as np
import pytest

from convtheory import ufunc_buffer
from convtheory.nn.conv_plan import ConvPlan
from convtheory.spec import ConvSpec


def test_set_inside_and_restored_after_an_error():
    before = np.getbufsize()
    with ufunc_buffer.short_rows():
        assert np.getbufsize() == ufunc_buffer.ROW_BUFFER != before
    assert np.getbufsize() == before
    with pytest.raises(RuntimeError, match="inside"):
        with ufunc_buffer.short_rows(64):
            assert np.getbufsize() == 64
            raise RuntimeError("inside")
    assert np.getbufsize() == before


def test_another_thread_keeps_its_own_buffer():
    before, seen = np.getbufsize(), []
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait()
        seen.append(np.getbufsize())
        done.set()

    worker = threading.Thread(target=other)
    worker.start()
    with ufunc_buffer.short_rows(64):
        inside.set()
        done.wait(10)
    worker.join()
    assert seen == [before] and np.getbufsize() == before


def test_the_conv_plan_leaves_the_callers_buffer_as_it_was():
    """The layer's forward and backward passes run on the short-row buffer, and give it back."""
    spec = ConvSpec((2, 2, 3, 3), (2, 6, 6), padding=1)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((2, 2, 3, 3))
    plan = ConvPlan(spec)
    before = np.getbufsize()
    y = plan.forward(x, w)
    assert np.getbufsize() == before
    plan.backward(np.ones_like(y), w)
    assert np.getbufsize() == before


@pytest.mark.parametrize("size, error, match", [
    ("64", TypeError, r"size must be an integer, got '64' of type str"),
    (True, TypeError, r"size must be an integer, got True of type bool"),
    (64.0, TypeError, r"size must be an integer, got 64.0 of type float"),
    (100, ValueError, r"size must be a positive multiple of 16 \(numpy.setbufsize\), got size=100"),
    (0, ValueError, r"size must be a positive multiple of 16 .* got size=0"),
    (-16, ValueError, r"size must be a positive multiple of 16 .* got size=-16"),
    (10**9, ValueError, r"size=1,000,000,000 is over numpy's largest ufunc buffer"),
])
def test_a_bad_size_is_refused_naming_it_and_changes_nothing(size, error, match):
    """A bad size raises before numpy's buffer is touched (numpy's own messages named
    neither the argument nor, for a string, the problem: "'<' not supported")."""
    before = np.getbufsize()
    with pytest.raises(error, match=match):
        with ufunc_buffer.short_rows(size):
            pass
    assert np.getbufsize() == before
