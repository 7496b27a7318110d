"""The Chinese edition: one source, Sphinx's own translation workflow.

Every English sentence of the book (the markdown cells of the notebooks and
the pages in book/) is a message in a catalogue, one per document, under
locales/zh_CN/LC_MESSAGES/. Code, comments and printed outputs are shared by
both editions, so they are not messages.

    python tools/i18n.py update   # re-extract; new or changed English
                                  # sentences appear untranslated or fuzzy
    python tools/i18n.py check    # what the tests check: catalogues up to
                                  # date, all translated, placeholders kept
    python tools/i18n.py build    # the Chinese site at _build/html/zh_CN

`jupyter-book build` cannot pass a language (jupyter-book #1791), so the
Chinese edition is built by plain `sphinx-build -D language=zh_CN` with the
configuration Jupyter Book generates from _config.yml; the few settings the
translation needs are appended here, in one place.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LANG = "zh_CN"
LOCALE_DIR = ROOT / "locales"
PO_DIR = LOCALE_DIR / LANG / "LC_MESSAGES"
BUILD = ROOT / "_build"
CONF_DIR = BUILD / "i18n" / "conf"
HTML_ZH = BUILD / "html" / LANG
BIN = Path(sys.executable).parent

# What the Chinese edition overrides (the English title is a message of no
# page: it comes from _config.yml).
ZH_OVERRIDES = {
    "html_title": "从零实现序列模型",
    "project": "从零实现序列模型",
}

# Placeholders that must survive translation unchanged, in any order:
# inline math, roles with their targets, inline code, link targets, and
# footnote or substitution references.
PLACEHOLDERS = [
    re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S),  # math
    re.compile(r"\{[a-z:]+\}`[^`]*`"),  # {eq}`x`, {cite:t}`x`, {doc}`x`
    re.compile(r"(?<![`}])`[^`\n]+`"),  # inline code (not a role's target)
    re.compile(r"\]\(([^)\s]+)\)"),  # link targets
    re.compile(r"<(https?://[^>]+)>"),  # autolinks
]


ROLE_TEXT = re.compile(r"^(\{[a-z:]+\}`)[^`<]*<([^`>]+)>`$")


def placeholders(text: str) -> list[str]:
    """The placeholders of a message, sorted (translation may reorder them).
    A role's own link text ({ref}`text <target>`) may be translated: only its
    target counts."""
    found = []
    rest = text
    for pattern in PLACEHOLDERS:
        found += [ROLE_TEXT.sub(r"\1<\2>`", p) for p in pattern.findall(rest)]
        rest = pattern.sub(" ", rest)
    return sorted(found)


def needs_no_translation(msgid: str) -> bool:
    """A message with nothing to translate: display math, or only
    placeholders, numbers, symbols and Chinese. Its translation is itself."""
    if msgid.startswith("\n") or msgid.lstrip().startswith("\\"):
        return True  # display math, as MyST passes it to gettext
    rest = msgid
    for pattern in PLACEHOLDERS:
        rest = pattern.sub(" ", rest)
    return not re.search(r"[A-Za-z]{2,}", rest)


def generate_conf() -> Path:
    """conf.py from _config.yml (as `jupyter-book build` would configure
    Sphinx), plus what translation needs, in _build/i18n/conf/."""
    with tempfile.TemporaryDirectory() as tmp:
        # `jupyter-book config sphinx` writes conf.py next to _config.yml;
        # do that in a copy so the checkout never holds a stray conf.py.
        # (_static too: Jupyter Book lists its .css and .js files.)
        for name in ("_config.yml", "_toc.yml"):
            shutil.copy(ROOT / name, tmp)
        shutil.copytree(ROOT / "_static", Path(tmp) / "_static")
        subprocess.run(
            [str(BIN / "jupyter-book"), "config", "sphinx", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        text = (Path(tmp) / "conf.py").read_text()
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    # Paths Sphinx reads relative to the configuration folder, made absolute.
    text = text.replace(
        "html_static_path = ['_static']",
        f"html_static_path = [{str(ROOT / '_static')!r}]",
    ).replace(
        "bibtex_bibfiles = ['book/references.bib']",
        f"bibtex_bibfiles = [{str(ROOT / 'book' / 'references.bib')!r}]",
    ).replace(
        "html_favicon = '_static/favicon.svg'",
        f"html_favicon = {str(ROOT / '_static' / 'favicon.svg')!r}",
    )
    text += f"""
# --- appended by tools/i18n.py ---
import sys
sys.path.insert(0, {str(ROOT / "book" / "_ext")!r})  # local extensions
locale_dirs = [{str(LOCALE_DIR)!r}]
gettext_compact = False      # one catalogue per document
gettext_uuid = False
gettext_location = False     # line numbers would change with every edit
gettext_last_translator = ""
"""
    conf = CONF_DIR / "conf.py"
    conf.write_text(text)
    return conf


def sphinx(builder: str, outdir: Path, *extra: str, quiet=True) -> None:
    conf = generate_conf()
    cmd = [
        str(BIN / "sphinx-build"),
        "-b",
        builder,
        "-c",
        str(conf.parent),
        "-d",
        str(BUILD / "i18n" / f"doctrees-{builder}"),
        str(ROOT),
        str(outdir),
        *extra,
    ]
    if quiet:
        cmd.append("-q")
    subprocess.run(cmd, check=True, cwd=ROOT)


def extract() -> dict[str, Catalog]:
    """The English messages of every document, freshly extracted."""
    pot_dir = BUILD / "i18n" / "gettext"
    shutil.rmtree(pot_dir, ignore_errors=True)
    sphinx("gettext", pot_dir, "-E")  # fresh: what the local extensions emit changes too
    templates = {}
    for pot in sorted(pot_dir.rglob("*.pot")):
        doc = pot.relative_to(pot_dir).with_suffix("").as_posix()
        with pot.open("rb") as f:
            templates[doc] = read_po(f)
    return templates


def po_path(doc: str) -> Path:
    return PO_DIR / f"{doc}.po"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=LANG)


def dump(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=0, omit_header=False, sort_output=False,
             no_location=True, include_previous=True)
    return buf.getvalue()


def merged(doc: str, template: Catalog) -> Catalog:
    """The document's catalogue updated to the template: a changed English
    message keeps its old translation marked fuzzy (so the check fails until
    someone looks), a removed one is dropped, a new one is untranslated."""
    path = po_path(doc)
    if path.exists():
        catalog = read_catalog(path)
    else:
        catalog = Catalog(locale=LANG, project="Sequence Models from Scratch",
                          fuzzy=False)
    catalog.update(template, no_fuzzy_matching=False,
                   update_header_comment=False, update_creation_date=False)
    catalog.obsolete.clear()
    for message in catalog:
        if message.id and not message.string and needs_no_translation(message.id):
            message.string = message.id
    catalog.revision_date = catalog.creation_date
    catalog.last_translator = "The Sequence Models from Scratch authors"
    catalog.language_team = "Chinese (Simplified)"
    catalog.fuzzy = False
    return catalog


def update() -> None:
    templates = extract()
    for doc, template in templates.items():
        path = po_path(doc)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump(merged(doc, template)))
    for path in PO_DIR.rglob("*.po"):
        doc = path.relative_to(PO_DIR).with_suffix("").as_posix()
        if doc not in templates:
            path.unlink()
    print(report())


def problems(templates: dict[str, Catalog] | None = None) -> list[str]:
    """Everything that keeps the editions apart; empty when they agree."""
    out = []
    if templates is not None:
        for doc, template in templates.items():
            path = po_path(doc)
            if not path.exists():
                out.append(f"{doc}: no catalogue (run python tools/i18n.py update)")
            elif path.read_bytes() != dump(merged(doc, template)):
                out.append(f"{doc}: catalogue out of date with the English "
                           "(run python tools/i18n.py update)")
    for path in sorted(PO_DIR.rglob("*.po")):
        doc = path.relative_to(PO_DIR).with_suffix("").as_posix()
        if templates is not None and doc not in templates:
            out.append(f"{doc}: catalogue of a document that no longer exists")
        out += catalog_problems(doc, read_catalog(path))
    return out


MARKUP = ("strong_open", "em_open", "math_inline", "code_inline", "link_open")


def markup(text: str) -> dict[str, int]:
    """How MyST will read a message: its emphasis, math, code and links, and
    any ** or ` left as literal text (markers next to Chinese punctuation
    that markdown cannot match)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    tokens = MarkdownIt("commonmark").use(dollarmath_plugin).parseInline(text)
    counts = dict.fromkeys(MARKUP, 0)
    counts["stray markers"] = 0
    for token in tokens[0].children or []:
        if token.type in counts:
            counts[token.type] += 1
        elif token.type == "text" and re.search(r"\*\*|(?<!\\)`", token.content):
            counts["stray markers"] += 1
    return counts


def catalog_problems(doc: str, catalog: Catalog) -> list[str]:
    out = []
    for message in catalog:
        if not message.id:
            continue
        head = message.id[:60].replace("\n", " ")
        if message.fuzzy:
            out.append(f"{doc}: fuzzy (English changed): {head!r}")
        elif not message.string:
            out.append(f"{doc}: untranslated: {head!r}")
        elif placeholders(message.id) != placeholders(message.string):
            lost = set(placeholders(message.id)) ^ set(placeholders(message.string))
            out.append(f"{doc}: placeholders differ {sorted(lost)}: {head!r}")
        elif not needs_no_translation(message.id) and (
            markup(message.id) != markup(message.string)
        ):
            was, now = markup(message.id), markup(message.string)
            diff = {k: (was[k], now[k]) for k in was if was[k] != now[k]}
            out.append(f"{doc}: markup differs (English, Chinese) {diff}: {head!r}")
    return out


def report() -> str:
    rows = []
    for path in sorted(PO_DIR.rglob("*.po")):
        doc = path.relative_to(PO_DIR).with_suffix("").as_posix()
        messages = [m for m in read_catalog(path) if m.id]
        done = sum(1 for m in messages if m.string and not m.fuzzy)
        fuzzy = sum(1 for m in messages if m.fuzzy)
        rows.append(f"{doc:40} {len(messages):5} messages {done:5} translated "
                    f"{fuzzy:4} fuzzy")
    return "\n".join(rows)


def build() -> None:
    """Build the Chinese site, then place it at _build/html/zh_CN. It is built
    in _build/i18n/html first because MyST-NB writes its output files next to
    the output folder (outdir/../jupyter_execute), which inside _build/html
    would land in the English site."""
    args = [f"-D{key}={value}" for key, value in ZH_OVERRIDES.items()]
    staging = BUILD / "i18n" / "html"
    # -E: a fresh environment, so every page's navigation shows the newest
    # translated titles (an incremental build rewrites only changed pages).
    sphinx("html", staging, "-E", f"-Dlanguage={LANG}", "-W", "-n", "--keep-going",
           *args, quiet=True)
    shutil.rmtree(HTML_ZH, ignore_errors=True)
    shared = shared_files(staging, HTML_ZH.parent)
    shutil.copytree(staging, HTML_ZH,
                    ignore=lambda folder, names: [
                        n for n in names if Path(folder, n) in shared])
    link_shared(HTML_ZH, {p.relative_to(staging).as_posix() for p in shared})


SHARED_FOLDERS = ("_images", "_sources")


def shared_files(staging: Path, english: Path) -> set[Path]:
    """Figures and notebook downloads byte-identical to the English site's:
    both editions show the same outputs and offer the same notebooks, so the
    Chinese pages link to the English copies (4.5 MB not shipped twice)."""
    shared = set()
    for folder in SHARED_FOLDERS:
        for path in (staging / folder).rglob("*"):
            twin = english / path.relative_to(staging)
            if path.is_file() and twin.is_file() and twin.read_bytes() == path.read_bytes():
                shared.add(path)
    return shared


def link_shared(site: Path, shared: set[str]) -> None:
    """Point the Chinese pages' links to shared files one folder up."""
    ref = re.compile(r'((?:src|href)=")((?:\.\./)*)((?:%s)/[^"#?]+)' % "|".join(SHARED_FOLDERS))
    for page in site.rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        new = ref.sub(lambda m: m.group(1) + m.group(2) + ("../" if m.group(3) in shared else "")
                      + m.group(3), text)
        if new != text:
            page.write_text(new, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command", choices=["update", "check", "build", "report", "todo", "apply", "lint"]
    )
    parser.add_argument("files", nargs="*", type=Path,
                        help="todo/lint: .po files; apply: a .po file and a JSON file")
    parsed = parser.parse_args(argv)
    command, files = parsed.command, parsed.files
    # Translators' helpers: `todo` lists what is left as JSON, `apply` takes
    # {msgid: translation} as JSON, `lint` checks files without re-extracting.
    if command == "todo":
        import json

        left = [m.id for m in read_catalog(files[0])
                if m.id and (m.fuzzy or not m.string)]
        print(json.dumps(left, ensure_ascii=False, indent=1))
    elif command == "apply":
        import json

        catalog = read_catalog(files[0])
        for msgid, msgstr in json.loads(files[1].read_text()).items():
            message = catalog.get(msgid)
            if message is None:
                raise SystemExit(f"not a message of {files[0]}: {msgid[:60]!r}")
            message.string = msgstr
            message.flags.discard("fuzzy")
        files[0].write_bytes(dump(catalog))
        found = catalog_problems(str(files[0]), catalog)
        print("\n".join(found) or "no problems")
    elif command == "lint":
        found = [p for f in files for p in catalog_problems(str(f), read_catalog(f))]
        print("\n".join(found) or "no problems")
        return 1 if found else 0
    elif command == "update":
        update()
    elif command == "build":
        build()
    elif command == "report":
        print(report())
    else:
        found = problems(extract())
        print("\n".join(found) or "the Chinese edition is complete and up to date")
        print(report())
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
