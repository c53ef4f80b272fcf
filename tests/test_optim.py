import pytest
import torch
from accelerate import Accelerator

from xtremedistil_ner.optim import clip_gradients, make_adam


def _model_with_grads(scale: float) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.ModuleList([torch.nn.EmbeddingBag(50, 8), torch.nn.Linear(8, 3)])
    out = model[1](model[0](torch.randint(0, 50, (20,)), torch.tensor([0, 7, 13])))
    (scale * out.pow(2).sum()).backward()
    return model


@pytest.mark.parametrize("scale", [1e-3, 1e3])  # within bounds (no scaling pass) and clipped
def test_clip_gradients_equals_torch_bit_for_bit(scale):
    ours, ref = _model_with_grads(scale), _model_with_grads(scale)
    norm = clip_gradients(Accelerator(cpu=True), list(ours.parameters()), max_norm=1.0)
    ref_norm = torch.nn.utils.clip_grad_norm_(list(ref.parameters()), max_norm=1.0)
    assert norm == pytest.approx(float(ref_norm), rel=0, abs=0)
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        assert torch.equal(a.grad, b.grad)
    clipped = sum(p.grad.pow(2).sum() for p in ours.parameters()).sqrt()
    assert (clipped < 1.0 + 1e-4) if scale > 1 else torch.isclose(clipped, ref_norm)


def test_clip_gradients_without_gradients_is_zero():
    params = [torch.nn.Parameter(torch.ones(3))]
    assert clip_gradients(Accelerator(cpu=True), params, 1.0) == 0.0


def test_make_adam_is_fused_on_cpu():
    opt = make_adam([torch.nn.Parameter(torch.ones(3))], lr=1e-3)
    assert isinstance(opt, torch.optim.Adam) and opt.defaults.get("fused") is True
