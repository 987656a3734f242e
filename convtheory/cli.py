"""The ``convtheory`` console script: ``verify`` writes the report; the rest are thin front ends.

Each subcommand calls the library exactly as a user would, so reading this
file (or ``convtheory COMMAND --help``) teaches the API.  A user mistake is
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from fractions import Fraction

from .geometry import PADDING_MODES

__all__ = ["main"]

EXIT_OK, EXIT_NOT_CONFIRMED, EXIT_USAGE = 0, 1, 2

#: Largest magnitude of a number on the command line: the geometry is int64.
_MAX_VALUE = 2**62


class UsageError(Exception):
    """A mistake in the command line or its values: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text is one ``--help`` away)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


# ---- argument types -------------------------------------------------------

def _shape(text: str) -> tuple[int, ...]:
    """``"4x4"`` or ``"3,8,8"`` -> a shape tuple."""
    parts = text.replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a shape like 4x4 or 3x8x8, got {text!r}") from None
    if any(n < 1 for n in shape):
        raise argparse.ArgumentTypeError(f"shape entries must be positive, got {text!r}")
    if any(n >= _MAX_VALUE for n in shape):
        raise argparse.ArgumentTypeError(f"shape entries must be less than 2**62, got {text!r}")
    return shape


def _ints(text: str):
    """``"2"`` -> 2, ``"2,1"`` -> (2, 1)."""
    try:
        values = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an int or ints like 2,1, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _padding(text: str):
    if text in ("same", "same_upper", "same_lower", "valid", "full"):
        return text
    try:
        return _ints(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected same, same_upper, same_lower, valid, full, an int or ints like 1,2, "
            f"got {text!r}") from None


def _kernel(text: str):
    """``"1,0,-1;2,0,-2;1,0,-1"`` -> a 2-D list (rows split by ``;``), exact fractions allowed."""
    try:
        # An empty field ("1,,2", "1,2,") is a typo, not a shorter kernel.
        if any(not field.strip() for row in text.split(";") if "," in row
               for field in row.split(",")):
            raise ValueError(text)
        values = [[Fraction(v) for v in row.replace(",", " ").split()] for row in text.split(";")]
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, rows by ';' (e.g. '1,0,-1;2,0,-2;1,0,-1'), "
            f"got {text!r}") from None
    if not values or any(len(r) == 0 for r in values) or len({len(r) for r in values}) != 1:
        raise argparse.ArgumentTypeError(
            f"kernel rows must be non-empty and of equal length, got {text!r}")
    if any(abs(v) >= _MAX_VALUE for row in values for v in row):
        raise argparse.ArgumentTypeError(
            f"kernel values must be less than 2**62 in magnitude, got {text!r}")
    return values if len(values) > 1 else values[0]


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return seed


def _formats(text: str) -> tuple[str, ...]:
    from .report.output import FORMATS

    formats = tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise argparse.ArgumentTypeError(
            f"formats must be a comma-separated subset of {','.join(FORMATS)}, got {text!r}")
    return formats


def _directory(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory, got an empty string")
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# ---- shared: a conv given on the command line -------------------------------

#: Most weight symbols ``--symbolic`` builds (each one is a sympy Symbol).
MAX_SYMBOLS = 10_000


def _conv_arguments(parser) -> None:
    group = parser.add_argument_group("the convolution")
    what = group.add_mutually_exclusive_group(required=True)
    what.add_argument("--kernel", type=_kernel, metavar="VALUES",
                      help="kernel values, rows separated by ';': '1,0,-1;2,0,-2;1,0,-1' "
                           "(one row on an image is a 1 x k kernel)")
    what.add_argument("--symbolic", type=_shape, metavar="K",
                      help="symbolic kernel of this size (e.g. 3x3): entries w_..")
    group.add_argument("--input", type=_shape, required=True, metavar="SHAPE",
                       help="input shape: 4x4 (one channel) or C_in x n1 x ... with --in-channels")
    group.add_argument("--in-channels", type=_positive, default=None, metavar="C",
                       help="input channels (symbolic kernels; the first entry of --input)")
    group.add_argument("--out-channels", type=_positive, default=1, metavar="C",
                       help="output channels (symbolic kernels; default 1)")
    group.add_argument("--stride", type=_ints, default=1, help="int or ints per axis (default 1)")
    group.add_argument("--padding", type=_padding, default=0,
                       help="int, ints per axis, same, same_upper, same_lower, valid or full "
                            "(default 0)")
    group.add_argument("--dilation", type=_ints, default=1, help="int or ints per axis (default 1)")
    group.add_argument("--groups", type=_positive, default=1, help="channel groups (default 1)")
    group.add_argument("--padding-mode", default="zeros", choices=PADDING_MODES)
    group.add_argument("--flip", action="store_true", help="true convolution (flip the kernel)")


def _build_conv(args, command: str):
    """``(weight, input_shape, conv options)`` from the shared arguments."""
    import numpy as np

    from .weights import kernel_symbols

    conv = dict(stride=args.stride, padding=args.padding, dilation=args.dilation,
                groups=args.groups, padding_mode=args.padding_mode, flip=args.flip)
    if args.kernel is not None:
        if args.in_channels is not None or args.out_channels != 1:
            raise UsageError(f"convtheory {command}: error: --in-channels and --out-channels go "
                             f"with --symbolic; --kernel gives one single-channel kernel")
        values = np.array(args.kernel, dtype=object)
        integer = all(v.denominator == 1 for v in values.ravel())
        weight = values.astype(np.int64 if integer else float)
        if weight.ndim == 1 and len(args.input) > 1:  # one row on an image: a 1 x k kernel
            weight = weight.reshape((1,) * (len(args.input) - 1) + weight.shape)
        if weight.ndim != len(args.input):
            raise UsageError(
                f"convtheory {command}: error: --kernel gives a {weight.ndim}-D single-channel "
                f"kernel but --input {'x'.join(map(str, args.input))} has {len(args.input)} "
                f"axes; give a {weight.ndim}-D --input, or use --symbolic with --in-channels "
                f"for channels")
        return weight, args.input, conv
    channels = (args.out_channels, args.in_channels or 1)
    n_symbols = channels[0] * channels[1] // args.groups * math.prod(args.symbolic)
    if n_symbols > MAX_SYMBOLS:  # size first: sympy builds every symbol
        raise UsageError(f"convtheory {command}: error: --symbolic "
                         f"{'x'.join(map(str, args.symbolic))} makes {n_symbols:,} weight symbols "
                         f"(at most {MAX_SYMBOLS:,}); use a smaller kernel, or --kernel with "
                         f"numbers")
    if args.in_channels is None:
        return kernel_symbols(args.symbolic), args.input, conv
    if args.input[0] != args.in_channels:
        raise UsageError(f"convtheory {command}: error: --input {'x'.join(map(str, args.input))} "
                         f"must start with --in-channels {args.in_channels}")
    shape = (args.out_channels, args.in_channels // args.groups) + args.symbolic
    return kernel_symbols(shape), args.input, conv


# ---- verify -----------------------------------------------------------------

def _cmd_verify(args) -> int:
    from .report import OutputError, all_claims, prepare_output, run_report, write_report

    if args.list:
        # "expected" is what the theory predicts for the check: a claim that a property
        # breaks is listed as "fails", and a run confirms it when its check fails.
        print(f"{'claim':<40} {'expected':<8} statement")
        for claim in all_claims(args.section):
            expected = "holds" if claim.expected else "fails"
            print(f"{claim.id:<40} {expected:<8} {claim.statement}")
        return EXIT_OK

    # Refuse an unwritable --out before spending minutes on the checks.
    try:
        prepare_output(args.out)
    except OutputError as exc:
        raise UsageError(f"convtheory verify: error: {exc}") from None
    report = run_report(seed=args.seed, quick=args.quick, sections=args.section)
    try:
        written = write_report(report, args.out, args.format)
    except OSError as exc:
        raise UsageError(f"convtheory verify: error: cannot write the report to --out "
                         f"{args.out!r}: {exc.strerror or exc}") from None
    for r in report.results:
        if not r.confirmed:
            detail = f": {r.message}" if r.message else ""
            print(f"NOT CONFIRMED ({r.status}) {r.claim.id}{detail}")
    c = report.counts()
    print(f"{c['confirmed']}/{c['claims']} claims confirmed in {report.seconds:.1f} s; "
          f"report: {', '.join(p for p in written if not p.endswith(('.png', '.gif')))}")
    return EXIT_OK if report.confirmed else EXIT_NOT_CONFIRMED


# ---- matrix -----------------------------------------------------------------

#: Widest matrix ``convtheory matrix`` prints as a table; beyond it, use --spy.
MAX_TABLE_COLUMNS = 64


def _cmd_matrix(args) -> int:
    from .matrices import conv_matrix
    from .weights import conv_arguments

    weight, shape, conv = _build_conv(args, "matrix")
    if args.spy:
        _check_figure_path(args.spy, "matrix", "--spy")
    try:
        w, spec = conv_arguments(weight, shape, **conv)
        if args.spy:
            return _save_spy(w, spec, args.spy, values=args.kernel is not None)
        rows, cols = spec.matrix_shape
        if cols > MAX_TABLE_COLUMNS or rows > 4 * MAX_TABLE_COLUMNS:
            raise UsageError(f"convtheory matrix: error: a {rows} x {cols} matrix is too big for a "
                             f"table (at most {MAX_TABLE_COLUMNS} columns); use --spy FILE.png")
        M = conv_matrix(w, spec)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory matrix: error: {exc}") from None
    print(_matrix_table(M, spec))
    return EXIT_OK


def _save_spy(w, spec, path, *, values: bool) -> int:
    from .figures.matrices import MAX_SPY_CELLS, spy_conv_vs_dense

    # Size first: the spy plot draws one cell per matrix entry.
    rows, cols = spec.matrix_shape
    if rows * cols > MAX_SPY_CELLS:
        raise UsageError(f"convtheory matrix: error: a {rows:,} x {cols:,} matrix is too big for "
                         f"--spy (at most {MAX_SPY_CELLS:,} entries); use a smaller --input")
    # A numeric kernel is drawn by value; a symbolic one by which weight lands where.
    return _write_figure(spy_conv_vs_dense(w, spec, values=values), path, "matrix", "--spy")


#: File types a figure option writes.
_FIGURE_TYPES = (".png", ".svg", ".pdf")


def _check_figure_path(path, command: str, option: str) -> None:
    """Refuse a figure file name of the wrong type before any work is done."""
    if os.path.splitext(path)[1].lower() not in _FIGURE_TYPES:
        raise UsageError(f"convtheory {command}: error: {option} {path!r} must end in .png, "
                         f".svg or .pdf")


def _write_figure(fig, path, command: str, option: str) -> int:
    """Save ``fig`` to ``path`` for ``convtheory COMMAND OPTION``; a failure is a usage error."""
    from .figures import savefig

    _check_figure_path(path, command, option)
    try:
        savefig(fig, path)
    except OSError as exc:
        raise UsageError(f"convtheory {command}: error: cannot write {option} {path!r}: "
                         f"{exc.strerror or exc}") from None
    print(f"wrote {path}")
    return EXIT_OK


def _matrix_table(M, spec) -> str:
    """The matrix as a text table: rows are outputs, columns inputs, '.' where no tap lands."""
    rows, cols = spec.matrix_shape
    cells = [["."] * cols for _ in range(rows)]
    if hasattr(M, "indptr"):  # scipy csr_array: the structural pattern, zeros included
        for r in range(rows):
            for k in range(M.indptr[r], M.indptr[r + 1]):
                cells[r][M.indices[k]] = _number(M.data[k])
    else:  # sympy sparse matrix
        for (r, c), v in M.todok().items():
            cells[r][c] = str(v)
    row_labels = [_position("y", i, spec.output_shape) for i in range(rows)]
    col_labels = [_position("x", j, spec.input_shape) for j in range(cols)]
    width = max(max(len(c) for row in cells for c in row), max(len(c) for c in col_labels))
    label_width = max(len(r) for r in row_labels)
    stored = sum(c != "." for row in cells for c in row)
    zeros = sum(c == "0" for row in cells for c in row)
    held = f" ({zeros} hold 0)" if zeros else ""
    kernel = "x".join(map(str, spec.weight_shape))
    lines = [f"conv_matrix: {rows} x {cols}, {stored} stored entries{held}, {spec.n_weights} weights "
             f"(kernel {kernel} on input {'x'.join(map(str, spec.input_shape))}); "
             f"'.' = no connection", ""]
    lines.append(" " * label_width + "  " + " ".join(c.rjust(width) for c in col_labels))
    for label, row in zip(row_labels, cells):
        lines.append(label.rjust(label_width) + "  " + " ".join(c.rjust(width) for c in row))
    return "\n".join(lines)


def _number(v) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.4g}"


def _position(name: str, flat: int, shape) -> str:
    """``y01`` for output (0, 1) (channel left out when there is one; commas past 9)."""
    import numpy as np

    index = [int(i) for i in np.unravel_index(flat, shape)]
    if shape[0] == 1:
        index = index[1:]
    return name + ("".join if max(shape) <= 10 else ",".join)(map(str, index))


# ---- prove, train, graph, receptive-field: front ends to modules that may be absent ----

def _require(module: str, command: str, what: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"convtheory {command}: error: {what} ({module}) is not available in "
                         f"this installation") from None


def _cmd_prove(args) -> int:
    proofs = _require("convtheory.proofs", "prove", "the proofs package")
    unknown = [n for n in args.only or () if n not in proofs.THEOREMS]
    if unknown:
        raise UsageError(f"convtheory prove: error: --only {', '.join(unknown)}: no such proof; "
                         f"available: {', '.join(proofs.THEOREMS)}")
    if args.output:
        _check_output_file(args.output, "prove", "--output", ".json")
    names = [n for n in proofs.THEOREMS if args.only is None or n in args.only]
    certificates = proofs.prove_all(names)
    width = max(len(c.theorem) for c in certificates)
    for c in certificates:
        print(proofs.certificate_line(c, width))
    total = sum(c.seconds for c in certificates)
    summary = f"{sum(map(bool, certificates))}/{len(certificates)} hold, {total:.2f} s"
    if args.output:
        try:
            path = proofs.write_certificates(certificates, args.output)
        except OSError as exc:
            raise UsageError(f"convtheory prove: error: cannot write --output {args.output!r}: "
                             f"{exc.strerror or exc}") from None
        summary += f"; wrote {path}"
    print(summary)
    return EXIT_OK if all(certificates) else EXIT_NOT_CONFIRMED


def _check_output_file(path, command: str, option: str, suffix: str) -> None:
    """Refuse an output file name of the wrong type before any work is done."""
    if os.path.splitext(path)[1].lower() != suffix:
        raise UsageError(f"convtheory {command}: error: {option} {path!r} must end in {suffix}")


def _cmd_train(args) -> int:
    _require("convtheory.nn.experiments", "train", "the training experiments")
    from .nn.experiments import learn_filter

    from .nn.data import filter_bank

    names = sorted(filter_bank())
    if args.filter not in names:
        raise UsageError(f"convtheory train: error: --filter must be one of {', '.join(names)}, "
                         f"got {args.filter!r}")
    options = {k: v for k, v in (("steps", args.steps), ("n_images", args.images),
                                 ("size", args.size)) if v is not None}
    try:
        r = learn_filter(args.filter, seed=args.seed, progress=sys.stderr.isatty(), **options)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory train: error: {exc}") from None
    status = "converged" if r.converged else "NOT converged"
    print(f"learned {r.name} with a conv layer in {r.steps} steps from {r.n_images} images: "
          f"max |learned - true| = {r.max_error:.3g} ({status}, tol {r.tol:g})")
    true_rows = [" ".join(f"{v:9.4f}" for v in row) for row in r.true_kernel]
    learned_rows = [" ".join(f"{v:9.4f}" for v in row) for row in r.learned_kernel]
    width = len(true_rows[0])
    print(f"{'true kernel':<{width}}    learned kernel")
    for a, b in zip(true_rows, learned_rows):
        print(f"{a}    {b}")
    return EXIT_OK if r.converged else EXIT_NOT_CONFIRMED


def _cmd_graph(args) -> int:
    _require("convtheory.graph", "graph", "the graph views")
    from .graph import conv_graph, dense_graph, graph_metrics

    weight, shape, conv = _build_conv(args, "graph")
    if args.figure:
        _check_figure_path(args.figure, "graph", "--figure")
    try:
        from .taps import count_taps
        from .weights import conv_arguments

        _, spec = conv_arguments(weight, shape, **conv)
        n_edges = count_taps(spec)
        if n_edges > MAX_GRAPH_EDGES:  # count first, as `matrix` does: networkx is slow to build
            raise UsageError(f"convtheory graph: error: a graph of {n_edges:,} edges is too big "
                             f"to summarise here (at most {MAX_GRAPH_EDGES:,}); use a smaller "
                             f"--input, or conv_graph(..., max_edges=) from Python")
        G = conv_graph(weight, shape, **conv)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory graph: error: {exc}") from None
    # Refuse an undrawable --figure before printing anything.
    if args.figure and G.number_of_nodes() > MAX_DRAWN_UNITS:
        raise UsageError(f"convtheory graph: error: {G.number_of_nodes()} units are too many to "
                         f"draw with --figure (at most {MAX_DRAWN_UNITS}); use a smaller --input")
    m = graph_metrics(G)
    ties = m.tie_counts[m.tie_counts > 0]
    print(f"conv layer {'x'.join(map(str, G.graph['input_shape']))} -> "
          f"{'x'.join(map(str, G.graph['output_shape']))}: {G.number_of_nodes()} units, "
          f"{m.n_edges} edges of the dense layer's {m.n_dense_edges} "
          f"({100 * m.density:.3g}% kept), {m.n_ties} tie labels (weights)")
    print(f"inputs per output (receptive field): "
          f"{int(m.in_degree.min())}..{int(m.in_degree.max())}; "
          f"outputs per weight (sharing): {int(ties.min())}..{int(ties.max())}")
    if args.figure:
        return _save_graph_figure(G, dense_graph(G.graph["input_shape"], G.graph["output_shape"]),
                                  args.figure)
    return EXIT_OK


#: Most edges ``convtheory graph`` builds (a few seconds in networkx).
MAX_GRAPH_EDGES = 200_000
#: Most units ``convtheory graph --figure`` draws: beyond it the picture is a blur.
MAX_DRAWN_UNITS = 200


def _save_graph_figure(G, D, path) -> int:
    from .figures import new_figure
    from .figures.graph import draw_layer_graph

    fig, (ax_conv, ax_dense) = new_figure(1, 2, figsize=(10.0, 4.5))
    draw_layer_graph(G, ax_conv, title="conv")
    draw_layer_graph(D, ax_dense, title="dense", legend=False)
    return _write_figure(fig, path, "graph", "--figure")


def _layer(text: str) -> dict:
    """``"k=3,s=2,p=1,d=1"`` (or the long names) -> a layer description."""
    names = {"k": "kernel_size", "s": "stride", "p": "padding", "d": "dilation"}
    layer = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = names.get(key.strip(), key.strip())
        if not sep or key not in names.values():
            raise argparse.ArgumentTypeError(
                f"expected a layer like k=3,s=2,p=1,d=1 (kernel_size, stride, padding, "
                f"dilation), got {text!r}")
        if key in layer:
            raise argparse.ArgumentTypeError(f"{key} is given twice in {text!r}")
        try:
            layer[key] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} must be an integer in {text!r}") from None
    if "kernel_size" not in layer:
        raise argparse.ArgumentTypeError(f"a layer needs k=<kernel_size>, got {text!r}")
    return layer


def _cmd_receptive_field(args) -> int:
    _require("convtheory.receptive_field", "receptive-field", "the receptive-field module")
    from .receptive_field import receptive_field

    method = "exact" if args.exact else "closed"
    if args.exact and args.input is None:
        raise UsageError("convtheory receptive-field: error: --exact needs --input")
    try:
        rf = receptive_field(args.layers, args.input, method=method)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"convtheory receptive-field: error: {exc}") from None

    def axes(values):
        return "x".join(str(v) for v in values)

    print(f"receptive field ({method}): size {axes(rf.size)}, jump (stride) {axes(rf.stride)}, "
          f"effective padding {axes(rf.padding)}")
    if rf.output_shape is not None:
        print(f"output {axes(rf.output_shape)}; output unit 0 sees input "
              + ", ".join(f"[{lo}, {hi})" for lo, hi in rf.region((0,) * rf.ndim)))
    return EXIT_OK


# ---- the parser -------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The ``convtheory`` argument parser (one subparser per command)."""
    parser = _Parser(
        prog="convtheory", formatter_class=_formatter,
        description="Every claim about convolutional layers, made concrete.",
        epilog="examples:\n  convtheory verify --quick\n"
               "  convtheory matrix --symbolic 3x3 --input 4x4\n"
               "run 'convtheory COMMAND --help' for the options of a command.")
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"convtheory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help, example, func):
        p = sub.add_parser(name, help=help, description=help, formatter_class=_formatter,
                           epilog=f"example:\n  {example}")
        p.set_defaults(func=func)
        return p

    p = command("verify", "run every claim and write the verification report (md, html, json)",
                "convtheory verify --out reports/ --quick --format md,html", _cmd_verify)
    p.add_argument("--out", default="reports", type=_directory, metavar="DIR",
                   help="output directory (default: reports/)")
    p.add_argument("--quick", action="store_true", help="smaller sizes, shorter training (< 30 s)")
    p.add_argument("--format", type=_formats, default=("md", "html", "json"), metavar="FORMATS",
                   help="comma-separated subset of md,html,json (default: all three)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of every random input (default 0)")
    from .report.registry import SECTIONS

    p.add_argument("--section", action="append", choices=[s.id for s in SECTIONS],
                   help="run only this section (repeatable)")
    p.add_argument("--list", action="store_true",
                   help="list the claims (id, expected outcome, statement) without running them")

    p = command("matrix", "print the conv matrix as a table, or save its spy plot",
                "convtheory matrix --symbolic 3x3 --input 4x4   (the textbook 4x16 matrix)",
                _cmd_matrix)
    _conv_arguments(p)
    p.add_argument("--spy", metavar="FILE", help="save the spy plot (png, svg or pdf) instead")

    p = command("prove", "run the proofs and print their certificates",
                "convtheory prove --only shift_circulant", _cmd_prove)
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this proof (repeatable)")
    p.add_argument("--output", metavar="FILE.json", default=None,
                   help="also write the certificates as JSON (e.g. reports/certificates.json)")

    p = command("train", "learn a handcrafted filter from data with a conv layer",
                "convtheory train --filter sobel_x --steps 3000", _cmd_train)
    p.add_argument("--filter", default="sobel_x", metavar="NAME",
                   help="the filter to learn: sobel_x, sobel_y, prewitt_x, prewitt_y, laplacian, "
                        "gaussian, box, sharpen or emboss (default sobel_x)")
    p.add_argument("--steps", type=_positive, default=None, help="most optimiser steps")
    p.add_argument("--images", type=_positive, default=None, help="training images")
    p.add_argument("--size", type=_positive, default=None, help="side of each image")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the images and the init")

    p = command("graph", "build the conv layer as a graph and summarise it",
                "convtheory graph --kernel '1,-1' --input 4x4 --figure graph.png", _cmd_graph)
    _conv_arguments(p)
    p.add_argument("--figure", metavar="FILE",
                   help="draw the conv and dense graphs (png, svg, pdf)")

    p = command("receptive-field", "receptive field of a stack of layers",
                "convtheory receptive-field k=3,p=1 k=3,s=2 k=2,s=2 --input 32x32",
                _cmd_receptive_field)
    p.add_argument("layers", nargs="+", type=_layer, metavar="LAYER",
                   help="k=KERNEL[,s=STRIDE][,p=PADDING][,d=DILATION], first layer first; "
                        "the same on every axis (2 axes unless --input says otherwise)")
    p.add_argument("--input", type=_shape, default=None, metavar="SHAPE",
                   help="spatial input shape, e.g. 32x32 (gives the output shape)")
    p.add_argument("--exact", action="store_true",
                   help="read the field off the stacked layer graph (needs --input)")

    from .cli_analyze import add_parser

    add_parser(command, UsageError, _shape, _formats, _directory)
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit code (0 ok, 1 a claim not confirmed, 2 usage error).

    Examples
    --------
    >>> main(["matrix", "--kernel", "1,-1", "--input", "3"])
    conv_matrix: 2 x 3, 4 stored entries, 2 weights (kernel 1x1x2 on input 1x3); '.' = no connection
    <BLANKLINE>
            x0 x1 x2
        y0   1 -1  .
        y1   .  1 -1
    0
    """
    # A command-line program draws off screen; the library itself never picks a backend.
    os.environ.setdefault("MPLBACKEND", "Agg")
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.func(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        print("convtheory: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `convtheory matrix ... | head`: the reader left, not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (MemoryError, OverflowError) as exc:
        # Last resort: the library estimates and refuses first, so reaching this is a bug
        # there, but the user still gets one line, not a traceback.
        command = "convtheory" + (f" {args.command}" if args is not None else "")
        print(f"{command}: error: the values are too large to compute "
              f"({type(exc).__name__}: {exc}); use smaller sizes", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
