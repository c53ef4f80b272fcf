"""Keep resident memory flat on glibc: big buffers always memory-mapped, freed heap pages given back.

glibc serves allocations above a threshold with ``mmap`` (returned to the OS on ``free``), but raises that
threshold each time such a buffer is freed, so after a while the big, varying-size arrays of labeling and
training come from the heap, which fragments and only grows. Measured on the transfer cache labeling (4,096
sentences per shard): peak RSS within a shard rose from 855 to 1,288 MiB over 10 shards with glibc's default;
pinned at 256 KiB it stayed at 759-780 MiB but student training slowed by ~35% (page faults on every fresh
mapping); pinned at 4 MiB (the default here) it stays at 873-890 MiB and training is ~13% slower than unpinned;
at 16 MiB it creeps up again (1,087-1,153 MiB). Elsewhere than glibc both calls do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 4 * 2**20


@functools.cache
def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def pin_mmap_threshold(nbytes: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Serve every allocation of ``nbytes`` or more with ``mmap`` from now on; True if glibc accepted it."""
    with contextlib.suppress(OSError, AttributeError):
        return bool(_libc().mallopt(M_MMAP_THRESHOLD, nbytes))
    return False


def trim_heap() -> None:
    """Give the heap's free pages back to the OS (``malloc_trim``)."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)
