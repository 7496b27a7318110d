"""The website builds warning-free from the stored notebook outputs."""
import json
import re

import yaml

from conftest import ROOT, toc_files


def test_every_notebook_is_in_the_toc_and_vice_versa():
    in_toc = {f for f in toc_files() if f.startswith("notebooks/")}
    on_disk = {f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert in_toc == on_disk
    chapters = [f for f in toc_files() if f.startswith("notebooks/")]
    assert chapters == sorted(chapters), "chapters must appear in numeric order"


def test_book_builds_without_warnings(built_book):
    for f in toc_files():
        assert (built_book / f"{f}.html").is_file(), f"{f}.html missing from the site"


def test_math_is_typeset_when_the_site_is_built(built_book):
    """Pages carry MathJax's finished output and load no math script, CDN or local."""
    page = (built_book / "notebooks" / "01_embeddings.html").read_text()
    assert page.count("<mjx-container") >= 20
    prose = re.sub(r"<pre.*?</pre>", "", page, flags=re.S)   # code may hold backslashes
    assert "\\(" not in prose and "\\[" not in prose, "TeX left untypeset"
    assert not re.findall(r'<script[^>]*src="[^"]*mathjax[^"]*"', page, flags=re.I)
    assert "_static/mathjax-chtml.css" in page
    css = (built_book / "_static" / "mathjax-chtml.css").read_text()
    assert "mjx-container" in css
    fonts = re.findall(r'url\("?([^")]+\.woff)"?\)', css)
    assert fonts and all((built_book / "_static" / f).is_file() for f in fonts)


def test_site_ships_only_what_pages_load(built_book):
    """The English site stays under 12 MB and the Chinese edition in zh_CN/
    adds under 6 MB (it links the English copies of figures and notebook
    downloads): no source maps, no unused MathJax, no icon script, no theme
    translation catalogues."""
    files = [p for p in built_book.rglob("*") if p.is_file()]
    chinese = [p for p in files if p.relative_to(built_book).parts[0] == "zh_CN"]
    english = sum(p.stat().st_size for p in files) - sum(p.stat().st_size for p in chinese)
    added = sum(p.stat().st_size for p in chinese)
    print(f"site: {english / 1e6:.1f} MB in English, {added / 1e6:.1f} MB more in Chinese, "
          f"{len(files)} files")
    assert english < 12_000_000, f"the English site is {english / 1e6:.1f} MB"
    assert 1_000_000 < added < 6_000_000, f"the Chinese edition adds {added / 1e6:.1f} MB"
    names = [p.relative_to(built_book).as_posix() for p in files]
    assert not [n for n in names if n.endswith(".map")], "source maps shipped"
    assert not [n for n in names if n.endswith(".js") and "mathjax" in n.lower()]
    assert "_static/scripts/fontawesome.js" not in names
    assert not [n for n in names if n.startswith("_static/locales/")]
    for name in names:
        if name.endswith((".js", ".css")):
            assert "sourceMappingURL" not in (built_book / name).read_text(errors="ignore"), name


def test_citation_file_describes_this_version():
    """CITATION.cff (Citation File Format 1.2.0; GitHub reads it) matches pyproject and seqlib."""
    import tomllib

    import seqlib
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "license", "repository-code"):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert str(cff["version"]) == version == seqlib.__version__
    assert cff["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()


def test_run_times_cover_every_chapter():
    """book/runtimes.json, written by the test run (tests/nbval_runtimes.py), has every chapter."""
    data = json.loads((ROOT / "book" / "runtimes.json").read_text())["notebooks"]
    for f in toc_files():
        if f.startswith("notebooks/"):
            entry = data.get(f"{f}.ipynb")
            assert entry, f"{f} has no measured run time"
            assert entry["seconds"] > 0 and entry["cells"] > 0
            assert {"date", "python", "torch", "numpy", "seqlib", "cpu"} <= set(entry)


def test_chapter_one_shows_its_figures(built_book):
    page = (built_book / "notebooks" / "01_embeddings.html").read_text()
    images = re.findall(r'<img[^>]*src="([^"]+\.png)"', page)
    assert len(images) >= 2, "chapter 1 should show its plots"
    for src in images:
        assert (built_book / "notebooks" / src).resolve().is_file(), src


def test_citations_resolve_to_the_bibliography(built_book):
    page = (built_book / "book" / "bibliography.html").read_text()
    assert "Mikolov" in page


def test_site_folds_solutions_and_hides_hidden_tests(built_book):
    pages = [built_book / f"{f}.html" for f in toc_files() if f.startswith("notebooks/")]
    sources = list((built_book / "_sources").rglob("*.ipynb"))
    assert sources, "the download button's notebooks are missing"
    for path in pages + sources:
        text = path.read_text()
        assert "BEGIN HIDDEN TESTS" not in text, f"hidden tests shown in {path.name}"
    ch1 = (built_book / "notebooks" / "01_embeddings.html").read_text()
    # every solution cell is rendered inside a closed toggle
    assert ch1.count("tag_hide-input") >= 2
    assert "BEGIN SOLUTION" not in ch1


def test_every_figure_has_a_numbered_caption():
    import nbformat
    names = []
    for f in toc_files():
        if not f.startswith("notebooks/"):
            continue
        nb = nbformat.read(ROOT / f"{f}.ipynb", as_version=4)
        for i, cell in enumerate(nb.cells):
            has_png = any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
            if has_png:
                fig = cell.metadata.get("mystnb", {}).get("figure", {})
                assert fig.get("caption") and fig.get("name"), f"{f} cell {i}: figure without caption"
                names.append(fig["name"])
    assert len(names) == len(set(names)), "figure names must be unique across the book"
