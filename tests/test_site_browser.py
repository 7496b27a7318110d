"""The built website, opened in a real headless Chromium with the network cut off.

For every chapter page: math is rendered by the site's own MathJax, every
image loads, the console stays free of errors, exercise solutions are folded,
hidden tests are absent. Also: every table-of-contents link resolves and the
search page finds words. One screenshot per chapter goes to
_build/screenshots/ for people to look at.

Chromium comes from the system (Debian: `apt-get install chromium`), driven by
Playwright's Python package; nothing is downloaded.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from urllib.parse import urlparse

import pytest

from conftest import ROOT, toc_files

INSTALL = "sudo apt-get install chromium   (Debian/Ubuntu; or set CHROMIUM=/path/to/chrome)"
CHAPTERS = [f for f in toc_files() if f.startswith("notebooks/")]


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


@pytest.fixture
def page(browser, site):
    """A fresh page whose requests may reach only the local server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    blocked, errors = [], []

    def only_local(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    context.route("**/*", only_local)
    pg = context.new_page()
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.blocked, pg.errors = blocked, errors
    yield pg
    context.close()


def _visible_text_outside_code(pg) -> str:
    return pg.evaluate("""() => {
        const main = document.querySelector('main') || document.body;
        const copy = main.cloneNode(true);
        copy.querySelectorAll('pre, code, .highlight, mjx-container, script').forEach(e => e.remove());
        return copy.innerText;
    }""")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_renders_offline(page, site, chapter):
    page.goto(f"{site}/{chapter}.html", wait_until="load")
    if page.locator(".math").count():  # Sphinx loads MathJax only on pages with math
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
    text = _visible_text_outside_code(page)
    assert "$$" not in text and "\\(" not in text and "\\[" not in text, "raw TeX left on the page"
    n_math = page.locator("mjx-container").count()
    has_tex = page.locator(".math").count()
    assert n_math >= has_tex, f"{has_tex} math elements but only {n_math} rendered"
    broken = page.evaluate("""() => Array.from(document.images)
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)""")
    assert not broken, f"images that did not load: {broken}"
    html = page.content()
    assert "HIDDEN TESTS" not in html and "BEGIN SOLUTION" not in html
    open_solutions = page.locator(".tag_hide-input details[open]").count()
    assert open_solutions == 0, "a solution is shown open"
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{chapter.split('/')[-1]}.png"))
    assert not page.blocked, f"the page tried to reach the network: {page.blocked}"
    assert not page.errors, f"console errors: {page.errors}"


def test_exercise_solutions_are_folded_behind_toggles(page, site):
    for chapter in CHAPTERS:
        page.goto(f"{site}/{chapter}.html", wait_until="load")
        if page.locator("h2:has-text('Exercises')").count() == 0:
            continue  # a placeholder chapter
        folded = page.locator(".tag_hide-input details.hide")
        assert folded.count() >= 2, f"{chapter}: expected folded solutions"
        assert all(not folded.nth(i).evaluate("d => d.open") for i in range(folded.count()))


def test_table_of_contents_links_resolve(page, site):
    page.goto(f"{site}/book/intro.html", wait_until="load")
    hrefs = page.evaluate("""() => Array.from(document.querySelectorAll('nav.bd-docs-nav a.reference.internal'))
        .map(a => a.href)""")
    assert len(hrefs) >= len(CHAPTERS) + 4
    for href in hrefs:
        response = page.request.get(href.split("#")[0])
        assert response.status == 200, f"{href} -> {response.status}"


def test_search_finds_words(page, site):
    page.goto(f"{site}/search.html?q=embedding", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=20000)
    assert page.locator("#search-results ul.search li").count() >= 1


def test_reference_pages_render(page, site):
    """Glossary (English / 中文), notation and bibliography: content present, screenshots saved."""
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for name, must_have in [("glossary", "梯度消失"), ("notation", "batch-first"),
                            ("bibliography", "Hochreiter")]:
        page.goto(f"{site}/book/{name}.html", wait_until="load")
        assert must_have in page.inner_text("main"), f"{name}: {must_have!r} missing"
        page.screenshot(path=str(shots / f"{name}.png"))
    page.goto(f"{site}/book/glossary.html", wait_until="load")
    assert page.locator("main table tbody tr").count() >= 30
    assert not page.errors
