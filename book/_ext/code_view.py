"""How code cells and figures read on the page (the notebooks stay as they are).

* Code comments cite equations by label, e.g. ``# implements (eq-lstm-forget)``,
  so the reference survives renumbering; on the page the label becomes the
  number the reader sees next to the equation, ``# implements (5.1)``. A label
  no equation has is a build warning (an error under ``-W``).
* Each highlighted line is wrapped in ``<span class="cl">`` carrying its
  indentation (``--i``), so the print stylesheet can wrap a long line with a
  hanging indent instead of losing the Python indentation.
* A figure's image gets its caption as alt text, formulas in plain words
  (the default is the file name, a hash that a screen reader would read
  out), and loads lazily.
"""
from __future__ import annotations

import re

from docutils import nodes
from docutils.nodes import make_id
from pygments.formatters import HtmlFormatter
from sphinx.util import logging

logger = logging.getLogger(__name__)

EQ_LABEL = re.compile(r"\((eq-[a-z0-9]+(?:-[a-z0-9]+)*)\)|(?<![\w-])(eq-[a-z0-9]+(?:-[a-z0-9]+)*)")
TAG = re.compile(r"<[^>]+>")


class LineSpanFormatter(HtmlFormatter):
    """Pygments' HTML formatter with every source line in its own span, and
    without the spans of tokens drawn exactly like plain text (names,
    punctuation: half of all spans, about 100 kB on a long chapter)."""

    plain: re.Pattern | None = None

    def wrap(self, source):
        return super().wrap(self._line_spans(source))

    @classmethod
    def _line_spans(cls, source):
        for kind, line in source:
            if kind != 1:
                yield kind, line
                continue
            if cls.plain is not None:
                line = cls.plain.sub(r"\1", line)
            text = TAG.sub("", line)
            indent = len(text) - len(text.lstrip(" "))
            style = f' style="--i:{indent}"' if indent and text.strip() else ""
            yield 1, f'<span class="cl"{style}>{line}</span>'


def _equation_number(env, label: str) -> str | None:
    found = env.get_domain("math").equations.get(label)
    if not found:
        return None
    docname, number = found
    numbers = env.toc_fignumbers.get(docname, {}).get("displaymath", {}).get(
        make_id("equation-" + label))
    return ".".join(map(str, numbers)) if numbers else str(number)


def _cite_equation_numbers(app, doctree, docname):
    env = app.env

    def replace(match, node):
        label = match.group(1) or match.group(2)
        number = _equation_number(env, label)
        if number is None:
            logger.warning("code comment cites %s, which no equation has", label, location=node)
            return match.group(0)
        return f"({number})"

    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if "eq-" not in text:
            continue
        lines = []
        for line in text.split("\n"):
            code, hash_, comment = line.partition("#")
            if hash_:
                comment = EQ_LABEL.sub(lambda m: replace(m, block), comment)
            lines.append(code + hash_ + comment)
        new = "\n".join(lines)
        if new != text:
            block.children = [nodes.Text(new)]
            block.rawsource = new


GREEK = {name: chr(code) for name, code in [
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5),
    ("eta", 0x3B7), ("theta", 0x3B8), ("lambda", 0x3BB), ("mu", 0x3BC), ("pi", 0x3C0),
    ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("phi", 0x3C6), ("omega", 0x3C9),
    ("Delta", 0x394), ("Sigma", 0x3A3), ("odot", 0x2299), ("cdot", 0x22C5), ("times", 0xD7),
    ("approx", 0x2248), ("le", 0x2264), ("ge", 0x2265), ("leq", 0x2264), ("geq", 0x2265),
    ("ne", 0x2260), ("to", 0x2192), ("infty", 0x221E), ("partial", 0x2202), ("sum", 0x2211),
    ("prod", 0x220F), ("top", 0x22A4), ("ell", 0x2113), ("sqrt", 0x221A), ("lVert", 0x2016),
    ("rVert", 0x2016), ("lvert", 0x7C), ("rvert", 0x7C), ("mid", 0x7C), ("in", 0x2208),
    ("ldots", 0x2026), ("dots", 0x2026), ("cdots", 0x22EF), ("nabla", 0x2207), ("xi", 0x3BE)]}
GREEK.update({"left": "", "right": "", "big": "", "Big": "", "quad": " ", "qquad": " "})


def tex_to_text(tex: str) -> str:
    """A formula as plain words for alt text: \mathbf{h}_{t-1} -> h_(t-1), \sigma -> σ."""
    text = re.sub(r"\\(?:mathbf|boldsymbol|mathrm|mathit|mathcal|text|operatorname|hat|tilde|bar)\s*",
                  "", tex)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: GREEK.get(m.group(1), m.group(1)), text)
    text = re.sub(r"([_^])\{([^{}]{2,})\}", r"\1(\2)", text)
    text = re.sub(r"\\[,;:! ]", " ", text).replace("{", "").replace("}", "").replace("\\", "")
    return " ".join(text.split())


def _figure_alt_text(app, doctree, docname):
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        for image in figure.findall(nodes.image):
            if captions and not image.get("alt"):
                parts = [tex_to_text(n.astext()) if isinstance(n, nodes.math) else n.astext()
                         for n in captions[0].findall(lambda n: isinstance(n, (nodes.math, nodes.Text))
                                                      and not isinstance(n.parent, nodes.math))]
                image["alt"] = " ".join("".join(parts).split())
            image["loading"] = "lazy"


def _plain_token_classes(app) -> list[str]:
    """Token classes whose colours equal plain text's in the light and the dark style."""
    from pygments.styles import get_style_by_name
    from pygments.token import STANDARD_TYPES, Token

    options = dict(app.config.html_theme_options or {})
    theme = getattr(app.builder, "theme", None)
    if theme is not None:   # the theme's defaults (theme.conf) under the book's settings
        options = theme.get_options(options)
    names = [options.get("pygments_light_style") or "a11y-high-contrast-light",
             options.get("pygments_dark_style") or "a11y-high-contrast-dark"]
    plain = None
    for name in names:
        style = get_style_by_name(name)
        text = style.style_for_token(Token.Text)
        same = {css for ttype, css in STANDARD_TYPES.items()
                if css and style.style_for_token(ttype) == text}
        plain = same if plain is None else plain & same
    return sorted(plain)


def _use_line_spans(app):
    highlighter = getattr(app.builder, "highlighter", None)
    if app.builder.format == "html" and highlighter is not None:
        classes = _plain_token_classes(app)
        LineSpanFormatter.plain = re.compile(
            r'<span class="(?:%s)">([^<]*)</span>' % "|".join(map(re.escape, classes))) \
            if classes else None
        highlighter.formatter = LineSpanFormatter


def setup(app):
    app.connect("builder-inited", _use_line_spans)
    app.connect("doctree-resolved", _cite_equation_numbers)
    app.connect("doctree-resolved", _figure_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
