"""The two tests every chapter's exercises get: the property holds, and it catches mutants.

A correct answer must pass whatever harmless warnings it raises on the way (``np.log(0)``
inside a ``np.where``, the round-off of a matrix square root), so the exercises run with
NumPy's RuntimeWarnings shown, not turned into errors as in the rest of the suite. Where
a guard against a bad input is part of a lesson, the exercise's docstring says so and its
check tests the value that comes back, never the warning.
"""
import warnings

import numpy as np
import pytest


def _check_quietly(check, implementation):
    """Run ``check(implementation)`` with RuntimeWarnings shown once instead of raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("default", RuntimeWarning)
        check(implementation)


def make_tests(number, checks, mutants):
    """Build the tests of chapter ``number``'s exercises.

    Args:
        number: the chapter, e.g. '00'.
        checks: exercise name -> a function that asserts the exercise's properties
            about an implementation passed to it.
        mutants: exercise name -> list of planted wrong implementations (at least two).

    Returns ``(test_exercise, test_mutant_is_rejected)`` for the test module to expose.
    """
    @pytest.mark.parametrize("name", sorted(checks))
    def test_exercise(name, solutions):
        """Your (or minigan's) implementation of the exercise has its properties."""
        _check_quietly(checks[name], getattr(solutions(number), name))

    cases = [pytest.param(name, mutant, id=f"{name}-{mutant.__name__}")
             for name in sorted(mutants) for mutant in mutants[name]]

    @pytest.mark.parametrize("name, mutant", cases)
    def test_mutant_is_rejected(name, mutant):
        """A planted wrong implementation fails the property test: the test can fail."""
        with pytest.raises(Exception) as failure:
            _check_quietly(checks[name], mutant)
        assert not isinstance(failure.value, NotImplementedError)

    missing = sorted(set(checks) - set(mutants))
    assert not missing, f"exercises without a mutant: {missing}"
    too_few = sorted(name for name in checks if len(mutants.get(name, ())) < 2)
    assert not too_few, f"exercises with fewer than two planted wrong answers: {too_few}"
    return test_exercise, test_mutant_is_rejected


def assert_close(got, expected, what, rtol=1e-12, atol=1e-13, near_miss=""):
    """``got`` has ``expected``'s shape, float64 values, and equals it entry by entry; the
    message names the first wrong entry. ``near_miss`` is added to it when every entry is
    right to about 1e-6 (a float32 or finite-difference answer, say)."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: expected shape {expected.shape}, got {got.shape}"
    assert got.dtype == np.float64, (
        f"{what}: expected float64 values (the inputs' precision), got {got.dtype}")
    wrong = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        close = np.allclose(got, expected, rtol=1e-6, atol=1e-9)
        raise AssertionError(
            f"{what}: at index {index} expected {expected[index]:.10g}, got {got[index]:.10g} "
            f"(off by {abs(got[index] - expected[index]):.2g}; {wrong.sum()} of {wrong.size} "
            f"entries wrong){near_miss if close else ''}")
