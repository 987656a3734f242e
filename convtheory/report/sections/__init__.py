"""The report's claims, one module per section (see :mod:`..registry`)."""
