"""The website builds warning-free from the stored notebook outputs."""
import re

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


def test_math_is_served_locally(built_book):
    page = (built_book / "notebooks" / "01_embeddings.html").read_text()
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, flags=re.I)
    assert scripts, "no MathJax script on the chapter page"
    assert all(not s.startswith(("http:", "https:", "//")) for s in scripts), scripts
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()


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
