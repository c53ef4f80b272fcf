"""Peak resident memory of each step of a run, not only of the whole process.

``ru_maxrss`` is a process's high-water mark since it started: after a teacher fine-tuning that held 5 GB, it says
nothing about labeling or the student. Linux (4.0 and later) resets the mark when ``5`` is written to
``/proc/self/clear_refs`` and reports it as ``VmHWM`` in ``/proc/self/status``; :class:`PeakMemory` does that at
the start of a step and reads it at the end. Where that is not possible (another OS, a locked-down ``/proc``)
the figure is the high-water mark since the process started, and :attr:`PeakMemory.per_step` says so.
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def reset_peak() -> bool:
    """Start a new high-water mark of resident memory here; False where the OS offers no way to."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """The high-water mark of this process's resident memory in MiB: since :func:`reset_peak`, where it worked."""
    try:
        found = re.search(r"^VmHWM:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        found = None
    if found:
        return int(found.group(1)) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class PeakMemory:
    """Peak RSS per named step: ``start()`` before the step, ``stop(name)`` after it.

    Attributes:
        per_step: True when every figure is the step's own peak; False when a reset failed and the figures are
            high-water marks since the process started (each at least every earlier one).
        peaks_mib: step name -> peak resident memory in MiB, rounded to 0.1.
    """

    def __init__(self) -> None:
        self.per_step = True
        self.peaks_mib: dict[str, float] = {}

    def start(self) -> None:
        """Reset the high-water mark (where possible) before a step."""
        if not reset_peak():
            self.per_step = False

    def stop(self, name: str) -> float:
        """Record and return the peak since :meth:`start` as step ``name``'s (MiB)."""
        peak = round(peak_rss_mib(), 1)
        self.peaks_mib[name] = peak
        return peak

    def to_dict(self) -> dict[str, object]:
        """For ``report.json``'s ``throughput``: the peaks (MiB) and whether they are per step."""
        return {"per_step": self.per_step, "steps": dict(self.peaks_mib)}
