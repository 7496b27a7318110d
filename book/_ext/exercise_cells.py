"""Show exercises on the website as a student would see them.

nbgrader keeps an exercise's reference solution and its private checks in
the chapter notebook. On the website:

* a solution cell (nbgrader ``solution: true``) is folded behind a toggle
  (the ``hide-input`` tag), whatever tags its author gave it, and its
  ``### BEGIN/END SOLUTION`` marker lines are dropped;
* the ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region of a check
  cell is removed, from the page and from the notebook offered for download.

On the page only (the download keeps them):

* a solution's toggle says "Show solution" / "Hide solution"; other folded
  cells keep myst-nb's "Show code cell source";
* nbval's marker comments (``# NBVAL_IGNORE_OUTPUT`` …) are test machinery,
  not part of the lesson: their lines are left out.

The notebooks themselves are untouched; this runs on the text Sphinx reads.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
NBVAL = re.compile(r"^[ \t]*# ?NBVAL_[A-Z_]+\b.*(\n|$)", re.M)


def reader_view(notebook_json: str, page: bool = False) -> str:
    """Return the notebook JSON with hidden tests removed and solutions folded.

    ``page=True``: also label solution toggles and drop nbval marker lines
    (for the rendered page; the download keeps both).
    """
    nb = json.loads(notebook_json)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        src = HIDDEN.sub("", src)
        meta = cell.setdefault("metadata", {})
        if meta.get("nbgrader", {}).get("solution"):
            src = MARKER.sub("", src)
            tags = meta.setdefault("tags", [])
            if "hide-input" not in tags:
                tags.append("hide-input")
            if page:
                prompts = meta.setdefault("mystnb", {})
                prompts.setdefault("code_prompt_show", "Show solution")
                prompts.setdefault("code_prompt_hide", "Hide solution")
        if page:
            src = NBVAL.sub("", src)
        cell["source"] = src
    return json.dumps(nb, indent=1, ensure_ascii=False)


def _on_source_read(app, docname, source):
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = reader_view(source[0], page=True)


def _on_build_finished(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    # The "download .ipynb" button serves Sphinx's copy of the source file.
    for path in Path(app.outdir, "_sources").rglob("*.ipynb"):
        path.write_text(reader_view(path.read_text(encoding="utf-8")), encoding="utf-8")


def setup(app):
    app.connect("source-read", _on_source_read)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
