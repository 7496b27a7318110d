"""Byte-level BPE: exact round trips in any language, merges that shorten the text."""
import pytest

from seqlib.bpe import BPE, train_bpe
from seqlib.data import load_text


def test_the_textbook_example():
    # Wikipedia's example: "aaabdaaabac" -> Z = aa, Y = ab, X = ZY, giving "XdXac".
    bpe = train_bpe("aaabdaaabac", 3)
    a, b, c, d = (ord(ch) for ch in "abcd")
    assert bpe.merges == [(a, a), (a, b), (256, 257)]   # (Z, a) ties with (a, b): smallest wins
    assert bpe.encode("aaabdaaabac") == [258, d, 258, a, c]
    assert bpe.token_bytes(258) == b"aaab"


def test_overlapping_pairs_merge_left_to_right():
    bpe = BPE([(ord("a"), ord("a"))])
    assert bpe.encode("aaaaa") == [256, 256, ord("a")]


@pytest.mark.parametrize("text", [
    "The forget gate decides what the cell keeps.",
    "遗忘门决定细胞状态保留多少。",
    "mixed 混合 text with émojis 🙂 and tabs\t\n",
    "",
])
def test_round_trip_is_exact_in_any_language(text):
    bpe = train_bpe(load_text()[:8000], 200)
    assert bpe.decode(bpe.encode(text)) == text


def test_merges_shorten_the_training_text_and_are_deterministic():
    text = load_text()[:8000]
    small, large = train_bpe(text, 50), train_bpe(text, 300)
    n_bytes = len(text.encode("utf-8"))
    assert len(large.encode(text)) < len(small.encode(text)) < n_bytes
    assert large.vocab_size == 256 + len(large.merges) <= 556
    assert train_bpe(text, 300).merges == large.merges
    assert large.merges[:50] == small.merges   # greedy: a longer run extends a shorter one


def test_training_stops_when_no_pair_repeats():
    assert train_bpe("abcdef", 10).merges == []


def test_bad_input():
    bpe = train_bpe("hello hello", 3)
    with pytest.raises(ValueError, match="text"):
        train_bpe("", 3)
    with pytest.raises(ValueError, match="n_merges"):
        train_bpe("abc", -1)
    with pytest.raises(ValueError, match="n_merges"):
        train_bpe("abc", float("nan"))
    with pytest.raises(ValueError, match="ids"):
        bpe.decode([1.5])
    with pytest.raises(ValueError, match="ids"):
        bpe.decode([True])
    with pytest.raises(ValueError, match="ids"):
        bpe.decode([bpe.vocab_size])
    with pytest.raises(ValueError, match="UTF-8"):
        bpe.decode(list("遗".encode("utf-8"))[:2])
    with pytest.raises(ValueError, match="text"):
        bpe.encode(b"bytes")
