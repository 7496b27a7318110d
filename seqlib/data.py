"""Every data set in the book, generated in code or read from ``seqlib/texts``.

Nothing here touches the network. Generators take a ``seed`` and return the
same arrays on every machine, so notebooks, tests and nbval agree.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ._checks import check_positive, check_seed

# ---------------------------------------------------------------------------
# Vocabularies and tokenizers (chapter 1)
# ---------------------------------------------------------------------------

UNK = "<unk>"


class Vocab:
    """A two-way map between tokens and integer ids.

    Ids are given by descending frequency, ties broken alphabetically, after
    the special tokens, so the same corpus always gives the same ids.

    Args:
        tokens: an iterable of tokens (strings), e.g. a flattened corpus.
        min_count: tokens seen fewer times map to ``<unk>``.
        specials: tokens that get the first ids, ``<unk>`` among them.

    Raises:
        ValueError: if ``tokens`` is empty or ``min_count`` < 1.
    """

    def __init__(self, tokens, min_count: int = 1, specials=(UNK,)):
        check_positive(min_count, "min_count", integer=True)
        counts = Counter(tokens)
        if not counts:
            raise ValueError("tokens must be a non-empty iterable of strings; got nothing")
        kept = sorted((t for t, c in counts.items() if c >= min_count and t not in specials),
                      key=lambda t: (-counts[t], t))
        self.itos: list[str] = list(specials) + kept
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.counts = np.array([counts.get(t, 0) for t in self.itos], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def encode(self, tokens) -> np.ndarray:
        """Map a list of tokens to an int64 array of ids, shape ``(n,)``.

        Unknown tokens map to ``<unk>`` when the vocabulary has it.

        Raises:
            ValueError: if ``tokens`` is empty, or a token is unknown and the
                vocabulary has no ``<unk>``.
        """
        tokens = list(tokens)
        if not tokens:
            raise ValueError("tokens must be a non-empty list of strings; got an empty list")
        unk = self.stoi.get(UNK)
        ids = []
        for t in tokens:
            i = self.stoi.get(t, unk)
            if i is None:
                raise ValueError(f"token {t!r} is not in the vocabulary and there is no {UNK}")
            ids.append(i)
        return np.array(ids, dtype=np.int64)

    def decode(self, ids) -> list[str]:
        """Map ids (any integer array or list) back to tokens.

        Raises:
            ValueError: if an id lies outside ``[0, len(self))``.
        """
        if hasattr(ids, "detach"):  # a torch tensor (data.py does not import torch)
            ids = ids.detach().cpu().numpy()
        ids = np.asarray(ids).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):  # no silent truncation
            raise ValueError(f"ids must be integers; got dtype {ids.dtype}")
        bad = ids[(ids < 0) | (ids >= len(self))]
        if bad.size:
            raise ValueError(f"ids must lie in [0, {len(self)}); got {int(bad[0])}")
        return [self.itos[int(i)] for i in ids]


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize_words(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words and punctuation marks.

    >>> tokenize_words("Apple is a tech company.")
    ['apple', 'is', 'a', 'tech', 'company', '.']
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str; got {type(text).__name__}")
    return _WORD.findall(text.lower())


def max_match(text: str, lexicon) -> list[str]:
    """Segment text written without spaces (e.g. Chinese) by forward maximum matching.

    At each position take the longest word of ``lexicon`` that starts there,
    or a single character if none does. Real segmenters (jieba, or the
    sub-word tokenizers of modern models) are statistical, but the output has
    the same role: a list of tokens to look up in a vocabulary.

    Args:
        text: the string to segment, e.g. ``"苹果是一家科技公司。"``.
        lexicon: an iterable of known words.

    Raises:
        ValueError: if ``text`` is empty or ``lexicon`` is empty.
    """
    words = set(lexicon)
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    if not words:
        raise ValueError("lexicon must hold at least one word")
    bad = [w for w in words if not isinstance(w, str) or not w]
    if bad:  # an empty word would match zero characters forever
        raise ValueError(f"lexicon must hold non-empty str words; got {bad[0]!r}")
    longest = max(len(w) for w in words)
    out, i = [], 0
    while i < len(text):
        for n in range(min(longest, len(text) - i), 0, -1):
            if n == 1 or text[i:i + n] in words:
                out.append(text[i:i + n])
                i += n
                break
    return out


# ---------------------------------------------------------------------------
# A corpus whose structure is known (chapter 1)
# ---------------------------------------------------------------------------

#: The topic words of the generated corpus, by category. "apple" belongs to
#: two categories on purpose: one vector per word cannot hold two meanings.
TOPICS: dict[str, list[str]] = {
    "company": ["microsoft", "google", "intel", "samsung", "sony", "nvidia", "apple"],
    "fruit": ["banana", "mango", "cherry", "grape", "peach", "lemon", "apple"],
    "animal": ["tiger", "horse", "rabbit", "eagle", "wolf", "dolphin"],
    "place": ["paris", "tokyo", "cairo", "lima", "oslo", "delhi"],
}

_TEMPLATES: dict[str, list[str]] = {
    "company": [
        "shares of {w} rose after the earnings report",
        "{w} released a new phone and a faster laptop",
        "the software company {w} hired many engineers",
        "investors bought stock in {w} this quarter",
        "{w} opened a new office with hundreds of programmers",
    ],
    "fruit": [
        "she ate a ripe {w} for breakfast",
        "the {w} tastes sweet and juicy",
        "we picked a fresh {w} from the tree in the orchard",
        "he cut the {w} into slices for the salad",
        "a basket of {w} sat on the kitchen table",
    ],
    "animal": [
        "the wild {w} hunted in the forest at night",
        "a {w} ran across the field",
        "the zoo keeper fed the hungry {w}",
        "we saw a {w} sleeping near the river",
        "the young {w} followed its mother through the grass",
    ],
    "place": [
        "we flew to {w} for a holiday",
        "the museum in {w} was crowded with tourists",
        "she lives in {w} near the old harbour",
        "the train to {w} left the station at noon",
        "the weather in {w} was warm all summer",
    ],
}

#: Templates that fit a word of any topic. They carry no topic signal, so
#: they make the corpus less clean than "every context names the topic":
#: a word's contexts are a mixture, as in real text.
_GENERIC_TEMPLATES: list[str] = [
    "i read a long article about {w} yesterday",
    "everyone was talking about {w} again",
    "my friend showed me a photo of {w}",
]

#: Fraction of sentences drawn from the generic templates.
_GENERIC_SHARE = 0.2


def topic_corpus(n_sentences: int = 4000, seed: int = 0, *,
                 tag_senses: bool = False) -> list[list[str]]:
    """Generate sentences in which words of one topic share contexts.

    Each sentence picks a random topic (company, fruit, animal, place) and a
    random word of that topic, and fills either one of that topic's
    templates or, with probability 0.2, a generic template that fits any
    topic. Words of a topic are interchangeable, so a good embedding puts
    them near each other; generic sentences add contexts that say nothing
    about the topic.

    Args:
        n_sentences: number of sentences (> 0).
        seed: random seed.
        tag_senses: if true, a word listed under two topics ("apple") is
            written with its topic, ``apple_company`` or ``apple_fruit``, so a
            model can give each sense its own vector. The random draws are
            the same, so the two corpora differ only in those tokens.

    Returns:
        A list of ``n_sentences`` token lists.

    Raises:
        ValueError: if ``n_sentences`` <= 0.
    """
    check_positive(n_sentences, "n_sentences", integer=True)
    check_seed(seed)
    rng = np.random.default_rng(seed)
    topics = sorted(TOPICS)
    shared = {w for t in topics for w in TOPICS[t] if sum(w in TOPICS[u] for u in topics) > 1}
    out = []
    for _ in range(n_sentences):
        topic = topics[rng.integers(len(topics))]
        word = TOPICS[topic][rng.integers(len(TOPICS[topic]))]
        if rng.random() < _GENERIC_SHARE:
            template = _GENERIC_TEMPLATES[rng.integers(len(_GENERIC_TEMPLATES))]
        else:
            template = _TEMPLATES[topic][rng.integers(len(_TEMPLATES[topic]))]
        if tag_senses and word in shared:
            word = f"{word}_{topic}"
        out.append(template.format(w=word).split())
    return out


# ---------------------------------------------------------------------------
# Long-lag and counting tasks (chapters 2, 4, 5, 6)
# ---------------------------------------------------------------------------

def adding_problem(n: int, T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem, in the form of Le, Jaitly & Hinton (2015) and Arjovsky et al. (2016).

    Each sequence has two channels: a value drawn from U(0, 1) and a marker
    that is 1 at exactly two steps, one in the first half and one in the
    second half. The target is the sum of the two marked values, so the
    model must carry the first value across ``T / 2`` to ``T - 1`` steps.
    (Hochreiter & Schmidhuber's 1997 original differs: values in [-1, 1],
    lengths that vary, and both marked steps in the first half.) Always
    predicting 1 scores a mean squared error of 1/6 (the trivial baseline).

    Args:
        n: number of sequences (> 0).
        T: sequence length (>= 2).
        seed: random seed.

    Returns:
        ``X`` of shape ``(n, T, 2)`` (float32) and ``y`` of shape ``(n,)``.

    Raises:
        ValueError: if ``n`` <= 0 or ``T`` < 2.
    """
    check_positive(n, "n", integer=True)
    check_positive(T, "T", integer=True)
    if T < 2:
        raise ValueError(f"T must be >= 2 for two markers; got {T}")
    check_seed(seed)
    rng = np.random.default_rng(seed)
    values = rng.random((n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    X = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[np.arange(n), first] + values[np.arange(n), second]).astype(np.float32)
    return X, y


def parity_task(n: int, T: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random bit strings and their running parity.

    Args:
        n: number of sequences (> 0).
        T: sequence length (> 0).
        seed: random seed.

    Returns:
        ``bits`` of shape ``(n, T)`` (int64, 0 or 1) and ``parity`` of shape
        ``(n, T)``, where ``parity[:, t]`` is the XOR of ``bits[:, :t + 1]``.

    Raises:
        ValueError: if ``n`` or ``T`` is not a positive int.
    """
    check_positive(n, "n", integer=True)
    check_positive(T, "T", integer=True)
    check_seed(seed)
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, T)).astype(np.int64)
    return bits, np.cumsum(bits, axis=1) % 2


def causal_windows(x, w: int):
    """The last ``w`` values before and at every step, zero-padded on the left (chapter 2).

    ``windows[b, t] = (x[b, t - w + 1], ..., x[b, t])``, with zeros where the
    index is negative: the input a window MLP sees when it predicts at step
    ``t``. It never sees ``x[b, t - w]`` or anything older.

    Args:
        x: sequences of numbers, shape ``(B, T)``, a NumPy array or a torch
            tensor (the result has the same type and dtype).
        w: window width (int > 0).

    Returns:
        Shape ``(B, T, w)``; the last column is ``x`` itself.

    Raises:
        ValueError: if ``x`` is not a non-empty ``(B, T)`` array or ``w`` is
            not a positive int.
    """
    import torch

    from ._checks import check_tensor
    check_positive(w, "w", integer=True)
    check_tensor(x, "x", "(B, T)")
    if isinstance(x, torch.Tensor):
        return torch.nn.functional.pad(x, (w - 1, 0)).unfold(1, w, 1)
    padded = np.pad(x, ((0, 0), (w - 1, 0)))
    return np.lib.stride_tricks.sliding_window_view(padded, w, axis=1).copy()


# ---------------------------------------------------------------------------
# Text for character models (chapters 3 and 6)
# ---------------------------------------------------------------------------

#: Texts shipped in ``seqlib/texts`` (name -> file). They were written for
#: this book, so every machine trains on the same letters.
TEXTS = {"notes_on_sequences": "notes_on_sequences.txt"}


def load_text(name: str = "notes_on_sequences") -> str:
    """Read a text shipped with seqlib (nothing is downloaded).

    ``"notes_on_sequences"`` is about 24 KB of plain English prose (ASCII,
    short essays on order, memory, reading and weather) written for the book.

    Args:
        name: a key of ``seqlib.data.TEXTS``.

    Returns:
        The text as one string, with ``\\n`` line ends.

    Raises:
        ValueError: if ``name`` is not a shipped text.
    """
    from pathlib import Path
    if name not in TEXTS:
        raise ValueError(f"name must be one of {sorted(TEXTS)}; got {name!r}")
    path = Path(__file__).resolve().parent / "texts" / TEXTS[name]
    return path.read_text(encoding="utf-8").replace("\r\n", "\n")


def char_vocab(text: str) -> Vocab:
    """A character vocabulary: one id per distinct character of ``text``, no ``<unk>``.

    Ids follow ``Vocab``'s rule (most frequent first, ties alphabetical), so
    the same text always gives the same ids. ``encode(list(s))`` raises for a
    character the text never contained.

    Raises:
        ValueError: if ``text`` is not a non-empty str.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    return Vocab(list(text), specials=())


# ---------------------------------------------------------------------------
# A teacher network's labels (chapter 7)
# ---------------------------------------------------------------------------

def teacher_classification(n: int, D: int, n_classes: int = 8, hidden: int = 64,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian vectors labelled by a fixed random network (a "teacher").

    ``x ~ N(0, I_D)`` and ``y = argmax(W_2 tanh(W_1 x))`` with
    ``W_1 ~ N(0, 1/D)`` of shape ``(hidden, D)`` and ``W_2 ~ N(0, 1/hidden)``
    of shape ``(n_classes, hidden)``. A student network can learn the labels
    exactly, so the task measures how well an optimizer trains a deep
    student, not how much data there is.

    Args:
        n: number of examples (> 0).
        D: input size (> 0).
        n_classes: number of classes (>= 2).
        hidden: teacher's hidden width (> 0).
        seed: random seed.

    Returns:
        ``X`` of shape ``(n, D)`` (float32) and ``y`` of shape ``(n,)`` (int64).

    Raises:
        ValueError: if a size is not a positive int or ``n_classes`` < 2.
    """
    for value, name in ((n, "n"), (D, "D"), (n_classes, "n_classes"), (hidden, "hidden")):
        check_positive(value, name, integer=True)
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2; got {n_classes}")
    check_seed(seed)
    rng = np.random.default_rng(seed)
    W1 = rng.normal(0.0, 1.0 / np.sqrt(D), size=(hidden, D))
    W2 = rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(n_classes, hidden))
    X = rng.normal(size=(n, D))
    y = np.argmax(np.tanh(X @ W1.T) @ W2.T, axis=1).astype(np.int64)
    return X.astype(np.float32), y
