"""Every public name, called with a malformed argument, refuses with a ValueError or TypeError.

For each public callable of ``convtheory``, ``convtheory.nn``,
``convtheory.nn.functional`` and ``convtheory.testing`` there is one valid
call below.  Hypothesis replaces one of its arguments (any parameter of the
signature, defaults included) by a malformed value: None, a string, NaN,
inf, a negative number, a bool, a huge integer, a wrong-length tuple, a
dict...  The call must then either return (some malformed values are
documented as accepted: ``seed=None``, ``symbolic=None``), or raise a
ValueError or TypeError.  Never an AttributeError, IndexError,
ZeroDivisionError, OverflowError, MemoryError, a numpy warning, or a hang:
each call runs under an alarm.
"""

import inspect
import math
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convtheory as ct
import convtheory.nn as nn
import convtheory.nn.functional as F
import convtheory.testing as ctt
from convtheory.transforms import cyclic_shift, transform_matrix

#: Seconds one call may take before it counts as a hang.
CALL_SECONDS = 20

BAD = [None, "s", "", math.nan, math.inf, -math.inf, -1, 0, -1.5, 1.5, True, False,
       2**40, 2**63, -(2**63), (), (1,), (1, 2, 3, 4, 5), (2**40, 2**40), (None, "s"),
       (0, 0), (-1, -1), (1.5, 2.5), [[1, 2], [3]], np.int64(-7), {}, {"a": 1}, [None],
       np.float64(2.0), np.array([np.nan]), np.zeros((2, 2, 2)), 1j, object()]

# Names whose constructors are plain records (results, exceptions): they store
# what they are given, by design, and are built by the library, not by users.
RECORDS = {"Certificate", "GraphMetrics", "KernelRecovery", "ReceptiveField",
           "ReceptiveFieldMap", "StructureBreach", "Taps", "Verdict",
           "ConvolutionAssertionError", "ConvtheoryAssertionError",
           "EquivarianceAssertionError", "NotLinearError", "BudgetError", "LayerAnalysis",
           "NetworkAnalysis",
           "SpectralNormBounds"}

W2 = np.ones((1, 1, 3, 3))
X2 = np.ones((1, 1, 6, 6))
SPEC = ct.ConvSpec((1, 1, 3, 3), (1, 6, 6), padding=1)
SPEC1 = ct.ConvSpec((1, 1, 3), (1, 8), padding=1)
M6 = ct.conv_matrix(np.ones(3), (6,), padding=1, padding_mode="circular")
SHIFT6 = transform_matrix(lambda x: cyclic_shift(x, 1), (6,))


def _identity(x):
    return np.array(x, dtype=float)


def _pool2(x):
    return np.asarray(x).reshape(-1, 2).max(axis=1)


def _params():
    return nn.Linear(2, 2, seed=0).parameters()


def _graph():
    return ct.conv_graph(np.ones(2), (4,))


X1 = np.ones((1, 1, 6))
X3 = np.ones((1, 1, 4, 4, 4))
WT1 = np.ones((1, 1, 3))          # a transposed conv's weight, (C_in, C_out/groups, k)
SMOOTH = np.ones((2, 1, 8, 8))


#: One valid call per public callable: (positional args, keyword args).
VALID = {
    # Geometry, transposed convolution and pooling as operators.
    "ConvGeometry": (((3, 3),), {}),
    "ConvTransposeSpec": (((1, 1, 3), (1, 4)), {}),
    "ConvTransposeOperator": ((ct.conv_operator(WT1, (1, 6)),
                               ct.ConvTransposeSpec((1, 1, 3), (1, 4))), {}),
    "conv_transpose_output_shape": (((4,), (3,)), {}),
    "conv_transpose_matrix": ((WT1, (1, 4)), {}),
    "conv_transpose_operator": ((WT1, (1, 4)), {}),
    "check_transposed_arithmetic": ((WT1, (1, 4)), {}),
    "avg_pool_matrix": (((1, 6, 6), 2), {}),
    "avg_pool_operator": (((1, 6, 6), 2), {}),
    "max_pool_jacobian": ((np.arange(36.0).reshape(1, 6, 6), 2), {}),
    "binomial_filter": ((3,), {}),
    "blur_pool_matrix": (((1, 8, 8),), {}),
    "blur_pool_operator": (((1, 8, 8),), {}),
    "check_avg_pool_is_conv": (((1, 6, 6), 2), {}),
    "check_shift_consistency": ((SMOOTH,), {}),
    # Certified norms and the analysis of a network.
    "conv_spectral_norm_bounds": ((W2, (1, 6, 6)), {}),
    "linear_spectral_norm": ((np.ones((2, 3)),), {}),
    "reshaped_spectral_norm": ((W2,), {}),
    "analyze_network": ((nn.Sequential(nn.Conv2d(1, 1, 3, seed=0)), (1, 6, 6)),
                        {"equivariance": False}),
    # nn: layers, loaders and the functional pools.
    "ConvTranspose1d": ((1, 1, 3), {}),
    "ConvTranspose2d": ((1, 1, 3), {}),
    "ConvTranspose3d": ((1, 1, 3), {}),
    "MaxPool3d": ((2,), {}),
    "AvgPool3d": ((2,), {}),
    "AdaptiveAvgPool1d": ((2,), {}),
    "AdaptiveAvgPool2d": ((2,), {}),
    "AdaptiveAvgPool3d": ((2,), {}),
    "AdaptiveMaxPool1d": ((2,), {}),
    "AdaptiveMaxPool2d": ((2,), {}),
    "AdaptiveMaxPool3d": ((2,), {}),
    "AdaptivePoolPlan": (("avg", (2, 2), (6, 6)), {}),
    "BlurPool1d": ((1,), {}),
    "BlurPool2d": ((1,), {}),
    "GlobalAvgPool": ((), {}),
    "GlobalAvgPool2d": ((), {}),
    "DataLoader": ((np.ones((4, 1, 6, 6)), np.zeros(4)), {"batch_size": 2}),
    "max_pool3d": ((X3, 2), {}),
    "max_pool3d_backward": ((np.ones((1, 1, 2, 2, 2)), X3, 2), {}),
    "avg_pool3d": ((X3, 2), {}),
    "avg_pool3d_backward": ((np.ones((1, 1, 2, 2, 2)), X3, 2), {}),
    "adaptive_avg_pool1d": ((X1, 2), {}),
    "adaptive_avg_pool1d_backward": ((np.ones((1, 1, 2)), X1, 2), {}),
    "adaptive_avg_pool2d": ((X2, 2), {}),
    "adaptive_avg_pool2d_backward": ((np.ones((1, 1, 2, 2)), X2, 2), {}),
    "adaptive_avg_pool3d": ((X3, 2), {}),
    "adaptive_avg_pool3d_backward": ((np.ones((1, 1, 2, 2, 2)), X3, 2), {}),
    "adaptive_max_pool1d": ((X1, 2), {}),
    "adaptive_max_pool1d_backward": ((np.ones((1, 1, 2)), X1, 2), {}),
    "adaptive_max_pool2d": ((X2, 2), {}),
    "adaptive_max_pool2d_backward": ((np.ones((1, 1, 2, 2)), X2, 2), {}),
    "adaptive_max_pool3d": ((X3, 2), {}),
    "adaptive_max_pool3d_backward": ((np.ones((1, 1, 2, 2, 2)), X3, 2), {}),
    "global_avg_pool": ((X2,), {}),
    "global_avg_pool_backward": ((np.ones((1, 1)), X2), {}),
    "ConvOperator": ((np.ones((1, 1, 3)), SPEC1, "direct"), {}),
    "ConvSpec": (((1, 1, 3, 3), (1, 6, 6)), {}),
    "axis_taps": ((8, 3), {}),
    "check_adaptivity": ((W2, (1, 6, 6)), {}),
    "check_flip_identity": ((np.ones(3), (6,)), {}),
    "check_linearity": ((W2, (1, 6, 6)), {}),
    "check_nnz_formula": ((range(1, 4), range(1, 3), (1,), (1,), (0,)), {}),
    "check_pooling_equivariance": ((_pool2, (8,), 2), {"stride": 2}),
    "check_rotation_equivariance": ((W2, (1, 5, 5)), {"padding": 1}),
    "check_scale_equivariance": ((W2, (1, 8, 8)), {"padding": 1}),
    "check_sharing": ((np.ones(3), (6,)), {}),
    "check_sparsity": ((np.ones(3), (6,)), {}),
    "check_spectral_norm_closed_forms": (((8,),), {}),
    "check_translation_equivariance": ((np.ones(3), (6,), 1), {}),
    "col2im": ((np.ones((1, 9, 1, 36)), SPEC), {}),
    "commutator": ((M6, SHIFT6, SHIFT6), {}),
    "conv_arguments": ((W2, (1, 6, 6)), {}),
    "conv_graph": ((np.ones(2), (4,)), {}),
    "conv_matrix": ((W2, (1, 6, 6)), {}),
    "conv_operator": ((W2, (1, 6, 6)), {}),
    "conv_singular_values": ((np.ones(3), (6,)), {"padding": "same", "padding_mode": "circular"}),
    "conv_spectral_norm": ((np.ones(3), (6,)), {}),
    "conv_taps": ((SPEC,), {}),
    "dense_graph": (((1, 4), (1, 3)), {}),
    "dot_test": ((np.ones((2, 3)),), {}),
    "estimate_matrix_bytes": ((SPEC,), {}),
    "estimate_operator_bytes": ((SPEC,), {}),
    "graph_metrics": ((_graph(),), {}),
    "im2col": ((X2, SPEC), {}),
    "is_circulant": ((M6.toarray(),), {}),
    "is_toeplitz": ((M6.toarray(),), {}),
    "kernel_symbols": (((2, 2),), {}),
    "output_shape": (((6, 6), (3, 3)), {}),
    "pooling_aliasing_example": ((), {}),
    "receptive_field": (([{"kernel_size": 3}, {"kernel_size": 2, "stride": 2}],), {}),
    "recover_kernel": ((M6, (6,), (3,)), {"padding": 1, "padding_mode": "circular"}),
    "resolve_padding": (("same", (3, 3)), {}),
    "rotation_kernel_constraint": ((), {}),
    "spatial_taps": ((SPEC,), {}),
    # convtheory.nn
    "SGD": ((_params(),), {"lr": 0.1}),
    "Adam": ((_params(),), {}),
    "AvgPool1d": ((2,), {}),
    "AvgPool2d": ((2,), {}),
    "MaxPool1d": ((2,), {}),
    "MaxPool2d": ((2,), {}),
    "Conv1d": ((1, 2, 3), {}),
    "Conv2d": ((1, 2, 3), {}),
    "Conv3d": ((1, 2, 3), {}),
    "Flatten": ((), {}),
    "Module": ((), {}),
    "ReLU": ((), {}),
    "MSELoss": ((), {}),
    "CrossEntropyLoss": ((), {}),
    "Linear": ((3, 2), {}),
    "Parameter": ((np.ones(3),), {}),
    "Sequential": ((nn.ReLU(),), {}),
    "gradcheck": ((nn.Conv1d(1, 1, 3, seed=0), np.ones((1, 1, 6))), {}),
    # convtheory.nn.functional
    "ConvPlan": ((SPEC,), {}),
    "PoolPlan": (("max", 2, 2, 0, (6, 6)), {}),
    "avg_pool1d": ((np.ones((1, 1, 6)), 2), {}),
    "avg_pool1d_backward": ((np.ones((1, 1, 3)), np.ones((1, 1, 6)), 2), {}),
    "avg_pool2d": ((X2, 2), {}),
    "avg_pool2d_backward": ((np.ones((1, 1, 3, 3)), X2, 2), {}),
    "max_pool1d": ((np.ones((1, 1, 6)), 2), {}),
    "max_pool1d_backward": ((np.ones((1, 1, 3)), np.ones((1, 1, 6)), 2), {}),
    "max_pool2d": ((X2, 2), {}),
    "max_pool2d_backward": ((np.ones((1, 1, 3, 3)), X2, 2), {}),
    "conv1d": ((np.ones((1, 1, 6)), np.ones((1, 1, 3))), {}),
    "conv1d_backward": ((np.ones((1, 1, 4)), np.ones((1, 1, 6)), np.ones((1, 1, 3))), {}),
    "conv2d": ((X2, W2), {}),
    "conv2d_backward": ((np.ones((1, 1, 4, 4)), X2, W2), {}),
    "conv3d": ((np.ones((1, 1, 4, 4, 4)), np.ones((1, 1, 3, 3, 3))), {}),
    "conv3d_backward": ((np.ones((1, 1, 2, 2, 2)), np.ones((1, 1, 4, 4, 4)),
                         np.ones((1, 1, 3, 3, 3))), {}),
    # convtheory.testing
    "assert_invariant": ((lambda x: np.sum(x, keepdims=True), lambda x: cyclic_shift(x, 1), (6,)),
                         {}),
    "assert_is_convolution": ((_identity, (6,)), {}),
    "assert_rotation_equivariant": ((_identity, (4, 4)), {}),
    "assert_translation_equivariant": ((_identity, (6,)), {}),
    "equivariance_error": ((_identity, lambda x: cyclic_shift(x, 1), lambda x: cyclic_shift(x, 1),
                            (6,)), {}),
    "probe_matrix": ((_identity, (6,)), {}),
    "receptive_field_map": ((_identity, (6,)), {}),
}


def _public():
    names = {}
    for module in (ct, nn, F, ctt):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not inspect.ismodule(obj) and name not in RECORDS:
                names[name] = obj
    return names


PUBLIC = _public()


def test_every_public_callable_has_a_valid_call():
    """A new public name must get a valid call here (or be declared a record)."""
    assert sorted(set(PUBLIC) - set(VALID)) == []
    assert sorted(set(VALID) - set(PUBLIC)) == []


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_call_works(name):
    args, kwargs = VALID[name]
    PUBLIC[name](*args, **kwargs)


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang(f"no answer within {CALL_SECONDS} s")


def _slots(name):
    """(positional index or keyword name) of every parameter a caller can give."""
    args, kwargs = VALID[name]
    sig = inspect.signature(PUBLIC[name])
    slots = []
    for i, p in enumerate(sig.parameters.values()):
        if p.kind is p.VAR_KEYWORD or (p.kind is p.VAR_POSITIONAL and i >= len(args)):
            continue
        if p.kind is p.KEYWORD_ONLY or i >= len(args):
            if p.kind is not p.POSITIONAL_ONLY:
                slots.append(p.name)
        else:
            slots.append(i)
    return slots


def _call_with(name, slot, value):
    args, kwargs = VALID[name]
    args, kwargs = list(args), dict(kwargs)
    if isinstance(slot, int):
        args[slot] = value
    else:
        kwargs[slot] = value
    if name in ("SGD", "Adam"):  # the parameters are consumed by the optimiser
        if slot != 0:
            args[0] = _params()
    return PUBLIC[name](*args, **kwargs)


def _check(name, slot, value):
    """Call with one malformed argument: a result, a ValueError or a TypeError; nothing else."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CALL_SECONDS)
    try:
        _call_with(name, slot, value)
    except (ValueError, TypeError):
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", sorted(name for name in VALID if _slots(name)))
@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_argument_is_a_value_or_type_error(name, data):
    slot = data.draw(st.sampled_from(_slots(name)), label="argument")
    value = data.draw(st.sampled_from(BAD), label="value")
    _check(name, slot, value)


def test_the_harness_fails_on_other_errors_and_hangs(monkeypatch):
    """The property above can fail: an IndexError, or a call that does not return, is caught."""
    import time

    monkeypatch.setitem(PUBLIC, "axis_taps", lambda n, k, **kw: [][n])
    _check("axis_taps", 0, "s")                     # [][str]: a TypeError, accepted
    with pytest.raises(IndexError):
        _check("axis_taps", 0, 3)
    monkeypatch.setitem(globals(), "CALL_SECONDS", 1)
    monkeypatch.setitem(PUBLIC, "axis_taps", lambda n, k, **kw: time.sleep(5))
    with pytest.raises(_Hang):
        _check("axis_taps", 0, 3)
