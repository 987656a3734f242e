"""analyze_network: operators against torch, brackets against the dense SVD, receptive fields
against gradient support, equivariance measured on the model, the report and the CLI."""

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from convtheory import conv_matrix
from convtheory import spectral_bounds
from convtheory.network import norms
from convtheory.network.analysis import _model_forward, analyze_network
from convtheory.network.equivariance import measure
from convtheory.network.graph import INPUT, NetworkGraph, Node, UnsupportedOperatorError
from convtheory.network.layers import forward, node_operator
from convtheory.network.shapes import propagate
from convtheory.network import capture
from .conftest import requires_torch, torch, traced_peak

try:
    from . import network_models as models
except pytest.skip.Exception:  # no torch: only the tests that need it skip, not this module
    models = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pnet():
    """MTCNN's P-Net with its trained weights, in float64."""
    return models.pnet().double()


def _relu(name, src, shape):
    return Node(name, "activation", (src,), (shape,), shape, {"op": "relu", "lipschitz": 1.0})


def _conv1d(name, src, w, n, **attrs):
    out = n - w.shape[-1] + 1 + sum(attrs.get("padding", ((0, 0),))[0])
    return Node(name, "conv", (src,), ((w.shape[1], n),), (w.shape[0], out), {"weight": w, **attrs})


def _residual():
    """x -> conv(x) + x -> relu: a residual block on (1, 16)."""
    w = np.array([[[1.0, -1.0, 0.5]]])
    return NetworkGraph((
        _conv1d("branch", INPUT, w, 16, padding=((1, 1),)),
        Node("add", "add", (INPUT, "branch"), ((1, 16), (1, 16)), (1, 16)),
        _relu("out", "add", (1, 16)),
    ), (1, 16), ("out",)), w


# ---- operators against the framework's own forward pass -------------------------

@requires_torch
@pytest.mark.parametrize("which", ["pnet", "small"])
def test_each_linear_operator_equals_the_torch_layer(which, rng):
    model, shape = (pnet(), (3, 20, 20)) if which == "pnet" else (models.small_net(), (2, 16, 16))
    graph = capture(model, shape)
    analysis = analyze_network(graph, spectra=False, equivariance=False)
    mods = dict(model.named_modules())
    checked = 0
    for layer in analysis.layers:
        if layer.kind not in ("conv", "conv_transpose", "avg_pool"):
            continue
        m = mods[layer.name]
        bn = [b for b, c in analysis.folded.items() if c == layer.name]
        f = (lambda t, m=m, b=mods[bn[0]]: b(m(t))) if bn else m
        x = rng.standard_normal(layer.input_shape)
        with torch.no_grad():
            t = torch.from_numpy(x)[None]
            expected = (f(t) - f(torch.zeros_like(t)))[0].numpy().ravel()  # the linear part
        got = layer.operator() @ x.ravel()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10 * max(1, np.abs(expected).max()))
        checked += 1
    assert checked == (5 if which == "pnet" else 4)


@requires_torch
@pytest.mark.parametrize("which", ["pnet", "small"])
def test_numpy_forward_of_the_graph_equals_the_model(which, rng):
    model, shape = (pnet(), (3, 25, 25)) if which == "pnet" else (models.small_net(), (2, 16, 16))
    graph = capture(model, shape)
    x = rng.standard_normal(shape)
    ours = _model_forward(graph, graph)(x)
    theirs = _model_forward(model, graph)(x)
    assert len(ours) == len(theirs) == len(graph.outputs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_operator_of_a_nonlinear_layer_is_refused():
    g, _ = _residual()
    with pytest.raises(ValueError, match="'out' of kind 'activation' is not linear"):
        node_operator(g["out"])


# ---- norms ------------------------------------------------------------------------

@requires_torch
def test_every_bracket_contains_the_dense_svd_value(monkeypatch):
    graph = capture(models.small_net(), (2, 10, 10))
    for force_lanczos in (False, True):
        if force_lanczos:
            monkeypatch.setattr(spectral_bounds, "DENSE_ENTRIES", 0)
        analysis = analyze_network(graph, equivariance=False)
        for layer in analysis.layers:
            if layer.kind not in ("conv", "conv_transpose", "avg_pool"):
                continue
            dense = np.linalg.norm(_dense(layer.operator()), 2)
            lo, hi = layer.spectral_norm_bounds
            assert lo <= dense * (1 + 1e-12) and dense <= hi * (1 + 1e-12), (layer.name, lo, dense, hi)
            if force_lanczos:   # the best value found, inside its certified bracket
                assert lo <= layer.spectral_norm <= hi
            else:
                assert abs(layer.spectral_norm - dense) <= 1e-8 * dense


def _dense(op):
    return op @ np.eye(op.shape[1])


def test_bracket_of_a_known_kernel_and_of_a_wrong_one():
    n = 40
    w = np.array([[[1.0, -1.0]]])
    from convtheory.spec import ConvSpec

    b = norms.layer_norm_bounds(w, ConvSpec(w.shape, (1, n)))
    exact = 2 * math.cos(math.pi / (2 * n))
    assert b.lower <= exact <= b.upper and b.upper - b.lower < 1e-10
    wrong = norms.layer_norm_bounds(w * 1.01, ConvSpec(w.shape, (1, n)))
    assert not wrong.lower <= exact <= wrong.upper
    with pytest.raises(ValueError, match="NaN or infinite"):
        norms.layer_norm_bounds(np.array([[[1.0, np.nan]]]), ConvSpec(w.shape, (1, n)))


def test_reshaped_norm_is_that_of_torch_spectral_norm_matrix():
    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3))
    assert norms.reshaped_norm(w) == pytest.approx(np.linalg.norm(w.reshape(4, -1), 2), rel=1e-14)


@pytest.mark.parametrize("k", [-600, 600])
def test_reshaped_and_circular_norms_of_tiny_and_huge_weights(k):
    # Both square the entries (a Gram matrix): 2**-600 gave 0.0, 2**600 an error from LAPACK.
    from convtheory import ConvSpec
    w = np.random.default_rng(0).standard_normal((3, 2, 3, 3))
    spec = ConvSpec(w.shape, (2, 8, 8), padding=1)
    scaled = np.ldexp(w, k)
    assert norms.reshaped_norm(scaled) == pytest.approx(np.ldexp(norms.reshaped_norm(w), k),
                                                        rel=1e-14, abs=0)
    assert norms.circular_norm(scaled, spec) == pytest.approx(
        np.ldexp(norms.circular_norm(w, spec), k), rel=1e-14, abs=0)


# ---- Lipschitz bound -----------------------------------------------------------------

def test_lipschitz_bound_of_a_residual_block_is_one_plus_the_branch():
    g, w = _residual()
    a = analyze_network(g, equivariance=False)
    branch = np.linalg.norm(conv_matrix(w, (1, 16), padding=1).toarray(), 2)
    assert a.lipschitz_upper_bound == pytest.approx(1 + branch, rel=1e-10)
    assert a.lipschitz_upper_bound != pytest.approx(branch, rel=1e-3)  # the skip counts


@requires_torch
def test_lipschitz_bound_holds_on_random_pairs_and_reshaped_estimate_is_lower(rng):
    graph = capture(pnet(), (3, 16, 16))
    a = analyze_network(graph, equivariance=False)
    run = _model_forward(graph, graph)
    for _ in range(5):
        x, y = rng.standard_normal((2,) + graph.input_shape)
        diff = math.sqrt(sum(np.sum((p - q) ** 2) for p, q in zip(run(x), run(y))))
        assert diff <= a.lipschitz_upper_bound * np.linalg.norm(x - y)
    assert a.reshaped_lipschitz_estimate < a.lipschitz_upper_bound


# ---- receptive field, border, equivariance ------------------------------------------

@requires_torch
def test_pnet_is_a_12x12_detector_with_stride_2():
    a = analyze_network(capture(pnet(), (3, 12, 12)), spectra=False)
    assert a.receptive_field == (12, 12) and a.jump == (2, 2)
    assert a.equivariant_shifts == (2, 2) and a.border == (0, 0)
    assert [l.receptive_field for l in a.layers[:3]] == [(3, 3), (3, 3), (4, 4)]


@requires_torch
def test_receptive_field_equals_gradient_support_of_the_linearised_network():
    """ReLU/PReLU linearised, max pool replaced by the average pool of the same geometry."""
    net = models.small_net()
    shape = (2, 24, 24)
    a = analyze_network(capture(net, shape), spectra=False, equivariance=False)
    linear = torch.nn.Sequential(net.conv1, net.bn1, net.conv2, net.pool, net.up)
    x = torch.zeros((1,) + shape, dtype=torch.float64, requires_grad=True)
    y = linear(x)
    sizes = []
    for o in range(4, 8):  # interior outputs of both parities (the transposed conv)
        g, = torch.autograd.grad(y[0, :, o, o].sum() + 0 * y.sum(), x, retain_graph=True)
        rows = np.nonzero(g[0].abs().sum(axis=(0, 2)).numpy() > 0)[0]
        sizes.append(rows.max() - rows.min() + 1)
    assert max(sizes) == a.receptive_field[0] == a.receptive_field[1]


def test_border_band_counts_outputs_that_read_padding():
    g, _ = _residual()
    masks = propagate(g)["out"].border
    assert masks[0].tolist() == [True] + [False] * 14 + [True]


@requires_torch
def test_equivariance_is_measured_on_the_torch_module_and_fails_off_the_lattice():
    model = pnet()
    graph = capture(model, (3, 30, 30))
    geo = propagate(graph)
    run = _model_forward(model, graph)
    record, _ = measure(model, graph, geo, {}, (2, 2), 0, run)
    assert record["measured_on"] == "torch module"
    assert record["max_deviation"] < 1e-12 and all(record["compared"])
    wrong, _ = measure(model, graph, geo, {}, (1, 1), 0, run)  # a shift off the lattice
    assert wrong["max_deviation"] > 1e-3


@requires_torch
def test_shift_consistency_is_one_before_the_first_stride_and_drops_after():
    a = analyze_network(capture(models.small_net(), (2, 24, 24)), spectra=False)
    c = a.shift_consistency
    assert abs(c["conv1"] - 1) < 1e-12 and abs(c["relu1"] - 1) < 1e-12
    assert c["conv2"] < 0.99
    assert a.folded == {"bn1": "conv1"}
    assert a.equivariant_shifts == (4, 4) and a.equivariance["max_deviation"] < 1e-12


# ---- errors -----------------------------------------------------------------------

def test_unknown_activation_names_the_node():
    g = NetworkGraph((Node("act", "activation", (INPUT,), ((1, 4),), (1, 4),
                           {"op": "swishy", "lipschitz": 1.1}),), (1, 4), ("act",))
    with pytest.raises(UnsupportedOperatorError, match="'act' is a \"activation 'swishy'\""):
        forward(g, np.zeros((1, 4)))


def test_prelu_without_its_slopes_is_refused():
    g = NetworkGraph((Node("p", "activation", (INPUT,), ((1, 4),), (1, 4),
                           {"op": "prelu", "lipschitz": 1.0}),), (1, 4), ("p",))
    with pytest.raises(ValueError, match="prelu 'p' needs its learned slopes"):
        forward(g, np.zeros((1, 4)))


def test_non_divisible_adaptive_pool_is_refused():
    g = NetworkGraph((Node("gap", "adaptive_avg_pool", (INPUT,), ((1, 5),), (1, 2),
                           {"output_size": (2,)}),), (1, 5), ("gap",))
    with pytest.raises(UnsupportedOperatorError, match="'gap'.*multiple of its output size"):
        analyze_network(g)


def test_bad_arguments():
    g, _ = _residual()
    with pytest.raises(ValueError, match=r"input_shape \(1, 8\) differs"):
        analyze_network(g, (1, 8))
    with pytest.raises(ValueError, match="input_shape .* is required"):
        analyze_network(object())
    with pytest.raises(TimeoutError, match="max_seconds=1e-09"):
        analyze_network(g, max_seconds=1e-9)
    with pytest.raises(ValueError, match="input shape"):
        forward(g, np.zeros((1, 8)))
    with pytest.raises(ValueError, match="max_bytes must be >= 1, got max_bytes=-1"):
        analyze_network(g, max_bytes=-1)
    with pytest.raises(ValueError, match=r"max_seconds must be a finite number \(not NaN\) > 0, got max_seconds=nan"):
        analyze_network(g, max_seconds=float("nan"))
    with pytest.raises(TypeError, match="spectra must be a bool, got spectra='yes'"):
        analyze_network(g, spectra="yes")


@pytest.mark.parametrize("bad", [None, float("nan"), float("inf"), -1.0])
def test_an_activation_without_a_finite_lipschitz_constant_cannot_give_a_bound(bad):
    attrs = {"op": "relu"} if bad is None else {"op": "relu", "lipschitz": bad}
    g = NetworkGraph((Node("act", "activation", (INPUT,), ((1, 4),), (1, 4), attrs),),
                     (1, 4), ("act",))
    with pytest.raises(ValueError, match="activation 'act' must carry a finite Lipschitz"):
        analyze_network(g)


# ---- record and report -----------------------------------------------------------

def test_to_json_and_write(tmp_path):
    g, _ = _residual()
    a = analyze_network(g)
    data = json.loads(a.to_json())
    assert data["receptive_field"] == [3] and data["layers"][0]["name"] == "branch"
    written = a.write(tmp_path, formats=("md", "html", "json"))
    names = sorted(os.path.basename(p) for p in written)
    assert "analysis.md" in names and "analysis.norms.png" in names
    md = (tmp_path / "analysis.md").read_text()
    assert "| Lipschitz upper bound (exact layer norms) |" in md
    assert (tmp_path / "analysis.html").read_text().startswith("<!DOCTYPE html>")
    a.write(tmp_path, formats=("json",))
    with pytest.raises(ValueError, match="formats must be"):
        a.write(tmp_path, formats=("pdf",))
    with pytest.raises(dataclass_error()):
        a.lipschitz_upper_bound = 0


def dataclass_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


# ---- the CLI ------------------------------------------------------------------------

def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "convtheory", "analyze", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@requires_torch
def test_cli_writes_the_report(tmp_path):
    r = _cli("tests.network_models:pnet_graph_48", "--input", "3x48x48", "--out",
             str(tmp_path), "--format", "md,json")
    assert r.returncode == 0, r.stderr
    assert "receptive field 12x12, jump 2x2" in r.stdout
    assert sorted(os.listdir(tmp_path)) == ["analysis.json", "analysis.md", "figures"]
    assert json.loads((tmp_path / "analysis.json").read_text())["equivariant_shifts"] == [2, 2]


@pytest.mark.parametrize("args, message", [
    (["nomodule_xyz:factory", "--input", "3x8x8"], "cannot import 'nomodule_xyz'"),
    (["convtheory.network:nothing", "--input", "3x8x8"], "has no callable 'nothing'"),
    (["missing.onnx", "--input", "3x8x8"], "'missing.onnx' is not a file"),
    (["just_a_name", "--input", "3x8x8"], "must be an .onnx file or package.module:factory"),
    (["tests.network_models:pnet_graph_48", "--input", "48"], "must be CxHxW"),
    pytest.param(["tests.network_models:pnet_graph_48", "--input", "3x48x48", "--weights",
                  "w.pt"], "--weights needs a torch module", marks=requires_torch),
    # 100 TB of input: refused before torch is asked for it
    pytest.param(["tests.network_models:pnet", "--input", "99999999999x16x16"],
                 r"capture of the model on input_shape=\(99999999999, 16, 16\) would need about "
                 r"186.3 TiB, over max_bytes", marks=requires_torch),
])
def test_cli_errors_are_one_line_and_exit_2(args, message, tmp_path):
    r = _cli(*args, "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert (message in r.stderr or re.search(message, r.stderr)) \
        and len(r.stderr.strip().splitlines()) == 1


class TestMemoryBudget:
    """Nothing of a model's or input's size is allocated before it is weighed against max_bytes."""

    @requires_torch
    def test_an_input_over_the_budget_is_refused_before_the_model_runs(self):
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
        with pytest.raises(ValueError, match=r"capture of the model on input_shape=\(3, 64, 64\) "
                                             r"would need about 96\.0 KiB, over max_bytes=50,000"):
            analyze_network(model, (3, 64, 64), max_bytes=50_000)

    def test_an_nn_input_over_the_budget_is_refused(self):
        from convtheory import nn as cnn
        with pytest.raises(ValueError, match=r"capture of the model on input_shape=\(1, 200, 200\)"):
            capture(cnn.Conv2d(1, 2, 3, seed=0), (1, 200, 200), max_bytes=100_000)

    @requires_torch
    def test_activations_over_the_budget_are_weighed_on_fake_tensors(self):
        # The input (96 KiB in float64) fits 1 MB; the conv's and the ReLU's outputs, alive
        # at once (1 MiB each in float32), do not, and they are never allocated: the shapes
        # come from fake tensors.
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU())
        with pytest.raises(ValueError, match=r"running the model once on input_shape=\(3, 64, 64\) "
                                             r"\(its layers' outputs\) would need about 2\.0 MiB"):
            capture(model, (3, 64, 64), max_bytes=1_000_000)
        assert capture(model, (3, 64, 64), max_bytes=3_000_000).outputs  # within it: captured

    @requires_torch
    @pytest.mark.parametrize("shape, max_bytes", [((1, 8, 8), 10**9), ((1, 200, 200), 400_000)])
    def test_each_submodule_keeps_its_training_flag(self, shape, max_bytes):
        # A model in training with its BatchNorm frozen in eval (fine-tuning): capture runs
        # it in eval mode and gives every module back the flag it had, captured or refused.
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2),
                                    torch.nn.ReLU())
        model.train()
        model[1].eval()
        try:
            capture(model, shape, max_bytes=max_bytes)
        except ValueError as err:
            assert "running the model once" in str(err)
        assert [m.training for m in model.modules()] == [True, True, False, True]

    @requires_torch
    @pytest.mark.parametrize("layer", [
        # A 4x4 input (128 B in float64) whose one layer's output is 9001 x 9001 (309 MiB):
        # a stride, a padding or an adaptive pool's output size grows a small input without
        # bound, so no ratio of the input to max_bytes says the run is small.
        "ConvTranspose2d(1, 1, 1, stride=3000)",  # 9001 x 9001
        "Conv2d(1, 1, 1, padding=4500)",  # 9004 x 9004
        "AdaptiveAvgPool2d(9000)",
    ])
    def test_a_small_input_whose_outputs_grow_is_weighed_before_the_run(self, layer):
        model = torch.nn.Sequential(eval("torch.nn." + layer))
        with pytest.raises(ValueError, match=r"running the model once on input_shape=\(1, 4, 4\) "
                                             r"\(its layers' outputs\) would need about 30\d\.\d MiB, "
                                             r"over max_bytes=10,000,000"):
            capture(model, (1, 4, 4), max_bytes=10_000_000)

    @requires_torch
    def test_the_models_output_is_weighed_once(self):
        # The input (16 KiB in float32) and the conv's output (1 MiB) are all the run holds;
        # the graph's output node returns that same tensor and adds nothing.
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 64, 3, padding=1))
        assert capture(model, (1, 64, 64), max_bytes=1_100_000).outputs
        with pytest.raises(ValueError, match=r"\(its layers' outputs\) would need about 1\.0 MiB"):
            capture(model, (1, 64, 64), max_bytes=1_000_000)

    def test_an_nn_layer_whose_output_grows_is_weighed_before_it_runs(self):
        # A 4x4 input (128 B) padded to 6004 x 6004: the run took 825 MiB under a 10 MB budget.
        from convtheory import nn as cnn
        with pytest.raises(ValueError, match=r"running layer 1 \(Conv2d\) on input shape "
                                             r"\(1, 4, 4\) would need about 1\.3 GiB, over "
                                             r"max_bytes=10,000,000 \(9\.5 MiB\); use a smaller "
                                             r"input_shape, or pass a larger max_bytes"):
            capture(cnn.Sequential(cnn.ReLU(), cnn.Conv2d(1, 1, 1, padding=3000, seed=0)),
                    (1, 4, 4), max_bytes=10_000_000)
        assert capture(cnn.Conv2d(1, 1, 1, padding=30, seed=0), (1, 4, 4),
                       max_bytes=10_000_000).outputs

    @pytest.mark.parametrize("make, shape", [
        (lambda nn: nn.Conv2d(3, 8, 3, padding=1, seed=0), (3, 128, 128)),
        (lambda nn: nn.Conv2d(4, 8, 5, stride=2, dilation=2, padding=3, groups=2, seed=0),
         (4, 131, 129)),
        (lambda nn: nn.Conv1d(2, 5, 7, padding=6, seed=0), (2, 20000)),
        (lambda nn: nn.Conv3d(2, 3, 3, padding=1, seed=0), (2, 30, 30, 30)),
        (lambda nn: nn.Conv2d(16, 16, 3, padding=1, groups=16, seed=0), (16, 128, 128)),
        (lambda nn: nn.Conv2d(2, 64, 1, seed=0), (2, 128, 128)),
        (lambda nn: nn.Conv2d(3, 4, 3, padding=2, padding_mode="reflect", seed=0), (3, 120, 120)),
        (lambda nn: nn.Conv2d(1, 1, 1, padding=500, seed=0), (1, 4, 4)),
        (lambda nn: nn.Conv2d(3, 8, 3, seed=0, backend="matrix"), (3, 64, 64)),
        (lambda nn: nn.Conv1d(2, 5, 7, padding=6, stride=2, seed=0, backend="matrix"), (2, 20000)),
    ])
    def test_the_nn_layers_estimate_bounds_what_its_run_allocates(self, make, shape):
        from convtheory import nn as cnn
        from convtheory.network.capture import _conv_run_bytes
        layer, x = make(cnn), np.zeros((1,) + shape)
        with traced_peak() as peak:
            layer(x)
        assert peak.bytes + x.nbytes <= _conv_run_bytes(layer, x)

    @requires_torch
    @pytest.mark.parametrize("make, shape", [
        # im2col's columns are 9x a layer's output: the outputs alone were weighed at 12.6
        # MB here, and the measurement took 48 MB
        (lambda nn: nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.Conv2d(64, 64, 3, padding=1)),
         (64, 64, 64)),
        # an adjoint on the FFT path: auto's operator builds its spectra too
        (lambda nn: nn.Sequential(nn.Conv1d(2, 32, 15, padding=7), nn.AvgPool1d(4),
                                  nn.Conv1d(32, 8, 9, dilation=3)), (2, 4096)),
        (lambda nn: nn.Sequential(nn.Conv2d(4, 8, 3, padding=1),
                                  nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1),
                                  nn.Softmax(dim=1)), (4, 48, 48)),
        (lambda nn: nn.Sequential(nn.Conv3d(2, 8, 3, padding=1), nn.BatchNorm3d(8), nn.SiLU(),
                                  nn.Conv3d(8, 8, 3, padding=1, padding_mode="circular")),
         (2, 16, 16, 16)),
        (lambda nn: nn.Sequential(nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1), nn.Conv2d(16, 8, 21, padding=10),
                                  nn.GELU()), (3, 96, 96)),
    ])
    def test_the_equivariance_estimate_bounds_what_the_measurement_allocates(
            self, make, shape, monkeypatch):
        from convtheory.network import equivariance
        torch.manual_seed(0)
        model, measured = make(torch.nn).eval(), {}

        def traced(model, graph, *args):
            with traced_peak() as peak:
                result = measure(model, graph, *args)
            measured["peak"] = peak.bytes
            measured["estimate"] = equivariance.measurement_bytes(graph)
            return result
        monkeypatch.setattr(equivariance, "measure", traced)
        analyze_network(model, shape, spectra=False)
        assert 0 < measured["peak"] <= measured["estimate"]

    @requires_torch
    def test_the_equivariance_measurement_is_weighed(self):
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3))
        with pytest.raises(ValueError, match=r"the equivariance measurement on input_shape="
                                             r"\(1, 32, 32\) \(every layer's output, for two "
                                             r"shifted inputs, and the widest layer's work\) "
                                             r"would need about .*pass "
                                             r"equivariance=False"):
            analyze_network(model, (1, 32, 32), spectra=False, max_bytes=50_000)
        a = analyze_network(model, (1, 32, 32), spectra=False, equivariance=False,
                            max_bytes=50_000)
        assert [layer.kind for layer in a.layers] == ["conv"]


_USER_MODULE = """
import torch

def small():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1))

def other():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 2, 5))

def raises():
    raise RuntimeError("factory exploded")

def needs_an_argument(n):
    return small()
"""


@pytest.mark.parametrize("model, extra, message", [
    ("usermodels:raises", [], "MODEL 'usermodels:raises': usermodels.raises() raised "
                              "RuntimeError: factory exploded"),
    ("usermodels:needs_an_argument", [], "MODEL 'usermodels:needs_an_argument': "
                                         "usermodels.needs_an_argument() raised TypeError"),
    ("brokenmodule:small", [], "cannot import 'brokenmodule' for MODEL 'brokenmodule:small': "
                               "ValueError: broken at import"),
    ("syntaxmodule:small", [], "cannot import 'syntaxmodule' for MODEL 'syntaxmodule:small': "
                               "SyntaxError"),
    ("usermodels:small", ["--weights", "notweights.pt"], "cannot load --weights "
     "'notweights.pt': not a state dict that torch.load(weights_only=True) can read"),
    ("usermodels:small", ["--weights", "other.pt"], "size mismatch for 0.weight"),
    ("corrupt.onnx", [], "cannot read the ONNX file"),
])
def test_cli_user_code_and_file_errors_are_one_line_and_exit_2(model, extra, message, tmp_path):
    """A factory that raises or a file that does not load is a usage error (exit code 2,
    one line), never a traceback with exit code 1, which means: a claim not confirmed."""
    if model != "corrupt.onnx" and torch is None:
        pytest.skip("torch is not importable")
    (tmp_path / "usermodels.py").write_text(_USER_MODULE)
    (tmp_path / "brokenmodule.py").write_text("raise ValueError('broken at import')\n")
    (tmp_path / "syntaxmodule.py").write_text("def small(:\n")
    (tmp_path / "notweights.pt").write_text("not a state dict\n")
    (tmp_path / "corrupt.onnx").write_text("not a protobuf\n")
    if torch is not None:
        torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 5)).state_dict(),
                   tmp_path / "other.pt")
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "convtheory", "analyze", model, "--input", "3x8x8",
                        "--out", str(tmp_path / "out"), *extra], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@requires_torch
def test_pnet_exact_norms_equal_the_svd_of_the_matrix_probed_from_torch():
    """Independent of convtheory's builders: the matrix is read off torch's conv, column by column."""
    model = pnet()
    a = analyze_network(capture(model, (3, 12, 12)), equivariance=False)
    for layer in a.layers:
        if layer.kind != "conv":
            continue
        conv = dict(model.named_modules())[layer.name]
        n = int(np.prod(layer.input_shape))
        with torch.no_grad():
            basis = torch.eye(n, dtype=torch.float64).reshape((n,) + layer.input_shape)
            M = (conv(basis) - conv(torch.zeros_like(basis[:1]))).reshape(n, -1).numpy().T
        exact = np.linalg.norm(M, 2)
        assert abs(layer.spectral_norm - exact) <= 1e-10 * exact
        assert layer.reshaped_norm <= exact * (1 + 1e-12)
    conv1 = a.layers[0]  # MTCNN's trained first layer: the reshaped norm is far off
    assert conv1.reshaped_norm < 0.6 * conv1.spectral_norm


@requires_torch
def test_a_classifier_through_global_pool_flatten_and_linear(rng, tmp_path):
    model = models.classifier()
    graph = capture(model, (3, 9, 9))
    a = analyze_network(graph)
    mods = dict(model.named_modules())
    for layer in a.layers:
        if layer.kind in ("adaptive_avg_pool", "linear", "flatten"):
            x = rng.standard_normal(layer.input_shape)
            with torch.no_grad():
                t = torch.from_numpy(x)[None]
                m = mods[layer.name]
                expected = (m(t) - m(torch.zeros_like(t)))[0].numpy().ravel()
            np.testing.assert_allclose(layer.operator() @ x.ravel(), expected, rtol=0, atol=1e-12)
    fc = a.layers[-1]
    assert fc.spectral_norm == pytest.approx(np.linalg.norm(model.fc.weight.detach().numpy(), 2),
                                             rel=1e-12)
    gap = a.layers[2]  # the mean over 5x5 positions: norm 1/5 per channel
    assert gap.spectral_norm == pytest.approx(1 / 5, rel=1e-12)
    assert a.jump is None and a.equivariant_shifts is None and a.border is None
    # conv k3 s2 p1 on 9 reads pixels -1..9: every one of the 9 reaches the output, and the
    # two padded ones are not counted (the closed form's 3 + (5 - 1) * 2 = 11 would count them).
    assert a.receptive_field == (9, 9)
    assert a.equivariance["max_deviation"] is None and "not spatial" in a.equivariance["note"]
    run = _model_forward(model, graph)
    for _ in range(3):
        x, y = rng.standard_normal((2, 3, 9, 9))
        assert np.linalg.norm(run(x)[0] - run(y)[0]) <= a.lipschitz_upper_bound * np.linalg.norm(x - y)
    assert "analysis.md" in [os.path.basename(p) for p in a.write(tmp_path, ("md",))]
