import sys

import pytest

from xtremedistil_ner.peak_memory import PeakMemory, peak_rss_mib

MIB = 2**20


def _touch(n_mib: int) -> bytearray:
    """A buffer of ``n_mib`` MiB with every page written, so it is resident."""
    buf = bytearray(n_mib * MIB)
    buf[::4096] = b"x" * len(buf[::4096])
    return buf


def test_a_steps_peak_holds_what_it_allocated_and_the_next_step_starts_afresh():
    memory = PeakMemory()
    memory.start()
    before = peak_rss_mib()
    buf = _touch(96)
    big = memory.stop("big")
    del buf
    memory.start()
    small = memory.stop("small")
    assert big >= before + 90
    if not sys.platform.startswith("linux") or not memory.per_step:
        pytest.skip("this OS cannot reset the high-water mark: figures are since the process started")
    assert small <= big - 80  # the 96 MiB buffer was freed before the second step began
    assert memory.to_dict() == {"per_step": True, "steps": {"big": big, "small": small}}
