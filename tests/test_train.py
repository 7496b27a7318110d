"""seqlib.train.fit: one loop, with clipping, schedules, evaluation and divergence detection."""
import itertools
import math

import pytest
import torch

from seqlib.train import fit


def _problem(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1, dtype=torch.float64)
    w = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)

    def batches():
        while True:
            X = torch.randn(16, 3, dtype=torch.float64, generator=gen)
            yield X, X @ w.T

    loss_fn = lambda b: ((model(b[0]) - b[1]) ** 2).mean()  # noqa: E731
    return model, batches(), loss_fn


def test_fit_learns_and_records_every_step():
    model, batches, loss_fn = _problem()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    h = fit(model, batches, loss_fn, steps=200, optimizer=opt,
            evaluate=lambda: model.weight[0, 0].item(), eval_every=50, eval_at_start=True)
    assert len(h.train_loss) == len(h.grad_norm) == 200
    assert h.eval_step == [0, 50, 100, 150, 200]
    assert h.train_loss[-1] < 1e-2 * h.train_loss[0]
    assert h.diverged_at is None and h.clipped == 0


def test_fit_is_deterministic():
    runs = []
    for _ in range(2):
        model, batches, loss_fn = _problem(seed=3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        runs.append(fit(model, batches, loss_fn, steps=30, optimizer=opt).train_loss)
    assert runs[0] == runs[1]


def test_clipping_bounds_the_update_and_is_counted():
    model, batches, loss_fn = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    before = [p.detach().clone() for p in model.parameters()]
    h = fit(model, batches, loss_fn, steps=1, optimizer=opt, clip=1e-3)
    step = torch.cat([(p.detach() - b).reshape(-1) for p, b in zip(model.parameters(), before)])
    assert h.grad_norm[0] > 1e-3 and h.clipped == 1
    assert float(step.norm()) == pytest.approx(1e-3, rel=1e-6)


def test_a_diverging_run_stops_without_updating_with_inf():
    model, batches, loss_fn = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=10.0)   # far too large: blows up
    h = fit(model, batches, loss_fn, steps=500, optimizer=opt)
    assert h.diverged_at is not None and h.diverged_at < 500
    assert len(h.train_loss) == h.diverged_at
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_lr_schedule_is_applied_before_each_step():
    model, batches, loss_fn = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=123.0)
    seen = []
    fit(model, batches, lambda b: (seen.append(opt.param_groups[0]["lr"]), loss_fn(b))[1],
        steps=4, optimizer=opt, lr_at=lambda s: 0.01 * (s + 1))
    assert seen == pytest.approx([0.01, 0.02, 0.03, 0.04])


def test_a_short_iterable_ends_the_run():
    model, batches, loss_fn = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, itertools.islice(batches, 7), loss_fn, steps=100, optimizer=opt)
    assert len(h.train_loss) == 7


def test_progress_bar_goes_to_stderr(capsys):
    model, batches, loss_fn = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, batches, loss_fn, steps=3, optimizer=opt, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "step 3/3" in err


def test_bad_input():
    model, batches, loss_fn = _problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        fit(model, batches, loss_fn, steps=0, optimizer=opt)
    with pytest.raises(ValueError, match="clip"):
        fit(model, batches, loss_fn, steps=1, optimizer=opt, clip=math.nan)
    with pytest.raises(ValueError, match="optimizer"):
        fit(model, batches, loss_fn, steps=1, optimizer="adam")
    with pytest.raises(ValueError, match="scalar"):
        fit(model, batches, lambda b: model(b[0]), steps=1, optimizer=opt)
    frozen = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="gradients"):
        fit(model, batches, loss_fn, steps=1, optimizer=frozen)
