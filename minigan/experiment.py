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
import dataclasses
import datetime
import json
import math
import os
import pathlib
import sys

from minigan import backend, threads


def parse_args(chapter, argv=None, steps=1000, quick_steps=100, add_arguments=None,
               description=None, image_training=None):
    """Parse the options every chapter understands, plus the chapter's own.

    --quick        a short run for tests and a first look (``quick_steps`` steps)
    --steps N      the number of training steps, N >= 1 (default ``steps``); a chapter that
                   trains nothing (``steps=0``) has no --steps, and ``args.steps`` is 0
    --seed N       the seed of every random draw, N >= 0 (runs with equal seeds match)
    --device D     cpu or cuda
    --threads T    BLAS threads: auto (one thread, the default) or a count; see
                   ``minigan.threads``, which this applies
    --out DIR      where to write the run (default runs/<chapter>/<timestamp>)

    An image chapter passes ``image_training=ImageTraining(...)``: its runs also take the
    options of :func:`add_image_training_arguments`, whose defaults are filled in here.

    A mistake (``--steps -1``, ``--seed x``, ``--device cuda`` without a GPU) ends the
    program with one line on stderr and exit status 2 (``OneLineParser``).
    """
    parser = OneLineParser(prog=chapter, description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (tests, a first look)")
    if steps:
        parser.add_argument("--steps", type=whole_number(1), default=None,
                            help=f"training steps (default {steps}, quick {quick_steps})")
    parser.add_argument("--seed", type=whole_number(0), default=0, help="random seed (default 0)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default=None,
                        help="where to compute (default: MINIGAN_DEVICE or cpu)")
    parser.add_argument("--threads", type=_thread_setting, default="auto",
                        help="threads of the matrix products: auto (one thread: the same "
                             "figures on any machine, fast on a busy one) or a count "
                             "(default auto; see minigan/threads.py)")
    parser.add_argument("--out", type=_folder, default=None,
                        help="output folder (default runs/<chapter>/<timestamp>)")
    if add_arguments is not None:
        add_arguments(parser)
    if image_training is not None:
        add_image_training_arguments(parser, image_training)
    args = parser.parse_args(argv)
    if getattr(args, "steps", None) is None:
        args.steps = quick_steps if args.quick else steps
    if image_training is not None:
        image_training.fill_in(args)
    if args.device is not None:
        try:
            backend.set_device(args.device)
        except RuntimeError as error:   # cuda asked for, and no CuPy or no GPU
            parser.error(f"argument --device: {error}")
    args.device = backend.get_device()
    args.threads = threads.configure(args.threads)
    backend.manual_seed(args.seed)
    return args


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, ``<prog>: error: <message> (see --help)``,
    with exit status 2. (argparse prints its usage block above the message: whoever typed
    ``--batch 0`` needs the message, and a script reading stderr gets one line per mistake.)
    The parsers of its sub-commands are of this class too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# argparse ``type=`` functions: each turns the text of one option into its value or refuses
# it with argparse.ArgumentTypeError, which argparse prefixes with the option's name:
# "argument --batch: expected a whole number >= 1, got 0".
def whole_number(minimum, maximum=None):
    """The ``type`` of an int option from ``minimum`` to ``maximum`` (None: no upper limit).

    ``whole_number(1)`` suits counts (steps, a batch size, images), ``whole_number(0)`` seeds.
    """
    wanted = f"a whole number >= {minimum}" + ("" if maximum is None else f" and <= {maximum}")

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value}")
        return value
    return parse


def number(minimum=None, maximum=None, above=None, below=None):
    """The ``type`` of a float option: finite (no nan, no inf), and within the bounds given.

    ``number(above=0)`` suits a learning rate or a time, ``number(minimum=0)`` a weight that
    may switch its term off, ``number(minimum=0, maximum=1)`` a probability or a fraction,
    ``number(minimum=0, below=1)`` a decay that must stay under 1.
    """
    rules = [f"{sign} {bound:g}" for sign, bound in
             [(">=", minimum), (">", above), ("<=", maximum), ("<", below)] if bound is not None]
    wanted = "a number " + " and ".join(rules) if rules else "a finite number"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
        if not (math.isfinite(value)
                and (minimum is None or value >= minimum) and (above is None or value > above)
                and (maximum is None or value <= maximum) and (below is None or value < below)):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {value:g}")
        return value
    return parse


def _folder(text):
    """--out: a folder to write into, existing or not; refused if it, or the nearest of its
    parents that exists, is a file (the folder could never be made)."""
    path = pathlib.Path(text)
    nearest = next((p for p in [path, *path.parents] if p.exists()), path)
    if nearest.exists() and not nearest.is_dir():
        why = "is a file, not a folder" if nearest == path else \
            f"cannot be made: {str(nearest)!r} is a file"
        raise argparse.ArgumentTypeError(f"{text!r} {why}")
    return path


def _thread_setting(text):
    try:
        return threads.parse_setting(text)
    except ValueError as error:
        # threads' message starts with "--threads: ", which argparse says already.
        raise argparse.ArgumentTypeError(str(error).removeprefix("--threads: ")) from None


@dataclasses.dataclass
class ImageTraining:
    """An image chapter's evaluation defaults: G is measured ``evaluations`` times over the run
    (every steps // evaluations steps, and at step 0) on ``fid_samples`` images, and with
    --quick ``quick_evaluations`` times on ``quick_fid_samples``."""
    evaluations: int = 6
    fid_samples: int = 2000
    quick_fid_samples: int = 500
    quick_evaluations: int = None   # None: as many as ``evaluations``

    def fill_in(self, args):
        """Set --fid-samples and --evaluate-every where the command line left them out."""
        args.fid_samples = args.fid_samples or (self.quick_fid_samples if args.quick
                                                else self.fid_samples)
        evaluations = (self.quick_evaluations or self.evaluations) if args.quick \
            else self.evaluations
        args.evaluate_every = args.evaluate_every or max(args.steps // evaluations, 1)

    def describe(self):
        quick = self.quick_evaluations or self.evaluations
        every = f"steps / {self.evaluations}" + (f", quick steps / {quick}"
                                                 if quick != self.evaluations else "")
        return every, f"{self.fid_samples}, quick {self.quick_fid_samples}"


def add_image_training_arguments(parser, defaults=None):
    """The options the image chapters (06 onwards) share: evaluation, checkpoints, resuming,
    and where the feature network of ``minigan.metrics.features`` is cached. ``defaults``
    (an :class:`ImageTraining`) names the evaluation's defaults in the help."""
    evaluate_every, fid_samples = (defaults or ImageTraining()).describe()
    parser.add_argument("--evaluate-every", type=_positive, default=None,
                        help=f"measure G every N steps (default {evaluate_every}); also at step "
                             f"0 and at the end")
    # At least 4 images: a covariance and the k = 3 neighbours of precision and recall need
    # them; at most the 10,000 images of the test split, which the measurements draw from.
    parser.add_argument("--fid-samples", type=whole_number(4, 10_000), default=None,
                        help=f"images per FID and per measurement (default {fid_samples})")
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


_positive = whole_number(1)   # the counts of add_image_training_arguments


class UsageError(ValueError):
    """A command line that cannot be run as asked: the message says what to change."""


def command_line(main, prog=None):
    """Run a chapter's ``main()`` as a command: a mistake in its use (bad arguments, missing
    data, a damaged or foreign checkpoint, an --out that cannot be written, a diverged run)
    ends with one line on stderr and exit status 1, not a traceback; Ctrl-C with status 130.

    ``prog`` names the command in that line (default: the script's file name)."""
    from minigan.checkpoint import CheckpointError
    from minigan.data import ChecksumError, DataNotFoundError
    from minigan.training import TrainingDiverged
    program = prog or pathlib.Path(sys.argv[0]).name
    try:
        main()
    except KeyboardInterrupt:
        print(f"{program}: interrupted (a run with checkpoints continues with --resume "
              f"--out FOLDER)", file=sys.stderr)
        sys.exit(130)
    except (UsageError, CheckpointError, ChecksumError, DataNotFoundError, FileNotFoundError,
            FileExistsError, NotADirectoryError, PermissionError, TrainingDiverged) as error:
        print(f"{program}: {one_line(error)}", file=sys.stderr)
        sys.exit(1)


def one_line(error):
    """An error's message as one line: some (DataNotFoundError's) list places line by line."""
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


# Arguments a resumed run may change freely: where and how fast it computes, how far it goes,
# how often it saves and how often it is measured (evaluation draws from a random stream of
# its own, so it never changes the training). Any other difference changes what the run
# computes.
FREE_TO_CHANGE = {"resume", "allow_changes", "out", "steps", "device", "threads",
                  "checkpoint_every", "evaluate_every", "feature_cache"}


def runs_root():
    """Where runs go without --out: MINIGAN_RUNS, else runs/ (relative to the working folder)."""
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
                             f"{runs_root() / chapter})")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.dir = pathlib.Path(args.out) if args.out else runs_root() / chapter / stamp
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
