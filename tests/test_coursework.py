"""Coursework: student versions hide solutions, grading scores what it should.

Runs the same code as `make release` and `make grade` (tools/coursework.py)
on every chapter that has exercises, in a temporary course folder.
"""
import csv
import re
import shutil
import sys

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import coursework  # noqa: E402

# Seconds a cell may run while grading. Exercises are quick; this bounds the
# deliberately infinite loop below.
TIMEOUT = 20


def _solution_lines(cell_source: str) -> list[str]:
    """The substantial lines between BEGIN and END SOLUTION."""
    lines, inside = [], False
    for line in cell_source.splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 12:
            lines.append(line.strip())
    return lines


def _hidden_lines(cell_source: str) -> list[str]:
    m = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell_source, re.S)
    return [l.strip() for l in m.group(1).splitlines() if l.strip()] if m else []


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    released = coursework.release(course, timeout=TIMEOUT)
    return course, released


def test_every_chapter_with_exercises_is_released(course):
    course_dir, released = course
    with_exercises = [c for c in coursework.chapters() if coursework.exercise_notebook(c)]
    assert with_exercises, "no chapter has an Exercises section"
    assert [p.parent.name for p in released] == [coursework.assignment_id(c) for c in with_exercises]
    for path in released:
        assert path.is_file()


def test_each_chapter_has_at_least_two_autograded_exercises(course):
    course_dir, released = course
    for path in released:
        src = nbformat.read(course_dir / "source" / path.parent.name / path.name, as_version=4)
        checks = [c for c in src.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert len(checks) >= 2, f"{path.name} has {len(checks)} auto-graded checks"
        assert all(c.metadata["nbgrader"]["points"] > 0 for c in checks)


def test_student_versions_contain_no_solution_and_no_hidden_tests(course):
    course_dir, released = course
    for path in released:
        student_text = path.read_text()
        assert "BEGIN SOLUTION" not in student_text and "END SOLUTION" not in student_text
        assert "HIDDEN TESTS" not in student_text
        src = nbformat.read(course_dir / "source" / path.parent.name / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        # Lines that the source also shows outside solutions and hidden tests
        # (a visible assert repeated in the hidden part, say) may appear.
        public = set()
        for cell in src.cells:
            text = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
            text = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", text, flags=re.S)
            public.update(l.strip() for l in text.splitlines())
        n_solutions = 0
        for cell in src.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                n_solutions += 1
                for line in set(_solution_lines(cell.source)) - public:
                    assert line not in student_text, f"solution text leaked into {path.name}: {line}"
            for line in set(_hidden_lines(cell.source)) - public:
                assert line not in student_text, f"hidden test leaked into {path.name}: {line}"
        stubs = [c for c in student.cells
                 if c.cell_type == "code" and "raise NotImplementedError()" in c.source]
        assert len(stubs) == n_solutions > 0
        assert all(c.cell_type != "code" or not c.outputs for c in student.cells)


@pytest.fixture(scope="module")
def scores(course, tmp_path_factory):
    """Grade three students: the reference solutions, the untouched student
    versions, and a broken submission of the first chapter."""
    course_dir, released = course
    subs = tmp_path_factory.mktemp("submitted")
    for path in released:
        aid = path.parent.name
        for student, source in [("reference", course_dir / "source" / aid / path.name),
                                ("untouched", path)]:
            (subs / student / aid).mkdir(parents=True)
            shutil.copy(source, subs / student / aid / path.name)
    first = released[0]
    broken = nbformat.read(course_dir / "source" / first.parent.name / first.name, as_version=4)
    solutions = [c for c in broken.cells if c.metadata.get("nbgrader", {}).get("solution")]
    solutions[0].source = "def oops(:\n    pass"           # a syntax error
    solutions[1].source = "while True:\n    pass\n" + solutions[1].source  # never ends
    (subs / "broken" / first.parent.name).mkdir(parents=True)
    nbformat.write(broken, subs / "broken" / first.parent.name / first.name)
    out = coursework.grade(subs, course_dir, timeout=TIMEOUT)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    return rows, first.parent.name, [c.metadata["nbgrader"]["grade_id"] for c in solutions]


def _by_student(rows, student):
    return [r for r in rows if r["student"] == student]


def test_reference_solutions_get_full_marks(scores, course):
    rows, _, _ = scores
    ref = _by_student(rows, "reference")
    assert {r["assignment"] for r in ref} == {p.parent.name for p in course[1]}
    for r in ref:
        assert float(r["score"]) == float(r["max_score"]) > 0, r


def test_untouched_student_versions_get_zero(scores):
    rows, _, _ = scores
    untouched = _by_student(rows, "untouched")
    assert untouched
    for r in untouched:
        assert float(r["score"]) == 0, r
        assert "NotImplementedError" in r["reason"], r


def test_broken_submission_loses_only_the_broken_exercises(scores):
    rows, aid, solution_ids = scores
    broken = {r["exercise"]: r for r in _by_student(rows, "broken")}
    first, second = (gid.removesuffix("-solution") for gid in solution_ids[:2])
    assert float(broken[first]["score"]) == 0 and "SyntaxError" in broken[first]["reason"]
    assert float(broken[second]["score"]) == 0 and "Timeout" in broken[second]["reason"]
    others = [r for ex, r in broken.items() if ex not in (first, second)]
    for r in others:  # still graded, and still correct
        assert float(r["score"]) == float(r["max_score"]), r


def test_instructor_page_lists_the_points_of_every_chapter():
    page = (ROOT / "book" / "instructors.md").read_text()
    m = re.search(r"<!-- points-table -->\n(.*?)<!-- /points-table -->", page, re.S)
    assert m, "points table markers missing from book/instructors.md"
    assert m.group(1).strip() == coursework.points_table(), \
        "update the table: .venv/bin/python tools/coursework.py points"
