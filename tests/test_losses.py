import pytest
import torch

from xtremedistil_ner.losses import SoftInputs, hidden_mse, soft_crf_marginals, soft_kl, soft_mse


def _soft(fn):
    """A soft loss called like hidden_mse (student, teacher, mask)."""
    return lambda student, teacher, mask: fn(SoftInputs(student, teacher, mask))


@pytest.fixture()
def tensors():
    torch.manual_seed(0)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    return torch.randn(2, 4, 5), torch.randn(2, 4, 5), mask


@pytest.mark.parametrize("fn", [_soft(soft_mse), _soft(soft_kl), hidden_mse])
def test_zero_when_equal_positive_otherwise(fn, tensors):
    student, teacher, mask = tensors
    assert fn(teacher, teacher, mask).item() == pytest.approx(0.0, abs=1e-6)
    assert fn(student, teacher, mask).item() > 0


@pytest.mark.parametrize("fn", [_soft(soft_mse), _soft(soft_kl), hidden_mse])
def test_masked_positions_change_nothing(fn, tensors):
    student, teacher, mask = tensors
    base = fn(student, teacher, mask)
    student2, teacher2 = student.clone(), teacher.clone()
    student2[~mask] = 123.0
    teacher2[~mask] = -55.0
    assert torch.allclose(fn(student2, teacher2, mask), base)


def test_kl_temperature_uses_t_squared_scaling(tensors):
    student, teacher, mask = tensors
    t = 3.0
    p = torch.softmax(teacher / t, -1)
    kl = (p * (p.log() - torch.log_softmax(student / t, -1))).sum(-1)
    expected = kl[mask].mean() * t * t
    assert torch.allclose(soft_kl(SoftInputs(student, teacher, mask, temperature=t)), expected, atol=1e-6)


def test_crf_marginal_loss_is_cross_entropy(tensors):
    student, teacher, mask = tensors
    marg = torch.softmax(student, -1)
    p = torch.softmax(teacher, -1)
    expected = -(p * marg.log()).sum(-1)[mask].mean()
    assert torch.allclose(soft_crf_marginals(marg, teacher, mask), expected, atol=1e-6)


def test_one_registry_one_signature_for_every_soft_loss(tensors):
    """Every `distill.soft_loss` value is a registry entry called the same way; `crf` uses the student's CRF."""
    import typing

    from xtremedistil_ner.config import DistillConfig
    from xtremedistil_ner.losses import SOFT_LOSSES
    from xtremedistil_ner.student.crf import CRF

    hints = typing.get_type_hints(DistillConfig)
    assert set(typing.get_args(hints["soft_loss"])) == set(SOFT_LOSSES)
    student, teacher, mask = tensors
    crf = CRF(5)
    for name, fn in SOFT_LOSSES.items():
        loss = fn(SoftInputs(student, teacher, mask, temperature=2.0, crf=crf))
        assert loss.dim() == 0 and torch.isfinite(loss), name
    expected = soft_crf_marginals(crf.marginals(student, mask), teacher, mask, temperature=2.0)
    assert torch.equal(SOFT_LOSSES["crf"](SoftInputs(student, teacher, mask, temperature=2.0, crf=crf)), expected)
    with pytest.raises(ValueError, match="needs the student's CRF"):
        SOFT_LOSSES["crf"](SoftInputs(student, teacher, mask))
