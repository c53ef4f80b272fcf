"""Words -> tokenizer pieces -> the student's inputs, with NumPy and a tokenizer only.

Two kinds of tokenizer are accepted: a Hugging Face fast tokenizer (training and the PyTorch student) and a bare
``tokenizers.Tokenizer`` read from the student's ``tokenizer.json`` (the serving runtime, no transformers). Both
give the same pieces: the Hugging Face one calls the same Rust tokenizer on pre-split words (tested on real text
for WordPiece, SentencePiece BPE and unigram).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xtremedistil_ner.runtime.shapes import word_shapes

MAX_PIECES_PER_WORD = 16


@dataclass(frozen=True)
class Featurized:
    """Sentences as flat arrays.

    Attributes:
        sentence_offsets: ``(n_sentences + 1,)`` word offsets of each sentence.
        word_offsets: ``(n_words + 1,)`` piece offsets of each word.
        pieces: ``(n_pieces,)`` tokenizer piece ids (not yet student ids).
        shapes: ``(n_words,)`` :data:`~xtremedistil_ner.runtime.shapes.SHAPES` id of each word.
    """

    sentence_offsets: np.ndarray
    word_offsets: np.ndarray
    pieces: np.ndarray
    shapes: np.ndarray

    def __len__(self) -> int:
        return len(self.sentence_offsets) - 1

    def lengths(self) -> np.ndarray:
        """Words per sentence."""
        return np.diff(self.sentence_offsets)


class BareTokenizer:
    """A ``tokenizers.Tokenizer`` with the few Hugging Face names the student uses.

    Args:
        tokenizer: the Rust tokenizer; truncation and padding saved in its file are switched off (the student
            windows long sentences itself, as the Hugging Face path does).
        unk_token: the unknown piece (from ``tokenizer_config.json``).
    """

    def __init__(self, tokenizer: Any, unk_token: str | None) -> None:
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self.backend = tokenizer
        self.unk_token_id = tokenizer.token_to_id(unk_token) if unk_token else None

    def __len__(self) -> int:
        return int(self.backend.get_vocab_size(with_added_tokens=True))

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int | None]:
        """Ids of ``tokens`` (``None`` for a token the vocabulary lacks)."""
        return [self.backend.token_to_id(t) for t in tokens]

    def split(self, words: Sequence[Sequence[str]]) -> list[tuple[list[int], list[int | None]]]:
        """Piece ids and the word index of each piece, per pre-split sentence (no special tokens)."""
        encoded = self.backend.encode_batch([list(w) for w in words], is_pretokenized=True, add_special_tokens=False)
        return [(e.ids, e.word_ids) for e in encoded]


def _split(tokenizer: Any, words: Sequence[Sequence[str]]) -> list[tuple[list[int], list[int | None]]]:
    """:meth:`BareTokenizer.split` for either kind of tokenizer."""
    if isinstance(tokenizer, BareTokenizer):
        return tokenizer.split(words)
    # verbose=False: sentences longer than the model are windowed by us, transformers need not warn
    enc = tokenizer([list(w) for w in words], is_split_into_words=True, add_special_tokens=False, verbose=False)
    return [(enc["input_ids"][row], enc.word_ids(row)) for row in range(len(words))]


def featurize(tokenizer: Any, sentences: Sequence[Sequence[str]], chunk: int = 4096) -> Featurized:
    """Split every word of word-split ``sentences`` into pieces.

    At most ``MAX_PIECES_PER_WORD`` pieces per word; a word with none gets the unknown piece.

    Args:
        tokenizer: a Hugging Face fast tokenizer or a :class:`BareTokenizer`.
        sentences: the words of each sentence.
        chunk: sentences per tokenizer call.
    """
    sent_off = [0]
    word_off = [0]
    pieces: list[int] = []
    unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
    for start in range(0, len(sentences), chunk):
        part = sentences[start : start + chunk]
        for sentence, (ids, word_ids) in zip(part, _split(tokenizer, part), strict=True):
            per_word: list[list[int]] = [[] for _ in sentence]
            for piece, word in zip(ids, word_ids, strict=True):
                if word is not None and len(per_word[word]) < MAX_PIECES_PER_WORD:
                    per_word[word].append(piece)
            for piece_ids in per_word:
                pieces.extend(piece_ids or [unk])
                word_off.append(len(pieces))
            sent_off.append(len(word_off) - 1)
    shapes = word_shapes((w for s in sentences for w in s), len(word_off) - 1)
    return Featurized(
        np.asarray(sent_off, np.int64), np.asarray(word_off, np.int64), np.asarray(pieces, np.int64), shapes
    )


def piece_lookup(pieces: Sequence[str], tokenizer: Any) -> np.ndarray:
    """``(len(tokenizer),)`` array: tokenizer id -> student id (0, the unknown row, for pieces without a row).

    Args:
        pieces: the student's pieces by student id; id 0 is its unknown row.
        tokenizer: a Hugging Face fast tokenizer or a :class:`BareTokenizer`.
    """
    size = max(len(tokenizer), getattr(tokenizer, "vocab_size", 0))
    table = np.zeros(size, np.int64)
    ids = tokenizer.convert_tokens_to_ids(list(pieces[1:]))
    known = [(i, row) for row, i in enumerate(ids, start=1) if i is not None]
    if known:
        tok_ids, rows = zip(*known, strict=True)
        table[np.asarray(tok_ids, np.int64)] = np.asarray(rows, np.int64)
    return table


def dense_inputs(
    features: Featurized, lookup: np.ndarray, ids: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(piece_ids, piece_counts, word_shapes)`` int64 arrays of sentences ``ids`` (student ids via ``lookup``).

    Returns:
        ``(batch, seq, max_pieces)`` piece ids (0 past each word's count), ``(batch, seq)`` counts and
        ``(batch, seq)`` word shapes (0 at padding).
    """
    rows = np.asarray(ids, np.int64)
    starts = features.sentence_offsets[rows]
    lengths = features.sentence_offsets[rows + 1] - starts
    # shape: (batch, seq), the word index of each slot (0 where the sentence has ended)
    valid = np.arange(lengths.max())[None, :] < lengths[:, None]
    words = np.where(valid, starts[:, None] + np.arange(lengths.max())[None, :], 0)
    first = features.word_offsets[words]
    counts = np.where(valid, features.word_offsets[words + 1] - first, 0)
    # shape: (batch, seq, max_pieces)
    slots = np.arange(max(1, int(counts.max())))[None, None, :]
    has = slots < counts[:, :, None]
    pieces = np.where(has, lookup[features.pieces[np.where(has, first[:, :, None] + slots, 0)]], 0)
    shapes = np.where(valid, features.shapes[words], 0)
    return pieces.astype(np.int64), counts.astype(np.int64), shapes.astype(np.int64)
