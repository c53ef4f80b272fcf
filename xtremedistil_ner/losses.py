"""Distillation losses: pure functions over word-level tensors with ``(batch, seq)`` bool masks.

Temperature convention (Hinton et al. 2015): ``soft_kl`` compares softmax(teacher / T) with
log_softmax(student / T) and multiplies by ``T**2`` so gradient magnitudes do not shrink as T grows.
Masked positions never contribute: every loss is a mean over real words. The soft losses share one input,
:class:`SoftInputs`, and sit in one registry, :data:`SOFT_LOSSES` (the values of ``distill.soft_loss``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from xtremedistil_ner.student.crf import CRF


@dataclass(frozen=True)
class SoftInputs:
    """What a soft loss compares.

    Attributes:
        student_logits: ``(batch, seq, num_tags)`` student emissions.
        teacher_logits: ``(batch, seq, num_tags)``.
        mask: ``(batch, seq)`` bool, True on real words.
        temperature: softens the teacher distribution (``kl``, ``crf``).
        crf: the student's CRF (``crf`` only).
    """

    student_logits: torch.Tensor
    teacher_logits: torch.Tensor
    mask: torch.Tensor
    temperature: float = 1.0
    crf: CRF | None = None


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` ``(batch, seq)`` over True positions of ``mask``."""
    maskf = mask.to(values.dtype)
    return (values * maskf).sum() / maskf.sum().clamp(min=1)


def _masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real words of the mean squared difference of ``(batch, seq, d)`` ``a`` and ``b``."""
    diff = (a - b).masked_fill(~mask.unsqueeze(-1), 0.0)
    return _masked_mean(diff.pow(2).mean(-1), mask)


def soft_mse(x: SoftInputs) -> torch.Tensor:
    """Mean squared error between student emissions and teacher logits (the paper's soft loss)."""
    return _masked_mse(x.student_logits, x.teacher_logits, x.mask)


def soft_kl(x: SoftInputs) -> torch.Tensor:
    """``T**2 * KL(softmax(teacher / T) || softmax(student / T))`` averaged over real words."""
    t = x.temperature
    teacher = F.log_softmax(x.teacher_logits / t, dim=-1)
    student = F.log_softmax(x.student_logits / t, dim=-1)
    kl = (teacher.exp() * (teacher - student)).sum(-1).masked_fill(~x.mask, 0.0)
    return _masked_mean(kl, x.mask) * t * t


def soft_crf_marginals(
    student_marginals: torch.Tensor,
    teacher_logits: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Cross-entropy of the student's CRF posteriors against the teacher's word distributions.

    Args:
        student_marginals: ``(batch, seq, num_tags)`` CRF marginals p(y_t | x).
        teacher_logits: ``(batch, seq, num_tags)``.
        mask: ``(batch, seq)`` bool.
        temperature: softens the teacher distribution.
    """
    teacher = F.softmax(teacher_logits / temperature, dim=-1)
    ce = -(teacher * student_marginals.clamp(min=1e-8).log()).sum(-1).masked_fill(~mask, 0.0)
    return _masked_mean(ce, mask)


def soft_crf(x: SoftInputs) -> torch.Tensor:
    """:func:`soft_crf_marginals` on the posteriors of the student's own CRF over its emissions.

    Raises:
        ValueError: no ``crf`` in ``x``.
    """
    if x.crf is None:
        raise ValueError("soft_loss 'crf' needs the student's CRF (SoftInputs.crf)")
    marginals = x.crf.marginals(x.student_logits, x.mask)
    return soft_crf_marginals(marginals, x.teacher_logits, x.mask, x.temperature)


def hidden_mse(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE between projected student states and the teacher layer.

    Args:
        student_hidden: ``(batch, seq, teacher_hidden)`` student states after the projection.
        teacher_hidden: ``(batch, seq, teacher_hidden)``.
        mask: ``(batch, seq)`` bool.
    """
    return _masked_mse(student_hidden, teacher_hidden, mask)


SoftLoss = Callable[[SoftInputs], torch.Tensor]
"""Every soft loss: :class:`SoftInputs` -> a scalar, the mean over real words."""

SOFT_LOSSES: dict[str, SoftLoss] = {"mse": soft_mse, "kl": soft_kl, "crf": soft_crf}
