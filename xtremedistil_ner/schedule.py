"""The distillation schedule as data: a list of :class:`Stage` built from the recipe.

``unfreeze = "gradual"`` expands one declared stage into top-down sub-stages: first only the head trains, then
the head and the top BiLSTM layer, and so on down to the embeddings (XtremeDistil's best schedule).
The ``hidden`` objective trains everything below the head (the head cannot learn from hidden states).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from xtremedistil_ner.config import LrDecay, Objective, StageConfig


@dataclass(frozen=True)
class Stage:
    """One training stage: an objective, the data it reads, the trainable module prefixes, its length.

    ``soft_mix`` (gold stages): weight of the soft loss on a transfer batch added to each step.
    ``patience``: dev evaluations in a row without a better checkpoint that end the stage (0 = never).
    ``evals``: dev evaluations in the stage (0 = ``distill.evals_per_stage``).
    ``lr_decay``: ``constant`` or ``linear`` (the lr falls to 0 at the stage's last planned step).
    """

    name: str
    objective: Objective
    data: str
    trainable: tuple[str, ...]
    epochs: float
    lr: float = 0.0
    soft_mix: float = 0.0
    patience: int = 0
    evals: int = 0
    lr_decay: LrDecay = "constant"


def _stage(declared: StageConfig, name: str, trainable: tuple[str, ...]) -> Stage:
    """One concrete stage of ``declared``: gold stages read the labeled data, the others the transfer set."""
    data = "labeled" if declared.objective == "gold" else "transfer"
    return Stage(
        name,
        declared.objective,
        data,
        trainable,
        epochs=declared.epochs,
        lr=declared.lr,
        soft_mix=declared.soft_mix,
        patience=declared.patience,
        evals=declared.evals,
        lr_decay=declared.lr_decay,
    )


def build_schedule(
    stages: Sequence[StageConfig], layers: Sequence[str], freeze_embeddings: bool = False
) -> list[Stage]:
    """Expand declared stages into concrete ones.

    Args:
        stages: the recipe's stages.
        layers: student groups bottom to top, e.g. ``("embedding", "lstm.0", "lstm.1", "head")``.
        freeze_embeddings: keep ``embedding`` frozen in every stage.

    Returns:
        The stages in order, each with its trainable prefixes.
    """
    bottom_up = [name for name in layers if not (freeze_embeddings and name == "embedding")]
    out: list[Stage] = []
    for declared in stages:
        if declared.objective == "hidden":
            out.append(_stage(declared, "hidden", (*tuple(n for n in bottom_up if n != "head"), "projection")))
        elif declared.unfreeze == "gradual":
            for depth in range(1, len(bottom_up) + 1):
                top = tuple(bottom_up[-depth:])
                out.append(_stage(declared, f"{declared.objective}/unfreeze:{top[0]}", top))
        else:
            out.append(_stage(declared, f"{declared.objective}/all", tuple(bottom_up)))
    return out


def set_trainable(module: nn.Module, prefixes: Sequence[str]) -> int:
    """Make exactly the parameters under ``prefixes`` trainable; return how many parameters that is."""
    count = 0
    for name, param in module.named_parameters():
        on = any(name == p or name.startswith(p + ".") for p in prefixes)
        param.requires_grad_(on)
        count += param.numel() if on else 0
    return count
