"""``convtheory analyze MODEL --input CxHxW``: the network analysis from the command line.

``MODEL`` is an ``.onnx`` file or ``package.module:factory`` (a callable
returning a torch module, a ``convtheory.nn`` module or a NetworkGraph).
Same conventions as the rest of the CLI: a user mistake is one line on
stderr and exit code 2; a measured equivariance that contradicts the
predicted one is exit code 1.
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys

from .cli_arguments import (
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    UsageError,
    _format_argument,
    _out_argument,
    _prepare_out,
    _shape,
)

__all__ = ["add_parser"]

#: Largest deviation under a lattice shift still counted as exact equivariance (float64).
EQUIVARIANCE_TOLERANCE = 1e-9


def _load(text: str, weights):
    """The model named on the command line, with its weights loaded."""
    if text.endswith(".onnx"):
        if not os.path.isfile(text):
            raise UsageError(f"convtheory analyze: error: MODEL {text!r} is not a file")
        if weights is not None:
            raise UsageError("convtheory analyze: error: --weights applies to a torch model, not to "
                             f"the ONNX file {text!r} (its weights are inside it)")
        return text
    module_name, sep, attr = text.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"convtheory analyze: error: MODEL must be an .onnx file or "
                         f"package.module:factory, got {text!r}")
    # The user's module and factory are the user's code: whatever they raise is a usage
    # error (exit code 2, one line), not a traceback that exits 1 (a claim not confirmed).
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"convtheory analyze: error: cannot import {module_name!r} for MODEL "
                         f"{text!r}: {exc}") from None
    except Exception as exc:
        raise UsageError(f"convtheory analyze: error: cannot import {module_name!r} for MODEL "
                         f"{text!r}: {_one_line(exc)}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise UsageError(f"convtheory analyze: error: {module_name!r} has no callable {attr!r} "
                         f"(MODEL {text!r})")
    try:
        model = factory()
    except Exception as exc:
        raise UsageError(f"convtheory analyze: error: MODEL {text!r}: {module_name}.{attr}() raised "
                         f"{_one_line(exc)}") from None
    if weights is not None:
        try:
            import torch
        except ImportError:
            raise UsageError("convtheory analyze: error: --weights needs torch: pip install "
                             "convtheory[torch]") from None
        if not hasattr(model, "load_state_dict"):
            raise UsageError(f"convtheory analyze: error: --weights needs a torch module, but "
                             f"{text!r} returned a {type(model).__name__}")
        try:
            model.load_state_dict(torch.load(weights, weights_only=True))
        except Exception as exc:  # not a file, not a state dict (UnpicklingError), not this model's
            detail = " ".join(str(exc).split()) or type(exc).__name__
            if isinstance(exc, pickle.UnpicklingError):  # torch's advice is weights_only=False
                detail = ("not a state dict that torch.load(weights_only=True) can read "
                          f"({type(exc).__name__})")
            if len(detail) > 400:  # torch lists every key of a large model
                detail = detail[:400] + " ..."
            raise UsageError(f"convtheory analyze: error: cannot load --weights {weights!r}: "
                             f"{detail}") from None
        model.eval()
    return model


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (a SyntaxError's names its file and line)."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _progress():
    """A tqdm bar per layer on a terminal; nothing otherwise."""
    from tqdm import tqdm

    state = {}

    def update(index, total, name):
        if "bar" not in state:
            state["bar"] = tqdm(total=total, unit="layer", file=sys.stderr,
                                disable=not sys.stderr.isatty())
        bar = state["bar"]
        bar.set_postfix_str(name)
        if index:
            bar.update(1)
        if index == total - 1:
            bar.update(1)
            bar.close()
    return update


def _cmd_analyze(args):
    from .network.analysis import analyze_network

    if len(args.input) < 2:
        raise UsageError(f"convtheory analyze: error: --input must be CxHxW (channels, then at least "
                         f"one spatial size), got {'x'.join(map(str, args.input))}")
    _prepare_out(args.out, "analyze")
    model = _load(args.model, args.weights)
    try:
        analysis = analyze_network(model, args.input, progress=_progress())
    except (ValueError, TypeError, ImportError, TimeoutError) as exc:
        raise UsageError(f"convtheory analyze: error: {exc}") from None
    try:
        written = analysis.write(args.out, args.format)
    except OSError as exc:
        raise UsageError(f"convtheory analyze: error: cannot write the report to --out "
                         f"{args.out!r}: {exc.strerror or exc}") from None
    fmt = lambda v: "-" if v is None else "x".join(str(x) for x in v)  # noqa: E731
    print(f"{len(analysis.layers)} layers; receptive field {fmt(analysis.receptive_field)}, "
          f"jump {fmt(analysis.jump)}, equivariant under shifts by multiples of "
          f"{fmt(analysis.equivariant_shifts)}")
    if analysis.lipschitz_upper_bound is not None:
        print(f"Lipschitz upper bound {analysis.lipschitz_upper_bound:.6g} (reshaped-weight "
              f"estimate {analysis.reshaped_lipschitz_estimate:.6g})")
    print(f"report: {', '.join(p for p in written if not p.endswith('.png'))}")
    deviation = analysis.equivariance.get("max_deviation")
    if deviation is not None and not deviation <= EQUIVARIANCE_TOLERANCE:
        print(f"NOT CONFIRMED: a shift by {fmt(analysis.equivariant_shifts)} moved the outputs "
              f"off the border by up to {deviation:.3g} (relative), not exactly")
        return EXIT_NOT_CONFIRMED
    return EXIT_OK


def add_parser(command) -> None:
    """Register ``analyze`` through the CLI's ``command`` helper."""
    p = command("analyze", "analyse a network layer by layer and write the report (md, html, json)",
                "convtheory analyze model.onnx --input 3x224x224 --out analysis/", _cmd_analyze)
    p.add_argument("model", metavar="MODEL",
                   help="an .onnx file, or package.module:factory returning a torch model")
    p.add_argument("--input", type=_shape, required=True, metavar="CxHxW",
                   help="input shape without the batch, e.g. 3x224x224")
    _out_argument(p, "analysis")
    _format_argument(p)
    p.add_argument("--weights", metavar="FILE", default=None,
                   help="a state-dict file to load into the torch model (torch.load, "
                        "weights_only=True)")
