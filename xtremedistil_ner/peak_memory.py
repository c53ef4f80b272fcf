"""Peak resident memory of each step of a run, not only of the whole process.

``ru_maxrss`` is a process's high-water mark since it started: after a teacher fine-tuning that held 5 GB, it says
nothing about labeling or the student. Linux's ``/proc/self/status`` gives the resident size now (``VmRSS``)
and the high-water mark (``VmHWM``). A step's peak is exact when the step raised the high-water mark (it is the
mark at its end); otherwise the step stayed under an earlier step's peak, and its own is the largest ``VmRSS``
a sampling thread saw during it (every 0.25 s; a spike shorter than that can be missed, never one that sets
the process's peak). The mark is never reset (``/proc/self/clear_refs`` could, but that also resets what
``/usr/bin/time`` and ``xdner bench memory`` report for the whole process). Without ``/proc`` (another OS) the
figure is the high-water mark since the process started, and :attr:`PeakMemory.per_step` says so.
"""

from __future__ import annotations

import re
import resource
import sys
import threading
import time
from pathlib import Path

_STATUS = Path("/proc/self/status")
SAMPLE_SECONDS = 0.25


def _status_kib(field: str) -> int | None:
    """``field`` (``VmRSS``, ``VmHWM``) of ``/proc/self/status`` in KiB; None without it."""
    try:
        found = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def rss_mib() -> float | None:
    """This process's resident memory now, in MiB; None without ``/proc``."""
    rss = _status_kib("VmRSS")
    return None if rss is None else rss / 1024


def peak_rss_mib() -> float:
    """The high-water mark of this process's resident memory since it started, in MiB."""
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class PeakMemory:
    """Peak RSS per named step: ``start()`` before the step, ``stop(name)`` after it (one step at a time).

    Attributes:
        per_step: True when each figure is the step's own peak; False without ``/proc`` (figures are then the
            high-water mark since the process started, each at least every earlier one).
        peaks_mib: step name -> peak resident memory in MiB, rounded to 0.1.
    """

    def __init__(self) -> None:
        self.per_step = _status_kib("VmRSS") is not None
        self.peaks_mib: dict[str, float] = {}
        self._hwm_at_start = 0
        self._sampled = 0
        self._step = 0
        self._lock = threading.Lock()
        self._sampler: threading.Thread | None = None

    def _sample(self) -> None:
        while True:
            with self._lock:
                step = self._step
            rss = _status_kib("VmRSS") or 0
            with self._lock:
                if step == self._step:  # a reading begun before a step started belongs to the step before
                    self._sampled = max(self._sampled, rss)
            time.sleep(SAMPLE_SECONDS)

    def start(self) -> None:
        """Begin a step: note the high-water mark, restart the sampled maximum from the resident size now."""
        if not self.per_step:
            return
        self._hwm_at_start = _status_kib("VmHWM") or 0
        with self._lock:
            self._step += 1
            self._sampled = _status_kib("VmRSS") or 0
        if self._sampler is None:
            self._sampler = threading.Thread(target=self._sample, name="xdner-peak-rss", daemon=True)
            self._sampler.start()

    def stop(self, name: str) -> float:
        """Record and return step ``name``'s peak since :meth:`start` (MiB)."""
        if not self.per_step:
            peak = peak_rss_mib()
        else:
            hwm = _status_kib("VmHWM") or 0
            with self._lock:
                sampled = max(self._sampled, _status_kib("VmRSS") or 0)
            peak = (hwm if hwm > self._hwm_at_start else sampled) / 1024
        self.peaks_mib[name] = round(peak, 1)
        return self.peaks_mib[name]

    def to_dict(self) -> dict[str, object]:
        """For ``report.json``'s ``throughput``: the peaks (MiB) and whether they are per step."""
        return {"per_step": self.per_step, "steps": dict(self.peaks_mib)}
