"""Running a chapter's script from a test: ``run_chapter('02', '--quick')`` returns its results."""
import importlib.util
import pathlib

import pytest

CHAPTERS = pathlib.Path(__file__).resolve().parents[2] / "chapters"


def chapter_script(number):
    """The runnable script of chapter ``number``: the .py file in its folder other than exercises.py."""
    (folder,) = CHAPTERS.glob(f"{number}_*")
    (script,) = [p for p in folder.glob("*.py") if p.name != "exercises.py"]
    return script


def load_chapter(number):
    """Import chapter ``number``'s script as a module (its main() is not run)."""
    script = chapter_script(number)
    spec = importlib.util.spec_from_file_location(f"chapter_{number}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_chapter(tmp_path, monkeypatch):
    """Run a chapter's main() with the given options, writing into a temporary folder."""
    monkeypatch.setenv("MPLBACKEND", "Agg")

    def run(number, *options):
        out = tmp_path / f"ch{number}"
        results = load_chapter(number).main([*options, "--out", str(out)])
        return results, out
    return run
