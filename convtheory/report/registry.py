"""The registry: every section and every claim of the verification report, in order.

This is the one place where claims are wired in.  Each section lives in
its own module under :mod:`convtheory.report.sections` and exposes ``CLAIMS``, a
list of :class:`~convtheory.report.claims.Claim`; a claim that needs a module
which is not importable is reported as *not available* (never confirmed), and
``tests/test_report.py`` asserts that no claim of the finished product is.
"""

from __future__ import annotations

import importlib

from .claims import Claim, Section

__all__ = ["SECTIONS", "all_claims", "section"]

#: The seed note's claims, in the order the report presents them.
SECTIONS = (
    Section("matrix", "Convolution is a matrix product",
            "Convolution can be seen as a matrix multiplication operation if we reshape inputs "
            "and outputs."),
    Section("sharing", "Parameters are shared",
            "The parameters associated with connections are the same for all output units, so "
            "parameters are shared. [...] In this case we need only 2 parameters, while before "
            "we used H^2 W^2."),
    Section("sparsity", "Sparse, local connectivity and receptive fields",
            "A convolution only processes a small set of neighbor pixels at a time, like in the "
            "Visual cortex receptive field."),
    Section("adaptivity", "One kernel, any input size",
            "[It] adapts to different input sizes."),
    Section("equivariance", "Equivariant to translations, not to rotation or scale",
            "Equivariant to translations of input (not rotation and scale): T(x)*K = T(x*K)."),
    Section("dense", "A conv layer is a dense layer that is not fully connected, with tied weights",
            "Conv layers are just dense layers which aren't fully connected. The weights of the "
            "connections are the kernel values, and are shared between neurons."),
    Section("channels", "Channels: a C_out x C_in x K x K kernel is a block matrix",
            "In general, we can have as many input and output channels as we want, as long we "
            "use the right kernel dimensions."),
    Section("pooling", "Pooling as operators: average pooling is a convolution, max pooling is "
            "piecewise linear, blurring reduces aliasing",
            "Convolution can be seen as a matrix multiplication operation if we reshape inputs "
            "and outputs. It's a linear operator which [...] [is] equivariant to translations "
            "of input."),
    Section("theorems", "The theorems behind the claims",
            "It's a linear operator which shares parameters across rows [and] is equivariant to "
            "translations."),
    Section("spectra", "Spectra of the operator",
            "It's a linear operator."),
    Section("transposed", "The transposed convolution is the transpose",
            "Convolution can be seen as a matrix multiplication operation if we reshape inputs "
            "and outputs."),
    Section("learning", "Conv layers learn compositions of handcrafted filters from data",
            "We could build convolutional layers that have the objective to learn the "
            "composition of such filters from data. [...] Allows for better generalization and "
            "data efficiency."),
)

# Section id -> module under convtheory.report.sections that holds its CLAIMS.
_MODULES = {s.id: f"{__package__}.sections.{s.id}" for s in SECTIONS}


def section(section_id: str) -> Section:
    """The :class:`Section` with this id.

    Examples
    --------
    >>> section("matrix").title
    'Convolution is a matrix product'
    """
    for s in SECTIONS:
        if s.id == section_id:
            return s
    raise ValueError(f"section must be one of {[s.id for s in SECTIONS]}, got {section_id!r}")


def all_claims(sections=None) -> list[Claim]:
    """Every claim, section by section, in report order.

    Parameters
    ----------
    sections : iterable of str, optional
        Restrict to these section ids (a repeated id counts once).

    Examples
    --------
    >>> claims = all_claims()
    >>> len({c.id for c in claims}) == len(claims)
    True
    >>> all(c.id.startswith(c.section + ".") for c in claims)
    True
    >>> all_claims(["sharing", "sharing"]) == all_claims(["sharing"])
    True
    """
    wanted = [s.id for s in SECTIONS] if sections is None else list(dict.fromkeys(sections))
    claims = []
    for sid in wanted:
        section(sid)
        module = importlib.import_module(_MODULES[sid])
        for claim in module.CLAIMS:
            if claim.section != sid:
                raise ValueError(f"claim {claim.id} is listed under {sid} but says {claim.section}")
            claims.append(claim)
    return claims
