"""How fast are seqlib's LSTM and GRU next to torch.nn's? Prints a table of ratios.

Times one forward and backward pass (the loss is the sum of all outputs) of
a one-layer recurrent network at the book's chapter 5 sizes, B 32, T 100,
D 32, H 64, on one torch thread, as the book runs, for three versions:

* ``torch``: ``torch.nn.LSTM`` / ``torch.nn.GRU`` (a fused oneDNN kernel for
  the float32 LSTM, a C++ loop otherwise);
* ``step``: seqlib's step-by-step layer, ``seqlib.lstm.lstm_layer`` /
  ``seqlib.gru.gru_layer``, the chapters' equations one step at a time,
  with autograd recording every operation;
* ``fused``: ``seqlib._fused``'s layers (hoisted input projection, fused
  gates, a hand-written backward pass; see that module's docstring).

All three get the same weights and the same input, in two settings: the
input ``X`` is data (no gradient, as when the layer reads the batch, as in
the book's experiments), or ``X`` needs its gradient (as when the layer sits
on an embedding or another layer).

On a shared or busy machine a single timing means little. The versions are
timed in turns (interleaved), many times, and the table keeps each one's
fastest run, the run least slowed by other work. The clock is the process's
CPU time by default (time spent waiting for a CPU does not count; with one
torch thread all work is on the calling thread), or wall time with
``--clock wall``. Ratios are step / torch and fused / torch; below 1 is
faster than torch.

Run: ``.venv/bin/python benchmarks/rnn_speed.py [--repeats 30] [--clock cpu|wall]``.
"""
from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from seqlib import gru, lstm
from seqlib._fused import gru_layer_fused, lstm_layer_fused

B, T, D, H = 32, 100, 32, 64


def make_runs(cell: str, dtype: torch.dtype, input_grad: bool) -> dict:
    """Three functions, each one forward + backward pass of the same layer."""
    torch.manual_seed(0)
    ref = (nn.LSTM if cell == "LSTM" else nn.GRU)(D, H, batch_first=True).to(dtype)
    params = [p.detach().clone().requires_grad_() for p in ref.parameters()]
    X = torch.randn(B, T, D, dtype=dtype, requires_grad=input_grad)
    step = lstm.lstm_layer if cell == "LSTM" else gru.gru_layer
    fused = lstm_layer_fused if cell == "LSTM" else gru_layer_fused

    def run_torch():
        ref(X)[0].sum().backward()

    def run_step():
        step(X, *params)[0].sum().backward()

    def run_fused():
        fused(X, *params)[0].sum().backward()

    return {"torch": run_torch, "step": run_step, "fused": run_fused}


def best_times(runs: dict, repeats: int, clock) -> dict:
    """Fastest time in seconds of each run, timed in turns ``repeats`` times."""
    # Warm-up: the first calls allocate memory and load kernels, and a process's
    # first milliseconds of work run slower (the first table row measured 20 to 50%
    # slower with one warm-up call).
    for _ in range(5):
        for run in runs.values():
            run()
    best = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = clock()
            run()
            best[name] = min(best[name], clock() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed runs of each version")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="CPU time of the process (default) or wall time")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    print(f"B {B}, T {T}, D {D}, H {H}; forward + backward; 1 thread; {args.clock} time, "
          f"fastest of {args.repeats} interleaved runs; torch {torch.__version__}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'layer':<6}{'dtype':<9}{'X':<6}{'torch ms':>10}{'step ms':>10}{'step/torch':>12}"
          f"{'fused ms':>10}{'fused/torch':>13}")
    for dtype in (torch.float32, torch.float64):
        for cell in ("LSTM", "GRU"):
            for input_grad in (False, True):
                t = best_times(make_runs(cell, dtype, input_grad), args.repeats, clock)
                print(f"{cell:<6}{str(dtype).removeprefix('torch.'):<9}"
                      f"{'grad' if input_grad else 'data':<6}"
                      f"{1e3 * t['torch']:>10.2f}{1e3 * t['step']:>10.2f}"
                      f"{t['step'] / t['torch']:>12.2f}{1e3 * t['fused']:>10.2f}"
                      f"{t['fused'] / t['torch']:>13.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
