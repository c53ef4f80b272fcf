"""glibc's allocator under the flat-memory pin and inside a training loop, observed through ``mallinfo2``.

Each case runs in a fresh interpreter: a pinned threshold cannot be unpinned, and the test process must keep
glibc's defaults for the tests after it.
"""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only"
)

# How many separate mmap'ed blocks a 12 MB buffer (a 60,000 x 50 float32 embedding gradient) adds while held.
PROBE = """
import ctypes, ctypes.util, sys
from xtremedistil_ner import malloc_tuning

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def mapped_blocks_of_a_gradient() -> int:
    before = libc.mallinfo2().hblks
    buffer = libc.malloc(12_000_000)
    added = libc.mallinfo2().hblks - before
    libc.free(buffer)
    return added

pin = sys.argv[1] == "pin"
if pin:
    assert malloc_tuning.pin_mmap_threshold()
outside = mapped_blocks_of_a_gradient()
with malloc_tuning.training_allocation():
    inside = mapped_blocks_of_a_gradient()
after = mapped_blocks_of_a_gradient()
print(outside, inside, after)
"""


def _probe(mode: str) -> list[int]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return [int(x) for x in done.stdout.split()]


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no libc found")
def test_training_allocation_serves_step_buffers_from_the_heap_and_restores_the_pin() -> None:
    """Pinned: a 12 MB buffer is mmap'ed outside a training loop, heap-served inside it, mmap'ed again after."""
    assert _probe("pin") == [1, 0, 1]


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no libc found")
def test_training_allocation_leaves_an_unpinned_allocator_alone() -> None:
    """Without the pin (``flat_memory = false``) glibc keeps its own rule: it raises its threshold after the
    first free, so later buffers come from the heap; the context sets nothing that would undo it on leaving."""
    assert _probe("free") == [1, 0, 0]
