"""Facts about the book that pages show, read from their single source.

* MyST substitutions ``{{ book_version }}`` (``[project] version`` in
  pyproject.toml) and ``{{ seqlib_version }}`` (``seqlib.__version__``), for
  the landing page.
* A ``runtimes`` directive: the table of each chapter's measured execution
  time, from ``book/runtimes.json``, which the test suite writes after the
  plain nbval pass (tests/nbval_runtimes.py). Nothing in the table is typed
  by hand.
"""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
RUNTIMES = "book/runtimes.json"


def book_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def seqlib_version() -> str:
    text = (ROOT / "seqlib" / "__init__.py").read_text()
    return re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.M).group(1)


def _substitutions(app, config):
    config.myst_substitutions = {
        **(config.myst_substitutions or {}),
        "book_version": book_version(),
        "seqlib_version": seqlib_version(),
    }


def _doc_link(docname: str) -> nodes.Node:
    """A reference to a page, shown with its title (resolved when the page is written)."""
    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + docname,
                                refexplicit=False, refwarn=True)
    ref += nodes.inline("", docname, classes=["xref", "std", "std-doc"])
    return ref


def _table(header: list[str], rows: list[list], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["runtimes"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head, body = nodes.thead(), nodes.tbody()
    for cells, parent in [(header, head)] + [(r, body) for r in rows]:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            para = nodes.paragraph(translatable=False)
            para += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
            entry += para
            row += entry
        parent += row
    group += head
    group += body
    return table


# The table's words in each edition. They are generated, not written on the
# page, so they are not messages of the Chinese catalogues: a message holding
# the measured versions would go stale whenever the tests run elsewhere.
WORDS = {
    "en": {"head": ["Chapter", "Run time", "Code cells", "Measured on"],
           "missing": "not measured yet", "total": "All chapters",
           "env": "Measured with Python {0}, PyTorch {1}, NumPy {2} and seqlib {3}, "
                  "on {4} ({5} cores)."},
    "zh_CN": {"head": ["章", "运行时间", "代码单元格", "测量日期"],
              "missing": "尚未测量", "total": "全部章节",
              "env": "测量环境：Python {0}、PyTorch {1}、NumPy {2} 和 seqlib {3}，"
                     "{4}（{5} 核）。"},
}


def _generated(text: str) -> nodes.paragraph:
    """A paragraph the translation leaves alone (see WORDS)."""
    para = nodes.paragraph(translatable=False)
    para += nodes.Text(text)
    return para


class RuntimesDirective(SphinxDirective):
    """Render book/runtimes.json: one row per chapter in the table of contents."""

    def run(self):
        words = WORDS.get(self.config.language, WORDS["en"])
        path = Path(self.env.srcdir) / RUNTIMES
        self.env.note_dependency(str(path))
        if not path.is_file():
            logger.warning("%s is missing: run the test suite (make test) to measure", RUNTIMES,
                           location=self.get_location())
            return []
        data = json.loads(path.read_text())["notebooks"]
        rows, envs, total = [], set(), 0.0
        for docname in sorted(d for d in self.env.found_docs if d.startswith("notebooks/")):
            entry = data.get(docname + ".ipynb")
            title = _doc_link(docname)
            if entry is None:
                rows.append([title, words["missing"], "", ""])
                continue
            total += entry["seconds"]
            envs.add((entry["python"], entry["torch"], entry["numpy"], entry["seqlib"],
                      entry["cpu"], entry["cores"]))
            rows.append([title, f"{entry['seconds']:.1f} s", str(entry["cells"]), entry["date"]])
        rows.append([words["total"], f"{total:.1f} s", "", ""])
        result = [_table(words["head"], rows, [50, 15, 15, 20])]
        for env in sorted(envs):
            result.append(_generated(words["env"].format(*env)))
        return result


def setup(app):
    app.connect("config-inited", _substitutions)
    app.add_directive("runtimes", RuntimesDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
