"""A griffe extension for the API reference: docstrings read as the lessons are.

minigan's docstrings give examples in doctest form (``>>> expression`` then the
output) inside their prose, as Python's own documentation does. Markdown would read
``>>>`` as three nested quotes and the output as a paragraph (and a list output such as
``['0.weight', '0.bias']`` as a link), so each run of doctest lines, up to the next blank
line, is fenced as a ``pycon`` code block before the docstring is parsed. Then, as in
the lessons, indented blocks become equations (``minigan.book.mark_equations``) and the
star of D* stays a star (``minigan.book.escape_symbol_stars``).
"""
import re

import griffe

PROMPT = re.compile(r"^(\s*)>>>( |$)")


def fence_doctests(text):
    """``text`` with every doctest block (``>>>`` to the next blank line) in a ``pycon`` fence."""
    lines = text.split("\n")
    out, i, in_fence = [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        prompt = None if in_fence else PROMPT.match(line)
        if prompt is None:
            out.append(line)
            i += 1
            continue
        indent = prompt.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctests and equations of every docstring, escape the stars of D*, G*."""

    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            # The same treatment as the lessons: equations fenced, D* kept literal.
            from minigan.book import escape_symbol_stars, mark_equations
            obj.docstring.value = escape_symbol_stars(mark_equations(
                fence_doctests(obj.docstring.value)))
