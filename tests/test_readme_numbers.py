"""The numbers and pictures of the lessons come from committed files, and agree with them.

Every number a README quotes from a run carries a tag naming its figure
(``FID 42.4<!-- FID -->``, see minigan/results.py); each must show its chapter's
``results.json`` value, rounded as shown. Every image a README shows or links must be in
the repository (not in runs/, which is not committed), every chapter must have its
``results.json``, and the figures copied beside the lessons stay under 10 MB together.
"""
import re

import pytest

from minigan import results
from tests.test_command_lines import ROOT

CHAPTERS = sorted(path for path in (ROOT / "chapters").glob("[0-9][0-9]_*") if path.is_dir())
READMES = [folder / "README.md" for folder in CHAPTERS if (folder / "README.md").is_file()] + \
    [ROOT / "chapters" / "README.md", ROOT / "README.md"]
FIGURES_LIMIT = 10 * 2 ** 20
# ![text](path) shows an image; [text](path.png) links one.
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)|(?<!!)\[[^\]]*\]\(([^)\s]+\.png)\)")


def name(path):
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("readme", READMES, ids=name)
def test_every_tagged_number_agrees_with_its_results_file(readme):
    disagreements = results.check(readme, root=ROOT)
    assert not disagreements, "\n".join(
        disagreements + ["run `python -m minigan results write` after a `python -m minigan "
                         "reproduce NN --record`"])


@pytest.mark.parametrize("readme", READMES, ids=name)
def test_every_image_a_readme_shows_is_in_the_repository(readme):
    runs = (ROOT / "runs").resolve()
    wrong = []
    for line, text in enumerate(readme.read_text().splitlines(), start=1):
        for match in IMAGE.finditer(text):
            target = match[1] or match[2]
            if re.match(r"[a-z]+://", target):
                continue
            path = (readme.parent / target).resolve()
            if runs == path or runs in path.parents:
                wrong.append(f"line {line}: {target} is under runs/, which is not committed; "
                             f"copy it into the chapter's figures/ (reproduce --record does)")
            elif not path.is_file():
                wrong.append(f"line {line}: {target} does not exist")
    assert not wrong, f"{name(readme)}: " + "; ".join(wrong)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_every_chapter_has_its_results_file(chapter):
    assert (chapter / "results.json").is_file(), (
        f"{name(chapter)} has no results.json: record its default run with `python -m "
        f"minigan reproduce {chapter.name[:2]} --record` (or `--record --from RUN_DIR ...`)")


def test_the_figures_beside_the_lessons_stay_small():
    sizes = {name(path): path.stat().st_size
             for path in (ROOT / "chapters").glob("*/figures/*.png")}
    largest = sorted(sizes, key=sizes.get, reverse=True)[:3]
    assert sum(sizes.values()) < FIGURES_LIMIT, (
        f"chapters/*/figures/*.png hold {sum(sizes.values()) / 2 ** 20:.1f} MB, over "
        f"{FIGURES_LIMIT / 2 ** 20:.0f} MB; the largest: "
        + ", ".join(f"{path} ({sizes[path] / 2 ** 20:.1f} MB)" for path in largest))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.name)
def test_every_lesson_shows_its_key_figures_and_only_committed_ones(chapter):
    """A fresh clone shows each lesson's key figures without running anything: the README
    embeds at least one picture from its figures/ folder, and every PNG kept there is shown
    (none is dead weight in the repository)."""
    text = (chapter / "README.md").read_text()
    shown = set(re.findall(r"!\[[^\]]*\]\((figures/[^)\s]+\.png)\)", text))
    assert shown, (f"{name(chapter)}/README.md embeds no figure from figures/: show the key "
                   f"ones inline, ![what it shows](figures/<name>.png), then record them "
                   f"with `python -m minigan reproduce {chapter.name[:2]} --record`")
    kept = {f"figures/{path.name}" for path in (chapter / "figures").glob("*.png")}
    unused = sorted(kept - shown)
    assert not unused, (f"{name(chapter)}/figures holds PNGs its README does not show: "
                        f"{', '.join(unused)}; show them or delete them")
