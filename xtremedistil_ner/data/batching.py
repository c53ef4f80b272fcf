"""Length bucketing and padding; no model code."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from xtremedistil_ner.runtime.batching import group_in_order


def bucket_batches(
    lengths: Sequence[int],
    batch_size: int = 0,
    max_tokens: int = 0,
    shuffle: bool = False,
    seed: int = 0,
    max_padding: float = 1.0,
) -> list[list[int]]:
    """Group example indices into batches of similar length to cut padding.

    Args:
        lengths: length of each example.
        batch_size: at most this many examples per batch (0: no limit).
        max_tokens: at most this many padded tokens per batch, ``len(batch) * longest`` (0: no limit).
        shuffle: shuffle within length-sorted chunks and the order of batches (seeded).
        seed: seed of the shuffle.
        max_padding: most padded share of a batch's positions (e.g. 0.05); a longer example that would push the
            batch past it starts a new batch. 1.0: no limit.

    Returns:
        Lists of indices; every index appears in exactly one batch.
    """
    if batch_size <= 0 and max_tokens <= 0:
        raise ValueError("give batch_size or max_tokens")
    generator = torch.Generator().manual_seed(seed)
    order = list(range(len(lengths)))
    if shuffle:
        # random tie-breaking among equal lengths, then sort: near-equal lengths stay together
        noise = torch.rand(len(order), generator=generator).tolist()
        order.sort(key=lambda i: (lengths[i], noise[i]))
    else:
        order.sort(key=lambda i: lengths[i])
    batches = group_in_order(lengths, order, batch_size, max_tokens, max_padding)
    if shuffle:
        perm = torch.randperm(len(batches), generator=generator).tolist()
        batches = [batches[p] for p in perm]
    return batches


def pad(sequences: Sequence[Sequence[int]], value: int = 0) -> torch.Tensor:
    """Right-pad integer sequences into a ``(batch, longest)`` long tensor."""
    longest = max((len(s) for s in sequences), default=0)
    out = torch.full((len(sequences), longest), value, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def padding_waste(batches: Sequence[Sequence[int]], lengths: Sequence[int]) -> float:
    """Fraction of padded positions over all positions of the batches."""
    total = sum(len(b) * max(lengths[i] for i in b) for b in batches if b)
    real = sum(lengths[i] for b in batches for i in b)
    return 0.0 if total == 0 else 1.0 - real / total
