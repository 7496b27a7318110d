"""Word embeddings (chapter 1): one-hot, row lookup, its backward, skip-gram.

Three routes turn token ids into vectors and give the same numbers:
``one_hot(ids, V) @ E`` (eq-embed-onehot), ``E[ids]`` (eq-embed-lookup) and
``torch.nn.Embedding``. The lookup's gradient is a scatter-add into the rows
that were looked up (eq-embed-grad). Skip-gram with negative sampling
(eq-embed-pairs, eq-embed-noise, eq-embed-sgns) learns ``E`` from a corpus;
cosine similarity (eq-embed-cosine), nearest neighbours and a 2-D PCA
(eq-embed-pca) inspect what it learned.

Token ids are integer tensors of any shape, written ``(...)`` below (e.g.
``(B, T)`` for a batch of sequences); NumPy arrays are accepted too and
turned into tensors. ``E`` is ``(V, D)``: one row per token, as
``torch.nn.Embedding.weight`` stores it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_ids, check_positive, check_seed, check_tensor

__all__ = [
    "one_hot", "embed_onehot", "embed_lookup", "lookup_backward",
    "cosine_similarity", "nearest_neighbours", "same_group_fraction", "pca_2d",
    "skipgram_pairs", "noise_distribution", "SkipGram", "train_skipgram",
]


def _ids(ids, name: str, V: int) -> torch.Tensor:
    """Validate token ids against a vocabulary of size V; return a LongTensor."""
    if isinstance(ids, np.ndarray):
        check_ids(ids, name, V)
        return torch.from_numpy(ids).long()
    check_ids(ids, name, V)
    return ids.long()


def _float_matrix(x, name: str, spec: str, sizes=None):
    """Validate a 2-D float tensor (NumPy is converted); return it and its sizes."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    found = check_tensor(x, name, spec, dtype="float", sizes=sizes)
    return x, found


# ---------------------------------------------------------------------------
# Three routes from ids to vectors
# ---------------------------------------------------------------------------

def one_hot(ids, V: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot vectors ``e_i`` for token ids.

    Args:
        ids: integer token ids, shape ``(...)``, values in ``[0, V)``.
        V: vocabulary size (> 0).
        dtype: floating dtype of the result.

    Returns:
        Tensor of shape ``(..., V)``: 1 at position ``ids[...]``, 0 elsewhere.

    Raises:
        ValueError: if ``V`` is not a positive int, or ``ids`` is empty,
            not integer, or out of range.
    """
    check_positive(V, "V", integer=True)
    ids = _ids(ids, "ids", V)
    return (ids.unsqueeze(-1) == torch.arange(V)).to(dtype)


def embed_onehot(ids, E) -> torch.Tensor:
    """Embed ids by multiplying one-hot vectors with ``E`` (eq-embed-onehot).

    Args:
        ids: integer token ids, shape ``(...)``, values in ``[0, V)``.
        E: embedding matrix, shape ``(V, D)``, floating point.

    Returns:
        Tensor of shape ``(..., D)``; costs ``2 N V D`` FLOPs for ``N`` ids.

    Raises:
        ValueError: if ``E`` is not a non-empty 2-D float matrix, or ``ids``
            is empty, not integer, or outside ``[0, V)``.
    """
    E, found = _float_matrix(E, "E", "(V, D)")
    return one_hot(ids, found["V"], dtype=E.dtype) @ E


def embed_lookup(ids, E) -> torch.Tensor:
    """Embed ids by reading rows of ``E`` (eq-embed-lookup).

    Equal to :func:`embed_onehot` and to ``torch.nn.Embedding`` with weight
    ``E``, but copies ``N D`` numbers instead of multiplying.

    Args:
        ids: integer token ids, shape ``(...)``, values in ``[0, V)``.
        E: embedding matrix, shape ``(V, D)``, floating point.

    Returns:
        Tensor of shape ``(..., D)`` whose entry ``[..., :]`` is ``E[ids[...]]``.

    Raises:
        ValueError: as :func:`embed_onehot`.
    """
    E, found = _float_matrix(E, "E", "(V, D)")
    ids = _ids(ids, "ids", found["V"])
    return E[ids]


def lookup_backward(ids, grad_out, V: int) -> torch.Tensor:
    """Gradient of a loss with respect to ``E`` through a lookup (eq-embed-grad).

    Row ``v`` of the result is the sum of ``grad_out`` over every position
    whose id is ``v`` (a scatter-add); rows of tokens that were not looked
    up are zero. Repeated ids accumulate.

    Args:
        ids: integer token ids, shape ``(...)``, values in ``[0, V)``.
        grad_out: gradient of the loss with respect to the lookup's output,
            shape ``(..., D)`` (the shape of ``ids`` plus one axis).
        V: vocabulary size (> 0).

    Returns:
        Tensor of shape ``(V, D)``, the dtype of ``grad_out``.

    Raises:
        ValueError: if ``V`` is not a positive int, ``ids`` is invalid, or
            ``grad_out`` is not a float array of shape ``ids.shape + (D,)``.
    """
    check_positive(V, "V", integer=True)
    ids = _ids(ids, "ids", V)
    if isinstance(grad_out, np.ndarray):
        grad_out = torch.from_numpy(grad_out)
    spec = "(" + ", ".join([f"n{k}" for k in range(ids.ndim)] + ["D"]) + ")"
    found = check_tensor(grad_out, "grad_out", spec, dtype="float")
    if tuple(grad_out.shape[:-1]) != tuple(ids.shape):
        raise ValueError(f"grad_out must have shape ids.shape + (D,) = {tuple(ids.shape)} + (D,); "
                         f"got shape {tuple(grad_out.shape)}")
    D = found["D"]
    grad_E = torch.zeros(V, D, dtype=grad_out.dtype)
    return grad_E.index_add_(0, ids.reshape(-1), grad_out.reshape(-1, D))


# ---------------------------------------------------------------------------
# Inspecting an embedding
# ---------------------------------------------------------------------------

def cosine_similarity(A, B=None) -> torch.Tensor:
    """Matrix of cosine similarities between rows (eq-embed-cosine).

    Args:
        A: float matrix of shape ``(n, D)``.
        B: float matrix of shape ``(m, D)``; ``None`` means ``A``.

    Returns:
        Tensor of shape ``(n, m)``; entry ``[i, j]`` is
        ``A[i] . B[j] / (|A[i]| |B[j]|)``, in ``[-1, 1]``.

    Raises:
        ValueError: if an argument is not a non-empty 2-D float matrix, the
            ``D`` sizes disagree, or a row is zero (its angle is undefined).
    """
    A, found = _float_matrix(A, "A", "(n, D)")
    B, _ = (A, found) if B is None else _float_matrix(B, "B", "(m, D)", sizes={"D": found["D"]})
    if B.dtype != A.dtype:
        raise ValueError(f"A and B must have the same dtype; got {A.dtype} and {B.dtype}")
    na, nb = A.norm(dim=1), B.norm(dim=1)
    for name, norms in (("A", na), ("B", nb)):
        if bool((norms == 0).any()):
            raise ValueError(f"every row of {name} must be non-zero: the cosine of a zero "
                             f"vector is undefined; row {int(torch.nonzero(norms == 0)[0])} is zero")
    return (A @ B.T) / (na[:, None] * nb[None, :])


def nearest_neighbours(E, query, k: int = 5, exclude_self: bool = True):
    """The ``k`` rows of ``E`` most cosine-similar to each query row.

    Ties are broken by the smaller id, so the answer is deterministic.

    Args:
        E: embedding matrix, shape ``(V, D)``.
        query: integer ids of the query tokens, shape ``(q,)``.
        k: neighbours per query, ``1 <= k <= V`` (``V - 1`` with
            ``exclude_self``).
        exclude_self: leave each query out of its own neighbours.

    Returns:
        ``(ids, sims)``: a LongTensor and a float tensor, both ``(q, k)``,
        best first.

    Raises:
        ValueError: on a bad ``E``, ``query`` that is not 1-D ids in
            ``[0, V)``, or ``k`` out of range.
    """
    E, found = _float_matrix(E, "E", "(V, D)")
    V = found["V"]
    query = _ids(query, "query", V)
    if query.ndim != 1:
        raise ValueError(f"query must have shape (q,) (rank 1); got shape {tuple(query.shape)}")
    check_positive(k, "k", integer=True)
    k_max = V - 1 if exclude_self else V
    if k > k_max:
        raise ValueError(f"k must be <= {k_max} for V = {V}"
                         f"{' when excluding the query itself' if exclude_self else ''}; got {k}")
    sims = cosine_similarity(E[query], E)
    if exclude_self:
        sims[torch.arange(len(query)), query] = -torch.inf
    order = torch.sort(sims, dim=1, descending=True, stable=True).indices[:, :k]
    return order, torch.gather(sims, 1, order)


def same_group_fraction(E, groups: dict, k: int = 5) -> dict:
    """For each group of tokens, the fraction of its members' ``k`` nearest
    neighbours (by cosine similarity, among all ``V`` rows, self excluded)
    that belong to the same group.

    With random vectors the expected fraction is ``(n_g - 1) / (V - 1)`` for
    a group of ``n_g`` tokens, so the number measures how much better than
    chance an embedding groups related tokens.

    Args:
        E: embedding matrix, shape ``(V, D)``.
        groups: a non-empty dict from a group name to a 1-D integer array of
            the ids in that group (each with at least one id).
        k: neighbours per token, ``1 <= k <= V - 1``.

    Returns:
        A dict from each group name to a float in ``[0, 1]``.

    Raises:
        ValueError: on an empty ``groups``, an empty or out-of-range id
            array, or a bad ``E`` or ``k`` (as :func:`nearest_neighbours`).
    """
    if not isinstance(groups, dict) or not groups:
        raise ValueError("groups must be a non-empty dict from a name to an array of ids")
    out = {}
    for name, members in groups.items():
        members = torch.as_tensor(members) if not isinstance(members, np.ndarray) else members
        nbrs, _ = nearest_neighbours(E, members, k)
        inside = torch.isin(nbrs, torch.as_tensor(members).long())
        out[name] = float(inside.double().mean())
    return out


def pca_2d(X):
    """Project rows onto their first two principal components (eq-embed-pca).

    Centre the rows, take the SVD ``X_c = U S W^T`` and return ``X_c W[:, :2]``
    (Pearson 1901). Each component's sign is fixed so that its
    largest-magnitude loading is positive, so the picture does not flip
    between machines.

    Args:
        X: float matrix of shape ``(n, D)`` with ``n >= 2`` and ``D >= 2``.

    Returns:
        ``(Z, ratio)``: ``Z`` of shape ``(n, 2)``, and the fraction of the
        total variance each of the two components explains, shape ``(2,)``.

    Raises:
        ValueError: if ``X`` is not a float matrix with at least 2 rows and
            2 columns, or all its rows are equal (nothing to project).
    """
    X, found = _float_matrix(X, "X", "(n, D)")
    if found["n"] < 2 or found["D"] < 2:
        raise ValueError(f"X must have at least 2 rows and 2 columns; got shape {tuple(X.shape)}")
    Xc = X - X.mean(dim=0, keepdim=True)
    _, S, Wt = torch.linalg.svd(Xc, full_matrices=False)
    total = (S ** 2).sum()
    if total == 0:
        raise ValueError("X must have rows that differ; all rows are equal")
    W = Wt[:2].T.clone()                                     # (D, 2)
    signs = torch.sign(W[W.abs().argmax(dim=0), torch.arange(2)])
    W *= torch.where(signs == 0, torch.ones_like(signs), signs)
    return Xc @ W, (S[:2] ** 2) / total


# ---------------------------------------------------------------------------
# Skip-gram with negative sampling (Mikolov et al. 2013)
# ---------------------------------------------------------------------------

def skipgram_pairs(sentences, window: int):
    """All (centre, context) pairs within ``window`` words (eq-embed-pairs).

    Pairs never cross a sentence boundary.

    Args:
        sentences: a non-empty list of 1-D integer arrays or tensors of
            token ids (sentences may differ in length).
        window: the context half-width ``m`` (>= 1): words at offsets
            ``-m, ..., -1, 1, ..., m`` are contexts.

    Returns:
        ``(centres, contexts)``: two LongTensors of shape ``(P,)``, ordered
        by offset, then sentence, then position.

    Raises:
        ValueError: if ``window`` is not a positive int, ``sentences`` is
            empty, or a sentence is not a non-empty 1-D integer array.
    """
    check_positive(window, "window", integer=True)
    if not isinstance(sentences, (list, tuple)) or not sentences:
        raise ValueError("sentences must be a non-empty list of 1-D integer id arrays")
    flat, sent = [], []
    for s_idx, s in enumerate(sentences):
        s = s.numpy() if isinstance(s, torch.Tensor) else s
        if not isinstance(s, np.ndarray) or s.ndim != 1 or s.size == 0 or not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"sentences[{s_idx}] must be a non-empty 1-D integer array; "
                             f"got {getattr(s, 'shape', type(s).__name__)}")
        flat.append(s.astype(np.int64))
        sent.append(np.full(s.size, s_idx))
    flat, sent = np.concatenate(flat), np.concatenate(sent)
    n = flat.size
    centres, contexts = [], []
    for j in [o for o in range(-window, window + 1) if o != 0]:
        pos = np.arange(max(0, -j), min(n, n - j))           # positions t with t + j in range
        ok = sent[pos] == sent[pos + j]                      # same sentence only
        centres.append(flat[pos[ok]])
        contexts.append(flat[pos[ok] + j])
    return torch.from_numpy(np.concatenate(centres)), torch.from_numpy(np.concatenate(contexts))


def noise_distribution(counts, power: float = 0.75) -> torch.Tensor:
    """The negative-sampling distribution ``P_n(w) ∝ count(w)^power`` (eq-embed-noise).

    Args:
        counts: token counts, shape ``(V,)``, non-negative, not all zero
            (e.g. ``seqlib.data.Vocab.counts``).
        power: the exponent (>= 0); 0.75 is word2vec's choice, 1 is the
            unigram distribution, 0 the uniform one over seen tokens.

    Returns:
        float64 tensor of shape ``(V,)`` summing to 1; zero counts get 0.

    Raises:
        ValueError: if ``counts`` is not a non-empty 1-D array of
            non-negative numbers with a positive sum, or ``power`` < 0.
    """
    check_positive(power, "power", allow_zero=True)
    counts = torch.as_tensor(np.asarray(counts) if not isinstance(counts, torch.Tensor) else counts)
    check_tensor(counts, "counts", "(V,)")
    if counts.is_complex() or counts.dtype == torch.bool:
        raise ValueError(f"counts must be real numbers; got dtype {counts.dtype}")
    counts = counts.to(torch.float64)
    if not bool(torch.isfinite(counts).all()):
        raise ValueError("counts must be finite (no NaN or inf)")
    if bool((counts < 0).any()) or counts.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive sum")
    weights = torch.where(counts > 0, counts ** power, torch.zeros_like(counts))
    return weights / weights.sum()


class SkipGram(nn.Module):
    """Skip-gram with negative sampling: two embedding tables and a loss.

    ``centre.weight`` is ``E`` (the vectors ``v`` kept as the embedding) and
    ``context.weight`` is ``U`` (the vectors ``u`` of words seen as
    contexts), both ``(V, D)``. As in word2vec, ``E`` starts uniform in
    ``[-0.5/D, 0.5/D]`` and ``U`` at zero.

    Args:
        V: vocabulary size (> 0).
        D: embedding size (> 0).
        generator: a ``torch.Generator`` for the initial ``E`` (for
            repeatable runs); ``None`` uses torch's global one.
        dtype: parameter dtype.
        sparse: give the tables sparse gradients (see ``torch.nn.Embedding``).

    Raises:
        ValueError: if ``V`` or ``D`` is not a positive int.
    """

    def __init__(self, V: int, D: int, generator=None, dtype=torch.float64, sparse: bool = False):
        super().__init__()
        check_positive(V, "V", integer=True)
        check_positive(D, "D", integer=True)
        self.V, self.D = V, D
        self.centre = nn.Embedding(V, D, dtype=dtype, sparse=sparse)
        self.context = nn.Embedding(V, D, dtype=dtype, sparse=sparse)
        with torch.no_grad():
            self.centre.weight.uniform_(-0.5 / D, 0.5 / D, generator=generator)
            self.context.weight.zero_()

    def forward(self, centres, contexts, negatives) -> torch.Tensor:
        """Mean SGNS loss over a batch of pairs (eq-embed-sgns).

        Args:
            centres: centre ids ``c``, shape ``(B,)``.
            contexts: true context ids ``o``, shape ``(B,)``.
            negatives: noise ids ``n_1..n_K`` per pair, shape ``(B, K)``.

        Returns:
            A scalar: the mean over the batch of
            ``-log σ(u_o·v_c) - Σ_k log σ(-u_{n_k}·v_c)``.

        Raises:
            ValueError: if the shapes disagree or an id is out of range.
        """
        centres, contexts, negatives = (_ids(x, n, self.V) for x, n in
                                        ((centres, "centres"), (contexts, "contexts"),
                                         (negatives, "negatives")))
        B = check_tensor(centres, "centres", "(B,)")["B"]
        check_tensor(contexts, "contexts", "(B,)", sizes={"B": B})
        check_tensor(negatives, "negatives", "(B, K)", sizes={"B": B})
        v = self.centre(centres)                                   # (B, D)
        u_pos = self.context(contexts)                             # (B, D)
        u_neg = self.context(negatives)                            # (B, K, D)
        pos = F.logsigmoid((u_pos * v).sum(-1))                    # (B,)
        neg = F.logsigmoid(-(u_neg @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)  # (B,)
        return -(pos + neg).mean()


def train_skipgram(sentences, counts, D: int = 16, window: int = 2, n_negatives: int = 5,
                   epochs: int = 3, batch_size: int = 1024, lr: float = 0.03, seed: int = 0,
                   dtype=torch.float64):
    """Train :class:`SkipGram` with Adam; the same arguments give the same model.

    All randomness (initial ``E``, pair order, negative samples) comes from
    one ``torch.Generator`` seeded with ``seed``, so the global seeds do not
    matter. Negatives are drawn from :func:`noise_distribution` of
    ``counts`` (eq-embed-noise); pairs come from :func:`skipgram_pairs`.

    Args:
        sentences: list of 1-D integer id arrays, ids in ``[0, V)``.
        counts: token counts, shape ``(V,)``; ``V = len(counts)``.
        D: embedding size (> 0).
        window: context half-width (>= 1).
        n_negatives: negatives ``K`` per true pair (>= 1).
        epochs: passes over all pairs (>= 1).
        batch_size: pairs per step (>= 1).
        lr: Adam learning rate (> 0).
        seed: seed of the run's generator (>= 0).
        dtype: parameter dtype (float64 keeps printed digits identical on
            every CPU).

    Returns:
        ``(model, losses)``: the trained :class:`SkipGram` and a float64
        NumPy array with the loss of every step.

    Raises:
        ValueError: on a bad hyper-parameter, bad sentences, or an id
            outside ``[0, V)``.
    """
    for value, name in ((D, "D"), (n_negatives, "n_negatives"), (epochs, "epochs"),
                        (batch_size, "batch_size")):
        check_positive(value, name, integer=True)
    check_positive(lr, "lr")
    check_seed(seed)
    noise = noise_distribution(counts)
    V = noise.numel()
    centres, contexts = skipgram_pairs(sentences, window)
    check_ids(centres, "sentences", V)
    g = torch.Generator().manual_seed(seed)
    model = SkipGram(V, D, generator=g, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    P, losses = centres.numel(), []
    for _ in range(epochs):
        order = torch.randperm(P, generator=g)
        for start in range(0, P, batch_size):
            idx = order[start:start + batch_size]
            neg = torch.multinomial(noise, idx.numel() * n_negatives, replacement=True,
                                    generator=g).view(-1, n_negatives)
            loss = model(centres[idx], contexts[idx], neg)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return model, np.array(losses)
