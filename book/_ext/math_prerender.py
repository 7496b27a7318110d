"""Typeset the book's math once, at build time, instead of in every reader's browser.

Sphinx's default asks each page to load MathJax (1.2 MB of script) and typeset
its TeX on the reader's machine. This math renderer runs the same MathJax 3
(its es5 components from the django-static-mathjax wheel, which requirements.txt
pins) in Node.js while the site is written, and puts the finished CommonHTML
into the page, with a hidden MathML copy for screen readers. Pages then need
only a small stylesheet (``_static/mathjax-chtml.css``, the rules for every
character the book uses) and MathJax's woff fonts.

A formula TeX cannot parse, or one using an unknown macro, is a build warning
(an error under ``-W``) naming the page.

Needs ``node`` on PATH (the Makefile checks). Enabled in ``_config.yml`` with
``html_math_renderer: prerendered``.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

from docutils import nodes
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
CSS_NAME = "mathjax-chtml.css"
FONT_DIR = "mathjax"          # under _static/, next to the stylesheet
CACHE_NAME = "math-prerender-cache.json"


def _es5_dir() -> Path:
    import mathjax  # django-static-mathjax: MathJax 3.2.2's files inside a wheel
    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


class Typesetter:
    """One Node.js process for the whole build; requests go one line at a time."""

    def __init__(self):
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("math_prerender needs Node.js (`node` on PATH) to typeset the math")
        self._proc = subprocess.Popen(
            [node, str(HERE / "mathjax_prerender.js"), str(_es5_dir()), FONT_DIR],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self._lock = threading.Lock()
        self.done: set[tuple[str, bool]] = set()

    def _ask(self, request: dict) -> dict:
        with self._lock:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the MathJax typesetting process stopped")
        return json.loads(line)

    def typeset(self, tex: str, display: bool) -> tuple[str, str]:
        answer = self._ask({"tex": tex, "display": display})
        self.done.add((tex, display))
        return answer["html"], answer["error"]

    def stylesheet(self) -> str:
        return self._ask({"css": True})["css"]

    def close(self):
        self._proc.stdin.close()
        self._proc.wait(timeout=30)


def _typesetter(app) -> Typesetter:
    if getattr(app, "_math_typesetter", None) is None:
        app._math_typesetter = Typesetter()
        app._math_seen = {}
    return app._math_typesetter


def _render(self, node, tex: str, display: bool) -> str:
    app = self.builder.app
    html, error = _typesetter(app).typeset(tex, display)
    app._math_seen.setdefault(self.builder.current_docname, []).append([tex, display])
    if error:
        logger.warning("math could not be typeset (%s): %s", error, tex.strip()[:80],
                       location=node)
    return html


def visit_math(self, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_render(self, node, node.astext(), False))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_displaymath(self, node: nodes.math_block) -> None:
    """As sphinx.ext.mathjax's html_visit_displaymath, with the TeX typeset."""
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["nowrap"]:
        self.body.append(_render(self, node, node.astext(), True))
        self.body.append("</div>")
        raise nodes.SkipNode
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append('<span class="eqno">(%s)' % number)
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    parts = [p for p in node.astext().split("\n\n") if p.strip()]
    tex = []
    if len(parts) > 1:
        tex.append(r"\begin{align}\begin{aligned}")
    for i, part in enumerate(parts):
        tex.append(r"\begin{split}" + part + r"\end{split}" if r"\\" in part else part)
        if i < len(parts) - 1:
            tex.append(r"\\")
    if len(parts) > 1:
        tex.append(r"\end{aligned}\end{align}")
    self.body.append(_render(self, node, "".join(tex), True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def _add_stylesheet(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or app.builder.math_renderer_name != "prerendered":
        return
    if app.env.get_domain("math").has_equations(pagename):
        app.add_css_file(CSS_NAME)


def _finish(app, exception):
    if exception is not None or app.builder.format != "html" \
            or app.builder.math_renderer_name != "prerendered":
        return
    cache_path = Path(app.doctreedir) / CACHE_NAME
    cached = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    typesetter = _typesetter(app)
    seen = dict(cached)
    seen.update(app._math_seen)           # pages written in this run replace their entries
    seen = {doc: items for doc, items in seen.items() if doc in app.env.all_docs}
    # Pages not rewritten in an incremental build still need their characters
    # in the stylesheet: typeset their formulas again (output discarded).
    for items in seen.values():
        for tex, display in items:
            if (tex, bool(display)) not in typesetter.done:
                typesetter.typeset(tex, bool(display))
    static = Path(app.outdir) / "_static"
    (static / CSS_NAME).write_text(typesetter.stylesheet(), encoding="utf-8")
    fonts = static / FONT_DIR
    fonts.mkdir(parents=True, exist_ok=True)
    for woff in (_es5_dir() / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"):
        shutil.copyfile(woff, fonts / woff.name)
    cache_path.write_text(json.dumps(seen), encoding="utf-8")
    typesetter.close()
    app._math_typesetter = None


def setup(app):
    app.add_html_math_renderer("prerendered", (visit_math, None), (visit_displaymath, None))
    app.connect("html-page-context", _add_stylesheet)
    app.connect("build-finished", _finish)
    return {"parallel_read_safe": True, "parallel_write_safe": False}
