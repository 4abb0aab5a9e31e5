"""What every chapter run shares: its command line, its folder, its metrics and its summary.

A chapter script does::

    args = experiment.parse_args("02_minimax_1d", argv, steps=3000, quick_steps=300)
    run = experiment.Run("02_minimax_1d", args)        # runs/02_minimax_1d/<timestamp>/
    run.log(step=100, loss_d=0.65, loss_g=0.81)         # a row of metrics.csv
    run.savefig(figure, "discriminator")                # discriminator.png
    run.finish({"max |D - D*|": 0.03})                  # summary.md with figures and results

The folder holds ``config.json`` (every argument, so a run can be repeated),
``metrics.csv``, the figures as PNG, and ``summary.md``. Both ``config.json`` (under
``"blas"``) and ``summary.md`` say which BLAS library and kernel did the matrix products
and on how many threads (``minigan.threads``): the same seed on another kernel can give
another figure, and that is where a reader finds out why.
"""
import argparse
import csv
import datetime
import json
import os
import pathlib
import sys

from minigan import backend, threads


def parse_args(chapter, argv=None, steps=1000, quick_steps=100, add_arguments=None,
               description=None):
    """Parse the options every chapter understands, plus the chapter's own.

    --quick        a short run for tests and a first look (``quick_steps`` steps)
    --steps N      the number of training steps (default ``steps``)
    --seed N       the seed of every random draw (runs with equal seeds match)
    --device D     cpu or cuda
    --threads T    BLAS threads: auto (one thread, the default) or a count; see
                   ``minigan.threads``, which this applies
    --out DIR      where to write the run (default runs/<chapter>/<timestamp>)
    """
    parser = argparse.ArgumentParser(prog=chapter, description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (tests, a first look)")
    parser.add_argument("--steps", type=int, default=None, help=f"training steps (default {steps})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="where to compute (default: MINIGAN_DEVICE or cpu)")
    parser.add_argument("--threads", type=_thread_setting, default="auto",
                        help="threads of the matrix products: auto (one thread: the same "
                             "figures on any machine, fast on a busy one) or a count "
                             "(default auto; see minigan/threads.py)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="output folder (default runs/<chapter>/<timestamp>)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.steps is None:
        args.steps = quick_steps if args.quick else steps
    if args.device is not None:
        backend.set_device(args.device)
    args.device = backend.get_device()
    args.threads = threads.configure(args.threads)
    backend.manual_seed(args.seed)
    return args


def _thread_setting(text):
    try:
        return threads.parse_setting(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_image_training_arguments(parser, evaluate_every=None, fid_samples=None):
    """The options the image chapters (06 onwards) share: evaluation, checkpoints, resuming,
    and where the feature network of ``minigan.metrics.features`` is cached.

    ``evaluate_every`` and ``fid_samples`` are the chapter's defaults, said in the help (the
    chapter fills in None, since they depend on --steps and --quick).
    """
    chapters_own = "the chapter's own"
    parser.add_argument("--evaluate-every", type=_positive, default=None,
                        help=f"measure G every N steps (default {evaluate_every or chapters_own}); "
                             f"also at step 0 and at the end")
    parser.add_argument("--fid-samples", type=_positive, default=None,
                        help=f"images per FID and per measurement (default "
                             f"{fid_samples or chapters_own})")
    parser.add_argument("--checkpoint-every", type=_positive, default=250,
                        help="write latest.ckpt every N steps (default 250), and at the end")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its latest.ckpt")
    parser.add_argument("--allow-changes", action="store_true",
                        help="with --resume: accept arguments that differ from the run's "
                             "config.json (recorded in it); without it they are refused")
    parser.add_argument("--feature-cache", default=None,
                        help="folder of the cached feature network (default MINIGAN_CACHE "
                             "or ~/.cache/minigan: trained once per machine)")


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


class UsageError(ValueError):
    """A command line that cannot be run as asked: the message says what to change."""


def command_line(main):
    """Run a chapter's ``main()`` as a command: a mistake in its use (bad arguments, missing
    data, a damaged or foreign checkpoint, a diverged run) ends with one line on stderr and
    exit status 1, not a traceback; Ctrl-C with status 130."""
    from minigan.checkpoint import CheckpointError
    from minigan.data import ChecksumError, DataNotFoundError
    from minigan.training import TrainingDiverged
    program = pathlib.Path(sys.argv[0]).name
    try:
        main()
    except KeyboardInterrupt:
        print(f"{program}: interrupted (a run with checkpoints continues with --resume "
              f"--out FOLDER)", file=sys.stderr)
        sys.exit(130)
    except (UsageError, CheckpointError, ChecksumError, DataNotFoundError, FileNotFoundError,
            TrainingDiverged) as error:
        print(f"{program}: {error}", file=sys.stderr)
        sys.exit(1)


# Arguments a resumed run may change freely: where and how fast it computes, how far it goes
# and how often it saves. Any other difference changes what the run computes.
FREE_TO_CHANGE = {"resume", "allow_changes", "out", "steps", "device", "threads",
                  "checkpoint_every", "feature_cache"}


def _runs_root():
    return pathlib.Path(os.environ.get("MINIGAN_RUNS", "runs"))


class Run:
    """One run's folder, with its config, metrics, figures and summary.

    ``args.resume`` continues the run in ``args.out``: its config.json must name the same
    chapter and, outside ``FREE_TO_CHANGE``, the same arguments (``--allow-changes`` takes
    others, and config.json records them under "resumes"); metrics.csv is kept and appended
    to. Without it, a folder that already holds a run (latest.ckpt) is refused, never
    overwritten.
    """

    def __init__(self, chapter, args, title=None):
        self.chapter, self.title = chapter, title or chapter
        resume = bool(getattr(args, "resume", False))
        if resume and not getattr(args, "out", None):
            raise UsageError(f"--resume needs --out FOLDER, the run to continue (a folder under "
                             f"{_runs_root() / chapter})")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.dir = pathlib.Path(args.out) if args.out else _runs_root() / chapter / stamp
        config = {"chapter": chapter, **{k: (str(v) if isinstance(v, pathlib.Path) else v)
                                         for k, v in vars(args).items()}}
        self._config_before = None
        if resume:
            config = self._resumed_config(config, bool(getattr(args, "allow_changes", False)))
        elif (self.dir / "latest.ckpt").exists():
            raise UsageError(f"{self.dir} holds a run already (latest.ckpt): continue it with "
                             f"--resume, or choose another --out")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.config["blas"] = threads.record()
        self._write_config()
        self.figures = []
        self._metrics_file = None
        self._writer = None

    def _resumed_config(self, config, allow_changes):
        """The config of a run being resumed: the old one's history, the new arguments."""
        path = self.dir / "config.json"
        if not path.is_file():
            raise UsageError(f"--resume: {self.dir} holds no run to continue (no config.json)")
        self._config_before = path.read_text()
        old = json.loads(self._config_before)
        if old.get("chapter", self.chapter) != self.chapter:
            raise UsageError(f"--resume: {self.dir} is a run of {old['chapter']}, not of "
                             f"{self.chapter}")
        changed = {name: [old.get(name), value] for name, value in config.items()
                   if name not in FREE_TO_CHANGE and name in old and old[name] != value}
        if changed and not allow_changes:
            listed = "; ".join(f"{name} {was!r} -> {now!r}" for name, (was, now) in changed.items())
            raise UsageError(f"--resume: arguments differ from {path}: {listed}. Drop them to "
                             f"continue the run as it was, or add --allow-changes to take them "
                             f"(config.json records it)")
        history = old.get("resumes", []) + [{"changed": changed}]
        return {**config, "resumes": history}

    def note_resume(self, step):
        """Record in config.json the step the run was resumed at (``Trainer`` calls this)."""
        self.config.setdefault("resumes", [{"changed": {}}])[-1]["at_step"] = int(step)
        self._write_config()

    def keep_metrics_up_to(self, step):
        """Keep metrics.csv's rows up to ``step`` and append after them: the rows a killed run
        wrote after its last checkpoint are written again, with the same values, as the
        resumed run redoes those steps."""
        path = self.dir / "metrics.csv"
        if not path.exists():
            return
        with open(path, newline="") as file:
            reader = csv.DictReader(file)
            rows = [row for row in reader if int(float(row["step"])) <= step]
            fields = reader.fieldnames
        self._metrics_file = open(path, "w", newline="")
        self._writer = csv.DictWriter(self._metrics_file, fieldnames=fields)
        self._writer.writeheader()
        self._writer.writerows(rows)
        self._metrics_file.flush()

    def already_finished(self, step):
        """A resumed run with nothing left to do: say so, leave its files as they were, and
        return its results (results.json)."""
        if self._config_before is not None:
            (self.dir / "config.json").write_text(self._config_before)
        if self._metrics_file is not None:
            self._metrics_file.close()
        threads.end_run()
        print(f"{self.chapter}: the run in {self.dir} finished at step {step}; nothing left to "
              f"do, its summary.md stands (--steps N with N > {step} would continue it)")
        results = self.dir / "results.json"
        return json.loads(results.read_text()) if results.exists() else {}

    def _write_config(self):
        (self.dir / "config.json").write_text(json.dumps(self.config, indent=2) + "\n")

    def log(self, **metrics):
        """Append one row to metrics.csv (the columns are fixed by the first row)."""
        if self._writer is None:
            self._metrics_file = open(self.dir / "metrics.csv", "w", newline="")
            self._writer = csv.DictWriter(self._metrics_file, fieldnames=list(metrics))
            self._writer.writeheader()
        self._writer.writerow({k: _plain(v) for k, v in metrics.items()})
        self._metrics_file.flush()

    def metrics(self):
        """metrics.csv as columns: ``{"step": [10, 20, ...], "loss_d": [...], ...}`` (floats)."""
        if self._metrics_file is not None:
            self._metrics_file.flush()
        with open(self.dir / "metrics.csv", newline="") as file:
            rows = list(csv.DictReader(file))
        return {name: [float(row[name]) for row in rows] for name in (rows[0] if rows else {})}

    def savefig(self, figure, name, caption=""):
        """Save a matplotlib figure as ``name``.png and list it in the summary."""
        import matplotlib.pyplot as plt
        path = self.dir / f"{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        self.figures.append((path.name, caption))
        return path

    def finish(self, results, notes=""):
        """Write summary.md (results table, notes, figures) and results.json; return the path.

        config.json gets the run's BLAS record again (``threads.record``), and the threads go
        back to what BLAS started with (``threads.end_run``).
        """
        if self._metrics_file is not None:
            self._metrics_file.close()
        self.config["blas"] = threads.record()
        self._write_config()
        lines = [f"# {self.title}", "", f"Run folder: `{self.dir}`", "",
                 threads.describe(self.config["blas"]), "",
                 "| result | value |", "| --- | --- |"]
        lines += [f"| {_cell(name)} | {_cell(_format(value))} |"
                  for name, value in results.items()]
        if notes:
            lines += ["", notes.strip()]
        for name, caption in self.figures:
            lines += ["", f"![{caption or name}]({name})"] + ([f"*{caption}*"] if caption else [])
        path = self.dir / "summary.md"
        path.write_text("\n".join(lines) + "\n")
        (self.dir / "results.json").write_text(
            json.dumps({k: _plain(v) for k, v in results.items()}, indent=2) + "\n")
        threads.end_run()
        print(f"\n{self.title}: results in {path}")
        for name, value in results.items():
            print(f"  {name}: {_format(value)}")
        return path


def _plain(value):
    """A JSON/CSV friendly version of numbers from NumPy or CuPy."""
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        return value.item()
    return value


def _cell(text):
    """``text`` as one cell of a Markdown table: a ``|`` in it would end the cell, so it is
    escaped (``\\|``, which Markdown shows as ``|``), and a line break becomes a space."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _format(value):
    value = _plain(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
