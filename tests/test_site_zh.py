"""The Chinese edition (_build/html/zh_CN), in the same offline Chromium as
test_site_browser.py: every chapter renders with its math and figures and
its Chinese in the site's own font, the language switch round-trips, and the
search finds Chinese terms in the chapters that teach them. Screenshots of
two chapters go to _build/screenshots/zh_CN-*.png.
"""
from __future__ import annotations

import re

import pytest
from fontTools.ttLib import TTFont

from conftest import ROOT
from test_site_browser import (  # noqa: F401  (fixtures)
    CHAPTERS, MAX_PAGE_BYTES, _assert_images_load, _search, _settle, _shot, _transferred,
    _visible_text_outside_code, browser, page, phone, site)

ZH = "zh_CN"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
SHOWN = {"notebooks/04_vanishing_gradients", "notebooks/05_lstm"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chinese_chapter_renders_offline(page, site, built_book, chapter):
    page.goto(f"{site}/{ZH}/{chapter}.html", wait_until="load")
    _settle(page)
    assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
    title = page.inner_text("main h1")
    text = _visible_text_outside_code(page)
    # the prose is Chinese: most letters of the page's text are Chinese characters
    letters = re.findall(r"[A-Za-z]|" + CJK.pattern, text)
    share = sum(1 for c in letters if CJK.match(c)) / len(letters)
    print(f"{chapter}: {title!r}, {share:.0%} of the letters are Chinese")
    assert CJK.search(title) and share > 0.5
    assert "$$" not in text and "\\(" not in text, "raw TeX left on the page"
    assert page.locator(".math:not(:has(mjx-container))").count() == 0, "untypeset math"
    # Chinese in the site's font (the subset in _static/fonts), loaded, not a fallback
    assert page.evaluate("""() => Array.from(document.fonts)
        .some(f => f.family.includes('Book Noto Sans SC') && f.status === 'loaded')""")
    if chapter in SHOWN:
        _shot(page, f"{ZH}-{chapter.split('/')[-1]}.png")
    _assert_images_load(page)
    sent = sum(_transferred(u, n, built_book) for u, n in page.received.items())
    print(f"  {sent / 1e6:.2f} MB transferred with gzip")
    assert sent < MAX_PAGE_BYTES
    assert not page.blocked, f"the page tried to reach the network: {page.blocked}"
    assert not page.errors, f"console errors: {page.errors}"


def test_chinese_font_has_every_character_the_site_shows(built_book):
    """No boxes: the shipped subset holds every Chinese character of every page."""
    font = TTFont(built_book / ZH / "_static" / "fonts" / "noto-sans-sc-book.woff")
    cmap = font.getBestCmap()
    used = set()
    for page in (built_book / ZH).rglob("*.html"):
        used |= set(CJK.findall(page.read_text(encoding="utf-8")))
    missing = sorted(c for c in used if ord(c) not in cmap)
    print(f"{len(used)} distinct Chinese characters, {len(cmap)} glyphs in the subset")
    assert len(used) > 1000 and not missing, f"characters the font lacks: {''.join(missing)}"


@pytest.mark.parametrize("viewport", ["page", "phone"])
def test_language_switch_round_trips(request, site, viewport):
    pg = request.getfixturevalue(viewport)
    chapter = CHAPTERS[4]
    pg.goto(f"{site}/{chapter}.html", wait_until="load")
    switch = pg.locator("a.btn-language-switch:visible")
    assert switch.inner_text().strip() == "中文"
    switch.click()
    pg.wait_for_url(f"**/{ZH}/{chapter}.html", timeout=10000)
    assert len(pg.context.pages) == 1, "the switch replaces the page, no new tab"
    back = pg.locator("a.btn-language-switch:visible")
    assert back.inner_text().strip() == "English"
    back.click()
    pg.wait_for_url(re.compile(rf".*/(?<!{ZH}/){re.escape(chapter)}\.html$"), timeout=10000)
    assert not pg.errors, pg.errors


def test_every_page_links_the_same_page_in_the_other_edition(built_book):
    pages = [p for p in built_book.rglob("*.html")
             if "_static" not in p.parts and p.name not in {"genindex.html", "search.html"}]
    assert len([p for p in pages if ZH in p.parts]) >= len(CHAPTERS) + 6
    for path in pages:
        html = path.read_text(encoding="utf-8")
        if 'http-equiv="Refresh"' in html:
            continue  # index.html only redirects to book/intro.html
        links = re.findall(r'<a href="([^"]+)"[^>]*\n?\s*class="[^"]*btn-language-switch', html)
        assert len(links) == 1, f"{path}: {len(links)} language switches"
        target = (path.parent / links[0]).resolve()
        assert target.is_file(), f"{path} -> {links[0]}"
        rel = path.relative_to(built_book).as_posix()
        other = target.relative_to(built_book.resolve()).as_posix()
        assert other == (rel[len(ZH) + 1:] if rel.startswith(ZH + "/") else f"{ZH}/{rel}")


@pytest.mark.parametrize("query, chapter", [("遗忘门", "05_lstm"),
                                            ("梯度消失", "04_vanishing_gradients")])
def test_chinese_search_finds_the_chapter(page, site, query, chapter):
    hits = _search(page, f"{site}/{ZH}", query)
    assert any(chapter in h for h in hits), f"{query}: {hits}"
    assert not page.errors, page.errors

