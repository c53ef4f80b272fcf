import resource

import pytest

from xtremedistil_ner.peak_memory import PeakMemory, rss_mib

MIB = 2**20


def _touch(n_mib: int) -> bytearray:
    """A buffer of ``n_mib`` MiB with every page written, so it is resident."""
    buf = bytearray(n_mib * MIB)
    buf[::4096] = b"x" * len(buf[::4096])
    return buf


def test_each_steps_peak_is_its_own_and_the_process_peak_is_kept():
    memory = PeakMemory()
    if not memory.per_step:
        pytest.skip("no /proc/self/status here: the figures are high-water marks since the process started")
    before = rss_mib() or 0.0
    memory.start()
    buf = _touch(192)  # sets the process's peak: the exact high-water mark
    first = memory.stop("first")
    del buf
    memory.start()
    buf = _touch(96)  # under the earlier peak: the sampled maximum (read again at the step's end)
    second = memory.stop("second")
    del buf
    memory.start()
    idle = memory.stop("idle")
    assert first >= before + 180
    assert before + 90 <= second <= first - 80
    assert idle <= second - 80  # the 96 MiB were freed before the third step began
    # the process's own high-water mark is untouched: /usr/bin/time and `xdner bench memory` still see it
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 >= first - 1
    assert memory.to_dict() == {"per_step": True, "steps": {"first": first, "second": second, "idle": idle}}
