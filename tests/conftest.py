"""Shared fixtures: the repository root and one book build per test session."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml
# Writes book/runtimes.json after nbval has run the notebooks (the "Run times" page).
from nbval_runtimes import pytest_collection_finish, pytest_terminal_summary  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every file named in _toc.yml, in order, without extension."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run every test on one torch thread, as the notebooks do
    (seqlib.seed_everything): results then do not depend on the core count,
    and on a busy machine threads do not fight for the two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the site exactly as the README's `make book` does; return _build/html.

    Sphinx warnings are errors (-W), so a broken reference, a missing citation
    or a notebook left out of the TOC fails here. BOOK_HTML=path/to/html tests
    a site already built elsewhere (e.g. with --path-output) instead.
    """
    if os.environ.get("BOOK_HTML"):
        return Path(os.environ["BOOK_HTML"])
    proc = subprocess.run(["make", "book"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail("`make book` failed:\n" + proc.stdout[-6000:] + proc.stderr[-6000:])
    return ROOT / "_build" / "html"
