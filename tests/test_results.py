"""minigan.results: the committed results files, the README tags, and reproducing a chapter.

Most tests plant a tiny course in a temporary folder: one chapter, ``chapters/02_toy``,
whose script writes a results.json, a config.json and a PNG in a blink (its figure moves
with the seed, and with TOY_SHIFT, so a test can make a rerun disagree), and a README
that quotes its numbers with tags. The last test reruns the real chapter 02.
"""
import json
import os
import subprocess
import sys

import pytest

from minigan import results
from minigan.__main__ import main
from tests.test_command_lines import ROOT, assert_one_line, refused

TOY_SCRIPT = '''
"""A chapter in a blink: its figures, config and one plot, at --seed into --out."""
import argparse, json, os, pathlib
from PIL import Image, ImageDraw

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out")
args = parser.parse_args()
out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)
shift = float(os.environ.get("TOY_SHIFT", "0"))
results = {"score": round(1.0 + 0.01 * args.seed + shift, 4), "score, standard error": 0.05,
           "steps": 1800, "loss": -0.6851, "tiny": 1.2e-14, "share": 0.92,
           "training seconds": 12.5 + args.seed, "verdict": "ok"}
(out / "results.json").write_text(json.dumps(results))
(out / "config.json").write_text(json.dumps({"seed": args.seed, "blas": {"threads": 1}}))
image = Image.new("RGBA", (120, 80), "white")
ImageDraw.Draw(image).line([(0, 79), (60, 20), (119, 50)], fill="blue", width=3)
image.save(out / "plot.png")
'''

TOY_README = """# Chapter 02: a toy

The score is 1.00<!-- score --> (± 0.05<!-- score, standard error -->) after
1,800<!-- steps --> steps; the loss is −0.6851<!-- loss -->, the gap 1.2e-14<!-- tiny -->,
and 92.0%<!-- share; x100 --> of it is good. <!-- an ordinary comment, not a tag -->

![the plot](figures/plot.png)
"""


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course of one chapter in ``tmp_path`` (with chapters/README.md and README.md),
    which ``python -m minigan`` in this process works on; its runs go to tmp_path/runs."""
    chapter = tmp_path / "chapters" / "02_toy"
    chapter.mkdir(parents=True)
    (chapter / "toy.py").write_text(TOY_SCRIPT)
    (chapter / "exercises.py").write_text("")
    (chapter / "README.md").write_text(TOY_README)
    (tmp_path / "chapters" / "README.md").write_text("| 02 | score 1.00<!-- 02: score --> |\n")
    (tmp_path / "README.md").write_text("A toy took 12 s<!-- 02: wall seconds; duration -->.\n")
    monkeypatch.setattr(results, "ROOT", tmp_path)
    monkeypatch.setenv("MINIGAN_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("TOY_SHIFT", raising=False)
    return tmp_path


def plant_run(course, seed, commit="a" * 40, exit_status=0, figures=True):
    """A run of the toy chapter at ``seed``, as the queue leaves it (with provenance.json)."""
    folder = course / "runs" / "02_toy" / f"regen-aaaaaaa-seed{seed}"
    subprocess.run([sys.executable, str(course / "chapters" / "02_toy" / "toy.py"),
                    "--seed", str(seed), "--out", str(folder)], check=True)
    if not figures:
        (folder / "plot.png").unlink()
    provenance = {"chapter": "02_toy", "script": "chapters/02_toy/toy.py",
                  "argv": ["--seed", str(seed), "--out", str(folder)], "seed": seed,
                  "commit": commit, "started": "2026-12-03T10:00:00+00:00",
                  "finished": "2026-12-03T10:00:12+00:00", "wall_seconds": 12.4,
                  "cpu_seconds": 11.0, "concurrent_runs": 2, "load_average": [0.5, 2.1],
                  "exit_status": exit_status, "environment": {}}
    (folder / "provenance.json").write_text(json.dumps(provenance))
    return folder


def recorded(course):
    return json.loads((course / "chapters" / "02_toy" / "results.json").read_text())


# --- numbers as a README shows them ---------------------------------------------------------
@pytest.mark.parametrize("value, shown, written", [
    (42.38, "40.1", "42.4"),
    (0.0204, "0.030", "0.020"),             # the zeros shown are kept
    (1800, "905", "1,800"),                  # three digits: the course's commas
    (1800, "1,200", "1,800"),
    (12345.6, "10000", "12346"),             # a number shown without commas stays without
    (-0.6851, "−0.1", "−0.7"),              # the Unicode minus ...
    (-0.6851, "-0.1", "-0.7"),               # ... or the hyphen, as shown
    (-0.6851, "0.1", "−0.7"),               # no sign shown: the course's minus
    (2.5, "+1.0", "+2.5"),
    (-0.001, "−0.0", "0.0"),                # a zero has no sign
    (1.23e-14, "1.0e-9", "1.2e-14"),
    (6.7e-6, "3e-5", "7e-6"),
    (-3e5, "−1E+03", "−3E+05"),
])
def test_format_like_keeps_the_style_shown(value, shown, written):
    assert results.format_like(value, shown) == written


@pytest.mark.parametrize("seconds, unit, decimals, written", [
    (289.4, "s", 0, "4 min 49 s"), (58.2, "s", 0, "58 s"), (7.64, "s", 1, "7.6 s"),
    (59.7, "s", 0, "1 min 0 s"), (3725, "s", 0, "1 h 2 min 5 s"), (3725, "min", 0, "1 h 2 min"),
    (1400, "min", 0, "23 min"),
])
def test_format_duration(seconds, unit, decimals, written):
    assert results.format_duration(seconds, unit, decimals) == written
    assert results.parse_duration("took " + written)[1:] == (unit, decimals)


def test_parse_duration_reads_the_time_before_a_tag():
    assert results.parse_duration("took 4 min 49 s") == (289.0, "s", 0)
    assert results.parse_duration("in 1 h 2 min") == (3720.0, "min", 0)
    assert results.parse_duration("7.6 s") == (7.6, "s", 1)
    assert results.parse_duration("about 5 minutes") is None


def test_a_tag_names_its_figure_chapter_and_options():
    tag = results.Tag(" 06: grid PacGAN: modes; sd ")
    assert (tag.chapter, tag.name, tag.statistic, tag.scale) == ("06", "grid PacGAN: modes",
                                                                 "sd", 1)
    tag = results.Tag("PSNR: bicubic; seed 1; x100")
    assert (tag.chapter, tag.name, tag.statistic, tag.scale) == (None, "PSNR: bicubic",
                                                                 "seed 1", 100)
    assert results.Tag(r"max \|D - D*\| over the 98% regions").name == \
        "max |D - D*| over the 98% regions"
    assert results.Tag(r"bits/dim\; not a bound").name == "bits/dim; not a bound"
    assert results.Tag("wall seconds; duration").duration
    with pytest.raises(ValueError, match=r"holds no '\|'"):
        results.Tag("max |D - D*|")
    with pytest.raises(ValueError, match="unknown option 'median'"):
        results.Tag("FID; median")


def test_find_tags_skips_ordinary_comments_and_code():
    text = ("FID 42.4<!-- FID --> and <!-- a note -->\n<!-- another -->\n"
            "a tag is written `FID 42.4<!-- FID -->`; 3<!-- steps -->\n"
            "```\nprint(1)<!-- in a fenced block -->\n```\n")
    tags = results.find_tags(text)
    assert [(line, before, tag.name) for line, before, tag, _ in tags] == \
        [(1, "FID 42.4", "FID"), (3, "a tag is written `FID 42.4<!-- FID -->`; 3", "steps")]


# --- the statistics and the tolerance ----------------------------------------------------
def runs_of(*values, **companions):
    return [{"provenance": {"seed": seed}, "results": {"x": value, **companions}}
            for seed, value in enumerate(values)]


def test_spread_is_the_sd_over_seeds_else_the_runs_own_error_else_none():
    entry = results.figure_statistics("x", runs_of(1.0, 2.0, 3.0))
    assert entry["value"] == 1.0 and entry["seeds"] == {"0": 1.0, "1": 2.0, "2": 3.0}
    assert entry["mean"] == 2.0 and entry["sd"] == entry["spread"] == 1.0
    assert "sd over seeds 0, 1, 2" in entry["spread_from"]
    for companion in ["x, standard error", "x (standard error)", "x sd", "x, sd"]:
        entry = results.figure_statistics("x", runs_of(1.0, **{companion: 0.3}))
        assert entry["spread"] == 0.3 and companion in entry["spread_from"], companion
    entry = results.figure_statistics("x", runs_of(1.0))
    assert entry["spread"] is None and entry["sd"] is None
    assert results.figure_statistics("x", runs_of("N(4, 0.5)")) == {"value": "N(4, 0.5)"}


def test_compare_allows_three_spreads_else_round_off():
    file = {"figures": {"FID": {"value": 40.0, "spread": 2.0},
                        "ratio": {"value": 4.0, "spread": None},
                        "training seconds": {"value": 100.0, "spread": None},
                        "gone": {"value": 1.0, "spread": None},
                        "name": {"value": "text"}}}
    verdicts = {row[0]: row[4:] for row in results.compare(
        file, {"FID": 45.9, "ratio": 4.005, "training seconds": 300.0})}
    assert verdicts["FID"][1] and "within 3 x spread = 6" in verdicts["FID"][0]
    assert not verdicts["ratio"][1] and "no spread recorded: compared at round-off" in \
        verdicts["ratio"][0]
    assert verdicts["training seconds"] == ("not compared: it measures the machine", True)
    assert verdicts["gone"] == ("DISAGREES: missing from the rerun", False)
    assert verdicts["name"] == ("DISAGREES: not the same", False)   # missing: not "text"
    again = {row[0]: row[5] for row in results.compare(
        file, {"FID": 46.1, "ratio": 4.0039, "gone": 1.0, "name": "text"})}
    assert again == {"FID": False, "ratio": True, "training seconds": True, "gone": True,
                     "name": True}


# --- record ------------------------------------------------------------------------------
def test_record_writes_the_file_and_the_figures(course):
    path = results.record([plant_run(course, 1), plant_run(course, 0)])
    entry = recorded(course)
    assert path == course / "chapters" / "02_toy" / "results.json"
    assert entry["chapter"] == "02_toy" and entry["command"] == "python chapters/02_toy/toy.py"
    assert entry["commit"] == "a" * 40 and entry["date"] == "2026-12-03"
    assert entry["threads"] == 1 and entry["blas"] == {"threads": 1}
    assert [run["seed"] for run in entry["runs"]] == [0, 1]
    assert entry["runs"][0] == {"seed": 0, "folder": "runs/02_toy/regen-aaaaaaa-seed0",
                                "wall_seconds": 12.4, "cpu_seconds": 11.0,
                                "concurrent_runs": 2}
    score = entry["figures"]["score"]
    assert score["value"] == 1.0 and score["seeds"] == {"0": 1.0, "1": 1.01}
    assert score["spread"] == pytest.approx(0.00707107)
    assert entry["figures"]["verdict"] == {"value": "ok"}
    assert set(entry["machine"]) == {"cpu", "cores", "python", "numpy", "platform"}
    assert entry["images"] == ["figures/plot.png"]
    from PIL import Image
    with Image.open(course / "chapters" / "02_toy" / "figures" / "plot.png") as image:
        assert image.mode == "P" and image.size == (120, 80)


def test_record_of_one_seed_takes_the_runs_own_standard_error(course):
    results.record([plant_run(course, 0)])
    score = recorded(course)["figures"]["score"]
    assert score["spread"] == 0.05 and "'score, standard error'" in score["spread_from"]


@pytest.mark.parametrize("plant, said", [
    (lambda course: [plant_run(course, 0, figures=False)],
     "shows figures/plot.png, but the run"),
    (lambda course: [plant_run(course, 0), plant_run(course, 1, commit="b" * 40)],
     "the runs were made at different commits"),
    (lambda course: [plant_run(course, 0, exit_status=1)], "ended with exit status 1, not 0"),
])
def test_record_refuses_runs_it_cannot_vouch_for(course, plant, said):
    with pytest.raises(results.ResultsError, match=said):
        results.record(plant(course))
    assert not (course / "chapters" / "02_toy" / "results.json").exists()


# --- check and write ---------------------------------------------------------------------
def test_check_names_a_planted_disagreement_with_its_line(course):
    results.record([plant_run(course, 0)])
    readme = course / "chapters" / "02_toy" / "README.md"
    for path in results.readmes():
        assert results.check(path) == [], path
    readme.write_text(TOY_README.replace("1,800<!-- steps -->", "1,900<!-- steps -->")
                      .replace("−0.6851<!-- loss -->", "−0.6851<!-- los -->"))
    said = results.check(readme)
    assert said == [
        "chapters/02_toy/README.md, line 4, tag <!-- steps -->: shows 1,900, but "
        "chapters/02_toy/results.json has 1800, which shows as 1,800",
        "chapters/02_toy/README.md, line 4, tag <!-- los -->: no figure named 'los' in "
        "chapters/02_toy/results.json (did you mean 'loss'?); its figures are: 'score', "
        "'score, standard error', 'steps', 'loss', 'tiny', 'share', 'training seconds', "
        "'verdict' and 2 more"]


def test_the_course_readmes_must_name_the_chapter(course):
    results.record([plant_run(course, 0)])
    readme = course / "chapters" / "README.md"
    readme.write_text("score 1.00<!-- score -->\n")
    assert results.check(readme) == [
        "chapters/README.md, line 1, tag <!-- score -->: the tag names no chapter; outside a "
        "chapter's README write <!-- NN: score -->"]


def test_write_mends_every_tag_in_its_style_and_twice_is_once(course):
    results.record([plant_run(course, 0)])
    readme = course / "chapters" / "02_toy" / "README.md"
    readme.write_text(TOY_README.replace("1.00<!--", "7.25<!--").replace("−0.6851", "-0.5")
                      .replace("1,800", "905").replace("92.0%", "13.5 %")
                      .replace("1.2e-14", "9.0e-9"))
    assert len(results.check(readme)) == 5
    assert results.write(readme) == []
    text = readme.read_text()
    for shown in ["1.00<!-- score -->", "-0.7<!-- loss -->", "1,800<!-- steps -->",
                  "92.0 %<!-- share; x100 -->", "1.2e-14<!-- tiny -->"]:
        assert shown in text
    assert results.check(readme) == []
    results.write(readme)
    assert readme.read_text() == text
    course_readme = course / "README.md"
    course_readme.write_text("A toy took 3 min 1 s<!-- 02: wall seconds; duration -->.\n")
    results.write(course_readme)
    assert course_readme.read_text() == \
        "A toy took 12 s<!-- 02: wall seconds; duration -->.\n"


def test_write_leaves_a_tag_it_cannot_mend_and_says_why(course):
    results.record([plant_run(course, 0)])
    readme = course / "chapters" / "02_toy" / "README.md"
    readme.write_text("the score 3.5<!-- scor --> and 2.0<!-- score -->\n")
    problems = results.write(readme)
    assert readme.read_text() == "the score 3.5<!-- scor --> and 1.0<!-- score -->\n"
    assert len(problems) == 1 and "no figure named 'scor'" in problems[0]


# --- the command line --------------------------------------------------------------------
def test_results_check_and_write_on_the_command_line(course, capsys):
    results.record([plant_run(course, 0)])
    assert main(["results", "check"]) == 0
    assert capsys.readouterr().out == "every tagged number agrees with its results file\n"
    readme = course / "chapters" / "02_toy" / "README.md"
    readme.write_text(TOY_README.replace("1.00<!--", "7.25<!--"))
    assert main(["results", "check", "2"]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out == ["chapters/02_toy/README.md, line 3, tag <!-- score -->: shows 7.25, but "
                   "chapters/02_toy/results.json has 1, which shows as 1.00"]
    assert main(["results", "write"]) == 0
    assert main(["results", "check"]) == 0


@pytest.mark.parametrize("argv, said", [
    (["results", "check", "42"], "argument NN: no chapter '42' (the chapters are 02-02)"),
    (["results", "mend"], "argument action: invalid choice: 'mend'"),
    (["reproduce", "toy"], "argument NN: no chapter 'toy'"),
    (["reproduce", "2", "--seeds", "-1"], "argument --seeds: expected a whole number >= 0"),
    (["reproduce", "2", "--from", "runs/x"], "argument --from: records run folders, so it "
                                             "needs --record"),
    (["reproduce", "2", "--record", "--seeds", "1", "--from", "runs/x"],
     "argument --seeds: not with --from"),
])
def test_bad_arguments_exit_2_in_one_line(course, capsys, argv, said):
    status, lines = refused(main, argv, capsys)
    assert status == 2
    assert_one_line(lines, f"python -m minigan {argv[0]}: error: ", said, "(see --help)")


def test_reproduce_exit_statuses(course, capsys, monkeypatch):
    """1 without a results file, 0 when the rerun agrees, 3 when a figure moved beyond its
    tolerance (3 x the run's own standard error, 0.15), 1 when the run fails."""
    assert main(["reproduce", "02"]) == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "python -m minigan reproduce: ",
                    "chapters/02_toy/results.json does not exist")
    results.record([plant_run(course, 0)])
    assert main(["reproduce", "02"]) == 0
    out = capsys.readouterr().out
    assert "not compared: it measures the machine" in out and "0 disagree" in out
    (rerun,) = (course / "runs" / "02_toy").glob("reproduce-*-seed0")
    provenance = json.loads((rerun / "provenance.json").read_text())
    assert provenance["exit_status"] == 0 and provenance["seed"] == 0
    assert provenance["argv"] == ["--seed", "0", "--out", str(rerun)]
    monkeypatch.setenv("TOY_SHIFT", "0.2")
    assert main(["reproduce", "2"]) == 3
    assert "DISAGREES: beyond 3 x spread = 0.15" in capsys.readouterr().out
    (course / "chapters" / "02_toy" / "toy.py").write_text("raise SystemExit(4)\n")
    assert main(["reproduce", "02_toy"]) == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "failed with exit status 4")


def test_reproduce_record_from_run_folders_rewrites_the_readmes(course, capsys):
    (course / "chapters" / "02_toy" / "README.md").write_text(
        TOY_README.replace("1.00<!--", "7.25<!--"))
    folders = [str(plant_run(course, seed)) for seed in (0, 1)]
    assert main(["reproduce", "2", "--record", "--from", *folders]) == 0
    assert recorded(course)["figures"]["score"]["seeds"] == {"0": 1.0, "1": 1.01}
    assert "1.00<!-- score -->" in (course / "chapters" / "02_toy" / "README.md").read_text()
    assert (course / "README.md").read_text() == \
        "A toy took 12 s<!-- 02: wall seconds; duration -->.\n"
    failed = plant_run(course, 2, exit_status=137)
    assert main(["reproduce", "2", "--record", "--from", str(failed)]) == 1
    assert_one_line(capsys.readouterr().err.splitlines(), "exit status 137")


# --- the real chapter 02 -----------------------------------------------------------------
@pytest.mark.slow
def test_chapter_02_reproduces_its_recorded_figures(tmp_path):
    if not (ROOT / "chapters" / "02_minimax_1d" / "results.json").is_file():
        pytest.skip("chapters/02_minimax_1d/results.json is not recorded yet "
                    "(python -m minigan reproduce 02 --record)")
    done = subprocess.run([sys.executable, "-m", "minigan", "reproduce", "02"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MINIGAN_RUNS": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert list(tmp_path.glob("02_minimax_1d/reproduce-*-seed0/provenance.json"))
