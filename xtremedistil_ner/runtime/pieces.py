"""Word -> tokenizer pieces through a bounded cache, for serving.

Words repeat: within one batch (684 distinct words of 1,024 in the speed benchmark's 32 x 32 batch) and far
more across a stream of texts. The student looks at each word on its own (its pieces are mean-pooled per word),
so a word's pieces do not depend on its neighbours and can be cached. Every new word is tokenized once, in
one tokenizer call per batch, by :func:`~xtremedistil_ner.runtime.features.featurize` itself: the cached pieces
are exactly what featurizing the whole sentence gives (tested on real text for WordPiece and SentencePiece).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xtremedistil_ner.runtime.features import Featurized, featurize

WORDS_PER_ROW = 64  # new words are tokenized as pseudo-sentences of this many words (one tokenizer call)


class PieceCache:
    """Featurizes word-split sentences, tokenizing each distinct word once.

    Args:
        tokenizer: the student's tokenizer (Hugging Face fast, or a :class:`~.features.BareTokenizer`).
        max_words: the cache is emptied when it would grow past this many words, so memory stays bounded
            (100,000 words: ~10 MB).
    """

    def __init__(self, tokenizer: Any, max_words: int = 100_000) -> None:
        self.tokenizer = tokenizer
        self.max_words = max_words
        self._pieces: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self._pieces)

    def clear(self) -> None:
        """Forget every cached word."""
        self._pieces.clear()

    def featurize(self, sentences: Sequence[Sequence[str]]) -> Featurized:
        """Same arrays as ``featurize(tokenizer, sentences)``; only words not seen before reach the tokenizer."""
        distinct = dict.fromkeys(w for s in sentences for w in s)
        # one call with more distinct words than the bound goes through a throwaway dict
        known = self._pieces if len(distinct) <= self.max_words else {}
        missing = [w for w in distinct if w not in known]
        if len(known) + len(missing) > self.max_words:
            known.clear()
            missing = list(distinct)
        if missing:
            rows = [missing[i : i + WORDS_PER_ROW] for i in range(0, len(missing), WORDS_PER_ROW)]
            new = featurize(self.tokenizer, rows)
            offsets = new.word_offsets.tolist()
            flat = new.pieces.tolist()
            for i, word in enumerate(missing):
                known[word] = flat[offsets[i] : offsets[i + 1]]
        sentence_offsets = [0]
        word_offsets = [0]
        pieces: list[int] = []
        for sentence in sentences:
            for word in sentence:
                pieces.extend(known[word])
                word_offsets.append(len(pieces))
            sentence_offsets.append(len(word_offsets) - 1)
        return Featurized(
            np.asarray(sentence_offsets, np.int64), np.asarray(word_offsets, np.int64), np.asarray(pieces, np.int64)
        )
