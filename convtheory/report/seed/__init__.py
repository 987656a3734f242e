"""The report's claims, one module per section of the seed note (see :mod:`..registry`)."""
