"""Dropout with a cheaper mask: four 16-bit draws out of each 64-bit random number.

On CPU torch's generator is one thread, and ``nn.Dropout`` asks it for one number per element (``bernoulli_``):
fine-tuning multilingual-e5-small spent 13-18% of a step there (py-spy and ``torch.profiler``, docs/RESULTS.md).
:class:`CheapDropout` draws ``ceil(n / 4)`` 64-bit integers over the whole 64-bit range and reads them as ``n``
16-bit lanes, each uniform on [-32768, 32767]; an element is kept when its lane is at least
``-32768 + round(p * 65536)``, so the drop rate is ``p`` to within 1/131072. Kept elements are scaled by
``1 / (1 - p)`` as in ``nn.Dropout``. The numbers come from torch's default generator of the tensor's device:
seeding and resuming stay deterministic, but the masks differ from ``nn.Dropout``'s for the same seed.
The student has its own ``student/dropout.py`` (one float32 uniform an element, ~2.6x cheaper than
``bernoulli_``); its figures were measured with that one, so it is left as it is.
"""

from __future__ import annotations

import torch
from torch import nn

_LANES = 4  # int16 lanes in one int64
_SPAN = 1 << 16


class CheapDropout(nn.Module):
    """``nn.Dropout(p)`` (not in place) with masks from 16-bit lanes of 64-bit random numbers.

    Args:
        p: drop probability, ``0 <= p < 1``.

    Shapes: any input ``(*)``; output ``(*)``, same dtype and device.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.threshold = -(_SPAN // 2) + round(p * _SPAN)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with each element zeroed with probability ``p``, the rest scaled by ``1 / (1 - p)``; ``x`` in eval."""
        if not self.training or self.p == 0.0:
            return x
        n = x.numel()
        words = torch.empty((n + _LANES - 1) // _LANES, dtype=torch.int64, device=x.device)
        words.random_(torch.iinfo(torch.int64).min, None)  # the whole 64-bit range: every lane uniform
        keep = words.view(torch.int16)[:n].view(x.shape) >= self.threshold
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        """Shown in the module's repr, as ``nn.Dropout`` shows ``p``."""
        return f"p={self.p}"


def swap_dropout(model: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """Replace every ``nn.Dropout`` submodule of ``model`` by a :class:`CheapDropout` of the same ``p``.

    Dropout applied functionally inside a module (e.g. attention probabilities in ``scaled_dot_product_attention``)
    is not reached. Returns what was replaced, for :func:`restore_dropout`.
    """
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                setattr(parent, name, CheapDropout(child.p).train(child.training))  # the mode it replaces
                swapped.append((parent, name, child))
    return swapped


def restore_dropout(swapped: list[tuple[nn.Module, str, nn.Module]]) -> None:
    """Put back the modules :func:`swap_dropout` replaced."""
    for parent, name, original in swapped:
        setattr(parent, name, original)
