"""Hypothesis strategies: valid geometries, and the fuzz tests that use them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convtheory import PADDING_MODES, ConvSpec, conv_matrix, conv_operator
from convtheory.structure import recover_kernel
from convtheory.testing.strategies import conv_specs, conv_weights, convolutions, images

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(max_examples=40, deadline=None, database=None)


@FUZZ
@given(conv_specs())
def test_conv_specs_are_valid_and_within_bounds(spec):
    assert isinstance(spec, ConvSpec) and 1 <= spec.ndim <= 3
    assert spec.padding_mode in PADDING_MODES
    assert all(k <= 3 for k in spec.kernel_size) and all(s <= 2 for s in spec.stride)
    assert spec.in_channels_per_group <= 2 and spec.groups <= 2
    assert all(o >= 1 for o in spec.output_spatial)


@FUZZ
@given(conv_specs(dims=(2,), padding_modes=("reflect", "circular"), max_groups=1, flip=True))
def test_conv_specs_respect_their_arguments(spec):
    assert spec.ndim == 2 and spec.padding_mode in ("reflect", "circular")
    assert spec.groups == 1 and spec.flip


@FUZZ
@given(convolutions(dims=(1, 2)))
def test_fuzz_recover_kernel_reads_back_every_conv(case):
    """Every geometry: the kernel read off conv_matrix is the kernel, entry for entry."""
    weight, spec = case
    M = conv_matrix(weight, spec)
    r = recover_kernel(M, spec)
    assert r, str(r)
    rebuilt = conv_matrix(r.kernel, spec).toarray()
    np.testing.assert_allclose(rebuilt, M.toarray(), rtol=0, atol=1e-12)
    evidence = r.verdict.evidence
    if evidence["unidentified_weights"] == 0 and evidence["ambiguous_weights"] == 0:
        # unique, so it is the kernel
        np.testing.assert_allclose(r.kernel, weight, rtol=0, atol=1e-12)


@FUZZ
@given(convolutions(dims=(1, 2, 3)), st.data())
def test_fuzz_operator_matches_matrix(case, data):
    """The pattern the strategies are for: your conv against conv_matrix, on drawn images."""
    weight, spec = case
    x = data.draw(images(spec))
    assert x.shape == spec.input_shape
    y = conv_operator(weight, spec) @ x.ravel()
    np.testing.assert_allclose(y, conv_matrix(weight, spec) @ x.ravel(), rtol=1e-12, atol=1e-12)


@FUZZ
@given(images(dims=(3,), max_channels=1, max_size=4))
def test_images_draw_shapes(x):
    assert x.ndim == 4 and x.shape[0] == 1 and max(x.shape) <= 4 and np.all(np.isfinite(x))


@FUZZ
@given(images((2, 3)))
def test_images_of_a_shape(x):
    assert x.shape == (2, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match=(
            r"dims must be a non-empty subset of \(1, 2, 3\), got dims=\(4,\)")):
        conv_specs(dims=(4,))
    with pytest.raises(ValueError, match=(
            r"padding_modes must be a non-empty subset of .*got padding_modes=\('edge',\)")):
        conv_specs(padding_modes=("edge",))
    with pytest.raises(ValueError, match=r"max_size must be an integer >= 1, got max_size=0"):
        conv_specs(max_size=0)
    with pytest.raises(TypeError, match=r"flip must be a bool or None, got flip=1"):
        conv_specs(flip=1)
    with pytest.raises(TypeError, match=r"spec must be a ConvSpec, got tuple"):
        conv_weights((3, 3))


def test_package_imports_without_hypothesis():
    """hypothesis is a test extra: convtheory.testing works without it; strategies say why not."""
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import convtheory.testing as t\n"
        "assert callable(t.assert_translation_equivariant)\n"
        "try:\n"
        "    import convtheory.testing.strategies\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    expected = ("needs hypothesis, which is a test extra of convtheory: "
                "pip install 'convtheory[test]'")
    assert expected in out.stdout
