"""CheapDropout: nn.Dropout's contract (rate, scale, eval identity, gradient, determinism) with a cheaper mask."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForTokenClassification

from xtremedistil_ner.cheap_dropout import CheapDropout, restore_dropout, swap_dropout


def test_drop_rate_and_scale_match_nn_dropout() -> None:
    torch.manual_seed(0)
    drop = CheapDropout(0.1).train()
    x = torch.ones(1_000_003)  # not a multiple of 4: the last int64 is only partly used
    y = drop(x)
    kept = y != 0
    assert abs(1.0 - kept.float().mean().item() - 0.1) < 0.002  # binomial sd 0.0003
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.9))
    # every 16-bit lane of the 64-bit draws is uniform, the top one included (its sign bit is random)
    lanes = kept[:1_000_000].view(-1, 4).float().mean(dim=0)
    assert torch.all((lanes - 0.9).abs() < 0.004), lanes


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5])
def test_rates_and_dtypes(p: float) -> None:
    torch.manual_seed(1)
    y = CheapDropout(p).train()(torch.ones(400_000, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16
    assert abs((y == 0).float().mean().item() - p) < 0.004


def test_bf16_kept_values_are_scaled_as_nn_dropout_scales_them() -> None:
    """The scale is applied in the computation's precision: not 1.109375 (1 / 0.9 rounded to bf16) for p = 0.1."""
    torch.manual_seed(2)
    x = torch.randn(4096).bfloat16()
    y = CheapDropout(0.1).train()(x)
    kept = y != 0
    assert torch.equal(y[kept], (x * (1 / 0.9))[kept])
    assert not torch.equal(y[kept], (x * torch.tensor(1 / 0.9).bfloat16())[kept])  # the rounded scale differs


def test_eval_is_identity_and_seeded_masks_repeat() -> None:
    drop = CheapDropout(0.3)
    x = torch.randn(8, 5, 7)
    assert drop.eval()(x) is x
    drop.train()
    torch.manual_seed(7)
    a = drop(x)
    torch.manual_seed(7)
    b = drop(x)
    assert torch.equal(a, b) and a.shape == x.shape
    assert not torch.equal(a, drop(x))  # the generator moved on


def test_gradient_is_the_scaled_mask() -> None:
    torch.manual_seed(3)
    x = torch.randn(64, 33, requires_grad=True)
    y = CheapDropout(0.2).train()(x)
    y.sum().backward()
    assert x.grad is not None
    expected = (y.detach() != 0).float() / 0.8
    assert torch.allclose(x.grad, expected)


def test_bad_probability_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        CheapDropout(1.0)


def test_swap_reaches_every_dropout_of_a_bert_and_restores() -> None:
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, num_labels=3
    )
    torch.manual_seed(0)
    model = BertForTokenClassification(config).eval()
    ids = torch.randint(0, 50, (2, 6))
    before = model(input_ids=ids).logits
    originals = [m for m in model.modules() if type(m) is nn.Dropout]
    swapped = swap_dropout(model)
    assert len(swapped) == len(originals) > 0
    assert not any(type(m) is nn.Dropout for m in model.modules())
    replaced = [getattr(parent, name) for parent, name, _ in swapped]
    assert all(isinstance(m, CheapDropout) and m.p == config.hidden_dropout_prob for m in replaced)
    assert torch.equal(model(input_ids=ids).logits, before)  # eval: no dropout either way
    model.train()
    model(input_ids=ids).logits.sum().backward()  # trains through the swapped modules
    restore_dropout(swapped)
    assert [m for m in model.modules() if type(m) is nn.Dropout] == originals
