"""The portability pass: every notebook's stored outputs also hold under another CPU's rounding.

Float rounding differs between CPUs: PyTorch picks vectorised kernels by the
CPU's instruction set (AVX-512, AVX2, NEON...) and MKL picks its own code
path, so a float32 training run can print other digits on a student's laptop
than on the machine that stored the outputs. Switching those kernels on one
machine reproduces the effect (see CONTRIBUTING.md, "Portable outputs"), so
this test re-runs each notebook under nbval, with the same sanitizer and the
same stored outputs, once per switch below. A cell that passes the plain nbval
run but fails here prints digits that only one CPU's rounding produces.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

#: Kernel switches, each a different rounding of the same arithmetic.
SWITCHES = {
    # PyTorch's scalar (non-vectorised) kernels and MKL's reproducible
    # "compatible" code path: the most different rounding one machine can make.
    "generic": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
    # What a laptop or server without AVX-512 runs: AVX2 kernels in both
    # libraries. On an AVX2-only CPU this equals the plain run.
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"},
}

NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_stored_outputs_survive_switched_kernels(notebook):
    # Both switched runs at once: each kernel uses one torch thread
    # (seqlib.seed_everything), so on two cores the pass takes half the time.
    runs = {
        switch: subprocess.Popen(
            [sys.executable, "-m", "pytest", notebook, "-q", "-p", "no:cacheprovider",
             "--no-header", "-x"],
            cwd=ROOT, env=dict(os.environ, **env), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        for switch, env in SWITCHES.items()}
    failures = []
    for switch, proc in runs.items():
        out, _ = proc.communicate()
        if proc.returncode != 0:
            failures.append(f"--- under {SWITCHES[switch]}:\n{out[-6000:]}")
    assert not failures, (f"{notebook}: nbval found output that depends on the CPU's "
                          "rounding:\n" + "\n".join(failures))
