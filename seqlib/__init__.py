"""seqlib: the small library behind *Sequence Models from Scratch*.

Each module holds one idea of the book; chapters build a thing in the open,
then import it from here. Shapes follow the notation page: batch-first
``(B, T, D)`` sequences, column-vector equations, weights stored as torch.nn
stores them (``W_xh`` has shape ``(H, D)``).
"""
import random

import numpy as np
import torch

__version__ = "0.2.0"


def seed_everything(seed: int = 0, threads: int = 1) -> None:
    """Make a notebook's numbers repeatable.

    Seeds Python, NumPy and torch, and fixes torch to ``threads`` CPU threads:
    float sums are added in a thread-dependent order, so pinning the thread
    count keeps printed digits the same on a 2-core CI runner and an 8-core
    laptop.

    Args:
        seed: any non-negative int.
        threads: torch intra-op threads (>= 1).

    Raises:
        ValueError: if ``seed`` < 0 or ``threads`` < 1.
    """
    from ._checks import check_positive, check_seed
    check_seed(seed)
    check_positive(threads, "threads", integer=True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
