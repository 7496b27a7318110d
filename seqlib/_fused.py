"""Fast LSTM and GRU layers: the functions of ``seqlib.lstm`` and ``seqlib.gru``, fused.

:func:`seqlib.lstm.lstm_layer` and :func:`seqlib.gru.gru_layer` follow the
chapters' equations one step at a time, and autograd records each small
operation of each step. The two functions here compute the same layers
(torch's conventions: LSTM blocks i, f, g, o; GRU blocks r, z, n with the
reset gate applied after the recurrent product) as a
``torch.autograd.Function`` each, with a backward pass written by hand
(backpropagation through time, chapter 3) and the classic optimisations of
recurrent-network libraries. Each one saves work that the step-by-step layer
repeats T times:

1. **Validate once per call.** The step functions check every argument at
   every step (a few dozen shape and dtype tests, T times); here the layer
   checks ``X``, the states and the weights once, at the entry.
2. **Hoist the input projection.** ``W_ih x_t + b`` does not depend on the
   state, so one matrix product ``(T*B, D) @ (D, nH)`` computes it for all T
   steps before the loop. Inside the loop only ``W_hh h_{t-1}`` is left.
3. **Fuse the gates.** The stacked weights give every gate of a step from one
   product ``(B, H) @ (H, nH)``, and ``torch.addmm`` adds the hoisted input
   part in the same call.
4. **Fewer, cheaper operations per step.** On the CPU, torch's ``tanh``
   costs several times as much as its ``sigmoid``, so
   ``tanh(a) = 2 sigmoid(2a) - 1`` is used throughout; where the factor 2
   can be folded into the weights once per call, one ``sigmoid`` then serves
   all the gates of a step. The backward pass computes
   the gates' local derivatives for all T steps at once, before its loop; the
   loop keeps only what depends on the gradient arriving from later steps;
   the weight gradients are one matrix product each, after the loop.
5. **Preallocated buffers.** Every step writes into its slice of tensors
   allocated once per call (``out=`` arguments and in-place operations),
   instead of allocating small tensors and stacking them at the end.
6. **No bookkeeping in the loops.** A loop runs about a thousand small
   operations, and at ``(B, H)`` sizes the fixed cost of each is about as
   large as its arithmetic. The loops only write into the buffers above, so
   they run under ``torch.inference_mode()``, which skips what autograd
   otherwise tracks for every operation and view (version counters, view
   links); the buffers themselves are made outside it, so autograd can save
   them for the backward pass.

Inside, arrays are time-major, ``(T, B, ...)``, so that each step's rows are
one contiguous block; the functions take and return batch-first arrays like
the rest of seqlib. Both support reverse mode (``backward``, not twice) and
forward mode (``torch.func.jvp``). ``tanh`` through ``sigmoid`` rounds
differently from torch's ``tanh`` in the last bits, so results equal the
step-by-step layers and ``torch.nn`` to float rounding (about 1e-15 in
float64), not bit for bit.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._checks import check_tensor
from ._stacked import check_stacked_params

__all__ = ["gru_layer_fused", "lstm_layer_fused"]


def _check_call(X, params, states, blocks: int, parts: str) -> tuple[int, int]:
    """Check one layer call: weights, ``X`` (B, T, D), states (B, H); return ``(B, H)``."""
    D, H = check_stacked_params(*params, blocks, parts)
    B = check_tensor(X, "X", "(B, T, D)", dtype="float", sizes={"D": D})["B"]
    dtype = params[0].dtype
    for name, a in [("X", X)] + [(n, s) for n, s in states if s is not None]:
        if name != "X":
            check_tensor(a, name, "(B, H)", dtype="float", sizes={"B": B, "H": H})
        if not isinstance(a, torch.Tensor) or a.dtype != dtype:
            raise ValueError(f"{name} must be a torch tensor of dtype {dtype} like the weights; "
                             f"got {getattr(a, 'dtype', type(a).__name__)}")
    return B, H


def _block_scale(blocks: int, doubled: int, H: int, dtype) -> torch.Tensor:
    """A ``(blocks*H, 1)`` column of ones with 2 on block ``doubled``'s rows.

    Multiplying a block's weights and biases by 2 makes its pre-activation
    ``2a``, so ``2 sigmoid(2a) - 1 = tanh(a)`` costs one ``sigmoid``.
    """
    scale = torch.ones(blocks * H, 1, dtype=dtype)
    scale[doubled * H:(doubled + 1) * H] = 2
    return scale


def _per_step(*tensors):
    """Zip time-major tensors into one tuple of views per step.

    Making the views once per call matters: indexing a tensor (``gates[t]``,
    ``K[t, :, :3]``) is itself a call, costing about as much as multiplying
    two ``(B, H)`` blocks.
    """
    return zip(*(x.unbind(0) for x in tensors))


def _outside_gradient(d_out, d_hT, T: int, B: int, H: int, dtype) -> torch.Tensor:
    """``dL/dh_t`` from outside the layer, time-major ``(T, B, H)``.

    That is ``d_out`` (the gradient of the outputs), plus ``d_hT`` at the last
    step. Either may be None: no gradient reaches that output.
    """
    if d_out is None:
        dhs = torch.zeros(T, B, H, dtype=dtype)
    else:
        dhs = d_out.transpose(0, 1).contiguous()
    if d_hT is not None:
        dhs[T - 1] += d_hT
    return dhs


def _time_major(X: torch.Tensor) -> torch.Tensor:
    """``(B, T, D)`` to ``(T*B, D)``: the rows of step 0, then of step 1, ..."""
    B, T, D = X.shape
    return X.transpose(0, 1).reshape(T * B, D)


# --- LSTM --------------------------------------------------------------------------

class _LSTMFunction(torch.autograd.Function):
    """One LSTM layer over a whole sequence; see :func:`lstm_layer_fused`.

    ``forward`` also returns its saved activations (gates, states, tanh of the
    cells), marked non-differentiable: the form ``torch.func`` needs, which
    lets forward mode (``jvp``) use them too.
    """

    @staticmethod
    def forward(X, W_ih, W_hh, b_ih, b_hh, h0, c0):
        B, T, _ = X.shape
        H = W_hh.shape[1]
        # The g block's rows doubled: one sigmoid serves i, f, g and o (optimisation 4).
        scale = _block_scale(4, 2, H, X.dtype)
        # Hoisted input projection, both biases included: all T steps in one product (2).
        # Its buffer becomes the gates': each step adds W_hh h_{t-1} in place, then
        # applies the nonlinearities in place (5).
        gates = torch.addmm((b_ih + b_hh) * scale[:, 0], _time_major(X), (W_ih * scale).t())
        gates = gates.view(T, B, 4 * H)                             # i, f, g, o of every step
        W_hhT = (W_hh * scale).t()                                  # (H, 4H)
        hs = torch.empty(T + 1, B, H, dtype=X.dtype)                # h_0 ... h_T
        cs = torch.empty(T + 1, B, H, dtype=X.dtype)                # c_0 ... c_T
        tcs = torch.empty(T, B, H, dtype=X.dtype)                   # tanh(c_1) ... tanh(c_T)
        hs[0], cs[0] = h0, c0
        # 2 s - 1 as add(-1, s, alpha=2): a Python number as an operand, as in
        # s.mul_(2).sub_(1), is wrapped into a tensor at every call, which costs
        # more than the arithmetic on a (B, H) block.
        minus_one = torch.tensor(-1.0, dtype=X.dtype)
        with torch.inference_mode():                                # (6)
            h, c = hs.unbind(0), cs.unbind(0)                       # h[t] is h_{t-1} of step t
            for t, (a, i, f, g, o, tc) in enumerate(_per_step(gates, *gates.split(H, dim=2), tcs)):
                # eq-lstm-input, -forget, -candidate, -output: one product for all four (3)
                a.addmm_(h[t], W_hhT)
                a.sigmoid_()                                        # i, f, o, and sigmoid(2 a_g)
                torch.add(minus_one, g, alpha=2, out=g)             # g = tanh(a_g)
                torch.mul(f, c[t], out=c[t + 1])                    # eq-lstm-cell
                c[t + 1].addcmul_(i, g)
                torch.add(c[t + 1], c[t + 1], out=tc).sigmoid_()    # tanh(c_t) =
                torch.add(minus_one, tc, alpha=2, out=tc)           # 2 sigmoid(2 c_t) - 1
                torch.mul(o, tc, out=h[t + 1])                      # eq-lstm-hidden
        out = hs[1:].transpose(0, 1).contiguous()                   # (B, T, H)
        return out, hs[T].clone(), cs[T].clone(), gates, hs, cs, tcs

    @staticmethod
    def setup_context(ctx, inputs, output):
        X, W_ih, W_hh = inputs[:3]
        gates, hs, cs, tcs = output[3:]
        ctx.mark_non_differentiable(gates, hs, cs, tcs)
        ctx.set_materialize_grads(False)  # no zero tensors for the activations' gradients
        ctx.save_for_backward(X, W_ih, W_hh, gates, hs, cs, tcs)
        ctx.save_for_forward(X, W_ih, W_hh, gates, hs, cs, tcs)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT, d_cT, *_):
        X, W_ih, W_hh, gates, hs, cs, tcs = ctx.saved_tensors
        T, B, H4 = gates.shape
        H = H4 // 4
        G = gates.view(T, B, 4, H)
        i, f, g, o = G.unbind(2)                                    # (T, B, H) each
        # The gates' local derivatives, all steps at once (optimisation 4): dL/da_t is
        # K_t times [dc_t, dc_t, dc_t, dh_t] (dL/dc_t, dL/dh_t: the totals at step t).
        # Few passes over memory: s (1 - s) = s - s * s for all four blocks in one
        # addcmul, then each block's factor multiplied in place.
        K = torch.addcmul(G, G, G, value=-1)                        # i(1-i), f(1-f), ., o(1-o)
        K_i, K_f, K_g, K_o = K.unbind(2)
        K_i.mul_(g)                                                 # dc_t/da_i = g i(1-i)
        K_f.mul_(cs[:-1])                                           # dc_t/da_f = c_{t-1} f(1-f)
        torch.addcmul(i, i, torch.mul(g, g, out=K_g), value=-1, out=K_g)  # dc_t/da_g = i(1-g²)
        K_o.mul_(tcs)                                               # dh_t/da_o = tanh(c_t) o(1-o)
        dh_dc = torch.addcmul(o, o, tcs * tcs, value=-1)            # dh_t/dc_t = o(1-tanh² c_t)
        # dL/dh_t starts as the gradient from outside (the outputs, and h_T); each step
        # adds, in place, what flows back from step t + 1 (5).
        dhs = _outside_gradient(d_out, d_hT, T, B, H, X.dtype)
        dc = torch.zeros(B, H, dtype=X.dtype) if d_cT is None else d_cT.clone()
        dc_each = dc[:, None]                                       # (B, 1, H): dc for i, f, g
        dA = torch.empty(T, B, 4, H, dtype=X.dtype)                 # dL/da_t
        dA_flat = dA.view(T, B, 4 * H)
        with torch.inference_mode():                                # (6)
            steps = _per_step(dhs, dA_flat, K[:, :, :3], K[:, :, 3], dA[:, :, :3], dA[:, :, 3],
                              dh_dc, f)
            dA_later = None                                         # dL/da_{t+1}
            for dh, dA_t, K_ifg, K_o, dA_ifg, dA_o, dh_dc_t, f_t in reversed(list(steps)):
                if dA_later is not None:                            # eq-bptt-dh
                    dh.addmm_(dA_later, W_hh)
                dc.addcmul_(dh, dh_dc_t)                            # + the path through h_t
                torch.mul(K_ifg, dc_each, out=dA_ifg)
                torch.mul(K_o, dh, out=dA_o)
                dc.mul_(f_t)                                        # eq-lstm-cell-path: to c_{t-1}
                dA_later = dA_t
        # What the loop left: gradients that sum over all steps, one product each,
        # computed only for the inputs that need them.
        need = ctx.needs_input_grad
        dA2 = dA.view(T * B, 4 * H)
        dX = (dA2 @ W_ih).view(T, B, -1).transpose(0, 1).contiguous() if need[0] else None
        dW_ih = dW_hh = None
        if need[1] or need[2]:
            # a_t = [W_ih W_hh] [x_t; h_{t-1}] + b: both weight gradients from one product
            x_h = torch.cat([_time_major(X), hs[:-1].reshape(T * B, H)], dim=1)
            dW_ih, dW_hh = (dA2.t() @ x_h).split([X.shape[2], H], dim=1)
        db = dA2.sum(0) if need[3] or need[4] else None
        dh0 = dA_flat[0] @ W_hh if need[5] else None
        return dX, dW_ih, dW_hh, db, db, dh0, dc

    @staticmethod
    def jvp(ctx, dX, dW_ih, dW_hh, db_ih, db_hh, dh0, dc0):
        # Forward mode: push a change of the inputs through the steps (written for
        # clarity, not speed). A tangent is None where an input has none.
        X, W_ih, W_hh, gates, hs, cs, tcs = ctx.saved_tensors
        T, B, H4 = gates.shape
        H = H4 // 4
        # change of the pre-activations from everything except h_{t-1}: all steps at once
        dP = torch.zeros(T, B, H4, dtype=X.dtype)
        if dX is not None:
            dP += (_time_major(dX) @ W_ih.t()).view(T, B, H4)
        if dW_ih is not None:
            dP += (_time_major(X) @ dW_ih.t()).view(T, B, H4)
        if dW_hh is not None:
            dP += hs[:-1] @ dW_hh.t()
        for db in (db_ih, db_hh):
            if db is not None:
                dP += db
        i, f, g, o = gates.split(H, dim=2)
        dh = torch.zeros(B, H, dtype=X.dtype) if dh0 is None else dh0
        dc = torch.zeros(B, H, dtype=X.dtype) if dc0 is None else dc0
        d_out = torch.empty(T, B, H, dtype=X.dtype)
        for t in range(T):
            da_i, da_f, da_g, da_o = (dP[t] + dh @ W_hh.t()).split(H, dim=1)
            di, df = i[t] * (1 - i[t]) * da_i, f[t] * (1 - f[t]) * da_f
            dg, do = (1 - g[t] ** 2) * da_g, o[t] * (1 - o[t]) * da_o
            dc = df * cs[t] + f[t] * dc + di * g[t] + i[t] * dg          # eq-lstm-cell
            dh = do * tcs[t] + o[t] * (1 - tcs[t] ** 2) * dc             # eq-lstm-hidden
            d_out[t] = dh
        return d_out.transpose(0, 1).contiguous(), dh, dc, None, None, None, None


def lstm_layer_fused(X, W_ih, W_hh, b_ih, b_hh, h0=None, c0=None):
    """The LSTM layer of :func:`seqlib.lstm.lstm_layer`, fused and fast.

    Implements eq-lstm-input, eq-lstm-forget, eq-lstm-candidate,
    eq-lstm-output, eq-lstm-cell and eq-lstm-hidden with the optimisations
    listed in this module's docstring, and the backward pass by hand. Equals
    ``torch.nn.LSTM(batch_first=True)`` with the same four parameters, values
    and gradients (to float rounding).

    Args:
        X: inputs, shape ``(B, T, D)``.
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)`` (blocks
            i, f, g, o, as torch stacks them).
        h0, c0: initial states, shape ``(B, H)``; zeros when ``None``.

    Returns:
        ``(out, (h_T, c_T))``: ``out`` of shape ``(B, T, H)`` (every
        ``h_t``), final states of shape ``(B, H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees (checked once,
            here, not at every step).
    """
    B, H = _check_call(X, (W_ih, W_hh, b_ih, b_hh), (("h0", h0), ("c0", c0)),
                       4, "gates i, f, g, o")
    h0 = torch.zeros(B, H, dtype=X.dtype) if h0 is None else h0
    c0 = torch.zeros(B, H, dtype=X.dtype) if c0 is None else c0
    out, h_T, c_T = _LSTMFunction.apply(X, W_ih, W_hh, b_ih, b_hh, h0, c0)[:3]
    return out, (h_T, c_T)


# --- GRU ---------------------------------------------------------------------------

class _GRUFunction(torch.autograd.Function):
    """One GRU layer (torch's conventions) over a whole sequence; see :func:`gru_layer_fused`."""

    @staticmethod
    def forward(X, W_ih, W_hh, b_ih, b_hh, h0):
        B, T, _ = X.shape
        H = W_hh.shape[1]
        # The n block's rows doubled, for tanh through sigmoid (optimisation 4).
        scale = _block_scale(3, 2, H, X.dtype)
        # Hoisted input projection (2). The reset gate multiplies only the recurrent
        # part of the candidate (eq-gru-candidate), so the input part of n is kept
        # apart (XW_n), and the per-step product's n block adds b_hn alone.
        bias = b_ih * scale[:, 0]
        bias[:2 * H] += b_hh[:2 * H]                                # r and z: both biases
        A = torch.addmm(bias, _time_major(X), (W_ih * scale).t()).view(T, B, 3 * H)
        XW_n = A[:, :, 2 * H:].clone()                              # 2 (W_xn x_t + b_xn)
        A[:, :, 2 * H:] = 2 * b_hh[2 * H:]                          # 2 b_hn
        # Each step adds W_hh h_{t-1} to its block of A in place, giving r, z (after
        # the sigmoid) and 2 (W_hn h_{t-1} + b_hn) (5).
        W_hhT = (W_hh * scale).t()                                  # (H, 3H)
        N = torch.empty(T, B, H, dtype=X.dtype)                     # n per step (5)
        hs = torch.empty(T + 1, B, H, dtype=X.dtype)                # h_0 ... h_T
        hs[0] = h0
        minus_one = torch.tensor(-1.0, dtype=X.dtype)               # see _LSTMFunction.forward
        with torch.inference_mode():                                # (6)
            h = hs.unbind(0)                                        # h[t] is h_{t-1} of step t
            steps = _per_step(XW_n, A, A[:, :, :2 * H], *A.split(H, dim=2), N)
            for t, (xw_n, a, rz, r, z, gh_n, n) in enumerate(steps):
                a.addmm_(h[t], W_hhT)                               # all three blocks (3)
                rz.sigmoid_()                                       # eq-gru-reset, eq-gru-update
                torch.addcmul(xw_n, r, gh_n, out=n).sigmoid_()      # eq-gru-candidate:
                torch.add(minus_one, n, alpha=2, out=n)             # 2 sigmoid(2 a_n) - 1
                torch.lerp(n, h[t], z, out=h[t + 1])                # eq-gru-state: n + z (h - n)
        out = hs[1:].transpose(0, 1).contiguous()                   # (B, T, H)
        return out, hs[T].clone(), A, N, hs

    @staticmethod
    def setup_context(ctx, inputs, output):
        X, W_ih, W_hh = inputs[:3]
        A, N, hs = output[2:]
        ctx.mark_non_differentiable(A, N, hs)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(X, W_ih, W_hh, A, N, hs)
        ctx.save_for_forward(X, W_ih, W_hh, A, N, hs)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hT, *_):
        X, W_ih, W_hh, A, N, hs = ctx.saved_tensors
        T, B, H3 = A.shape
        H = H3 // 3
        r, z, gh_n2 = A.split(H, dim=2)
        gh_n = gh_n2 / 2                                            # W_hn h_{t-1} + b_hn
        # Local derivatives, all steps at once (4): with h_t = n + z (h_{t-1} - n),
        # dL/d[a_r, a_z, W_hn h_{t-1} + b_hn] is K_t times dL/dh_t.
        dh_dan = (1 - z) * (1 - N * N)                              # dh_t/da_n
        K = torch.empty(T, B, 3, H, dtype=X.dtype)
        torch.mul(dh_dan * gh_n, r * (1 - r), out=K[:, :, 0])       # dh_t/da_r
        torch.mul(hs[:-1] - N, z * (1 - z), out=K[:, :, 1])         # dh_t/da_z
        torch.mul(dh_dan, r, out=K[:, :, 2])                        # dh_t/d(W_hn h + b_hn)
        dhs = _outside_gradient(d_out, d_hT, T, B, H, X.dtype)      # dL/dh_t, see the LSTM
        dA = torch.empty(T, B, 3, H, dtype=X.dtype)
        dA_flat = dA.view(T, B, 3 * H)
        with torch.inference_mode():                                # (6)
            steps = _per_step(dhs, dhs[:, :, None], dA, dA_flat, K, z)
            dh_later = dA_later = z_later = None                    # of step t + 1
            for dh, dh_each, dA_t, dA_flat_t, K_t, z_t in reversed(list(steps)):
                if dA_later is not None:                            # eq-bptt-dh:
                    dh.addmm_(dA_later, W_hh)                       # through the gates
                    dh.addcmul_(z_later, dh_later)                  # through z * h_t
                torch.mul(K_t, dh_each, out=dA_t)
                dh_later, dA_later, z_later = dh, dA_flat_t, z_t
        # Gradients that sum over all steps, one product each, only where needed. The
        # input pre-activations' gradient: r and z as above, n's input part its own.
        need = ctx.needs_input_grad
        dXW = dA.clone()
        torch.mul(dhs, dh_dan, out=dXW[:, :, 2])
        dA2, dXW2 = dA.view(T * B, H3), dXW.view(T * B, H3)
        dX = (dXW2 @ W_ih).view(T, B, -1).transpose(0, 1).contiguous() if need[0] else None
        dW_ih = dXW2.t() @ _time_major(X) if need[1] else None
        dW_hh = dA2.t() @ hs[:-1].reshape(T * B, H) if need[2] else None
        db_ih = dXW2.sum(0) if need[3] else None
        db_hh = dA2.sum(0) if need[4] else None
        dh0 = torch.addmm(dhs[0] * z[0], dA_flat[0], W_hh) if need[5] else None
        return dX, dW_ih, dW_hh, db_ih, db_hh, dh0

    @staticmethod
    def jvp(ctx, dX, dW_ih, dW_hh, db_ih, db_hh, dh0):
        # Forward mode, written for clarity: see _LSTMFunction.jvp.
        X, W_ih, W_hh, A, N, hs = ctx.saved_tensors
        T, B, H3 = A.shape
        H = H3 // 3
        dPx = torch.zeros(T, B, H3, dtype=X.dtype)                  # change of W_ih x_t + b_ih
        dPh = torch.zeros(T, B, H3, dtype=X.dtype)                  # of W_hh h + b_hh, h fixed
        if dX is not None:
            dPx += (_time_major(dX) @ W_ih.t()).view(T, B, H3)
        if dW_ih is not None:
            dPx += (_time_major(X) @ dW_ih.t()).view(T, B, H3)
        if db_ih is not None:
            dPx += db_ih
        if dW_hh is not None:
            dPh += hs[:-1] @ dW_hh.t()
        if db_hh is not None:
            dPh += db_hh
        r, z, gh_n2 = A.split(H, dim=2)
        gh_n = gh_n2 / 2
        dh = torch.zeros(B, H, dtype=X.dtype) if dh0 is None else dh0
        d_out = torch.empty(T, B, H, dtype=X.dtype)
        for t in range(T):
            dgh = dPh[t] + dh @ W_hh.t()
            dr = r[t] * (1 - r[t]) * (dPx[t, :, :H] + dgh[:, :H])              # eq-gru-reset
            dz = z[t] * (1 - z[t]) * (dPx[t, :, H:2 * H] + dgh[:, H:2 * H])    # eq-gru-update
            dn = (1 - N[t] ** 2) * (dPx[t, :, 2 * H:] + dr * gh_n[t]
                                    + r[t] * dgh[:, 2 * H:])                   # eq-gru-candidate
            dh = dn + dz * (hs[t] - N[t]) + z[t] * (dh - dn)                   # eq-gru-state
            d_out[t] = dh
        return d_out.transpose(0, 1).contiguous(), dh, None, None, None


def gru_layer_fused(X, W_ih, W_hh, b_ih, b_hh, h0=None):
    """The GRU layer of :func:`seqlib.gru.gru_layer`, torch's conventions, fused and fast.

    Implements eq-gru-reset, eq-gru-update, eq-gru-candidate (reset after the
    recurrent product) and eq-gru-state (``h_t = (1 - z) * n + z * h_{t-1}``)
    with the optimisations listed in this module's docstring, and the
    backward pass by hand. Equals ``torch.nn.GRU(batch_first=True)`` with the
    same four parameters, values and gradients (to float rounding). The other
    conventions (``reset="before"``, ``update="replace"``) stay with
    :func:`seqlib.gru.gru_layer`.

    Args:
        X: inputs, shape ``(B, T, D)``.
        W_ih: ``(3H, D)``; W_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)`` (blocks
            r, z, n, as torch stacks them).
        h0: initial state, shape ``(B, H)``; zeros when ``None``.

    Returns:
        ``(out, h_T)``: ``out`` of shape ``(B, T, H)`` (every ``h_t``),
        ``h_T`` of shape ``(B, H)``.

    Raises:
        ValueError: if a shape, dtype kind or dtype disagrees (checked once,
            here, not at every step).
    """
    B, H = _check_call(X, (W_ih, W_hh, b_ih, b_hh), (("h0", h0),), 3, "parts r, z, n")
    h0 = torch.zeros(B, H, dtype=X.dtype) if h0 is None else h0
    out, h_T = _GRUFunction.apply(X, W_ih, W_hh, b_ih, b_hh, h0)[:2]
    return out, h_T
