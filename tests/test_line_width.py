"""Every code line and every printed line fits the website's code column.

At 1280 px the code column shows 77 characters (measured in Chromium:
tests/test_site_browser.py::test_code_column_shows_the_configured_line_length);
a longer line hides behind a sideways scroll. The limit is ruff's
``line-length`` in pyproject.toml, so ``ruff format`` formats code to it;
comments, strings and printed output ruff leaves alone must be wrapped by
hand. Lines are measured as the page shows them: nbval markers are not shown
and an equation label in a comment shows as its number (book/_ext/code_view.py).
"""
from __future__ import annotations

import re
import tomllib

import nbformat
import pytest

from conftest import ROOT, toc_files

LINE_LENGTH = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]
CHAPTERS = [f for f in toc_files() if f.startswith("notebooks/")]
EQ_LABEL = re.compile(r"\(?\beq-[a-z0-9]+(?:-[a-z0-9]+)*\)?")
NBVAL = re.compile(r"^\s*# ?NBVAL_[A-Z_]+")


def _as_shown(source: str) -> str:
    """Code lines as the page shows them; "(99.9)" stands for an equation number."""
    lines = []
    for line in source.splitlines():
        if NBVAL.match(line):
            continue
        code, hash_, comment = line.partition("#")
        lines.append(code + hash_ + EQ_LABEL.sub("(99.9)", comment))
    return "\n".join(lines)


def _printed_text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type in ("execute_result", "display_data"):
        data = output.get("data", {})
        if "image/png" in data:
            return ""   # a figure's text/plain is "<Figure size ...>", not shown
        return data.get("text/plain", "")
    if output.output_type == "error":
        return "\n".join(output.get("traceback", []))
    return ""


def _too_long(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) > LINE_LENGTH]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_code_lines_fit_the_code_column(chapter):
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    long = [(i, line) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for line in _too_long(_as_shown(cell.source))]
    assert not long, (f"{len(long)} code lines over {LINE_LENGTH} characters, e.g. cell "
                      f"{long[0][0]}: {long[0][1]!r}")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_printed_lines_fit_the_code_column(chapter):
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    long = [(i, line) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for output in cell.get("outputs", []) for line in _too_long(_printed_text(output))]
    assert not long, (f"{len(long)} printed lines over {LINE_LENGTH} characters, e.g. cell "
                      f"{long[0][0]}: {long[0][1]!r}")
