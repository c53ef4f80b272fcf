"""Keep resident memory flat on glibc: big buffers always memory-mapped, freed heap pages given back.

glibc serves allocations above a threshold with ``mmap`` (returned to the OS on ``free``), but raises that
threshold each time such a buffer is freed, so after a while the big, varying-size arrays of labeling and
training come from the heap, which fragments and only grows. Measured on the transfer cache labeling (4,096
sentences per shard): peak RSS within a shard rose from 855 to 1,288 MiB over 10 shards with glibc's default;
pinned at 256 KiB it stayed at 759-780 MiB but student training slowed by ~35% (page faults on every fresh
mapping); pinned at 4 MiB (the default here) it stays at 873-890 MiB and training is ~13% slower than unpinned;
at 16 MiB it creeps up again (1,087-1,153 MiB). Elsewhere than glibc these calls do nothing.

Training is another pattern: every step allocates and frees the same buffers (a dense 60,000 x 50 embedding
gradient is 12 MB). Under the 4 MiB pin each step mapped them afresh, and because a pinned threshold also stops
glibc from raising its trim threshold (128 KiB), every step gave the heap's top back to the OS and faulted it in
again: a 2-layer student step ran at 11-13k words/s instead of 15-18k (2 AVX-512 cores, docs/RESULTS.md).
:func:`training_allocation` lifts both thresholds inside a training loop, where the step's buffers are reused
from the heap and ``malloc_trim`` every 50 steps keeps resident memory in check; it changes no result.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from collections.abc import Iterator
from typing import Any

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers in glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 4 * 2**20
TRIM_THRESHOLD_BYTES = 128 * 2**10  # glibc's default, kept once the mmap threshold is pinned
TRAINING_MMAP_THRESHOLD_BYTES = 32 * 2**20  # the largest glibc accepts on 64-bit (HEAP_MAX_SIZE / 2)
TRAINING_TRIM_THRESHOLD_BYTES = 64 * 2**20

_pinned: list[int] = []  # the pinned mmap threshold, once pin_mmap_threshold has succeeded


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def _mallopt(param: int, value: int) -> bool:
    with contextlib.suppress(OSError, AttributeError):
        return bool(_libc().mallopt(param, value))
    return False


def pin_mmap_threshold(nbytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Serve every allocation of ``nbytes`` or more with ``mmap`` from now on; True if glibc accepted it."""
    if not _mallopt(M_MMAP_THRESHOLD, nbytes):
        return False
    _pinned[:] = [nbytes]
    return True


@contextlib.contextmanager
def training_allocation() -> Iterator[None]:
    """Inside: buffers up to 32 MiB come from the heap and its top is kept (up to 64 MiB) between steps.

    A no-op unless :func:`pin_mmap_threshold` pinned the threshold; on leaving, the pin and glibc's default trim
    threshold are back and the heap is trimmed.
    """
    if not _pinned:
        yield
        return
    _mallopt(M_MMAP_THRESHOLD, TRAINING_MMAP_THRESHOLD_BYTES)
    _mallopt(M_TRIM_THRESHOLD, TRAINING_TRIM_THRESHOLD_BYTES)
    try:
        yield
    finally:
        _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
        _mallopt(M_MMAP_THRESHOLD, _pinned[0])
        trim_heap()


def trim_heap() -> None:
    """Give the heap's free pages back to the OS (``malloc_trim``)."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)
