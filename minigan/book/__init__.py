"""The course as a website: ``python -m minigan book [--out DIR] [--check]``.

The repository stays what it is (lessons in ``chapters/NN_*/README.md``, one ``# %%``
script per chapter, docstrings in ``minigan/``); this module *stages* a documentation
project from it in a build folder (``runs/book/`` by default, ignored by git) and builds
it there:

* ``OUT/docs/index.md``: the top-level README, the home page;
* ``OUT/docs/chapters/index.md``: ``chapters/README.md``, the course's table of contents;
* ``OUT/docs/chapters/NN_name/index.md``: each lesson, with the chapter's other files
  (committed figures, ``exercises.py``, the script) copied beside it, so the lesson's
  relative links keep working;
* ``OUT/docs/chapters/NN_name/notebook.md`` and ``<script>.ipynb``: the chapter's script
  turned into a notebook by jupytext, shown as a page and offered for download. Nothing
  is run: the site shows the figures that are committed, and no cell outputs;
* ``OUT/docs/api/...``: one page per module of ``minigan``, from its docstrings
  (mkdocstrings), the equations in them included;
* ``data/README.md`` and ``benchmarks/README.md`` as pages, and any other file a lesson
  links, copied under ``OUT/docs/source/``.

Every relative link in the staged pages is resolved against the repository and rewritten
to where its target lands on the site (a README to its page, ``minigan/gan/theory.py`` to
that module's API page, a chapter's script to its notebook page). A link to nothing, or
into ``runs/`` (ignored by git, so absent from a fresh clone), stops the staging with the
file and the link named.

**Why mkdocs (with mkdocs-material, mkdocstrings and jupytext) and not Sphinx.** The
lessons are GitHub-flavoured Markdown and the docstrings are Markdown-ish prose with
indented equations. mkdocs and mkdocstrings read both as Markdown, which is what they
are; Sphinx reads the lessons through MyST but its autodoc reads docstrings as
reStructuredText, where the stars of ``D*(x)`` and ``a * b`` are markup. Material gives a
learner a course outline on the left, the page's contents on the right, dark mode, and a
search that runs in the browser from an index built with the site (no server needed
behind it, no network). ``mkdocs build --strict`` makes every warning (a broken link or
anchor, a page left out of the navigation, an unresolved cross-reference, a griffe
docstring warning) a failure. The whole site (about a hundred pages) builds in about 25 s
wall, 7 s CPU, on a busy shared 2-core machine. Notebooks are shown by turning them into
Markdown pages with jupytext rather than with mkdocs-jupyter, whose nbconvert templates
load require.js and MathJax from a CDN; the notebooks here have no outputs to show
anyway. (Material for MkDocs is in maintenance mode, with fixes until 2027; its
successor, Zensical, reads the same mkdocs.yml.)

Python-Markdown is not GitHub's Markdown, so the staging evens out the three differences
the lessons run into: indented equations inside list items (``mark_equations``), the
star of D* read as emphasis (``escape_symbol_stars``), and a list that starts right after
a paragraph (``separate_lists``, with ``mdx_truly_sane_lists`` for 2-space list indents).

**Equations.** The lessons and docstrings write their equations as indented plain text
(``D*(x) = p_data(x) / (p_data(x) + p_g(x))``, with Unicode symbols): those are shown
as they are, in a display block of their own (class ``equation``), aligned as written.
LaTeX between ``$...$`` or ``$$...$$`` (pymdownx.arithmatex) is typeset by MathJax 3,
copied into the site from the ``django-static-mathjax`` wheel on PyPI (no Django needed:
it is MathJax's files in a Python package), so the maths renders with no network; the
theme's web fonts are turned off for the same reason.

``--check`` then opens every page in headless Chromium (Debian's ``chromium``; see
``minigan.book.check``) and fails on a page or asset that does not load, an image of
width 0, untypeset maths, an internal link to nothing, a request to another host, or a
search for "optimal discriminator" that finds nothing.

Exit status: 0 built (and checked); 1 the staging, the build or the check failed;
2 a wrong command line; ``NO_TOOLS`` (4) the ``book`` extra is not installed;
``NO_BROWSER`` (5) ``--check`` found no Chromium.
"""
import ast
import json
import os
import pathlib
import posixpath
import re
import resource
import shutil
import subprocess
import sys
import time

NO_TOOLS = 4
NO_BROWSER = 5

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUT = pathlib.Path("runs") / "book"
CHAPTER_GLOB = "[0-9][0-9]_*"
MARKER = ".minigan-book"            # marks a build folder as this command's own
# Pages other than the lessons that the home page and the lessons link.
EXTRA_PAGES = ("data/README.md", "benchmarks/README.md")
SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
TOOLS = ("mkdocs", "material", "mkdocstrings_handlers.python", "pymdownx",
         "mdx_truly_sane_lists", "jupytext", "mathjax")

# MathJax 3's single-file build for TeX input and HTML output, and the fonts it loads.
MATHJAX_FILES = ("es5/tex-chtml.js", "es5/output/chtml/fonts/woff-v2")

MATHJAX_CONFIG = """\
// MathJax reads the \\( \\) and \\[ \\] that pymdownx.arithmatex writes, inside its spans only.
window.MathJax = {
  tex: {inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"},
};
// MathJax (a megabyte of script) is loaded only by the pages that have maths.
(function () {
  const here = document.currentScript.src;
  function load() {
    if (!document.querySelector(".arithmatex")) return;
    const script = document.createElement("script");
    script.src = new URL("mathjax/tex-chtml.js", here).href;
    document.head.appendChild(script);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
"""

EXTRA_CSS = """\
/* The lessons' equations: indented plain text, kept aligned as written, set apart from code. */
.md-typeset .equation pre {
  border-left: 3px solid var(--md-accent-fg-color--transparent);
  margin: 1em 0 1em 0.4em;
}
.md-typeset .equation pre > code {
  background: none;
  color: var(--md-typeset-color);
  font-size: 0.85em;
  padding: 0.3em 0 0.3em 1em;
}
/* A chapter's long title on one line, its hidden permalink sign with it (not on a line of its own). */
.md-typeset h1 { font-size: 1.7em; }
/* Figures: never wider than the text column. */
.md-typeset img { max-width: 100%; height: auto; }
"""


class StageError(Exception):
    """What the staging could not do (a broken link, a missing file), in a sentence."""


# -- Markdown: links and equations ----------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
LIST_ITEM = re.compile(r"^(\s*)([*+-]|\d+[.)])\s+")
INLINE_LINK = re.compile(r"(?<!\\)(!?\[(?:[^\[\]`\\]|\\.|\[[^\]]*\])*\])\(\s*(<[^>]*>|[^)\s]+)(\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)(.*)$")
HTML_SOURCE = re.compile(r"""(<(?:img|a|source)\b[^>]*?\b(?:src|href)=)(["'])([^"']+)\2""")
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def mark_equations(text):
    """Turn the indented plain-text blocks of a lesson into ``equation`` fences.

    In the lessons, code is always fenced (```), and a block indented four spaces past
    its paragraph (or past a list item's text) is an equation. Those are fenced with the
    class ``equation`` at their own indentation, so they stay inside their list item and
    are shown aligned as written, without code highlighting.
    """
    lines = text.split("\n")
    out, in_fence, i = [], False, 0
    context = 0                      # the indentation the current paragraph's text starts at
    previous_blank = True
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
        if in_fence or FENCE.match(line):
            out.append(line)
            previous_blank = False
            i += 1
            continue
        stripped = line.strip()
        if stripped and previous_blank and _indent(line) >= context + 4:
            block = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) >= context + 4):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
                i -= 1
            depth = min(_indent(b) for b in block if b.strip())
            pad = " " * context
            out.append(f"{pad}```{{.text .equation .no-copy}}")
            out.extend(pad + b[depth:] if b.strip() else "" for b in block)
            out.append(f"{pad}```")
            previous_blank = False
            continue
        if stripped:
            item = LIST_ITEM.match(line)
            if item:
                context = item.end()
            elif previous_blank:
                context = _indent(line)
        out.append(line)
        previous_blank = not stripped
        i += 1
    return "\n".join(out)


EMPHASIS = re.compile(r"(?<![\w*\\])\*(?=[^\s*])[^*\n]*?(?<=\S)\*(?![\w*])")
SYMBOL_STAR = re.compile(r"(?<![\w*])([^\W\d_])\*(?=[\s,.;:!?()\[\]/=|]|$)")


def escape_symbol_stars(text):
    """Escape the star of a one-letter symbol (D*, G*, x*): it marks an optimum, not emphasis.

    GitHub reads ``**Theorem 1: at D*, the value...**`` as bold around a literal D*;
    Python-Markdown would take that star for the end of an emphasis.
    """
    def escape(segment):
        # *today's* and *of class y* are emphasis: their closing star stays as it is.
        pieces, last = [], 0
        for span in EMPHASIS.finditer(segment):
            pieces.append(SYMBOL_STAR.sub(r"\1\\*", segment[last:span.start()]))
            pieces.append(span.group(0))
            last = span.end()
        pieces.append(SYMBOL_STAR.sub(r"\1\\*", segment[last:]))
        return "".join(pieces)

    return _map_outside_code(text, escape)


def separate_lists(text):
    """A blank line before a list item that GitHub would start but Python-Markdown would not.

    Python-Markdown reads blank-line-separated blocks: a list item right after a plain
    paragraph, or after a list item's second paragraph, becomes text of that paragraph
    ("... carry. * Style mixing"), where GitHub starts a list or the next item.
    """
    out, in_fence, block_start = [], False, None
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
        if not in_fence and not FENCE.match(line):
            item = LIST_ITEM.match(line)
            starts_list = item and (not item.group(2)[0].isdigit() or item.group(2)[:-1] == "1"
                                    or (block_start is not None and LIST_ITEM.match(block_start)))
            if starts_list and out and out[-1].strip() and block_start is not None \
                    and not LIST_ITEM.match(block_start):
                out.append("")
                block_start = line
        if not line.strip():
            block_start = None
        elif block_start is None:
            block_start = line
        out.append(line)
    return "\n".join(out)


def _map_outside_code(text, replace_line):
    """Apply ``replace_line`` to each line outside fenced blocks, sparing code spans."""
    out, in_fence = [], False
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        pieces, last = [], 0
        for span in CODE_SPAN.finditer(line):
            pieces.append(replace_line(line[last:span.start()]))
            pieces.append(span.group(0))
            last = span.end()
        pieces.append(replace_line(line[last:]))
        out.append("".join(pieces))
    return "\n".join(out)


def is_external(target):
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith(("#", "/"))


def rewrite_links(text, resolve):
    """Rewrite every relative link target of a Markdown text through ``resolve(target)``.

    Inline links and images, reference definitions and the src/href of inline HTML;
    fenced code and code spans are left alone. ``resolve`` returns the new target.
    """
    def inline(match):
        target = match.group(2)
        bare = target[1:-1] if target.startswith("<") else target
        if is_external(bare):
            return match.group(0)
        return f"{match.group(1)}({resolve(bare)}{match.group(3) or ''})"

    def html(match):
        if is_external(match.group(3)):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{resolve(match.group(3))}{match.group(2)}"

    def line_links(segment):
        reference = REFERENCE_LINK.match(segment)
        if reference and not is_external(reference.group(2)):
            segment = reference.group(1) + resolve(reference.group(2)) + reference.group(3)
        return HTML_SOURCE.sub(html, INLINE_LINK.sub(inline, segment))

    return _map_outside_code(text, line_links)


# -- the site's layout -----------------------------------------------------------------

class Site:
    """Where each repository file lands in the staged ``docs/`` folder, and the copying."""

    def __init__(self, root, docs):
        self.root = pathlib.Path(root).resolve()
        self.docs = pathlib.Path(docs)
        self.pages = {}              # repository path (posix) -> docs path (posix)
        self.copies = {}             # repository path -> docs path, copied as they are
        self.chapters = []           # (folder name, title, lesson docs path or None, notebook or None)
        self.modules = {}            # dotted name -> docs path
        self.generated = {}          # repository-relative name -> docs path of files made here
        self.problems = []

    # Where a repository path goes on the site, or None.
    def target_of(self, repo_path):
        if repo_path in self.pages:
            return self.pages[repo_path]
        if repo_path in self.copies:
            return self.copies[repo_path]
        module = self.module_of(repo_path)
        if module:
            return self.modules[module]
        return None

    def module_of(self, repo_path):
        path = repo_path.rstrip("/")
        if not path.startswith("minigan"):
            return None
        if path.endswith(".py"):
            path = path[:-3]
            if path.endswith("/__init__"):
                path = path[: -len("/__init__")]
        dotted = path.replace("/", ".")
        return dotted if dotted in self.modules else None

    def resolver(self, source_repo_path, page_docs_path):
        """``resolve(target)`` for the links of ``source_repo_path`` staged at ``page_docs_path``."""
        source_dir = posixpath.dirname(source_repo_path)
        page_dir = posixpath.dirname(page_docs_path)

        def resolve(target):
            path, hash_, fragment = target.partition("#")
            if not path:
                return target
            repo_path = posixpath.normpath(posixpath.join(source_dir, path))
            where = f"{source_repo_path}: link to {target!r}"
            if repo_path.startswith("../") or repo_path == "..":
                self.problems.append(f"{where} leaves the repository")
                return target
            if repo_path == "runs" or repo_path.startswith("runs/"):
                self.problems.append(f"{where} points into runs/, which git ignores (a fresh "
                                     f"clone does not have it): commit the file beside the "
                                     f"chapter and link that")
                return target
            if repo_path in self.generated:
                return posixpath.relpath(self.generated[repo_path], page_dir) + hash_ + fragment
            full = self.root / repo_path
            if not full.exists():
                self.problems.append(f"{where}: {repo_path} does not exist")
                return target
            if full.is_dir():
                readme = posixpath.join(repo_path, "README.md") if repo_path != "." else "README.md"
                if readme in self.pages:
                    repo_path = readme
                elif not self.module_of(repo_path):
                    self.problems.append(f"{where}: the folder {repo_path} has no page on the site")
                    return target
            docs_path = self.target_of(repo_path)
            if docs_path is None:
                docs_path = self.copy_source(repo_path)
            return posixpath.relpath(docs_path, page_dir) + hash_ + fragment

        return resolve

    def copy_source(self, repo_path):
        """Copy a linked file that has no place of its own to ``source/``, for reading."""
        docs_path = f"source/{repo_path}"
        self.copies[repo_path] = docs_path
        self._copy(repo_path, docs_path)
        return docs_path

    def _copy(self, repo_path, docs_path):
        destination = self.docs / docs_path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.root / repo_path, destination)

    def write_page(self, docs_path, text):
        destination = self.docs / docs_path
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")


def first_heading(text, fallback):
    for line in text.split("\n"):
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def chapter_script(folder):
    """The chapter's one ``# %%`` script (not ``exercises.py``), or None."""
    scripts = [path for path in sorted(folder.glob("*.py"))
               if path.name != "exercises.py"
               and re.search(r"^# %%", path.read_text(encoding="utf-8"), re.MULTILINE)]
    return scripts[0] if scripts else None


def notebook_page(notebook, title, script_name, notebook_name):
    """A Markdown page of a notebook's cells (no outputs: nothing is run)."""
    cells = list(notebook.cells)
    lines = []
    if cells and cells[0].cell_type == "markdown" and cells[0].source.lstrip().startswith("# "):
        first, _, rest = cells[0].source.lstrip().partition("\n")
        title = first[2:].strip()
        cells[0] = type(cells[0])(cells[0])
        cells[0].source = rest
    lines.append(f"# {title}: the notebook\n")
    lines.append(f"This chapter's script, `{script_name}`, cell by cell. Download it as a "
                 f"notebook, [{notebook_name}]({notebook_name}), or as the script, "
                 f"[{script_name}]({script_name}) (its `# %%` cells open as a notebook in "
                 f"VS Code, or in Jupyter with jupytext). Nothing here has been run: the "
                 f"figures are in the lesson.\n")
    for cell in cells:
        source = cell.source.strip("\n")
        if not source.strip():
            continue
        if cell.cell_type == "markdown":
            lines.append(source + "\n")
        else:
            lines.append("```python\n" + source + "\n```\n")
    return "\n".join(lines)


def stage(out, root=REPO):
    """Write the documentation project into ``out``; return the ``Site`` that says what went where.

    Raises StageError naming every broken link, and ImportError where a tool of the
    ``book`` extra is missing.
    """
    import jupytext
    import mathjax

    root = pathlib.Path(root).resolve()
    out = pathlib.Path(out)
    # The staging replaces OUT/docs and OUT/site: only in a folder it made, or an empty one.
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise StageError(f"{out} is not empty and was not made by this command: "
                         f"choose a new or empty folder for --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("staged by python -m minigan book\n", encoding="utf-8")
    docs = out / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    docs.mkdir(parents=True)
    site = Site(root, docs)

    # First decide where everything goes, so links can be resolved in any order.
    site.pages["README.md"] = "index.md"
    if (root / "chapters/README.md").exists():
        site.pages["chapters/README.md"] = "chapters/index.md"
    for extra in EXTRA_PAGES:
        if (root / extra).exists():
            site.pages[extra] = extra[: -len("README.md")] + "index.md"
    chapter_folders = sorted(path for path in (root / "chapters").glob(CHAPTER_GLOB) if path.is_dir())
    notebooks = {}
    summaries = {}                  # module -> the first line of its docstring
    for folder in chapter_folders:
        base = f"chapters/{folder.name}"
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_dir() or SKIPPED_NAMES & set(path.relative_to(folder).parts) \
                    or path.suffix == ".pyc":
                continue
            if path.name == "README.md" and path.parent == folder:
                site.pages[relative] = f"{base}/index.md"
            else:
                site.copies[relative] = relative
        script = chapter_script(folder)
        if script is not None:
            notebooks[folder.name] = script
            # A link to the script goes to the page showing it as a notebook.
            site.pages[f"{base}/{script.name}"] = f"{base}/notebook.md"
            notebook_name = script.with_suffix(".ipynb").name
            site.generated[f"{base}/{notebook_name}"] = f"{base}/{notebook_name}"
    for path in sorted((root / "minigan").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "__pycache__" in parts or parts[-1] == "__main__" or \
                any(part.startswith("_") and part != "__init__" for part in parts):
            continue
        is_package = parts[-1] == "__init__"
        dotted = ".".join(parts[:-1] if is_package else parts)
        # A package's page is its folder's index, which the navigation shows as the section.
        where = "/".join(["api", *dotted.split(".")[1:]])
        site.modules[dotted] = f"{where}/index.md" if is_package else f"{where}.md"
        summaries[dotted] = (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
                             or "").strip().split("\n")[0]

    # The pages.
    for repo_path, docs_path in list(site.pages.items()):
        if not repo_path.endswith("README.md"):
            continue
        text = (root / repo_path).read_text(encoding="utf-8")
        text = rewrite_links(escape_symbol_stars(separate_lists(mark_equations(text))),
                             site.resolver(repo_path, docs_path))
        site.write_page(docs_path, text)
    for repo_path, docs_path in list(site.copies.items()):
        site._copy(repo_path, docs_path)
    for folder in chapter_folders:
        base = f"chapters/{folder.name}"
        lesson = f"{base}/index.md" if f"{base}/README.md" in site.pages else None
        script = notebooks.get(folder.name)
        notebook = jupytext.read(script) if script is not None else None
        if lesson:
            title = first_heading((folder / "README.md").read_text(encoding="utf-8"), folder.name)
        else:
            first = notebook.cells[0].source if notebook is not None and notebook.cells else ""
            title = first_heading(first, folder.name)
        notebook_docs = None
        if script is not None:
            notebook_name = script.with_suffix(".ipynb").name
            jupytext.write(notebook, docs / base / notebook_name)
            page = notebook_page(notebook, title, script.name, notebook_name)
            source = f"{base}/{script.name}"
            notebook_docs = f"{base}/notebook.md"
            site.write_page(notebook_docs, rewrite_links(
                escape_symbol_stars(separate_lists(mark_equations(page))),
                site.resolver(source, notebook_docs)))
        if lesson or notebook_docs:
            site.chapters.append((folder.name, title, lesson, notebook_docs))

    # The API reference: one page per module, packages listing their modules.
    for dotted, docs_path in site.modules.items():
        children = sorted(name for name in site.modules
                          if name.rpartition(".")[0] == dotted)
        lines = [f"# `{dotted}`\n", f"::: {dotted}", "    options:",
                 "      show_root_heading: false", "      show_root_toc_entry: false"]
        if children:
            # A package's page shows its own docstring; its members live on their modules' pages.
            lines += ["      members: false", "", "## Modules\n"]
            lines += [f"* [`{name}`]({posixpath.relpath(site.modules[name], posixpath.dirname(docs_path))})"
                      + (f": {escape_symbol_stars(summaries[name])}" if summaries[name] else "")
                      for name in children]
        site.write_page(docs_path, "\n".join(lines) + "\n")

    if site.problems:
        raise StageError(f"{len(site.problems)} broken link(s):\n  " + "\n  ".join(site.problems))

    # MathJax, its configuration and the stylesheet, served from the site itself.
    mathjax_root = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax"
    for part in MATHJAX_FILES:
        source = mathjax_root / part
        destination = docs / "assets" / "mathjax" / pathlib.Path(part).relative_to("es5")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copyfile(source, destination)
    site.write_page("assets/mathjax-config.js", MATHJAX_CONFIG)
    site.write_page("assets/book.css", EXTRA_CSS)
    (out / "mkdocs.yml").write_text(json.dumps(config(site, root), indent=1), encoding="utf-8")
    return site


def api_navigation(modules, package):
    """The API pages as a tree: a package's page first, then its modules and subpackages."""
    entries = [modules[package]] if package in modules else []
    for dotted in sorted(name for name in modules if name.rpartition(".")[0] == package):
        if any(name.startswith(dotted + ".") for name in modules):
            entries.append({dotted: api_navigation(modules, dotted)})
        else:
            entries.append({dotted: modules[dotted]})
    return entries


def navigation(site):
    course = ["chapters/index.md"] if "chapters/README.md" in site.pages else []
    for name, title, lesson, notebook in site.chapters:
        label = re.sub(r"^Chapter \d+:\s*", "", title)
        entries = ([lesson] if lesson else []) + ([{"Notebook": notebook}] if notebook else [])
        course.append({f"{name[:2]} {label}": entries})
    api = api_navigation(site.modules, "minigan")
    nav = [{"Home": "index.md"}, {"The course": course}]
    for extra in EXTRA_PAGES:
        if extra in site.pages:
            nav.append({extra.split("/")[0].capitalize(): site.pages[extra]})
    nav.append({"API reference": api})
    return nav


def config(site, root):
    """mkdocs.yml (JSON is YAML), strict: every warning fails the build."""
    return {
        "site_name": "minigan",
        "site_description": "Generative adversarial networks from scratch on NumPy: the course",
        "docs_dir": "docs",
        "site_dir": "site",
        "strict": True,
        # page.html rather than page/: the site then also opens from the disk (file://).
        "use_directory_urls": False,
        "validation": {"nav": {"omitted_files": "warn", "not_found": "warn"},
                       "links": {"not_found": "warn", "anchors": "warn",
                                 "absolute_links": "warn", "unrecognized_links": "warn"}},
        "nav": navigation(site),
        "theme": {
            "name": "material",
            "font": False,           # the theme's Google fonts would need the network
            "features": ["navigation.indexes", "navigation.top", "search.highlight",
                         "content.code.copy", "toc.follow"],
            "palette": [
                {"scheme": "default", "primary": "indigo", "accent": "indigo",
                 "toggle": {"icon": "material/weather-night", "name": "Dark mode"}},
                {"scheme": "slate", "primary": "indigo", "accent": "indigo",
                 "toggle": {"icon": "material/weather-sunny", "name": "Light mode"}},
            ],
        },
        "markdown_extensions": [
            "tables", "admonition", "attr_list", "md_in_html", "def_list",
            {"toc": {"permalink": True}},
            {"pymdownx.betterem": {"smart_enable": "all"}},
            {"pymdownx.arithmatex": {"generic": True}},
            {"pymdownx.highlight": {"use_pygments": True}},
            "pymdownx.superfences",
            {"mdx_truly_sane_lists": {"nested_indent": 2, "truly_sane": True}},
        ],
        "extra_css": ["assets/book.css"],
        "extra_javascript": ["assets/mathjax-config.js"],
        "plugins": [
            "search",
            {"mkdocstrings": {"handlers": {"python": {
                "paths": [str(root)],
                "options": {"docstring_style": "google",
                            "extensions": ["minigan.book.doctests:DoctestFences"],
                            # The docstrings name parameters in prose ("G, D, opt_g, opt_d"),
                            # and their types are in the signatures, not repeated.
                            "docstring_options": {"warn_unknown_params": False,
                                                  "warn_missing_types": False},
                            "show_source": True,
                            "members_order": "source", "show_signature_annotations": True,
                            "separate_signature": True, "heading_level": 2,
                            "show_symbol_type_heading": True, "show_if_no_docstring": False,
                            "filters": ["!^_[^_]"]},
            }}}},
        ],
    }


# -- building ------------------------------------------------------------------------

def missing_tools():
    import importlib.util
    return [name for name in TOOLS if importlib.util.find_spec(name.split(".")[0]) is None
            or (name.count(".") and importlib.util.find_spec(name) is None)]


def build(out):
    """Run ``mkdocs build --strict`` in ``out``; return (ok, output, wall s, CPU s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
                             "-f", str(pathlib.Path(out) / "mkdocs.yml")],
                            capture_output=True, text=True,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.returncode == 0, result.stdout + result.stderr, wall, cpu


def main(out=DEFAULT_OUT, check=False, prog="python -m minigan book", root=REPO):
    """Stage, build strictly and, with ``check``, check in a browser; the exit status."""
    missing = missing_tools()
    if missing:
        print(f"{prog}: the book's tools are not installed ({', '.join(missing)}): "
              f"pip install -e \".[book]\"", file=sys.stderr)
        return NO_TOOLS
    browser = None
    if check:
        from minigan.book import check as book_check
        browser = book_check.find_chromium()
        if browser is None:
            print(f"{prog}: --check needs Chromium and none was found "
                  f"(apt-get install chromium, or set MINIGAN_CHROMIUM)", file=sys.stderr)
            return NO_BROWSER
    out = pathlib.Path(out)
    try:
        stage(out, root=root)
    except StageError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{prog}: cannot stage the book in {out}: {error}", file=sys.stderr)
        return 1
    ok, output, wall, cpu = build(out)
    if not ok:
        problems = [line for line in output.splitlines()
                    if line.startswith(("WARNING", "ERROR")) or "Aborted" in line]
        print(f"{prog}: mkdocs build --strict failed:\n  " + "\n  ".join(problems or output.splitlines()[-20:]),
              file=sys.stderr)
        return 1
    pages = len(list((out / "site").rglob("*.html")))
    print(f"built {pages} pages in {out / 'site'} ({wall:.1f} s wall, {cpu:.1f} s CPU); "
          f"open it with: python -m http.server -d {out / 'site'} 8000, then http://localhost:8000/")
    if not check:
        return 0
    report = book_check.check_site(out / "site", browser, screenshots=out / "screenshots")
    print(report.summary())
    return 0 if report.ok else 1
