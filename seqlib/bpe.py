"""Byte-pair encoding from scratch (chapter 1).

A word-level vocabulary has no id for a word it never saw, and Chinese has no
spaces to split on. Byte-pair encoding (Sennrich, Haddow & Birch 2016) starts
from the 256 byte values of UTF-8, so every string of every language can be
written, then repeatedly **merges the most frequent adjacent pair** of tokens
into a new token (eq-bpe-merge). Frequent words become one token, rare words
several, and nothing is ever unknown. GPT-2 and its successors use this
byte-level form.

This version counts pairs over the whole byte stream (no pre-splitting into
words, so a merge may cross a space); ties between equally frequent pairs go
to the smallest pair, so training is deterministic. Token ids: ``0..255`` are
bytes, ``256 + k`` is the token made by merge ``k``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_positive

__all__ = ["BPE", "train_bpe"]


def _merge(ids: np.ndarray, pair: tuple[int, int], new_id: int) -> np.ndarray:
    """Replace every non-overlapping occurrence of ``pair`` in ``ids``, left to right."""
    a, b = pair
    hits = np.flatnonzero((ids[:-1] == a) & (ids[1:] == b))
    if hits.size == 0:
        return ids
    if a == b:  # "aaa" holds the pair at 0 and 1; only the left one merges
        keep, last = [], -2
        for p in hits.tolist():
            if p != last + 1:
                keep.append(p)
                last = p
        hits = np.asarray(keep)
    out = ids.copy()
    out[hits] = new_id
    return np.delete(out, hits + 1)


@dataclass
class BPE:
    """A trained byte-level BPE tokenizer.

    Attributes:
        merges: the learned merges in order; merge ``k`` turns the pair
            ``merges[k]`` into token ``256 + k``.
    """

    merges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def vocab_size(self) -> int:
        """256 bytes plus one token per merge."""
        return 256 + len(self.merges)

    def token_bytes(self, token: int) -> bytes:
        """The bytes a token stands for."""
        table = [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            table.append(table[a] + table[b])
        return table[token]

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: its UTF-8 bytes, then every merge in training order.

        Raises:
            ValueError: if ``text`` is not a str.
        """
        if not isinstance(text, str):
            raise ValueError(f"text must be a str; got {type(text).__name__}")
        ids = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
        for k, pair in enumerate(self.merges):
            if ids.size < 2:
                break
            ids = _merge(ids, pair, 256 + k)
        return ids.tolist()

    def decode(self, ids) -> str:
        """The text of a list of token ids (the inverse of :meth:`encode`).

        Raises:
            ValueError: if an id is not an int in ``[0, vocab_size)`` or the
                bytes are not valid UTF-8 (a sequence cut inside a character).
        """
        table = [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            table.append(table[a] + table[b])
        out = []
        for i in ids:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise ValueError(f"ids must be ints; got {i!r}")
            if not 0 <= i < len(table):
                raise ValueError(f"ids must lie in [0, {len(table)}); got {i}")
            out.append(table[i])
        try:
            return b"".join(out).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"ids do not decode to UTF-8 text ({err.reason})") from None


def train_bpe(text: str, n_merges: int) -> BPE:
    """Learn ``n_merges`` merges from ``text`` (eq-bpe-merge).

    Each round counts every adjacent pair of the current token sequence,
    merges the most frequent one everywhere, and stops early if no pair
    occurs twice (a merge would save nothing).

    Args:
        text: training text, non-empty.
        n_merges: number of merges (>= 0); the vocabulary has
            ``256 + n_merges`` tokens.

    Raises:
        ValueError: if ``text`` is not a non-empty str or ``n_merges`` is not
            a non-negative int.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    check_positive(n_merges, "n_merges", integer=True, allow_zero=True)
    ids = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
    merges: list[tuple[int, int]] = []
    for k in range(n_merges):
        if ids.size < 2:
            break
        codes = ids[:-1] * (256 + n_merges) + ids[1:]           # one int per pair
        pairs, counts = np.unique(codes, return_counts=True)    # sorted: ties -> smallest
        best = int(np.argmax(counts))
        if counts[best] < 2:
            break
        pair = divmod(int(pairs[best]), 256 + n_merges)
        merges.append(pair)
        ids = _merge(ids, pair, 256 + k)
    return BPE(merges)
