"""The figure a sceptic would reproduce: every ratio over several fresh processes.

One run of ``run.py`` is one process: its allocator, the placement of its threads and the
state of the machine's caches stay what they were when it started, so the rounds inside
it vary less than the runs do. On this project's 2-core machine the DCGAN step at batch
128 measured 1.18x in one process and 1.45x in another, the same code and the same
quiet machine. A figure worth quoting is therefore the median over runs, with the
smallest and largest run beside it:

    python benchmarks/run.py --repeats 5          # five processes, then the summary

``run.py --repeats N`` starts N child processes of itself (``--repeats 1``, each writing a
JSON file), shows each child's report, and ends with :func:`print_summary`. Only the
first child measures memory and the per-layer table (both vary little between runs and
take long); every child times the steps.
"""
import json
import statistics
import subprocess
import sys
import tempfile


def child_arguments(argv, index, json_path):
    """The arguments of the ``index``-th child: the parent's, without --repeats and --json,
    with the child's own JSON file, and (after the first) without memory and layers."""
    kept, skip = [], False
    for argument in argv:
        if skip:
            skip = False
            continue
        if argument in ("--repeats", "--json"):
            skip = True
            continue
        if argument.startswith(("--repeats=", "--json=")):
            continue
        kept.append(argument)
    extra = ["--repeats", "1", "--json", json_path]
    if index > 0:
        extra += ["--no-memory", "--no-layers"]
    return kept + extra


def run_children(script, argv, repeats):
    """Run ``repeats`` fresh processes of ``script``; return their parsed JSON reports."""
    reports = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(repeats):
            path = f"{folder}/run{index}.json"
            print(f"\n=== run {index + 1} of {repeats} (a fresh process) ===", flush=True)
            completed = subprocess.run([sys.executable, script,
                                        *child_arguments(argv, index, path)])
            if completed.returncode != 0:
                raise SystemExit(f"run {index + 1} of {repeats} failed with exit status "
                                 f"{completed.returncode}")
            with open(path) as f:
                reports.append(json.load(f))
    return reports


def step_figures(report):
    """name -> the step's timing entry (``minigan``, ``torch``, ``ratio``) of one report."""
    figures = {}
    for result in report.get("results", []):
        figures[f"DCGAN-28 step, batch {result['batch']}"] = result["step"]
    for row in report.get("workloads", []):
        figures[f"{row['title'].split(' (')[0]}, batch {row['batch']}"] = row["step"]
    return figures


def summarise(reports):
    """Per step figure: the median over runs of each side's median and of the ratio, and the
    ratio's smallest and largest run. Figures a run could not time are left out of it."""
    names = list(step_figures(reports[0]))
    summary = {}
    for name in names:
        entries = [step_figures(r).get(name, {}) for r in reports]
        entries = [e for e in entries if "ratio" in e]
        if not entries:
            continue
        ratios = [e["ratio"] for e in entries]
        summary[name] = {
            "runs": len(entries),
            "minigan_ms": statistics.median(e["minigan"]["median_ms"] for e in entries),
            "torch_ms": statistics.median(e["torch"]["median_ms"] for e in entries),
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios), "ratio_max": max(ratios),
            "ratios": ratios,
            # the same bar as bench.BUSY: other processes used >= 5% of the CPUs meanwhile
            "disturbed_runs": sum(1 for e in entries if e.get("foreign_load", 0) >= 0.05),
        }
    return summary


def print_summary(summary, threads, out=sys.stdout):
    runs = max((s["runs"] for s in summary.values()), default=0)
    print(f"\nover {runs} runs ({threads} thread(s) each side): medians over the runs of each "
          f"run's median, in ms; ratio = the median of the runs' ratios, [smallest, largest]; "
          f"* = some run was disturbed by other processes (do not quote it)", file=out)
    print(f"{'':58}{'minigan':>10}{'torch':>10}{'ratio':>8}  range", file=out)
    for name, s in summary.items():
        print(f"{name:58}{s['minigan_ms']:10.2f}{s['torch_ms']:10.2f}"
              f"{s['ratio_median']:7.2f}{'*' if s['disturbed_runs'] else 'x'}  "
              f"[{s['ratio_min']:.2f}, {s['ratio_max']:.2f}]",
              file=out)


def run(script, argv, args):
    """``run.py --repeats N``: the children, then the summary (and the JSON of both)."""
    reports = run_children(script, argv, args.repeats)
    summary = summarise(reports)
    print_summary(summary, args.threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "runs": reports}, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0
