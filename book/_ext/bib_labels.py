"""Bibliography labels that match the author-year citations in the text.

The chapters cite as "Hochreiter and Schmidhuber (1997)" / "(Gers et al., 2000)"
(``bibtex_reference_style: author_year``), but pybtex's default "alpha" labels
read [HS97], [CvMerrienboerG+14]. This pybtex style labels each entry the way
the text cites it, "Hochreiter and Schmidhuber, 1997", "Gers et al., 2000"
(one or two surnames, else the first and "et al."), with "a", "b" appended
when two works would get the same label, and sorts the list as the labels
read (first author, then year).
Selected in _config.yml with ``bibtex_default_style: authoryear``.
"""
from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSorting


def _surname(person) -> str:
    parts = person.rich_prelast_names + person.rich_last_names
    return " ".join(part.render_as("text") for part in parts)


def author_year_label(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if not people:
        names = entry.fields.get("organization") or entry.fields.get("title", entry.key)
    elif len(people) == 1:
        names = _surname(people[0])
    elif len(people) == 2:
        names = f"{_surname(people[0])} and {_surname(people[1])}"
    else:
        names = f"{_surname(people[0])} et al."
    return f"{names}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        repeated = {label for label, n in Counter(labels).items() if n > 1}
        seen: Counter = Counter()
        for label in labels:
            if label in repeated:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class LabelOrderSorting(AuthorYearTitleSorting):
    """Sort as the labels read: first author, then one / two / "et al.", then year."""

    def sorting_key(self, entry):
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        first = self.person_key(people[0]) if people else ""
        group = self.persons_key(people[:2]) if len(people) == 2 else str(min(len(people), 3))
        return (first, group, entry.fields.get("year", ""), entry.fields.get("title", ""))


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "authoryear"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.sorting", "authoryear", LabelOrderSorting)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
