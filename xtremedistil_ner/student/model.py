"""StudentTagger: subword-pooled embeddings -> stacked BiLSTM -> emissions -> CRF, over words.

Each word's embedding is the mean of its pieces' embeddings (``nn.EmbeddingBag``), so one small table serves
41 languages and unseen words still get a vector from their pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from xtremedistil_ner.data.tags import TagVocab
from xtremedistil_ner.student.crf import CRF

if TYPE_CHECKING:
    from xtremedistil_ner.serve.predict import Prediction


@dataclass(frozen=True)
class StudentModelConfig:
    """Constructor arguments of :class:`StudentTagger`; saved as ``config.json`` beside the weights."""

    vocab_size: int
    num_tags: int
    embedding_dim: int = 50
    hidden_size: int = 200
    num_layers: int = 1
    dropout: float = 0.2
    bio_constraints: bool = True

    def to_dict(self) -> dict[str, object]:
        """JSON-safe dict."""
        return asdict(self)


@dataclass
class StudentBatch:
    """Student inputs for ``batch`` sentences of at most ``seq`` words.

    Attributes:
        pieces: ``(total_pieces,)`` long, student piece ids of every real word, words in row-major order.
        offsets: ``(total_words,)`` long, start of each word's pieces in ``pieces``.
        mask: ``(batch, seq)`` bool, True at real words (left-aligned).
    """

    pieces: torch.Tensor
    offsets: torch.Tensor
    mask: torch.Tensor

    def to(self, device: torch.device | str) -> StudentBatch:
        """Move every tensor to ``device``."""
        return StudentBatch(self.pieces.to(device), self.offsets.to(device), self.mask.to(device))


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
    ``lstm.{n-1}``, ``head``.
    """

    def __init__(self, config: StudentModelConfig, tags: TagVocab | None = None) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.EmbeddingBag(config.vocab_size, config.embedding_dim, mode="mean")
        layers = []
        width = config.embedding_dim
        for _ in range(config.num_layers):
            layers.append(nn.LSTM(width, config.hidden_size, batch_first=True, bidirectional=True))
            width = 2 * config.hidden_size
        self.lstm = nn.ModuleList(layers)
        self.dropout = nn.Dropout(config.dropout)
        self.head = Head(width, tags, config.num_tags, config.bio_constraints)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Trainable groups bottom to top."""
        return ("embedding", *[f"lstm.{i}" for i in range(len(self.lstm))], "head")

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
        words = self.embedding(batch.pieces, batch.offsets)
        x = words.new_zeros(bsz * seq, words.size(1))
        x[mask.flatten()] = words
        x = self.dropout(x.view(bsz, seq, -1))
        lengths = mask.sum(1).cpu()
        # at inference, a batch of equal lengths (one sentence, or a full length bucket) needs no packing
        unpadded = not self.training and bool((lengths == seq).all())
        for layer in self.lstm:
            if unpadded:
                x, _ = layer(x)
            else:
                packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                out, _ = layer(packed)
                # shape: (batch, seq, 2 * hidden_size)
                x, _ = pad_packed_sequence(out, batch_first=True, total_length=seq)
            x = self.dropout(x)
        return StudentOutput(emissions=self.head.emissions(x), hidden=x, mask=mask)

    def decode(self, batch: StudentBatch) -> list[list[int]]:
        """Viterbi tag ids per sentence (eval mode is the caller's job)."""
        out = self.forward(batch)
        return self.head.crf.decode(out.emissions, out.mask)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> StudentTagger:
        """Load a saved student directory (no recipe needed), ready for :meth:`predict`.

        Raises:
            XdnerError: not a student directory, or one from an incompatible version.
        """
        from xtremedistil_ner.checkpoint import load_student
        from xtremedistil_ner.serve.pieces import PieceCache

        loaded = load_student(Path(path))
        object.__setattr__(loaded.model, "_runtime", loaded)  # plain attributes: not submodules
        object.__setattr__(loaded.model, "_pieces", PieceCache(loaded.tokenizer))  # fills as predict() sees words
        return loaded.model

    def predict(self, texts: str | Sequence[str], batch_size: int = 64) -> list[Prediction]:
        """Entities in raw sentences (split into words here; one sentence per item), on the CPU.

        Raises:
            ValueError: the student was not loaded with :meth:`from_pretrained` (no tokenizer attached).
        """
        from xtremedistil_ner.serve.predict import TorchBackend, predict_texts

        runtime: Any = getattr(self, "_runtime", None)
        if runtime is None:
            raise ValueError("predict() needs a student loaded with StudentTagger.from_pretrained(dir)")
        texts = [texts] if isinstance(texts, str) else list(texts)
        pieces: Any = getattr(self, "_pieces")  # noqa: B009 - set by from_pretrained, not a declared attribute
        return predict_texts(TorchBackend(self, runtime.lookup), pieces, runtime.tags, texts, batch_size)
