"""The two editions: a language switch on every page, and the one thing
Sphinx's translation misses here.

The language switch leads to the same page in the other edition.

The English edition is the site's root and the Chinese one lives in its
zh_CN/ folder (tools/i18n.py builds it from the same sources), so a page has
the same name in both and the link is a relative path: it works on a web
server and from the files on disk alike. The link goes in the header next to
the download and full-screen buttons, and a <link rel="alternate"> tells
search engines the two pages are translations of each other.

The part captions of the table of contents ("Chapters", ...) are extracted
for translation, but sphinx-external-toc inserts the toctree after Sphinx
has translated the page, so they would stay English: translate them from the
root page's catalogue right after they are inserted.
"""
from __future__ import annotations

from html import escape

from sphinx import addnodes
from sphinx.locale import init as init_catalog
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

CHINESE = "zh_CN"


def other_edition(pagename: str, language: str | None) -> tuple[str, str]:
    """(relative URL, hreflang) of `pagename` in the other edition."""
    up = "../" * pagename.count("/")
    if language == CHINESE:
        return f"../{up}{pagename}.html", "en"
    return f"{up}{CHINESE}/{pagename}.html", "zh-CN"


def _add_switch(app, pagename, templatename, context, doctree):
    if "header_buttons" not in context or pagename in {"genindex", "search"}:
        return
    url, hreflang = other_edition(pagename, app.config.language)
    chinese = hreflang == "zh-CN"
    context["header_buttons"].append(
        {
            "type": "link",
            "url": url,
            "text": "中文" if chinese else "English",
            "tooltip": "阅读本页的中文版" if chinese else "Read this page in English",
            "icon": "fas fa-language",
            "label": "language-switch",
        }
    )
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{hreflang}" href="{escape(url)}">'
    )


class TranslateTocCaptions(SphinxTransform):
    default_priority = 101  # right after sphinx-external-toc's InsertToctrees

    def apply(self, **kwargs):
        config = self.config
        captioned = [n for n in self.document.findall(addnodes.toctree) if n.get("caption")]
        if not captioned or not config.language or config.language == "en":
            return  # only the root page has them
        domain = docname_to_domain(self.env.docname, config.gettext_compact)
        dirs = [str(self.app.srcdir / d) for d in config.locale_dirs]
        catalog, _ = init_catalog(dirs, config.language, domain)
        for node in captioned:
            node["caption"] = catalog.gettext(node["rawcaption"])


def setup(app):
    app.add_transform(TranslateTocCaptions)
    # After sphinx-book-theme fills header_buttons (its handlers run at 501).
    app.connect("html-page-context", _add_switch, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
