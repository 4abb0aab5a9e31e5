"""``python -m minigan.data fetch NAME`` downloads a dataset; ``check`` says what is found.

``check`` exits with status 1 when any file it looks for is missing or corrupt, so
``python -m minigan.data check fashion-mnist && ...`` runs on only where the data is whole.
A mistake ends with one line on stderr: exit status 2 for arguments argparse refuses, 1 for
a fetch that fails (no network, every mirror refused, a folder that cannot be written).
"""
import sys

from minigan.data import sources
from minigan.experiment import OneLineParser, one_line

PROG = "python -m minigan.data"


def main(argv=None):
    parser = OneLineParser(prog=PROG, description="Find, verify and fetch minigan's datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download a dataset into data/ (verified)")
    fetch.add_argument("name", choices=sorted(sources.CATALOGUE))
    fetch.add_argument("--folder", default=None, help="where to put it (default data/NAME)")
    check = commands.add_parser("check", help="show where each file is found and verify it")
    check.add_argument("name", nargs="?", choices=sorted(sources.CATALOGUE))
    check.add_argument("--root", default=None)
    args = parser.parse_args(argv)

    if args.command == "fetch":
        try:
            written = sources.fetch(args.name, args.folder)
        except (OSError, sources.ChecksumError) as error:
            # OSError: DataNotFoundError (every mirror failed; it lists them), or a --folder
            # that cannot be made or written. ChecksumError: a file already there is damaged.
            print(f"{PROG} fetch: {one_line(error)}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"{PROG} fetch: interrupted; run it again to fetch what is still missing",
                  file=sys.stderr)
            return 130
        print(f"{args.name}: {len(written)} file(s) downloaded and verified" if written
              else f"{args.name}: already present and verified")
        return 0

    missing, bad = 0, 0
    for name in [args.name] if args.name else sorted(sources.CATALOGUE):
        for stem in sources.CATALOGUE[name]["files"]:
            try:
                path = sources.find_file(name, stem, args.root)
                sources.verify(name, stem, path)
                print(f"ok       {name}/{stem}: {path}")
            except sources.DataNotFoundError:
                print(f"missing  {name}/{stem}")
                missing += 1
            except Exception as error:
                print(f"BAD      {name}/{stem}: {error}")
                bad += 1
    if missing or bad:
        # A check that finds nothing must not pass: scripts (and CI) rely on the exit status.
        print(f"{missing} file(s) missing, {bad} corrupt; see data/README.md for how to get "
              f"them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
