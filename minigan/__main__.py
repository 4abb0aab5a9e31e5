"""minigan's tools for training runs, as commands:

* ``python -m minigan sample CHECKPOINT --n 64 --out grid.png``: draw from a trained generator.
  The checkpoint's ``spec`` says how to rebuild the generator (``minigan.models.build``);
  its weights are loaded in, and n samples of z ~ N(0, I) go through it in evaluation
  mode (batch norm uses its running statistics) to make one image grid.
* ``python -m minigan diagnose RUN_FOLDER``: name what went wrong in a run (a NaN, a
  discriminator that wins, mode collapse, oscillation, a learning rate or batch size out of
  range, no progress), each with its evidence and advice, and say what the folder lacked to
  check the rest (``minigan.diagnose``). Exit status 0 when it finds nothing, 3 when it
  names a problem.
* ``python -m minigan book [--out DIR] [--check]``: build the course as a website
  (``minigan.book``).
* ``python -m minigan reproduce NN [--seeds S ...]``: run chapter NN's default command
  again (into ``runs/NN_name/reproduce-<time>-seed<S>``) and compare every figure with the
  committed ``chapters/NN_name/results.json`` (``minigan.results``). Exit status 0 when all
  agree, 3 when some figure is beyond its tolerance, 1 when a run fails or the chapter has
  no results file. With ``--record`` it writes that file and the figures from the new runs
  (or from the run folders given by ``--from``) and rewrites the tagged numbers of the
  chapter's README, chapters/README.md and README.md: 0 done, 1 refused, 3 tags it could
  not mend.
* ``python -m minigan results check|write [NN ...]``: check every tagged number of the
  READMEs (all chapters', chapters/README.md and README.md, or those of chapters NN)
  against the results files, one disagreement a line, exit status 3 if there is one; or
  rewrite them from the files (exit status 3 if some tag names no figure, and stays).

A mistake on the command line (a missing or damaged checkpoint or run folder, ``--n -3``)
ends with one line on stderr, naming the problem, and a non-zero exit status: 2 for
arguments that are wrong in themselves, 1 for files that cannot be read or written. No
traceback: the person typing the command needs the cause, not minigan's call stack.
"""
import argparse
import os
import pathlib
import sys

import minigan
from minigan import diagnose as diagnosis
from minigan import experiment, models, results
from minigan.checkpoint import CheckpointError, load_checkpoint
from minigan.training import save_image_grid

# Headless: write files, open no window. Set before matplotlib is first imported
# (lazily, by save_image_grid).
os.environ.setdefault("MPLBACKEND", "Agg")

PROG = "python -m minigan"


class SampleError(Exception):
    """What ``sample`` could not do, in a sentence for the command line."""


def sample(checkpoint, n, out, seed, columns):
    """Write a grid of ``n`` samples of the generator saved in ``checkpoint`` to ``out``.

    Raises FileNotFoundError or CheckpointError for a checkpoint that cannot be read,
    and SampleError for one whose generator cannot be rebuilt or loaded, or for an
    image that cannot be written.
    """
    parts = load_checkpoint(checkpoint)
    spec = parts.get("spec")
    if not isinstance(spec, dict) or "z_dim" not in spec or "G" not in parts:
        raise CheckpointError(f"{checkpoint} holds no generator spec and weights ('spec', 'G'); "
                              f"was it written by minigan.training.Trainer with spec=...?")
    try:
        generator = models.build(spec)
    except (ImportError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise SampleError(f"{checkpoint}: cannot rebuild the generator of its spec "
                          f"{spec.get('factory')!r}: {type(error).__name__}: {error}") from error
    try:
        generator.load_state_dict(parts["G"])
    except (RuntimeError, TypeError) as error:
        first = str(error).replace("\n", " ")
        raise SampleError(f"{checkpoint}: its weights 'G' do not fit the generator its spec "
                          f"builds: {first}") from error
    generator.eval()
    minigan.manual_seed(seed)
    with minigan.no_grad():
        images = generator(minigan.randn(n, spec["z_dim"]))
    try:
        return save_image_grid(out, images, columns=columns)
    except (OSError, ValueError) as error:   # permissions, a full disk, an unknown format
        raise SampleError(f"cannot write {out}: {error}") from error


def main(argv=None):
    parser = experiment.OneLineParser(prog=PROG, description="Tools for minigan's training runs.")
    commands = parser.add_subparsers(dest="command", required=True)
    draw = commands.add_parser("sample",
                               help="write a grid of samples from a checkpoint's generator")
    draw.add_argument("checkpoint", help="a checkpoint file, e.g. runs/.../latest.ckpt")
    draw.add_argument("--n", type=experiment.whole_number(1), default=64,
                      help="how many samples (default 64)")
    draw.add_argument("--out", default="samples.png", help="the PNG to write (default samples.png)")
    draw.add_argument("--seed", type=experiment.whole_number(0), default=0,
                      help="seed of z (default 0)")
    draw.add_argument("--columns", type=experiment.whole_number(1), default=8,
                      help="images per row (default 8)")
    check = commands.add_parser(
        "diagnose", help="name what went wrong in a run folder, with the evidence",
        description="Read a run folder (config.json, metrics.csv, evaluations.csv, "
                    "latest.ckpt) and name what went wrong, with the evidence and advice. "
                    "Exit status: 0 nothing found, 3 problems named, 1 the folder cannot "
                    "be read.")
    check.add_argument("run_dir", metavar="RUN_FOLDER",
                       help="a run's folder, e.g. runs/06_dcgan/20261203-101500")
    book = commands.add_parser(
        "book", help="build the course as a website (needs pip install -e \".[book]\")",
        description="Stage the lessons, the chapters' notebooks and the API reference as an "
                    "mkdocs project in DIR and build it strictly (minigan.book). Exit status: "
                    "0 built, 1 failed, 4 the book extra is missing, 5 --check found no "
                    "Chromium.")
    book.add_argument("--out", dest="book_out", metavar="DIR", default="runs/book",
                      help="the build folder (default runs/book; the site is DIR/site)")
    book.add_argument("--check", action="store_true",
                      help="then open every page in headless Chromium and check it")
    again = commands.add_parser(
        "reproduce", help="run a chapter again and compare its figures with its results.json",
        description="Run chapter NN's default command at each seed and compare the default "
                    "run's figures with chapters/NN_name/results.json: within 3 spreads "
                    "where a spread is recorded, else at round-off (1e-3). With --record, "
                    "write results.json, the figures and the READMEs' tagged numbers instead. "
                    "Exit status: 0 all agree (or recorded), 3 some figure disagrees (or "
                    "tags could not be mended), 1 a run failed or a file is missing.")
    again.add_argument("chapter", metavar="NN", type=chapter_argument,
                       help="a chapter: its number (2, 02) or folder name")
    again.add_argument("--seeds", type=experiment.whole_number(0), nargs="+", default=None,
                       help="the seeds to run (default 0); the first is compared")
    again.add_argument("--record", action="store_true",
                       help="write the chapter's results.json and figures, and the READMEs' "
                            "tagged numbers, from the runs")
    again.add_argument("--from", dest="from_runs", metavar="RUN_DIR", nargs="+", default=None,
                       help="with --record: record these run folders (one per seed) instead "
                            "of running")
    numbers = commands.add_parser(
        "results", help="check or rewrite the READMEs' tagged numbers from the results files",
        description="check: every number a README tags (42.4<!-- FID -->) against its "
                    "chapter's results.json, one disagreement a line (exit status 3 if any); "
                    "write: rewrite them from the files.")
    numbers.add_argument("action", choices=["check", "write"])
    numbers.add_argument("chapters", metavar="NN", nargs="*", type=chapter_argument,
                         help="chapters whose README to treat (default: all of them, "
                              "chapters/README.md and README.md)")
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        if args.from_runs and not args.record:
            again.error("argument --from: records run folders, so it needs --record")
        if args.from_runs and args.seeds:
            again.error("argument --seeds: not with --from (the folders' runs have seeds)")
        return reproduce(args.chapter, args.seeds or [0], args.record, args.from_runs)
    if args.command == "results":
        return tag_numbers(args.action, args.chapters)
    if args.command == "diagnose":
        return diagnose(args.run_dir)
    if args.command == "book":
        from minigan import book as the_book   # mkdocs and friends load only for this
        return the_book.main(args.book_out, check=args.check, prog=f"{PROG} book")

    out = pathlib.Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        print(f"{PROG} sample: cannot write {out}: "
              f"{'it is a folder' if out.is_dir() else 'its folder does not exist'}",
              file=sys.stderr)
        return 1
    try:
        path = sample(args.checkpoint, args.n, args.out, args.seed, args.columns)
    except (FileNotFoundError, CheckpointError, SampleError) as error:
        print(f"{PROG} sample: {experiment.one_line(error)}", file=sys.stderr)
        return 1
    print(f"{args.n} samples written to {path}")
    return 0


# Exit status of ``diagnose`` when it names a problem: 1 and 2 already mean an unreadable
# folder and a wrong command line, and a script needs to tell "sick run" from both.
PROBLEMS_FOUND = 3


def diagnose(run_dir):
    """Print the report on ``run_dir``; 0 if healthy, PROBLEMS_FOUND if not, 1 if unreadable."""
    try:
        findings = diagnosis.diagnose(run_dir)
        report = diagnosis.format_report(run_dir, findings)
    except diagnosis.RunFolderError as error:
        print(f"{PROG} diagnose: {experiment.one_line(error)}", file=sys.stderr)
        return 1
    print(report)
    return PROBLEMS_FOUND if findings else 0


def chapter_argument(text):
    """NN on the command line: a chapter's number or folder name, as its folder's name."""
    try:
        return results.chapter_folder(text).name
    except (results.ResultsError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def reproduce(chapter, seeds, record, from_runs):
    """Rerun and compare (0 all agree, PROBLEMS_FOUND some do not), or record (0 done,
    PROBLEMS_FOUND tags left that could not be mended); 1 if a run fails or a file is
    missing."""
    prog = f"{PROG} reproduce"
    try:
        if not record:
            rows, _ = results.reproduce(chapter, seeds)
            return PROBLEMS_FOUND if not all(agrees for *_, agrees in rows) else 0
        runs = from_runs or [results.rerun(chapter, seed) for seed in seeds]
        path = results.record(runs, chapter)
    except (results.ResultsError, OSError, ValueError) as error:
        print(f"{prog}: {experiment.one_line(error)}", file=sys.stderr)
        return 1
    print(f"recorded {path}")
    readmes = [results.chapter_folder(chapter) / "README.md",
               results.ROOT / "chapters" / "README.md", results.ROOT / "README.md"]
    problems = [problem for readme in readmes if readme.is_file()
                for problem in results.write(readme)]
    for problem in problems:
        print(problem)
    return PROBLEMS_FOUND if problems else 0


def tag_numbers(action, chapters):
    """``results check``: print each disagreement (PROBLEMS_FOUND if any); ``results
    write``: rewrite the tagged numbers, print what could not be mended."""
    try:
        said = [line for readme in results.readmes(chapters)
                for line in getattr(results, action)(readme)]
    except (results.ResultsError, OSError) as error:
        print(f"{PROG} results {action}: {experiment.one_line(error)}", file=sys.stderr)
        return 1
    for line in said:
        print(line)
    if not said:
        print("every tagged number agrees with its results file" if action == "check"
              else "every tagged number written from its results file")
    return PROBLEMS_FOUND if said else 0


if __name__ == "__main__":
    sys.exit(main())
