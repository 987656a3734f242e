"""``python -m convtheory``: the same as the ``convtheory`` console script."""

from .cli import main

raise SystemExit(main())
