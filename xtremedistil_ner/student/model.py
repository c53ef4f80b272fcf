"""StudentTagger: subword-pooled embeddings -> stacked BiLSTM -> emissions -> CRF, over words.

Each word's embedding is the mean of its pieces' embeddings (``nn.EmbeddingBag``), so one small table serves
41 languages and unseen words still get a vector from their pieces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from xtremedistil_ner.config import StudentConfig
from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.runtime.shapes import SHAPES
from xtremedistil_ner.student.bilstm import bilstm_padded, reverse_index
from xtremedistil_ner.student.crf import CRF
from xtremedistil_ner.student.dropout import UniformDropout


@dataclass
class StudentBatch:
    """Student inputs for ``batch`` sentences of at most ``seq`` words.

    Attributes:
        pieces: ``(total_pieces,)`` long, student piece ids of every real word, words in row-major order.
        offsets: ``(total_words,)`` long, start of each word's pieces in ``pieces``.
        mask: ``(batch, seq)`` bool, True at real words (left-aligned).
        shapes: ``(total_words,)`` long, each word's :data:`~xtremedistil_ner.runtime.shapes.SHAPES` id.
    """

    pieces: torch.Tensor
    offsets: torch.Tensor
    mask: torch.Tensor
    shapes: torch.Tensor

    def to(self, device: torch.device | str) -> StudentBatch:
        """Move every tensor to ``device``."""
        return StudentBatch(
            self.pieces.to(device), self.offsets.to(device), self.mask.to(device), self.shapes.to(device)
        )


@dataclass
class StudentOutput:
    """What the student returns.

    Attributes:
        emissions: ``(batch, seq, num_tags)`` CRF emission scores (the student's "logits").
        hidden: ``(batch, seq, 2 * hidden_size)`` output of the top BiLSTM layer.
        mask: ``(batch, seq)`` bool.
    """

    emissions: torch.Tensor
    hidden: torch.Tensor
    mask: torch.Tensor


class Head(nn.Module):
    """Emission projection + CRF; swapping the encoder never touches it."""

    def __init__(self, in_features: int, tags: TagVocab | None, num_tags: int, bio_constraints: bool) -> None:
        super().__init__()
        self.emissions = nn.Linear(in_features, num_tags)
        forbidden = tags.forbidden_transitions() if (tags is not None and bio_constraints) else ()
        starts = tags.forbidden_starts() if (tags is not None and bio_constraints) else ()
        self.crf = CRF(num_tags, forbidden, starts)


class StudentTagger(nn.Module):
    """The shared multilingual student.

    Module names, bottom to top (used by the unfreezing schedule): ``embedding``, ``lstm.0`` ...
    ``lstm.{n-1}``, ``head``. With ``shape_dim > 0`` a word-shape table ``shape`` feeds the first BiLSTM
    beside the pieces' mean; it trains with ``lstm.0`` (:meth:`prefixes`).
    """

    def __init__(self, config: StudentConfig, vocab_size: int, num_tags: int, tags: TagVocab | None = None) -> None:
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.num_tags = num_tags
        self.embedding = nn.EmbeddingBag(vocab_size, config.embedding_dim, mode="mean")
        self.shape = nn.Embedding(len(SHAPES), config.shape_dim) if config.shape_dim else None
        layers = []
        width = config.embedding_dim + config.shape_dim
        for _ in range(config.num_layers):
            layers.append(nn.LSTM(width, config.hidden_size, batch_first=True, bidirectional=True))
            width = 2 * config.hidden_size
        self.lstm = nn.ModuleList(layers)
        self.dropout = UniformDropout(config.dropout)
        self.head = Head(width, tags, num_tags, config.bio_constraints)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Trainable groups bottom to top."""
        return ("embedding", *[f"lstm.{i}" for i in range(len(self.lstm))], "head")

    def prefixes(self, group: str) -> tuple[str, ...]:
        """Module name prefixes that train with ``group`` of :attr:`layer_names`."""
        return (group, "shape") if group == "lstm.0" and self.shape is not None else (group,)

    @property
    def output_size(self) -> int:
        """Width of :attr:`StudentOutput.hidden`."""
        return 2 * self.config.hidden_size

    def num_parameters(self) -> int:
        """Every parameter, embeddings included."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, batch: StudentBatch) -> StudentOutput:
        """Encode a batch.

        Args:
            batch: pieces/offsets of every real word and the ``(batch, seq)`` word mask.

        Returns:
            :class:`StudentOutput` with ``(batch, seq, ·)`` tensors.
        """
        mask = batch.mask
        bsz, seq = mask.shape
        # shape: (total_words, embedding_dim)
        words = self.embedding(self._word_dropped(batch.pieces, batch.offsets), batch.offsets)
        if self.shape is not None:
            # shape: (total_words, embedding_dim + shape_dim)
            words = torch.cat([words, self.shape(batch.shapes)], dim=1)
        x = words.new_zeros(bsz * seq, words.size(1))
        x[mask.flatten()] = words
        x = self.dropout(x.view(bsz, seq, -1))
        lengths = mask.sum(1)
        # a batch of equal lengths (one sentence, a full length bucket) needs no care for padding; otherwise each
        # direction runs over the padded batch (oneDNN's fused LSTM: 1.3-1.6x the packed loop, docs/RESULTS.md)
        unpadded = bool((lengths == seq).all())
        reverse = None if unpadded else reverse_index(lengths, seq)
        for layer in self.lstm:
            # shape: (batch, seq, 2 * hidden_size), zero at padding
            x = layer(x)[0] if reverse is None else bilstm_padded(cast(nn.LSTM, layer), x, reverse, mask)
            x = self.dropout(x)
        return StudentOutput(emissions=self.head.emissions(x), hidden=x, mask=mask)

    def _word_dropped(self, pieces: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """``pieces`` ``(total_pieces,)`` with every piece of a dropped word set to 0 (``<unk>``), in training only.

        Each of the ``(total_words,)`` words (starts ``offsets``) is dropped with probability
        ``config.word_dropout``; no random number is drawn when it is 0, so other draws stay as they were.
        """
        p = self.config.word_dropout
        if not (self.training and p > 0) or pieces.numel() == 0:
            return pieces
        # shape: (total_words,) True where the word is read as <unk>
        dropped = torch.rand(offsets.shape, device=offsets.device) < p
        # shape: (total_words,) pieces per word; each piece takes its word's draw
        counts = torch.diff(offsets, append=offsets.new_tensor([pieces.numel()]))
        return pieces.masked_fill(dropped.repeat_interleave(counts), 0)

    def decode(self, batch: StudentBatch) -> list[list[int]]:
        """Viterbi tag ids per sentence (eval mode is the caller's job)."""
        out = self.forward(batch)
        return self.head.crf.decode(out.emissions, out.mask)
