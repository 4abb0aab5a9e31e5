"""The two tests every chapter's exercises get: the property holds, and it catches mutants."""
import pytest


def make_tests(number, checks, mutants):
    """Build the tests of chapter ``number``'s exercises.

    Args:
        number: the chapter, e.g. '00'.
        checks: exercise name -> a function that asserts the exercise's properties
            about an implementation passed to it.
        mutants: exercise name -> list of planted wrong implementations.

    Returns ``(test_exercise, test_mutant_is_rejected)`` for the test module to expose.
    """
    @pytest.mark.parametrize("name", sorted(checks))
    def test_exercise(name, solutions):
        """Your (or minigan's) implementation of the exercise has its properties."""
        checks[name](getattr(solutions(number), name))

    cases = [pytest.param(name, mutant, id=f"{name}-{mutant.__name__}")
             for name in sorted(mutants) for mutant in mutants[name]]

    @pytest.mark.parametrize("name, mutant", cases)
    def test_mutant_is_rejected(name, mutant):
        """A planted wrong implementation fails the property test: the test can fail."""
        with pytest.raises(Exception) as failure:
            checks[name](mutant)
        assert not isinstance(failure.value, NotImplementedError)

    missing = sorted(set(checks) - set(mutants))
    assert not missing, f"exercises without a mutant: {missing}"
    return test_exercise, test_mutant_is_rejected
