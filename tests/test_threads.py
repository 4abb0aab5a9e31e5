"""BLAS threads: what a run records, what ``--threads`` sets, and that a seed's figures hold.

The promise to a reader is that a seed gives the same figures on any machine, however many
cores it has and however busy it is. The thread count can change the last bits of a
product (``minigan.threads`` says when), so ``--threads auto`` keeps one thread; the tests
check that the record says what ran, and that a chapter's default run gives the same
figures byte for byte whether BLAS started with one thread or two.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from minigan import experiment, threads

CHAPTERS = os.path.join(os.path.dirname(__file__), os.pardir, "chapters")


@pytest.fixture(autouse=True)
def _end_run():
    """Every test leaves the threads as BLAS started, whatever it configured."""
    yield
    threads.end_run()


# --- what is recorded ----------------------------------------------------------------------
def test_blas_description_names_library_version_kernel_and_threads(monkeypatch):
    """The library NumPy's products go to, its version, its kernel, OPENBLAS_CORETYPE as
    the environment sets it, the threads it uses and the cores there are."""
    description = threads.blas_description()
    assert set(description) == {"library", "version", "kernel", "coretype", "threading_layer",
                                "threads", "cores"}
    assert description["library"] in ("openblas", "mkl", "blis", "flexiblas")
    assert description["version"]
    assert description["threads"] == threads.get_threads() >= 1
    assert description["cores"] >= 1
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Zen")
    assert threads.blas_description()["coretype"] == "Zen"
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    assert threads.blas_description()["coretype"] is None


@pytest.mark.parametrize("option, count", [("auto", 1), ("1", 1), ("2", 2)])
def test_run_records_blas_and_threads_in_config_and_summary(tmp_path, option, count):
    """parse_args sets the threads (auto: one); config.json holds the BLAS record and
    summary.md says it in a sentence, with a warning where a count other than one can move
    the figures; finish gives BLAS its starting count back."""
    args = experiment.parse_args("99_test", ["--threads", option, "--out", str(tmp_path)])
    assert threads.get_threads() == count
    run = experiment.Run("99_test", args)
    run.finish({"loss": 0.5})
    blas = json.loads((tmp_path / "config.json").read_text())["blas"]
    description = threads.blas_description()
    for key in ("library", "version", "kernel", "coretype", "cores"):
        assert blas[key] == description[key]
    assert blas["threads"] == count and blas["setting"] == args.threads
    assert blas["threads_at_start"] == threads.threads_at_start()
    summary = (tmp_path / "summary.md").read_text()
    assert f"BLAS: {description['library']}" in summary
    assert f"Threads (`--threads {args.threads}`): {count} (" in summary
    if description["kernel"]:
        assert f"kernel {description['kernel']}" in summary
    warned = "can differ from those of the default, one thread" in summary
    assert warned == (count != 1 and bool(blas["results_change_with_threads"]))
    assert threads.get_threads() == threads.threads_at_start()


def test_summary_table_escapes_a_bar_in_a_cell(tmp_path):
    """A `|` in a result's name or value would end its cell and break the table; it is
    written `\\|`, so every row keeps exactly two cells."""
    args = experiment.parse_args("99_test", ["--out", str(tmp_path)])
    run = experiment.Run("99_test", args)
    run.finish({"max |D - D*|": 0.03, "modes per seed": "8 | 7", "plain": 1})
    rows = [line for line in (tmp_path / "summary.md").read_text().splitlines()
            if line.startswith("| ") and "---" not in line]
    assert rows[1] == r"| max \|D - D*\| | 0.03 |"
    assert rows[2] == r"| modes per seed | 8 \| 7 |"
    for row in rows:
        assert len(re.split(r"(?<!\\)\|", row)) == 4   # '', cell, cell, ''
    assert json.loads((tmp_path / "results.json").read_text())["modes per seed"] == "8 | 7"


def test_threads_option_takes_auto_or_a_count(capsys):
    assert experiment.parse_args("99_test", []).threads == "auto"
    assert experiment.parse_args("99_test", ["--threads", "AUTO"]).threads == "auto"
    assert experiment.parse_args("99_test", ["--threads", "2"]).threads == 2
    for wrong in ("0", "-1", "many"):
        with pytest.raises(SystemExit):
            experiment.parse_args("99_test", ["--threads", wrong])
        assert "--threads: expected 'auto' or a count of at least 1" in capsys.readouterr().err


def test_threads_setting_reaches_minigan_s_own_copies_too():
    """``--threads 1`` keeps every loop on one core: BLAS's and the convolutions' copies."""
    from minigan import backend
    threads.configure(1)
    assert threads.get_threads() == 1 and backend.get_host_threads() == 1
    threads.configure(2)
    assert backend.get_host_threads() == 2


def test_on_cuda_the_threads_are_left_alone(monkeypatch):
    monkeypatch.setattr(threads.backend, "get_device", lambda: "cuda")
    before = threads.get_threads()
    threads.configure(1)
    assert threads.get_threads() == before
    assert "GPU" in threads.record()["choice"]


def test_the_check_compares_the_bits_of_real_products():
    """results_depend_on_threads agrees with a direct comparison of the same products, as
    minigan computes them, on one thread and on two; a product small enough to stay on one
    thread (128 x 128 x 128 here) gives the same bits on any count."""
    import numpy
    import threadpoolctl
    from minigan import backend
    assert threads.results_depend_on_threads(1) is False
    assert threads.results_depend_on_threads(2, [((8, 8), (8, 8), False)]) is False
    assert threads.results_depend_on_threads(2, [((128, 128), (128, 128), False),
                                                 ((128, 128), (128, 128), True)]) is False
    generator = numpy.random.default_rng(0)
    differ = False
    for dtype in (numpy.float32, numpy.float64):
        for a_shape, b_shape, transposed in threads.CHECKED_PRODUCTS:
            a = generator.standard_normal(a_shape, dtype=dtype)
            b = generator.standard_normal(b_shape, dtype=dtype)
            a = a.swapaxes(-1, -2) if transposed else a
            with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
                on_one = backend.matmul(a, b)
            with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
                on_two = backend.matmul(a, b)
            differ = differ or not numpy.array_equal(on_one, on_two)
    assert threads.results_depend_on_threads(2) == differ


def _chapter_04(out, blas_threads):
    """Chapter 04 in a fresh process whose BLAS starts with ``blas_threads`` threads
    (as on a machine with that many cores), default --threads; 300 steps, 2 seeds."""
    environment = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads), MPLBACKEND="Agg")
    subprocess.run([sys.executable, os.path.join(CHAPTERS, "04_mode_collapse", "mode_collapse.py"),
                    "--quick", "--datasets", "ring", "--seeds", "2", "--steps", "300",
                    "--evaluate-every", "30", "--out", str(out)],
                   env=environment, check=True, capture_output=True)
    return out


@pytest.mark.slow
def test_a_seed_gives_the_same_figures_on_one_and_two_cores(tmp_path):
    """The default run on a machine whose BLAS starts with two threads and on one whose
    BLAS starts with one: the record says one thread ran both, and the results (less
    timings), metrics and figures are the same, byte for byte. (Chapter 04's training
    products are small enough to run on one thread on any count, so its figures would
    agree on two threads too; the record is what checks the default's count.)"""
    one, two = _chapter_04(tmp_path / "one", 1), _chapter_04(tmp_path / "two", 2)

    def results(folder):
        return {name: value for name, value in json.loads((folder / "results.json").read_text())
                .items() if "seconds" not in name}
    assert results(one) == results(two)
    assert (one / "metrics.csv").read_bytes() == (two / "metrics.csv").read_bytes()
    figures = sorted(path.name for path in one.glob("*.png"))
    assert figures and figures == sorted(path.name for path in two.glob("*.png"))
    for name in figures:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    for folder, start in ((one, 1), (two, 2)):
        blas = json.loads((folder / "config.json").read_text())["blas"]
        assert blas["threads"] == 1 and blas["threads_at_start"] == start
