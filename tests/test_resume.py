"""Resuming an image chapter from any checkpoint gives the run that never stopped.

Each chapter below runs small twice over: once straight through, and once killed at every
checkpoint in turn, and also in the moment between the evaluation of a step and its
checkpoint, then resumed with ``--resume``. Every resumed run must end in the same state
as the straight one, compared array by array (weights, buffers, optimizer moments, the
random generator, every evaluation) and line by line (metrics.csv, evaluations.csv): the
checkpoint holds everything a step depends on, and evaluation never touches the training.

The kill is an exception raised inside the Trainer's ``save``, just after the checkpoint
file is written (a kill at the checkpoint) or just before (a kill between the evaluation
and the checkpoint of one step); ``tests/test_training.py`` kills a real process with
SIGKILL, which the atomic write makes equivalent.
"""
import json
import os
import subprocess
import sys

import numpy
import pytest

from minigan import training
from minigan.checkpoint import load_checkpoint
from tests.chapters.conftest import CHAPTERS, chapter_script, load_chapter

pytestmark = pytest.mark.slow

# A small run of each chapter: 8 steps, evaluated every 4 (and at 0), checkpoints every 2.
SMALL = ["--quick", "--steps", "8", "--evaluate-every", "4", "--checkpoint-every", "2",
         "--fid-samples", "64"]
RUNS = {"06": SMALL + ["--batch", "16"],
        "07": SMALL + ["--batch", "16"]}
CHECKPOINTS = [2, 4, 6]          # the checkpoints before the last step
EVALUATED = [4]                  # the steps that are evaluated and checkpointed


class Killed(Exception):
    """Stands for the process dying at that moment."""


def run(number, out, *options, kill_at=None, before_save=False, monkeypatch=None):
    """Chapter ``number``'s small run into ``out``; ``kill_at`` stops it at that checkpoint."""
    if kill_at is not None:
        real_save = training.Trainer.save

        def save(trainer):
            if trainer.step == kill_at and before_save:
                raise Killed
            real_save(trainer)
            if trainer.step == kill_at:
                raise Killed
        monkeypatch.setattr(training.Trainer, "save", save)
    try:
        return load_chapter(number).main([*RUNS[number], *options, "--out", str(out)])
    finally:
        if monkeypatch is not None:
            monkeypatch.undo()


def assert_same_state(straight, resumed, where):
    """The two run folders end in the same state: checkpoint parts array by array, and the
    metrics and evaluations line by line."""
    a, b = load_checkpoint(straight / "latest.ckpt"), load_checkpoint(resumed / "latest.ckpt")
    for path, x, y in _leaves(a, b):
        if isinstance(x, numpy.ndarray):
            assert numpy.array_equal(x, y), f"{where}: {path} differs"
        else:
            assert x == y, f"{where}: {path} is {y!r}, the straight run's is {x!r}"
    for name in ("metrics.csv", "evaluations.csv"):
        lines = [(folder / name).read_text().splitlines() for folder in (straight, resumed)]
        assert len(lines[0]) == len(lines[1]), f"{where}: {name} has {len(lines[1])} lines, " \
                                               f"the straight run's {len(lines[0])}"
        for number, (x, y) in enumerate(zip(*lines)):
            assert x == y, f"{where}: {name} line {number + 1} is {y!r}, not {x!r}"


def _leaves(a, b, path="checkpoint"):
    """Pairs of leaves of two nested checkpoints, with their path; the structure must match."""
    assert type(a) is type(b), f"{path}: {type(b).__name__}, not {type(a).__name__}"
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), f"{path}: keys {sorted(b)}, not {sorted(a)}"
        for key in a:
            yield from _leaves(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(b)} items, not {len(a)}"
        for index, (x, y) in enumerate(zip(a, b)):
            yield from _leaves(x, y, f"{path}/{index}")
    else:
        yield path, a, b


def without_timings(results):
    return {name: value for name, value in results.items() if "seconds" not in name}


@pytest.mark.parametrize("number", sorted(RUNS))
def test_a_run_killed_at_any_checkpoint_resumes_to_the_straight_run(number, tmp_path, monkeypatch,
                                                                    feature_network):
    straight = tmp_path / "straight"
    expected = without_timings(run(number, straight))
    kills = [(step, False) for step in CHECKPOINTS] + [(step, True) for step in EVALUATED]
    for step, before_save in kills:
        where = f"chapter {number} killed {'before' if before_save else 'after'} the " \
                f"checkpoint of step {step}"
        folder = tmp_path / f"killed-{step}-{'before' if before_save else 'after'}"
        with pytest.raises(Killed):
            run(number, folder, kill_at=step, before_save=before_save, monkeypatch=monkeypatch)
        saved = load_checkpoint(folder / "latest.ckpt")["step"]
        assert saved == (step - 2 if before_save else step), where
        results = run(number, folder, "--resume")
        assert without_timings(results) == expected, where
        assert_same_state(straight, folder, where)
        config = json.loads((folder / "config.json").read_text())
        assert config["resumes"] == [{"changed": {}, "at_step": saved}], where


def command(number, *options):
    """Chapter ``number``'s script as a command, the way a learner runs it."""
    done = subprocess.run([sys.executable, str(chapter_script(number)), *RUNS[number], *options],
                          env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True,
                          text=True)
    return done.returncode, done.stdout, done.stderr


def test_resume_refuses_what_it_cannot_continue_with_one_line(tmp_path, feature_network):
    """A changed argument, a missing --out, another chapter's run or checkpoint, a corrupt
    checkpoint: each ends with exit status 1 and one line saying what is wrong, no traceback;
    a finished run says so, exits 0 and changes no file."""
    six, seven = tmp_path / "six", tmp_path / "seven"
    assert command("06", "--out", str(six))[0] == 0
    assert command("07", "--out", str(seven))[0] == 0
    before = {path.name: path.read_bytes() for path in six.iterdir()}

    status, out, _ = command("06", "--out", str(six), "--resume")
    assert status == 0 and "finished at step 8; nothing left to do" in out
    assert {path.name: path.read_bytes() for path in six.iterdir()} == before

    def refused(*options, says):
        status, _, error = command(*options)
        assert status == 1, error
        assert error.count("\n") == 1 and "Traceback" not in error, error
        assert says in error, error
    refused("06", "--out", str(six), "--resume", "--lr", "0.001",
            says="arguments differ from")
    refused("06", "--resume", says="--resume needs --out")
    refused("06", "--out", str(seven), "--resume", says="is a run of 07_conditional_gan")
    refused("06", "--out", str(six), says="holds a run already")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.json").write_bytes((six / "config.json").read_bytes())
    (foreign / "latest.ckpt").write_bytes((seven / "latest.ckpt").read_bytes())
    refused("06", "--out", str(foreign), "--resume",
            says="is a checkpoint of 07_conditional_gan, not of 06_dcgan")
    damaged = bytearray((six / "latest.ckpt").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (six / "latest.ckpt").write_bytes(bytes(damaged))
    refused("06", "--out", str(six), "--resume", "--steps", "10",
            says="not a readable minigan checkpoint")
    assert (CHAPTERS / "06_dcgan").is_dir()
