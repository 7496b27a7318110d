"""The built website, opened in a real headless Chromium with the network cut off.

For every chapter page: the math arrives typeset, every image loads, the
console stays free of errors, exercise solutions are folded behind "Show
solution", hidden tests and internal markers are absent, the page weighs
under 1.5 MB, and at phone width (390 px) nothing but an equation's or a
table's own box scrolls sideways. The header's buttons open the chapter list
and the page contents on a phone and fold the chapter list on a laptop. The
search finds English words and parts of Chinese terms; the glossary shows its
Chinese in the site's own font. Screenshots go to _build/screenshots/.

Chromium comes from the system (Debian: `apt-get install chromium`), driven by
Playwright's Python package; nothing is downloaded.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
import tomllib
from urllib.parse import urlparse

import nbformat
import pytest

from conftest import ROOT, toc_files

INSTALL = "sudo apt-get install chromium   (Debian/Ubuntu; or set CHROMIUM=/path/to/chrome)"
CHAPTERS = [f for f in toc_files() if f.startswith("notebooks/")]
SHOTS = ROOT / "_build" / "screenshots"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
MAX_PAGE_BYTES = 1_500_000
#: Text a web server sends gzip-compressed (GitHub Pages, where the book is
#: published, does); images and WOFF fonts are compressed already.
COMPRESSIBLE = (".html", ".css", ".js", ".svg", ".json", ".txt")


def _transferred(url: str, n: int, root) -> int:
    """Bytes a reader downloads for one resource: gzip size for text, else its size."""
    import gzip
    path = root / urlparse(url).path.lstrip("/")
    if path.suffix in COMPRESSIBLE and path.is_file():
        return len(gzip.compress(path.read_bytes(), compresslevel=6))
    return n
LINE_LENGTH = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"]


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(built_book):
    """Serve _build/html on a free localhost port for the duration of the module."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    handler = functools.partial(Quiet, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is not installed; CI must have it: {INSTALL}")
        pytest.skip(f"Chromium not found; to run the browser tests: {INSTALL}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _new_page(browser, viewport):
    """A fresh page (empty cache) whose requests may reach only the local server."""
    context = browser.new_context(viewport=viewport, has_touch=viewport["width"] < 600)
    blocked, errors, received = [], [], {}

    def only_local(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    def finished(request):
        response = request.response()
        if response is not None and response.status >= 400:
            errors.append(f"{response.status} {request.url}")
        if not request.url.startswith("data:"):
            received[request.url] = request.sizes()["responseBodySize"]
    context.route("**/*", only_local)
    pg = context.new_page()
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("requestfinished", finished)
    pg.blocked, pg.errors, pg.received = blocked, errors, received
    return context, pg


@pytest.fixture
def page(browser, site):
    context, pg = _new_page(browser, LAPTOP)
    yield pg
    context.close()


@pytest.fixture
def phone(browser, site):
    context, pg = _new_page(browser, PHONE)
    yield pg
    context.close()


def _settle(pg):
    """Wait until web fonts and the images in view have loaded."""
    pg.evaluate("() => document.fonts.ready.then(() => true)")
    pg.wait_for_load_state("networkidle")


def _shot(pg, name, full_page=False):
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / name), full_page=full_page)


def _assert_images_load(pg) -> None:
    """Images load lazily: scroll each into view, then all must have loaded."""
    pg.evaluate("""async () => { for (const img of document.querySelectorAll('img[loading=lazy]')) {
        img.scrollIntoView(); await new Promise(r => setTimeout(r, 50)); } }""")
    pg.wait_for_load_state("networkidle")
    shown = "Array.from(document.images).filter(i => i.checkVisibility())"
    pg.wait_for_function(f"() => {shown}.every(i => i.complete)", timeout=20000)
    assert pg.evaluate(f"() => {shown}.length") >= 1, "a chapter without a figure"
    broken = pg.evaluate(f"() => {shown}.filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"images that did not load: {broken}"


def _visible_text_outside_code(pg) -> str:
    return pg.evaluate("""() => {
        const main = document.querySelector('main') || document.body;
        const copy = main.cloneNode(true);
        copy.querySelectorAll('pre, code, .highlight, mjx-container, script').forEach(e => e.remove());
        return copy.innerText;
    }""")


def _solution_count(chapter: str) -> int:
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code"
               and c.metadata.get("nbgrader", {}).get("solution"))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders_offline(page, site, built_book, chapter):
    page.goto(f"{site}/{chapter}.html", wait_until="load")
    _settle(page)
    weight = sum(page.received.values())
    # The math is typeset when the site is built: no TeX left, no math script.
    text = _visible_text_outside_code(page)
    assert "$$" not in text and "\\(" not in text and "\\[" not in text, "raw TeX left on the page"
    untypeset = page.locator(".math:not(:has(mjx-container))").count()
    assert untypeset == 0, f"{untypeset} formulas were not typeset"
    assert not [u for u in page.received if re.search(r"mathjax/.*\.js|fontawesome\.js", u)]
    html = page.content()
    assert "HIDDEN TESTS" not in html and "BEGIN SOLUTION" not in html
    assert page.locator(".tag_hide-input details[open]").count() == 0, "a solution is shown open"
    _shot(page, f"{chapter.split('/')[-1]}.png")
    _assert_images_load(page)
    total = sum(page.received.values())
    sent = sum(_transferred(u, n, built_book) for u, n in page.received.items())
    print(f"{chapter}: {weight / 1e6:.2f} MB on load, {total / 1e6:.2f} MB with every image, "
          f"{sent / 1e6:.2f} MB transferred with gzip")
    # The limit holds for what a reader downloads from a compressing server
    # (GitHub Pages), everything the page can load included, images below the
    # fold too; uncompressed the page may be at most twice that.
    assert total < 2 * MAX_PAGE_BYTES, f"{chapter} is {total / 1e6:.2f} MB uncompressed"
    assert sent < MAX_PAGE_BYTES, f"{chapter} transfers {sent / 1e6:.2f} MB: " + ", ".join(
        f"{u.split('/')[-1]} {n // 1000} kB" for u, n in sorted(page.received.items(),
                                                               key=lambda x: -x[1])[:6])
    assert not page.blocked, f"the page tried to reach the network: {page.blocked}"
    assert not page.errors, f"console errors: {page.errors}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_fits_a_phone(phone, site, chapter):
    """At 390 px the page never scrolls sideways: a long equation scrolls inside
    its own box, tables inside theirs, figures shrink to the column."""
    phone.goto(f"{site}/{chapter}.html", wait_until="load")
    _settle(phone)
    report = phone.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
        // the outermost box inside <main> that scrolls sideways (a table's, an equation's)
        const boxed = el => { let box = null;
            for (let e = el; e && e.tagName !== 'MAIN'; e = e.parentElement) if (scrolls(e)) box = e;
            return box; };
        const out = {width, page: document.documentElement.scrollWidth, unboxed: [], figures: []};
        for (const m of document.querySelectorAll('main mjx-container, main table, main pre')) {
            if (!m.checkVisibility()) continue;   // e.g. in the hidden page-contents sidebar
            const r = m.getBoundingClientRect();
            const box = boxed(m);
            if (r.right > width + 1 && !box)
                out.unboxed.push(m.tagName + ' ' + m.textContent.slice(0, 40));
            if (box && box.getBoundingClientRect().right > width + 1)
                out.unboxed.push('scroll box wider than the screen: ' + m.tagName);
        }
        for (const img of document.querySelectorAll('main img')) {
            const r = img.getBoundingClientRect();
            if (r.right > width + 1 || r.width > img.parentElement.getBoundingClientRect().width + 1)
                out.figures.push(img.alt.slice(0, 40));
        }
        return out;
    }""")
    assert report["page"] <= report["width"], \
        f"the page scrolls sideways: {report['page']} px content in {report['width']} px"
    assert not report["unboxed"], f"wider than the screen: {report['unboxed']}"
    assert not report["figures"], f"figures wider than the column: {report['figures']}"


def test_display_equations_fit_their_column_at_1280(page, site):
    wide = []
    for chapter in CHAPTERS:
        page.goto(f"{site}/{chapter}.html", wait_until="load")
        wide += [f"{chapter}: {w}" for w in page.evaluate("""() =>
            Array.from(document.querySelectorAll('div.math mjx-container'))
              .filter(m => m.scrollWidth > m.clientWidth + 1)
              .map(m => (m.closest('div.math').id || '') + ' ' + m.textContent.slice(0, 30))""")]
    assert not wide, f"display equations wider than their column at 1280 px: {wide}"


def _open_phone_drawer(phone, url, toggle, drawer_id, what):
    """Tap the one visible header button ``toggle`` on a phone; return the
    drawer it must open."""
    phone.goto(url, wait_until="load")
    _settle(phone)
    button = phone.locator(f"{toggle}:visible")
    assert button.count() == 1, f"one visible {what} button on a phone"
    button.tap()
    drawer = phone.locator(drawer_id)
    drawer.wait_for(state="visible", timeout=5000)
    return drawer


def test_phone_menu_opens_the_chapter_list_and_navigates(phone, site):
    drawer = _open_phone_drawer(phone, f"{site}/{CHAPTERS[0]}.html", ".primary-toggle",
                                "#pst-primary-sidebar-modal", "menu")
    links = drawer.locator("nav.bd-docs-nav a.reference.internal")
    assert links.count() >= len(CHAPTERS)
    phone.wait_for_timeout(300)
    _shot(phone, "chapter-390-sidebar-open.png")
    target = drawer.locator(f"a.reference.internal[href$='{CHAPTERS[2].split('/')[-1]}.html']")
    target.first.tap()
    phone.wait_for_url(f"**/{CHAPTERS[2]}.html", timeout=10000)
    assert not phone.errors, phone.errors


def test_phone_contents_button_opens_the_page_contents(phone, site):
    drawer = _open_phone_drawer(phone, f"{site}/{CHAPTERS[1]}.html", ".secondary-toggle",
                                "#pst-secondary-sidebar-modal", "'contents'")
    entries = drawer.locator("a.nav-link")
    assert entries.count() >= 4, "the page's sections are listed"
    _shot(phone, "chapter-390-contents-open.png")
    phone.keyboard.press("Escape")
    drawer.wait_for(state="hidden", timeout=5000)
    assert not phone.errors, phone.errors


def test_laptop_menu_button_folds_the_chapter_list(page, site):
    page.goto(f"{site}/{CHAPTERS[1]}.html", wait_until="load")
    _settle(page)
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    _shot(page, "chapter-1280.png")
    page.locator(".primary-toggle:visible").click()
    page.wait_for_function("() => document.querySelector('#pst-primary-sidebar')"
                           ".classList.contains('pst-sidebar-hidden')", timeout=5000)
    page.locator(".primary-toggle:visible").click()
    page.wait_for_function("() => !document.querySelector('#pst-primary-sidebar')"
                           ".classList.contains('pst-sidebar-hidden')", timeout=5000)
    assert not page.errors, page.errors


def test_code_column_shows_the_configured_line_length(page, site):
    """What ruff's line-length (pyproject.toml) allows fits the code column at 1280 px."""
    page.goto(f"{site}/{CHAPTERS[0]}.html", wait_until="load")
    _settle(page)
    fits = page.evaluate("""() => {
        const pre = document.querySelector('div.cell_input pre');
        const cs = getComputedStyle(pre);
        const probe = document.createElement('span');
        probe.textContent = 'x'.repeat(100);
        pre.appendChild(probe);
        const ch = probe.getBoundingClientRect().width / 100;
        probe.remove();
        return (pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)) / ch;
    }""")
    assert LINE_LENGTH <= fits, f"the code column shows {fits:.1f} characters, ruff allows {LINE_LENGTH}"


def test_exercise_solutions_are_folded_behind_show_solution(page, site):
    for chapter in CHAPTERS:
        page.goto(f"{site}/{chapter}.html", wait_until="load")
        n = _solution_count(chapter)
        labels = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.tag_hide-input details.hide summary')).map(s => s.innerText.trim())""")
        assert labels.count("Show solution") == n, f"{chapter}: {labels}"
        others = [label for label in labels if label != "Show solution"]
        assert all(label == "Show code cell source" for label in others), others
        folded = page.locator(".tag_hide-input details.hide")
        assert all(not folded.nth(i).evaluate("d => d.open") for i in range(folded.count()))


def test_code_shows_no_internal_markers(page, site):
    """nbval markers are dropped and equation labels become the printed numbers."""
    for chapter in CHAPTERS:
        page.goto(f"{site}/{chapter}.html", wait_until="load")
        code = page.evaluate("() => Array.from(document.querySelectorAll('main pre'))"
                             ".map(p => p.innerText).join('\\n')")
        assert "NBVAL_" not in code, f"{chapter}: an nbval marker is shown"
        labels = re.findall(r"#.*?\beq-[a-z0-9-]+", code)
        assert not labels, f"{chapter}: equation labels in code: {labels[:3]}"


def test_print_keeps_indentation_and_code_boxes_whole(page, site):
    page.goto(f"{site}/{CHAPTERS[0]}.html", wait_until="load")
    page.emulate_media(media="print")
    style = page.evaluate("""() => {
        const line = Array.from(document.querySelectorAll('div.cell_input pre .cl'))
            .find(l => l.style.getPropertyValue('--i'));
        const cs = getComputedStyle(line);
        const pre = getComputedStyle(document.querySelector('div.cell_input pre'));
        const box = getComputedStyle(document.querySelector('div.cell_input'));
        const col = parseFloat(getComputedStyle(line).fontSize);
        return {indent: parseInt(line.style.getPropertyValue('--i')), padding: parseFloat(cs.paddingLeft),
                textIndent: parseFloat(cs.textIndent), wrap: pre.whiteSpace, display: cs.display,
                orphans: parseInt(pre.orphans), widows: parseInt(pre.widows), breakInside: box.breakInside,
                toggles: Array.from(document.querySelectorAll('button.toggle-button'))
                    .filter(b => getComputedStyle(b).display !== 'none').length};
    }""")
    assert style["wrap"] == "pre-wrap", style
    # a wrapped line continues further right than the line's own indentation
    assert style["display"] == "block" and style["padding"] > 0 and style["textIndent"] < 0, style
    assert style["padding"] + style["textIndent"] == pytest.approx(0, abs=0.5), style
    assert style["orphans"] >= 3 and style["widows"] >= 3, style
    assert style["breakInside"] == "avoid", style
    assert style["toggles"] == 0, style
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(SHOTS / f"{CHAPTERS[0].split('/')[-1]}.pdf"), format="A4")


def test_table_of_contents_links_resolve(page, site):
    page.goto(f"{site}/book/intro.html", wait_until="load")
    hrefs = page.evaluate("""() => Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal'))
        .map(a => a.href)""")
    assert len(hrefs) >= len(CHAPTERS) + 4
    for href in hrefs:
        response = page.request.get(href.split("#")[0])
        assert response.status == 200, f"{href} -> {response.status}"


def _search(pg, site, query) -> list[str]:
    pg.goto(f"{site}/search.html?q={query}", wait_until="load")
    pg.wait_for_selector("#search-results ul.search li, #search-results p.search-summary", timeout=20000)
    pg.wait_for_function("() => !document.querySelector('#search-results').classList.contains('loading')"
                         " && document.querySelector('#search-results p.search-summary')", timeout=20000)
    return pg.evaluate("() => Array.from(document.querySelectorAll('#search-results ul.search li a'))"
                       ".map(a => a.getAttribute('href'))")


def test_search_finds_english_words(page, site):
    assert _search(page, site, "embedding")


@pytest.mark.parametrize("query", ["梯度", "词嵌入", "梯度消失"])
def test_search_finds_parts_of_chinese_terms(page, site, query):
    hits = _search(page, site, query)
    assert any("glossary" in h for h in hits), f"{query}: {hits}"
    assert not page.errors, page.errors


def test_glossary_chinese_is_readable_in_the_sites_font(page, site):
    page.goto(f"{site}/book/glossary.html", wait_until="load")
    _settle(page)
    font = [u for u in page.received if u.endswith(".woff") and "noto-sans-sc" in u]
    assert font, "the glossary did not load the site's Chinese font"
    assert page.evaluate("() => document.fonts.check('16px \"Book Noto Sans SC\"', '梯度')")
    assert page.evaluate("""() => Array.from(document.fonts)
        .some(f => f.family.includes('Book Noto Sans SC') && f.status === 'loaded')""")
    lines = page.evaluate("""() => Array.from(document.querySelectorAll('main table tbody tr td:nth-child(2)'))
        .map(td => { const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
                     const tops = new Set();
                     for (let t = walker.nextNode(); t; t = walker.nextNode()) {
                         const r = document.createRange(); r.selectNodeContents(t);
                         for (const x of r.getClientRects()) if (x.width > 0) tops.add(Math.round(x.top));
                     }
                     return [td.innerText, tops.size]; })""")
    assert len(lines) >= 30
    squeezed = [text for text, n in lines if n > 1]
    assert not squeezed, f"中文 terms broken over lines: {squeezed}"
    _shot(page, "glossary.png")
    assert not page.errors, page.errors


def test_reference_pages_render(page, site):
    """Notation and bibliography: content present; bibliography labels in author-year form."""
    for name, must_have in [("notation", "batch-first"), ("bibliography", "Hochreiter")]:
        page.goto(f"{site}/book/{name}.html", wait_until="load")
        assert must_have in page.inner_text("main"), f"{name}: {must_have!r} missing"
        _shot(page, f"{name}.png")
    labels = page.evaluate("() => Array.from(document.querySelectorAll('div.citation span.label'))"
                           ".map(s => s.innerText.replace(/[\\[\\]]/g, '').trim())")
    assert len(labels) >= 20
    odd = [label for label in labels if not re.fullmatch(r"\D+, \d{4}[a-z]?", label)]
    assert not odd, f"labels not in author-year form: {odd}"
    # every author-year citation in the chapters names a label in the list
    page.goto(f"{site}/{CHAPTERS[4]}.html", wait_until="load")
    cited = page.evaluate("""() => Array.from(document.querySelectorAll('a[href*="bibliography.html#"]'))
        .map(a => a.innerText.trim())""")
    for text in cited:
        if re.fullmatch(r"\D+, \d{4}", text):
            assert any(label.startswith(text) for label in labels), f"{text!r} not in {labels}"
    assert not page.errors


def test_landing_page_states_versions_licence_citation(page, site):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    page.goto(f"{site}/book/intro.html", wait_until="load")
    _settle(page)
    text = page.inner_text("main")
    import seqlib
    assert f"version {project['version']} of the book" in text
    assert f"seqlib {seqlib.__version__}" in text
    assert "MIT licence" in text and "CITATION.cff" in text and "To cite the book" in text
    icon = page.evaluate("() => document.querySelector('link[rel=icon]').href")
    assert page.request.get(icon).status == 200
    assert any(u.split("?")[0] == icon for u in page.received) or icon.endswith(".svg")
    page.get_by_role("link", name="Run times").first.click()
    page.wait_for_url("**/book/runtimes.html")
    rows = page.locator("main table tbody tr")
    assert rows.count() == len(CHAPTERS) + 1
    assert "not measured" not in page.inner_text("main table")
    data = json.loads((ROOT / "book" / "runtimes.json").read_text())["notebooks"]
    first = data[f"{CHAPTERS[0]}.ipynb"]
    assert f"{first['seconds']:.1f} s" in rows.nth(0).inner_text()
    _shot(page, "runtimes.png")
    assert not page.errors, page.errors
