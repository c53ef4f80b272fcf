"""The student's piece vocabulary (which tokenizer pieces get an embedding row), batches and embedding init.

The student splits words with a tokenizer (by default the teacher's; :mod:`xtremedistil_ner.runtime.features`)
and keeps an embedding row only for the ``max_vocab`` most frequent pieces of its training data (and, with
``student.fill_vocab``, the tokenizer's most frequent pieces the data lacks); id 0 is ``<unk>``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xtremedistil_ner.runtime.features import Featurized, piece_lookup
from xtremedistil_ner.shard_rows import ShardRows
from xtremedistil_ner.student.model import StudentBatch
from xtremedistil_ner.student.vocab_fill import fill_pieces, piece_text, ranked_pieces, text_scripts

UNK = "<unk>"


@dataclass(frozen=True)
class StudentVocab:
    """Student id -> piece string (id 0 is UNK), and the lookup from tokenizer ids."""

    pieces: tuple[str, ...]
    text_pieces: int = 0
    """Rows before the filled ones (UNK and the training text's pieces) when built with ``fill``; 0 = all."""

    @classmethod
    def build(cls, tokenizer: Any, features: Sequence[Featurized], max_vocab: int, fill: bool = False) -> StudentVocab:
        """Keep the ``max_vocab - 1`` most frequent pieces (ties broken by id) plus UNK.

        With ``fill``, rows left under ``max_vocab`` go to the tokenizer's most frequent pieces the training
        text lacks, in the text's scripts (:mod:`~xtremedistil_ner.student.vocab_fill`), after the text's own.
        """
        counts: Counter[int] = Counter()
        for feats in features:
            ids, freq = np.unique(feats.pieces, return_counts=True)
            counts.update(dict(zip(ids.tolist(), freq.tolist(), strict=True)))
        counts.pop(tokenizer.unk_token_id, None)
        kept = sorted(counts, key=lambda i: (-counts[i], i))[: max_vocab - 1]
        pieces = [UNK, *tokenizer.convert_ids_to_tokens(kept)]
        room = max_vocab - len(pieces)
        if not (fill and room > 0):
            return cls(tuple(pieces))
        piece_counts = dict(zip(pieces[1:], (counts[i] for i in kept), strict=True))
        extra = fill_pieces(ranked_pieces(tokenizer), pieces, text_scripts(piece_counts), room)
        return cls((*pieces, *extra), len(pieces))

    def __len__(self) -> int:
        return len(self.pieces)

    def lookup(self, tokenizer: Any) -> np.ndarray:
        """``(len(tokenizer),)`` array: tokenizer id -> student id (0 for pieces without a row)."""
        return piece_lookup(self.pieces, tokenizer)

    def save(self, path: Path) -> None:
        """Write the piece list as JSON."""
        path.write_text(json.dumps(list(self.pieces), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> StudentVocab:
        """Read what :meth:`save` wrote."""
        return cls(tuple(json.loads(path.read_text(encoding="utf-8"))))


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + c) for s, c in zip(starts, counts))`` without a Python loop."""
    total = int(counts.sum())
    # shape: (total,) each element's start, minus where its run begins in the output
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return shift + np.arange(total, dtype=np.int64)


def _sentence_words(features: Featurized, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Words per sentence ``(batch,)`` and the flat word rows ``(total_words,)`` of sentences ``indices``."""
    rows = np.asarray(indices, dtype=np.int64)
    starts = features.sentence_offsets[rows]
    lengths = features.sentence_offsets[rows + 1] - starts
    return lengths, _ranges(starts, lengths)


def make_batch(features: Featurized, lookup: np.ndarray, indices: Sequence[int]) -> StudentBatch:
    """Collate sentences ``indices`` of ``features`` into a :class:`StudentBatch` (student ids via ``lookup``)."""
    lengths, words = _sentence_words(features, indices)
    # shape: (batch, seq)
    mask = torch.from_numpy(np.arange(int(lengths.max()))[None, :] < lengths[:, None])
    # shape: (total_words,) where each word's pieces start, and how many it has
    first = features.word_offsets[words]
    counts = features.word_offsets[words + 1] - first
    offsets = np.cumsum(counts) - counts
    pieces = lookup[features.pieces[_ranges(first, counts)]]
    shapes = torch.from_numpy(features.shapes[words])
    return StudentBatch(torch.from_numpy(pieces), torch.from_numpy(offsets), mask, shapes)


def word_rows(features: Featurized, indices: Sequence[int]) -> np.ndarray:
    """Flat word indices (into per-word target arrays) of sentences ``indices``, row-major."""
    return _sentence_words(features, indices)[1]


def teacher_vectors(
    pieces: Sequence[str], student_tokenizer: Any, teacher_tokenizer: Any, teacher_embeddings: torch.Tensor
) -> tuple[torch.Tensor, np.ndarray]:
    """A teacher input vector for each student piece (row 0, UNK, gets none).

    With the same tokenizer (or one with the same vocabulary) this is the piece's own teacher row. With different
    tokenizers the piece's text (without ``##``/``▁`` markers) is split by the teacher tokenizer and its teacher
    rows are averaged.

    Returns:
        ``(len(pieces), teacher_hidden)`` vectors and a ``(len(pieces),)`` bool array of rows that have one.
    """
    matrix = teacher_embeddings.detach().float().cpu()
    out = torch.zeros(len(pieces), matrix.size(1))
    have = np.zeros(len(pieces), bool)
    if student_tokenizer is teacher_tokenizer or student_tokenizer.get_vocab() == teacher_tokenizer.get_vocab():
        ids = np.asarray(teacher_tokenizer.convert_tokens_to_ids(list(pieces[1:])), np.int64)
        out[1:] = matrix[torch.from_numpy(ids)]
        have[1:] = True
        return out, have
    texts = [piece_text(piece) or piece for piece in pieces[1:]]  # a bare marker stays itself
    encoded = teacher_tokenizer(texts, add_special_tokens=False)["input_ids"]
    unk = teacher_tokenizer.unk_token_id
    for row, piece_ids in enumerate(encoded, start=1):
        known = [i for i in piece_ids if i != unk and i < matrix.size(0)]
        if known:
            out[row] = matrix[known].mean(0)
            have[row] = True
    return out, have


def hidden_vectors(
    features: Featurized, hidden: np.ndarray | ShardRows, lookup: np.ndarray, size: int, chunk_words: int = 1 << 16
) -> tuple[torch.Tensor, np.ndarray]:
    """The mean teacher state of the words that hold each student piece (the teacher's view of it in context).

    Args:
        features: the transfer set's words and pieces.
        hidden: ``(n_words, teacher_hidden)`` cached teacher states of those words (array or shard rows, read
            ``chunk_words`` rows at a time).
        lookup: ``(len(tokenizer),)`` tokenizer id -> student id.
        size: rows of the student's table.
        chunk_words: words read from ``hidden`` at a time (bounds the memory of the pass).

    Returns:
        ``(size, teacher_hidden)`` float32 means and a ``(size,)`` bool array of rows held by some word (never
        row 0, UNK).
    """
    n_words = len(features.word_offsets) - 1
    sums = torch.zeros(size, int(hidden.shape[1]), dtype=torch.float64)
    counts = np.zeros(size, np.int64)
    for a in range(0, n_words, chunk_words):
        b = min(n_words, a + chunk_words)
        # shape: (b - a, teacher_hidden)
        states = torch.from_numpy(np.asarray(hidden[np.arange(a, b)], np.float32)).double()
        per_word = np.diff(features.word_offsets[a : b + 1])
        # shape: (pieces of these words,) the word each piece belongs to, and its student id
        word_of_piece = torch.from_numpy(np.repeat(np.arange(b - a), per_word))
        ids = lookup[features.pieces[features.word_offsets[a] : features.word_offsets[b]]]
        sums.index_add_(0, torch.from_numpy(ids.astype(np.int64)), states[word_of_piece])
        counts += np.bincount(ids, minlength=size)
    counts[0] = 0
    have = counts > 0
    means = sums / torch.from_numpy(np.maximum(counts, 1)).double()[:, None]
    return means.float(), have


def hidden_init_vectors(
    context: torch.Tensor, have_context: np.ndarray, inputs: torch.Tensor, have_input: np.ndarray
) -> tuple[torch.Tensor, np.ndarray]:
    """Context vectors standardised per dimension, and input rows mapped into that space where a row has none.

    The map is the least-squares affine fit from input rows to context vectors over the pieces that have both;
    standardising keeps a few large dimensions of a transformer's states from taking the whole SVD.

    Returns:
        ``(rows, teacher_hidden)`` vectors and the ``(rows,)`` bool array of rows that have one.
    """
    both = torch.from_numpy(have_context & have_input)
    mean = context[torch.from_numpy(have_context)].mean(0)
    std = context[torch.from_numpy(have_context)].std(0).clamp(min=1e-6)
    out = (context - mean) / std
    missing = torch.from_numpy(have_input & ~have_context)
    if bool(missing.any()) and int(both.sum()) >= 2:
        ones = torch.ones(len(out), 1)
        # shape: (teacher_hidden + 1, teacher_hidden), affine map input -> standardised context
        design = torch.cat([inputs, ones], 1)
        solution = torch.linalg.lstsq(design[both].double(), out[both].double(), driver="gelsd").solution
        out[missing] = (design[missing].double() @ solution).float()
    out[~torch.from_numpy(have_context | have_input)] = 0
    return out, have_context | (have_input & (int(both.sum()) >= 2))


def svd_embeddings(vectors: torch.Tensor, have: np.ndarray, dim: int, fit_rows: int = 0) -> torch.Tensor:
    """Truncated-SVD compression of teacher vectors to the student's embedding size.

    Args:
        vectors: ``(student_vocab, teacher_hidden)`` teacher vector of each student piece.
        have: ``(student_vocab,)`` bool, rows that have a teacher vector (others get small random vectors).
        dim: student embedding size.
        fit_rows: the mean, the singular vectors and the scale are fitted on the first ``fit_rows`` rows only
            (the pieces of the training text; 0 = all rows), and every row is projected with them.

    Returns:
        ``(student_vocab, dim)``: centered rows projected on the top ``dim`` right singular vectors, unit std.
    """
    mask = torch.from_numpy(have)
    fit = mask.clone()
    if fit_rows:
        fit[fit_rows:] = False
    out = torch.randn(len(have), dim) * 0.01
    if int(fit.sum()) < 2:
        return out
    mean = vectors[fit].mean(0)
    # shape: (k, teacher_hidden), economy SVD of the centered rows, k = min(n, teacher_hidden)
    _, _, vh = torch.linalg.svd(vectors[fit] - mean, full_matrices=False)
    k = min(dim, vh.size(0))
    # shape: (n, k)
    projected = (vectors[mask] - mean) @ vh[:k].T
    block = out[mask]
    block[:, :k] = projected / projected[fit[mask]].std().clamp(min=1e-6)
    out[mask] = block
    return out
