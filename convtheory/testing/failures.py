"""The assertion errors of :mod:`convtheory.testing`, with reports a reader can act on.

Each error is an :class:`AssertionError` (so pytest and unittest treat it as
a test failure), carries the numbers that explain it as attributes, and
renders a longer :meth:`~ConvtheoryAssertionError.report`, which the pytest
plugin (:mod:`convtheory.testing.plugin`) attaches to the failing test.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ConvolutionAssertionError", "ConvtheoryAssertionError", "EquivarianceAssertionError"]


class ConvtheoryAssertionError(AssertionError):
    """Base class: an assertion of :mod:`convtheory.testing` failed.

    ``str(error)`` is a one-paragraph message; :meth:`report` adds details
    (an error map, the breach) for the pytest report section.

    Examples
    --------
    Catch every convtheory assertion at once; it is an ``AssertionError``:

    >>> from convtheory.testing import ConvtheoryAssertionError, assert_invariant
    >>> try:
    ...     assert_invariant(lambda x: x[0], np.flipud, (3, 3), seed=0)
    ... except ConvtheoryAssertionError as failure:
    ...     print(isinstance(failure, AssertionError), type(failure).__name__)
    True EquivarianceAssertionError
    """

    def report(self) -> str:
        """The long report: the message, then details."""
        return str(self)


class EquivarianceAssertionError(ConvtheoryAssertionError):
    """``f(T_in x) != T_out f(x)`` beyond tolerance.

    Attributes
    ----------
    transform : str
        The transform that failed, e.g. ``"shift (0, 1) -> output shift (0, 1)"``.
    position : tuple of int
        Worst output position (an index into ``f(x)``).
    error, tolerance : float
        The error there and the tolerance it exceeded.
    seed, sample : int
        ``seed`` regenerates every input; ``sample`` is the one that failed.
    error_map : ndarray
        Error per output position, maximum over samples (NaN where not compared; inf where
        a compared error is NaN or infinite).
    failing : int
        Number of compared output positions above tolerance.

    Examples
    --------
    A zero-padded 3-tap correlation fails a cyclic shift where the window
    meets the border: outputs 0 and 1 read the wrapped sample, output 7 has
    lost one:

    >>> from scipy.ndimage import correlate1d
    >>> from convtheory.testing import EquivarianceAssertionError, assert_translation_equivariant
    >>> f = lambda x: correlate1d(x, [1.0, 2.0, 3.0], mode="constant")
    >>> try:
    ...     assert_translation_equivariant(f, (8,), seed=0)
    ... except EquivarianceAssertionError as failure:
    ...     print(failure.transform, "| seed", failure.seed, "| failing", failure.failing)
    ...     print(np.flatnonzero(failure.error_map > failure.tolerance).tolist())
    shift (1,) -> output shift (1,) | seed 0 | failing 3
    [0, 1, 7]
    """

    def __init__(self, message, *, transform, position, error, tolerance, seed, sample,
                 error_map, failing):
        super().__init__(message)
        self.transform = transform
        self.position = position
        self.error = error
        self.tolerance = tolerance
        self.seed = seed
        self.sample = sample
        self.error_map = error_map
        self.failing = failing

    def report(self) -> str:
        legend = "failing output positions ('#' fails, '.' holds, ' ' not compared):"
        lines = [str(self), "", legend]
        lines += ascii_error_map(self.error_map, self.tolerance)
        return "\n".join(lines)


class ConvolutionAssertionError(ConvtheoryAssertionError):
    """A callable is not the convolution it was claimed to be.

    Attributes
    ----------
    recovery : KernelRecovery or None
        The failed recovery (its ``breach`` is the first entry that breaks
        the tied, shifted structure), or None when the callable failed
        earlier (not linear, wrong output shape).

    Examples
    --------
    A position-dependent gain is linear but not a convolution:

    >>> from convtheory.testing import ConvolutionAssertionError, assert_is_convolution
    >>> gain = np.arange(1.0, 7.0)
    >>> try:
    ...     assert_is_convolution(lambda x: gain * x, (6,), (1,))
    ... except ConvolutionAssertionError as failure:
    ...     print(failure.recovery is not None and not failure.recovery.verdict.holds)
    True
    """

    def __init__(self, message, *, recovery=None):
        super().__init__(message)
        self.recovery = recovery

    def report(self) -> str:
        if self.recovery is None:
            return str(self)
        return f"{self}\n\n{self.recovery}\nevidence: {self.recovery.verdict.evidence}"


def ascii_error_map(error_map: np.ndarray, tolerance: float, *, max_lines: int = 32) -> list[str]:
    """Draw the last two axes of an error map (worst over the leading axes) as text.

    Examples
    --------
    >>> err = np.zeros((3, 4)); err[0, 1] = 1.0; err[2, 3] = np.nan
    >>> print("\\n".join(ascii_error_map(err, 0.5)))
    .#..
    ....
    ...
    """
    err = np.asarray(error_map, dtype=float)
    if err.ndim == 0:
        err = err.reshape(1, 1)
    if err.ndim == 1:
        err = err[None, :]
    if err.ndim > 2:
        flat = err.reshape(-1, *err.shape[-2:])
        compared = ~np.isnan(flat)
        worst = np.where(compared, flat, -np.inf).max(axis=0)
        err = np.where(compared.any(axis=0), worst, np.nan)
    chars = np.where(np.isnan(err), " ", np.where(err > tolerance, "#", "."))
    lines = ["".join(row).rstrip() for row in chars[:max_lines]]
    if len(chars) > max_lines:
        lines.append(f"... ({len(chars) - max_lines} more rows)")
    return lines
