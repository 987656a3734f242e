"""Hypothesis strategies for convolution geometries, kernels and images.

Property-test your own convolution against :func:`convtheory.conv_matrix`::

    from hypothesis import given
    from convtheory.testing.strategies import convolutions, images

    @given(convolutions(dims=(2,)), st.data())
    def test_my_conv(case, data):
        weight, spec = case
        x = data.draw(images(spec))
        M = conv_matrix(weight, spec)
        np.testing.assert_allclose(my_conv(x, weight, **spec.conv_kwargs()).ravel(),
                                   M @ x.ravel(), atol=1e-12)

Hypothesis is a test extra, not a dependency of convtheory: this module (and
only this module) needs it, and says so when it is missing.
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as err:  # pragma: no cover - the test extra is installed in CI
    raise ImportError(
        "convtheory.testing.strategies needs hypothesis, which is a test extra of convtheory: "
        "pip install 'convtheory[test]' (or pip install hypothesis)"
    ) from err

import numbers

from ..geometry import PADDING_MODES, kernel_extent
from ..spec import ConvSpec

__all__ = ["conv_specs", "conv_weights", "convolutions", "images"]


def _bounded(value, name: str, minimum: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {name}={value!r}")
    return int(value)


def _choices(values, name: str, allowed) -> tuple:
    values = tuple(values)
    if not values or any(v not in allowed for v in values):
        raise ValueError(f"{name} must be a non-empty subset of {tuple(allowed)}, "
                         f"got {name}={values!r}")
    return values


def _elements():
    # Moderate, finite values: products and sums stay far from overflow and subnormals.
    return st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def conv_specs(dims=(1, 2, 3), padding_modes=PADDING_MODES, max_size: int = 6,
               max_kernel: int = 3, max_channels: int = 2, max_groups: int = 2,
               max_stride: int = 2, max_dilation: int = 2, flip=None):
    """Valid :class:`~convtheory.ConvSpec` geometries.

    Parameters
    ----------
    dims : sequence of {1, 2, 3}
        Spatial dimensions to draw from.
    padding_modes : sequence of str
        Subset of :data:`~convtheory.PADDING_MODES`.
    max_size : int
        Largest spatial input size drawn freely (an axis grows beyond it
        only when the kernel's footprint needs it).
    max_kernel, max_channels, max_groups, max_stride, max_dilation : int
        Upper bounds; channels are per group.
    flip : bool, optional
        Fixed correlation (False) or convolution (True); drawn when None.

    Returns
    -------
    strategy of ConvSpec

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, database=None)
    ... @given(conv_specs(dims=(2,), padding_modes=("reflect",)))
    ... def test(spec):
    ...     assert spec.ndim == 2 and spec.padding_mode == "reflect"
    >>> test()
    """
    dims = _choices(dims, "dims", (1, 2, 3))
    padding_modes = _choices(padding_modes, "padding_modes", PADDING_MODES)
    max_size, max_kernel = _bounded(max_size, "max_size", 1), _bounded(max_kernel, "max_kernel", 1)
    max_channels = _bounded(max_channels, "max_channels", 1)
    max_groups = _bounded(max_groups, "max_groups", 1)
    max_stride = _bounded(max_stride, "max_stride", 1)
    max_dilation = _bounded(max_dilation, "max_dilation", 1)
    if flip is not None and not isinstance(flip, bool):
        raise TypeError(f"flip must be a bool or None, got flip={flip!r}")
    return _conv_specs(dims, padding_modes, max_size, max_kernel, max_channels, max_groups,
                       max_stride, max_dilation, flip)


@st.composite
def _conv_specs(draw, dims, padding_modes, max_size, max_kernel, max_channels, max_groups,
                max_stride, max_dilation, flip) -> ConvSpec:
    # Arguments are validated by conv_specs, eagerly, so that a bad bound fails at the call.
    d = draw(st.sampled_from(dims))
    mode = draw(st.sampled_from(padding_modes))
    groups = draw(st.integers(1, max_groups))
    c_in_g, c_out_g = draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    kernel, stride, dilation, padding, size = [], [], [], [], []
    for _ in range(d):
        k = draw(st.integers(1, max_kernel))
        dil = draw(st.integers(1, max_dilation)) if k > 1 else 1
        footprint = kernel_extent(k, dil)
        lo, hi = draw(st.integers(0, footprint - 1)), draw(st.integers(0, footprint - 1))
        smallest = max(1, footprint - lo - hi)
        if mode in ("reflect", "circular"):
            smallest = max(smallest, lo + 1, hi + 1)   # PyTorch: the pad must not exceed the input
        kernel.append(k)
        dilation.append(dil)
        stride.append(draw(st.integers(1, max_stride)))
        padding.append((lo, hi))
        size.append(draw(st.integers(smallest, max(smallest, max_size))))
    flip = draw(st.booleans()) if flip is None else bool(flip)
    return ConvSpec((groups * c_out_g, c_in_g) + tuple(kernel), (groups * c_in_g,) + tuple(size),
                    stride=tuple(stride), padding=tuple(padding), dilation=tuple(dilation),
                    groups=groups, padding_mode=mode, flip=flip)


def conv_weights(spec: ConvSpec, elements=None):
    """Kernels of shape ``spec.weight_shape`` (float64, finite, in [-2, 2] by default).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from convtheory import ConvSpec
    >>> @settings(max_examples=10, database=None)
    ... @given(conv_weights(ConvSpec((2, 3), (5, 5))))
    ... def test(w):
    ...     assert w.shape == (1, 1, 2, 3) and np.all(np.abs(w) <= 2)
    >>> test()
    """
    if not isinstance(spec, ConvSpec):
        raise TypeError(f"spec must be a ConvSpec, got {type(spec).__name__}")
    return hnp.arrays("float64", spec.weight_shape, elements=elements or _elements())


def convolutions(elements=None, **spec_options):
    """``(weight, spec)`` pairs: a geometry from :func:`conv_specs` and a kernel for it.

    ``conv_matrix(weight, spec)`` is then always valid.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, database=None)
    ... @given(convolutions(dims=(1,)))
    ... def test(case):
    ...     weight, spec = case
    ...     assert weight.shape == spec.weight_shape
    >>> test()
    """
    return conv_specs(**spec_options).flatmap(
        lambda spec: st.tuples(conv_weights(spec, elements), st.just(spec)))


def images(shape=None, *, dims=(2,), max_channels: int = 3, max_size: int = 8, elements=None):
    """Input arrays: for a :class:`~convtheory.ConvSpec`, of its ``input_shape``.

    Parameters
    ----------
    shape : ConvSpec or tuple of int, optional
        Draw arrays of this shape (a spec's ``input_shape``); when None, the
        shape is drawn too: ``(C, n1, ..., nd)`` with ``d`` from ``dims``.
    dims, max_channels, max_size
        Bounds of a drawn shape.
    elements : strategy, optional
        Values (default: finite floats in [-2, 2]).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(images(dims=(1, 2)))
    ... def test(x):
    ...     assert x.ndim in (2, 3) and x.dtype == np.float64
    >>> test()
    """
    elements = elements or _elements()
    if isinstance(shape, ConvSpec):
        return hnp.arrays("float64", shape.input_shape, elements=elements)
    if shape is not None:
        return hnp.arrays("float64", tuple(shape), elements=elements)
    dims = _choices(dims, "dims", (1, 2, 3))
    max_channels = _bounded(max_channels, "max_channels", 1)
    max_size = _bounded(max_size, "max_size", 1)
    drawn = st.sampled_from(dims).flatmap(lambda d: st.tuples(
        st.integers(1, max_channels), *[st.integers(1, max_size)] * d))
    return drawn.flatmap(lambda s: hnp.arrays("float64", s, elements=elements))
