"""Structure recognition: is this matrix Toeplitz, circulant, or a convolution?

Three questions, asked of a dense array or a scipy sparse matrix, and
answered entry for entry:

* :func:`is_toeplitz` / :func:`is_circulant` (:mod:`convtheory.toeplitz`):
  is every entry equal along its (multi-level) diagonal?  With ``levels``
  the matrix is read as a block matrix whose blocks are themselves
  structured: block Toeplitz with Toeplitz blocks (BTTB), block circulant
  with circulant blocks (BCCB), and so on to any depth.
* :func:`recover_kernel` (:mod:`convtheory.kernel_recovery`): is this
  matrix the convolution of a given geometry, and with which kernel?  The
  weights are read off the taps of :func:`~convtheory.taps.conv_taps`, and
  ``conv_matrix(kernel, spec)`` must reproduce the matrix exactly, including
  that it has nothing outside the taps.

Results
-------
Every answer is a :class:`~convtheory.verdict.Verdict` (truthy iff the
structure holds) whose ``counterexample`` is a :class:`StructureBreach`
(:mod:`convtheory.structure_breach`): the first entry, in row-major order,
that breaks the structure.
:func:`recover_kernel` returns a :class:`KernelRecovery`, which holds that
verdict next to the recovered kernel (the kernel is the answer users want,
so it is a field, not an entry of ``evidence``); it is truthy exactly when
its verdict is.
"""

from .kernel_recovery import KernelRecovery, recover_kernel
from .structure_breach import BREACH_REASONS, StructureBreach
from .toeplitz import is_circulant, is_toeplitz

__all__ = [
    "BREACH_REASONS",
    "KernelRecovery",
    "StructureBreach",
    "is_circulant",
    "is_toeplitz",
    "recover_kernel",
]
