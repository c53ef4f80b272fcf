"""One bidirectional LSTM layer over a left-aligned padded batch, without packing.

``nn.LSTM`` on a ``PackedSequence`` runs PyTorch's own step loop; on a plain padded tensor the CPU build can use
oneDNN's fused LSTM for the forward and the backward pass (docs/RESULTS.md, "The paper's regime on two CPU
cores"). Padding cannot reach a real word here: the forward direction meets it only after the last real word,
and the backward direction reads each sentence reversed within its own length, so its padding comes last too.
The layer's parameters are the ``nn.LSTM``'s own (``weight_ih_l0``, ``weight_ih_l0_reverse``, ...): checkpoints,
the ONNX export and the NumPy runtime see the same module.
"""

from __future__ import annotations

import torch
from torch import nn


def reverse_index(lengths: torch.Tensor, seq: int) -> torch.Tensor:
    """``(batch, seq)`` long: position ``t`` of each sentence reversed within its length, padding left in place.

    Args:
        lengths: ``(batch,)`` real words per sentence (on the batch's device).
        seq: padded length.
    """
    t = torch.arange(seq, device=lengths.device).unsqueeze(0)
    n = lengths.unsqueeze(1)
    return torch.where(t < n, n - 1 - t, t)


def direction_weights(layer: nn.LSTM, suffix: str) -> list[torch.Tensor]:
    """``weight_ih, weight_hh, bias_ih, bias_hh`` of one direction (``""`` forward, ``"_reverse"`` backward)."""
    return [getattr(layer, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def _direction(layer: nn.LSTM, x: torch.Tensor, suffix: str) -> torch.Tensor:
    """One direction of ``layer`` over ``x`` ``(batch, seq, in)``; returns ``(batch, seq, hidden)``."""
    weights = direction_weights(layer, suffix)
    h0 = x.new_zeros(1, x.size(0), layer.hidden_size)
    # torch.lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    return torch.lstm(x, (h0, h0), weights, True, 1, 0.0, layer.training, False, True)[0]


def _gather_positions(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return x.gather(1, index.unsqueeze(2).expand(-1, -1, x.size(2)))


def bilstm_padded(layer: nn.LSTM, x: torch.Tensor, reverse: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Run a one-layer bidirectional, batch-first ``layer`` over a padded batch.

    Args:
        layer: ``nn.LSTM(in, hidden, batch_first=True, bidirectional=True)`` (one layer).
        x: ``(batch, seq, in)``; rows of padding may hold anything.
        reverse: ``(batch, seq)`` from :func:`reverse_index`.
        mask: ``(batch, seq)`` bool, True at real words (left-aligned).

    Returns:
        ``(batch, seq, 2 * hidden)``: the forward then the backward states, zero at padding (as
        ``pad_packed_sequence`` leaves them).
    """
    forward = _direction(layer, x, "")
    backward = _gather_positions(_direction(layer, _gather_positions(x, reverse), "_reverse"), reverse)
    return torch.cat([forward, backward], dim=2) * mask.unsqueeze(2).to(x.dtype)
