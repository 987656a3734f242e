"""What the ``convtheory`` command line accepts, and how a mistake in it is reported.

Every subcommand shares this contract: argparse types that turn text into
shapes, ints, paddings and exact kernels (:class:`fractions.Fraction`); the
arguments that give one convolution (``--kernel`` or ``--symbolic``,
``--input``, ``--stride``, ...) and the weight they build; the report
options ``--out`` and ``--format``.  A user mistake is a :class:`UsageError`:
one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import math
from fractions import Fraction

from .geometry import PADDING_MODES

__all__ = ["EXIT_NOT_CONFIRMED", "EXIT_OK", "EXIT_USAGE", "MAX_SYMBOLS", "UsageError"]

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


# ---- shared: the report a command writes -------------------------------------

def _out_argument(parser, default: str) -> None:
    parser.add_argument("--out", default=default, type=_directory, metavar="DIR",
                        help=f"output directory (default: {default}/)")


def _format_argument(parser) -> None:
    parser.add_argument("--format", type=_formats, default=("md", "html", "json"),
                        metavar="FORMATS",
                        help="comma-separated subset of md,html,json (default: all three)")


def _prepare_out(out: str, command: str) -> None:
    """Refuse an unwritable ``--out`` before spending minutes on the work."""
    from .report.output import OutputError, prepare_output

    try:
        prepare_output(out)
    except OutputError as exc:
        raise UsageError(f"convtheory {command}: error: {exc}") from None


def _require(module: str, command: str, what: str):
    """Import ``module`` for ``convtheory COMMAND``, or say in one line that it is absent."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"convtheory {command}: error: {what} ({module}) is not available in "
                         f"this installation") from None
