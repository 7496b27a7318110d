"""Let the site search find Chinese words inside longer Chinese terms.

Sphinx's English search indexes runs of word characters, and a run of Chinese
has no spaces: 梯度消失 ("vanishing gradient") becomes one index term, so a
search for 梯度 ("gradient") finds nothing, and Sphinx's Chinese support
needs the jieba dictionary to split anything at all. Here Chinese is indexed
one character at a time, on both sides: the index stores each character, and
the query (in the browser) is split the same way, so 梯度 becomes 梯 + 度 and
finds every page holding both, the glossary among them. English words are
indexed exactly as before (Porter stemmer, same stop words). The Chinese
edition (language zh_CN) uses the same index.
"""
from __future__ import annotations

import re

from sphinx.search.en import SearchEnglish

CJK = "\u2e80-\u2fff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{CJK}]")
SPLIT = re.compile(f"[{CJK}]|[^\\W{CJK}]+")

JS_SPLITTER = r"""
function splitQuery(query) {
  // Words as Sphinx splits them, then every Chinese character on its own
  // (book/_ext/cjk_search.py indexes them that way).
  const cjk = /[\u2e80-\u2fff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u;
  return query
    .split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)
    .filter(term => term)
    .flatMap(term => cjk.test(term)
      ? term.split(/([\u2e80-\u2fff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])/u).filter(t => t)
      : [term]);
}
"""


class SearchEnglishWithChinese(SearchEnglish):
    """English search, with each Chinese character indexed as a word."""

    js_splitter_code = JS_SPLITTER

    def split(self, input: str) -> list[str]:
        words = []
        for word in super().split(input):
            words.extend(SPLIT.findall(word) if CJK_CHAR.search(word) else [word])
        return words


class SearchChineseByCharacter(SearchEnglishWithChinese):
    """The Chinese edition's search: the same index, so it needs no jieba
    (Sphinx's own Chinese search indexes no Chinese at all without it)."""

    lang = "zh"
    language_name = "Chinese"


def setup(app):
    app.add_search_language(SearchEnglishWithChinese)
    app.add_search_language(SearchChineseByCharacter)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
