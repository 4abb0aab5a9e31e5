"""The rendered book (minigan.book): staging, the strict build, the browser check.

The staging tests run on a small repository made here (two chapters, one of them
without a lesson yet, a figure, a module with a docstring) and need only jupytext and
the MathJax package of the ``book`` extra. The build tests need the whole extra and skip
with that reason without it; the browser tests need Debian's chromium as well.
"""
import json
import pathlib
import struct
import subprocess
import sys
import zlib

import pytest

from minigan import book

REPO = pathlib.Path(__file__).resolve().parent.parent
MISSING = book.missing_tools()
needs_tools = pytest.mark.skipif(
    bool(MISSING), reason=f"the book extra is not installed ({', '.join(MISSING)}): "
                          f"pip install -e \".[book]\"")


def chromium_or_skip():
    from minigan.book import check
    browser = check.find_chromium()
    if browser is None:
        pytest.skip("no Chromium here (apt-get install chromium): the browser check cannot run")
    return browser


def png(width, height):
    """A grey PNG, made with the standard library."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


LESSON = """\
# Chapter 01: a first game

**Run it:** `python chapters/01_first/first.py`. See [the data](../../data/README.md),
[the code](../../minigan/core.py), [the package](../../minigan/), [the script](first.py)
and [the next chapter's notebook](../02_second/second.py#the-end).

**Proposition 1: the optimal discriminator.** For a fixed G,

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

**Theorem 1: at D*, the value is a divergence.** In LaTeX:

$$
V(D^*, G) = -\\log 4 + 2\\,\\mathrm{JSD}(p_{data} \\| p_g)
$$

where $p_g$ is the generator's density.

* a list item whose text goes on
  with an equation of its own:

      L = E[(D - 1)²]

  and a paragraph after it.

![the figure](figures/curve.png)

```bash
python chapters/01_first/first.py   # [not a link](nowhere.md)
```
"""

SCRIPT = """\
# %% [markdown]
# # Chapter {n}: the {name} script
#
# Prose of the {name} notebook.

# %%
import math
print(math.pi)

# %% [markdown]
# ## The end
"""


@pytest.fixture
def tiny_repo(tmp_path):
    root = tmp_path / "repo"
    (root / "chapters/01_first/figures").mkdir(parents=True)
    (root / "chapters/02_second").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "minigan").mkdir()
    (root / "README.md").write_text("# tiny\n\nThe course: [chapters](chapters/README.md); "
                                    "[data](data/README.md).\n")
    (root / "chapters/README.md").write_text(
        "# The chapters\n\n| # | chapter |\n| --- | --- |\n| 01 | [first](01_first/README.md) |\n")
    (root / "data/README.md").write_text("# Data\n\nBack to [the course](../chapters/README.md).\n")
    (root / "chapters/01_first/README.md").write_text(LESSON)
    (root / "chapters/01_first/figures/curve.png").write_bytes(png(40, 20))
    (root / "chapters/01_first/first.py").write_text(SCRIPT.format(n="01", name="first"))
    (root / "chapters/01_first/exercises.py").write_text("def answer():\n    raise NotImplementedError\n")
    (root / "chapters/02_second/second.py").write_text(SCRIPT.format(n="02", name="second"))
    (root / "minigan/__init__.py").write_text('"""The tiny package."""\n')
    (root / "minigan/core.py").write_text(
        '"""The core: the optimal discriminator.\n\n    D*(x) = a / (a + b)\n"""\n\n\n'
        'def optimal(a, b):\n    """D* = a / (a + b).\n\n    >>> optimal(1, 1)\n    0.5\n    """\n'
        '    return a / (a + b)\n')
    return root


def test_equations_are_fenced_where_they_are_indented():
    text = "Para\n\n    E = m c²\n\nText.\n\n* item\n  more\n\n      F = m a\n\n  after\n"
    marked = book.mark_equations(text)
    assert "```{.text .equation .no-copy}\nE = m c²\n```" in marked
    # Inside a list item, the fence stays at the item's text indentation.
    assert "  ```{.text .equation .no-copy}\n  F = m a\n  ```" in marked
    assert "  after" in marked
    # A list item's continuation is not an equation, and fenced code is left alone.
    assert book.mark_equations("* a\n  b\n") == "* a\n  b\n"
    assert book.mark_equations("```\n\n    x = 1\n```") == "```\n\n    x = 1\n```"


def test_stars_of_optima_are_kept_but_emphasis_is_not_touched():
    escaped = book.escape_symbol_stars("**at D*, the value** D*(x) *italic* **bold** `G*`")
    assert escaped == "**at D\\*, the value** D\\*(x) *italic* **bold** `G*`"
    assert book.escape_symbol_stars("*today's* D, *of class y*.") == "*today's* D, *of class y*."


def test_lists_start_where_github_starts_them():
    text = "Text:\n* a\n  more\n* b\n\n  second paragraph\n* c\n\nPara\n2. no list\n"
    assert book.separate_lists(text) == (
        "Text:\n\n* a\n  more\n* b\n\n  second paragraph\n\n* c\n\nPara\n2. no list\n")


def test_links_are_rewritten_outside_code_only():
    rewritten = book.rewrite_links(
        "[a](x.md) ![b](y.png) `[c](z.md)` [d](https://e.org) \\[f, g\\](h) [i](#top)\n"
        "[ref]: w.md\n```\n[j](k.md)\n```", lambda target: "NEW/" + target)
    assert rewritten == ("[a](NEW/x.md) ![b](NEW/y.png) `[c](z.md)` [d](https://e.org) "
                         "\\[f, g\\](h) [i](#top)\n[ref]: NEW/w.md\n```\n[j](k.md)\n```")


def test_doctests_in_docstrings_are_fenced():
    pytest.importorskip("griffe", reason="the book extra is not installed")
    from minigan.book.doctests import fence_doctests
    fenced = fence_doctests("Text.\n\n    >>> [1]\n    [1]\n\nMore.")
    assert fenced == "Text.\n\n    ```pycon\n    >>> [1]\n    [1]\n    ```\n\nMore."


def test_staging_picks_up_the_chapters_and_rewrites_the_links(tiny_repo, tmp_path):
    pytest.importorskip("jupytext", reason="the book extra is not installed")
    pytest.importorskip("mathjax", reason="the book extra is not installed")
    out = tmp_path / "book"
    site = book.stage(out, root=tiny_repo)
    docs = out / "docs"
    # Every chapter folder, the one without a lesson too (its title from its notebook).
    assert [(name, title) for name, title, _, _ in site.chapters] == [
        ("01_first", "Chapter 01: a first game"), ("02_second", "Chapter 02: the second script")]
    assert site.chapters[1][2] is None and site.chapters[1][3] == "chapters/02_second/notebook.md"
    home = (docs / "index.md").read_text()
    assert "[chapters](chapters/index.md)" in home and "[data](data/index.md)" in home
    assert "[first](01_first/index.md)" in (docs / "chapters/index.md").read_text()
    lesson = (docs / "chapters/01_first/index.md").read_text()
    assert "[the data](../../data/index.md)" in lesson
    assert "[the code](../../api/core.md)" in lesson
    assert "[the package](../../api/index.md)" in lesson
    assert "[the script](notebook.md)" in lesson
    assert "(../02_second/notebook.md#the-end)" in lesson
    assert "[not a link](nowhere.md)" in lesson            # code is left as it is
    assert "```{.text .equation .no-copy}\nD*(x) = p_data(x) / (p_data(x) + p_g(x)),\n```" in lesson
    assert "**Theorem 1: at D\\*, the value is a divergence.**" in lesson
    assert (docs / "chapters/01_first/figures/curve.png").read_bytes() == png(40, 20)
    assert (docs / "chapters/01_first/exercises.py").exists()
    # The notebooks: valid, downloadable, and shown as a page; nothing was run.
    notebook = json.loads((docs / "chapters/01_first/first.ipynb").read_text())
    assert [cell["cell_type"] for cell in notebook["cells"]] == ["markdown", "code", "markdown"]
    assert all(not cell.get("outputs") for cell in notebook["cells"])
    page = (docs / "chapters/01_first/notebook.md").read_text()
    assert page.startswith("# Chapter 01: the first script: the notebook")
    assert "[first.ipynb](first.ipynb)" in page and "```python\nimport math" in page
    assert "::: minigan.core" in (docs / "api/core.md").read_text()
    assert (docs / "assets/mathjax/tex-chtml.js").exists()
    assert list((docs / "assets/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    config = json.loads((out / "mkdocs.yml").read_text())
    assert config["strict"] is True and config["theme"]["font"] is False
    assert not any("://" in script for script in config["extra_javascript"])


def test_staging_refuses_broken_links_and_links_into_runs(tiny_repo, tmp_path):
    pytest.importorskip("jupytext", reason="the book extra is not installed")
    lesson = tiny_repo / "chapters/01_first/README.md"
    lesson.write_text(lesson.read_text() + "\n![a run's figure](../../runs/01_first/x/a.png)\n"
                                           "[gone](missing.md)\n")
    with pytest.raises(book.StageError) as error:
        book.stage(tmp_path / "book", root=tiny_repo)
    message = str(error.value)
    assert "2 broken link(s)" in message
    assert "runs/, which git ignores" in message
    assert "chapters/01_first/missing.md does not exist" in message


def test_check_without_chromium_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    if MISSING:
        assert book.main(tmp_path / "book", check=True) == book.NO_TOOLS
        return
    monkeypatch.setenv("MINIGAN_CHROMIUM", "no-such-browser-here")
    assert book.main(tmp_path / "book", check=True) == book.NO_BROWSER
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "Chromium" in error


@pytest.mark.slow
@needs_tools
def test_tiny_book_builds_strict_and_passes_the_browser_check(tiny_repo, tmp_path):
    out = tmp_path / "book"
    book.stage(out, root=tiny_repo)
    ok, output, _, _ = book.build(out)
    assert ok, output
    site = out / "site"
    assert (site / "chapters/01_first/index.html").exists()
    assert (site / "chapters/01_first/first.ipynb").exists()
    from minigan.book import check
    report = check.check_site(site, chromium_or_skip())
    assert report.ok, report.summary()
    assert report.images == 1 and report.math_pages == 1 and report.typeset >= 2
    assert any("optimal discriminator" in result.lower() for result in report.search_results)
    # The check can fail: a missing figure and a missing page are both caught.
    (site / "chapters/01_first/figures/curve.png").unlink()
    (site / "data/index.html").unlink()
    report = check.check_site(site, chromium_or_skip(),
                              pages=["chapters/01_first/index.html", "index.html"])
    problems = "\n".join(report.problems)
    assert "image did not load" in problems and "curve.png" in problems
    assert "link to a missing page" in problems and "data/index.html" in problems


@pytest.mark.slow
@needs_tools
def test_the_course_builds_strict(tmp_path):
    out = tmp_path / "book"
    site = book.stage(out)
    chapters = sorted(path.name for path in (REPO / "chapters").glob(book.CHAPTER_GLOB)
                      if path.is_dir())
    assert [name for name, _, _, _ in site.chapters] == chapters
    ok, output, _, _ = book.build(out)
    assert ok, "\n".join(line for line in output.splitlines() if "WARNING" in line) or output
    pages = list((out / "site").rglob("*.html"))
    assert len(pages) > 2 * len(chapters) + len(site.modules)
    from minigan.book import check
    browser = check.find_chromium()
    if browser is None:
        return   # the strict build is checked; the browser part is in the test above
    report = check.check_site(out / "site", browser, pages=[
        "index.html", "chapters/index.html", "chapters/02_minimax_1d/index.html",
        "chapters/02_minimax_1d/notebook.html", "api/gan/theory.html"])
    assert report.ok, report.summary()


def test_the_command_line_names_the_subcommand():
    result = subprocess.run([sys.executable, "-m", "minigan", "book", "--help"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and "--check" in result.stdout and "--out" in result.stdout


def test_staging_never_replaces_a_folder_it_did_not_make(tiny_repo, tmp_path):
    pytest.importorskip("jupytext", reason="the book extra is not installed")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "docs").mkdir(parents=True)
    (elsewhere / "docs/notes.md").write_text("mine\n")
    with pytest.raises(book.StageError, match="not made by this command"):
        book.stage(elsewhere, root=tiny_repo)
    assert (elsewhere / "docs/notes.md").read_text() == "mine\n"
    book.stage(tmp_path / "book", root=tiny_repo)
    book.stage(tmp_path / "book", root=tiny_repo)      # its own folder: staged again
