"""Record how long each chapter notebook takes to run, for the "Run times" page.

Hooks imported by conftest.py. After a test session in which nbval ran a
notebook's every cell and all of them passed, the notebook's wall time (the
sum of its cells' setup, call and teardown, so the kernel's start counts
too) is written to book/runtimes.json with the date and the versions it ran
with; book/_ext/book_meta.py renders that file as a table. Notebooks that did
not run, or failed, keep their previous entry.

Only the plain pass records: runs under switched CPU kernels
(tests/test_portability.py sets ATEN_CPU_CAPABILITY / MKL_CBWR) do not.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIMES = ROOT / "book" / "runtimes.json"
SWITCHES = ("ATEN_CPU_CAPABILITY", "MKL_CBWR")

_collected: dict[str, int] = defaultdict(int)


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.startswith("notebooks/") and path.endswith(".ipynb") else None


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict:
    import numpy
    import torch

    import seqlib
    return {"python": platform.python_version(), "torch": torch.__version__.split("+")[0],
            "numpy": numpy.__version__, "seqlib": seqlib.__version__,
            "cpu": _cpu(), "cores": os.cpu_count()}


def pytest_collection_finish(session):
    _collected.clear()
    for item in session.items:
        notebook = _notebook_of(item.nodeid)
        if notebook:
            _collected[notebook] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _collected or any(os.environ.get(name) for name in SWITCHES):
        return
    seconds: dict[str, float] = defaultdict(float)
    passed: dict[str, set] = defaultdict(set)
    failed: set[str] = set()
    for reports in terminalreporter.stats.values():
        for report in reports:
            notebook = _notebook_of(getattr(report, "nodeid", "") or "")
            if notebook is None or not hasattr(report, "duration"):
                continue
            seconds[notebook] += report.duration
            if report.failed:
                failed.add(notebook)
            elif report.when == "call" or report.skipped:   # a cell marked NBVAL_SKIP
                passed[notebook].add(report.nodeid)
    complete = [nb for nb, n in _collected.items()
                if nb not in failed and len(passed[nb]) == n]
    if not complete:
        return
    data = json.loads(RUNTIMES.read_text()) if RUNTIMES.is_file() else {"notebooks": {}}
    env = _versions()
    today = datetime.date.today().isoformat()
    for notebook in complete:
        data["notebooks"][notebook] = {"seconds": round(seconds[notebook], 1),
                                       "cells": _collected[notebook], "date": today, **env}
    data["notebooks"] = dict(sorted(data["notebooks"].items()))
    RUNTIMES.write_text(json.dumps(data, indent=1) + "\n")
    terminalreporter.write_line(
        f"run times of {len(complete)} notebook(s) written to {RUNTIMES.relative_to(ROOT)}")
