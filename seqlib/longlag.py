"""Long-lag experiments: one harness that trains RNN, LSTM and GRU on the adding problem.

Chapter 4 uses it to find the lag at which a vanilla RNN falls to the trivial
baseline; chapters 5 and 6 re-run the same sweep with an LSTM and a GRU, so
every chapter's numbers come from the same data, the same model shape and the
same training loop.

The task is the adding problem (:func:`seqlib.data.adding_problem`) in the
form of Le, Jaitly & Hinton (2015) and Arjovsky, Shah & Bengio (2016): a
sequence of ``T`` steps carries a random number and a marker at each step; the
target is the sum of the two marked numbers, one of which lies in the first
half of the sequence. Here the **lag** of a run names that sequence length
``T``, a convention: the first number has to be carried between ``T / 2`` and
``T - 1`` steps (it varies from sequence to sequence) before it is used.
Predicting the constant 1 scores a mean squared error of 1/6
(:data:`ADDING_BASELINE`); a model whose test error stays there has learned
nothing about the first number.

Everything is deterministic given the seeds: model initialisation runs under
its own seeded torch generator, training batches come from seeded NumPy
generators, and the test set is the same for every run of a given lag.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ._checks import check_choice, check_positive, check_seed, check_tensor
from .data import adding_problem
from .train import fit

#: Recurrent cells the harness can build, with their torch.nn classes.
CELLS = ("rnn", "lstm", "gru")
_MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
#: Number of stacked gate blocks in each cell's weight matrices (torch order).
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
#: Initialisations of the recurrent weight blocks that :func:`make_model` knows.
INITS = ("default", "orthogonal", "identity")
#: Mean squared error of always predicting 1 on the adding problem:
#: the target is the sum of two U(0, 1) numbers, whose variance is 2/12 = 1/6.
ADDING_BASELINE = 1.0 / 6.0
#: Seed of the test set (the same for every run, so runs are compared on the
#: same sequences); training batches use other seeds (see :func:`train`).
TEST_SEED = 10_000_019
#: Default thresholds of :meth:`SweepResult.verdicts`, as fractions of the
#: baseline: a run whose final error is below ``LEARNED_BELOW`` times the
#: baseline has learned the task; one at or above ``BASELINE_ABOVE`` times it
#: did no better than always predicting 1.
LEARNED_BELOW = 0.25
BASELINE_ABOVE = 0.8
#: The verdicts, in the order :meth:`SweepResult.verdict_table` lists them.
VERDICTS = ("learned", "partial", "baseline", "diverged")


def check_model_dtype(dtype) -> None:
    """Accept ``None`` (torch's default, float32), ``torch.float32`` or ``torch.float64``.

    Raises:
        ValueError: for anything else, naming ``dtype``.
    """
    if dtype not in (None, torch.float32, torch.float64):
        raise ValueError(f"dtype must be None, torch.float32 or torch.float64; got {dtype!r}")


def _check_lag(lag) -> int:
    if isinstance(lag, bool) or not isinstance(lag, numbers.Integral) or lag < 2:
        raise ValueError(f"lag must be an integer >= 2 (the adding problem needs two "
                         f"steps); got {lag!r}")
    return int(lag)


class LongLagModel(nn.Module):
    """A recurrent layer read out by a linear layer at the last step.

    ``y = W_hy h_T + b_y``, where ``h_T`` is the last hidden state of a
    ``torch.nn.RNN`` (tanh, eq-rnn-state), ``torch.nn.LSTM`` (eq-lstm-cell,
    eq-lstm-hidden) or ``torch.nn.GRU`` layer run batch-first over the whole
    sequence. Build one with :func:`make_model`.

    Attributes:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        recurrent: the torch.nn recurrent layer (``batch_first=True``).
        readout: ``torch.nn.Linear(H, O)``.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, output_size: int,
                 dtype: torch.dtype | None = None):
        super().__init__()
        self.cell = cell
        self.recurrent = _MODULES[cell](input_size, hidden_size, batch_first=True, dtype=dtype)
        self.readout = nn.Linear(hidden_size, output_size, dtype=dtype)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Map a batch of sequences to one prediction per sequence.

        Args:
            X: inputs, shape ``(B, T, D)``.

        Returns:
            Shape ``(B,)`` when ``output_size`` is 1, else ``(B, O)``.

        Raises:
            ValueError: if ``X`` is not a float tensor of shape ``(B, T, D)``
                with ``D`` equal to the model's input size.
        """
        check_tensor(X, "X", "(B, T, D)", dtype="float",
                     sizes={"D": self.recurrent.input_size})
        out, _ = self.recurrent(X)
        y = self.readout(out[:, -1])
        return y.squeeze(-1) if y.shape[-1] == 1 else y


def make_model(cell: str, hidden_size: int = 32, input_size: int = 2, output_size: int = 1,
               init: str = "default", gain: float = 1.0, forget_bias: float | None = None,
               seed: int = 0, dtype: torch.dtype | None = None) -> LongLagModel:
    """Build a :class:`LongLagModel` with a chosen initialisation.

    The recurrent matrix of each cell is a stack of ``H x H`` blocks, one per
    gate in torch's order (RNN: 1; LSTM: i, f, g, o; GRU: r, z, n). ``init``
    sets every block:

    * ``"default"``: torch's own, uniform on ``[-1/sqrt(H), 1/sqrt(H)]``;
    * ``"orthogonal"``: a random orthogonal matrix (all singular values 1,
      so the linear part of eq-vanish-product neither shrinks nor grows);
    * ``"identity"``: the identity matrix (Le et al., 2015).

    then multiplies it by ``gain``. Initialisation runs under its own torch
    generator seeded with ``seed``, so the global random state is untouched
    and the same arguments always give the same weights.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        hidden_size: ``H`` (> 0).
        input_size: ``D`` (> 0); 2 for the adding problem.
        output_size: ``O`` (> 0); 1 for the adding problem.
        init: one of :data:`INITS`.
        gain: factor applied to the recurrent blocks (> 0).
        forget_bias: LSTM only; if given, the forget gate's total bias
            (``bias_ih + bias_hh``) is set to this value, e.g. 1.0 as
            recommended by Gers et al. (2000) and Jozefowicz et al. (2015).
        seed: initialisation seed (>= 0).
        dtype: ``None`` for torch's default (float32), ``torch.float32`` or
            ``torch.float64``: the model is built and
            initialised in that precision, so a float64 model's initial
            weights carry no float32 rounding (they are other numbers than
            the float32 model's weights converted with ``.double()``).
            :func:`train` trains a model in its own dtype.

    Raises:
        ValueError: for an unknown cell or init, non-positive sizes or gain,
            a negative seed, a ``forget_bias`` for a cell that is not an LSTM,
            or another ``dtype``.
    """
    check_choice(cell, "cell", CELLS)
    check_choice(init, "init", INITS)
    for name, value in (("hidden_size", hidden_size), ("input_size", input_size),
                        ("output_size", output_size)):
        check_positive(value, name, integer=True)
    check_positive(gain, "gain")
    check_seed(seed)
    if forget_bias is not None:
        if cell != "lstm":
            raise ValueError(f"forget_bias applies to cell='lstm' only; got cell={cell!r}")
        if isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real):
            raise ValueError(f"forget_bias must be a number or None; got {forget_bias!r}")
    check_model_dtype(dtype)
    H = hidden_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LongLagModel(cell, input_size, hidden_size, output_size, dtype=dtype)
        W = model.recurrent.weight_hh_l0
        with torch.no_grad():
            for k in range(_GATES[cell]):
                block = W[k * H:(k + 1) * H]
                if init == "orthogonal":
                    nn.init.orthogonal_(block)
                elif init == "identity":
                    block.copy_(torch.eye(H))
                block.mul_(gain)
            if forget_bias is not None:
                model.recurrent.bias_ih_l0[H:2 * H] = forget_bias
                model.recurrent.bias_hh_l0[H:2 * H] = 0.0
    return model


@dataclass
class TrainResult:
    """What one training run of :func:`train` returns.

    Attributes:
        cell: the model's cell name.
        lag: the sequence length ``T`` trained on.
        seed: the training seed.
        final_error: test mean squared error after the last step.
        baseline: the trivial baseline's error (:data:`ADDING_BASELINE`).
        steps: the steps at which the test error was measured, shape ``(n,)``,
            starting with 0 (before training) and ending with ``steps``.
        test_errors: the test error at those steps, shape ``(n,)``.
        grad_norms: the gradient's Euclidean norm over all parameters at every
            step, measured before clipping, shape ``(steps,)``.
        model: the trained model itself (trained in place by :func:`train`).
    """
    cell: str
    lag: int
    seed: int
    final_error: float
    baseline: float
    steps: np.ndarray = field(repr=False)
    test_errors: np.ndarray = field(repr=False)
    grad_norms: np.ndarray = field(repr=False)
    model: nn.Module | None = field(default=None, repr=False)


def _train_batches(lag: int, steps: int, batch_size: int, seed: int, chunk: int = 50):
    """Yield ``steps`` training batches, generated ``chunk`` steps at a time."""
    for start in range(0, steps, chunk):
        k = min(chunk, steps - start)
        chunk_seed = int(np.random.SeedSequence([seed, start]).generate_state(1)[0])
        X, y = adding_problem(k * batch_size, lag, seed=chunk_seed)
        X, y = torch.from_numpy(X), torch.from_numpy(y)
        for i in range(k):
            yield X[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size]


def adding_test_set(lag: int, n_test: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed test set of the adding problem for one lag.

    Args:
        lag: sequence length ``T`` (>= 2).
        n_test: number of sequences (> 0).

    Returns:
        ``X`` of shape ``(n_test, lag, 2)`` and ``y`` of shape ``(n_test,)``,
        float32 tensors, the same on every call.

    Raises:
        ValueError: if ``lag`` < 2 or ``n_test`` <= 0.
    """
    lag = _check_lag(lag)
    check_positive(n_test, "n_test", integer=True)
    X, y = adding_problem(n_test, lag, seed=TEST_SEED)
    return torch.from_numpy(X), torch.from_numpy(y)


def blame_per_step(model: LongLagModel, lag: int, n_test: int = 500) -> np.ndarray:
    """How much each input step moves the loss: the mean of ``‖∂L/∂x_t‖`` over test sequences.

    ``L`` is the sum of the per-sequence squared errors on the fixed test set
    of :func:`adding_test_set`, so entry ``t`` measures the blame that
    reaches step ``t`` of one sequence from its own error (chapter 4's
    Jacobian product at work, eq-vanish-product, measured after training).

    Args:
        model: a :class:`LongLagModel`.
        lag: sequence length ``T`` (>= 2).
        n_test: number of test sequences (> 0).

    Returns:
        Array of shape ``(T,)``.

    Raises:
        ValueError: if ``model`` is not a LongLagModel, ``lag`` < 2 or ``n_test`` <= 0.
    """
    if not isinstance(model, LongLagModel):
        raise ValueError(f"model must be a LongLagModel; got {type(model).__name__}")
    X, y = adding_test_set(lag, n_test=n_test)
    X = X.clone().requires_grad_(True)
    ((model(X) - y) ** 2).sum().backward()
    return X.grad.norm(dim=2).mean(dim=0).numpy()


def train(model: LongLagModel, lag: int, steps: int = 400, batch_size: int = 64,
          lr: float = 2e-2, clip: float | None = 1.0, optimizer: str = "adam",
          eval_every: int = 50, n_test: int = 1000, seed: int = 0) -> TrainResult:
    """Train ``model`` on the adding problem of length ``lag``; track its test error.

    Each step draws a fresh batch (no sequence is seen twice), computes the
    mean squared error of the prediction, backpropagates through time over
    the whole sequence, optionally clips the gradient's total norm to
    ``clip`` (``torch.nn.utils.clip_grad_norm_``) and takes one optimizer
    step. The model is trained in place.

    Args:
        model: a :class:`LongLagModel` with ``input_size`` 2 and
            ``output_size`` 1 (see :func:`make_model`).
        lag: sequence length ``T`` (>= 2).
        steps: optimizer steps (> 0).
        batch_size: sequences per step (> 0).
        lr: learning rate (> 0).
        clip: maximum gradient norm (> 0), or ``None`` for no clipping.
        optimizer: ``"adam"`` or ``"sgd"``.
        eval_every: measure the test error every this many steps (> 0).
        n_test: size of the fixed test set (> 0).
        seed: seed of the training batches (>= 0).

    Returns:
        A :class:`TrainResult`. A run that diverges (a non-finite loss or
        gradient) stops at that step, whose test error is recorded as ``inf``
        (``grad_norms`` is NaN for the steps not taken).

    Raises:
        ValueError: for a model of the wrong kind or shape, or a bad
            hyper-parameter.
    """
    if not isinstance(model, LongLagModel):
        raise ValueError(f"model must be a LongLagModel (see make_model); got {type(model).__name__}")
    if model.recurrent.input_size != 2 or model.readout.out_features != 1:
        raise ValueError("model must have input_size 2 and output_size 1 for the adding "
                         f"problem; got {model.recurrent.input_size} and {model.readout.out_features}")
    lag = _check_lag(lag)
    check_positive(steps, "steps", integer=True)
    check_positive(batch_size, "batch_size", integer=True)
    check_positive(lr, "lr")
    if clip is not None:
        check_positive(clip, "clip")
    check_choice(optimizer, "optimizer", ("adam", "sgd"))
    check_positive(eval_every, "eval_every", integer=True)
    check_positive(n_test, "n_test", integer=True)
    check_seed(seed)

    dtype = model.readout.weight.dtype
    X_test, y_test = (a.to(dtype) for a in adding_test_set(lag, n_test))
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=lr) if optimizer == "adam"
           else torch.optim.SGD(params, lr=lr))

    def test_error() -> float:
        with torch.no_grad():
            return float(((model(X_test) - y_test) ** 2).mean())

    def loss_fn(batch):
        X, y = batch
        return ((model(X.to(dtype)) - y.to(dtype)) ** 2).mean()

    run = fit(model, _train_batches(lag, steps, batch_size, seed), loss_fn, steps=steps,
              optimizer=opt, clip=clip, evaluate=test_error, eval_every=eval_every,
              eval_at_start=True)
    at, errors = list(run.eval_step), list(run.eval_value)
    if run.diverged_at is not None:   # record the divergence as an infinite test error
        at.append(run.diverged_at)
        errors.append(float("inf"))
    norms = np.full(steps, np.nan)
    norms[:len(run.grad_norm)] = run.grad_norm
    final = errors[-1] if np.isfinite(errors[-1]) else float("inf")
    return TrainResult(model.cell, lag, seed, final, ADDING_BASELINE,
                       np.array(at), np.array(errors), norms, model)


@dataclass
class SweepResult:
    """The results of :func:`lag_sweep`.

    Attributes:
        cells: the cells, in the order given.
        lags: the lags, in the order given.
        seeds: the seeds, in the order given.
        errors: final test errors, shape ``(len(cells), len(lags), len(seeds))``.
        runs: every :class:`TrainResult`, keyed by ``(cell, lag, seed)``.
        baseline: the trivial baseline's error.
    """
    cells: tuple
    lags: tuple
    seeds: tuple
    errors: np.ndarray
    runs: dict = field(repr=False)
    baseline: float = ADDING_BASELINE

    def mean_errors(self) -> np.ndarray:
        """Final test error averaged over seeds, shape ``(len(cells), len(lags))``."""
        return self.errors.mean(axis=2)

    def table(self, digits: int = 4) -> str:
        """An aligned plain-text table: one row per lag, one column per cell.

        Entries are the test mean squared error (mean over seeds), and in the
        last column the trivial baseline for reference.
        """
        check_positive(digits, "digits", integer=True)
        mean = self.mean_errors()
        width = max(digits + 3, 7)
        head = "lag".rjust(5) + "".join(c.upper().rjust(width + 2) for c in self.cells)
        head += "baseline".rjust(width + 4)
        lines = [head, "-" * len(head)]
        for j, lag in enumerate(self.lags):
            row = str(lag).rjust(5) + "".join(f"{mean[i, j]:.{digits}f}".rjust(width + 2)
                                            for i in range(len(self.cells)))
            row += f"{self.baseline:.{digits}f}".rjust(width + 4)
            lines.append(row)
        return "\n".join(lines)

    def seed_table(self, digits: int = 3) -> str:
        """An aligned plain-text table of every run's final test error.

        One row per lag and cell, one column per seed, then their mean and
        the trivial baseline. Training runs are chaotic, so these digits
        differ between CPUs (see CONTRIBUTING.md, "Portable outputs"): print
        this table where nbval does not compare it, and state conclusions
        with :meth:`verdicts` and :meth:`verdict_table`.

        Raises:
            ValueError: if ``digits`` is not a positive integer.
        """
        check_positive(digits, "digits", integer=True)
        width = max(digits + 3, 7)
        cw = max(4, *(len(c) for c in self.cells))
        head = "lag".rjust(5) + "  " + "cell".ljust(cw)
        head += "".join(f"seed {s}".rjust(width + 2) for s in self.seeds)
        head += "mean".rjust(width + 2) + "baseline".rjust(width + 4)
        lines = [head, "-" * len(head)]
        mean = self.mean_errors()
        for j, lag in enumerate(self.lags):
            for i, c in enumerate(self.cells):
                row = str(lag).rjust(5) + "  " + c.upper().ljust(cw)
                row += "".join(f"{e:.{digits}f}".rjust(width + 2) for e in self.errors[i, j])
                row += f"{mean[i, j]:.{digits}f}".rjust(width + 2)
                row += f"{self.baseline:.{digits}f}".rjust(width + 4)
                lines.append(row)
        return "\n".join(lines)

    def best_errors(self) -> np.ndarray:
        """The lowest test error each run reached after step 0.

        Returns:
            Array of shape ``(len(cells), len(lags), len(seeds))``; a run
            that stays above a level for the whole of training has its best
            error above it too.
        """
        best = np.empty_like(self.errors)
        for i, c in enumerate(self.cells):
            for j, lag in enumerate(self.lags):
                for k, s in enumerate(self.seeds):
                    best[i, j, k] = np.min(self.runs[(c, lag, s)].test_errors[1:])
        return best

    def verdicts(self, learned_below: float = LEARNED_BELOW,
                 baseline_above: float = BASELINE_ABOVE) -> np.ndarray:
        """Classify every run by its final test error, relative to the baseline.

        ``"learned"``: below ``learned_below * baseline``; ``"baseline"``: at
        or above ``baseline_above * baseline`` (no better than always
        predicting 1); ``"partial"``: in between; ``"diverged"``: not finite.

        Args:
            learned_below: fraction of the baseline, in (0, 1).
            baseline_above: fraction of the baseline, in [learned_below, 1].

        Returns:
            Array of strings, shape ``(len(cells), len(lags), len(seeds))``.

        Raises:
            ValueError: if the thresholds are not in that range.
        """
        check_positive(learned_below, "learned_below")
        check_positive(baseline_above, "baseline_above")
        if not learned_below <= baseline_above <= 1:
            raise ValueError("the thresholds must satisfy 0 < learned_below <= baseline_above "
                             f"<= 1; got learned_below={learned_below!r}, "
                             f"baseline_above={baseline_above!r}")
        e = self.errors / self.baseline
        return np.where(~np.isfinite(e), "diverged",
                        np.where(e < learned_below, "learned",
                                 np.where(e >= baseline_above, "baseline", "partial")))

    def verdict_table(self, learned_below: float = LEARNED_BELOW,
                      baseline_above: float = BASELINE_ABOVE) -> str:
        """A plain-text table of :meth:`verdicts`: for each lag and cell, how many seeds got each.

        One row per lag and cell; entries read e.g. ``learned 3/3`` or
        ``partial 1/3, baseline 2/3``. The text changes only when a run
        crosses a threshold, so unlike the digits of :meth:`seed_table` it is
        the same on every CPU unless a run sits near a threshold.

        Raises:
            ValueError: for thresholds :meth:`verdicts` rejects.
        """
        v = self.verdicts(learned_below, baseline_above)
        n = len(self.seeds)
        cw = max(4, *(len(c) for c in self.cells))
        head = "lag".rjust(5) + "  " + "cell".ljust(cw) + f"  verdicts of {n} seeds"
        rows = []
        for j, lag in enumerate(self.lags):
            for i, c in enumerate(self.cells):
                counts = ", ".join(f"{name} {int(np.sum(v[i, j] == name))}/{n}"
                                   for name in VERDICTS if np.any(v[i, j] == name))
                rows.append(str(lag).rjust(5) + "  " + c.upper().ljust(cw) + "  " + counts)
        rule = "-" * max(len(r) for r in [head, *rows])
        foot = [f"(final test error: learned below {learned_below:g} x baseline,",
                f" baseline at {baseline_above:g} x baseline or above, partial between)"]
        return "\n".join([head, rule, *rows, *foot])

    def plot(self, ax, colors=None, legend_loc="best"):
        """Plot the test error against the lag, one line per cell, and the baseline.

        With several seeds, each seed is a faint dot and the line joins the means.

        Args:
            ax: a matplotlib Axes.
            colors: optional dict from cell name to colour (default: the book's
                palette in the order of :data:`CELLS`, so a cell keeps its
                colour across chapters).
            legend_loc: passed to ``ax.legend(loc=...)``.
        """
        from .plots import PALETTE
        colors = colors or {c: PALETTE[k % len(PALETTE)] for k, c in enumerate(CELLS)}
        mean = self.mean_errors()
        for i, cell in enumerate(self.cells):
            color = colors.get(cell, PALETTE[i % len(PALETTE)])
            ax.plot(self.lags, mean[i], "o-", color=color, label=cell.upper())
            if len(self.seeds) > 1:
                for s in range(len(self.seeds)):
                    ax.plot(self.lags, self.errors[i, :, s], ".", color=color, alpha=0.35)
        ax.axhline(self.baseline, color="0.4", ls="--", lw=1, label="trivial baseline (1/6)")
        ax.set_xlabel("lag T (sequence length)")
        ax.set_ylabel("test mean squared error")
        ax.legend(loc=legend_loc)
        return ax


def lag_sweep(cells, lags, seeds=(0,), hidden_size: int = 32, model_kwargs=None,
              **train_kwargs) -> SweepResult:
    """Train every cell at every lag (and seed) and collect the final test errors.

    Each run builds a fresh model with :func:`make_model` (initialisation seed
    = the run's seed) and trains it with :func:`train` (batch seed = the run's
    seed), so a run's numbers do not depend on which other runs the sweep
    holds: the chapter-6 sweep with ``"gru"`` is comparable to chapter 5's.
    Float sums depend on torch's thread count, so the printed digits are
    those of one thread, as set by :func:`seqlib.seed_everything`. Training is
    chaotic: another CPU's rounding can change a final error in its second
    digit, so state results with :meth:`SweepResult.verdicts`. The book's
    sweeps use the defaults of :func:`train` (Adam, learning rate 0.02,
    clipping at 1, 400 steps of 64 sequences), ``hidden_size=32``, lags
    ``[5, 10, 20, 40]``, seeds ``(0, 1, 2)``, and for the LSTM
    ``forget_bias=1.0``.

    Args:
        cells: names from :data:`CELLS`, e.g. ``["rnn", "lstm"]``.
        lags: sequence lengths (each >= 2), e.g. ``[5, 10, 20, 40]``.
        seeds: seeds (each >= 0); results are averaged over them.
        hidden_size: ``H`` of every model (> 0).
        model_kwargs: optional dict from a cell name to extra keyword
            arguments of :func:`make_model`, e.g. ``{"lstm": {"forget_bias": 1.0}}``.
        **train_kwargs: passed to :func:`train` (``steps``, ``batch_size``,
            ``lr``, ``clip``, ...).

    Returns:
        A :class:`SweepResult` (``.table()`` prints it, ``.plot(ax)`` draws it).

    Raises:
        ValueError: if ``cells``, ``lags`` or ``seeds`` is empty or holds a bad
            value, or a keyword argument is bad.
    """
    cells, lags, seeds = tuple(cells), tuple(lags), tuple(seeds)
    if not cells or not lags or not seeds:
        raise ValueError("cells, lags and seeds must each hold at least one value; "
                         f"got {len(cells)}, {len(lags)} and {len(seeds)}")
    for c in cells:
        check_choice(c, "cell", CELLS)
    for lag in lags:
        _check_lag(lag)
    for s in seeds:
        check_positive(s, "seed", integer=True, allow_zero=True)
    model_kwargs = dict(model_kwargs or {})
    for c in model_kwargs:
        check_choice(c, "model_kwargs key", CELLS)
    if "seed" in train_kwargs:
        raise ValueError("pass seeds=(...) to lag_sweep, not seed=")
    errors = np.empty((len(cells), len(lags), len(seeds)))
    runs = {}
    for i, c in enumerate(cells):
        for j, lag in enumerate(lags):
            for k, s in enumerate(seeds):
                model = make_model(c, hidden_size=hidden_size, seed=s, **model_kwargs.get(c, {}))
                res = train(model, lag, seed=s, **train_kwargs)
                errors[i, j, k] = res.final_error
                runs[(c, lag, s)] = res
    return SweepResult(cells, lags, seeds, errors, runs)
