"""Splitting work between processes and gathering results back (1 process: a no-op).

Under ``accelerate launch`` / ``torchrun`` every process runs the same code: each takes its share of a list
(``rank, rank + world, ...``) or of a batch, and results are gathered back into input order on every process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def share(n: int, rank: int, world: int) -> list[int]:
    """Indices ``0..n-1`` this process handles."""
    return list(range(rank, n, world))


def batch_share(ids: Sequence[int], rank: int, world: int) -> list[int]:
    """This process's part of a global batch (never empty: a batch smaller than the world repeats its first)."""
    return list(ids[rank::world]) or list(ids[:1])


def map_gathered(accelerator: Any, n: int, compute: Callable[[list[int]], list[T]]) -> list[T]:
    """``compute(indices)`` on this process's share of ``range(n)``; every process gets all ``n`` results in order.

    Args:
        accelerator: the run's Accelerator (``process_index``, ``num_processes``).
        n: number of items.
        compute: returns one result per index it is given, in the same order.
    """
    world = accelerator.num_processes
    if world == 1:
        return compute(list(range(n)))
    from accelerate.utils import gather_object

    mine = share(n, accelerator.process_index, world)
    pairs = gather_object(list(zip(mine, compute(mine), strict=True)))
    out: list[Any] = [None] * n
    for i, value in pairs:
        out[i] = value
    return out
