"""Chapter 04's quick run on the ring, on each BLAS thread setting, idle and with a load.

The question: which ``--threads`` setting (``minigan.threads``) makes the chapters fast
both on an idle machine and on one that is busy with something else? Chapter 04's
quick run is the test case: small matrix products, many steps, the workload that slowed
most on two threads when the machine was busy.

For each load (``idle``; ``busy``: a second Python process spinning in a loop, started
before the runs and killed after them) and each setting (1, 2, auto by default), the
benchmark runs ``chapters/04_mode_collapse/mode_collapse.py --quick --datasets ring
--seeds 2 --threads S`` as a subprocess, ``--repeats`` times, the settings taking turns
within each repeat so that a drift of the machine's state falls on all of them alike. It
prints the median, fastest and slowest wall seconds of each, the thread count the run
used (from its config.json), and whether the run's results (results.json, less its
timings) equal the first setting's on the same load.

    python benchmarks/threads.py                          # the full measurement (minutes)
    python benchmarks/threads.py --steps 200 --repeats 1  # a smoke run (seconds)

The runs get the environment of this command less ``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``, so that ``--threads`` alone sets the threads;
``OPENBLAS_CORETYPE``, which picks the kernel, is passed on as it is.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "04_mode_collapse" / "mode_collapse.py"
BUSY_LOOP = "while True:\n    pass\n"


def child_environment():
    """This process's environment, less the variables that would fix the BLAS threads."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                   "MKL_NUM_THREADS")}
    environment["MPLBACKEND"] = "Agg"
    return environment


def run_chapter(setting, out, args):
    """One quick run of chapter 04 on ``setting``; returns (wall seconds, its output folder)."""
    command = [sys.executable, str(CHAPTER), "--quick", "--datasets", "ring",
               "--seeds", str(args.seeds), "--threads", setting, "--out", str(out)]
    if args.steps:
        command += ["--steps", str(args.steps)]
    start = time.perf_counter()
    done = subprocess.run(command, env=child_environment(), cwd=ROOT, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"chapter 04 failed on --threads {setting}:\n{done.stderr[-2000:]}")
    return seconds, out


def results_without_timings(out):
    """The run's results.json less the entries that hold seconds (they differ every run)."""
    results = json.loads((out / "results.json").read_text())
    return {name: value for name, value in results.items() if "seconds" not in name}


def threads_used(out):
    """The BLAS thread count the run used (its config.json's BLAS record)."""
    return json.loads((out / "config.json").read_text())["blas"]["threads"]


def measure(load, args, folder):
    """Every setting ``args.repeats`` times under ``load``; returns {setting: [run, ...]}."""
    busy = []
    if load == "busy":
        busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
                for _ in range(args.busy_processes)]
        time.sleep(1.0)   # let the scheduler see the load before the first run
    runs = {setting: [] for setting in args.settings}
    try:
        for repeat in range(args.repeats):
            for setting in args.settings:
                out = folder / f"{load}-{setting}-{repeat}"
                seconds, out = run_chapter(setting, out, args)
                runs[setting].append({"seconds": seconds, "threads": threads_used(out),
                                      "results": results_without_timings(out)})
                print(f"  {load:>4} --threads {setting:>4} repeat {repeat + 1}: {seconds:6.1f} s",
                      flush=True)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    return runs


def table(measured, settings):
    """The Markdown table of the medians, one row per load and setting."""
    lines = ["| load | --threads | threads | median s | fastest s | slowest s "
             f"| results as --threads {settings[0]} |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for load, runs in measured.items():
        first = runs[settings[0]][0]["results"]
        for setting in settings:
            seconds = [run["seconds"] for run in runs[setting]]
            used = sorted({run["threads"] for run in runs[setting]})
            same = all(run["results"] == first for run in runs[setting])
            lines.append(f"| {load} | {setting} | {', '.join(map(str, used))} | "
                         f"{statistics.median(seconds):.1f} | {min(seconds):.1f} | "
                         f"{max(seconds):.1f} | {'yes' if same else 'no'} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["1", "2", "auto"],
                        help="the --threads settings to compare (default 1 2 auto)")
    parser.add_argument("--loads", nargs="+", choices=["idle", "busy"], default=["idle", "busy"])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each setting (default 3)")
    parser.add_argument("--seeds", type=int, default=2, help="chapter 04's --seeds (default 2)")
    parser.add_argument("--steps", type=int, default=None,
                        help="chapter 04's --steps (default: its quick run's 3000)")
    parser.add_argument("--busy-processes", type=int, default=1,
                        help="spinning processes that make the machine busy (default 1)")
    parser.add_argument("--json", type=pathlib.Path, default=None,
                        help="also write every run's seconds here")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from minigan import threads
    print("BLAS:", json.dumps(threads.blas_description()))
    print(f"chapter 04 --quick --datasets ring --seeds {args.seeds}"
          + (f" --steps {args.steps}" if args.steps else "")
          + f", {args.repeats} repeats, busy = {args.busy_processes} spinning process(es)")
    with tempfile.TemporaryDirectory(prefix="minigan-threads-") as folder:
        measured = {load: measure(load, args, pathlib.Path(folder)) for load in args.loads}
    print()
    print(table(measured, args.settings))
    if args.json:
        args.json.write_text(json.dumps(
            {load: {setting: [run["seconds"] for run in runs]
                    for setting, runs in by_setting.items()}
             for load, by_setting in measured.items()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
