"""The running weight average: its arithmetic, swapping it in and out, and saving it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from xtremedistil_ner.weight_average import WeightAverage


def _module() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def test_the_average_follows_the_formula_and_skips_frozen_parameters():
    module = _module()
    module.bias.requires_grad_(False)
    average = WeightAverage(module, decay=0.5)
    assert set(average.shadow) == {"weight"}
    start = module.weight.detach().clone()
    with torch.no_grad():
        module.weight.add_(1.0)
    average.update()  # d = min(0.5, 1/10) = 0.1
    torch.testing.assert_close(average.shadow["weight"], 0.1 * start + 0.9 * (start + 1.0))
    with torch.no_grad():
        module.weight.add_(1.0)
    average.update()  # d = min(0.5, 2/11)
    d = 2 / 11
    expected = d * (0.1 * start + 0.9 * (start + 1.0)) + (1 - d) * (start + 2.0)
    torch.testing.assert_close(average.shadow["weight"], expected)
    assert average.updates == 2


def test_applied_puts_the_average_in_and_the_trained_weights_back():
    module = _module()
    average = WeightAverage(module, decay=0.9)
    with torch.no_grad():
        module.weight.mul_(3.0)
    trained = module.weight.detach().clone()
    average.update()
    with average.applied():
        torch.testing.assert_close(module.weight.detach(), average.shadow["weight"])
    assert torch.equal(module.weight.detach(), trained)


def test_state_round_trips_and_a_foreign_state_is_refused():
    module = _module()
    average = WeightAverage(module, decay=0.9)
    with torch.no_grad():
        module.weight.add_(2.0)
    average.update()
    other = WeightAverage(_module(), decay=0.9)
    other.load(average.state())
    assert other.updates == 1 and torch.equal(other.shadow["weight"], average.shadow["weight"])
    with pytest.raises(ValueError, match="other parameters"):
        WeightAverage(nn.Linear(3, 2, bias=False), 0.9).load(average.state())
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        WeightAverage(module, 1.0)
