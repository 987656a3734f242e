"""The ``convtheory`` console script: ``verify`` writes the report; the rest are thin front ends.

Each subcommand calls the library exactly as a user would, so reading this
file (or ``convtheory COMMAND --help``) teaches the API.  A user mistake is
one line on stderr and exit code 2, never a traceback.  Here: the parser,
:func:`main`, and the commands about the claims (``verify``, ``prove``,
``train``); what the command line accepts is :mod:`convtheory.cli_arguments`,
the views of one conv (``matrix``, ``graph``, ``receptive-field``) are
:mod:`convtheory.cli_views`, and ``analyze`` is :mod:`convtheory.cli_analyze`.
"""

from __future__ import annotations

import argparse
import os
import sys

from .cli_arguments import (
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    _conv_arguments,
    _format_argument,
    _formatter,
    _layer,
    _out_argument,
    _Parser,
    _positive,
    _prepare_out,
    _require,
    _seed,
    _shape,
)
from .cli_views import _cmd_graph, _cmd_matrix, _cmd_receptive_field

__all__ = ["main"]


# ---- verify -----------------------------------------------------------------

def _cmd_verify(args) -> int:
    from .report import all_claims, run_report, write_report

    if args.list:
        # "expected" is what the theory predicts for the check: a claim that a property
        # breaks is listed as "fails", and a run confirms it when its check fails.
        print(f"{'claim':<40} {'expected':<8} statement")
        for claim in all_claims(args.section):
            expected = "holds" if claim.expected else "fails"
            print(f"{claim.id:<40} {expected:<8} {claim.statement}")
        return EXIT_OK

    _prepare_out(args.out, "verify")
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


# ---- prove, train: front ends to modules that may be absent --------------------

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
    _out_argument(p, "reports")
    p.add_argument("--quick", action="store_true", help="smaller sizes, shorter training (< 30 s)")
    _format_argument(p)
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

    add_parser(command)
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
