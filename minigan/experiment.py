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


def add_image_training_arguments(parser):
    """The options the image chapters (06 onwards) share: checkpoints, resuming, and where
    the feature network of ``minigan.metrics.features`` is cached."""
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its latest.ckpt")
    parser.add_argument("--feature-cache", default=None,
                        help="folder of the cached feature network (default MINIGAN_CACHE "
                             "or ~/.cache/minigan: trained once per machine)")


def _runs_root():
    return pathlib.Path(os.environ.get("MINIGAN_RUNS", "runs"))


class Run:
    """One run's folder, with its config, metrics, figures and summary."""

    def __init__(self, chapter, args, title=None):
        self.chapter, self.title = chapter, title or chapter
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.dir = pathlib.Path(args.out) if args.out else _runs_root() / chapter / stamp
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = {k: (str(v) if isinstance(v, pathlib.Path) else v)
                       for k, v in vars(args).items()}
        self.config["blas"] = threads.record()
        self._write_config()
        self.figures = []
        self._metrics_file = None
        self._writer = None

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
