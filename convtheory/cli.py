"""The ``convtheory`` console script."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convtheory",
        description="Every claim about convolutional layers, made concrete.",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit code.

    Examples
    --------
    >>> build_parser().prog
    'convtheory'
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stdout)
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
