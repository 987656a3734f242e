"""Checks of the seed's claims; each returns a :class:`Verdict`."""

from .verdict import METHODS, Certificate, Verdict, jsonable

__all__ = ["METHODS", "Certificate", "Verdict", "jsonable"]
