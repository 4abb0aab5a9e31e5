"""Every command line of minigan, typed carelessly: one line on stderr, never a traceback.

A chapter script, ``python -m minigan.data`` and ``python -m minigan.metrics.features``
refuse a bad option with exit status 2 and the single line
``<prog>: error: argument --batch: expected a whole number >= 1, got 0 (see --help)``:
the option, what it takes, what it got. A run that cannot go on (an --out that is a file,
data that is missing, a fetch that fails) ends with status 1 and one line naming the cause.

Most cases call a script's ``main([...])`` in this process (argparse exits with
SystemExit; capsys holds stderr); a few start the real command in a process of its own
to show the whole path, from the shell to the exit status, without a traceback.
"""
import argparse
import pathlib
import re
import subprocess
import sys

import pytest

from minigan import experiment
from minigan.data import sources
from minigan.metrics import features
from tests.chapters.conftest import chapter_script, load_chapter

ROOT = chapter_script("00").parents[2]


def refused(main, argv, capsys):
    """Run ``main(argv)``, which must stop with SystemExit: (its status, its stderr lines)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out, err = capsys.readouterr()
    return stop.value.code, err.splitlines()


def assert_one_line(lines, *words):
    """One line, no traceback, naming every one of ``words`` (the option, its value)."""
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])


# --- the types: what each range takes and refuses -------------------------------------------
def test_whole_number_takes_its_range_and_names_it():
    count, digit = experiment.whole_number(1), experiment.whole_number(0, 9)
    assert count("1") == 1 and count("3_000") == 3000 and digit("0") == 0 and digit("9") == 9
    for parse, text, message in [
            (count, "0", "expected a whole number >= 1, got 0"),
            (count, "-4", "expected a whole number >= 1, got -4"),
            (count, "2.5", "expected a whole number >= 1, got '2.5'"),
            (count, "many", "expected a whole number >= 1, got 'many'"),
            (digit, "10", "expected a whole number >= 0 and <= 9, got 10")]:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            parse(text)


def test_number_takes_finite_values_within_its_bounds():
    rate = experiment.number(above=0)
    probability = experiment.number(minimum=0, maximum=1)
    decay = experiment.number(minimum=0, below=1)
    assert rate("1e-4") == 1e-4 and probability("0") == 0 and probability("1") == 1
    assert decay("0.999") == 0.999
    for parse, text, message in [
            (rate, "0", "expected a number > 0, got 0"),
            (rate, "-1", "expected a number > 0, got -1"),
            (rate, "nan", "expected a number > 0, got nan"),
            (rate, "inf", "expected a number > 0, got inf"),
            (rate, "fast", "expected a number > 0, got 'fast'"),
            (probability, "1.5", "expected a number >= 0 and <= 1, got 1.5"),
            (decay, "1", "expected a number >= 0 and < 1, got 1")]:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            parse(text)


# --- every chapter: no bare int or float, and every default within its own range -----------
CHAPTERS = sorted(path.name[:2] for path in (pathlib.Path(__file__).resolve().parents[1]
                                               / "chapters").glob("[0-9][0-9]_*"))


class _Parsed(Exception):
    """Raised instead of parsing, to hand the finished parser to the test."""


def chapter_parser(number, monkeypatch):
    """The argument parser chapter ``number``'s main() builds (with its own options)."""
    seen = []

    def capture(parser, argv=None, namespace=None):
        seen.append(parser)
        raise _Parsed
    monkeypatch.setattr(experiment.OneLineParser, "parse_args", capture)
    with pytest.raises(_Parsed):
        load_chapter(number).main([])
    return seen[0]


@pytest.mark.parametrize("number", CHAPTERS)
def test_every_numeric_option_has_a_range_that_holds_its_default(number, monkeypatch):
    """argparse applies ``type`` to what is typed, never to a default that is a number: so
    each option must have a checking type (a bare int or float takes -1, 0 or nan), and each
    default, written out as text, must pass it (else the unchecked default is out of range)."""
    parser = chapter_parser(number, monkeypatch)
    for action in parser._actions:
        assert action.type not in (int, float), f"{number}: {action.option_strings} has no range"
        if action.type is None or action.default is None:
            continue
        if isinstance(action.default, str):   # argparse itself converts a text default
            action.type(action.default)          # (raises if it is out of range)
            continue
        defaults = action.default if isinstance(action.default, list) else [action.default]
        for value in defaults:
            assert action.type(str(value)) == value, (number, action.option_strings, value)


# --- every chapter, with the values a careless user types ----------------------------------
BAD = [
    ("00", ["--steps", "0"], "--steps", "got 0"),
    ("00", ["--steps", "-1"], "--steps", "got -1"),
    ("00", ["--seed", "-1"], "--seed", "got -1"),
    ("01", ["--steps", "2.5"], "--steps", "got '2.5'"),
    ("01", ["--threads", "0"], "--threads", "got '0'"),
    ("01", ["--seed", "one"], "--seed", "got 'one'"),
    ("02", ["--batch", "0"], "--batch", "got 0"),
    ("02", ["--k", "0"], "--k", "got 0"),
    ("02", ["--d-steps", "-5"], "--d-steps", "got -5"),
    ("02", ["--generator-loss", "wgan"], "--generator-loss", "invalid choice: 'wgan'"),
    ("03", ["--samples", "0"], "--samples", "got 0"),
    ("03", ["--samples", "2500"], "--samples", "expected a multiple of 1000, got 2500"),
    ("03", ["--samples", "60000"], "--samples", "<= 50000, got 60000"),
    ("03", ["--dataset", "mnist"], "--dataset", "invalid choice: 'mnist'"),
    ("04", ["--seeds", "0"], "--seeds", "got 0"),
    ("04", ["--batch", "0"], "--batch", "got 0"),
    ("04", ["--lr-g", "-1"], "--lr-g", "expected a number > 0, got -1"),
    ("04", ["--lr-d", "nan"], "--lr-d", "got nan"),
    ("04", ["--decay", "1.5"], "--decay", "expected a number >= 0 and <= 1, got 1.5"),
    ("04", ["--ema", "1"], "--ema", "expected a number >= 0 and < 1, got 1"),
    ("04", ["--z-dim", "0"], "--z-dim", "got 0"),
    ("04", ["--pack", "0"], "--pack", "got 0"),
    ("04", ["--unroll-steps", "-1"], "--unroll-steps", "expected a whole number >= 0, got -1"),
    ("04", ["--evaluate-every", "0"], "--evaluate-every", "got 0"),
    ("05", ["--n", "500"], "--n", "expected a whole number >= 1000 and <= 10000, got 500"),
    ("05", ["--n", "20000"], "--n", "got 20000"),
    ("05", ["--classes", "10", "0"], "--classes", "expected a whole number >= 1 and <= 10, got 0"),
    ("05", ["--classes", "11"], "--classes", "got 11"),
    ("05", ["--noise-levels", "0.1", "-0.2"], "--noise-levels", "got -0.2"),
    ("05", ["--blur-levels", "0"], "--blur-levels", "got 0"),
    ("05", ["--kid-subset-size", "1"], "--kid-subset-size", "got 1"),
    ("05", ["--steps", "100"], "--steps", "unrecognized arguments: --steps 100"),
    ("09", ["--n-critic", "0"], "--n-critic", "got 0"),
    ("09", ["--clip", "0"], "--clip", "expected a number > 0, got 0"),
    ("09", ["--gp-weight", "-1"], "--gp-weight", "expected a number >= 0, got -1"),
    ("09", ["--gp-lr", "inf"], "--gp-lr", "got inf"),
    ("09", ["--layers", "0"], "--layers", "got 0"),
    ("09", ["--batch", "-256"], "--batch", "got -256"),
    ("10", ["--seeds", "0", "-1"], "--seeds", "expected a whole number >= 0, got -1"),
    ("10", ["--budget", "-5"], "--budget", "expected a number > 0, got -5"),
    ("10", ["--budget", "0"], "--budget", "got 0"),
    ("10", ["--evaluations", "0"], "--evaluations", "got 0"),
    ("10", ["--fid-samples", "0"], "--fid-samples", "got 0"),
    ("10", ["--fid-samples", "20000"], "--fid-samples", "<= 10000, got 20000"),
    ("10", ["--workers", "0"], "--workers", "got 0"),
    ("10", ["--steps", "5"], "--steps", "unrecognized arguments: --steps 5"),
    ("06", ["--batch", "0"], "--batch", "got 0"),
    ("06", ["--lr", "-0.0002"], "--lr", "expected a number > 0"),
    ("06", ["--fid-samples", "3"], "--fid-samples", "got 3"),
    ("06", ["--checkpoint-every", "0"], "--checkpoint-every", "got 0"),
    ("07", ["--z-dim", "0"], "--z-dim", "got 0"),
    ("07", ["--evaluate-every", "-1"], "--evaluate-every", "got -1"),
    ("08", ["--info-weight", "-1"], "--info-weight", "expected a number >= 0, got -1"),
    ("08", ["--lr-d", "nan"], "--lr-d", "got nan"),
    ("11", ["--lam", "-100"], "--lam", "expected a number >= 0, got -100"),
    ("11", ["--width", "0"], "--width", "got 0"),
    ("12", ["--pool", "-1"], "--pool", "expected a whole number >= 0, got -1"),
    ("12", ["--identity", "inf"], "--identity", "got inf"),
    ("13", ["--mixing", "1.5"], "--mixing", "expected a number >= 0 and <= 1, got 1.5"),
    ("13", ["--beta1", "1"], "--beta1", "expected a number >= 0 and < 1, got 1"),
    ("13", ["--pairs", "0"], "--pairs", "got 0"),
]


@pytest.mark.parametrize("number, argv, option, said", BAD,
                         ids=[f"{n} {' '.join(a)}" for n, a, _, _ in BAD])
def test_chapters_refuse_bad_options_in_one_line(number, argv, option, said, capsys, tmp_path):
    """Status 2 and one line naming the option and what was wrong with it; nothing runs."""
    main = load_chapter(number).main
    status, lines = refused(main, [*argv, "--out", str(tmp_path / "run")], capsys)
    assert status == 2
    assert_one_line(lines, option, said, "(see --help)")
    assert lines[0].startswith(f"{number}_")
    assert not (tmp_path / "run").exists()


def test_an_out_that_is_a_file_or_under_one_is_refused(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for out, said in [("notes.txt", "notes.txt' is a file, not a folder"),
                      ("notes.txt/run", "notes.txt/run' cannot be made: '")]:
        status, lines = refused(load_chapter("02").main, ["--out", str(tmp_path / out)], capsys)
        assert status == 2
        assert_one_line(lines, "argument --out:", said)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_the_race_of_chapter_10_passes_its_own_options(monkeypatch):
    """Chapter 10's runs are started with options the parent writes out (race()): those
    texts must pass the ranges they are parsed with in the child."""
    parser = chapter_parser("10", monkeypatch)
    monkeypatch.undo()
    args = parser.parse_args(["--one", "hinge_sn", "--seed", "2", "--budget", str(12.0),
                              "--moments", *map(str, [12.0 * (i + 1) / 4 for i in range(4)]),
                              "--fid-samples", "500", "--out", ".", "--device", "cpu",
                              "--threads", "1"])
    assert args.budget == 12.0 and args.moments == [3.0, 6.0, 9.0, 12.0]


def test_command_line_turns_a_run_that_cannot_go_on_into_one_line(capsys, tmp_path):
    """experiment.command_line: a missing dataset (whose message lists places line by
    line), a folder that cannot be made, a usage error: status 1, one line, prefixed."""
    def missing():
        raise sources.DataNotFoundError("mnist: train-images-idx3-ubyte was not found. "
                                        "minigan looked in:\n  /here\n  /there\nFetch it.")

    def cannot_make():
        (tmp_path / "file").write_text("")
        (tmp_path / "file" / "run").mkdir(parents=True)

    def resume_without_out():
        raise experiment.UsageError("--resume needs --out FOLDER")

    for main, said in [(missing, "train-images-idx3-ubyte was not found"),
                       (cannot_make, "Not a directory"),
                       (resume_without_out, "--resume needs --out")]:
        with pytest.raises(SystemExit) as stop:
            experiment.command_line(main, prog="chapter")
        lines = capsys.readouterr().err.splitlines()
        assert stop.value.code == 1
        assert_one_line(lines, "chapter: ", said)


# --- python -m minigan.data and python -m minigan.metrics.features -------------------------
def test_data_refuses_bad_arguments_in_one_line(capsys):
    from minigan.data.__main__ import main
    for argv, said in [(["fetch", "cifar"], "argument name: invalid choice: 'cifar'"),
                       (["fetch"], "the following arguments are required: name"),
                       (["check", "mnist", "--rot", "x"], "unrecognized arguments: --rot x"),
                       (["download"], "invalid choice: 'download'")]:
        status, lines = refused(main, argv, capsys)
        assert status == 2
        assert_one_line(lines, "python -m minigan.data", said, "(see --help)")


def test_a_fetch_that_fails_says_so_in_one_line(capsys, tmp_path, monkeypatch):
    """No network (every mirror fails: DataNotFoundError lists them line by line), any
    other error of the network or the disk, a folder that cannot be made: status 1, one line."""
    from minigan.data.__main__ import main

    def no_network(url, folder, opener):
        raise OSError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(sources, "_download", no_network)
    assert main(["fetch", "mnist", "--folder", str(tmp_path / "mnist")]) == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "python -m minigan.data fetch: ",
                    "could not fetch", "Temporary failure in name resolution")

    def reset(name, folder):
        raise ConnectionResetError("Connection reset by peer")
    monkeypatch.setattr(sources, "fetch", reset)
    assert main(["fetch", "mnist"]) == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "Connection reset by peer")
    monkeypatch.undo()

    (tmp_path / "file").write_text("")
    assert main(["fetch", "mnist", "--folder", str(tmp_path / "file" / "mnist")]) == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "python -m minigan.data fetch: ",
                    "file")


def test_features_refuses_bad_arguments_and_missing_data_in_one_line(capsys, tmp_path,
                                                                     monkeypatch):
    """A bad dataset name or --root: status 2; no cached network and no data anywhere it
    looks: status 1, one line that says where it looked."""
    for argv, said in [(["cifar"], "argument dataset: invalid choice: 'cifar'"),
                       (["--root", str(tmp_path / "nowhere")], "argument --root: ")]:
        status, lines = refused(features.main, argv, capsys)
        assert status == 2
        assert_one_line(lines, "python -m minigan.metrics.features: error: ", said)

    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path / "cache"))    # no network cached
    monkeypatch.setenv("MINIGAN_DATA", str(tmp_path))
    monkeypatch.setattr(sources, "PROJECT_DATA", tmp_path)
    monkeypatch.setattr(sources, "DEBIAN_FOLDERS", {})
    with pytest.raises(SystemExit) as stop:    # a --root of its own: no earlier read is reused
        experiment.command_line(lambda: features.main(["--root", str(tmp_path)]),
                                prog=features.PROG)
    assert stop.value.code == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "python -m minigan.metrics.features: ",
                    "fashion-mnist: train-images-idx3-ubyte was not found")


# --- the real commands, end to end ---------------------------------------------------------
def run(*command, cwd=ROOT):
    return subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("command, status, said", [
    ([str(chapter_script("02")), "--batch", "0"], 2,
     "02_minimax_1d: error: argument --batch: expected a whole number >= 1, got 0 (see --help)"),
    ([str(chapter_script("10")), "--budget", "-5"], 2,
     "10_loss_zoo: error: argument --budget: expected a number > 0, got -5 (see --help)"),
    ([str(chapter_script("04")), "--decay", "2"], 2,
     "04_mode_collapse: error: argument --decay: expected a number >= 0 and <= 1, got 2 "
     "(see --help)"),
    (["-m", "minigan.data", "fetch", "cifar"], 2,
     "python -m minigan.data fetch: error: argument name: invalid choice: 'cifar' (choose from "
     "'fashion-mnist', 'mnist') (see --help)"),
    (["-m", "minigan.metrics.features", "--root", "/no/such/folder"], 2,
     "python -m minigan.metrics.features: error: argument --root: '/no/such/folder' is not "
     "a folder (see --help)"),
], ids=["ch02 --batch 0", "ch10 --budget -5", "ch04 --decay 2", "data fetch cifar",
        "features --root"])
def test_the_real_commands_exit_with_one_line(command, status, said):
    done = run(*command)
    assert done.returncode == status, done.stderr
    assert done.stderr.splitlines() == [said]
    assert done.stdout == ""


def test_a_chapter_that_cannot_start_its_run_exits_with_one_line(tmp_path):
    """The chapter's ``__main__`` goes through experiment.command_line: an --out that holds
    another run (latest.ckpt) is refused by Run, in one line with status 1, not a traceback."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "latest.ckpt").write_bytes(b"")
    done = run(str(chapter_script("00")), "--out", str(tmp_path / "run"))
    assert done.returncode == 1, done.stderr
    assert_one_line(done.stderr.splitlines(), "autograd.py: ", "holds a run already")


def test_a_tiny_good_run_still_works(tmp_path):
    """Valid options at the edges of their ranges are taken: chapter 00 with --steps 1 and
    --seed 0 runs to its summary."""
    done = run(str(chapter_script("00")), "--steps", "1", "--seed", "0", "--out",
               str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "summary.md").exists()
