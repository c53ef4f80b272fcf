"""Distillation losses: pure functions over word-level tensors with ``(batch, seq)`` bool masks.

Temperature convention (Hinton et al. 2015): ``soft_kl`` compares softmax(teacher / T) with
log_softmax(student / T) and multiplies by ``T**2`` so gradient magnitudes do not shrink as T grows.
Masked positions never contribute: every loss is a mean over real words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from xtremedistil_ner.student.crf import CRF


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` ``(batch, seq)`` over True positions of ``mask``."""
    maskf = mask.to(values.dtype)
    return (values * maskf).sum() / maskf.sum().clamp(min=1)


def soft_mse(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
    crf: CRF | None = None,
) -> torch.Tensor:
    """Mean squared error between student emissions and teacher logits.

    Args:
        student_logits: ``(batch, seq, num_tags)``.
        teacher_logits: ``(batch, seq, num_tags)``.
        mask: ``(batch, seq)`` bool.
        temperature: unused (the registry's common signature).
        crf: unused (the registry's common signature).
    """
    return _masked_mse(student_logits, teacher_logits, mask)


def soft_kl(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
    crf: CRF | None = None,
) -> torch.Tensor:
    """``T**2 * KL(softmax(teacher / T) || softmax(student / T))`` averaged over real words.

    Shapes as :func:`soft_mse`; ``temperature`` is T; ``crf`` is unused.
    """
    t = temperature
    teacher = F.log_softmax(teacher_logits / t, dim=-1)
    student = F.log_softmax(student_logits / t, dim=-1)
    kl = (teacher.exp() * (teacher - student)).sum(-1).masked_fill(~mask, 0.0)
    return _masked_mean(kl, mask) * t * t


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


def hidden_mse(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """MSE between projected student states and the teacher layer.

    Args:
        student_hidden: ``(batch, seq, teacher_hidden)`` student states after the projection.
        teacher_hidden: ``(batch, seq, teacher_hidden)``.
        mask: ``(batch, seq)`` bool.
    """
    return _masked_mse(student_hidden, teacher_hidden, mask)


def _masked_mse(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real words of the mean squared difference of ``(batch, seq, d)`` ``a`` and ``b``."""
    diff = (a - b).masked_fill(~mask.unsqueeze(-1), 0.0)
    return _masked_mean(diff.pow(2).mean(-1), mask)


def soft_crf(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    mask: torch.Tensor,
    temperature: float = 1.0,
    crf: CRF | None = None,
) -> torch.Tensor:
    """:func:`soft_crf_marginals` on the posteriors of the student's own ``crf`` over its emissions.

    Shapes as :func:`soft_mse`.

    Raises:
        ValueError: no ``crf`` given.
    """
    if crf is None:
        raise ValueError("soft_loss 'crf' needs the student's CRF (crf=...)")
    return soft_crf_marginals(crf.marginals(student_logits, mask), teacher_logits, mask, temperature)


class SoftLoss(Protocol):
    """One signature for every soft loss.

    Student emissions and teacher logits ``(batch, seq, num_tags)``, a ``(batch, seq)`` bool mask, the
    temperature and the student's CRF (used by ``crf`` only) -> a scalar.
    """

    def __call__(
        self,
        student_logits: torch.Tensor,
        teacher_logits: torch.Tensor,
        mask: torch.Tensor,
        temperature: float = 1.0,
        crf: CRF | None = None,
    ) -> torch.Tensor:
        """The loss, a mean over real words."""
        ...


SOFT_LOSSES: dict[str, SoftLoss] = {"mse": soft_mse, "kl": soft_kl, "crf": soft_crf}
