"""UniformDropout: nn.Dropout's distribution and scaling from a cheaper mask; the identity in eval mode."""

from __future__ import annotations

import pytest
import torch

from xtremedistil_ner.student.dropout import UniformDropout


def test_keeps_each_element_with_probability_one_minus_p_and_scales_the_kept() -> None:
    torch.manual_seed(0)
    drop = UniformDropout(0.2).train()
    out = drop(torch.ones(400, 1000))
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.8) < 0.005  # 400,000 draws: the standard error is 0.0006
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1.25))


def test_the_gradient_is_the_mask_scaled() -> None:
    torch.manual_seed(1)
    x = torch.randn(8, 5, 30, requires_grad=True)
    out = UniformDropout(0.5).train()(x)
    out.sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad, (out != 0).float() * 2.0)


def test_eval_mode_and_zero_p_return_the_input_itself() -> None:
    x = torch.randn(3, 4)
    assert UniformDropout(0.3).eval()(x) is x
    assert UniformDropout(0.0).train()(x) is x


def test_bf16_input_stays_bf16() -> None:
    x = torch.randn(16, 64).bfloat16()
    assert UniformDropout(0.2).train()(x).dtype == torch.bfloat16


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_refuses_a_probability_outside_zero_to_one(p: float) -> None:
    with pytest.raises(ValueError, match="dropout probability"):
        UniformDropout(p)


def test_the_mask_is_one_float32_uniform_an_element_as_the_measured_students_drew() -> None:
    """The shared frame (cheap_dropout.MaskDropout) must not change the student's random stream or its arithmetic."""
    x = torch.randn(4, 9, 50).bfloat16()
    torch.manual_seed(11)
    out = UniformDropout(0.2).train()(x)
    torch.manual_seed(11)
    keep = torch.rand(x.shape) >= 0.2
    assert torch.equal(out, x * keep.to(x.dtype) * (1.0 / 0.8))
