"""seqlib.norms: equality with torch.nn (values and gradients), properties, bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlib import data, norms
from seqlib.gradients import max_abs_diff, numerical_grad

TOL = dict(rtol=0, atol=1e-10)


def _rand(*shape, seed=0, scale=3.0, shift=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64) * scale + shift


# --- equality with torch, forward and backward ----------------------------------

@pytest.mark.parametrize("shape", [(8,), (4, 8), (2, 3, 8)])
def test_layer_norm_equals_torch_with_gradients(shape):
    x, gamma, beta = _rand(*shape), _rand(8, seed=1), _rand(8, seed=2)
    dy = _rand(*shape, seed=3)
    ours = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    theirs = [t.clone().requires_grad_() for t in (x, gamma, beta)]
    y1 = norms.layer_norm(*ours, eps=1e-5)
    y2 = F.layer_norm(theirs[0], (8,), theirs[1], theirs[2], eps=1e-5)
    torch.testing.assert_close(y1, y2, **TOL)
    y1.backward(dy)
    y2.backward(dy)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, **TOL)


@pytest.mark.parametrize("shape", [(8,), (2, 3, 8)])
def test_rms_norm_equals_torch_with_gradients(shape):
    x, gamma, dy = _rand(*shape), _rand(8, seed=1), _rand(*shape, seed=3)
    ours = [t.clone().requires_grad_() for t in (x, gamma)]
    theirs = [t.clone().requires_grad_() for t in (x, gamma)]
    y1 = norms.rms_norm(*ours, eps=1e-6)
    y2 = F.rms_norm(theirs[0], (8,), theirs[1], eps=1e-6)
    torch.testing.assert_close(y1, y2, **TOL)
    y1.backward(dy)
    y2.backward(dy)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad, **TOL)


def test_batch_norm_equals_batchnorm1d_in_training_mode():
    x, gamma, beta, dy = _rand(4, 5, 6), _rand(6, seed=1), _rand(6, seed=2), _rand(4, 5, 6, seed=3)
    bn = torch.nn.BatchNorm1d(6, eps=1e-5).double()
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    y1 = norms.batch_norm(xa, gamma, beta)
    y2 = bn(xb.transpose(1, 2)).transpose(1, 2)  # BatchNorm1d wants (B, D, T)
    torch.testing.assert_close(y1, y2, **TOL)
    y1.backward(dy)
    y2.backward(dy)
    torch.testing.assert_close(xa.grad, xb.grad, **TOL)


def test_modules_load_torch_state_dicts_and_agree():
    x = _rand(3, 4, 8)
    t_ln, t_rms = torch.nn.LayerNorm(8).double(), torch.nn.RMSNorm(8, eps=1e-6).double()
    with torch.no_grad():
        for p in list(t_ln.parameters()) + list(t_rms.parameters()):
            p.copy_(_rand(8, seed=7))
    ln, rms = norms.LayerNorm(8).double(), norms.RMSNorm(8).double()
    ln.load_state_dict(t_ln.state_dict())
    rms.load_state_dict(t_rms.state_dict())
    torch.testing.assert_close(ln(x), t_ln(x), **TOL)
    torch.testing.assert_close(rms(x), t_rms(x), **TOL)
    assert "eps=1e-05" in repr(ln) and "eps=1e-06" in repr(rms)


def test_layer_norm_backward_matches_autograd_and_finite_differences():
    x, gamma, dy = _rand(3, 6), _rand(6, seed=1), _rand(3, 6, seed=2)
    dx, dgamma, dbeta = norms.layer_norm_backward(dy, x, gamma)
    xr, gr, br = x.clone().requires_grad_(), gamma.clone().requires_grad_(), torch.zeros(6, dtype=torch.float64, requires_grad=True)
    norms.layer_norm(xr, gr, br).backward(dy)
    torch.testing.assert_close(dx, xr.grad, **TOL)
    torch.testing.assert_close(dgamma, gr.grad, **TOL)
    torch.testing.assert_close(dbeta, br.grad, **TOL)
    # finite differences on the scalar <dy, layer_norm(x)>
    xn = x.numpy().copy()
    num = numerical_grad(lambda: float((dy * norms.layer_norm(torch.from_numpy(xn), gamma)).sum()), xn)
    assert max_abs_diff(num, dx) < 1e-7
    # a single vector (rank 1) gives per-element dgamma and dbeta
    d1 = norms.layer_norm_backward(dy[0], x[0], gamma)
    torch.testing.assert_close(d1[0], dx[0], **TOL)


# --- properties -------------------------------------------------------------------

def test_layer_norm_standardizes_and_is_invariant_to_shift_and_scale():
    x = _rand(5, 16)
    y = norms.layer_norm(x, eps=1e-12)
    torch.testing.assert_close(y.mean(-1), torch.zeros(5, dtype=torch.float64), **TOL)
    torch.testing.assert_close(y.var(-1, unbiased=False), torch.ones(5, dtype=torch.float64), rtol=0, atol=1e-9)
    torch.testing.assert_close(norms.layer_norm(7.0 * x - 2.0, eps=1e-12), y, rtol=0, atol=1e-9)
    # not squashed into [-1, 1]: one large feature among zeros reaches sqrt(H - 1)
    spike = torch.zeros(16, dtype=torch.float64)
    spike[0] = 1.0
    assert norms.layer_norm(spike, eps=1e-12)[0].item() == pytest.approx(15 ** 0.5)


def test_rms_norm_rescales_only_and_equals_layer_norm_on_zero_mean_input():
    x = _rand(5, 16)
    y = norms.rms_norm(x, eps=1e-12)
    torch.testing.assert_close(y.pow(2).mean(-1), torch.ones(5, dtype=torch.float64), rtol=0, atol=1e-9)
    torch.testing.assert_close(norms.rms_norm(4.0 * x, eps=1e-12), y, rtol=0, atol=1e-9)
    assert max_abs_diff(norms.rms_norm(x + 2.0, eps=1e-12), y) > 0.1  # a shift is not removed
    centred = x - x.mean(-1, keepdim=True)
    torch.testing.assert_close(norms.rms_norm(centred, eps=1e-12), norms.layer_norm(centred, eps=1e-12),
                               rtol=0, atol=1e-9)


def test_batch_norm_mixes_examples_and_layer_norm_does_not():
    x = _rand(4, 5, 6)
    x2 = x.clone()
    x2[1:] = _rand(3, 5, 6, seed=9)  # change every sequence but the first
    assert max_abs_diff(norms.batch_norm(x)[0], norms.batch_norm(x2)[0]) > 0.1
    assert max_abs_diff(norms.layer_norm(x)[0], norms.layer_norm(x2)[0]) == 0.0


def test_count_ops_layer_norm_7h_rms_norm_4h():
    H = 64
    x, g, b = torch.randn(1, H), torch.ones(H), torch.zeros(H)
    ln = norms.count_ops(norms.layer_norm, x, g, b)
    rms = norms.count_ops(norms.rms_norm, x, g)
    assert sum(e for _, e in ln) == 7 * H + 2
    assert sum(e for _, e in rms) == 4 * H + 2
    assert [n for n, _ in ln].count("mean") == 2 and [n for n, _ in rms].count("mean") == 1
    with pytest.raises(ValueError, match="callable"):
        norms.count_ops(3)


# --- blocks and stacks ------------------------------------------------------------

@pytest.mark.parametrize("norm, twin", [("layer", torch.nn.LayerNorm), ("rms", torch.nn.RMSNorm)])
def test_blocks_compute_their_equations(norm, twin):
    torch.manual_seed(0)
    x = _rand(2, 3, 8)
    post = norms.PostNormBlock(8, 16, norm).double()
    pre = norms.PreNormBlock(8, 16, norm).double()
    for block in (post, pre):
        with torch.no_grad():
            block.norm.weight.copy_(_rand(8, seed=4))
    t_norm = twin(8, eps=post.norm.eps).double()
    t_norm.load_state_dict(post.norm.state_dict())
    torch.testing.assert_close(post(x), t_norm(x + post.ff(x)), **TOL)  # (eq-norm-post)
    t_norm.load_state_dict(pre.norm.state_dict())
    torch.testing.assert_close(pre(x), x + pre.ff(t_norm(x)), **TOL)    # (eq-norm-pre)


def test_make_stack_shapes_and_final_norm():
    post, pre = norms.make_stack("post", 3, 8, 16), norms.make_stack("pre", 3, 8, 16, norm="rms")
    assert len(post) == 3 and len(pre) == 4 and isinstance(pre[-1], norms.RMSNorm)
    x = torch.randn(2, 5, 8)
    assert post(x).shape == pre(x).shape == (2, 5, 8)
    w = post[0].ff.fc1.weight.detach()
    assert torch.all(post[0].ff.fc1.bias == 0) and abs(float(w.std()) - (2 / 24) ** 0.5) < 0.1


@pytest.mark.parametrize("kind, norm", [("post", "layer"), ("pre", "rms")])
def test_torch_impl_stack_equals_seqlib_stack(kind, norm):
    stacks = []
    for impl in ("seqlib", "torch"):
        torch.manual_seed(0)  # the norms draw no random numbers: same branch weights
        stacks.append(norms.make_stack(kind, 3, 8, 16, norm=norm, impl=impl).double())
    assert isinstance(stacks[1][0].norm, torch.nn.LayerNorm if norm == "layer" else torch.nn.RMSNorm)
    x = _rand(2, 5, 8)
    torch.testing.assert_close(stacks[0](x), stacks[1](x), **TOL)


def test_block_grad_norms_and_stream_rms():
    torch.manual_seed(0)
    stack = norms.make_stack("pre", 4, 8, 16)
    x = torch.randn(32, 8)
    with pytest.raises(ValueError, match="no gradient"):
        norms.block_grad_norms(stack)
    stack(x).pow(2).sum().backward()
    got = norms.block_grad_norms(stack)
    want = [float(torch.cat([b.ff.fc1.weight.grad.flatten(), b.ff.fc2.weight.grad.flatten()]).norm())
            for b in stack[:4]]
    assert got == pytest.approx(want, rel=1e-5)  # float32 sums in two orders
    rms_pre = norms.stream_rms(stack, x)
    rms_post = norms.stream_rms(norms.make_stack("post", 4, 8, 16), x)
    assert len(rms_pre) == 5 and rms_pre[-1] > rms_pre[0]      # the pre-norm stream grows
    assert rms_post[1:] == pytest.approx([1.0] * 4, abs=1e-3)  # post-norm resets it to 1
    with pytest.raises(ValueError, match="no(ne| blocks)|found none"):
        norms.block_grad_norms(torch.nn.Linear(2, 2))


def test_last_block_gradient_shrinks_with_depth_for_pre_norm_only():
    """The Xiong et al. (2020) scaling, at a fixed seed: pre-norm ~ 1/sqrt(L)."""
    X, y = data.teacher_classification(256, 32, seed=0)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    last = {}
    for kind in ("post", "pre"):
        for L in (2, 16):
            torch.manual_seed(0)
            model = torch.nn.Sequential(norms.make_stack(kind, L, 32, 64), torch.nn.Linear(32, 8))
            F.cross_entropy(model(X), y).backward()
            last[kind, L] = norms.block_grad_norms(model[0])[-1]
    assert last["pre", 2] / last["pre", 16] > 1.5        # pre-norm: shrinks with depth
    assert last["post", 2] / last["post", 16] < 1.0      # post-norm: does not shrink
    assert last["post", 16] / last["pre", 16] > 2.0      # so at L = 16 post-norm's is larger


# --- training ----------------------------------------------------------------------

def test_warmup_lr():
    assert [norms.warmup_lr(s, 1.0, 4) for s in (0, 1, 3, 10)] == [0.25, 0.5, 1.0, 1.0]
    assert norms.warmup_lr(0, 0.1, 0) == 0.1
    for args, match in [((-1, 1.0, 4), "step"), ((0, 0.0, 4), "base_lr"), ((0, 1.0, -2), "warmup_steps")]:
        with pytest.raises(ValueError, match=match):
            norms.warmup_lr(*args)


def test_train_classifier_is_deterministic_and_learns():
    X, y = data.teacher_classification(512, 8, n_classes=4, seed=1)
    X, y = torch.from_numpy(X), torch.from_numpy(y)

    def run():
        torch.manual_seed(0)
        model = torch.nn.Sequential(norms.make_stack("pre", 2, 8, 16), torch.nn.Linear(8, 4))
        return norms.train_classifier(model, X, y, lr=1e-2, steps=60, warmup_steps=10, seed=3)
    a, b = run(), run()
    assert a == b and len(a) == 60
    assert np.mean(a[-10:]) < 0.7 * np.mean(a[:10])
    model = torch.nn.Linear(8, 4)
    with pytest.raises(ValueError, match="N = 512"):
        norms.train_classifier(model, X, y[:10], lr=1e-2, steps=5)
    with pytest.raises(ValueError, match="steps"):
        norms.train_classifier(model, X, y, lr=1e-2, steps=0)
    with pytest.raises(ValueError, match="lr must"):
        norms.train_classifier(model, X, y, lr=-1.0, steps=5)


def test_teacher_classification():
    X, y = data.teacher_classification(300, 5, n_classes=3, seed=2)
    X2, y2 = data.teacher_classification(300, 5, n_classes=3, seed=2)
    assert X.shape == (300, 5) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and set(y.tolist()) == {0, 1, 2}
    with pytest.raises(ValueError, match="n_classes"):
        data.teacher_classification(10, 5, n_classes=1)


# --- bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: norms.layer_norm(torch.tensor(1.0)), r"rank >= 1"),
    (lambda: norms.layer_norm(torch.zeros(2, 0)), "non-empty"),
    (lambda: norms.layer_norm(torch.zeros(2, 3, dtype=torch.long)), "floating-point"),
    (lambda: norms.layer_norm([1.0, 2.0]), "must be an array"),
    (lambda: norms.layer_norm(torch.zeros(2, 3), gamma=torch.ones(4)), r"gamma must have H = 3"),
    (lambda: norms.layer_norm(torch.zeros(2, 3), beta=torch.ones(3, 1)), r"beta must have shape \(H,\)"),
    (lambda: norms.layer_norm(torch.zeros(2, 3), eps=0.0), "eps must be a number > 0"),
    (lambda: norms.rms_norm(torch.zeros(2, 3), eps=-1e-6), "eps"),
    (lambda: norms.rms_norm(torch.zeros(2, 3), gamma=torch.ones(2)), "gamma"),
    (lambda: norms.batch_norm(torch.zeros(4, 3)), r"\(B, T, D\)"),
    (lambda: norms.batch_norm(torch.zeros(2, 4, 3), gamma=torch.ones(4)), r"gamma must have D = 3 in shape \(D,\)"),
    (lambda: norms.layer_norm_backward(torch.zeros(2, 3), torch.zeros(3, 3)), "dy must have the shape of x"),
    (lambda: norms.layer_norm_backward(torch.zeros(2, 4), torch.zeros(2, 3)), "dy must have H = 3"),
    (lambda: norms.LayerNorm(4)(torch.zeros(2, 5)), "H = 4"),
    (lambda: norms.RMSNorm(0), "H must be"),
    (lambda: norms.LayerNorm(4, eps=0), "eps"),
    (lambda: norms.PostNormBlock(4, 8, norm="batch"), "norm must be one of"),
    (lambda: norms.FeedForward(4, 0), "d_ff"),
    (lambda: norms.make_stack("middle", 2, 4, 8), "kind must be one of"),
    (lambda: norms.make_stack("pre", 0, 4, 8), "L must be"),
    (lambda: norms.make_stack("pre", 2, 4, 8, impl="jax"), "impl must be one of"),
    (lambda: norms.PreNormBlock(0, 8, impl="torch"), "H must be"),
])
def test_bad_input_raises_one_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_inputs_are_accepted():
    x = np.random.default_rng(0).normal(size=(3, 4))
    torch.testing.assert_close(norms.layer_norm(x), norms.layer_norm(torch.from_numpy(x)), **TOL)
    torch.testing.assert_close(norms.rms_norm(x, gamma=np.ones(4)), norms.rms_norm(torch.from_numpy(x)), **TOL)
