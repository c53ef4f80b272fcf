"""bfloat16 autocast for the teacher: where the device computes it natively, and the context that applies it."""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path
from typing import Literal

import torch

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of CPUs with bfloat16 arithmetic


@cache
def cpu_has_bf16() -> bool:
    """True when the CPU has bfloat16 instructions (AVX-512 BF16 or AMX); elsewhere bf16 is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def use_bf16(setting: Literal["no", "bf16", "auto"], device: torch.device | str) -> bool:
    """Resolve a ``teacher.autocast`` setting for ``device`` (``auto``: native bf16 only)."""
    if setting != "auto":
        return setting == "bf16"
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.is_bf16_supported()
    return kind == "cpu" and cpu_has_bf16()


def autocast(enabled: bool, device: torch.device | str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` in bfloat16 on ``device`` when ``enabled``, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
