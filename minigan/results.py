"""Every number the course quotes, from a committed file, checked by the tests.

**Runs.** A chapter's default run, ``python chapters/NN_name/<script>.py --seed S --out DIR``,
writes ``DIR/results.json`` (figure name -> number or text), ``DIR/config.json`` (its
arguments, and under ``"blas"`` the BLAS kernel and threads) and its PNG figures. Beside
them, whoever started the run writes ``DIR/provenance.json``: the commit, the seed, the
command, the wall and CPU seconds, how many runs shared the machine, the load average (at
the start and at the end) and the ``OPENBLAS_*`` environment, and the exit status.
:func:`rerun` writes it for the runs it starts.

**The committed file.** :func:`record` turns the runs of one chapter (one per seed, all at
one commit) into ``chapters/NN_name/results.json``: the command, commit, date, machine,
BLAS and threads, the runs, and for every figure its ``value`` (the default run's: seed 0,
or the lowest seed recorded), its value at each seed, their ``mean`` and ``sd``, and its
``spread``: the sample sd over the seeds when there are two or more, else the standard
error or sd the run itself reports beside the figure (``"<name>, standard error"``,
``"<name> sd"``, ``"<name> spread"``), else null. ``spread_from`` says which. It also copies the PNGs the chapter's README shows
(``figures/<name>.png``) from the default run into ``chapters/NN_name/figures/``, on a
palette of 256 colours.

**Tags.** A number a README quotes from a results file is followed at once by an HTML
comment naming the figure, which Markdown does not show::

    FID 42.4<!-- FID -->                      the chapter's own results.json
    42.4<!-- 06: FID -->                      chapter 06's (required in chapters/README.md
                                              and README.md)
    ± 2.3<!-- grid PacGAN: modes; sd -->     mean, sd, spread, min, max, seed 1: other
                                              statistics than the default run's value
    92.0%<!-- PacGAN: high quality; x100 -->  a share shown as a percentage
    4 min 49 s<!-- wall seconds; duration --> a time, from seconds

``wall seconds`` and ``cpu seconds`` are the default run's (its provenance). A number may
carry a sign (``-``, ``−``, ``+``), thousands commas, decimals and an exponent
(``1.2e-14``). A name holds no ``;``, ``|`` or ``-->``; where a figure's name does, the tag
writes ``\\;`` and ``\\|`` (a Markdown table's escape). A number agrees with its file when
the file's value, rounded to the decimals shown, is written exactly as shown: :func:`check`
lists those that do not, :func:`write` rewrites them in the style shown.

**Reproducing.** :func:`reproduce` runs a chapter's default command again and compares every
number of the new default run with the file: within 3 spreads where a spread is recorded,
else within a relative 1e-3 (round-off). Figures that measure the machine (seconds, MiB)
are shown and not compared. ``python -m minigan reproduce NN`` and ``python -m minigan
results check|write`` are the commands.
"""
import datetime
import difflib
import json
import math
import os
import pathlib
import platform
import re
import resource
import statistics
import subprocess
import sys
import time

from minigan import experiment

ROOT = pathlib.Path(__file__).resolve().parents[1]

# A figure's companion, in the run's own results, that gives its spread when one seed ran.
COMPANIONS = [", standard error", " (standard error)", ", sd", " sd", " spread"]
# A figure whose name holds one of these measures the machine, not the method.
MACHINE_WORDS = ["seconds", "CPU s", "MiB", "time"]
TOLERANCE_SPREADS = 3
ROUND_OFF = 1e-3
PROVENANCE_NAMES = {"wall seconds": "wall_seconds", "cpu seconds": "cpu_seconds"}


class ResultsError(Exception):
    """What could not be recorded, read or run, in a sentence for the command line."""


def _root(root):
    """The repository a call works in: ``root``, else minigan's own (the tests plant small
    ones in a temporary folder)."""
    return pathlib.Path(root) if root is not None else ROOT


# --- chapters --------------------------------------------------------------------------
def chapter_folder(chapter, root=None):
    """The folder of ``chapter``: a number (``2``, ``"02"``) or a folder name."""
    root = _root(root)
    text = str(chapter).strip().rstrip("/").split("/")[-1]
    found = sorted((root / "chapters").glob(f"{int(text):02d}_*" if text.isdigit() else text))
    found = [path for path in found if path.is_dir()]
    if len(found) != 1:
        known = sorted(p.name[:2] for p in (root / "chapters").glob("[0-9][0-9]_*"))
        raise ResultsError(f"no chapter {chapter!r} (the chapters are "
                           f"{known[0] if known else '?'}-{known[-1] if known else '?'})")
    return found[0]


def chapter_script(folder):
    """The chapter's runnable script: the .py file in its folder other than exercises.py."""
    scripts = [p for p in sorted(folder.glob("*.py")) if p.name != "exercises.py"]
    if len(scripts) != 1:
        raise ResultsError(f"{folder} should hold one script besides exercises.py, "
                           f"found {[p.name for p in scripts]}")
    return scripts[0]


def _relative(path, root):
    try:
        return str(pathlib.Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def results_path(folder):
    return folder / "results.json"


def load_results(folder, root=None):
    """The committed results.json of the chapter in ``folder``."""
    root = _root(root)
    path = results_path(folder)
    if not path.is_file():
        raise ResultsError(f"{_relative(path, root)} does not exist (record it: python -m "
                           f"minigan reproduce {folder.name[:2]} --record)")
    return json.loads(path.read_text())


# --- record ----------------------------------------------------------------------------
def read_run(folder):
    """A run folder's results, config and provenance, as a dict; refuses a failed run."""
    folder = pathlib.Path(folder)
    run = {"folder": folder}
    for part in ["results", "config", "provenance"]:
        path = folder / f"{part}.json"
        if not path.is_file():
            raise ResultsError(f"{folder} holds no {part}.json: is it a finished run"
                               + (" started by the queue or by python -m minigan reproduce?"
                                  if part == "provenance" else "?"))
        run[part] = json.loads(path.read_text())
    status = run["provenance"].get("exit_status")
    if status != 0:
        raise ResultsError(f"{folder}: its provenance.json says the run ended with exit status "
                           f"{status}, not 0; a failed run's numbers are not recorded")
    return run


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value):
    """A statistic kept to 6 significant digits: the file stays readable."""
    return value if value is None or not math.isfinite(value) else float(f"{value:.6g}")


def figure_statistics(name, runs):
    """The entry of figure ``name`` over ``runs`` (sorted by seed, the default run first)."""
    seeds = {str(run["provenance"]["seed"]): run["results"][name]
             for run in runs if name in run["results"]}
    first = runs[0]["results"].get(name)
    if not all(is_number(value) for value in seeds.values()):
        return {"value": first}
    values = list(seeds.values())
    sd = statistics.stdev(values) if len(values) >= 2 else None
    entry = {"value": first, "seeds": seeds, "mean": _short(statistics.fmean(values)),
             "sd": _short(sd)}
    if sd is not None:
        entry["spread"] = entry["sd"]
        entry["spread_from"] = f"the sample sd over seeds {', '.join(seeds)}"
        return entry
    for suffix in COMPANIONS:
        companion = runs[0]["results"].get(name + suffix)
        if is_number(companion):
            entry["spread"] = companion
            entry["spread_from"] = f"one seed: the run's own figure {name + suffix!r}"
            return entry
    entry["spread"] = None
    entry["spread_from"] = "none: one seed, and the run reports no standard error of it"
    return entry


def linked_images(readme_text):
    """The figures/<name>.png a README shows or links, in order, each once."""
    found = re.findall(r"\]\((figures/[^)\s]+\.png)\)", readme_text)
    return list(dict.fromkeys(found))


def optimise_png(source, target):
    """Copy a PNG on a palette of 256 colours (a plot or a grid of small images keeps its
    look at a third of the size or less)."""
    from PIL import Image
    with Image.open(source) as image:
        rgb = image.convert("RGB")   # matplotlib writes RGBA on an opaque white background
    rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def machine():
    """The machine that records: CPU model, cores, Python, NumPy, the platform."""
    import numpy
    model = "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or "unknown"
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__, "platform": platform.platform()}


def record(run_folders, chapter=None, root=None):
    """Write ``chapters/NN_name/results.json`` and its figures from ``run_folders``.

    The runs (one per seed) must be of one chapter, at one commit, each finished with exit
    status 0. Every image the chapter's README links as ``figures/<name>.png`` is copied
    from the default run (``<name>.png``), optimised. Returns the path written.
    """
    root = _root(root)
    runs = sorted((read_run(folder) for folder in run_folders),
                  key=lambda run: run["provenance"]["seed"])
    if not runs:
        raise ResultsError("record needs at least one run folder")
    names = {run["provenance"].get("chapter") for run in runs}
    if chapter is None and len(names) == 1:
        chapter = names.pop()
    folder = chapter_folder(chapter, root)
    wrong = [str(run["folder"]) for run in runs
             if run["provenance"].get("chapter") not in (None, folder.name)]
    if wrong:
        raise ResultsError(f"runs of another chapter than {folder.name}: {', '.join(wrong)}")
    commits = {run["provenance"].get("commit") for run in runs}
    if len(commits) != 1:
        listed = "; ".join(f"{run['folder']}: {run['provenance'].get('commit')}"
                           for run in runs)
        raise ResultsError(f"the runs were made at different commits ({listed}); record runs "
                           f"of one commit")
    seeds = [run["provenance"]["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ResultsError(f"two runs of one seed among {seeds}: give one folder per seed")
    default = runs[0]
    readme = folder / "README.md"
    images = linked_images(readme.read_text()) if readme.is_file() else []
    missing = [image for image in images
               if not (default["folder"] / pathlib.Path(image).name).is_file()]
    if missing:
        raise ResultsError(f"{_relative(readme, root)} shows {', '.join(missing)}, but the run "
                           f"{default['folder']} has no "
                           f"{', '.join(pathlib.Path(m).name for m in missing)}")
    script = chapter_script(folder)
    blas = default["config"].get("blas", {})
    names = list(dict.fromkeys(name for run in runs for name in run["results"]))
    entry = {
        "chapter": folder.name,
        "command": f"python {_relative(script, root)}",
        "commit": commits.pop(),
        "date": str(default["provenance"].get("finished", ""))[:10],
        "machine": machine(),
        "blas": blas,
        "threads": blas.get("threads") if isinstance(blas, dict) else None,
        "runs": [{"seed": run["provenance"]["seed"],
                  "folder": _relative(run["folder"], root),
                  **{key: run["provenance"].get(key)
                     for key in ["wall_seconds", "cpu_seconds", "concurrent_runs"]}}
                 for run in runs],
        "figures": {name: figure_statistics(name, runs) for name in names},
        "images": images,
    }
    for image in images:
        (folder / image).parent.mkdir(parents=True, exist_ok=True)
        optimise_png(default["folder"] / pathlib.Path(image).name, folder / image)
    path = results_path(folder)
    path.write_text(json.dumps(entry, indent=2, ensure_ascii=False) + "\n")
    return path


# --- numbers as a README shows them ----------------------------------------------------
MINUS_SIGNS = "-−"
NUMBER = (r"(?P<sign>[-+−]?)(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<decimals>\d+))?"
          r"(?:(?P<e>[eE])(?P<exponent>[-+−]?\d+))?")
NUMBER_BEFORE = re.compile(r"(?<![\w.,])" + NUMBER + r"(?P<percent>\s?%)?$")
DURATION_BEFORE = re.compile(
    r"(?<![\w.])(?:(?P<h>\d+(?:\.\d+)?) h)?\s*(?:(?P<min>\d+(?:\.\d+)?) min)?\s*"
    r"(?:(?P<s>\d+(?:\.\d+)?) s)?$")
UNITS = {"h": 3600, "min": 60, "s": 1}


def format_like(value, shown):
    """``value`` written as ``shown`` is: its decimals, commas, sign and exponent style.

    >>> format_like(42.38, "40.1"), format_like(-1.2e-14, "−3.0e-9"), format_like(1800, "905")
    ('42.4', '−1.2e-14', '1,800')
    """
    parts = re.fullmatch(NUMBER, shown)
    if parts is None:
        raise ValueError(f"{shown!r} is not a number")
    decimals = len(parts["decimals"] or "")
    minus = parts["sign"] if parts["sign"] in ("-", "−") else "−"
    if parts["e"]:
        mantissa, exponent = f"{abs(value):.{decimals}e}".split("e")
        power = int(exponent)
        digits = str(abs(power)).zfill(len(parts["exponent"].lstrip("+-−")))
        shown_sign = parts["exponent"][0]
        exponent_sign = (shown_sign if shown_sign in "-−" else "-") if power < 0 else \
            ("+" if shown_sign == "+" else "")
        text = f"{mantissa}{parts['e']}{exponent_sign}{digits}"
        zero = float(mantissa) == 0
    else:
        # Commas where the README writes them, and where it cannot tell (three digits or
        # fewer): the course writes 1,800.
        commas = "," in parts["whole"] or len(parts["whole"]) <= 3
        text = f"{abs(value):{',' if commas else ''}.{decimals}f}"
        zero = float(text.replace(",", "")) == 0
    if value < 0 and not zero:
        return minus + text
    return ("+" if parts["sign"] == "+" else "") + text


def parse_duration(shown):
    """``"4 min 49 s"`` -> (289.0, the smallest unit shown, its decimals), else None."""
    parts = DURATION_BEFORE.search(shown)
    if parts is None or not any(parts[unit] for unit in UNITS):
        return None
    seconds = sum(float(parts[unit]) * size for unit, size in UNITS.items() if parts[unit])
    smallest = [unit for unit in UNITS if parts[unit]][-1]
    decimals = len(parts[smallest].partition(".")[2])
    return seconds, smallest, decimals


def format_duration(seconds, unit="s", decimals=0):
    """Seconds as the course writes a time: ``58 s``, ``4 min 49 s``, ``1 h 2 min 5 s``,
    rounded to ``decimals`` of ``unit`` (``s``, ``min`` or ``h``), the smallest unit shown.

    >>> format_duration(289.4), format_duration(7.64, "s", 1), format_duration(3725, "min")
    ('4 min 49 s', '7.6 s', '1 h 2 min')
    """
    left = round(seconds / UNITS[unit], decimals) * UNITS[unit]
    parts = []
    for name, size in UNITS.items():
        if name == unit:
            parts.append(f"{left / size:.{decimals}f} {name}")
            break
        whole = int(left // size)
        if whole or parts:   # no "0 h" in front; a "0 min" between hours and seconds
            parts.append(f"{whole} {name}")
            left -= whole * size
    return " ".join(parts)


# --- tags ------------------------------------------------------------------------------
TAG = re.compile(r"<!--(?P<body>.*?)-->")
OPTIONS = {"sd", "mean", "min", "max", "spread", "x100", "duration"}


class Tag:
    """One tag: the figure it names, in which chapter (None: the README's own), and how."""

    def __init__(self, body):
        self.body = body.strip()
        parts = [part.strip() for part in re.split(r"(?<!\\);", self.body)]
        reference, options = parts[0], parts[1:]
        if re.search(r"(?<!\\)\|", reference):
            raise ValueError("a tag's name holds no '|' (a table would split there); write "
                             "the figure's '|' as '\\|'")
        chapter = re.match(r"(\d{1,2})\s*:\s*(.+)$", reference)
        self.chapter, name = (chapter[1].zfill(2), chapter[2]) if chapter else (None, reference)
        self.name = name.replace("\\|", "|").replace("\\;", ";").strip()
        if not self.name:
            raise ValueError("the tag names no figure")
        self.statistic, self.scale, self.duration = "value", 1, False
        for option in options:
            seed = re.fullmatch(r"seed (\d+)", option)
            if option == "x100":
                self.scale = 100
            elif option == "duration":
                self.duration = True
            elif seed or option in OPTIONS:
                self.statistic = option
            else:
                raise ValueError(f"unknown option {option!r} (the options are sd, mean, spread, "
                                 f"min, max, seed N, x100, duration; a ';' in a figure's "
                                 f"name is written '\\;')")

    def __str__(self):
        return f"<!-- {self.body} -->"


def find_tags(text):
    """Each tag of a README: (line number, the text shown before it, Tag or error, span).

    A comment with a space or the line's start before it is an ordinary comment, not a tag;
    so is one in code (between backticks, or in a fenced block), which shows a tag as text.
    """
    found = []
    fenced = False
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        code = [span.span() for span in re.finditer(r"`[^`]*`", line)]
        for match in TAG.finditer(line):
            before = line[:match.start()]
            if not before or before[-1].isspace() or \
                    any(start < match.start() < end for start, end in code):
                continue
            try:
                tag = Tag(match["body"])
            except ValueError as error:
                tag = error
            found.append((number, before, tag, match.start()))
    return found


def shown_number(before, tag):
    """The text a tag is about, at the end of ``before``, and its parse (None: none)."""
    if isinstance(tag, Tag) and tag.duration:
        parsed = parse_duration(before)
        if parsed is None:
            return None
        text = DURATION_BEFORE.search(before)[0].strip()
        return text, parsed
    parsed = NUMBER_BEFORE.search(before)
    if parsed is None:
        return None
    return parsed[0], parsed


class Files:
    """The results files a README's tags read, each loaded once."""

    def __init__(self, root):
        self.root, self.loaded = root, {}

    def get(self, chapter):
        if chapter not in self.loaded:
            self.loaded[chapter] = load_results(chapter_folder(chapter, self.root), self.root)
        return self.loaded[chapter]


def _figure_names(results):
    return list(results.get("figures", {})) + list(PROVENANCE_NAMES)


def tag_value(tag, results, file_name):
    """The number ``tag`` asks for from a chapter's results; ResultsError if there is none."""
    if tag.name in PROVENANCE_NAMES:
        runs = results.get("runs") or [{}]
        value = runs[0].get(PROVENANCE_NAMES[tag.name])
    else:
        figures = results.get("figures", {})
        if tag.name not in figures:
            names = _figure_names(results)
            close = difflib.get_close_matches(tag.name, names, n=1)
            listed = ", ".join(repr(n) for n in names[:8]) + \
                (f" and {len(names) - 8} more" if len(names) > 8 else "")
            raise ResultsError(f"no figure named {tag.name!r} in {file_name}"
                               + (f" (did you mean {close[0]!r}?)" if close else "")
                               + f"; its figures are: {listed}")
        entry = figures[tag.name]
        if tag.statistic.startswith("seed "):
            value = entry.get("seeds", {}).get(tag.statistic[5:])
        elif tag.statistic in ("min", "max"):
            seeds = list(entry.get("seeds", {}).values())
            value = (min if tag.statistic == "min" else max)(seeds) if seeds else None
        else:
            value = entry.get(tag.statistic)
    if not is_number(value):
        raise ResultsError(f"{tag.name!r} has no number for {tag.statistic!r} in {file_name} "
                           f"({value!r})")
    return value * tag.scale


def _review(readme, root):
    """Each tag of ``readme``, as a dict: its line, where it starts on the line, the tag,
    the text shown before it, the text its file's value would show (``wanted``), the value,
    the file, and the problem (None, or why there is no wanted text)."""
    readme = pathlib.Path(readme)
    own = readme.parent.name if readme.parent.parent.name == "chapters" else None
    files = Files(root)
    rows = []
    for line, before, tag, start in find_tags(readme.read_text()):
        row = {"line": line, "start": start, "tag": tag, "shown": None, "wanted": None,
               "value": None, "file": None, "problem": None}
        rows.append(row)
        if isinstance(tag, ValueError):
            row["problem"] = str(tag)
            continue
        shown = shown_number(before, tag)
        chapter = tag.chapter or own
        try:
            if shown is None:
                what = "time (4 min 49 s, 58 s)" if tag.duration else "number"
                raise ResultsError(f"no {what} right before the tag")
            if chapter is None:
                raise ResultsError(f"the tag names no chapter; outside a chapter's README "
                                   f"write <!-- NN: {tag.body} -->")
            row["file"] = _relative(results_path(chapter_folder(chapter, root)), root)
            row["value"] = tag_value(tag, files.get(chapter), row["file"])
        except ResultsError as error:
            row["problem"] = str(error)
            continue
        row["shown"] = shown[0]
        if tag.duration:
            _, unit, decimals = shown[1]
            row["wanted"] = format_duration(row["value"], unit, decimals)
        else:
            percent = shown[1]["percent"] or ""
            number = shown[0][:len(shown[0]) - len(percent)]
            row["wanted"] = format_like(row["value"], number) + percent
    return rows


def _where(readme, row, root):
    tag = row["tag"]
    return f"{_relative(readme, root)}, line {row['line']}, " + \
        (f"tag {tag}" if isinstance(tag, Tag) else "a tag")


def check(readme_path, root=None):
    """The disagreements of a README's tags with their results files, one sentence each:
    the README, the line, the tag, the number shown and the value in the file."""
    root = _root(root)
    said = []
    for row in _review(readme_path, root):
        where = _where(readme_path, row, root)
        if row["problem"]:
            said.append(f"{where}: {row['problem']}")
        elif row["shown"] != row["wanted"]:
            said.append(f"{where}: shows {row['shown']}, but {row['file']} has "
                        f"{row['value']:.6g}, which shows as {row['wanted']}")
    return said


def write(readme_path, root=None):
    """Rewrite every tagged number of a README from its results file, in the style shown
    (decimals, commas, minus sign, exponent). Writing twice changes nothing the second time.

    Returns the problems it could not mend (a tag naming no figure, no number before a
    tag): those numbers stay as they were."""
    root = _root(root)
    readme = pathlib.Path(readme_path)
    text = readme.read_text()
    lines = text.splitlines(keepends=True)
    rows = _review(readme, root)
    # Right to left along a line, so the places of the tags before stay where they were.
    for row in sorted(rows, key=lambda row: (row["line"], -row["start"])):
        if row["problem"] is None:
            line, start = lines[row["line"] - 1], row["start"]
            lines[row["line"] - 1] = line[:start - len(row["shown"])] + row["wanted"] + \
                line[start:]
    if "".join(lines) != text:
        readme.write_text("".join(lines))
    return [f"{_where(readme, row, root)}: {row['problem']}" for row in rows if row["problem"]]


def readmes(chapters=None, root=None):
    """The READMEs with tags: those of the chapters named, or of all of them and then
    chapters/README.md and README.md."""
    root = _root(root)
    if chapters:
        return [chapter_folder(chapter, root) / "README.md" for chapter in chapters]
    folders = sorted(p for p in (root / "chapters").glob("[0-9][0-9]_*") if p.is_dir())
    found = [folder / "README.md" for folder in folders]
    found += [root / "chapters" / "README.md", root / "README.md"]
    return [path for path in found if path.is_file()]


# --- reproduce -------------------------------------------------------------------------
def runs_root(root=None):
    """Where reruns go: MINIGAN_RUNS (as the chapters' own runs), else runs/ in ``root``."""
    folder = experiment.runs_root()
    return folder if folder.is_absolute() else _root(root) / folder


def _commit(root):
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def rerun(chapter, seed, root=None, out=None):
    """Run the chapter's default command at ``seed`` into a new folder under
    ``runs/NN_name/reproduce-<YYYYmmdd-HHMMSS>-seed<S>``, write its provenance.json, and
    return the folder. Its output streams to this process's."""
    root = _root(root)
    folder = chapter_folder(chapter, root)
    script = chapter_script(folder)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = pathlib.Path(out) if out else runs_root(root) / folder.name / \
        f"reproduce-{stamp}-seed{seed}"
    argv = ["--seed", str(seed), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_start = os.getloadavg()[0]
    started, clock = _now(), time.perf_counter()
    status = subprocess.run([sys.executable, str(script), *argv], cwd=root).returncode
    wall = time.perf_counter() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    provenance = {
        "chapter": folder.name, "script": _relative(script, root), "argv": argv,
        "seed": seed, "commit": _commit(root), "started": started, "finished": _now(),
        "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "concurrent_runs": 1,
        "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "exit_status": status,
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    if status != 0:
        raise ResultsError(f"{_relative(script, root)} --seed {seed} failed with exit status "
                           f"{status} (its folder: {out})")
    if not (out / "results.json").is_file():
        raise ResultsError(f"{_relative(script, root)} --seed {seed} wrote no results.json "
                           f"into {out}")
    return out


def measures_the_machine(name):
    return any(word.lower() in name.lower() for word in MACHINE_WORDS)


def compare(recorded, now):
    """Each figure of the committed file against a new default run's results: rows of
    (figure, recorded, spread, now, verdict, agrees). A number agrees within 3 spreads where
    a spread is recorded, else within a relative 1e-3; a figure that measures the machine is
    shown, not compared; any other figure (True, a list in words) must be the same."""
    rows = []
    for name, entry in recorded.get("figures", {}).items():
        value, spread = entry.get("value"), entry.get("spread")
        current = now.get(name)
        if not is_number(value):
            # a check's outcome (True) or a list in words ("0 25 20"): the same, or not
            agrees = current == value
            verdict = "agrees: the same" if agrees else "DISAGREES: not the same"
            rows.append((name, value, None, current, verdict, agrees))
            continue
        if measures_the_machine(name):
            verdict, agrees = "not compared: it measures the machine", True
        elif not is_number(current):
            verdict, agrees = "DISAGREES: missing from the rerun", False
        elif spread:
            tolerance = TOLERANCE_SPREADS * spread
            agrees = abs(current - value) <= tolerance
            verdict = (f"agrees: within 3 x spread = {tolerance:.3g}" if agrees else
                       f"DISAGREES: beyond 3 x spread = {tolerance:.3g}")
        else:
            # abs_tol: a figure that is itself round-off (1e-14) differs at that scale anywhere
            agrees = math.isclose(current, value, rel_tol=ROUND_OFF, abs_tol=1e-9)
            verdict = f"{'agrees' if agrees else 'DISAGREES'} (no spread recorded: " \
                      f"compared at round-off)"
        rows.append((name, value, spread, current, verdict, agrees))
    return rows


def format_table(rows):
    """The comparison as a plain text table, then a one-line summary."""
    def cell(value):
        return "-" if value is None else f"{value:.6g}" if is_number(value) else str(value)
    table = [("figure", "recorded", "spread", "now", "verdict")]
    table += [(name, cell(value), cell(spread), cell(current), verdict)
              for name, value, spread, current, verdict, _ in rows]
    widths = [min(max(len(row[i]) for row in table), 60) for i in range(4)]
    lines = ["  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4]
             for row in table]
    failed = sum(not agrees for *_, agrees in rows)
    skipped = sum("not compared" in row[4] for row in rows)
    lines.append(f"{len(rows) - failed - skipped} figures agree, {failed} disagree, "
                 f"{skipped} measure the machine and were not compared")
    return "\n".join(lines)


def reproduce(chapter, seeds=(0,), root=None):
    """Run the chapter's default command at each seed, compare the first run with the
    committed file, print the table; return (the comparison rows, the run folders)."""
    root = _root(root)
    folder = chapter_folder(chapter, root)
    recorded = load_results(folder, root)
    runs = [rerun(folder.name, seed, root) for seed in seeds]
    now = json.loads((runs[0] / "results.json").read_text())
    rows = compare(recorded, now)
    print(format_table(rows))
    return rows, runs
