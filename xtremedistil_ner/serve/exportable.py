"""The student's emissions as a graph of export-friendly ops (no packed sequences, no boolean scatter).

Inputs are dense: ``piece_ids (batch, seq, pieces)`` and ``piece_counts (batch, seq)``. Each bidirectional
BiLSTM layer becomes two unidirectional LSTMs; the backward one reads each sentence reversed *within its
length*, so padding always trails and never leaks into real words. The result equals
:meth:`StudentTagger.forward`'s emissions at real words.
"""

from __future__ import annotations

import torch
from torch import nn

from xtremedistil_ner.student.model import StudentTagger


def _direction(lstm: nn.Module, suffix: str) -> nn.LSTM:
    """One direction (``""`` forward, ``"_reverse"`` backward) of a one-layer bidirectional LSTM."""
    assert isinstance(lstm, nn.LSTM) and lstm.bidirectional and lstm.num_layers == 1
    single = nn.LSTM(lstm.input_size, lstm.hidden_size, batch_first=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(single, f"{name}_l0").copy_(getattr(lstm, f"{name}_l0{suffix}"))
    return single


class ExportableEmissions(nn.Module):
    """``(piece_ids, piece_counts) -> emissions``; eval mode only (no dropout)."""

    def __init__(self, student: StudentTagger) -> None:
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(student.embedding.weight.detach().clone(), freeze=True)
        self.forward_lstms = nn.ModuleList(_direction(layer, "") for layer in student.lstm)
        self.backward_lstms = nn.ModuleList(_direction(layer, "_reverse") for layer in student.lstm)
        self.emissions = student.head.emissions
        self.eval()

    def forward(self, piece_ids: torch.Tensor, piece_counts: torch.Tensor) -> torch.Tensor:
        """Emission scores.

        Args:
            piece_ids: ``(batch, seq, pieces)`` int64 student piece ids (any value past a word's count).
            piece_counts: ``(batch, seq)`` int64 pieces per word; 0 at padding; words are left-aligned.

        Returns:
            ``(batch, seq, num_tags)`` float32; rows at padding are meaningless.
        """
        positions = torch.arange(piece_ids.size(2), device=piece_ids.device)
        # shape: (batch, seq, pieces, 1)
        piece_mask = (positions.view(1, 1, -1) < piece_counts.unsqueeze(2)).unsqueeze(3).float()
        emb = self.embedding(piece_ids.clamp(min=0)) * piece_mask
        # shape: (batch, seq, embedding_dim), the mean over each word's pieces (EmbeddingBag mode="mean")
        x = emb.sum(2) / piece_counts.clamp(min=1).unsqueeze(2).float()
        lengths = (piece_counts > 0).sum(1)
        steps = torch.arange(piece_ids.size(1), device=piece_ids.device).view(1, -1)
        # shape: (batch, seq): position t reads t' = len - 1 - t inside the sentence, itself in the padding
        reverse = torch.where(steps < lengths.view(-1, 1), lengths.view(-1, 1) - 1 - steps, steps)
        for fwd, bwd in zip(self.forward_lstms, self.backward_lstms, strict=True):
            index = reverse.unsqueeze(2).expand(-1, -1, x.size(2))
            ahead, _ = fwd(x)
            behind, _ = bwd(torch.gather(x, 1, index))
            back_index = reverse.unsqueeze(2).expand(-1, -1, behind.size(2))
            # shape: (batch, seq, 2 * hidden_size)
            x = torch.cat([ahead, torch.gather(behind, 1, back_index)], dim=2)
        return self.emissions(x)
