"""Ship only what the pages load.

The themes copy far more into ``_static/`` than a page uses, and a chapter
page loaded 4.4 MB. After the build this extension:

* drops Font Awesome's 1.5 MB icon script: the theme's stylesheet already
  draws every ``fa-*`` icon from Font Awesome's web fonts, so the script
  (which only swaps those icons for inline SVG) adds nothing; the fonts are
  subset to the icons the site uses and the icon rules of unused icons are
  removed from the stylesheet;
* leaves out what no page requests: source maps (and the comments that point
  at them), the theme's translation catalogues and template files, anything
  in ``_static/mathjax/`` but its fonts (math_prerender.py typesets the math
  at build time), the search index on pages other than the search page
  (the theme loads it everywhere for a search-as-you-type feature this site
  does not enable), and sphinx-design's stylesheet and script on pages that
  use none of its components;
* stores figures as palette PNGs (a third of the bytes, the same picture);
* subsets Noto Sans SC (``@fontsource/noto-sans-sc``, fetched with ``npm
  pack`` once into ``_build/.cache``) to the Chinese characters the site uses
  and ships it as ``_static/fonts/noto-sans-sc-book.woff``, so the glossary's
  中文 column renders in the same font on every reader's machine.

Everything here runs on the files of the finished build and is idempotent.
tests/test_book.py asserts the limits (per chapter page and whole site).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

FA_SCRIPT = "scripts/fontawesome.js"
FA_FONTS = ["fa-solid-900", "fa-regular-400", "fa-brands-400"]
SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)">'
    r"</script>\n?")
CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
CJK_FONT_FILE = "package/files/noto-sans-sc-chinese-simplified-400-normal.woff"
CJK_FONT_OUT = "fonts/noto-sans-sc-book.woff"


def _html_files(outdir: Path):
    # The Chinese edition has its own build in outdir/zh_CN (tools/i18n.py),
    # with its own _static: never touch it from the English build.
    return [
        p for p in outdir.rglob("*.html")
        if "_static" not in p.parts and p.relative_to(outdir).parts[0] != "zh_CN"
    ]


def _drop_unloaded_files(static: Path):
    for path in list(static.rglob("*.map")):
        path.unlink()
    for path in list(static.rglob("*.js")) + list(static.rglob("*.css")):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = re.sub(r"\n?(//# sourceMappingURL=\S+|/\*# sourceMappingURL=[^*]*\*/)\s*$", "\n", text)
        if new != text:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
    for name in ["locales", "webpack-macros.html", "sbt-webpack-macros.html",
                 FA_SCRIPT, FA_SCRIPT + ".LICENSE.txt"]:
        path = static / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    mathjax = static / "mathjax"
    if mathjax.is_dir():
        for path in sorted(mathjax.rglob("*"), reverse=True):
            if path.is_file() and not (path.suffix == ".woff" and path.parent == mathjax):
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _fix_pages(outdir: Path) -> set[str]:
    """Remove the icon script, the needless search scripts and sphinx-design's
    files where the page uses none of its components; return used fa-* names."""
    icons: set[str] = set()
    fa_tag = re.compile(r'[ \t]*<script[^>]*src="[^"]*' + re.escape(FA_SCRIPT) + r'[^"]*"></script>\n?')
    design = re.compile(r'[ \t]*<(?:link[^>]*href="[^"]*sphinx-design\.min\.css[^"]*"[^>]*/?>'
                        r'|script[^>]*src="[^"]*design-tabs\.js[^"]*"></script>)\n?')
    design_used = False
    for page in _html_files(outdir):
        html = page.read_text(encoding="utf-8")
        new = fa_tag.sub("", html)
        if page.name != "search.html" or page.parent != outdir:
            new = SEARCH_SCRIPTS.sub("", new)
        if re.search(r'class="[^"]*\bsd-', new):
            design_used = True
        else:
            new = design.sub("", new)
        if new != html:
            page.write_text(new, encoding="utf-8")
        for classes in re.findall(r'class="([^"]*\bfa-[^"]*)"', new):
            icons.update(re.findall(r"\bfa-[a-z0-9-]+", classes))
    if not design_used:
        for name in ["sphinx-design.min.css", "design-tabs.js"]:
            if (outdir / "_static" / name).exists():
                (outdir / "_static" / name).unlink()
    return icons


def _subset_icon_fonts(static: Path, icons: set[str]):
    """Keep the icon rules and glyphs the site uses; serve the fonts as small woff files."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    css_path = static / "styles" / "pydata-sphinx-theme.css"
    if not css_path.is_file():
        return
    for js in static.rglob("*.js"):  # icons a script creates, e.g. "fa-xmark"
        icons.update(re.findall(r"\bfa-[a-z0-9-]+", js.read_text(encoding="utf-8", errors="ignore")))
    css = css_path.read_text(encoding="utf-8")
    rule = re.compile(r'(?<=[}\s])([^{}]+)\{content:"\\([0-9a-f]+)"\}')

    def keep(match):
        names = set(re.findall(r"\.(fa-[a-z0-9-]+):+before", match.group(1)))
        return match.group(0) if names & icons or not names else ""
    css = rule.sub(keep, css)
    codepoints = {int(cp, 16) for cp in re.findall(r'content:"\\([0-9a-f]+)"', css)}
    for other in static.rglob("*.css"):   # icons drawn by stylesheets (admonitions, links)
        text = css if other == css_path else other.read_text(encoding="utf-8", errors="ignore")
        codepoints |= {ord(c) for c in re.findall(r"[\ue000-\uf8ff]", text)}
        codepoints |= {int(cp, 16) for cp in re.findall(r'"\\([ef][0-9a-f]{3})"', text)}
    fonts = static / "vendor" / "fontawesome" / "webfonts"
    for name in FA_FONTS:
        ttf, woff = fonts / f"{name}.ttf", fonts / f"{name}.woff"
        if ttf.is_file():
            font = TTFont(ttf)
            options = subset.Options()
            options.flavor = "woff"
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=sorted(codepoints))
            subsetter.subset(font)
            font.flavor = "woff"
            font.save(woff)
        for stale in (fonts / f"{name}.woff2", ttf):
            if stale.exists():
                stale.unlink()
        css = re.sub(
            r"src:url\(\.\./vendor/fontawesome/webfonts/" + name + r"\.woff2\) format\(\"woff2\"\),"
            r"url\(\.\./vendor/fontawesome/webfonts/" + name + r"\.ttf\) format\(\"truetype\"\)",
            f'src:url(../vendor/fontawesome/webfonts/{name}.woff) format("woff")', css)
    css_path.write_text(css, encoding="utf-8")


def _compress_figures(outdir: Path):
    """Store each figure with a 256-colour palette (matplotlib's plots use far
    fewer colours): a third of the bytes, and the same picture; a PNG that the
    palette would visibly change (a photograph, a gradient) stays as it is."""
    import numpy as np
    from PIL import Image

    for path in (outdir / "_images").glob("*.png"):
        with Image.open(path) as image:
            if image.mode not in ("RGB", "RGBA"):
                continue            # already a palette image (an earlier build) or grey
            pixels = np.asarray(image)
            if image.mode == "RGBA" and pixels[..., 3].min() < 255:
                continue            # transparency: leave it
            rgb = image.convert("RGB")
            palette = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                   dither=Image.Dither.NONE)
        error = np.abs(np.asarray(palette.convert("RGB"), dtype=np.int16)
                       - np.asarray(rgb, dtype=np.int16)).mean()
        if error < 0.5:
            palette.save(path, optimize=True)


def _cjk_source(app) -> Path | None:
    """Noto Sans SC from npm, cached under _build/.cache (fetched once with `npm pack`)."""
    spec = app.config.cjk_font_package
    cache = Path(app.srcdir) / "_build" / ".cache" / spec.replace("/", "_").replace("@", "")
    font = cache / Path(CJK_FONT_FILE).name
    if font.is_file():
        return font
    npm = shutil.which("npm")
    if npm is None:
        logger.warning("npm not found: cannot fetch %s for the Chinese web font", spec)
        return None
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "pack", spec, "--silent"], cwd=cache, capture_output=True, text=True)
    tarballs = sorted(cache.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        logger.warning("`npm pack %s` failed: %s", spec, proc.stderr.strip()[-500:])
        return None
    with tarfile.open(tarballs[-1]) as tar:
        member = tar.getmember(CJK_FONT_FILE)
        font.write_bytes(tar.extractfile(member).read())
        licence = tar.extractfile(tar.getmember("package/LICENSE")).read()
        (cache / "LICENSE").write_bytes(licence)
    for tarball in tarballs:
        tarball.unlink()
    return font


def _subset_cjk_font(app, outdir: Path):
    from fontTools import subset
    from fontTools.ttLib import TTFont

    chars = set()
    for page in _html_files(outdir):
        chars.update(CJK.findall(page.read_text(encoding="utf-8")))
    source = _cjk_source(app)
    if source is None:
        return
    font = TTFont(source)
    missing = sorted(c for c in chars if ord(c) not in font.getBestCmap())
    if missing:
        logger.warning("the Chinese web font lacks %s", "".join(missing))
    subsetter = subset.Subsetter(subset.Options())
    subsetter.populate(text="".join(sorted(chars)) or "中")
    subsetter.subset(font)
    font.flavor = "woff"
    out = outdir / "_static" / CJK_FONT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    shutil.copyfile(source.parent / "LICENSE", out.parent / "noto-sans-sc-LICENSE.txt")


def _finish(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    import logging as std_logging
    std_logging.getLogger("fontTools").setLevel(std_logging.WARNING)   # no per-table notes
    outdir = Path(app.outdir)
    static = outdir / "_static"
    _drop_unloaded_files(static)
    icons = _fix_pages(outdir)
    _subset_icon_fonts(static, icons)
    _subset_cjk_font(app, outdir)
    _compress_figures(outdir)


def setup(app):
    app.add_config_value("cjk_font_package", "@fontsource/noto-sans-sc@5.3.0", "html")
    # After every other build-finished step (math_prerender writes _static/mathjax/).
    app.connect("build-finished", _finish, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
