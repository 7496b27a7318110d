"""Coursework from the chapters: student versions and grades, on nbgrader.

    python tools/coursework.py release                 # -> coursework/release/chNN/*.ipynb
    python tools/coursework.py grade SUBMISSIONS_DIR   # -> coursework/scores.csv

The chapter notebooks hold the full solutions. ``release`` makes one
assignment per chapter, ``chNN``: the chapter's set-up cell (imports and
seeds) followed by its "Exercises" section, so that grading runs the
exercises in seconds instead of re-running the chapter's experiments. It
then calls nbgrader's own ``generate_assignment``, which replaces each
``### BEGIN SOLUTION`` … ``### END SOLUTION`` region by a stub that raises
``NotImplementedError`` and removes ``### BEGIN HIDDEN TESTS`` regions.

``grade`` takes submissions laid out as nbgrader expects them,
``SUBMISSIONS_DIR/<student>/<chNN>/<notebook>.ipynb``, runs nbgrader's
``autograde`` (hidden tests restored, every cell under a timeout, a cell that
times out is interrupted and the rest still runs), and writes one row per
student, chapter and exercise to ``scores.csv``, with the reason for every
lost point.

No JupyterHub, no Docker, no network: the course directory is a plain folder
(``coursework/`` by default, ignored by git) holding ``source/``,
``release/``, ``submitted/``, ``autograded/`` and ``gradebook.db``.
"""
from __future__ import annotations

import argparse
import copy
import csv
import os
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
COURSE_ID = "sequence-models-from-scratch"
NBGRADER_META = {"schema_version": 3, "grade": False, "solution": False,
                 "locked": True, "task": False}


def chapters() -> list[Path]:
    """The chapter notebooks, in the order of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    return [ROOT / f"{f}.ipynb" for f in files if f.startswith("notebooks/")]


def assignment_id(chapter: Path) -> str:
    return "ch" + chapter.stem.split("_")[0]


def _heading(cell) -> str | None:
    if cell.cell_type != "markdown":
        return None
    # The heading may follow MyST targets such as "(ch1-exercises)=".
    lines = [l for l in cell.source.splitlines() if l.strip() and not re.match(r"^\(.+\)=\s*$", l)]
    m = re.match(r"^##\s+(\w+)", lines[0]) if lines else None
    return m.group(1).lower() if m else None


def exercise_notebook(chapter: Path):
    """The student-facing assignment of one chapter, or None if it has no exercises.

    Cells: a title, the chapter's first code cell (locked), then every cell
    from the "## Exercises" heading up to the "## Summary" heading.
    """
    nb = nbformat.read(chapter, as_version=4)
    start = next((i for i, c in enumerate(nb.cells) if _heading(c) == "exercises"), None)
    if start is None:
        return None
    stop = next((i for i, c in enumerate(nb.cells) if i > start and _heading(c) == "summary"),
                len(nb.cells))
    # The install cell (tag "install-seqlib", see README) lets a student's bare
    # Jupyter install seqlib; the set-up cell is the first code cell after it.
    code = [c for c in nb.cells if c.cell_type == "code"]
    install = [copy.deepcopy(c) for c in code if "install-seqlib" in c.metadata.get("tags", [])]
    setup = copy.deepcopy(next(c for c in code if
                               "install-seqlib" not in c.metadata.get("tags", [])))
    for cell, name in [(setup, "setup")] + [(c, "install") for c in install]:
        cell.metadata["nbgrader"] = dict(NBGRADER_META, grade_id=f"{assignment_id(chapter)}-{name}")
    title = next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells
                  if c.cell_type == "markdown" and c.source.startswith("# ")), chapter.stem)
    intro = nbformat.v4.new_markdown_cell(
        f"# Exercises: {title}\n\n"
        f"These are the exercises of the chapter `{chapter.name}`. Run the set-up "
        "cell first. Write your answer in each cell that says `# YOUR CODE HERE` "
        "(delete the `raise NotImplementedError()` line), then run the check cell "
        "below it. The checks you see are not all the checks used for grading.")
    intro.metadata["nbgrader"] = dict(NBGRADER_META, grade_id=f"{assignment_id(chapter)}-intro")
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.cells = [intro, *install, setup] + [copy.deepcopy(c) for c in nb.cells[start:stop]]
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return out


def _api(course: Path, timeout: int):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    # nbgrader runs `alembic` as a subprocess: the venv's bin/ must be on PATH
    # (prepended once, however many times this is called).
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path
    c = Config()
    c.CourseDirectory.root = str(course)
    c.CourseDirectory.course_id = COURSE_ID
    c.Execute.timeout = timeout
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return NbGraderAPI(config=c)


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        raise SystemExit(f"nbgrader {what} failed:\n{result.get('log', '')}\n{result.get('error', '')}")


def release(course: Path, timeout: int = 60) -> list[Path]:
    """Write every chapter's assignment to ``course/source`` and its student
    version to ``course/release``; return the released notebooks."""
    api = _api(course, timeout)
    released = []
    for chapter in chapters():
        nb = exercise_notebook(chapter)
        if nb is None:
            continue
        aid = assignment_id(chapter)
        src = course / "source" / aid
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        name = f"{chapter.stem}_exercises.ipynb"
        nbformat.write(nb, src / name)
        _check(api.generate_assignment(aid, force=True), f"generate_assignment {aid}")
        released.append(course / "release" / aid / name)
    return released


def _error_of(cell, timeout: int) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            if out.get("ename") in ("KeyboardInterrupt", "CellTimeoutError"):
                # nbgrader interrupts a cell that outlives the timeout.
                return f"Timeout: the cell ran longer than {timeout} s and was interrupted"
            value = str(out.get("evalue", "")).strip().splitlines()
            return f"{out.get('ename')}: {value[0]}" if value and value[0] else str(out.get("ename"))
    return ""


def _reasons(autograded: Path, timeout: int) -> dict[str, str]:
    """For each graded cell, why it lost points: the first error in the
    exercise's own cells (its solution cell, then its check cell)."""
    nb = nbformat.read(autograded, as_version=4)
    errors = {c.metadata.get("nbgrader", {}).get("grade_id"): _error_of(c, timeout) for c in nb.cells}
    reasons = {}
    for gid in errors:
        if gid and gid.endswith("-check"):
            solution = gid[: -len("-check")] + "-solution"
            reasons[gid] = errors.get(solution) or errors[gid]
    return reasons


def grade(submissions: Path, course: Path, timeout: int = 60) -> Path:
    """Autograde every ``<student>/<chNN>/`` folder under ``submissions`` and
    write ``course/scores.csv``; return its path."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning
    # nbgrader 0.9 trips SQLAlchemy 2's autoflush warning; it is harmless.
    warnings.filterwarnings("ignore", category=SAWarning)
    api = _api(course, timeout)
    if not (course / "gradebook.db").exists():
        release(course, timeout)
    rows = []
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        student = student_dir.name
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            aid = assignment_dir.name
            dest = course / "submitted" / student / aid
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(assignment_dir, dest)
            # nbgrader reads the submission time from this file.
            (dest / "timestamp.txt").write_text(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
            _check(api.autograde(aid, student, force=True, create=True), f"autograde {aid} {student}")
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                submission = gb.find_submission(aid, student)
                for nb in submission.notebooks:
                    reasons = _reasons(course / "autograded" / student / aid / f"{nb.name}.ipynb", timeout)
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        if g.max_score == 0:
                            continue
                        rows.append({"student": student, "assignment": aid,
                                     "exercise": g.name.removesuffix("-check"),
                                     "score": g.score, "max_score": g.max_score,
                                     "reason": "" if g.score == g.max_score else reasons.get(g.name, "")})
    out = course / "scores.csv"
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "assignment", "exercise",
                                               "score", "max_score", "reason"])
        writer.writeheader()
        writer.writerows(rows)
    return out


def points_table() -> str:
    """A Markdown table of the auto-graded exercises and points of each chapter."""
    lines = ["| chapter | auto-graded exercises | points |", "|---|---|---|"]
    total = 0
    for chapter in chapters():
        nb = nbformat.read(chapter, as_version=4)
        checks = [c.metadata["nbgrader"] for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")]
        if not checks:
            continue
        points = sum(m.get("points", 0) for m in checks)
        total += points
        lines.append(f"| {assignment_id(chapter)} `{chapter.stem}` | {len(checks)} | {points:g} |")
    lines.append(f"| **all** | | **{total:g}** |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=ROOT / "coursework",
                        help="nbgrader course directory (default: coursework/)")
    parser.add_argument("--timeout", type=int, default=60,
                        help="seconds each cell may run when grading (default 60)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("release", help="make the student version of every chapter")
    sub.add_parser("points", help="print the points table of book/instructors.md")
    g = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<chNN>/*.ipynb")
    g.add_argument("submissions", type=Path)
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.command == "points":
        print(points_table())
    elif args.command == "release":
        for path in release(course, args.timeout):
            print(f"released {path.relative_to(course)}")
        print(f"Student versions are in {course / 'release'}")
    else:
        if not args.submissions.is_dir():
            parser.error(f"{args.submissions} is not a folder of <student>/<chNN>/ submissions")
        out = grade(args.submissions.resolve(), course, args.timeout)
        print(f"Scores written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
