"""Coursework: student versions hide solutions, grading scores what it should.

Runs the code of `make release` and `make grade` (tools/coursework.py) on
every chapter with exercises, in a temporary course folder, and grades a
small class in which every student stands for one case an instructor meets:
reference answers, untouched hand-outs, broken and crashing notebooks,
renamed files, edited check cells, attacks on the grading machine, and
cheats. Every case must end with the right score and a clear reason, and the
others must still be graded.
"""
import csv
import hashlib
import re
import shutil
import socket
import sys
import threading
import time

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import coursework  # noqa: E402

# Seconds a cell may run while grading; bounds the endless loop below.
TIMEOUT = 10
DUE = "2026-12-01 12:00"

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="grading needs bubblewrap (apt-get install bubblewrap)")


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


def _gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    released = coursework.release(course, timeout=TIMEOUT)
    return course, released


# ---------------------------------------------------------------- release --

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
        checks = [c for c in src.cells if c.metadata.get("nbgrader", {}).get("grade")
                  and c.cell_type == "code"]
        assert len(checks) >= 2, f"{path.name} has {len(checks)} auto-graded checks"
        assert all(c.metadata["nbgrader"]["points"] > 0 for c in checks)


def test_student_versions_contain_no_solution_and_no_hidden_tests(course):
    course_dir, released = course
    for path in released:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert "HIDDEN TESTS" not in text
        src = nbformat.read(course_dir / "source" / path.parent.name / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        student_text = {l.strip() for c in student.cells for l in c.source.splitlines()}
        # Lines that the source also shows outside solutions and hidden tests
        # (a visible assert repeated in the hidden part, say) may appear.
        public = set()
        for cell in src.cells:
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
                continue
            text = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.S)
            text = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", text, flags=re.S)
            public.update(l.strip() for l in text.splitlines())
        n_solutions = 0
        for cell in src.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                n_solutions += 1
                for line in set(_solution_lines(cell.source)) - public:
                    assert line not in student_text, f"solution text leaked into {path.name}: {line}"
            if meta.get("solution") and cell.cell_type == "markdown":   # a written answer
                for line in {l.strip() for l in cell.source.splitlines() if len(l.strip()) > 30} - public:
                    assert line not in student_text, f"written answer leaked into {path.name}: {line}"
            for line in set(_hidden_lines(cell.source)) - public:
                assert line not in student_text, f"hidden test leaked into {path.name}: {line}"
        stubs = [c for c in student.cells
                 if c.cell_type == "code" and "raise NotImplementedError()" in c.source]
        assert len(stubs) == n_solutions > 0
        assert all(c.cell_type != "code" or not c.outputs for c in student.cells)


def test_student_versions_read_well_in_jupyter(course):
    """No raw MyST, a title naming the chapter, points on every exercise, an
    answer cell for every written exercise, set-up instructions."""
    _, released = course
    titles = {}
    for path in released:
        nb = nbformat.read(path, as_version=4)
        md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        for raw in ("{eq}", "{cite", "{numref}", "{ref}", "{doc}", "```{", ":::{", ")=\n"):
            assert raw not in md, f"raw MyST {raw!r} in {path.name}"
        titles[path.parent.name] = nb.cells[0].source.splitlines()[0]
        intro = nb.cells[0].source
        assert "pip install" in intro and "Keep this file's name" in intro and path.name in intro
        heads = re.findall(r"Exercise (\d+) \((auto-graded|written), (\d+) points?\)", md)
        assert heads, f"no exercise shows its points in {path.name}"
        written = [k for k, kind, _ in heads if kind == "written"]
        answers = [_gid(c) for c in nb.cells if _gid(c).endswith("-answer")]
        assert len(answers) == len(written)
        checks = [_gid(c) for c in nb.cells if _gid(c).endswith("-check")]
        assert len(checks) == len(heads) - len(written)
        if path.parent.name == "ch01":       # what a by-hand exercise must not call is stated
            assert "*Not allowed in your answer (the grader checks):* `seqlib.embeddings.lookup_backward`" in md
    assert titles["ch06"] == "# Exercises: GRU"
    assert titles["ch01"] == "# Exercises: Word embeddings"


def test_instructor_page_lists_the_points_of_every_chapter():
    page = (ROOT / "book" / "instructors.md").read_text()
    m = re.search(r"<!-- points-table -->\n(.*?)<!-- /points-table -->", page, re.S)
    assert m, "points table markers missing from book/instructors.md"
    assert m.group(1).strip() == coursework.points_table(), \
        "update the table: .venv/bin/python tools/coursework.py points"


# --------------------------------------------------------------- the class --

def _set(nb, gid, code):
    next(c for c in nb.cells if _gid(c) == gid).source = code


def _after(nb, gid, code):
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == gid)
    nb.cells.insert(i + 1, nbformat.v4.new_code_cell(code))


# The exercises of chapter 1 in the notebooks: analogy (ex1), embedding_grad
# (ex2, "do not call lookup_backward or autograd") and sgns_batch_loss (ex3).
ALWAYS_EQUAL = '''
class _Anything(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__

def analogy(E, a, b, c):
    return _Anything(0)
'''
PATCHES = '''
import numpy, torch.testing, seqlib.gradients
torch.testing.assert_close = lambda *a, **k: None
numpy.array_equal = lambda *a, **k: True
seqlib.gradients.max_abs_diff = lambda *a, **k: 0.0
def embedding_grad(ids, G, V):
    return torch.zeros(V, G.shape[-1], dtype=G.dtype)
'''
TRANSFORMER = '''
def _swallow(lines):
    return ["try:\\n"] + ["    " + l for l in lines] + ["\\n    pass\\nexcept BaseException:\\n    pass\\n"]
get_ipython().input_transformers_post.append(_swallow)
'''
BY_HAND_EX2 = '''
def embedding_grad(ids, G, V):
    fn = getattr(__import__("seqlib.embeddings", fromlist=["x"]), "lookup_" + "backward")
    return fn(ids, G, V)
'''
BY_HAND_EX3 = '''
def sgns_batch_loss(E, U, centres, contexts, negatives):
    sg = embeddings.SkipGram(E.shape[0], E.shape[1])
    with torch.no_grad():
        sg.centre.weight.copy_(E)
        sg.context.weight.copy_(U)
        return sg(centres, contexts, negatives)
'''


def _attacks(course_dir, subs, canary, port):
    """Each observed attack, in one cell; prints what happened to each."""
    return f'''
import os, shutil, socket
def attempt(what, f):
    try:
        f()
        print("DONE:", what)
    except BaseException as e:
        print("BLOCKED:", what, type(e).__name__)
attempt("read source", lambda: open({str(course_dir / "source" / "ch01" / "01_embeddings_exercises.ipynb")!r}).read())
attempt("read other student", lambda: open({str(subs / "reference" / "ch01" / "01_embeddings_exercises.ipynb")!r}).read())
attempt("write repository", lambda: open({str(ROOT / "PWNED_BY_STUDENT")!r}, "w").write("x"))
attempt("delete outside", lambda: os.remove({str(canary)!r}))
attempt("delete gradebook", lambda: os.remove({str(course_dir / "gradebook.db")!r}))
attempt("copy source into output", lambda: shutil.copytree({str(course_dir / "source")!r},
        {str(course_dir / "autograded" / "vandal" / "stolen")!r}))
attempt("network", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
attempt("memory", lambda: bytearray(16 * 2 ** 30))
attempt("fill disk", lambda: open("/tmp/big", "wb").write(b"x" * 600 * 2 ** 20))
'''


def _snapshot(folder):
    return {p.relative_to(folder): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    course_dir, released = course
    subs = tmp_path_factory.mktemp("submissions")
    name = {p.parent.name: p.name for p in released}

    def source(aid):
        return nbformat.read(course_dir / "source" / aid / name[aid], as_version=4)

    def hand_in(student, aid, nb, filename=None, folder=None, timestamp=None):
        d = subs / student / (folder or aid)
        d.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, d / (filename or name[aid]))
        if timestamp:
            (d / "timestamp.txt").write_text(timestamp)

    for aid in name:                                        # full marks, ch02 a day late
        hand_in("reference", aid, source(aid),
                timestamp={"ch01": "2026-12-01 10:00:00 UTC",
                           "ch02": "2026-12-02 12:00:00 UTC"}.get(aid, "2026-11-30 09:00:00 UTC"))
    hand_in("untouched", "ch01", nbformat.read(course_dir / "release" / "ch01" / name["ch01"], as_version=4))
    nb = source("ch01")                                     # syntax error; a loop that ignores SIGINT
    _set(nb, "ch1-ex1-solution", "def analogy(:\n    pass")
    _set(nb, "ch1-ex2-solution", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                 "while True:\n    pass")
    hand_in("broken", "ch01", nb)
    nb = source("ch01")            # os._exit in a cell, exit() in an answer; stderr, a 10 MB print
    _after(nb, "ch1-ex1-solution", "import os\nos._exit(1)")
    ex2 = next(c for c in nb.cells if _gid(c) == "ch1-ex2-solution")
    ex2.source = "import sys, warnings\nprint('note: this is slow', file=sys.stderr)\n" \
                 "warnings.warn('a warning')\n" + ex2.source
    _after(nb, "ch1-ex2-solution", "print('x' * 10_000_000)")
    ex3 = next(c for c in nb.cells if _gid(c) == "ch1-ex3-solution")
    ex3.source += "\nexit()"
    hand_in("crash", "ch01", nb)
    hand_in("misnamed", "ch01", source("ch01"), filename="01_embeddings_exercises (1).ipynb")
    hand_in("misnamed", "ch03", source("ch03"), folder="ch3")
    nb = source("ch01")                                     # check cells edited or deleted
    next(c for c in nb.cells if _gid(c) == "ch1-ex1-check").metadata["nbgrader"]["points"] = 20
    nb.cells = [c for c in nb.cells if _gid(c) != "ch1-ex2-check"]
    hand_in("meta", "ch01", nb)
    canary = tmp_path_factory.mktemp("outside") / "canary.txt"
    canary.write_text("still here")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    connections = []

    def accept():
        while listener.fileno() != -1:
            try:
                connections.append(listener.accept())
            except OSError:
                if listener.fileno() == -1:
                    return
    threading.Thread(target=accept, daemon=True).start()
    nb = source("ch01")                                     # attacks the machine; ex1 runs the source
    _after(nb, "ch1-ex1-solution", _attacks(course_dir, subs, canary, listener.getsockname()[1]))
    _set(nb, "ch1-ex1-solution", f'''
import json
def analogy(E, a, b, c):
    try:
        nb = json.load(open({str(course_dir / "source" / "ch01" / name["ch01"])!r}))
    except OSError:
        return -1
    code = "".join(next(c["source"] for c in nb["cells"] if "def analogy" in "".join(c["source"])))
    exec(code, globals())
    return analogy(E, a, b, c)
''')
    hand_in("vandal", "ch01", nb)
    nb = nbformat.read(course_dir / "release" / "ch01" / name["ch01"], as_version=4)
    _after(nb, "ch01-setup", TRANSFORMER)     # every later cell in try/except; patched checks
    _set(nb, "ch1-ex2-solution", PATCHES)
    _set(nb, "ch1-ex1-solution", "def analogy(E, a, b, c):\n    return 3")
    hand_in("tamperer", "ch01", nb)
    nb = source("ch01")            # an answer equal to everything; the library instead of by hand
    _set(nb, "ch1-ex1-solution", ALWAYS_EQUAL)
    _set(nb, "ch1-ex2-solution", BY_HAND_EX2)
    _set(nb, "ch1-ex3-solution", BY_HAND_EX3)
    hand_in("cheater", "ch01", nb)

    before = _snapshot(subs)
    rows_seen = []                 # rows in scores.csv each time a notebook is reported done

    def progress(message):
        if message.startswith("graded "):
            rows_seen.append(len((course_dir / "scores.csv").read_text().splitlines()))
    t0 = time.monotonic()
    out = coursework.grade(subs, course_dir, timeout=TIMEOUT, jobs=2, due=[DUE], log=progress)
    seconds = time.monotonic() - t0
    listener.close()
    with out.open() as f:
        rows = list(csv.DictReader(f))
    yield {"rows": {(r["student"], r["exercise"]): r for r in rows}, "all": rows, "course": course_dir,
           "subs": subs, "before": before, "canary": canary, "connections": connections,
           "seconds": seconds, "name": name, "rows_seen": rows_seen}
    (ROOT / "PWNED_BY_STUDENT").unlink(missing_ok=True)


def _score(graded, student, ex):
    r = graded["rows"][(student, ex)]
    return (float(r["score"]) if r["score"] else None), r["reason"]


def _output(graded, student, aid="ch01"):
    nb = nbformat.read(graded["course"] / "autograded" / student / aid / graded["name"][aid], as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_reference_answers_get_full_marks(graded):
    for (student, ex), r in graded["rows"].items():
        if student == "reference" and r["kind"] == "auto":
            assert float(r["score"]) == float(r["max_score"]) > 0, r
        elif student == "reference":           # written answers wait for the instructor
            assert r["score"] == "" and r["status"] == "needs manual grading", r


def test_every_student_has_a_row_for_every_exercise(graded):
    exercises = {r["exercise"] for r in graded["all"]}
    students = {r["student"] for r in graded["all"]}
    assert len(graded["all"]) == len(exercises) * len(students)
    assert len(students) == 9
    r = graded["rows"][("untouched", "ch2-ex1")]
    assert r["status"] == "not submitted" and float(r["score"]) == 0


def test_untouched_hand_outs_get_zero(graded):
    for ex in ("ch1-ex1", "ch1-ex2", "ch1-ex3"):
        score, reason = _score(graded, "untouched", ex)
        assert score == 0 and "NotImplementedError" in reason, reason
    score, reason = _score(graded, "untouched", "ch1-ex4")
    assert score == 0 and reason == "no answer written"


def test_a_broken_notebook_loses_only_the_broken_exercises(graded):
    score, reason = _score(graded, "broken", "ch1-ex1")
    assert score == 0 and "SyntaxError" in reason
    score, reason = _score(graded, "broken", "ch1-ex2")
    assert score == 0 and "Timeout" in reason and "did not stop" in reason
    assert _score(graded, "broken", "ch1-ex3")[0] == 2


def test_a_cell_that_ends_the_kernel_costs_only_its_own_exercise(graded):
    assert _score(graded, "crash", "ch1-ex1") == (2, "")     # os._exit in a later cell
    assert _score(graded, "crash", "ch1-ex2") == (2, "")     # stderr output and a warning
    score, reason = _score(graded, "crash", "ch1-ex3")        # exit() in the answer cell
    assert score == 0 and "kernel" in reason, reason


def test_renamed_files_and_folders_get_zero_with_the_fix(graded):
    score, reason = _score(graded, "misnamed", "ch1-ex1")
    assert score == 0 and "renamed" in reason and "01_embeddings_exercises (1).ipynb" in reason
    score, reason = _score(graded, "misnamed", "ch3-ex1")
    assert score == 0 and "'ch3'" in reason and "'ch03'" in reason


def test_edited_check_cells_score_zero(graded):
    score, reason = _score(graded, "meta", "ch1-ex1")
    assert score == 0 and "metadata" in reason and "20" in reason
    score, reason = _score(graded, "meta", "ch1-ex2")
    assert score == 0 and "missing" in reason
    assert _score(graded, "meta", "ch1-ex3")[0] == 2


def test_attacks_on_the_machine_fail(graded):
    out = _output(graded, "vandal")
    for what in ("read source", "read other student", "write repository", "delete outside",
                 "delete gradebook", "copy source into output", "network", "memory", "fill disk"):
        assert f"BLOCKED: {what}" in out, (what, out[-3000:])
    assert not (ROOT / "PWNED_BY_STUDENT").exists()
    assert graded["canary"].read_text() == "still here"
    assert (graded["course"] / "gradebook.db").stat().st_size > 0
    assert not (graded["course"] / "autograded" / "vandal" / "stolen").exists()
    assert not graded["connections"]
    assert _score(graded, "vandal", "ch1-ex1")[0] == 0       # could not run the reference
    assert _score(graded, "vandal", "ch1-ex2")[0] == 2
    assert _score(graded, "vandal", "ch1-ex3")[0] == 2


def test_scores_are_written_as_grading_goes(graded):
    """An interrupted run keeps what it graded: each notebook's rows are in
    scores.csv before the next one is reported."""
    seen = graded["rows_seen"]
    assert len(seen) == 14                             # notebooks graded (the misnamed are not)
    assert all(b - a >= 4 for a, b in zip(seen, seen[1:])), seen   # >= 4 exercises a chapter


def test_submissions_are_never_modified(graded):
    assert _snapshot(graded["subs"]) == graded["before"]


def test_cheats_score_zero_with_a_reason(graded):
    score, reason = _score(graded, "cheater", "ch1-ex1")
    assert score == 0 and "_Anything" in reason
    for ex in ("ch1-ex1", "ch1-ex2", "ch1-ex3"):
        score, reason = _score(graded, "tamperer", ex)
        assert score == 0 and "tampering" in reason, reason
        assert "input_transformers_post" in reason and "torch.testing.assert_close" in reason, reason
    score, reason = _score(graded, "cheater", "ch1-ex2")
    assert score == 0 and "lookup_backward" in reason and "forbids" in reason
    score, reason = _score(graded, "cheater", "ch1-ex3")
    assert score == 0 and "SkipGram" in reason


def test_output_is_capped(graded):
    feedback = graded["course"] / "feedback" / "crash" / "ch01" / "01_embeddings_exercises.html"
    assert feedback.stat().st_size < 1_000_000
    assert "the grader cut" in _output(graded, "crash")


def test_feedback_shows_no_hidden_tests(graded):
    course_dir = graded["course"]
    html = (course_dir / "feedback" / "reference" / "ch01" / "01_embeddings_exercises.html").read_text()
    src = nbformat.read(course_dir / "source" / "ch01" / graded["name"]["ch01"], as_version=4)
    hidden = {l for c in src.cells for l in _hidden_lines(c.source) if len(l) > 25}
    assert hidden
    for line in hidden:
        assert line not in html, line
    assert "Feedback: Word embeddings" in html


def test_lateness_reports_and_gradebook(graded):
    assert graded["rows"][("reference", "ch1-ex1")]["late_by_hours"] == "0.00"
    assert graded["rows"][("reference", "ch2-ex1")]["late_by_hours"] == "24.00"
    assert graded["rows"][("reference", "ch1-ex1")]["submitted_at"] == "2026-12-01 10:00:00 UTC"
    course_dir = graded["course"]
    with (course_dir / "totals.csv").open() as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    auto = sum(float(r["max_score"]) for r in graded["all"] if r["student"] == "reference" and r["kind"] == "auto")
    assert float(totals["reference"]["total"]) == auto and totals["reference"]["late"] == "ch02"
    with (course_dir / "canvas.csv").open() as f:
        canvas = list(csv.reader(f))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible" and "Exercises: GRU (ch06)" in canvas[0]
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        sub = gb.find_submission("ch01", "reference")
        assert sub.score == 6 and sub.needs_manual_grade
        # a written answer graded in the formgrader reaches the reports
        gb.find_grade("ch1-ex4-answer", "01_embeddings_exercises", "ch01", "reference").manual_score = 1.5
        gb.db.commit()
    coursework.write_reports(course_dir)
    with (course_dir / "scores.csv").open() as f:
        row = next(r for r in csv.DictReader(f) if (r["student"], r["exercise"]) == ("reference", "ch1-ex4"))
    assert row["score"] == "1.5" and row["status"] == "graded by hand"


def test_grading_refuses_to_write_into_the_submissions(course):
    course_dir, _ = course
    inside = course_dir / "submitted"
    inside.mkdir(exist_ok=True)
    with pytest.raises(SystemExit, match="overlap"):
        coursework.grade(inside, course_dir, timeout=TIMEOUT)
    with pytest.raises(SystemExit, match="overlap"):
        coursework.grade(course_dir.parent, course_dir, timeout=TIMEOUT)


# ------------------------------------------------------ Chinese edition --

@pytest.fixture(scope="module")
def course_zh(tmp_path_factory):
    course = tmp_path_factory.mktemp("course_zh")
    return course, coursework.release(course, timeout=TIMEOUT, language="zh_CN")


def test_chinese_student_versions_have_chinese_instructions(course, course_zh):
    """`make release EDITION=zh_CN`: the instructions come from the Chinese
    catalogues, every passage translated; code, checks and points are the
    English release's."""
    (_, released), (_, released_zh) = course, course_zh
    assert [p.name for p in released_zh] == [p.name for p in released]
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for path, path_zh in zip(released, released_zh):
        nb, zh = (nbformat.read(p, as_version=4) for p in (path, path_zh))
        assert [c.source for c in zh.cells if c.cell_type == "code"] == \
            [c.source for c in nb.cells if c.cell_type == "code"]
        assert [_gid(c) for c in zh.cells] == [_gid(c) for c in nb.cells]
        md = "\n".join(c.source for c in zh.cells if c.cell_type == "markdown")
        for raw in ("{eq}", "{cite", "{numref}", "{ref}", "{doc}", "```{", ":::{", ")=\n"):
            assert raw not in md, f"raw MyST {raw!r} in {path_zh.name}"
        assert zh.cells[0].source.startswith("# 练习：") and "开始之前" in zh.cells[0].source
        heads = re.findall(r"Exercise (\d+) \((auto-graded|written), (\d+) points?\)",
                           "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))
        heads_zh = re.findall(r"练习 (\d+)（(自动评分|书面作答)，(\d+) 分）", md)
        kinds = {"auto-graded": "自动评分", "written": "书面作答"}
        assert heads_zh == [(k, kinds[kind], p) for k, kind, p in heads]
        for cell in zh.cells:   # (nbgrader's answer stub stays as the grader knows it)
            if cell.cell_type == "markdown" and cell.source.strip() != "YOUR ANSWER HERE":
                assert cjk.search(cell.source), f"{path_zh.name}: {cell.source[:80]!r}"
    # every passage of every exercise section has its translation
    for chapter in coursework.chapters():
        cells = nbformat.read(chapter, as_version=4).cells
        start = next(i for i, c in enumerate(cells) if coursework._heading(c) == "exercises")
        messages = coursework.catalog(chapter)
        for cell in cells[start:]:
            if cell.cell_type == "markdown":
                _, missed = coursework.translate_myst(cell.source, messages)
                assert not missed, f"{chapter.name}: untranslated {missed[:2]}"


def test_chinese_release_is_graded_by_the_same_checks(course_zh, tmp_path):
    course_dir, released = course_zh
    subs = tmp_path / "submissions"
    for path in released:
        if path.parent.name in ("ch02", "ch05"):
            (subs / "reference" / path.parent.name).mkdir(parents=True)
            shutil.copy(course_dir / "source" / path.parent.name / path.name,
                        subs / "reference" / path.parent.name / path.name)
    out = coursework.grade(subs, course_dir, timeout=TIMEOUT, jobs=2, due=None,
                           assignments=["ch02", "ch05"])
    with out.open() as f:
        rows = [r for r in csv.DictReader(f) if r["student"] == "reference"]
    auto = [r for r in rows if r["kind"] == "auto"]
    assert len(auto) >= 4 and {r["assignment"] for r in auto} == {"ch02", "ch05"}
    for r in auto:
        assert float(r["score"]) == float(r["max_score"]) > 0, r
