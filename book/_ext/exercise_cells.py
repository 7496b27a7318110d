"""Show exercises on the website as a student would see them.

nbgrader keeps an exercise's reference solution and its private checks in
the chapter notebook. On the website:

* a solution cell (nbgrader ``solution: true``) is folded behind a toggle
  (the ``hide-input`` tag), whatever tags its author gave it, and its
  ``### BEGIN/END SOLUTION`` marker lines are dropped;
* the ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region of a check
  cell is removed, from the page and from the notebook offered for download.

The notebooks themselves are untouched; this runs on the text Sphinx reads.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def reader_view(notebook_json: str) -> str:
    """Return the notebook JSON with hidden tests removed and solutions folded."""
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
        cell["source"] = src
    return json.dumps(nb, indent=1, ensure_ascii=False)


def _on_source_read(app, docname, source):
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = reader_view(source[0])


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
