"""Copies to the host per training step of each Trainer chapter, on the strict device.

    python benchmarks/host_copies.py 06 12          # chapters 06 and 12
    python benchmarks/host_copies.py                # every chapter that trains with the Trainer

Each chapter's quick run is started on the strict device of the tests
(``tests/strict_array.py``: it refuses the implicit copies CuPy refuses and counts the
explicit ones), for 40 steps with evaluation and checkpoints only at the end. The count
between the start of one step and the start of the next is that step's copies, with the
logging the Trainer does after it; the table gives them for steps 2 to 39 (the first step
builds optimizer state, the last evaluates and saves). On a GPU each copy waits for the
device to finish its queue, so they should be the logged numbers, at the logging interval.
"""
import argparse
import contextlib
import importlib.util
import io
import pathlib
import statistics
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minigan import backend, training  # noqa: E402
from tests import strict_array  # noqa: E402

TRAINER_CHAPTERS = ["06", "07", "08", "11", "12", "13"]
STEPS = 40


def chapter_module(number):
    (folder,) = (ROOT / "chapters").glob(f"{number}_*")
    (script,) = [p for p in folder.glob("*.py") if p.name != "exercises.py"]
    spec = importlib.util.spec_from_file_location(f"chapter_{number}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copies_per_step(number):
    """The copies each step of chapter ``number``'s quick run makes, steps 2 to STEPS - 1."""
    counts = []
    original = training.Trainer.__init__

    def counting_init(self, step_fn, *args, **kwargs):
        def counted(batch):
            counts.append(strict_array.transfer_count())
            return step_fn(batch)
        original(self, counted, *args, **kwargs)

    training.Trainer.__init__ = counting_init
    backend.register_device("strict", strict_array)
    backend.set_device("strict")
    try:
        with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            chapter_module(number).main(["--quick", "--steps", str(STEPS), "--evaluate-every",
                                         str(STEPS), "--checkpoint-every", str(STEPS),
                                         "--out", out])
    finally:
        training.Trainer.__init__ = original
        backend.set_device("cpu")
    return [b - a for a, b in zip(counts, counts[1:])][1:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=TRAINER_CHAPTERS)
    args = parser.parse_args(argv)
    print("| chapter | copies per step (mean) | at a logged step | at the others |")
    print("|---|---|---|---|")
    for number in args.chapters:
        per_step = copies_per_step(number)
        logged = [c for i, c in enumerate(per_step, start=2) if i % 10 == 0]
        others = [c for i, c in enumerate(per_step, start=2) if i % 10 != 0]
        print(f"| {number} | {statistics.mean(per_step):.2f} | {sorted(set(logged))} | "
              f"{sorted(set(others))} |", flush=True)


if __name__ == "__main__":
    main()
