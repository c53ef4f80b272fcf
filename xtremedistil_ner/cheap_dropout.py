"""Dropout with a cheaper mask: four 16-bit draws out of each 64-bit random number.

On CPU torch's generator is one thread, and ``nn.Dropout`` asks it for one number per element (``bernoulli_``):
fine-tuning multilingual-e5-small spent 13-18% of a step there (py-spy and ``torch.profiler``, docs/RESULTS.md).
:class:`CheapDropout` draws ``ceil(n / 4)`` 64-bit integers over the whole 64-bit range and reads them as ``n``
16-bit lanes, each uniform on [-32768, 32767]; an element is kept when its lane is at least
``-32768 + round(p * 65536)``, so the drop rate is ``p`` to within 1/131072. Kept elements are scaled by
``1 / (1 - p)`` as in ``nn.Dropout``. The numbers come from torch's default generator of the tensor's device:
seeding and resuming stay deterministic, but the masks differ from ``nn.Dropout``'s for the same seed.
The student's ``student/dropout.py`` shares the frame, :class:`MaskDropout`, with its own mask (one float32
uniform an element, ~2.6x cheaper than ``bernoulli_``; its figures were measured with that one).
Until 2026-12-07 (the runs of commits up to ddc8532) ``CheapDropout`` multiplied by ``keep.to(x.dtype) * scale``:
in bf16 the scale was rounded to bf16 (1.109375 for ``p = 0.1``, kept values 0.16% small); now as ``nn.Dropout``.
"""

from __future__ import annotations

import torch
from torch import nn

_LANES = 4  # int16 lanes in one int64
_SPAN = 1 << 16


class MaskDropout(nn.Module):
    """Inverted dropout whose keep mask comes from :meth:`keep_mask`: the frame shared by the cheaper masks.

    Kept elements are scaled by ``1 / (1 - p)`` as ``nn.Dropout`` does (``x * keep * scale``, the scale applied in
    the computation's precision, not rounded to a bf16 tensor first); in eval mode, or with ``p == 0``, the input
    comes back as it is.

    Args:
        p: drop probability, ``0 <= p < 1``.

    Shapes: any input ``(*)``; output ``(*)``, same dtype and device.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def keep_mask(self, x: torch.Tensor) -> torch.Tensor:
        """A bool tensor of ``x``'s shape, each element ``True`` with probability ``1 - p``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with each element zeroed with probability ``p``, the rest scaled by ``1 / (1 - p)``; ``x`` in eval."""
        if not self.training or self.p == 0.0:
            return x
        return x * self.keep_mask(x).to(x.dtype) * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        """Shown in the module's repr, as ``nn.Dropout`` shows ``p``."""
        return f"p={self.p}"


class CheapDropout(MaskDropout):
    """``nn.Dropout(p)`` (not in place) with masks from 16-bit lanes of 64-bit random numbers.

    Args:
        p: drop probability, ``0 <= p < 1``.

    Shapes: any input ``(*)``; output ``(*)``, same dtype and device.
    """

    def __init__(self, p: float) -> None:
        super().__init__(p)
        self.threshold = -(_SPAN // 2) + round(p * _SPAN)

    def keep_mask(self, x: torch.Tensor) -> torch.Tensor:
        """``ceil(numel / 4)`` 64-bit draws read as 16-bit lanes, kept where a lane is at least the threshold."""
        n = x.numel()
        words = torch.empty((n + _LANES - 1) // _LANES, dtype=torch.int64, device=x.device)
        words.random_(torch.iinfo(torch.int64).min, None)  # the whole 64-bit range: every lane uniform
        return words.view(torch.int16)[:n].view(x.shape) >= self.threshold


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
