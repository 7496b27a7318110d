"""The Chinese edition keeps in step with the English (tools/i18n.py).

Re-extracting the English messages changes no catalogue; every message is
translated and none is fuzzy; math, roles, inline code and link targets
survive translation, and the markup parses the same; each glossary term's
中文 form is the one the Chinese chapter that defines it uses. When an
English sentence changes, the first two fail until its translation is
updated (CONTRIBUTING.md, "The Chinese edition").
"""
from __future__ import annotations

import re
import sys

import pytest
from babel.messages.catalog import Catalog

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import i18n  # noqa: E402

FIX = "python tools/i18n.py update, then translate what it lists"


@pytest.fixture(scope="module")
def templates():
    return i18n.extract()


@pytest.fixture(scope="module")
def catalogs():
    return {p.relative_to(i18n.PO_DIR).with_suffix("").as_posix(): i18n.read_catalog(p)
            for p in sorted(i18n.PO_DIR.rglob("*.po"))}


def test_catalogues_are_up_to_date_with_the_english(templates, catalogs):
    assert set(templates) == set(catalogs), "one catalogue per document of the book"
    stale = [doc for doc, template in templates.items()
             if i18n.po_path(doc).read_bytes() != i18n.dump(i18n.merged(doc, template))]
    assert not stale, f"English changed in {stale}: {FIX}"


def test_every_message_is_translated_and_none_is_fuzzy(catalogs):
    left = [f"{doc}: {m.id[:50]!r}" for doc, cat in catalogs.items() for m in cat
            if m.id and (m.fuzzy or not m.string)]
    total = sum(1 for cat in catalogs.values() for m in cat if m.id)
    print(f"{total} messages in {len(catalogs)} catalogues, {total - len(left)} translated")
    assert total > 1500
    assert not left, f"{len(left)} messages untranslated or fuzzy ({FIX}): {left[:10]}"


def test_placeholders_and_markup_survive_translation(catalogs):
    found = [p for doc, cat in catalogs.items() for p in i18n.catalog_problems(doc, cat)
             if "placeholders" in p or "markup" in p]
    assert not found, "\n".join(found[:20])


def _catalog(pairs) -> Catalog:
    cat = Catalog(locale="zh_CN")
    for msgid, msgstr in pairs:
        cat.add(msgid, msgstr)
    return cat


@pytest.mark.parametrize("msgid, msgstr, problem", [
    ("The gate $f_t$ in {eq}`eq-f`.", "门 {eq}`eq-f`。", "placeholders"),        # math lost
    ("The gate $f_t$ in {eq}`eq-f`.", "门 $f_{t}$ 见 {eq}`eq-f`。", "placeholders"),  # math edited
    ("Call `lstm_step`.", "调用 `lstm步`。", "placeholders"),                     # code translated
    ("See [nbval](https://nbval.io).", "见 [nbval](https://nbval.org)。", "placeholders"),
    ("See {cite:t}`gers2000`.", "见 {cite:p}`gers2000`。", "placeholders"),
    ("The **forget gate** keeps it.", "**“遗忘门”**保留它。", "markup"),          # CJK bold trap
    ("A *proportion*.", "一个比例。", "markup"),                                   # emphasis dropped
    ("New text.", "", "untranslated"),
])
def test_a_broken_translation_is_caught(msgid, msgstr, problem):
    found = i18n.catalog_problems("doc", _catalog([(msgid, msgstr)]))
    assert len(found) == 1 and problem in found[0], found


@pytest.mark.parametrize("msgid, msgstr", [
    ("The gate $f_t$ in {eq}`eq-f` and `x`.", "`x` 与 {eq}`eq-f` 中的门 $f_t$。"),  # reordered
    ("See the {ref}`notation page <notation>`.", "见{ref}`记号页 <notation>`。"),   # role text
    ("The **forget gate** keeps it.", "**遗忘门**保留它。"),
])
def test_a_good_translation_passes(msgid, msgstr):
    assert i18n.catalog_problems("doc", _catalog([(msgid, msgstr)])) == []


def test_a_changed_english_sentence_fails_until_translated():
    """`update` keeps the old translation of an edited sentence but marks it
    fuzzy, which the check reports; a new sentence comes in untranslated."""
    old = _catalog([("The LSTM has three gates.", "LSTM 有三个门。")])
    template = Catalog()
    template.add("The LSTM has three gates and a cell.")
    template.add("A new sentence.")
    old.update(template, no_fuzzy_matching=False)
    found = i18n.catalog_problems("doc", old)
    assert any("fuzzy" in p for p in found) and any("untranslated" in p for p in found), found


def test_display_math_and_symbols_need_no_translation():
    assert i18n.needs_no_translation("\n\\mathbf{c}_t = \\mathbf{f}_t \\odot \\mathbf{c}_{t-1}\n")
    assert i18n.needs_no_translation("`W_hh`, $(H, H)$")
    assert not i18n.needs_no_translation("the forget gate $f_t$")


GLOSSARY_ROW = re.compile(r"^\| (?P<en>[^|]+) \| (?P<zh>[^|]+) \| .* \| \{doc\}`\.\./(?P<doc>notebooks/[^`]+)` \|$")


def _glossary_rows():
    rows = [m.groupdict() for line in (ROOT / "book" / "glossary.md").read_text().splitlines()
            if (m := GLOSSARY_ROW.match(line.strip()))]
    assert len(rows) > 80
    return rows


def _forms(zh: str) -> list[str]:
    """A 中文 cell's forms: alternatives split at " / ", a gloss in brackets dropped."""
    zh = re.sub(r"\s*[（(][^）)]*[）)]", "", zh.strip())
    return [f.strip() for f in zh.split(" / ")]


def test_glossary_terms_are_the_ones_the_chapters_use(catalogs):
    text = {doc: "\n".join(m.string for m in cat if m.id) for doc, cat in catalogs.items()}
    missing = [f"{r['en'].strip()} = {r['zh'].strip()} not in {r['doc']}"
               for r in _glossary_rows()
               if not any(form in text[r["doc"]] for form in _forms(r["zh"]))]
    assert not missing, "\n".join(missing)


def test_the_language_switch_leads_to_the_same_page():
    from editions import other_edition
    for page in ["book/intro", "notebooks/05_lstm", "index"]:
        to_zh, lang = other_edition(page, "en")
        assert lang == "zh-CN" and to_zh.endswith(f"zh_CN/{page}.html")
        back, lang = other_edition(page, "zh_CN")
        assert lang == "en"
        # resolve both relative links from the page's own folder
        import posixpath
        folder = posixpath.dirname(page)
        zh_page = posixpath.normpath(posixpath.join(folder, to_zh))
        en_page = posixpath.normpath(posixpath.join(posixpath.dirname(zh_page), back))
        assert zh_page == f"zh_CN/{page}.html" and en_page == f"{page}.html"


def test_no_message_holds_what_the_tests_measure(templates):
    """book/runtimes.json changes whenever the tests run; the run-times page's
    generated table and versions must not become messages, or the catalogues
    would go stale on every other machine (book/_ext/book_meta.py)."""
    import json
    data = json.loads((ROOT / "book" / "runtimes.json").read_text())["notebooks"]
    measured = {f"{e['seconds']:.1f} s" for e in data.values()} | {e["cpu"] for e in data.values()}
    ids = [m.id for cat in templates.values() for m in cat if m.id]
    assert not [i for i in ids if any(v in i for v in measured)]
