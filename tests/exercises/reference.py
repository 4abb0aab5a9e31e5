"""minigan's own answers to the exercises, one module per chapter (``chNN_reference.py``)."""
import importlib


def chapter(number):
    """The reference solutions of chapter ``number`` ('00', '01', ...)."""
    return importlib.import_module(f"tests.exercises.ch{number}_reference")
