"""Word -> tokenizer pieces through a cache: bounded for serving, one-off for a run's whole sets (featurize_words).

Words repeat: within one batch (684 distinct words of 1,024 in the speed benchmark's 32 x 32 batch) and far
more across a stream of texts. The student looks at each word on its own (its pieces are mean-pooled per word),
so a word's pieces do not depend on its neighbours and can be cached. Every new word is tokenized once, in
one tokenizer call per batch, by :func:`~xtremedistil_ner.runtime.features.featurize` itself: the cached pieces
are exactly what featurizing the whole sentence gives (tested on real text for WordPiece and SentencePiece).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from xtremedistil_ner.runtime.features import Featurized, featurize

WORDS_PER_ROW = 64  # new words are tokenized as pseudo-sentences of this many words (one tokenizer call)


class _Store:
    """Cached words: row ``r = index[word]``: pieces ``flat[starts[r] : starts[r] + counts[r]]``, shape ``shapes[r]``.

    The arrays grow by doubling, so adding a few words to a large cache copies nothing most of the time.
    """

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.starts = np.zeros(1024, np.int64)
        self.counts = np.zeros(1024, np.int64)
        self.flat = np.zeros(4096, np.int64)
        self.shapes = np.zeros(1024, np.int64)
        self.n_flat = 0

    def add(self, words: list[str], new: Featurized) -> None:
        """Append ``words`` (all new) with their pieces as featurized one word a slot."""
        first, n_pieces = len(self.index), len(new.pieces)
        self.starts = _room(self.starts, first, first + len(words))
        self.counts = _room(self.counts, first, first + len(words))
        self.shapes = _room(self.shapes, first, first + len(words))
        self.flat = _room(self.flat, self.n_flat, self.n_flat + n_pieces)
        self.starts[first : first + len(words)] = new.word_offsets[:-1] + self.n_flat
        self.counts[first : first + len(words)] = np.diff(new.word_offsets)
        self.shapes[first : first + len(words)] = new.shapes
        self.flat[self.n_flat : self.n_flat + n_pieces] = new.pieces
        self.n_flat += n_pieces
        self.index.update(zip(words, range(first, first + len(words)), strict=True))


def _room(array: np.ndarray, used: int, need: int) -> np.ndarray:
    """``array`` if it holds ``need`` items, else a copy of its first ``used`` items in one at least twice as long."""
    if need <= len(array):
        return array
    grown = np.empty(max(need, 2 * len(array)), array.dtype)
    grown[:used] = array[:used]
    return grown


class PieceCache:
    """Featurizes word-split sentences, tokenizing each distinct word once.

    The pieces of a batch are gathered from the cache with NumPy (one dictionary look-up per word, no per-word
    list copies).

    Args:
        tokenizer: the student's tokenizer (Hugging Face fast, or a :class:`~.features.BareTokenizer`).
        max_words: the cache is emptied when it would grow past this many words, so memory stays bounded
            (100,000 words: ~10 MB).
    """

    def __init__(self, tokenizer: Any, max_words: int = 100_000) -> None:
        self.tokenizer = tokenizer
        self.max_words = max_words
        self._store = _Store()

    def __len__(self) -> int:
        return len(self._store.index)

    def clear(self) -> None:
        """Forget every cached word."""
        self._store = _Store()

    def featurize(self, sentences: Sequence[Sequence[str]]) -> Featurized:
        """Same arrays as ``featurize(tokenizer, sentences)``; only words not seen before reach the tokenizer."""
        distinct = dict.fromkeys(w for s in sentences for w in s)
        # one call with more distinct words than the bound goes through a throwaway store
        store = self._store if len(distinct) <= self.max_words else _Store()
        missing = [w for w in distinct if w not in store.index]
        if len(store.index) + len(missing) > self.max_words:
            store = self._store = _Store()
            missing = list(distinct)
        if missing:
            rows = [missing[i : i + WORDS_PER_ROW] for i in range(0, len(missing), WORDS_PER_ROW)]
            store.add(missing, featurize(self.tokenizer, rows))
        index = store.index
        lengths = np.fromiter(map(len, sentences), np.int64, count=len(sentences))
        n_words = int(lengths.sum())
        # shape: (n_words,), the cache row of every word in order
        rows_of = np.fromiter((index[w] for s in sentences for w in s), np.int64, count=n_words)
        counts = store.counts[rows_of]
        word_offsets = np.zeros(n_words + 1, np.int64)
        np.cumsum(counts, out=word_offsets[1:])
        # piece k of the batch sits at flat[start of its word + (k - first piece of its word in the batch)]
        shift = np.repeat(store.starts[rows_of] - word_offsets[:-1], counts)
        pieces = store.flat[shift + np.arange(len(shift), dtype=np.int64)]
        sentence_offsets = np.zeros(len(sentences) + 1, np.int64)
        np.cumsum(lengths, out=sentence_offsets[1:])
        return Featurized(sentence_offsets, word_offsets, pieces, store.shapes[rows_of])


def featurize_words(tokenizer: Any, sentences: Sequence[Sequence[str]]) -> Featurized:
    """``featurize(tokenizer, sentences)``'s arrays, each distinct word tokenized once (a one-off, unbounded cache).

    For large sets (a transfer set of 470,000 sentences, ~4M words): far fewer words reach the tokenizer and the
    per-piece Python loop; the word index lives only for this call.
    """
    return PieceCache(tokenizer, max_words=sys.maxsize).featurize(sentences)
