"""Count-based character n-gram models: interpolated Kneser-Ney (chapter 3).

A count model predicts the next id from the previous ``n - 1`` ids by looking
up how often each continuation followed that context in the training text.
Raw counts give zero probability to anything unseen, so they are smoothed.
Interpolated Kneser-Ney (Kneser and Ney 1995; in the form of Chen and Goodman
1999) is the smoothing a specialist would reach for. With ``u`` a context of
``k - 1`` ids, ``u'`` the same context without its oldest id, and ``C_k`` the
counts used at order ``k``::

    P_k(w | u) = max(C_k(u w) - d_k(C_k(u w)), 0) / C_k(u .)
                 + lambda_k(u) * P_{k-1}(w | u')                    (eq-kn-interp)
    lambda_k(u) = sum_w d_k(C_k(u w)) / C_k(u .)
    P_0(w)      = 1 / V

``C_k(u .)`` is the total of ``C_k(u w)`` over ``w``; a context never seen at
order ``k`` falls through to ``P_{k-1}`` unchanged. The highest order uses
raw counts; every lower order ``k < n`` uses *continuation counts*: ``C_k(g)``
is the number of distinct ids seen just before the k-gram ``g``. A character
that follows many different contexts is a likely guess in a new context; one
that appears often but only after one context (the ``u`` of ``qu``) is not.

The discount ``d_k(c)`` depends on the count ``c`` (zero when ``c = 0``):

* ``"modified"`` (Chen and Goodman): three values ``d1, d2, d3+`` for counts
  1, 2 and 3 or more, estimated from the numbers ``n_r`` of k-grams with count
  exactly ``r``: ``Y = n1 / (n1 + 2 n2)``, ``d1 = 1 - 2 Y n2 / n1``,
  ``d2 = 2 - 3 Y n3 / n2``, ``d3+ = 3 - 4 Y n4 / n3``;
* ``"plain"``: one value ``d = Y`` for every positive count;
* a number in ``(0, 1]``: that one value at every order (for hand checks).

Because ``sum_w (C - d) / C(u .) = 1 - lambda_k(u)``, every ``P_k(. | u)`` sums
to 1 over the ``V`` ids exactly (up to round-off), seen context or not.
"""
from __future__ import annotations

import math
import numbers
from collections import Counter, defaultdict

import numpy as np

from ._checks import check_ids, check_positive

__all__ = ["KneserNey"]


def _count_discounts(counts: dict, kind) -> tuple[float, float, float]:
    """Discounts (d1, d2, d3+) for one order from its count-of-counts."""
    if not isinstance(kind, str):
        return (float(kind),) * 3
    n = Counter(min(c, 5) for c in counts.values())
    n1, n2, n3, n4 = (n[r] for r in (1, 2, 3, 4))
    # Too few singletons or doubletons to estimate from: fall back to Y = 1/2.
    Y = n1 / (n1 + 2 * n2) if n1 > 0 and n2 > 0 else 0.5
    if kind == "plain":
        return (Y,) * 3
    d1 = 1 - 2 * Y * n2 / n1 if n1 > 0 else Y
    d2 = 2 - 3 * Y * n3 / n2 if n2 > 0 else 2 * Y
    d3 = 3 - 4 * Y * n4 / n3 if n3 > 0 else 3 * Y
    # d_r must stay in [0, r] so that no smoothed count turns negative.
    return (min(max(d1, 0.0), 1.0), min(max(d2, 0.0), 2.0), min(max(d3, 0.0), 3.0))


class KneserNey:
    """An interpolated Kneser-Ney n-gram model over ids ``0 .. V-1`` (eq-kn-interp).

    Args:
        n: order (>= 1): the model conditions on the previous ``n - 1`` ids.
        V: vocabulary size (>= 1); ids never seen in training keep the
            probability that the uniform ``P_0 = 1/V`` passes down to them.
        discount: ``"modified"`` (three discounts per order, the default),
            ``"plain"`` (one per order) or a number in ``(0, 1]`` used at
            every order.

    Call ``fit(ids)`` before ``prob`` or ``nll``.

    Attributes (after ``fit``):
        discounts: dict from order ``k`` to its ``(d1, d2, d3+)``.
        num_ngrams: the number of distinct k-grams stored, ``k = 1 .. n``
            (one count each); the model's size.

    Raises:
        ValueError: on a bad ``n``, ``V`` or ``discount``.
    """

    def __init__(self, n: int, V: int, discount="modified"):
        check_positive(n, "n", integer=True)
        check_positive(V, "V", integer=True)
        if isinstance(discount, str):
            if discount not in ("modified", "plain"):
                raise ValueError("discount must be 'modified', 'plain' or a number in (0, 1]; "
                                 f"got {discount!r}")
        elif (isinstance(discount, bool) or not isinstance(discount, numbers.Real)
              or not 0 < discount <= 1):  # also rejects NaN
            raise ValueError(f"discount must be 'modified', 'plain' or a number in (0, 1]; "
                             f"got {discount!r}")
        self.n, self.V, self.discount = n, V, discount
        self.counts: list[dict] | None = None

    def fit(self, ids) -> "KneserNey":
        """Count the k-grams of a training sequence, ``k = 1 .. n``.

        Args:
            ids: 1-D integer NumPy array of length ``N >= n``, values in ``[0, V)``.

        Returns:
            ``self``.

        Raises:
            ValueError: if ``ids`` is not 1-D integer, is shorter than ``n``,
                or holds an id outside ``[0, V)``.
        """
        seq = self._check_seq(ids, "ids")
        if len(seq) < self.n:
            raise ValueError(f"ids must hold at least n = {self.n} ids; got {len(seq)}")
        n = self.n
        raw = Counter(tuple(seq[i:i + n]) for i in range(len(seq) - n + 1))
        # counts[k]: k-gram -> count used at order k (raw at the top, continuation below)
        counts: list[dict] = [{}] * (n + 1)
        counts[n] = dict(raw)
        for k in range(n - 1, 0, -1):
            # the distinct (k+1)-grams are the distinct left extensions of each k-gram
            grams = {tuple(seq[i:i + k + 1]) for i in range(len(seq) - k)}
            counts[k] = dict(Counter(g[1:] for g in grams))
        self.counts = counts
        self.discounts = {k: _count_discounts(counts[k], self.discount) for k in range(1, n + 1)}
        # per context: its total count and its summed discounts (lambda's numerator)
        self._context = [{} for _ in range(n + 1)]
        for k in range(1, n + 1):
            d = self.discounts[k]
            total, discounted = defaultdict(int), defaultdict(float)
            for g, c in counts[k].items():
                total[g[:-1]] += c
                discounted[g[:-1]] += d[min(c, 3) - 1]
            self._context[k] = {u: (total[u], discounted[u]) for u in total}
        self.num_ngrams = sum(len(counts[k]) for k in range(1, n + 1))
        return self

    def _check_seq(self, ids, name) -> list[int]:
        if not isinstance(ids, np.ndarray) or ids.ndim != 1:
            raise ValueError(f"{name} must be a 1-D integer NumPy array; got "
                             f"{type(ids).__name__} of shape {getattr(ids, 'shape', None)}")
        check_ids(ids, name, self.V)
        return ids.tolist()

    def _fitted(self):
        if self.counts is None:
            raise ValueError("the model must be fitted first: call fit(ids)")

    def _p(self, w: int, u: tuple) -> float:
        """P_k(w | u) with k = len(u) + 1 (eq-kn-interp), lowest order first."""
        p = 1.0 / self.V                                         # P_0
        for k in range(1, len(u) + 2):
            ctx = u[len(u) - k + 1:]
            stats = self._context[k].get(ctx)
            if stats is None:                                    # unseen context: fall through
                continue
            total, discounted = stats
            c = self.counts[k].get(ctx + (w,), 0)
            d = self.discounts[k][min(c, 3) - 1] if c else 0.0
            p = (c - d) / total + discounted / total * p
        return p

    def prob(self, context) -> np.ndarray:
        """The distribution of the next id after ``context``.

        Args:
            context: a sequence of ids in ``[0, V)`` (list, tuple or 1-D
                array, possibly empty); only its last ``n - 1`` ids are used.

        Returns:
            A float64 array of shape ``(V,)`` that sums to 1.

        Raises:
            ValueError: if the model is not fitted or ``context`` holds an
                id outside ``[0, V)`` or a non-integer.
        """
        self._fitted()
        if isinstance(context, (str, bytes)) or not isinstance(context, (list, tuple, np.ndarray)):
            raise ValueError("context must be a list, tuple or 1-D array of ids; "
                             f"got {type(context).__name__}")
        seq = self._check_seq(np.asarray(context), "context") if len(context) else []
        u = tuple(seq[max(0, len(seq) - self.n + 1):])
        return np.array([self._p(w, u) for w in range(self.V)])

    def nll(self, ids) -> np.ndarray:
        """Surprise ``-log P(ids[i] | ids[i-n+1 : i])`` in nats for ``i = 1 .. N-1``.

        The first ``n - 2`` predictions see a shorter context (what exists so
        far), as a recurrent model reading from the start would.

        Args:
            ids: 1-D integer NumPy array of length ``N >= 2``, values in ``[0, V)``.

        Returns:
            A float64 array of shape ``(N - 1,)``.

        Raises:
            ValueError: if the model is not fitted or ``ids`` is bad.
        """
        self._fitted()
        seq = self._check_seq(ids, "ids")
        if len(seq) < 2:
            raise ValueError(f"ids must hold at least 2 ids; got {len(seq)}")
        m = self.n - 1
        return np.array([-math.log(self._p(seq[i], tuple(seq[max(0, i - m):i])))
                         for i in range(1, len(seq))])
