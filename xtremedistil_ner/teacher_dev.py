"""Choosing the teacher's fine-tuning checkpoint on dev: score every N steps, keep the best weights in memory.

Only trainable parameters are kept (frozen embeddings are most of a small encoder and never change), so a
kept checkpoint of multilingual-e5-small with frozen embeddings costs ~90 MB, not ~470 MB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class DevCheckpoint:
    """Dev scoring during fine-tuning and the best-dev weights.

    Attributes:
        every: score after every ``every`` steps and after the last one (``total``).
        total: the fine-tuning's step count.
        score: ``model -> dev F1`` in 0..1 (the caller puts the model in eval mode and back).
        curve: ``(step, dev F1)`` of every scoring, in order.
        best_step: the step whose weights are kept (the first of equal scores); 0 before any scoring.
    """

    every: int
    total: int
    score: Callable[[torch.nn.Module], float]
    curve: list[tuple[int, float]] = field(default_factory=list)
    best_step: int = 0
    _best: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def best_f1(self) -> float:
        """Dev F1 of the kept step (-1 before any scoring)."""
        return dict(self.curve).get(self.best_step, -1.0)

    def due(self, step: int) -> bool:
        """Whether ``step`` (steps done) is a scoring point."""
        return self.every > 0 and (step % self.every == 0 or step == self.total)

    def after_step(self, step: int, model: torch.nn.Module) -> float | None:
        """Score ``model`` if ``step`` is due; keep its trainable weights when they are the best so far."""
        if not self.due(step):
            return None
        f1 = float(self.score(model))
        if f1 > self.best_f1:
            self.best_step = step
            self._best = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        self.curve.append((step, f1))
        return f1

    def restore(self, model: torch.nn.Module) -> bool:
        """Put the best-dev weights back into ``model``; False when the last scored step is already the best."""
        if not self.curve or self.best_step == self.curve[-1][0]:
            return False
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in self._best:
                    p.copy_(self._best[name])
        return True

    def to_dict(self) -> dict[str, Any]:
        """The curve and the kept step, for ``OUT/teacher_dev_curve.json`` (F1 in percent)."""
        return {
            "every": self.every,
            "total_steps": self.total,
            "best_step": self.best_step,
            "best_f1": round(100 * self.best_f1, 2),
            "curve": [{"step": s, "f1": round(100 * f, 2)} for s, f in self.curve],
        }

    def summary(self) -> str:
        """One line: the dev F1 at each scored step and the step kept."""
        points = ", ".join(f"{s} {100 * f:.2f}" for s, f in self.curve)
        return f"teacher dev F1 by step: {points}; kept step {self.best_step}"
