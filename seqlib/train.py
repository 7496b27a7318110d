"""One training loop for every experiment in the book (chapters 2-7).

Every experiment trains the same way: draw a batch, compute a loss,
backpropagate, measure the gradient, optionally clip it, take an optimizer
step, and now and then evaluate. What differs is passed in:

- ``batches``: an iterable of whatever the loss reads (fresh adding-problem
  batches, the next truncated-BPTT window of a text, a random minibatch);
- ``loss_fn(batch)``: the scalar loss of one batch (a closure can carry a
  recurrent state across truncated-BPTT windows);
- ``evaluate()``: an optional held-out measurement, run at step 0 if asked,
  every ``eval_every`` steps and after the last one;
- ``lr_at(step)``: an optional learning-rate schedule, e.g. warm-up
  (:func:`seqlib.norms.warmup_lr`).

:func:`fit` records the loss and the gradient norm *before clipping* at
every step, stops at the first non-finite loss or gradient (a diverged run:
its step is reported, nothing is updated with it), and can show a progress
bar on stderr, which the book's tests ignore (nbval compares stdout only
after merging streams, so the bar is off by default).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from ._checks import check_positive

__all__ = ["History", "fit"]


@dataclass
class History:
    """What :func:`fit` measured.

    Attributes:
        train_loss: the loss of every step taken (floats).
        grad_norm: the gradient's global 2-norm at every step, before clipping.
        eval_step, eval_value: steps at which ``evaluate`` ran and its results.
        diverged_at: the step whose loss or gradient was not finite (no
            update was made with it), or None.
        clipped: number of steps whose gradient norm exceeded ``clip``.
    """

    train_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_value: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    clipped: int = 0


def _global_norm(params) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        raise ValueError("model has no gradients after loss.backward(): does the loss "
                         "depend on its parameters?")
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def fit(model: nn.Module, batches: Iterable, loss_fn: Callable, *, steps: int,
        optimizer: torch.optim.Optimizer, clip: float | None = None,
        lr_at: Callable[[int], float] | None = None, evaluate: Callable[[], float] | None = None,
        eval_every: int = 50, eval_at_start: bool = False, progress: bool = False) -> History:
    """Train ``model`` in place for up to ``steps`` optimizer steps.

    Args:
        model: the module whose parameters ``optimizer`` updates.
        batches: yields one batch per step (at least ``steps`` of them, or
            the run ends when it is exhausted).
        loss_fn: ``loss_fn(batch)`` returns a scalar tensor.
        steps: number of steps (> 0).
        optimizer: a ``torch.optim`` optimizer over the model's parameters.
        clip: clip the gradient's global norm to this (> 0), or None.
        lr_at: ``lr_at(step)`` (step counted from 0) sets every parameter
            group's learning rate before that step; None keeps it.
        evaluate: returns a float (e.g. a test error), or None for no evaluation.
        eval_every: steps between evaluations (> 0).
        eval_at_start: also evaluate before the first step (recorded as step 0).
        progress: print a progress bar to stderr.

    Returns:
        A :class:`History`.

    Raises:
        ValueError: on a bad hyper-parameter or a loss that is not a scalar tensor.
    """
    check_positive(steps, "steps", integer=True)
    check_positive(eval_every, "eval_every", integer=True)
    if clip is not None:
        check_positive(clip, "clip")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    history = History()
    if evaluate is not None and eval_at_start:
        history.eval_step.append(0)
        history.eval_value.append(float(evaluate()))
    for step, batch in enumerate(batches, start=1):
        if step > steps:
            break
        if lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step - 1)
        loss = loss_fn(batch)
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
            raise ValueError(f"loss_fn must return a scalar tensor; got "
                             f"{getattr(loss, 'shape', type(loss).__name__)}")
        optimizer.zero_grad()
        loss.backward()
        norm = float(_global_norm(params))
        history.train_loss.append(loss.item())
        history.grad_norm.append(norm)
        if not (math.isfinite(history.train_loss[-1]) and math.isfinite(norm)):
            history.diverged_at = step   # no update with a non-finite gradient
            break
        if clip is not None:
            history.clipped += norm > clip
            nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        if evaluate is not None and (step % eval_every == 0 or step == steps):
            history.eval_step.append(step)
            history.eval_value.append(float(evaluate()))
        if progress:
            done = int(30 * step / steps)
            print(f"\r[{'#' * done}{'.' * (30 - done)}] step {step}/{steps} "
                  f"loss {history.train_loss[-1]:.3f}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return history
