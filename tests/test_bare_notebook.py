"""A chapter runs where the launch buttons land: a bare notebook server without seqlib.

Colab has torch, numpy and matplotlib but not this repository, so every chapter
starts with an install cell (tag ``install-seqlib``) that pip-installs seqlib
when it is not importable. This test copies one chapter alone into an empty
folder and runs it top to bottom in a virtual environment that has only what
Colab has (torch, numpy, matplotlib, ipykernel), with ``SEQLIB_SOURCE``
pointing the install cell at this checkout and pip forbidden to reach any
index: if the cell or the chapter needs anything else, the run fails.

The bare environment is built once per set of pins and cached outside the
repository (it holds a 1 GB torch), so later runs take only the notebook's time.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

#: What Colab's image provides that the chapters use, pinned as the book's venv pins them.
COLAB_PACKAGES = ["torch", "numpy", "matplotlib", "ipykernel"]
#: The chapter run bare: a short one that imports seqlib's data, models and plots.
CHAPTER = "notebooks/02_feedforward_vs_recurrent.ipynb"


def _pins() -> list[str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return [f"{p}=={pins[p]}" for p in COLAB_PACKAGES]


def _bare_python() -> Path:
    pins = _pins()
    key = hashlib.sha256(" ".join(pins + [sys.version]).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    venv = cache / "seqlib-book" / f"bare-venv-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *pins, "-c", str(ROOT / "constraints.txt")], check=True)
        (venv / ".complete").touch()
    return python


def test_install_cell_pins_this_edition():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    import seqlib
    assert seqlib.__version__ == version, "seqlib.__version__ and pyproject.toml disagree"
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "install-seqlib" in code[0].metadata.get("tags", []), \
            f"{path.name}: the first code cell must be the install cell"
        assert f"@v{version}\"" in code[0].source, \
            f"{path.name}: the install cell must pin seqlib to the tag v{version}"
        assert not code[0].outputs, f"{path.name}: the install cell prints nothing locally"


def test_chapter_runs_in_a_bare_notebook_server(tmp_path):
    python = _bare_python()
    # A previous run installed seqlib into the cached environment: remove it.
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "seqlib"],
                   capture_output=True)
    probe = subprocess.run([str(python), "-c", "import seqlib"], capture_output=True,
                           cwd=tmp_path)  # not the checkout, whose seqlib/ would import
    assert probe.returncode != 0, "the bare environment must not have seqlib"

    # A kernelspec for the bare environment, visible only to this test.
    spec = tmp_path / "jupyter" / "kernels" / "bare"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bare", "language": "python"}))
    work = tmp_path / "reader"
    work.mkdir()
    notebook = work / Path(CHAPTER).name
    shutil.copy(ROOT / CHAPTER, notebook)

    env_before = dict(os.environ)
    os.environ.update({
        "JUPYTER_PATH": str(tmp_path / "jupyter"),
        "SEQLIB_SOURCE": str(ROOT),     # the install cell installs this checkout
        "PIP_NO_INDEX": "1",             # ... and may download nothing
        "PIP_NO_BUILD_ISOLATION": "0",   # build with the venv's own setuptools (offline)
    })
    try:
        nb = nbformat.read(notebook, as_version=4)
        NotebookClient(nb, kernel_name="bare", timeout=300,
                       resources={"metadata": {"path": str(work)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    installed = subprocess.run([str(python), "-c", "import seqlib; print(seqlib.__version__)"],
                               capture_output=True, text=True, cwd=tmp_path)
    assert installed.stdout.strip() == tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["version"]
    # The chapter read nothing from the repository: its folder holds only itself
    # (and whatever the run wrote next to it).
    assert notebook.exists()


def test_binder_installs_the_cpu_build_of_the_book_pins():
    pins = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.M))
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    assert re.search(r"^--extra-index-url https://download\.pytorch\.org/whl/cpu$", binder, re.M)
    assert f"torch=={pins['torch']}+cpu" in binder.splitlines()
    for package in ("numpy", "matplotlib"):
        assert f"{package}=={pins[package]}" in binder.splitlines()
    post_build = (ROOT / "binder" / "postBuild")
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only if executable"
    assert "pip install --no-deps ." in post_build.read_text()
