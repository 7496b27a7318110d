"""Coursework from the chapters: student versions and grades, on nbgrader.

    python tools/coursework.py release                 # -> coursework/release/chNN/*.ipynb
    python tools/coursework.py release --language zh_CN   # instructions in Chinese
    python tools/coursework.py grade SUBMISSIONS_DIR   # -> coursework/scores.csv, ...

``release`` makes one assignment per chapter, ``chNN``: a title cell, the
chapter's install and set-up cells, then its "Exercises" section turned into
plain Jupyter Markdown (MyST roles become text, cited equations and figures
are copied in, each exercise shows its points, every written exercise gets a
manually graded answer cell). With ``--language zh_CN`` the instructions come
from the Chinese edition's catalogues (locales/zh_CN, the same translations
the Chinese site shows); code and checks are the same, so grading is too.
nbgrader's ``generate_assignment`` then removes
the solutions and hidden tests and records every graded cell in the gradebook.

``grade`` reads ``SUBMISSIONS_DIR/<student>/<chNN>/<notebook>.ipynb`` (read
only: nothing under it is ever written) and grades every submission in two
sandboxes (bubblewrap): the student's cells run in a Jupyter kernel that sees
only the Python installation, the installed packages and seqlib, and writes
only to size-limited scratch folders, with no network, under time, memory and
output limits. The check cells run in a second, fresh process that never
runs student code: it calls the student's functions through a narrow channel
that carries only plain data (numbers, strings, arrays, tensors and lists,
tuples and dicts of them), so a student can neither tamper with the checks
nor return an object that fakes a pass. Results are written as grading goes:
``scores.csv`` (one row per student x exercise, including chapters not handed
in and answers waiting for manual grading), ``totals.csv``, ``canvas.csv``,
one feedback HTML per student and chapter, and nbgrader's gradebook and
``autograded/`` notebooks for the formgrader. See book/instructors.md.
"""
from __future__ import annotations

import argparse
import ast
import base64
import copy
import csv
import dataclasses
import datetime as dt
import functools
import io
import json
import os
import queue
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path



class _Lazy:
    """A module imported on first use. The checker process imports this file
    and needs neither nbformat nor yaml (importing nbformat alone costs about
    as much CPU time as importing torch)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        import importlib
        module = importlib.import_module(self._name)
        globals()[self._name] = module
        return getattr(module, attr)


nbformat = _Lazy("nbformat")
yaml = _Lazy("yaml")

ROOT = Path(__file__).resolve().parents[1]
COURSE_ID = "sequence-models-from-scratch"
NBGRADER_META = {"schema_version": 3, "grade": False, "solution": False,
                 "locked": True, "task": False}
# Points of a written exercise's manually graded answer cell, unless the
# exercise's text cell sets {"coursework": {"points": P}} in its metadata.
WRITTEN_POINTS = 2


# --------------------------------------------------------------------------
# Chapters
# --------------------------------------------------------------------------

def chapters() -> list[Path]:
    """The chapter notebooks, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [ROOT / f"{f}.ipynb" for f in files if f.startswith("notebooks/")]


def assignment_id(chapter: Path) -> str:
    return "ch" + chapter.stem.split("_")[0]


def notebook_name(aid_or_chapter) -> str:
    """The file name students must keep, e.g. 01_embeddings_exercises.ipynb."""
    chapter = aid_or_chapter if isinstance(aid_or_chapter, Path) else \
        next(c for c in chapters() if assignment_id(c) == aid_or_chapter)
    return f"{chapter.stem}_exercises.ipynb"


def _strip_labels(text: str) -> str:
    """Drop MyST target lines such as "(ch1-exercises)=" ."""
    return "\n".join(l for l in text.splitlines() if not re.match(r"^\s*\([\w.:-]+\)=\s*$", l))


def _heading(cell) -> str | None:
    if cell.cell_type != "markdown":
        return None
    lines = [l for l in _strip_labels(cell.source).splitlines() if l.strip()]
    m = re.match(r"^##\s+(\w+)", lines[0]) if lines else None
    return m.group(1).lower() if m else None


def chapter_title(nb) -> str:
    """The chapter's "# Title", without the MyST target line above it."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in _strip_labels(cell.source).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


# --------------------------------------------------------------------------
# The Chinese edition's instructions (--language zh_CN)
# --------------------------------------------------------------------------

LANGUAGES = ("en", "zh_CN")
_FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\s*(\{([\w:-]+)\})?[ \t]*(.*)$")
_LIST = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)(.*)$")


def _i18n():
    """tools/i18n.py, imported when a Chinese release needs it (not at the
    start of every grading process)."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    import i18n
    return i18n


@functools.lru_cache(maxsize=None)
def catalog(chapter: Path):
    """The Chinese catalogue of a chapter (tools/i18n.py keeps it complete);
    read once per chapter: releasing looks up captions of other chapters."""
    i18n = _i18n()
    return i18n.read_catalog(i18n.po_path(f"notebooks/{chapter.stem}"))


def translate_myst(text: str, messages) -> tuple[str, list[str]]:
    """MyST Markdown with each paragraph, list item, heading, table cell and
    admonition title replaced by its translation in ``messages`` (a chapter's
    catalogue: Sphinx's messages are these blocks with their line breaks
    turned into spaces). Math and code blocks stay as they are. Returns the
    text and the English passages that have no translation."""
    out, missed, block, prefix = [], [], [], ""
    verbatim = None  # the marker that closes a code or math block

    def lookup(msgid):
        msgid = msgid.strip()
        message = messages.get(msgid) if msgid else None
        if message is not None and message.string and not message.fuzzy:
            return message.string
        if not _i18n().needs_no_translation(msgid):
            missed.append(msgid)
        return None

    def flush():
        nonlocal block, prefix
        if block:
            new = lookup(" ".join(line.strip() for line in block))
            if new:
                out.append(prefix + new)
            else:
                out.extend([prefix + block[0]] + block[1:] if prefix else block)
        block, prefix = [], ""

    for line in text.split("\n"):
        stripped = line.strip()
        if verbatim is not None:
            out.append(line)
            if stripped.startswith(verbatim) or (verbatim == "$$" and "$$" in stripped):
                verbatim = None
            continue
        fence = _FENCE.match(line)
        if not stripped or re.match(r"^\([\w.:-]+\)=$", stripped) or stripped.startswith(":"):
            flush()
            out.append(line)  # blank, a target, a directive option
        elif stripped.startswith("$$"):
            flush()
            out.append(line)
            if "$$" not in stripped[2:]:
                verbatim = "$$"
        elif fence:
            flush()
            indent, marks, _, directive, arg = fence.groups()
            if directive is None and arg:
                verbatim = marks  # a code block
            elif directive == "admonition" and arg:
                arg = lookup(arg) or arg
            out.append(f"{indent}{marks}" + (f"{{{directive}}} {arg}".rstrip() if directive else arg))
        elif m := re.match(r"^(#+\s+)(.*)$", stripped):
            flush()
            out.append(m.group(1) + (lookup(m.group(2)) or m.group(2)))
        elif stripped.startswith("|"):
            flush()
            cells = stripped.strip("|").split("|")
            if all(re.fullmatch(r"\s*:?-+:?\s*", c) for c in cells):
                out.append(line)
            else:
                out.append("| " + " | ".join(lookup(c) or c.strip() for c in cells) + " |")
        elif m := _LIST.match(line):
            flush()
            prefix, block = m.group(1), [m.group(2)]
        else:
            block.append(line)
    flush()
    return "\n".join(out), missed


# --------------------------------------------------------------------------
# MyST -> plain Jupyter Markdown (student versions are read in Jupyter)
# --------------------------------------------------------------------------

def _bib_entries(path: Path = ROOT / "book" / "references.bib") -> dict[str, dict]:
    """key -> {"authors": [surnames], "year": "2013"} from a BibTeX file."""
    text = path.read_text() if path.exists() else ""
    out = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,", text):
        body, depth, i = [], 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            body.append(text[i])
            i += 1
        body = "".join(body)

        def field(name):
            f = re.search(rf"\b{name}\s*=\s*\{{", body, re.I)
            if not f:
                return ""
            j, d, val = f.end(), 1, []
            while j < len(body) and d:
                d += {"{": 1, "}": -1}.get(body[j], 0)
                if d:
                    val.append(body[j])
                j += 1
            return "".join(val)

        def surname(name):
            name = re.sub(r"\\[`'^\"~=.]\{?(\w)\}?", r"\1", name)   # {\'e} -> e
            name = name.replace("{", "").replace("}", "").strip()
            return name.split(",")[0].strip() if "," in name else name.split()[-1]
        authors = [surname(a) for a in re.split(r"\s+and\s+", field("author")) if a.strip()]
        out[m.group(1)] = {"authors": authors, "year": field("year")}
    return out


def _cite(keys: str, bib: dict, parenthetical: bool) -> str:
    parts = []
    for key in [k.strip() for k in keys.split(",") if k.strip()]:
        e = bib.get(key)
        if not e or not e["authors"]:
            parts.append(key)
            continue
        a = e["authors"]
        who = a[0] if len(a) == 1 else f"{a[0]} and {a[1]}" if len(a) == 2 else f"{a[0]} et al."
        parts.append(f"{who}, {e['year']}" if parenthetical else f"{who} ({e['year']})")
    return f"({'; '.join(parts)})" if parenthetical else ", ".join(parts)


class _MystContext:
    """What the chapters define that exercises may refer to: numbered
    equations, figures (with their images), section titles, the bibliography.
    ``chapter`` is the number of the chapter being released."""

    _cache: dict = {}

    def __init__(self, chapter: int, language: str = "en"):
        self.chapter, self.chinese = chapter, language == "zh_CN"
        if not _MystContext._cache:
            eqs, sections, figures = {}, {}, {}
            for path in chapters():
                nb, ch, n = nbformat.read(path, as_version=4), int(path.stem.split("_")[0]), 0
                for cell in nb.cells:
                    if cell.cell_type == "markdown":
                        # an equation, not prose between two: no $$ inside
                        for m in re.finditer(r"\$\$((?:(?!\$\$).)+?)\$\$\s*\(([\w:-]+)\)", cell.source, re.S):
                            n += 1
                            eqs[m.group(2)] = (ch, n, m.group(1).strip())
                        lines = cell.source.splitlines()
                        for i, line in enumerate(lines):
                            lab = re.match(r"^\s*\(([\w.:-]+)\)=\s*$", line)
                            nxt = next((l for l in lines[i + 1:] if l.strip()), "")
                            if lab and nxt.startswith("#"):
                                sections[lab.group(1)] = (ch, nxt.lstrip("#").strip())
                    else:
                        fig = cell.metadata.get("mystnb", {}).get("figure", {})
                        if fig.get("name"):
                            png = next((o["data"]["image/png"] for o in cell.get("outputs", [])
                                        if "image/png" in o.get("data", {})), None)
                            figures[fig["name"]] = (ch, fig.get("caption", ""), png)
            _MystContext._cache.update(equations=eqs, sections=sections, figures=figures,
                                       bib=_bib_entries())
        c = _MystContext._cache
        self.equations, self.sections = c["equations"], c["sections"]
        self.figures, self.bib = c["figures"], c["bib"]

    def where(self, ch: int) -> str:
        return "" if ch == self.chapter else f" of chapter {ch}"

    def zh(self, ch: int, text: str) -> str:
        """A caption or section title of chapter ``ch`` in Chinese."""
        if not self.chinese:
            return text
        path = next(p for p in chapters() if int(p.stem.split("_")[0]) == ch)
        return translate_myst(text, catalog(path))[0]

    def phrase(self, kind: str, ch: int, detail: str = "") -> str:
        """How the student version refers to a numbered thing of the book."""
        here = ch == self.chapter
        if self.chinese:
            where = "本章的" if here else f"第 {ch} 章的"
            return {"eq": detail if here else f"{where}式 {detail}",
                    "eq-copied": f"{where}式 {detail}：",
                    "fig-below": f"{'' if here else where}下方附上的图",
                    "fig": f"{where}图\u201c{detail}\u201d",
                    "section": f"{where}小节\u201c{detail}\u201d"}[kind]
        where = self.where(ch)
        return {"eq": detail if here else f"equation {detail}{where}",
                "eq-copied": f"Equation {detail}{where or ' of the chapter'}:",
                "fig-below": f"the figure{where} copied below",
                "fig": f"the figure \u201c{detail}\u201d{where or ' of the chapter'}",
                "section": f"the section \u201c{detail}\u201d{where or ' of the chapter'}"}[kind]


def myst_to_markdown(text: str, ctx: _MystContext, attachments: dict | None = None) -> str:
    """Rewrite MyST-only syntax as Markdown that Jupyter shows as intended.

    Roles become text ({eq} -> "equation (N)", with the equation copied at the
    end of the cell; {cite:t} -> "Mikolov et al. (2013)"; {numref} -> the
    figure's caption, with the figure attached when ``attachments`` is
    given); admonitions become block quotes; target lines disappear."""
    cited_eqs: list[str] = []
    shown_figs: list[str] = []

    def target(body):
        m = re.match(r"^(.*?)\s*<([^<>]+)>$", body, re.S)
        return (m.group(1).strip(), m.group(2).strip()) if m else (None, body.strip())

    def role(m):
        name, body = m.group(1), m.group(2)
        if name == "eq":
            if body in ctx.equations:
                if body not in cited_eqs:
                    cited_eqs.append(body)
                ch, n, _ = ctx.equations[body]
                # The book shows a same-page reference as "(N)"; the prose is written for that.
                return ctx.phrase("eq", ch, f"({n})")
            return "书中的一个公式" if ctx.chinese else "an equation of the book"
        if name in ("cite:t", "cite:author", "cite:year"):
            return _cite(body, ctx.bib, parenthetical=False)
        if name in ("cite", "cite:p", "cite:ps", "cite:ts"):
            return _cite(body, ctx.bib, parenthetical=True)
        text, label = target(body)
        if name == "numref":
            if label in ctx.figures:
                ch, caption, png = ctx.figures[label]
                if attachments is not None and png and label not in shown_figs:
                    shown_figs.append(label)
                    return ctx.phrase("fig-below", ch)
                short = re.split(r"(?<=[.:;])\s|(?<=[。：；])", myst_to_markdown(ctx.zh(ch, caption), ctx))[0]
                return ctx.phrase("fig", ch, short.rstrip(".:;。：；"))
            if label in ctx.sections:
                ch, title = ctx.sections[label]
                return ctx.phrase("section", ch, ctx.zh(ch, title))
            if text:
                return text.replace("%s", "").strip()
            return "书中的一幅图" if ctx.chinese else "a figure of the book"
        if name == "ref":
            if text:
                return text
            if label in ctx.sections:
                ch, title = ctx.sections[label]
                return ctx.phrase("section", ch, ctx.zh(ch, title))
            return "书中另一处" if ctx.chinese else "another part of the book"
        if name == "doc":
            if text:
                return text
            name = Path(label).name
            return f"书中的\u201c{name}\u201d一页" if ctx.chinese else \
                f"the page \u201c{name}\u201d of the book"
        return text or body

    def admonition(m):
        title = (m.group(2) or m.group(1)).strip()
        body = "\n".join(l for l in m.group(3).splitlines() if not l.startswith(":"))
        quoted = "\n".join(("> " + l) if l.strip() else ">" for l in body.strip().splitlines())
        return f"> **{title[0].upper() + title[1:]}.**\n>\n{quoted}" if title else quoted

    text = _strip_labels(text)
    text = re.sub(r"(\$\$.+?\$\$)\s*\([\w:-]+\)", r"\1", text, flags=re.S)
    text = re.sub(r"(?:```|:::)\{(\w+)\}[ \t]*([^\n]*)\n(.*?)\n(?:```|:::)", admonition, text, flags=re.S)
    text = re.sub(r"\{([\w:-]+)\}`([^`]*)`", role, text)
    for label in cited_eqs:
        ch, n, latex = ctx.equations[label]
        latex = re.sub(r"\\label\{[^}]*\}", "", latex)
        tag = "" if "\\tag" in latex else f"\n\\tag{{{n}}}"
        text += f"\n\n{ctx.phrase('eq-copied', ch, f'({n})')}\n\n$$\n{latex}{tag}\n$$"
    for label in shown_figs:
        ch, caption, png = ctx.figures[label]
        name = f"{label}.png"
        attachments[name] = {"image/png": png}
        text += f"\n\n![{label}](attachment:{name})\n\n*{myst_to_markdown(ctx.zh(ch, caption), ctx)}*"
    return text


# --------------------------------------------------------------------------
# Release
# --------------------------------------------------------------------------

_EXERCISE_HEAD = re.compile(
    r"^(?P<lead>###\s+|\*\*)Exercise\s+(?P<k>\d+)(?P<paren>\s*\((?P<kind>[^)]*)\))?", re.M)
_ANSWER = re.compile(r"\n*(?:```|:::)\{admonition\}\s*Answer[^\n]*\n(?P<body>.*?)\n(?:```|:::)[ \t]*", re.S)
# The same heading in the Chinese catalogues: **练习 1（自动评分）。**
_EXERCISE_HEAD_ZH = re.compile(r"^(?P<lead>###\s+|\*\*)练习\s*(?P<k>\d+)(?P<paren>\s*[（(][^）)]*[）)])?", re.M)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _split_exercises(text: str) -> list[str]:
    """A Markdown cell cut before each "Exercise K" heading it holds."""
    starts = [m.start() for m in _EXERCISE_HEAD.finditer(text)]
    if not starts or starts == [0]:
        return [text]
    bounds = ([0] if starts[0] else []) + starts + [len(text)]
    return [text[a:b].strip("\n") for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]


def _intro_zh(short, n, title, n_auto, auto_pts, n_written, written_pts, stem, pip) -> str:
    """The title cell of a Chinese student version (the English one is in
    exercise_notebook)."""
    return (
        f"# 练习：{short}\n\n"
        f"《从零实现序列模型》（*Sequence Models from Scratch*）第 {n} 章\u201c{title}\u201d的练习："
        f"{n_auto} 道自动评分题（{auto_pts:g} 分），{n_written} 道书面作答题"
        f"（{written_pts:g} 分，由教师人工评分）。\n\n"
        f"**开始之前。** 请保留本文件的文件名（`{stem}_exercises.ipynb`）并原样提交："
        "评分程序按文件名查找你的作业，改了名的副本不会被评分。先运行第一个代码单元："
        "如果你的 Jupyter 里还没有本书的库 `seqlib`，它会安装这个库（第一次需要联网；"
        f"也可以在终端里运行 {pip}）。然后运行设置单元。\n\n"
        "**如何作答。** 在每个写着 `# YOUR CODE HERE` 的单元里，把 "
        "`raise NotImplementedError()` 换成你的代码，然后运行它下面只读的检查单元。"
        "这些公开的检查只是初步测试：评分时还会在一个全新的内核里用别的输入做更多检查，"
        "所以请写通用的代码，而不是只对公开示例成立的代码。书面作答题写在标有"
        "\u201cYOUR ANSWER HERE\u201d的单元里。不要修改、删除或复制检查单元。提交之前，"
        "运行 *Kernel \u2192 Restart Kernel and Run All Cells*，确认每个单元都能运行。")


def exercise_notebook(chapter: Path, language: str = "en"):
    """The assignment of one chapter (with solutions, hidden tests and the
    reference answers of written exercises), or None without exercises.

    Cells: a title, the chapter's install and set-up cells (locked), then the
    "## Exercises" section up to "## Summary", in plain Jupyter Markdown;
    with language "zh_CN" the Markdown is the Chinese edition's."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    chinese = language == "zh_CN"
    messages = catalog(chapter) if chinese else None
    nb = nbformat.read(chapter, as_version=4)
    start = next((i for i, c in enumerate(nb.cells) if _heading(c) == "exercises"), None)
    if start is None:
        return None
    stop = next((i for i, c in enumerate(nb.cells) if i > start and _heading(c) == "summary"),
                len(nb.cells))
    aid, n = assignment_id(chapter), int(chapter.stem.split("_")[0])
    ctx = _MystContext(n, language)
    # The install cell (tag "install-seqlib") lets a student's bare Jupyter
    # install seqlib; the set-up cell is the first code cell after it.
    code = [c for c in nb.cells if c.cell_type == "code"]
    install = [copy.deepcopy(c) for c in code if "install-seqlib" in c.metadata.get("tags", [])]
    setup = copy.deepcopy(next(c for c in code if "install-seqlib" not in c.metadata.get("tags", [])))
    for cell, name in [(setup, "setup")] + [(c, "install") for c in install]:
        cell.metadata["nbgrader"] = dict(NBGRADER_META, grade_id=f"{aid}-{name}")

    section = [copy.deepcopy(c) for c in nb.cells[start:stop]]
    # The "## Exercises" heading cell may hold the first exercise's text.
    section[0].source = re.sub(r"^\s*##\s+Exercises[^\n]*\n?", "", _strip_labels(section[0].source).lstrip())
    if not section[0].source.strip():
        section = section[1:]
    points = {_nbgrader(c)["grade_id"].removesuffix("-check"): _nbgrader(c).get("points", 0)
              for c in section if _nbgrader(c).get("grade")}
    forbids = {_nbgrader(c)["grade_id"].removesuffix("-solution"):
               forbid_rules(_nbgrader(c)["grade_id"].removesuffix("-solution"), c.metadata.get("coursework"))
               for c in section if c.cell_type == "code" and _nbgrader(c).get("solution")}
    cells, written = [], []
    for cell in section:
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        for chunk in _split_exercises(cell.source):
            head = _EXERCISE_HEAD.search(chunk)
            ex = f"ch{n}-ex{head.group('k')}" if head else None
            answers = ["\n".join(l for l in m.group("body").splitlines() if not l.startswith(":")).strip()
                       for m in _ANSWER.finditer(chunk)]
            text = _ANSWER.sub("", chunk).rstrip()
            is_written = ex is not None and ex not in points
            if chinese:
                text = translate_myst(text, messages)[0]
                answers = [translate_myst(a, messages)[0] for a in answers]
            if head:
                p = (cell.metadata.get("coursework", {}).get("points", WRITTEN_POINTS)
                     if is_written else points[ex])
                if chinese:
                    label = f"（{'书面作答' if is_written else '自动评分'}，{p:g} 分）"
                    text = _EXERCISE_HEAD_ZH.sub(
                        lambda m: f"{m.group('lead')}练习 {m.group('k')}{label}", text, count=1)
                else:
                    kind = "written" if is_written else "auto-graded"
                    label = f"({kind}, {p:g} point{'s' if p != 1 else ''})"
                    text = _EXERCISE_HEAD.sub(
                        lambda m: f"{m.group('lead')}Exercise {m.group('k')} {label}", text, count=1)
                if forbids.get(ex):
                    names = [_forbid_text(label_, language) for label_, _, _ in forbids[ex]]
                    text += ("\n\n*答案中不得使用（评分程序会检查）：*" + "、".join(names) + "。"
                             if chinese else
                             "\n\n*Not allowed in your answer (the grader checks):* "
                             + ", ".join(names) + ".")
            attachments: dict = {}
            md = nbformat.v4.new_markdown_cell(myst_to_markdown(text, ctx, attachments))
            if attachments:
                md.attachments = attachments
            cells.append(md)
            if is_written:
                written.append(ex)
                reference = myst_to_markdown("\n\n".join(answers), ctx) if answers else ""
                # nbgrader replaces a manually graded Markdown answer cell by
                # "YOUR ANSWER HERE"; the reference answer stays in source/.
                answer = nbformat.v4.new_markdown_cell(
                    reference or ("（本章没有给出参考答案。）" if chinese
                                  else "(No reference answer is given in the chapter.)"))
                answer.metadata["nbgrader"] = {
                    "schema_version": 3, "grade": True, "solution": True, "locked": False,
                    "task": False, "points": p, "grade_id": f"{ex}-answer"}
                cells.append(answer)
    title = chapter_title(nb)
    if chinese:
        title = translate_myst(title, messages)[0]
    short = re.split(r"[:：]", title)[0].strip() or chapter.stem
    auto_pts, written_pts = sum(points.values()), sum(
        _nbgrader(c)["points"] for c in cells if _nbgrader(c).get("grade_id", "").endswith("-answer"))
    src = re.search(r"git\+https://[^\s\"']+", install[0].source) if install else None
    pip = f'`pip install "{src.group(0)}"`' if src else "`pip install seqlib`"
    intro = nbformat.v4.new_markdown_cell(_intro_zh(
        short, n, title, len(points), auto_pts, len(written), written_pts, chapter.stem, pip)
        if chinese else
        f"# Exercises: {short}\n\n"
        f"The exercises of chapter {n} of *Sequence Models from Scratch*, \u201c{title}\u201d: "
        f"{len(points)} auto-graded ({auto_pts:g} points) and {len(written)} written "
        f"({written_pts:g} points, graded by hand).\n\n"
        "**Before you start.** Keep this file's name "
        f"(`{chapter.stem}_exercises.ipynb`) and hand it in as it is: the grader "
        "finds your work by its name, and a renamed copy is not graded. Run the "
        "first code cell: it installs the book's library `seqlib` when your "
        "Jupyter does not have it (this needs the internet once; in a terminal "
        f"you can instead run {pip}). Then run the set-up cell.\n\n"
        "**How to answer.** In each cell that says `# YOUR CODE HERE`, replace "
        "`raise NotImplementedError()` by your code, then run the read-only check "
        "cell below it. The visible checks are a first test: grading runs further "
        "checks on other inputs, in a fresh kernel, so write general code rather "
        "than code that only fits the visible examples. Write each written answer "
        "in the cell that says \u201cYOUR ANSWER HERE\u201d. Do not edit, delete or "
        "copy the check cells. Before you hand in, run *Kernel \u2192 Restart Kernel and "
        "Run All Cells* and make sure every cell runs.")
    intro.metadata["nbgrader"] = dict(NBGRADER_META, grade_id=f"{aid}-intro")
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.cells = [intro, *install, setup] + cells
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out


def _api(course: Path, timeout: int = 60):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    # nbgrader runs `alembic` as a subprocess: the venv's bin/ must be on PATH
    # (prepended once, however many times this is called).
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path
    c = Config()
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.course_id = COURSE_ID
    c.Execute.timeout = timeout
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return NbGraderAPI(config=c)


def release(course: Path, timeout: int = 60, language: str = "en") -> list[Path]:
    """Write every chapter's assignment to ``course/source`` and its student
    version to ``course/release`` (instructions in ``language``); return the
    released notebooks."""
    api = _api(course, timeout)
    released = []
    for chapter in chapters():
        nb = exercise_notebook(chapter, language)
        if nb is None:
            continue
        aid = assignment_id(chapter)
        src = course / "source" / aid
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        name = notebook_name(chapter)
        nbformat.write(nb, src / name)
        result = api.generate_assignment(aid, force=True)
        if not result.get("success"):
            raise SystemExit(f"nbgrader generate_assignment {aid} failed:\n"
                             f"{result.get('log', '')}\n{result.get('error', '')}")
        released.append(course / "release" / aid / name)
    return released


def points_table() -> str:
    """A Markdown table of the exercises and points of each chapter."""
    lines = ["| chapter | auto-graded | points | written | points |", "|---|---|---|---|---|"]
    totals = [0, 0]
    for chapter in chapters():
        nb = exercise_notebook(chapter)
        if nb is None:
            continue
        auto = [_nbgrader(c)["points"] for c in nb.cells
                if _nbgrader(c).get("grade") and not _nbgrader(c).get("solution")]
        manual = [_nbgrader(c)["points"] for c in nb.cells
                  if _nbgrader(c).get("grade") and _nbgrader(c).get("solution")]
        totals[0] += sum(auto)
        totals[1] += sum(manual)
        lines.append(f"| {assignment_id(chapter)} `{chapter.stem}` | {len(auto)} | {sum(auto):g} "
                     f"| {len(manual)} | {sum(manual):g} |")
    lines.append(f"| **all** | | **{totals[0]:g}** | | **{totals[1]:g}** |")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Grading policy: what an exercise forbids, and what counts as tampering
# --------------------------------------------------------------------------

# Named groups of library code that "by hand" exercises must not call. Each:
# objects to watch while the student's function runs (dotted paths; a module
# means every function in it), and names whose use in the answer cell is
# reported even if the grader's run did not reach the call.
RULES: dict[str, tuple[list[str], set[str]]] = {
    "autograd": (["torch.autograd.backward", "torch.autograd.grad",
                  "torch.autograd.graph._engine_run_backward", "torch.Tensor.backward",
                  "torch.autograd.functional", "torch.func.grad", "torch.func.jacrev",
                  "torch.func.jacfwd", "torch.func.vjp", "torch.func.jvp"],
                 {"autograd", "backward", "jacrev", "jacfwd", "vjp", "jvp"}),
    "torch.nn modules": (["torch.nn.Module.__init__", "torch.nn.Module.parameters",
                          "torch.nn.Module.named_parameters"],
                         {"parameters", "named_parameters"}),
}

# exercise -> what its answer must not call (the text of each exercise says so).
# A solution cell may override this with metadata {"coursework": {"forbid": [...]}}.
FORBID: dict[str, list[str]] = {
    "ch1-ex2": ["seqlib.embeddings.lookup_backward", "autograd"],
    "ch1-ex3": ["seqlib.embeddings.SkipGram"],
    "ch2-ex1": ["torch.nn modules"],
    "ch3-ex1": ["autograd"],
    "ch4-ex1": ["torch.nn.utils.clip_grad_norm_"],
    "ch4-ex2": ["autograd"],
    "ch5-ex1": ["seqlib.lstm", "torch.nn.LSTM", "torch.nn.LSTMCell", "torch.lstm_cell", "torch.lstm"],
    "ch5-ex2": ["torch.nn modules"],
    "ch6-ex1": ["autograd"],
    "ch6-ex2": ["seqlib.gru", "torch.nn.GRU", "torch.nn.GRUCell", "torch.gru_cell", "torch.gru"],
    "ch7-ex1": ["seqlib.norms.batch_norm", "torch.nn.functional.batch_norm", "torch.batch_norm",
                "torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d"],
    "ch7-ex2": ["autograd", "seqlib.norms.layer_norm_backward"],
}

# Code that reaches into IPython or the interpreter to change how later cells
# or checks run. Attribute names, and names assigned on imported modules.
_TAMPER_ATTRS = {"input_transformers_cleanup", "input_transformers_post", "ast_transformers",
                 "set_custom_exc", "setprofile", "settrace", "register_magic_function"}
_SENSITIVE = {"assert_close", "assert_allclose", "assert_array_equal", "assert_equal",
              "assert_array_almost_equal", "array_equal", "allclose", "isclose", "equal",
              "testing", "max_abs_diff", "__eq__", "__ne__", "__bool__", "__float__",
              "__int__", "__index__", "__len__", "isinstance", "print"}


def forbid_rules(ex: str, meta: dict | None = None) -> list[tuple[str, list[str], set[str]]]:
    """(label, dotted objects, names) for each thing exercise ``ex`` forbids."""
    entries = (meta or {}).get("forbid", FORBID.get(ex, []))
    out = []
    for entry in entries:
        if entry in RULES:
            out.append((entry, *RULES[entry]))
        else:
            out.append((entry, [entry], {entry.split(".")[-1]}))
    return out


_AST_LOCK = threading.Lock()


def _parse(source: str) -> ast.Module:
    """ast.parse, one thread at a time (CPython 3.11's parser is not
    thread-safe: "AST constructor recursion depth mismatch")."""
    with _AST_LOCK:
        return ast.parse(source)


def _forbid_text(label: str, language: str = "en") -> str:
    """How the student version names a forbidden thing."""
    chinese = language == "zh_CN"
    if label == "autograd":
        return ("autograd（`.backward()`、`torch.autograd`、`torch.func`）" if chinese else
                "autograd (`.backward()`, `torch.autograd`, `torch.func`)")
    if label == "torch.nn modules":
        return ("构造 `torch.nn` 模块来数参数" if chinese else
                "building `torch.nn` modules to count their parameters")
    if label.startswith("seqlib.") and label.count(".") == 1 and (ROOT / "seqlib" / f"{label[7:]}.py").exists():
        return f"`{label}` 中的任何东西" if chinese else f"anything from `{label}`"
    return f"`{label}`"


def _module_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def tampering(source: str, imported: set[str]) -> str | None:
    """What in a student's code cell changes IPython or patches a library the
    checks rely on, or None. ``imported``: names the set-up cell imports."""
    try:
        tree = _parse(source)
    except SyntaxError:
        return None
    mods = imported | _module_names(tree) | {"builtins", "__builtins__", "sys"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _TAMPER_ATTRS:
            return f"uses {ast.unparse(node)}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "_cw_probe" in node.value:
            return "reaches for the grader's helper module"
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("setattr", "delattr") and node.args):
            attr = node.args[1] if len(node.args) > 1 else None
            name = attr.value if isinstance(attr, ast.Constant) else None
            if _root(node.args[0]) in mods and (name in _SENSITIVE or name in imported or name is None):
                return f"calls {ast.unparse(node)[:80]}"
        for t in targets:
            for sub in ast.walk(t):
                if (isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del))
                        and _root(sub) in mods and (sub.attr in _SENSITIVE or sub.attr in imported)):
                    return f"replaces {ast.unparse(sub)}"
                if (isinstance(sub, ast.Subscript) and isinstance(sub.ctx, (ast.Store, ast.Del))
                        and ast.unparse(sub.value) in ("sys.modules", "__builtins__")):
                    return f"replaces {ast.unparse(sub)}"
    return None


def forbidden_names(source: str, rules, imported: set[str]) -> set[str]:
    """Labels of the rules whose names an answer cell uses as an attribute
    (x.backward), an import, or a global imported by the set-up cell."""
    try:
        tree = _parse(source)
    except SyntaxError:
        return set()
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    own |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)} | \
           {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            used.update(p for a in node.names for p in a.name.split("."))
            if isinstance(node, ast.ImportFrom) and node.module:
                used.update(node.module.split("."))
        elif isinstance(node, ast.Name) and node.id in imported and node.id not in own:
            used.add(node.id)
    return {label for label, _, names in rules if names & used}


# --------------------------------------------------------------------------
# Plain data across the sandbox walls
# --------------------------------------------------------------------------

class _Wire:
    """Encode values as JSON-able plain data and back.

    Used on both sides: the student's kernel encodes what its functions return,
    the checker decodes it into fresh Python, NumPy and torch objects. Only
    exact built-in types, NumPy arrays and scalars and torch tensors pass:
    an object with its own __eq__ (or a tensor subclass) is refused, so
    whatever the student's code returns, the checks compare genuine values.
    This class's source is also sent into the student's kernel.
    """
    MAX_BYTES = 64 * 2 ** 20

    class Error(Exception):
        pass

    @classmethod
    def encode(cls, obj, budget=None, depth=0):
        import base64
        if budget is None:
            budget = [cls.MAX_BYTES]
        if depth > 40:
            raise cls.Error("a value nested more than 40 levels deep")

        def charge(n):
            budget[0] -= n
            if budget[0] < 0:
                raise cls.Error(f"a value larger than {cls.MAX_BYTES >> 20} MB")
        t = type(obj)
        if obj is None or obj is Ellipsis:
            return {"t": "none" if obj is None else "ellipsis"}
        if t in (bool, int, str):
            charge(len(obj) if t is str else 8)
            return {"t": t.__name__, "v": obj}
        if t is float:
            return {"t": "float", "v": repr(obj)}
        if t is complex:
            return {"t": "complex", "v": [repr(obj.real), repr(obj.imag)]}
        if t is bytes:
            charge(len(obj))
            return {"t": "bytes", "b": base64.b64encode(obj).decode()}
        if t in (list, tuple, set, frozenset):
            charge(8 * len(obj))
            return {"t": t.__name__, "v": [cls.encode(x, budget, depth + 1) for x in obj]}
        if t is dict:
            charge(8 * len(obj))
            return {"t": "dict", "k": [cls.encode(k, budget, depth + 1) for k in obj],
                    "v": [cls.encode(v, budget, depth + 1) for v in obj.values()]}
        if t in (slice, range):
            return {"t": t.__name__, "v": [cls.encode(x, budget, depth + 1)
                                            for x in (obj.start, obj.stop, obj.step)]}
        mod = getattr(t, "__module__", "") or ""
        if mod == "numpy" or mod.startswith("numpy."):
            import numpy as np
            if t is np.ndarray:
                if obj.dtype.kind not in "biufc":
                    raise cls.Error(f"a NumPy array of dtype {obj.dtype}")
                charge(obj.nbytes)
                return {"t": "ndarray", "dtype": obj.dtype.str, "shape": list(obj.shape),
                        "b": base64.b64encode(np.ascontiguousarray(obj).tobytes()).decode()}
            if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
                return {"t": "npscalar", "dtype": obj.dtype.str,
                        "b": base64.b64encode(obj.tobytes()).decode()}
            if t.__name__.endswith("DType") or t is np.dtype:
                return {"t": "npdtype", "v": obj.str}
        if mod == "torch" or mod.startswith("torch."):
            import torch
            if t is torch.Tensor or t is torch.nn.Parameter:
                if obj.layout != torch.strided or obj.is_quantized or obj.is_meta:
                    raise cls.Error("a sparse, quantized or meta tensor")
                x = obj.detach().to("cpu").contiguous()
                charge(x.numel() * x.element_size())
                raw = x.reshape(-1).view(torch.uint8).numpy().tobytes() if x.numel() else b""
                return {"t": "tensor", "dtype": str(x.dtype).split(".")[-1],
                        "shape": list(x.shape), "rg": bool(obj.requires_grad),
                        "b": base64.b64encode(raw).decode()}
            if t is torch.Size:
                return {"t": "size", "v": [int(s) for s in obj]}
            if t is torch.dtype:
                return {"t": "tdtype", "v": str(obj).split(".")[-1]}
        raise cls.Error(f"a {mod + '.' if mod and mod != 'builtins' else ''}{t.__qualname__}")

    @classmethod
    def decode(cls, d):
        import base64
        t = d["t"]
        if t == "none":
            return None
        if t == "ellipsis":
            return Ellipsis
        if t in ("bool", "int", "str"):
            v = d["v"]
            if type(v) is not {"bool": bool, "int": int, "str": str}[t]:
                raise cls.Error(f"bad {t}")
            return v
        if t == "float":
            return float(d["v"])
        if t == "complex":
            return complex(float(d["v"][0]), float(d["v"][1]))
        if t == "bytes":
            return base64.b64decode(d["b"])
        if t in ("list", "tuple", "set", "frozenset"):
            return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[t](
                cls.decode(x) for x in d["v"])
        if t == "dict":
            return {cls.decode(k): cls.decode(v) for k, v in zip(d["k"], d["v"])}
        if t in ("slice", "range"):
            return (slice if t == "slice" else range)(*(cls.decode(x) for x in d["v"]))
        if t in ("ndarray", "npscalar", "npdtype"):
            import numpy as np
            if t == "npdtype":
                return np.dtype(d["v"])
            dtype = np.dtype(d["dtype"])
            if dtype.kind not in "biufc":
                raise cls.Error(f"bad dtype {dtype}")
            a = np.frombuffer(base64.b64decode(d["b"]), dtype=dtype)
            return a.reshape(d["shape"]).copy() if t == "ndarray" else a[0]
        if t in ("tensor", "size", "tdtype"):
            import torch
            if t == "size":
                return torch.Size([int(s) for s in d["v"]])
            dtype = getattr(torch, d["dtype"] if t == "tensor" else d["v"])
            if not isinstance(dtype, torch.dtype):
                raise cls.Error("bad dtype")
            if t == "tdtype":
                return dtype
            raw = base64.b64decode(d["b"])
            shape = [int(s) for s in d["shape"]]
            if not raw:
                x = torch.empty(shape, dtype=dtype)
            else:
                x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape).clone()
            if d.get("rg") and (x.is_floating_point() or x.is_complex()):
                x.requires_grad_(True)
            return x
        raise cls.Error(f"unknown type tag {t!r}")

    @classmethod
    def sync(cls, orig, new):
        """Copy ``new`` (what the student's function left in an argument) into
        the checker's own ``orig`` in place, so that checks of the form "the
        inputs must not change" see what the function did to them."""
        kind = type(orig).__module__.split(".")[0]
        if kind == "numpy" and type(orig).__name__ == "ndarray":
            import numpy as np
            if isinstance(new, np.ndarray) and new.shape == orig.shape and orig.flags.writeable:
                np.copyto(orig, new, casting="unsafe")
        elif kind == "torch" and type(orig).__name__ in ("Tensor", "Parameter"):
            import torch
            if isinstance(new, torch.Tensor) and new.shape == orig.shape and new.dtype == orig.dtype:
                with torch.no_grad():
                    if not torch.equal(orig.detach(), new):
                        orig.detach().copy_(new)
        elif type(orig) is list and type(new) is list:
            if len(orig) != len(new):
                orig[:] = new
            for i, (a, b) in enumerate(zip(orig, new)):
                if type(a) in (list, dict) or type(a).__name__ in ("ndarray", "Tensor"):
                    cls.sync(a, b)
                elif type(a) is not type(b) or a != b:
                    orig[i] = b
        elif type(orig) is dict and type(new) is dict:
            for k in [k for k in orig if k not in new]:
                del orig[k]
            for k, b in new.items():
                a = orig.get(k)
                if k in orig and (type(a) in (list, dict) or type(a).__name__ in ("ndarray", "Tensor")):
                    cls.sync(a, b)
                else:
                    orig[k] = b
        elif type(orig) is tuple and type(new) is tuple and len(orig) == len(new):
            for a, b in zip(orig, new):
                cls.sync(a, b)

    @staticmethod
    def mutable(obj) -> bool:
        return type(obj) in (list, dict, tuple) or type(obj).__name__ in ("ndarray", "Tensor", "Parameter")


class _Probe:
    """Runs inside the student's kernel (its source is sent there at start).

    ``call`` runs one of the student's functions on arguments the checker
    sent, with a profiler watching for calls the exercise forbids, and
    publishes the encoded result (or the exception) as display data with the
    grader's MIME type. It is no defence against a student who attacks the
    grader on purpose; what it returns is only data, which the checker
    validates."""
    MIME = "application/x-coursework+json"

    def __init__(self, shell):
        self.shell = shell

    def _publish(self, payload):
        from IPython.display import publish_display_data
        publish_display_data({self.MIME: payload})

    def describe(self, request):
        import json
        out = {}
        for name in json.loads(request)["names"]:
            if name not in self.shell.user_ns:
                out[name] = {"kind": "missing"}
                continue
            value = self.shell.user_ns[name]
            if callable(value):
                out[name] = {"kind": "function", "type": type(value).__name__}
                continue
            try:
                out[name] = {"kind": "value", "value": _Wire.encode(value)}
            except _Wire.Error as e:
                out[name] = {"kind": "opaque", "type": str(e)}
        self._publish(out)

    @staticmethod
    def _watch(rules):
        """(code objects, builtin ids, file prefixes) -> label, for the profiler."""
        import importlib
        import inspect
        import os
        import sys
        import types
        codes, builtins, prefixes, keep = {}, {}, {}, []

        def add(obj, label):
            obj = getattr(obj, "__func__", obj)
            try:
                obj = inspect.unwrap(obj)
            except Exception:
                pass
            if isinstance(obj, types.ModuleType):
                path = getattr(obj, "__file__", None) or ""
                base = os.path.dirname(path) if hasattr(obj, "__path__") else path
                if base:
                    prefixes[base] = label
            elif isinstance(obj, type):
                for member in vars(obj).values():
                    if not isinstance(member, type) and (
                            callable(member) or isinstance(member, (staticmethod, classmethod))):
                        add(member, label)
            elif hasattr(obj, "__code__"):
                codes[obj.__code__] = label
            elif callable(obj):
                keep.append(obj)
                builtins[id(obj)] = label

        for label, paths in rules:
            for dotted in paths:
                parts = dotted.split(".")
                for i in range(len(parts), 0, -1):
                    try:
                        obj = sys.modules.get(".".join(parts[:i])) or importlib.import_module(".".join(parts[:i]))
                    except Exception:
                        continue
                    try:
                        for attr in parts[i:]:
                            obj = getattr(obj, attr)
                    except AttributeError:
                        break
                    add(obj, label)
                    break
        return codes, builtins, tuple(prefixes.items()), keep

    def call(self, request):
        import json
        import sys
        req = json.loads(request)
        fn = self.shell.user_ns.get(req["name"])
        if fn is None or not callable(fn):
            self._publish({"status": "missing"})
            return
        codes, builtins, prefixes, keep = self._watch(req.get("forbid", []))
        hits = set()

        def profiler(frame, event, arg):
            if event == "call":
                code = frame.f_code
                label = codes.get(code)
                if label is None and prefixes:
                    label = next((lab for p, lab in prefixes if code.co_filename.startswith(p)), None)
                if label is not None:
                    hits.add(label)
            elif event == "c_call":
                label = builtins.get(id(arg))
                if label is not None:
                    hits.add(label)
        reply = {}
        try:
            args = _Wire.decode(req["args"])
            kwargs = _Wire.decode(req["kwargs"])
            sys.setprofile(profiler)
            try:
                result = fn(*args, **kwargs)
                reply["result"] = _Wire.encode(result)
            finally:
                still_watched = sys.getprofile() is profiler
                sys.setprofile(None)
            if not still_watched:
                hits.add("the grader's call monitor (switched off by the notebook)")
            reply["after"] = [_Wire.encode(a) if _Wire.mutable(a) else None for a in args]
            reply["status"] = "ok"
        except _Wire.Error as e:
            reply = {"status": "unsupported", "what": str(e)}
        except BaseException as e:  # the student's exception, sent on as data
            sys.setprofile(None)
            reply = {"status": "raised", "ename": type(e).__name__, "evalue": str(e)[:2000],
                     "mro": [k.__name__ for k in type(e).__mro__]}
        reply["forbidden"] = sorted(hits)
        self._publish(reply)


# --------------------------------------------------------------------------
# The checker: runs the check cells, never the student's code
# --------------------------------------------------------------------------

class _StudentError(Exception):
    """An exception the student's function raised whose type is not a
    built-in one (its name and message are kept)."""


class _Channel:
    """The checker's line-oriented JSON channel to the grader."""

    def __init__(self, rfile, wfile):
        self.rfile, self.wfile = rfile, wfile

    def send(self, msg):
        self.wfile.write((json.dumps(msg) + "\n").encode())
        self.wfile.flush()

    def request(self, msg):
        self.send(msg)
        line = self.rfile.readline()
        if not line:
            raise SystemExit(0)
        return json.loads(line)


class _StudentFunction:
    """Stands for a function of the student's notebook inside the checker:
    a call sends the arguments as plain data to the student's kernel and
    returns the result rebuilt from plain data."""

    def __init__(self, name, channel):
        self.__name__ = self.name = name
        self._channel = channel

    def __repr__(self):
        return f"<your {self.name}>"

    def __call__(self, *args, **kwargs):
        import builtins
        try:
            payload = {"args": _Wire.encode(list(args)), "kwargs": _Wire.encode(dict(kwargs))}
        except _Wire.Error as e:
            raise TypeError(f"the grader cannot pass {e} to {self.name}() (a limit of the grader, "
                            "not of your answer)") from None
        reply = self._channel.request({"op": "call", "name": self.name, **payload})
        status = reply.get("status")
        if status == "ok":
            for orig, after in zip(args, reply.get("after", [])):
                if after is not None:
                    _Wire.sync(orig, _Wire.decode(after))
            return _Wire.decode(reply["result"])
        if status == "raised":
            for name in reply.get("mro", []):
                cls = getattr(builtins, name, None)
                if (isinstance(cls, type) and issubclass(cls, Exception)
                        and name not in ("Exception", "BaseException")):
                    try:
                        exc = cls(reply.get("evalue", ""))
                    except Exception:
                        continue
                    break
            else:
                exc = _StudentError(f"{reply.get('ename')}: {reply.get('evalue', '')}")
            exc.__cw_student__ = True
            raise exc
        if status == "unsupported":
            raise TypeError(f"{self.name}() returned {reply.get('what')}; answers must be numbers, "
                            "strings, NumPy arrays, torch tensors, or lists, tuples or dicts of them")
        if status == "missing":
            raise NameError(f"name {self.name!r} is not defined in your notebook")
        raise RuntimeError(reply.get("message") or f"{self.name}() could not be run")


class _Opaque:
    """A name of the student's notebook whose value cannot cross as plain data."""

    def __init__(self, name, what):
        self._msg = f"your {name} is {what}; the grader can only use plain values here"

    def _fail(self, *args, **kwargs):
        raise TypeError(self._msg)
    __getattr__ = __call__ = __eq__ = __ne__ = __bool__ = __iter__ = __len__ = __getitem__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = __float__ = __int__ = __index__ = _fail
    __hash__ = object.__hash__


def _loaded_names(tree) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _stored_names(tree) -> set[str]:
    """Names a cell binds at its top level (assignments, defs, imports)."""
    names = set()
    for node in tree.body if isinstance(tree, ast.Module) else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _bound_names(tree) -> set[str]:
    """Every name a cell binds anywhere (also parameters and loop variables)."""
    names = _stored_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _checker_main():
    """Entry point of the checker process (python tools/coursework.py _checker)."""
    import builtins
    import contextlib
    import linecache
    import traceback
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                      # stray writes to fd 1 must not corrupt the channel
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(os.fdopen(1, "wb"), write_through=True)
    channel = _Channel(sys.stdin.buffer, proto_out)
    try:
        from _pytest.assertion.rewrite import rewrite_asserts
    except ImportError:                # messages then say less, grading is the same
        rewrite_asserts = None
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    channel.send({"op": "ready"})
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return
        msg = json.loads(line)
        code, label = msg["code"], msg["label"]
        out, err = io.StringIO(), None
        try:
            tree = ast.parse(code, filename=label)
            wanted = _loaded_names(tree) - set(dir(builtins))
            answers = set(msg.get("answers", []))
            # Answer names always come from the student; anything else only
            # when the checker itself lacks it.
            ask = sorted(n for n in wanted if n in answers or (n not in ns and n not in _bound_names(tree)))
            if ask:
                info = channel.request({"op": "describe", "names": ask})
                for name, d in info.items():
                    if d["kind"] == "function":
                        ns[name] = _StudentFunction(name, channel)
                    elif d["kind"] == "value":
                        ns[name] = _Wire.decode(d["value"])
                    elif d["kind"] == "opaque":
                        ns[name] = _Opaque(name, d.get("type", "an object"))
                    elif name in answers:
                        ns.pop(name, None)
            if rewrite_asserts is not None:
                rewrite_asserts(tree, code.encode(), label)
            linecache.cache[label] = (len(code), None, code.splitlines(True), label)
            compiled = compile(tree, label, "exec")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compiled, ns)
        except BaseException as e:     # a failed check: report it as data
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == label]
            err = {"ename": type(e).__name__, "evalue": str(e)[:4000],
                   "line": frames[-1].lineno if frames else None,
                   "student": bool(getattr(e, "__cw_student__", False))}
        channel.send({"op": "done", "error": err, "stdout": out.getvalue()[-20000:]})


# --------------------------------------------------------------------------
# Sandboxes (bubblewrap)
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Limits:
    """Bounds on one submission. Every cell and every check cell gets
    ``timeout`` seconds; a whole notebook ``notebook_timeout``."""
    timeout: int = 60
    notebook_timeout: int = 900
    memory_mb: int = 4096           # address space of each sandboxed process
    scratch_mb: int = 256           # each writable folder (home, /tmp, /dev/shm)
    max_output: int = 20_000        # characters of text output kept per cell
    max_rich: int = 2_000_000       # bytes of images/HTML kept per cell
    restarts: int = 3               # kernel restarts per notebook (crashes, hangs)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


class _SandboxEnv:
    """What every sandbox of one grading run shares: the read-only view of
    the file system, a matplotlib font cache, the limits."""

    def __init__(self, limits: Limits, hide: list[Path]):
        import importlib.util
        if not shutil.which("bwrap"):
            raise SystemExit("grading needs bubblewrap: apt-get install bubblewrap")
        self.limits = limits
        self.python = sys.executable
        allowed = {"/usr"}
        for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix):
            allowed |= {p, os.path.realpath(p)}
        allowed.add(os.path.dirname(os.path.realpath(sys.executable)))
        for p in sys.path:
            if p and os.path.isdir(p) and not _inside(Path(p), ROOT):
                allowed.add(os.path.realpath(p))
        spec = importlib.util.find_spec("seqlib")
        self.seqlib = [os.path.realpath(p) for p in (spec.submodule_search_locations or [])] if spec else []
        allowed |= set(self.seqlib)
        self.allowed = sorted(a for a in allowed if os.path.exists(a))
        # Folders that must stay invisible even when a bound folder holds them.
        self.hide = [str(h.resolve()) for h in hide]
        probe = subprocess.run(self.bwrap_args() + ["--", "/bin/true"], capture_output=True, text=True)
        if probe.returncode != 0:
            raise SystemExit("bubblewrap cannot create a sandbox here (it needs user namespaces; in a "
                             f"container, allow them): {probe.stderr.strip()[:500]}")
        self.mpl_cache = self._font_cache()

    def _font_cache(self) -> tuple[str, bytes] | None:
        """Matplotlib rebuilds its font list (seconds) in every fresh home;
        build it once and copy it into each sandbox."""
        with tempfile.TemporaryDirectory() as d:
            try:
                subprocess.run([self.python, "-c", "import matplotlib.font_manager"], timeout=120,
                               env={**os.environ, "MPLCONFIGDIR": d}, capture_output=True)
                found = sorted(Path(d).glob("fontlist-*.json"))
                return (found[0].name, found[0].read_bytes()) if found else None
            except (OSError, subprocess.SubprocessError):
                return None

    def bwrap_args(self) -> list[str]:
        mb = 2 ** 20
        size = str(self.limits.scratch_mb * mb)
        args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
                "--uid", "65534", "--gid", "65534", "--die-with-parent", "--new-session",
                # the scratch folders first: a read-only bind below one of them
                # (a checkout and its .venv under /tmp, as in CI) must be mounted
                # on top of the tmpfs, not hidden by it
                "--size", size, "--tmpfs", "/tmp",
                "--size", size, "--tmpfs", "/home/student", "--size", str(mb), "--tmpfs", "/run/cw"]
        # A checkout inside a scratch folder would become writable scratch
        # itself: give it an empty tmpfs of its own, made read-only below once
        # its .venv and seqlib are bound into it.
        root_in_scratch = any(_inside(ROOT, Path(d)) for d in ("/tmp", "/home/student"))
        if root_in_scratch:
            args += ["--tmpfs", str(ROOT.resolve())]
        inner = [a for a in self.allowed if any(_inside(Path(a), Path(h)) for h in self.hide)]
        for a in self.allowed:
            if a not in inner:
                args += ["--ro-bind", a, a]
        for h in self.hide:   # a bound parent would show it: cover it
            if any(_inside(Path(h), Path(a)) for a in self.allowed if a not in inner):
                args += ["--tmpfs", h]
        for a in inner:
            args += ["--ro-bind", a, a]
        for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(d):
                args += ["--symlink", os.readlink(d), d]
            elif os.path.isdir(d) and d not in self.allowed:
                args += ["--ro-bind", d, d]
        if os.path.isdir("/etc/fonts"):
            args += ["--ro-bind", "/etc/fonts", "/etc/fonts"]
        args += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm",
                 "--remount-ro", "/dev"]
        if root_in_scratch:
            args += ["--remount-ro", str(ROOT.resolve())]
        return args


class _Sandbox:
    """One process tree in bubblewrap: read-only view of the Python
    installation and seqlib; writable, size-limited home, /tmp and /run/cw;
    no network, no other processes, no capabilities; limits on address
    space and file size. ``outside(p)`` is where the grader reaches path p."""

    def __init__(self, env: _SandboxEnv, argv: list[str], files: dict[str, bytes],
                 setenv: dict[str, str], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL):
        self.tmp = tempfile.mkdtemp(prefix="cw-sb-")
        info_r, info_w = os.pipe()
        fds = [info_w]
        args = env.bwrap_args() + ["--info-fd", str(info_w)]
        for dest, data in files.items():
            parent = os.path.dirname(dest)
            if parent not in ("/run/cw", "/tmp", "/home/student"):
                args += ["--dir", parent]
            src = Path(self.tmp) / f"f{len(fds)}"
            src.write_bytes(data)
            fd = os.open(src, os.O_RDONLY)
            fds.append(fd)
            args += ["--file", str(fd), dest]
        args += ["--remount-ro", "/", "--chdir", "/home/student", "--clearenv"]
        base_env = {"HOME": "/home/student", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
                    "PATH": f"{os.path.dirname(env.python)}:/usr/local/bin:/usr/bin:/bin",
                    "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "IPYTHONDIR": "/home/student/.ipython", "JUPYTER_RUNTIME_DIR": "/tmp",
                    "MPLCONFIGDIR": "/home/student/.config/matplotlib"}
        for k, v in {**base_env, **setenv}.items():
            args += ["--setenv", k, v]
        lim = env.limits
        limit = [f"--as={lim.memory_mb * 2 ** 20}", f"--fsize={lim.scratch_mb * 2 ** 20}", "--core=0"]
        argv = (["prlimit", *limit, "--"] if shutil.which("prlimit") else []) + args + ["--"] + argv
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                     pass_fds=fds, start_new_session=True)
        for fd in fds:
            os.close(fd)
        self.stderr_tail = b""
        threading.Thread(target=self._drain, daemon=True).start()
        self.pid = self._child_pid(info_r)

    def _drain(self):
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            self.stderr_tail = (self.stderr_tail + chunk)[-8000:]

    def _child_pid(self, fd) -> int:
        import select
        data, deadline = b"", time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if ready:
                    chunk = os.read(fd, 4096)
                    data += chunk
                    try:
                        return int(json.loads(data)["child-pid"])
                    except ValueError:
                        if not chunk:
                            break
                elif self.proc.poll() is not None:
                    break
        finally:
            os.close(fd)
        self.kill()
        raise RuntimeError("the sandbox did not start: " + self.stderr_tail.decode(errors="replace")[-2000:])

    def outside(self, path: str) -> str:
        return f"/proc/{self.pid}/root{path}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclasses.dataclass
class _Run:
    status: str                      # ok, error, timeout (interrupted), killed, died, exit
    outputs: list = dataclasses.field(default_factory=list)
    error: dict | None = None
    payload: object = None           # what the grader's probe published


class _Kernel:
    """The student's IPython kernel in a sandbox, driven over ZeroMQ (IPC
    sockets inside the sandbox, reached through /proc/<pid>/root)."""

    def __init__(self, env: _SandboxEnv):
        self.env, self.sb, self.kc, self.zctx = env, None, None, None

    def start(self, timeout: float = 90):
        import zmq
        from jupyter_client.blocking import BlockingKernelClient
        info = {"transport": "ipc", "ip": "/run/cw/k", "shell_port": 1, "iopub_port": 2,
                "stdin_port": 3, "control_port": 4, "hb_port": 5, "key": secrets.token_hex(16),
                "signature_scheme": "hmac-sha256", "kernel_name": ""}
        files = {"/run/cw/kernel.json": json.dumps(info).encode()}
        if self.env.mpl_cache:
            files["/home/student/.config/matplotlib/" + self.env.mpl_cache[0]] = self.env.mpl_cache[1]
        self.sb = _Sandbox(self.env, [self.env.python, "-m", "ipykernel_launcher", "-f",
                                      "/run/cw/kernel.json", "--HistoryManager.enabled=False"],
                           files, {})
        self.zctx = zmq.Context()
        # A larger message (a huge print, say) drops the connection instead of
        # filling the grader's memory; the cell then times out.
        self.zctx.setsockopt(zmq.MAXMSGSIZE, 160 * 2 ** 20)
        self.kc = BlockingKernelClient(context=self.zctx)
        self.kc.load_connection_info(dict(info, ip=self.sb.outside("/run/cw/k")))
        self.kc.start_channels(hb=False)
        deadline = time.monotonic() + timeout
        # Ready means: it answers on the shell channel and its IOPub output
        # reaches us (a SUB socket misses what is sent before it connects).
        while time.monotonic() < deadline:
            if not self.sb.alive():
                break
            run = self.execute("pass", min(2.0, deadline - time.monotonic()), silent=True, interrupt=False)
            if run.status == "ok":
                return
        err = self.sb.stderr_tail.decode(errors="replace")[-1500:]
        self.close()
        raise RuntimeError(f"the student's kernel did not start: {err}")

    def close(self):
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self.sb is not None:
            self.sb.kill()
        if self.zctx is not None:
            self.zctx.destroy(linger=0)
        self.kc = self.sb = self.zctx = None

    def _interrupt(self):
        try:
            self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
        except Exception:
            pass

    def execute(self, code: str, timeout: float, silent: bool = False, interrupt: bool = True,
                max_text: int = 20_000, max_rich: int = 2_000_000) -> _Run:
        """Run one cell; collect its outputs (capped) until the kernel is idle,
        the time is up (interrupt, then kill) or the kernel dies."""
        if self.kc is None:
            return _Run("died")
        msg_id = self.kc.execute(code, silent=silent, store_history=not silent,
                                 allow_stdin=False, stop_on_error=False)
        run, text, rich, dropped = _Run("ok"), 0, 0, 0
        deadline, interrupted = time.monotonic() + max(timeout, 0.1), None
        while True:
            now = time.monotonic()
            if now > deadline:
                if interrupted is None and interrupt:
                    self._interrupt()
                    interrupted, deadline = now, now + 5
                    continue
                if interrupt:
                    self.close()
                    run.status = "killed"
                else:
                    run.status = "timeout"
                break
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if not self.sb.alive():
                    run.status = "died"
                    break
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                if interrupted is not None:
                    run.status = "timeout"
                break
            if kind == "stream":
                s = content.get("text", "")
                keep = s[:max(0, max_text - text)]
                dropped += len(s) - len(keep)
                text += len(keep)
                if keep:
                    last = run.outputs[-1] if run.outputs else None
                    if last and last["output_type"] == "stream" and last["name"] == content["name"]:
                        last["text"] += keep
                    else:
                        run.outputs.append({"output_type": "stream", "name": content["name"], "text": keep})
            elif kind in ("display_data", "execute_result"):
                data = content.get("data", {})
                if _Probe.MIME in data:
                    run.payload = data[_Probe.MIME]
                    continue
                size = sum(len(json.dumps(v)) for v in data.values())
                if rich + size > max_rich:
                    dropped += size
                    continue
                rich += size
                out = {"output_type": kind, "data": data, "metadata": content.get("metadata", {})}
                if kind == "execute_result":
                    out["execution_count"] = content.get("execution_count")
                run.outputs.append(out)
            elif kind == "error":
                tb = [line[:2000] for line in content.get("traceback", [])][-40:]
                run.error = {"ename": content.get("ename", ""), "evalue": str(content.get("evalue", ""))[:4000]}
                run.outputs.append({"output_type": "error", "traceback": tb, **run.error})
                run.status = "error"
        if dropped:
            run.outputs.append({"output_type": "stream", "name": "stderr",
                                "text": f"\n[the grader cut {dropped} more characters of output]\n"})
        # The reply says whether the cell called exit(): IPython then stops the
        # kernel a moment later. Stop it now, so that what follows does not
        # depend on that moment.
        reply_deadline = time.monotonic() + 5
        while self.kc is not None and run.status in ("ok", "error", "timeout"):
            try:
                reply = self.kc.get_shell_msg(timeout=max(0.0, reply_deadline - time.monotonic()))
            except queue.Empty:
                break
            if reply["parent_header"].get("msg_id") == msg_id:
                if any(p.get("source") == "ask_exit" and not p.get("keepkernel")
                       for p in reply["content"].get("payload", [])):
                    self.close()
                    run.status = "exit"
                break
        return run


class _Checker:
    """The process that runs the check cells (in its own sandbox)."""

    def __init__(self, env: _SandboxEnv):
        self.env = env
        files = {"/opt/cw/coursework.py": Path(__file__).read_bytes()}
        code = "import sys; sys.path.insert(0, '/opt/cw'); import coursework; coursework._checker_main()"
        self.sb = _Sandbox(env, [env.python, "-c", code], files, {"MPLBACKEND": "Agg"},
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def wait_ready(self, timeout: float = 120):
        if (self.recv(timeout) or {}).get("op") != "ready":
            err = self.sb.stderr_tail.decode(errors="replace")[-1500:]
            self.close()
            raise RuntimeError(f"the checker did not start: {err}")

    def _read(self):
        for line in self.sb.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, msg):
        self.sb.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.sb.proc.stdin.flush()

    def recv(self, timeout: float):
        try:
            line = self.lines.get(timeout=max(timeout, 0.01))
        except queue.Empty:
            return None
        return json.loads(line) if line else {"op": "died"}

    def close(self):
        self.sb.kill()


# --------------------------------------------------------------------------
# One assignment, one submission
# --------------------------------------------------------------------------

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS[ \t]*\n?(.*?)### END HIDDEN TESTS[ \t]*\n?", re.S)
_META_KEYS = ("grade", "solution", "locked", "points", "grade_id", "task")


def _check_parts(source: str) -> list[tuple[str, str]]:
    """A check cell as ("visible"|"hidden", code) parts, in order."""
    parts, pos = [], 0
    for m in _HIDDEN.finditer(source):
        if source[pos:m.start()].strip():
            parts.append(("visible", source[pos:m.start()]))
        parts.append(("hidden", m.group(1)))
        pos = m.end()
    if source[pos:].strip():
        parts.append(("visible", source[pos:]))
    try:
        for _, code in parts:
            ast.parse(code)
    except SyntaxError:               # hidden tests inside a block: run the cell whole
        return [("hidden", _HIDDEN.sub(lambda m: m.group(1), source))]
    return parts


@dataclasses.dataclass
class _Exercise:
    ex: str                          # "ch1-ex2"
    kind: str                        # "auto" or "manual"
    gid: str                         # the graded cell: "...-check" or "...-answer"
    points: float
    meta: dict                       # the graded cell's nbgrader metadata as released
    released: str                    # its source as released
    solution: str | None = None      # the answer cell of an auto-graded exercise
    parts: list = dataclasses.field(default_factory=list)
    given: list = dataclasses.field(default_factory=list)
    rules: list = dataclasses.field(default_factory=list)


class _Assignment:
    """What grading needs to know about one released chapter."""

    def __init__(self, course: Path, aid: str):
        found = sorted((course / "source" / aid).glob("*.ipynb"))
        if len(found) != 1:
            raise SystemExit(f"{course / 'source' / aid} must hold exactly one notebook; run release")
        self.aid, self.name = aid, found[0].name
        self.source = nbformat.read(found[0], as_version=4)
        self.release = nbformat.read(course / "release" / aid / self.name, as_version=4)
        self.title = self.release.cells[0].source.splitlines()[0].lstrip("# ").strip()
        self.title = self.title.removeprefix("Exercises:").removeprefix("练习：").strip()
        released = {_nbgrader(c).get("grade_id"): c for c in self.release.cells if _nbgrader(c)}
        self.setup = next(c.source for c in self.source.cells
                          if _nbgrader(c).get("grade_id") == f"{aid}-setup")
        self.trusted = {f"{aid}-setup", f"{aid}-install", f"{aid}-intro"}
        setup_tree = ast.parse(self.setup)
        self.imported = _stored_names(setup_tree)
        self.answer_names: set[str] = set()
        self.exercises: list[_Exercise] = []
        solutions, given = {}, []
        for cell in self.source.cells:
            meta = _nbgrader(cell)
            gid = meta.get("grade_id", "")
            if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
                ex = gid.removesuffix("-solution")
                solutions[ex] = gid
                tree = ast.parse(cell.source)
                imports = {(a.asname or a.name).split(".")[0] for n in tree.body
                           if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
                self.answer_names |= _stored_names(tree) - imports
            elif meta.get("grade"):
                auto = cell.cell_type == "code" and not meta.get("solution")
                ex = gid.rsplit("-", 1)[0]
                rel = released[gid]
                self.exercises.append(_Exercise(
                    ex=ex, kind="auto" if auto else "manual", gid=gid, points=float(meta.get("points", 0)),
                    meta={k: _nbgrader(rel).get(k) for k in _META_KEYS}, released=rel.source,
                    solution=solutions.get(ex) if auto else None,
                    parts=_check_parts(cell.source) if auto else [], given=given if auto else [],
                    rules=forbid_rules(ex, cell.metadata.get("coursework")) if auto else []))
                if auto:
                    given = []
            elif cell.cell_type == "code" and gid not in self.trusted:
                given.append(cell.source)    # code handed out as it is; the checks may need it
        for e in self.exercises:             # a solution cell may carry the forbid list too
            src = next((c for c in self.source.cells if _nbgrader(c).get("grade_id") == e.solution), None)
            if src is not None and "coursework" in src.metadata:
                e.rules = forbid_rules(e.ex, src.metadata["coursework"])


@dataclasses.dataclass
class _Job:
    student: str
    aid: str
    path: Path | None = None
    problem: str | None = None       # why it cannot be graded (renamed, ...)
    status: str = "graded"           # or "not submitted", "not graded"
    submitted: dt.datetime | None = None
    submitted_from: str = ""


@dataclasses.dataclass
class _Outcome:
    job: _Job
    results: dict                    # ex -> (score or None, status, reason)
    graded: object = None            # the notebook as graded (hidden tests, outputs)
    feedback: object = None          # the notebook for the student
    seconds: float = 0.0
    notes: list = dataclasses.field(default_factory=list)


def _first_line(text: str, n: int = 300) -> str:
    """A message on one line, at most n characters (reasons go into CSV cells)."""
    text = re.sub(r"\\n\s*", " ", str(text))                   # newlines inside a repr
    text = re.sub(r" \(\d+\.py, line (\d+)\)", r" (line \1)", text)  # IPython's cell file names
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


class _Grading:
    """Grades one notebook: the student's cells in a sandboxed kernel, the
    check cells in a sandboxed checker that calls into the kernel."""

    PROBE_CALL = "__import__('sys').modules['_cw_probe'].{kind}({payload!r})"

    def __init__(self, job: _Job, spec: _Assignment, env: _SandboxEnv):
        self.job, self.spec, self.env, self.lim = job, spec, env, env.limits
        self.kernel: _Kernel | None = None
        self.checker: _Checker | None = None
        self.history: list[str] = []
        self.outputs: dict[int, list] = {}
        self.cell_errors: dict[int, str] = {}
        self.checks: dict[str, dict] = {}
        self.notes: list[str] = []
        self.restarts = 0
        self.deadline = time.monotonic() + self.lim.notebook_timeout

    # -- time --------------------------------------------------------------
    def cell_timeout(self) -> float:
        return max(0.0, min(self.lim.timeout, self.deadline - time.monotonic()))

    # -- the student's kernel ----------------------------------------------
    @staticmethod
    def _probe_install() -> str:
        import inspect
        with _AST_LOCK:
            src = inspect.getsource(_Wire) + "\n\n" + inspect.getsource(_Probe)
        src += "\n\n_probe = _Probe(get_ipython())\ndescribe, call = _probe.describe, _probe.call\n"
        return ("import types as _cw_t, sys as _cw_s\n_cw_m = _cw_t.ModuleType('_cw_probe')\n"
                "_cw_m.get_ipython = get_ipython\n"
                f"exec(compile({src!r}, '<grader>', 'exec'), _cw_m.__dict__)\n"
                "_cw_s.modules['_cw_probe'] = _cw_m\ndel _cw_t, _cw_s, _cw_m\n")

    def start_kernel(self) -> bool:
        kernel = _Kernel(self.env)
        try:
            kernel.start()
        except RuntimeError as e:
            self.notes.append(_first_line(str(e)))
            return False
        # The probe goes in before any student code runs; then the trusted set-up.
        if kernel.execute(self._probe_install(), 60, silent=True).status != "ok":
            kernel.close()
            self.notes.append("the grader's helper could not be installed in the kernel")
            return False
        kernel.execute(self.spec.setup, max(self.cell_timeout(), 30))
        self.kernel = kernel
        return True

    def restart_kernel(self, why: str):
        if self.kernel is not None:
            self.kernel.close()
        self.kernel = None
        if self.restarts >= self.lim.restarts or self.cell_timeout() <= 0:
            self.notes.append(f"{why}; the kernel was not restarted again")
            return
        self.restarts += 1
        self.notes.append(f"{why}; the grader restarted the kernel and re-ran the cells before it")
        if not self.start_kernel():
            return
        for code in self.history:
            run = self.kernel.execute(code, self.cell_timeout())
            if run.status in ("killed", "died", "exit"):
                self.kernel.close()
                self.kernel = None
                self.notes.append("re-running the earlier cells failed; later cells were not run")
                return

    def run_student_cell(self, i: int, code: str):
        if self.kernel is None:
            self.cell_errors[i] = "not run: the notebook's kernel had stopped"
            return
        timeout = self.cell_timeout()
        if timeout <= 0:
            self.cell_errors[i] = f"not run: the notebook used up its {self.lim.notebook_timeout} s"
            return
        run = self.kernel.execute(code, timeout, max_text=self.lim.max_output, max_rich=self.lim.max_rich)
        self.outputs[i] = run.outputs
        if run.status == "ok":
            self.history.append(code)
        elif run.status == "error":
            self.history.append(code)
            err = run.error or {}
            self.cell_errors[i] = f"{err.get('ename')}: {_first_line(err.get('evalue', ''), 200)}".rstrip(": ")
        elif run.status == "timeout":
            self.cell_errors[i] = f"Timeout: the cell ran longer than {timeout:.0f} s and was interrupted"
        elif run.status == "killed":
            self.cell_errors[i] = (f"Timeout: the cell ran longer than {timeout:.0f} s and did not stop when "
                                   "interrupted, so the grader stopped its kernel")
            self.restart_kernel(f"code cell {self._code_number(i)} ignored the interrupt")
        elif run.status == "exit":
            self.cell_errors[i] = "the cell called exit(), which ends the kernel"
            self.restart_kernel(f"code cell {self._code_number(i)} called exit()")
        else:
            self.cell_errors[i] = ("the kernel died while running this cell (exit(), os._exit(), a crash, "
                                   "or more memory than allowed)")
            self.restart_kernel(f"code cell {self._code_number(i)} ended the kernel")

    def _code_number(self, i: int) -> int:
        return sum(1 for c in self.nb.cells[:i + 1] if c.cell_type == "code")

    def probe(self, kind: str, payload: dict, deadline: float) -> dict | None:
        """Ask the kernel's probe; None when the kernel cannot answer."""
        name = payload.get("name", "")
        if self.kernel is None:
            return {"status": "error", "ename": "RuntimeError",
                    "message": "your notebook's kernel had stopped, so the function could not be called"}
        timeout = max(0.0, min(deadline, self.deadline) - time.monotonic())
        run = self.kernel.execute(self.PROBE_CALL.format(kind=kind, payload=json.dumps(payload)), timeout,
                                  silent=True, max_text=2000, max_rich=0)
        if run.status in ("killed", "died", "exit"):
            what = ("ran longer than the time limit and ignored the interrupt" if run.status == "killed"
                    else "ended the kernel (exit(), os._exit(), a crash or too much memory)")
            self.restart_kernel(f"{name or 'the grader'}() {what}")
            return {"status": "error", "ename": "TimeoutError" if run.status == "killed" else "RuntimeError",
                    "message": f"your {name}() {what}"}
        if run.status == "timeout":
            return {"status": "error", "ename": "TimeoutError",
                    "message": f"your {name}() ran longer than {self.lim.timeout} s and was interrupted"}
        if not isinstance(run.payload, dict):
            return None
        return run.payload

    # -- the checker -------------------------------------------------------
    def start_checker(self, spawned: "_Checker | None" = None) -> bool:
        # Sandboxes are started from this thread only: bubblewrap's
        # --die-with-parent follows the thread that started it.
        try:
            self.checker = spawned or _Checker(self.env)
            self.checker.wait_ready()
        except RuntimeError as e:
            self.notes.append(_first_line(str(e)))
            self.checker = None
            return False
        self.checker_exec(self.spec.setup, f"{self.spec.aid}-setup", set(), [])
        return True

    def checker_exec(self, code: str, label: str, hits: set, rules: list) -> dict:
        if self.checker is None and not self.start_checker():
            return {"error": {"ename": "GraderError", "evalue": "the checker could not start"}}
        deadline = time.monotonic() + self.cell_timeout()
        self.checker.send({"op": "exec", "code": code, "label": label,
                           "answers": sorted(self.spec.answer_names)})
        while True:
            # The kernel side enforces the time limit; the grace covers a kill and restart.
            msg = self.checker.recv(deadline - time.monotonic() + 90)
            if msg is None or msg.get("op") == "died":
                self.checker.close()
                self.checker = None
                return {"error": {"ename": "GraderError", "evalue": "the checker stopped (a grader problem, "
                                  "not the student's): grade this notebook again"}}
            op = msg.get("op")
            if op == "describe":
                names = [n for n in msg.get("names", []) if isinstance(n, str)]
                got = self.probe("describe", {"names": names}, deadline) or {}
                reply = {}
                for n in names:
                    d = got.get(n) if isinstance(got.get(n), dict) else None
                    reply[n] = d if d and d.get("kind") in ("function", "value", "opaque") else {"kind": "missing"}
                self.checker.send(reply)
            elif op == "call":
                payload = {"name": msg.get("name"), "args": msg.get("args"), "kwargs": msg.get("kwargs"),
                           "forbid": [[label_, paths] for label_, paths, _ in rules]}
                reply = self.probe("call", payload, deadline)
                if reply is None:
                    reply = {"status": "error", "ename": "RuntimeError",
                             "message": "the grader could not reach your function (the notebook "
                                        "interfered with the grader's helper)"}
                hits.update(x for x in reply.get("forbidden", []) if isinstance(x, str))
                self.checker.send(reply)
            elif op == "done":
                return msg

    def run_check(self, ex: _Exercise):
        res = {"status": "passed", "stdout": [], "error": None, "part": None, "hits": set()}
        for code in ex.given:
            self.checker_exec(code, f"{ex.gid} (given code)", set(), [])
        for kind, code in ex.parts:
            done = self.checker_exec(code, f"{ex.gid} ({kind})", res["hits"], ex.rules)
            res["stdout"].append((kind, done.get("stdout", "")))
            if done.get("error"):
                res.update(status="failed", error=done["error"], part=kind)
                break
        self.checks[ex.ex] = res

    # -- the whole notebook --------------------------------------------------
    def run(self) -> _Outcome:
        t0 = time.monotonic()
        spec = self.spec
        try:
            if self.job.path.stat().st_size > 50 * 2 ** 20:
                raise ValueError("larger than 50 MB")
            self.nb = nbformat.read(self.job.path, as_version=4)
            for cell in self.nb.cells:
                cell.cell_type, cell.source   # a cell without them is unusable
        except Exception as e:
            reason = f"not a readable notebook ({type(e).__name__}: {_first_line(str(e), 150)})"
            return _Outcome(self.job, {e.ex: (0.0, "graded", reason) for e in spec.exercises},
                            seconds=time.monotonic() - t0)
        nb = self.nb
        first: dict[str, int] = {}
        for i, cell in enumerate(nb.cells):
            gid = _nbgrader(cell).get("grade_id")
            if gid and gid not in first:
                first[gid] = i
            elif gid:                       # a copy (nbgrader keeps the first one too)
                cell.metadata.pop("nbgrader", None)
        problems = {}
        for e in spec.exercises:
            i = first.get(e.gid)
            if i is None:
                problems[e.ex] = (f"the {'check' if e.kind == 'auto' else 'answer'} cell {e.gid} is missing "
                                  "(deleted, or its nbgrader metadata was changed)")
                continue
            got = _nbgrader(nb.cells[i])
            diffs = [f"{k} {e.meta.get(k)!r} -> {got.get(k)!r}" for k in _META_KEYS if got.get(k) != e.meta.get(k)]
            if diffs:
                problems[e.ex] = f"the nbgrader metadata of {e.gid} was edited ({'; '.join(diffs)})"
            elif e.kind == "auto" and e.solution not in first:
                problems[e.ex] = f"the answer cell {e.solution} is missing"
        checks = {e.gid: e for e in spec.exercises if e.kind == "auto" and e.ex not in problems}
        student_code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                        and _nbgrader(c).get("grade_id") not in spec.trusted
                        and _nbgrader(c).get("grade_id") not in {e.gid for e in spec.exercises}]
        found = [f"code cell {self._code_number(i)} {what}"
                 for i, c in student_code for what in [tampering(c.source, spec.imported)] if what]
        tamper = f"tampering with the grader: {'; '.join(found)}" if found else None
        static = {e.ex: forbidden_names(nb.cells[first[e.solution]].source, e.rules, spec.imported)
                  for e in spec.exercises if e.kind == "auto" and e.solution in first}
        # The checker starts while the kernel starts: both import torch.
        try:
            spawned = _Checker(self.env)
        except RuntimeError as e:
            spawned = None
            self.notes.append(_first_line(str(e)))
        kernel_ok = self.start_kernel()
        if spawned is not None:
            self.start_checker(spawned)
        if not kernel_ok:
            self.notes.append("the notebook could not be run")
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            gid = _nbgrader(cell).get("grade_id")
            if gid in spec.trusted:
                continue                     # install and set-up: the grader's own copies ran
            if gid in checks:
                if self.cell_timeout() > 0:
                    self.run_check(checks[gid])
            elif gid and any(e.gid == gid for e in spec.exercises):
                continue                     # a check cell whose exercise already scored 0
            else:
                self.run_student_cell(i, cell.source)
        if self.kernel is not None:
            self.kernel.close()
        if self.checker is not None:
            self.checker.close()
        results = self._score(first, problems, tamper, static)
        out = _Outcome(self.job, results, seconds=time.monotonic() - t0, notes=self.notes)
        out.graded, out.feedback = self._notebooks(first, results)
        return out

    def _score(self, first, problems, tamper, static) -> dict:
        results = {}
        for e in self.spec.exercises:
            i = first.get(e.gid)
            if e.kind == "manual":
                if e.ex in problems:
                    results[e.ex] = (0.0, "graded", problems[e.ex])
                    continue
                text = self.nb.cells[i].source.strip()
                if not text or text == e.released.strip():
                    results[e.ex] = (0.0, "graded", "no answer written")
                else:
                    results[e.ex] = (None, "needs manual grading", "")
                continue
            if tamper:
                results[e.ex] = (0.0, "graded", tamper)
            elif e.ex in problems:
                results[e.ex] = (0.0, "graded", problems[e.ex])
            elif e.ex not in self.checks:
                why = "; ".join(self.notes[-1:]) or f"the notebook used up its {self.lim.notebook_timeout} s"
                results[e.ex] = (0.0, "graded", f"not checked: {why}")
            else:
                res = self.checks[e.ex]
                labels = sorted(res["hits"] | static.get(e.ex, set()))
                if labels:
                    results[e.ex] = (0.0, "graded", f"uses {', '.join(labels)}, which this exercise "
                                                    "forbids (the task is to compute it by hand)")
                elif res["status"] == "passed":
                    results[e.ex] = (e.points, "graded", "")
                else:
                    err = res["error"]
                    where = "a hidden check" if res["part"] == "hidden" else "a visible check"
                    what = f"{err['ename']}: {_first_line(err['evalue'], 240)}".rstrip(": ")
                    if err.get("student"):
                        what = f"your code raised {what}"
                    reason = f"{where} failed: {what}"
                    sol = self.cell_errors.get(first.get(e.solution))
                    if sol:
                        reason = f"your answer cell: {sol}; then {reason}"
                    results[e.ex] = (0.0, "graded", reason)
        return results

    def _notebooks(self, first, results):
        """The graded notebook (for instructors) and the feedback notebook."""
        spec = self.spec
        graded, feedback = copy.deepcopy(self.nb), copy.deepcopy(self.nb)
        by_gid = {e.gid: e for e in spec.exercises}
        source_cells = {_nbgrader(c).get("grade_id"): c for c in spec.source.cells if _nbgrader(c)}
        for i, (g, f) in enumerate(zip(graded.cells, feedback.cells)):
            if g.cell_type != "code":
                continue
            for c in (g, f):
                c.execution_count = None
                c.outputs = [nbformat.from_dict(o) for o in self.outputs.get(i, [])]
            gid = _nbgrader(g).get("grade_id")
            if i in self.cell_errors and not self.outputs.get(i):
                note = nbformat.v4.new_output("stream", name="stderr", text=f"[grader] {self.cell_errors[i]}\n")
                g.outputs.append(note)
                f.outputs.append(copy.deepcopy(note))
            if gid in spec.trusted:
                for c in (g, f):
                    c.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                        text="[grader] this cell ran as handed out\n")]
            if gid in by_gid and first.get(gid) == i:
                e = by_gid[gid]
                g.source = source_cells[gid].source
                f.source = e.released
                res = self.checks.get(e.ex)
                score, _, reason = results[e.ex]
                for kind, text in (res or {}).get("stdout", []):
                    if text:
                        g.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
                        if kind == "visible":
                            f.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))
                verdict = (f"[grader] {score:g} of {e.points:g} points" +
                           (f": {reason}" if reason else ""))
                g.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=verdict + "\n"))
                if res and res["part"] == "hidden" and not res["hits"]:
                    err = res["error"]
                    verdict = (f"[grader] {score:g} of {e.points:g} points: the visible checks pass, but a "
                               f"hidden check failed ({err['ename']}). Test your code on other inputs.")
                f.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=verdict + "\n"))
        rows = []
        for e in spec.exercises:
            score, _, reason = results[e.ex]
            res = self.checks.get(e.ex)
            if res and res["part"] == "hidden" and not res["hits"] and not reason.startswith("uses"):
                reason = f"a hidden check failed ({res['error']['ename']})"   # hidden tests stay hidden
            reason = reason.replace("|", "/").replace("<", "&lt;").replace("`", "'")
            rows.append(f"| {e.ex} | {'written' if e.kind == 'manual' else 'auto-graded'} | "
                        f"{'pending' if score is None else format(score, 'g')} / {e.points:g} | {reason} |")
        header = (f"# Feedback: {spec.title}\n\nStudent `{self.job.student}`, assignment `{spec.aid}`.\n\n"
                  "| exercise | kind | score | why points were lost |\n|---|---|---|---|\n" + "\n".join(rows))
        if self.notes:
            header += "\n\nNotes from the grader:\n\n" + "\n".join(
                f"- {n}".replace("<", "&lt;").replace("`", "'") for n in self.notes)
        feedback.cells.insert(0, nbformat.v4.new_markdown_cell(header))
        return graded, feedback


# --------------------------------------------------------------------------
# Many submissions: discovery, reports, gradebook
# --------------------------------------------------------------------------

SCORE_FIELDS = ["student", "assignment", "exercise", "kind", "score", "max_score", "status",
                "reason", "submitted_at", "late_by_hours"]
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


def _utc(value: str) -> dt.datetime:
    """A date and time; without a zone it is read as UTC."""
    from dateutil import parser
    t = parser.parse(value)
    return (t.astimezone(dt.timezone.utc) if t.tzinfo else t.replace(tzinfo=dt.timezone.utc))


def parse_due(values: list[str] | None, aids: list[str]) -> dict[str, dt.datetime]:
    """--due "2026-12-01 23:59" (every chapter) or --due "ch03=2026-12-08 23:59+08:00"."""
    due = {}
    for v in values or []:
        m = re.match(r"^(ch\d+)=(.+)$", v.strip())
        for aid in ([m.group(1)] if m else aids):
            due[aid] = _utc(m.group(2) if m else v)
    return due


def _timestamp(folder: Path, nb: Path) -> tuple[dt.datetime | None, str]:
    """When the work was handed in: nbgrader's timestamp.txt if present,
    else the notebook file's modification time."""
    ts = folder / "timestamp.txt"
    if ts.is_file() and not ts.is_symlink():
        try:
            return _utc(ts.read_text()[:100].strip()), "timestamp.txt"
        except (ValueError, OverflowError):
            pass
    try:
        return dt.datetime.fromtimestamp(nb.stat().st_mtime, dt.timezone.utc), "file time"
    except OSError:
        return None, ""


def discover(submissions: Path, specs: dict[str, _Assignment], roster: list[str] = ()) -> list[_Job]:
    """One job per student and assignment: a notebook to grade, or the reason
    there is none. Reads SUBMISSIONS only; follows no symbolic links."""
    jobs = []
    folders = {p.name: p for p in submissions.iterdir() if p.is_dir() and not p.is_symlink()}
    links = {p.name for p in submissions.iterdir() if p.is_symlink()}
    for student in sorted(set(folders) | set(roster) | links):
        folder = folders.get(student)
        if student in links:
            jobs += [_Job(student, aid, status="not graded",
                          problem="the student folder is a symbolic link: not graded") for aid in specs]
            continue
        if not _SAFE_NAME.fullmatch(student):
            for aid in specs:
                jobs.append(_Job(student, aid, status="not graded",
                                 problem=f"the student folder name {student!r} has characters the grader "
                                         "does not accept (letters, digits and . _ @ + - only); rename it"))
            continue
        misplaced = {}
        entries = sorted(folder.iterdir()) if folder else []
        for p in entries:
            if p.name in specs:
                continue
            m = re.fullmatch(r"ch(?:apter)?[ _-]?0*(\d+)", p.name, re.I)
            stem = re.match(r"^(\d+)_", p.name)
            aid = f"ch{int(m.group(1)):02d}" if m else (f"ch{stem.group(1)}" if stem and p.suffix == ".ipynb" else None)
            if aid in specs and not (folder / aid).exists():
                misplaced[aid] = (f"the notebook is in a folder named {p.name!r}, not {aid!r}" if p.is_dir()
                                  else f"the notebook {p.name!r} is not in a folder named {aid!r}"
                                  ) + ": move it and grade again"
        for aid, spec in specs.items():
            sub = folder / aid if folder else None
            if sub is None or not sub.exists():
                if aid in misplaced:
                    jobs.append(_Job(student, aid, status="not graded", problem=misplaced[aid]))
                else:
                    jobs.append(_Job(student, aid, status="not submitted", problem="not submitted"))
                continue
            if sub.is_symlink() or not sub.is_dir():
                jobs.append(_Job(student, aid, status="not graded",
                                 problem=f"{aid} is a link or a file, not a folder: not graded"))
                continue
            nbs = sorted(p for p in sub.iterdir() if p.suffix == ".ipynb")
            path = sub / spec.name
            submitted, source = _timestamp(sub, path if path.exists() else (nbs[0] if nbs else sub))
            job = _Job(student, aid, submitted=submitted, submitted_from=source)
            if path.is_symlink() or (path.exists() and not path.is_file()):
                job.status, job.problem = "not graded", f"{spec.name} is a link, not a file: not graded"
            elif path.is_file():
                job.path = path
            elif nbs:
                job.status, job.problem = "not graded", (
                    f"the notebook is named {nbs[0].name!r}, not {spec.name!r} (renamed); rename it "
                    "and grade again")
            else:
                job.status, job.problem = "not graded", f"the folder {aid}/ holds no notebook"
            jobs.append(job)
    return jobs


def _rows(out: _Outcome, spec: _Assignment, due: dict) -> list[dict]:
    job = out.job
    late = ""
    if job.submitted and spec.aid in due:
        hours = (job.submitted - due[spec.aid]).total_seconds() / 3600
        late = f"{max(hours, 0.0):.2f}"
    rows = []
    for e in spec.exercises:
        score, status, reason = out.results.get(e.ex, (0.0, job.status, job.problem or ""))
        rows.append({"student": job.student, "assignment": spec.aid, "exercise": e.ex,
                     "kind": "written" if e.kind == "manual" else "auto",
                     "score": "" if score is None else f"{score:g}", "max_score": f"{e.points:g}",
                     "status": status, "reason": reason,
                     "submitted_at": job.submitted.strftime("%Y-%m-%d %H:%M:%S UTC") if job.submitted else "",
                     "late_by_hours": late})
    return rows


def _write_csv(path: Path, fields: list[str], rows: list[dict]):
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def _save_to_gradebook(gb, out: _Outcome, spec: _Assignment):
    """Record a graded submission for nbgrader's formgrader and export; a
    manual grade already given is kept."""
    job = out.job
    gb.update_or_create_student(job.student)
    gb.update_or_create_submission(spec.aid, job.student, timestamp=job.submitted)
    stem = Path(spec.name).stem
    for e in spec.exercises:
        grade = gb.find_grade(e.gid, stem, spec.aid, job.student)
        score = out.results[e.ex][0]
        grade.auto_score = score
        grade.needs_manual_grade = grade.manual_score is None and score is None
    gb.db.commit()


def _manual_scores(course: Path) -> dict[tuple[str, str, str], float]:
    """(student, assignment, exercise) -> score given in the formgrader."""
    db = course / "gradebook.db"
    if not db.exists():
        return {}
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        if g.manual_score is not None:
                            out[(sub.student.id, a.name, g.name.rsplit("-", 1)[0])] = float(g.manual_score)
    return out


def write_reports(course: Path, specs: dict[str, _Assignment] | None = None) -> dict[str, Path]:
    """Rewrite scores.csv (sorted, manual grades from the gradebook merged
    in), totals.csv and canvas.csv from scores.csv."""
    path = course / "scores.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    manual = _manual_scores(course)
    for r in rows:
        key = (r["student"], r["assignment"], r["exercise"])
        if r["kind"] == "written" and key in manual:
            r["score"], r["status"] = f"{manual[key]:g}", "graded by hand"
    order = {}
    for r in rows:
        order.setdefault((r["assignment"], r["exercise"]), len(order))
    rows.sort(key=lambda r: (r["student"], r["assignment"], order[(r["assignment"], r["exercise"])]))
    _write_csv(path, SCORE_FIELDS, rows)
    aids = sorted({r["assignment"] for r in rows})
    titles = {aid: (specs[aid].title if specs and aid in specs else aid) for aid in aids}
    totals, maxima = {}, {}
    for r in rows:
        t = totals.setdefault(r["student"], {"auto": 0.0, "written": 0.0, "pending": 0, "late": set(),
                                             **{aid: 0.0 for aid in aids}})
        s = float(r["score"]) if r["score"] else 0.0
        t[r["assignment"]] += s
        t["auto" if r["kind"] == "auto" else "written"] += s
        t["pending"] += r["status"] == "needs manual grading"
        if r["late_by_hours"] and float(r["late_by_hours"]) > 0:
            t["late"].add(r["assignment"])
        if r["student"] == rows[0]["student"]:
            maxima[r["assignment"]] = maxima.get(r["assignment"], 0.0) + float(r["max_score"])
    fields = ["student", *aids, "auto_points", "written_points", "written_pending", "total", "max_total", "late"]
    total_rows = [{"student": s, **{aid: f"{t[aid]:g}" for aid in aids}, "auto_points": f"{t['auto']:g}",
                   "written_points": f"{t['written']:g}", "written_pending": t["pending"],
                   "total": f"{t['auto'] + t['written']:g}", "max_total": f"{sum(maxima.values()):g}",
                   "late": " ".join(sorted(t["late"]))} for s, t in sorted(totals.items())]
    _write_csv(course / "totals.csv", fields, total_rows)
    # Canvas's gradebook import: these five columns, then one column per
    # assignment (a new name creates the assignment), and a "Points Possible" row.
    cols = [f"Exercises: {titles[aid]} ({aid})" for aid in aids]
    canvas = [{"Student": "Points Possible", **{c: f"{maxima[a]:g}" for c, a in zip(cols, aids)}}]
    canvas += [{"Student": s, "SIS Login ID": s, **{c: f"{t[a]:g}" for c, a in zip(cols, aids)}}
               for s, t in sorted(totals.items())]
    _write_csv(course / "canvas.csv", ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *cols], canvas)
    return {"scores": path, "totals": course / "totals.csv", "canvas": course / "canvas.csv"}


_SAFE_MIME = ("text/plain", "image/png", "image/jpeg", "text/latex")


def _defuse_markdown(text: str) -> str:
    """Escape raw HTML tags outside code, so a student's Markdown cannot put
    scripts into a feedback page (nbconvert 7's own sanitizer mangles the
    headings and tables it renders)."""
    parts = re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.S)
    return "".join(p if i % 2 else re.sub(r"<(?=[A-Za-z/!?])", "&lt;", p) for i, p in enumerate(parts))


def _feedback_html(nb) -> str:
    from nbconvert import HTMLExporter
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and i > 0:      # cell 0 is the grader's own header
            cell.source = _defuse_markdown(cell.source)
            for name, data in list(cell.get("attachments", {}).items()):
                cell.attachments[name] = {k: v for k, v in data.items() if k in _SAFE_MIME} or \
                    {"image/png": ""}
        elif cell.cell_type == "raw":
            cell.source = ""
        for out in cell.get("outputs", []):
            if "data" in out:                           # no HTML, SVG or JavaScript from outputs
                out["data"] = {k: v for k, v in out["data"].items() if k in _SAFE_MIME} or \
                    {"text/plain": "[output not shown in the feedback]"}
    exporter = HTMLExporter()
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    return body


def check_paths(submissions: Path, course: Path):
    """Grading writes only under the course folder and never under
    SUBMISSIONS: the two must not overlap."""
    s, c = submissions.resolve(), course.resolve()
    if _inside(s, c) or _inside(c, s):
        raise SystemExit(
            f"refusing to grade: the submissions folder {s} and the course folder {c} overlap, and "
            "grading writes into the course folder. Copy the submissions elsewhere (for example "
            "cp -r coursework/submitted submissions) or pass --course with another folder.")


def grade(submissions: Path, course: Path, timeout: int = 60, jobs: int = 2,
          due: list[str] | None = None, assignments: list[str] | None = None,
          roster: list[str] = (), limits: Limits | None = None, log=print) -> Path:
    """Grade every ``<student>/<chNN>/`` folder under ``submissions``; write
    the reports and feedback under ``course``; return scores.csv's path."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning
    import warnings
    warnings.filterwarnings("ignore", category=SAWarning)   # nbgrader 0.9 with SQLAlchemy 2
    submissions, course = submissions.resolve(), course.resolve()
    check_paths(submissions, course)
    if not (course / "gradebook.db").exists() or not (course / "source").is_dir():
        release(course, timeout)
    aids = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    if assignments:
        unknown = set(assignments) - set(aids)
        if unknown:
            raise SystemExit(f"unknown assignments: {', '.join(sorted(unknown))} (released: {', '.join(aids)})")
        aids = [a for a in aids if a in assignments]
    specs = {aid: _Assignment(course, aid) for aid in aids}
    due_dates = parse_due(due, aids)
    limits = limits or Limits(timeout=timeout)
    env = _SandboxEnv(limits, hide=[ROOT, course, submissions])
    todo = discover(submissions, specs, roster)
    scores = course / "scores.csv"
    t0 = time.monotonic()
    with scores.open("w", newline="") as f, Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        writer = csv.DictWriter(f, fieldnames=SCORE_FIELDS)
        writer.writeheader()
        for job in todo:
            if job.path is None:
                writer.writerows(_rows(_Outcome(job, {}), specs[job.aid], due_dates))
        f.flush()
        graded = [j for j in todo if j.path is not None]
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(lambda j: _Grading(j, specs[j.aid], env).run(), j): j for j in graded}
            for fut in as_completed(futures):
                job = futures[fut]
                try:
                    out = fut.result()
                except Exception as e:          # a grader bug must not cost the others
                    import traceback
                    traceback.print_exc()
                    reason = f"not graded: the grader failed ({type(e).__name__}: {_first_line(str(e), 200)})"
                    out = _Outcome(job, {e_.ex: (0.0, "not graded", reason) for e_ in specs[job.aid].exercises})
                spec = specs[job.aid]
                writer.writerows(_rows(out, spec, due_dates))
                f.flush()
                try:
                    _store(course, gb, out, spec)
                except Exception as e:          # the scores are written; keep going
                    print(f"warning: files for {job.student}/{job.aid} not written: {e}", file=sys.stderr)
                got = sum(s for s, _, _ in out.results.values() if s)
                log(f"graded {job.student}/{job.aid} in {out.seconds:.1f} s: {got:g} of "
                    f"{sum(e.points for e in spec.exercises if e.kind == 'auto'):g} auto-graded points")
    wall = time.monotonic() - t0
    write_reports(course, specs)
    if graded:
        log(f"{len(graded)} notebooks graded in {wall:.0f} s with {jobs} in parallel "
            f"({wall / len(graded):.1f} s per notebook)")
    return scores


def _store(course: Path, gb, out: _Outcome, spec: _Assignment):
    """Keep the submission, the graded notebook and the feedback, as nbgrader lays them out."""
    job = out.job
    stem = Path(spec.name).stem
    sub = course / "submitted" / job.student / spec.aid
    sub.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(job.path, sub / spec.name)
    if job.submitted:
        (sub / "timestamp.txt").write_text(job.submitted.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    if out.graded is None:
        return
    auto = course / "autograded" / job.student / spec.aid
    auto.mkdir(parents=True, exist_ok=True)
    nbformat.write(out.graded, auto / spec.name)
    fb = course / "feedback" / job.student / spec.aid
    fb.mkdir(parents=True, exist_ok=True)
    try:
        html = _feedback_html(out.feedback)
    except Exception as e:                      # a notebook nbconvert cannot render
        import html as html_lib
        rows = "".join(f"<li>{html_lib.escape(ex)}: {html_lib.escape('pending' if sc is None else f'{sc:g}')}"
                       f" {html_lib.escape(reason)}</li>" for ex, (sc, _, reason) in out.results.items())
        html = (f"<html><body><h1>Feedback: {html_lib.escape(spec.title)}</h1><ul>{rows}</ul>"
                f"<p>(The notebook itself could not be rendered: {html_lib.escape(str(e)[:200])})</p></body></html>")
    (fb / f"{stem}.html").write_text(html)
    try:
        _save_to_gradebook(gb, out, spec)
    except Exception as e:                      # the CSV files still hold the scores
        gb.db.rollback()
        print(f"warning: gradebook not updated for {job.student}/{spec.aid}: {e}", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=ROOT / "coursework",
                        help="nbgrader course folder (default: coursework/)")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("release", help="make the student version of every chapter")
    r.add_argument("--language", choices=LANGUAGES, default="en",
                   help="language of the instructions: en, or zh_CN (the Chinese edition's)")
    sub.add_parser("points", help="print the points table of book/instructors.md")
    sub.add_parser("report", help="rewrite totals.csv and canvas.csv, with manual grades from the gradebook")
    sub.add_parser("_checker", help=argparse.SUPPRESS)
    g = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<chNN>/*.ipynb")
    g.add_argument("submissions", type=Path)
    g.add_argument("--timeout", type=int, default=60, help="seconds per cell and per check cell (60)")
    g.add_argument("--jobs", type=int, default=max(2, (os.cpu_count() or 2) // 2),
                   help="notebooks graded at once (default: half the CPU cores, at least 2)")
    g.add_argument("--due", action="append", metavar="WHEN",
                   help='due date, "2026-12-01 23:59" (UTC unless a zone is given) or '
                        '"ch03=2026-12-08 23:59+08:00"; may repeat')
    g.add_argument("--assignments", help="comma-separated, e.g. ch01,ch03 (default: all)")
    g.add_argument("--roster", type=Path, help="file with one student folder name per line: "
                                               "students without any folder get 'not submitted' rows")
    g.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory per process (4096)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.command == "_checker":
        _checker_main()
    elif args.command == "points":
        print(points_table())
    elif args.command == "release":
        for path in release(course, language=args.language):
            print(f"released {path.relative_to(course)}")
        print(f"Student versions are in {course / 'release'}")
    elif args.command == "report":
        for name, path in write_reports(course).items():
            print(f"{name}: {path}")
    else:
        if not args.submissions.is_dir():
            parser.error(f"{args.submissions} is not a folder of <student>/<chNN>/ submissions")
        roster = [l.strip() for l in args.roster.read_text().splitlines() if l.strip()] if args.roster else []
        limits = Limits(timeout=args.timeout, memory_mb=args.memory_mb)
        out = grade(args.submissions, course, args.timeout, args.jobs, args.due,
                    args.assignments.split(",") if args.assignments else None, roster, limits)
        print(f"Scores: {out}\nTotals: {course / 'totals.csv'}\nCanvas import: {course / 'canvas.csv'}\n"
              f"Feedback: {course / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
