"""Greedy grouping of length-ordered examples into batches (no randomness, no torch)."""

from __future__ import annotations

from collections.abc import Sequence


def group_in_order(
    lengths: Sequence[int], order: Sequence[int], batch_size: int = 0, max_tokens: int = 0, max_padding: float = 1.0
) -> list[list[int]]:
    """Cut ``order`` (example indices, usually sorted by length) into consecutive batches.

    Args:
        lengths: length of each example.
        order: the indices to group, in the order they are taken.
        batch_size: at most this many examples per batch (0: no limit).
        max_tokens: at most this many padded tokens per batch, ``len(batch) * longest`` (0: no limit).
        max_padding: most padded share of a batch's positions (e.g. 0.05); a longer example that would push the
            batch past it starts a new batch. 1.0: no limit.

    Returns:
        Lists of indices, in ``order``; every index of ``order`` appears in exactly one batch.
    """
    if batch_size <= 0 and max_tokens <= 0:
        raise ValueError("give batch_size or max_tokens")
    batches: list[list[int]] = []
    current: list[int] = []
    longest = real = 0
    for i in order:
        longest_if = max(longest, lengths[i])
        padded_if = longest_if * (len(current) + 1)
        too_many = batch_size > 0 and len(current) >= batch_size
        too_long = max_tokens > 0 and current and padded_if > max_tokens
        too_padded = max_padding < 1.0 and current and padded_if - real - lengths[i] > max_padding * padded_if
        if current and (too_many or too_long or too_padded):
            batches.append(current)
            current, longest_if, real = [], lengths[i], 0
        current.append(i)
        longest = longest_if
        real += lengths[i]
    if current:
        batches.append(current)
    return batches


def by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of at most ``batch_size`` examples of similar length (shortest first), for inference."""
    return group_in_order(lengths, sorted(range(len(lengths)), key=lambda i: lengths[i]), batch_size=batch_size)
