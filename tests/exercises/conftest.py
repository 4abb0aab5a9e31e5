"""Which exercise solutions the property tests check.

``pytest --solutions=reference`` (the default, what CI runs) checks minigan's own
answers, in ``tests/exercises/chNN_reference.py``: every property test is thereby shown
to pass on a correct answer. ``pytest --solutions=mine -m ch02`` checks yours, in
``chapters/02_*/exercises.py`` (and runs nothing else: see ``tests/conftest.py``).

Beside each property test stands a test that runs it on planted wrong answers (at
least two per exercise, at the end of each ``test_chNN.py``) and expects it to fail:
every property test is thereby shown to be able to fail.
"""
import importlib.util
import pathlib

import pytest

from tests.exercises import reference

CHAPTERS = pathlib.Path(__file__).resolve().parents[2] / "chapters"


def load_exercises(number):
    """The learner's ``exercises.py`` of chapter ``number`` (e.g. '02'), as a module."""
    (folder,) = CHAPTERS.glob(f"{number}_*")
    spec = importlib.util.spec_from_file_location(f"exercises_{number}", folder / "exercises.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def solutions(request):
    """A function giving the chosen solutions of a chapter: ``solutions('00').mul_backward``."""
    mine = request.config.getoption("--solutions") == "mine"
    return (lambda number: load_exercises(number)) if mine else reference.chapter
