"""``python -m convtheory``: the same as the ``convtheory`` console script."""

from .cli import main

if __name__ == "__main__":  # not when a test collector imports this module
    raise SystemExit(main())
