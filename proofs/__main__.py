"""``python -m convtheory.proofs [--output PATH] [NAME ...]``: run the proofs, print a summary, write JSON."""

from __future__ import annotations

import argparse
import sys

from . import THEOREMS, certificate_line, prove_all, write_certificates


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"theorems to run (default: all of {', '.join(THEOREMS)})")
    parser.add_argument("--output", default="reports/certificates.json")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in THEOREMS]
    if unknown:
        parser.error(f"unknown theorems {unknown}; choose from {', '.join(THEOREMS)}")
    certificates = prove_all(args.names or THEOREMS)
    width = max(len(c.theorem) for c in certificates)
    for c in certificates:
        print(certificate_line(c, width))
    total = sum(c.seconds for c in certificates)
    path = write_certificates(certificates, args.output)
    print(f"{sum(map(bool, certificates))}/{len(certificates)} hold, {total:.2f} s; wrote {path}")
    return 0 if all(certificates) else 1


if __name__ == "__main__":
    sys.exit(main())
