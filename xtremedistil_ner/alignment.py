"""Subword -> word alignment: pure index math over ``word_ids``; no tokenizer, no model.

The rule (like slovnet's BERT encoder and the transformers NER example): **a word is represented by its first
subword**. With SentencePiece, a word can start with a bare ``▁`` piece that carries no content (e.g. ``▁`` +
``「``); such pieces are passed as ``skip`` and the word's first *other* piece represents it. Only a word made
of nothing but skipped pieces falls back to the bare piece. ``mean`` and ``max`` pool over the word's non-skipped
pieces instead. Teacher labels during fine-tuning go on the same representative piece, so training and
distillation read the same position.

Sentences longer than the teacher's window are split into windows of whole words (:func:`word_windows`), never
cut: every word gets an output row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

Pooling = Literal["first", "mean", "max"]
NO_WORD = -1


def word_windows(word_ids: Sequence[int], max_pieces: int) -> list[tuple[int, int]]:
    """Split a sentence's pieces into consecutive windows of whole words.

    Args:
        word_ids: word index of every piece, special tokens excluded, non-decreasing (length ``n_pieces``).
        max_pieces: the most pieces a window may hold (the teacher's max length minus its special tokens).

    Returns:
        ``(start, end)`` piece ranges covering every piece in order. A single word longer than ``max_pieces``
        gets its own window holding its first ``max_pieces`` pieces (its later pieces are dropped; its first
        piece, which carries the word's output, is always kept).
    """
    if max_pieces < 1:
        raise ValueError(f"max_pieces must be >= 1, got {max_pieces}")
    windows: list[tuple[int, int]] = []
    n = len(word_ids)
    start = 0
    while start < n:
        end = min(start + max_pieces, n)
        if end < n and word_ids[end] == word_ids[end - 1]:
            # Do not split a word: step back to the start of the word that straddles the boundary.
            cut = end - 1
            while cut > start and word_ids[cut - 1] == word_ids[end]:
                cut -= 1
            if cut > start:
                end = cut
            else:  # one word longer than the window: keep its first pieces, skip the rest of it
                windows.append((start, end))
                word = word_ids[start]
                while end < n and word_ids[end] == word:
                    end += 1
                start = end
                continue
        windows.append((start, end))
        start = end
    return windows


def representative_mask(word_index: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
    """Mark the one piece that represents each word.

    Args:
        word_index: ``(batch, seq)`` long, the word of each piece or ``NO_WORD`` (specials, padding).
        skip: ``(batch, seq)`` bool, pieces to pass over when the word has others (bare ``▁``).

    Returns:
        ``(batch, seq)`` bool, exactly one ``True`` per word present in ``word_index``.
    """
    batch, seq = word_index.shape
    valid = word_index >= 0
    skip = torch.zeros_like(valid) if skip is None else skip & valid
    width = int(word_index.max().item()) + 1 if valid.any() else 1
    # shape: (batch, seq) - flat slot of each piece's word; invalid pieces go to a dump slot
    slot = torch.where(
        valid, word_index + torch.arange(batch, device=word_index.device).unsqueeze(1) * width, batch * width
    )
    position = torch.arange(seq, device=word_index.device).expand(batch, seq)
    key = position + skip.long() * seq  # prefer non-skipped pieces, then the earliest
    best = torch.full((batch * width + 1,), 2 * seq, dtype=torch.long, device=word_index.device)
    best.scatter_reduce_(0, slot.flatten(), key.flatten(), reduce="amin")
    return valid & (best[slot] == key)


def pool_to_words(
    values: torch.Tensor,
    word_index: torch.Tensor,
    num_words: int,
    mode: Pooling = "first",
    skip: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reduce piece-level rows to word-level rows.

    Args:
        values: ``(batch, seq, dim)`` piece outputs (logits or hidden states).
        word_index: ``(batch, seq)`` long, word of each piece or ``NO_WORD``.
        num_words: width of the output (at least the largest word index + 1).
        mode: ``first`` (representative piece), ``mean`` or ``max`` over the word's non-skipped pieces.
        skip: ``(batch, seq)`` bool, bare pieces to ignore when the word has others.

    Returns:
        ``(batch, num_words, dim)``; rows of words absent from a sentence are zero.
    """
    batch, seq, dim = values.shape
    valid = word_index >= 0
    if mode == "first":
        use = representative_mask(word_index, skip)
    else:
        use = valid if skip is None else valid & ~skip
        # a word made only of skipped pieces keeps them
        covered = torch.zeros(batch, num_words + 1, dtype=torch.bool, device=word_index.device)
        covered.scatter_reduce_(1, torch.where(use, word_index, num_words), use, reduce="amax")
        use = use | (valid & ~covered.gather(1, torch.where(valid, word_index, num_words)))
    # shape: (batch, seq) - target row per piece, unused pieces go to the dump row `num_words`
    target = torch.where(use, word_index, num_words)
    index = target.unsqueeze(-1).expand(batch, seq, dim)
    out = torch.zeros(batch, num_words + 1, dim, dtype=values.dtype, device=values.device)
    if mode == "max":
        out.fill_(float("-inf"))
        out.scatter_reduce_(1, index, values, reduce="amax", include_self=True)
        out = torch.where(torch.isinf(out), torch.zeros_like(out), out)
    else:
        out.scatter_add_(1, index, values)
        if mode == "mean":
            counts = torch.zeros(batch, num_words + 1, dtype=values.dtype, device=values.device)
            counts.scatter_add_(1, target, use.to(values.dtype))
            out = out / counts.clamp(min=1).unsqueeze(-1)
    return out[:, :num_words]
