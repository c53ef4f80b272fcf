"""An exponential moving average of a module's trainable weights (Polyak averaging), for dev scoring and keeping.

The average follows the weights step by step: ``avg = d * avg + (1 - d) * w`` with ``d = min(decay, (1 + k) /
(10 + k))`` after ``k`` earlier updates, so it tracks the weights closely in a stage's first steps and averages over
about ``1 / (1 - decay)`` steps later. :meth:`WeightAverage.applied` puts the average into the module for a while
(a dev evaluation, copying the state to keep) and then the trained weights back, untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

UPDATES_KEY = "__updates__"


class WeightAverage:
    """The running average of ``module``'s parameters that have ``requires_grad`` when it is made.

    Args:
        module: the model being trained (its parameters are read, never replaced).
        decay: the average's decay per step, in (0, 1).
    """

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight average decay must be in (0, 1), not {decay}")
        self.decay = decay
        self.params = {name: p for name, p in module.named_parameters() if p.requires_grad}
        self.shadow = {name: p.detach().clone() for name, p in self.params.items()}
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current weights in (call after each optimizer step)."""
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, param in self.params.items():
            self.shadow[name].mul_(d).add_(param.detach(), alpha=1.0 - d)
        self.updates += 1

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The module holds the averaged weights inside the block, its trained weights again after it."""
        with torch.no_grad():
            trained = {name: p.detach().clone() for name, p in self.params.items()}
            for name, param in self.params.items():
                param.copy_(self.shadow[name])
        try:
            yield
        finally:
            with torch.no_grad():
                for name, param in self.params.items():
                    param.copy_(trained[name])

    def state(self) -> dict[str, torch.Tensor]:
        """The average and its update count as tensors (for a resume checkpoint)."""
        out = {name: t.detach().cpu().contiguous() for name, t in self.shadow.items()}
        out[UPDATES_KEY] = torch.tensor(self.updates, dtype=torch.int64)
        return out

    def load(self, state: Mapping[str, torch.Tensor]) -> None:
        """Continue from :meth:`state`'s output.

        Raises:
            ValueError: ``state`` is of other parameters.
        """
        names = set(state) - {UPDATES_KEY}
        if names != set(self.shadow):
            raise ValueError("the saved weight average is of other parameters")
        with torch.no_grad():
            for name in names:
                self.shadow[name].copy_(state[name])
        self.updates = int(state[UPDATES_KEY])
